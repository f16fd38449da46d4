import Dataflow
import Foundation
import Gateways
import Hummingbird
import Logging
import ProjectScripts
import StreamKit
import Yams

/// One soak, from starting the instances to the report.
struct SoakRun {
    let command: SoakCommand
    let bootstrap: String
    let localBroker: Bool
    let work: String
    let logger: Logger
    /// The local mock cluster, whose brokers the faults take down; it cannot create topics through the admin API.
    let mockCluster: LocalBroker?

    /// Runs the soak against the model server at `modelServer` (`localServer` when the soak started it, so that
    /// it can be stopped for real); returns whether it passed.
    func run(modelServer: String, localServer: LocalModelServer?) async throws -> Bool {
        let topics = TopicNames(prefix: "seldon", namespace: "soak-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))")
        let proxy = ModelFaultProxy(upstream: modelServer)
        let (ports, portFound) = AsyncStream.makeStream(of: Int.self)
        let application = proxy.application(port: 0) { portFound.yield($0) }
        let proxying = Task { try await application.runService() }
        defer { proxying.cancel() }
        var found = ports.makeAsyncIterator()
        guard let proxyPort = await found.next() else { throw SoakError("the model proxy did not start") }

        var arguments = ["--bootstrap", bootstrap, "--namespace", topics.namespace, "--partitions", "4",
                         "--processing-guarantee", command.processingGuarantee]
        if localBroker { arguments.append("--local-broker") }
        if let mockCluster {
            arguments += ["--topic-creation", "broker"]
            let control = [topics.controlResources, topics.controlStatus]
            for topic in control { try mockCluster.send("create \(topic) 1") }
            let admin = try KafkaAdmin(configuration: KafkaAdminConfiguration(bootstrapServers: [bootstrap]), logger: logger)
            do {
                try await admin.waitUntilReady(control, timeout: .seconds(10))
                await admin.close()
            } catch {
                await admin.close()
                throw SoakError("the mock cluster did not create the control topics: \(error)")
            }
        }
        let instances = SoakInstances(count: command.instances, arguments: arguments, directory: work)
        for index in 0..<command.instances { try await instances.start(index) }
        do {
            let passed = try await soak(topics: topics, instances: instances, proxy: proxy, proxyPort: proxyPort, localServer: localServer)
            await instances.stopAll()
            return passed
        } catch {
            await instances.stopAll()
            throw error
        }
    }

    private func soak(topics: TopicNames, instances: SoakInstances, proxy: ModelFaultProxy, proxyPort: Int, localServer: LocalModelServer?) async throws -> Bool {
        let control = ControlClient(baseURL: await instances.controlURL(0), token: nil)
        try await waitUntil("every instance answers", timeout: .seconds(120)) {
            for index in 0..<command.instances {
                let client = ControlClient(baseURL: await instances.controlURL(index), token: nil)
                guard (try? await client.get("/v1/health")) != nil else { return false }
            }
            return true
        }
        try await apply(control, proxy: "http://127.0.0.1:\(proxyPort)")
        let requests = try sampleRequests()
        let pipelines = Set(requests.map(\.pipeline)).sorted()
        try await waitUntil("every pipeline is Ready", timeout: .seconds(180)) {
            for pipeline in pipelines {
                guard (try? await control.pipeline(pipeline))?.status == "Ready" else { return false }
            }
            return true
        }

        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: [bootstrap])
        if localBroker { producerConfiguration.useLocalBrokerDefaults() }
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        let load = SoakLoad(requests: requests, topics: topics, producer: producer, instances: instances, logger: logger)
        let schedule = FaultSchedule.make(
            duration: command.duration.duration, sessionTimeout: localBroker ? .seconds(2) : .seconds(45), brokers: mockCluster == nil ? nil : 3
        )
        Terminal.output("soak: \(command.duration) at \(command.rate) requests/s on \(pipelines.count) pipelines, \(command.instances) instances, \(command.processingGuarantee), Kafka at \(bootstrap)")
        Terminal.output("faults:")
        for entry in schedule.entries { Terminal.output("  +\(Self.seconds(entry.at))  \(entry.fault)") }

        let started = ContinuousClock.now
        let loading = Task { await load.run(rate: command.rate) }
        for entry in schedule.entries {
            try? await Task.sleep(until: started + entry.at, clock: .continuous)
            logger.info("soak fault", metadata: ["fault": "\(entry.fault)"])
            await inject(entry.fault, instances: instances, proxy: proxy, localServer: localServer, load: load)
        }
        try? await Task.sleep(until: started + command.duration.duration, clock: .continuous)
        loading.cancel()
        await loading.value

        let reader = SoakTopics(bootstrap: bootstrap, topics: topics, partitions: 4, localBroker: localBroker, logger: logger)
        var sent = load.ledger.withLock { $0 }
        sent.expectations = try expectations()
        var ledger = sent
        let deadline = ContinuousClock.now + command.settle.duration
        repeat {
            ledger = sent
            try await observe(&ledger, pipelines: pipelines, reader: reader)
            if ledger.allAnswered { break }
            try? await Task.sleep(for: .seconds(5))
        } while ContinuousClock.now < deadline
        await producer.close()
        let underReplicated = mockCluster == nil ? [] : try await underReplicatedTopics(namespace: topics.namespace)
        let exactlyOnce = command.processingGuarantee == "exactly-once"
        let data = try await dataTopics(of: topics)
        let modelCalls = exactlyOnce ? try await observeModelCalls(reader: reader, topics: data) : nil
        var traced: Set<String> = []
        for summary in ledger.summaries() {
            traced.formUnion(summary.neverAnswered.prefix(3))
            traced.formUnion(summary.partlyAnswered.prefix(3))
            if exactlyOnce { traced.formUnion(summary.duplicated.prefix(3)) }
        }
        if let modelCalls {
            for requests in modelCalls.answeredMoreThanCalled().values { traced.formUnion(requests.prefix(3)) }
        }
        var sightings = try await SoakTrace(reader: reader).sightings(of: traced, topics: data)
        for key in traced where sightings[key] == nil { sightings[key] = ["on no topic"] }
        return report(ledger, modelCalls: modelCalls, counts: load.counts.withLock { $0 }, underReplicated: underReplicated, sightings: sightings)
    }

    /// On the three-broker cluster: the soak's topics (pipeline, model, control, changelog and repartition
    /// topics) as lines `name: N replicas` for each that has fewer than three; empty when all have three.
    private func underReplicatedTopics(namespace: String) async throws -> [String] {
        let admin = try KafkaAdmin(configuration: KafkaAdminConfiguration(bootstrapServers: [bootstrap]), logger: logger)
        let described: [KafkaTopicDescription]
        do {
            described = try await admin.describeTopics(try await admin.listTopics().filter { $0.contains(namespace) })
            await admin.close()
        } catch {
            await admin.close()
            throw error
        }
        Terminal.output("replication: \(described.count) topics of this soak")
        return described.flatMap { topic in
            topic.partitions.filter { $0.replicas.count < 3 }.prefix(1).map { "\(topic.name): \($0.replicas.count) replicas" }
        }
    }

    /// The soak's pipeline, model and error topics (not its control topics, nor the engine's internal ones).
    private func dataTopics(of topics: TopicNames) async throws -> [String] {
        let admin = try KafkaAdmin(configuration: KafkaAdminConfiguration(bootstrapServers: [bootstrap]), logger: logger)
        let names: [String]
        do {
            names = try await admin.listTopics()
            await admin.close()
        } catch {
            await admin.close()
            throw error
        }
        let prefix = "\(topics.prefix).\(topics.namespace)."
        return names.filter { $0.hasPrefix(prefix) && !$0.hasPrefix(prefix + "control.") }
    }

    // MARK: Setting up

    /// Applies the resources of the topologies folder, models first, with every Server pointing at the proxy.
    private func apply(_ control: ControlClient, proxy: String) async throws {
        let folder = URL(fileURLWithPath: command.topologies)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }
        for name in names.sorted(by: { ($0 == "models.yaml" ? 0 : 1, $0) < ($1 == "models.yaml" ? 0 : 1, $1) }) {
            var yaml = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            if yaml.contains("kind: Server") {
                yaml = yaml.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                    guard let range = line.range(of: "endpoint:") else { return String(line) }
                    return line[..<range.upperBound] + " " + proxy
                }.joined(separator: "\n")
            }
            do {
                _ = try await control.apply(yaml: yaml, file: name)
            } catch {
                throw SoakError("\(name) could not be applied: \(error)")
            }
        }
    }

    /// One request per pipeline with a file in the topologies folder's `requests/`.
    private func sampleRequests() throws -> [(pipeline: String, request: InferenceRequest)] {
        let folder = URL(fileURLWithPath: command.topologies).appendingPathComponent("requests")
        return try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted().map { name in
            let bytes = try Data(contentsOf: folder.appendingPathComponent(name))
            return (String(name.dropLast(".json".count)), try InferenceRequest(json: Array(bytes)))
        }
    }

    /// `requests/answers.yaml` of the topologies folder: what a request gives back where it is not one answer.
    private func expectations() throws -> [String: SoakLedger.Expectation] {
        let file = URL(fileURLWithPath: command.topologies).appendingPathComponent("requests/answers.yaml")
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return [:] }
        guard let entries = try Yams.load(yaml: text) as? [String: [String: Int]] else {
            throw SoakError("\(file.path): expected 'pipeline: {answers: N, errors: N}' entries")
        }
        return entries.mapValues { SoakLedger.Expectation(answers: $0["answers"] ?? 1, errors: $0["errors"] ?? 0) }
    }

    private func waitUntil(_ what: String, timeout: Duration, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw SoakError("the soak could not start: not true after \(timeout): \(what); see the logs in \(work)")
    }

    // MARK: Faults

    private func inject(_ fault: FaultSchedule.Fault, instances: SoakInstances, proxy: ModelFaultProxy, localServer: LocalModelServer?, load: SoakLoad) async {
        let count = await instances.count
        switch fault {
        case .kill(let instance, let down):
            await instances.kill(instance % count)
            try? await Task.sleep(for: down)
            do { try await instances.start(instance % count) } catch {
                logger.error("instance not started again", metadata: ["error": "\(error)"])
            }
        case .pause(let instance, let paused):
            await instances.pause(instance % count)
            try? await Task.sleep(for: paused)
            await instances.resume(instance % count)
        case .serverDown(let down):
            if let localServer {
                await localServer.stop()
                try? await Task.sleep(for: down)
                do { try await localServer.restart() } catch {
                    logger.error("model server not started again", metadata: ["error": "\(error)"])
                }
            } else {
                proxy.set(.down)
                try? await Task.sleep(for: down)
                proxy.set(.pass)
            }
        case .slowModels(let delay, let lasting):
            proxy.set(.slow(delay))
            try? await Task.sleep(for: lasting)
            proxy.set(.pass)
        case .failingModels(let lasting):
            proxy.set(.failing)
            try? await Task.sleep(for: lasting)
            proxy.set(.pass)
        case .poison(let count):
            await load.poison(count: count)
        case .brokerDown(let broker, let down):
            do {
                try mockCluster?.send("down \(broker)")
                try? await Task.sleep(for: down)
                try mockCluster?.send("up \(broker)")
            } catch {
                logger.error("broker fault not injected", metadata: ["error": "\(error)"])
            }
        }
    }

    // MARK: Accounting

    /// Every record that came back: answers and error records on the pipelines' outputs, dead letters of the
    /// engine and the model gateway's error records (for poison records).
    private func observe(_ ledger: inout SoakLedger, pipelines: [String], reader: SoakTopics) async throws {
        for pipeline in pipelines {
            for record in try await reader.readAll(reader.topics.pipelineOutputs(pipeline)) {
                let error = record.headers.string(DataflowHeaders.error).map { "\($0): " + String(decoding: record.value ?? [], as: UTF8.self) }
                ledger.observed(SoakTopics.requestKey(of: record), on: pipeline, error: error)
            }
        }
        for topic in [reader.topics.deadLetters, reader.topics.errors] {
            for record in try await reader.readAll(topic) {
                guard let pipeline = record.headers.string(DataflowHeaders.pipeline) else { continue }
                let reason = record.headers.string(DeadLetterHeaders.reason) ?? String(decoding: record.value ?? [], as: UTF8.self)
                ledger.deadLetter(SoakTopics.requestKey(of: record), of: pipeline, reason: reason)
            }
        }
    }

    /// Every call of a model (a record on its inputs topic) and every answer (a record on its outputs topic, an
    /// error record naming it), by request.
    private func observeModelCalls(reader: SoakTopics, topics: [String]) async throws -> SoakModelCalls {
        var calls = SoakModelCalls()
        let prefix = "\(reader.topics.prefix).\(reader.topics.namespace).model."
        for topic in topics where topic.hasPrefix(prefix) {
            let name = topic.dropFirst(prefix.count)
            if name.hasSuffix(".inputs") {
                let model = String(name.dropLast(".inputs".count))
                for record in try await reader.readAll(topic) { calls.called(model, request: SoakTopics.requestKey(of: record)) }
            } else if name.hasSuffix(".outputs") {
                let model = String(name.dropLast(".outputs".count))
                for record in try await reader.readAll(topic) { calls.answered(model, request: SoakTopics.requestKey(of: record)) }
            }
        }
        for record in try await reader.readAll(reader.topics.errors) {
            if let model = record.headers.string(DataflowHeaders.error) { calls.answered(model, request: SoakTopics.requestKey(of: record)) }
        }
        return calls
    }

    /// Prints the figures per pipeline (and, under exactly-once, of the model calls); whether the soak passed.
    private func report(
        _ ledger: SoakLedger, modelCalls: SoakModelCalls?, counts: SoakLoad.Counts, underReplicated: [String], sightings: [String: [String]]
    ) -> Bool {
        let exactlyOnce = command.processingGuarantee == "exactly-once"
        let summaries = ledger.summaries()
        Terminal.output("")
        Terminal.output("requests: \(counts.kafka) written to Kafka, \(counts.http) taken by a gateway, \(counts.refused) refused by the gateways (not counted)"
            + (counts.refusals.isEmpty ? "" : ": " + counts.refusals.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        Terminal.output(Terminal.table(
            ["PIPELINE", "SENT", "ONCE", "MORE THAN ONCE", "ERROR RECORD", "IN PART", "NEVER", "POISON DEAD-LETTERED"],
            summaries.map { summary in
                [summary.pipeline, "\(summary.sent)", "\(summary.answeredOnce)", "\(summary.duplicated.count)", "\(summary.errored)",
                 "\(summary.partlyAnswered.count)", "\(summary.neverAnswered.count)", "\(summary.poisonDeadLettered)/\(summary.poisonSent)"]
            }
        ))
        var failures: [String] = []
        for summary in summaries {
            for (reason, count) in summary.errors.sorted(by: { $0.value > $1.value }).prefix(3) {
                Terminal.output("  \(summary.pipeline): \(count) error record(s): \(reason.prefix(160))")
            }
            for reason in summary.poisonReasons.sorted().prefix(2) {
                Terminal.output("  \(summary.pipeline): poison dead-lettered: \(reason.prefix(160))")
            }
            if !summary.partlyAnswered.isEmpty {
                failures.append("\(summary.pipeline): \(summary.partlyAnswered.count) answered in part, e.g. \(summary.partlyAnswered.prefix(3).joined(separator: ", "))")
            }
            if !summary.neverAnswered.isEmpty {
                failures.append("\(summary.pipeline): \(summary.neverAnswered.count) never answered, e.g. \(summary.neverAnswered.prefix(3).joined(separator: ", "))")
            }
            if !summary.poisonMissing.isEmpty {
                failures.append("\(summary.pipeline): \(summary.poisonMissing.count) poison records without a dead letter")
            }
            if exactlyOnce, !summary.duplicated.isEmpty {
                failures.append("\(summary.pipeline): \(summary.duplicated.count) answered more than once under exactly-once, e.g. \(summary.duplicated.prefix(3).joined(separator: ", "))")
            }
        }
        if let modelCalls {
            let twice = modelCalls.answeredMoreThanCalled()
            Terminal.output("model calls: \(modelCalls.callCount), \(twice.values.reduce(0) { $0 + $1.count }) answered more than once")
            for (model, requests) in twice.sorted(by: { $0.key < $1.key }) {
                failures.append("model \(model): \(requests.count) calls answered more than once under exactly-once, e.g. \(requests.prefix(3).joined(separator: ", "))")
            }
        }
        if !underReplicated.isEmpty {
            failures.append("\(underReplicated.count) topics with fewer than 3 replicas, e.g. \(underReplicated.prefix(3).joined(separator: ", "))")
        }
        Terminal.output(failures.isEmpty ? "result: passed" : "result: FAILED\n  " + failures.joined(separator: "\n  "))
        if !sightings.isEmpty {
            Terminal.output("where those were seen (topic[partition]@offset):")
            for (key, places) in sightings.sorted(by: { $0.key < $1.key }) {
                Terminal.output("  \(key): \(places.joined(separator: ", "))")
            }
        }
        return failures.isEmpty
    }

    static func seconds(_ duration: Duration) -> String {
        "\(duration.components.seconds)s"
    }
}

/// Why a soak could not run (as opposed to a soak that ran and failed).
struct SoakError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
