import ArgumentParser
import Foundation
import ProjectScripts
import Histogram
import Logging
import StreamKit

/// Measures the latency of a stream-stream join end to end: produces two keyed streams of pairs, runs a
/// StreamKit windowed join (or lets another process join, `--external`), consumes the joined pairs and reports
/// how many arrived and how long after the later of their two inputs was produced.
@main
struct JoinLatency: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join-latency",
        abstract: "Measure end-to-end latency of a windowed stream-stream join over Kafka."
    )

    @Option(help: "Kafka bootstrap servers (HOST:PORT[,HOST:PORT]); default: start a local broker for the run.")
    var bootstrap: String?
    @Option(help: "Kind of local broker started without --bootstrap: tansu or mock.")
    var localBroker = "tansu"
    @Option(help: "Topic of the left stream.") var left = "left"
    @Option(help: "Topic of the right stream.") var right = "right"
    @Option(help: "Topic of the joined pairs.") var joined = "joined"
    @Option(help: "Partitions of the three topics when they are created.") var partitions: Int32 = 4
    @Option(help: "Distinct keys; pair n has key n modulo this.") var keys = 100_000
    @Option(help: "Pairs per second.") var rate = 2_000
    @Option(help: "Seconds of production.") var duration = 20
    @Option(help: "at-least-once or exactly-once (the join's guarantee).") var guarantee = Guarantee.atLeastOnce
    @Option(help: "Half-width of the join window in milliseconds.") var windowMs = 1_000
    @Option(help: "Where the join keeps its state: rocksdb or memory.") var state = StateKind.rocksdb
    @Option(help: "Commit interval of the join in milliseconds (default: 100 exactly-once, 1000 at-least-once).")
    var commitIntervalMs: Int?
    @Option(help: "Consumers' fetch.wait.max.ms.") var fetchWaitMs = 10
    @Option(help: "Producers' linger.ms.") var lingerMs = 1
    @Option(help: "Seconds to wait for the last pairs after production ends.") var drainSeconds = 15
    @Option(help: "Stop waiting sooner once no pair has arrived for this many seconds (default: 3, or 2 windows).")
    var quietSeconds: Int?
    @Flag(help: "Run no join: measure another process that reads the two topics and writes the joined topic.")
    var external = false
    @Flag(help: "Run the join in a child process beside kafka-pipe (the bare consume→produce hop in C) on the right stream, and compare their latency and CPU per record.")
    var compare = false
    @Option(help: "Directory with kafka-pipe (for --compare).") var tools = ".deps/bin"
    @Flag(help: .hidden) var serveJoin = false
    @Option(help: .hidden) var applicationId: String?
    @Flag(help: "Print one JSON line instead of the table.") var json = false
    @Flag(help: "Log what the clients and the join do.") var verbose = false

    enum Guarantee: String, ExpressibleByArgument {
        case atLeastOnce = "at-least-once"
        case exactlyOnce = "exactly-once"
    }

    enum StateKind: String, ExpressibleByArgument {
        case rocksdb, memory
    }

    func validate() throws {
        guard rate > 0, duration > 0, keys > 0, partitions > 0, windowMs > 0 else {
            throw ValidationError("--rate, --duration, --keys, --partitions and --window-ms must be positive")
        }
        guard ["tansu", "mock"].contains(localBroker) else { throw ValidationError("--local-broker is tansu or mock") }
        guard !serveJoin || (bootstrap != nil && applicationId != nil) else { throw ValidationError("--serve-join needs --bootstrap and --application-id") }
        guard !(compare && external) else { throw ValidationError("--compare runs our join; it cannot go with --external") }
    }

    /// The topic kafka-pipe copies the right stream to (`--compare`).
    var hop: String { "\(right)-hop" }

    var logger: Logger {
        var logger = Logger(label: "join-latency")
        logger.logLevel = verbose ? .info : .error
        return logger
    }

    func run() async throws {
        if serveJoin, let bootstrap, let applicationId {
            try await serve(on: bootstrap.split(separator: ",").map(String.init), applicationID: applicationId)
            return
        }
        let applicationID = "join-latency-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
        // The mock cluster cannot create topics on request, the join's changelog included.
        let changelog = "\(applicationID)-\(HarnessJoin.storeName)-changelog"
        let broker = bootstrap == nil
            ? try await LocalBroker.start(kind: localBroker, name: "join-latency-\(ProcessInfo.processInfo.processIdentifier)", topics: ([left, right, joined, changelog] + (compare ? [hop] : [])).map { ($0, partitions) })
            : nil
        let signals = broker?.stopOnSignals()
        do {
            try await measure(on: (bootstrap ?? broker!.address).split(separator: ",").map(String.init), applicationID: applicationID)
        } catch {
            await broker?.stop()
            throw error
        }
        await broker?.stop()
        signals?.forEach { $0.cancel() }
    }

    func measure(on servers: [String], applicationID: String) async throws {        let partitionCounts = try await prepareTopics(servers)
        logger.info("topics ready", metadata: ["partitions": "\(partitionCounts)"])
        let runStart = wallClockNanoseconds()
        let total = Int64(rate) * Int64(duration)

        var join: HarnessJoin?
        let lateDrops = LateDropCount()
        var compared: [ComparedProcess] = []
        do {
            if !external {
                try await startAtEnd(group: applicationID, topics: [left, right], partitions: partitionCounts, servers: servers)
                if compare {
                    let executable = Bundle.main.executablePath ?? CommandLine.arguments[0]
                    compared.append(try await ComparedProcess.start("join", executable, serveArguments(applicationID, servers), ready: "running"))
                } else {
                    join = try await HarnessJoin.start(topology: try topology(), configuration: streamsConfiguration(applicationID, servers, lateDrops: lateDrops), logger: logger)
                }
            }
            if compare {
                let group = "\(applicationID)-hop"
                try await startAtEnd(group: group, topics: [right], partitions: partitionCounts, servers: servers)
                compared.append(try await ComparedProcess.start(
                    "kafka-pipe", "\(tools)/kafka-pipe", [servers.joined(separator: ","), right, hop, group, "\(Int64.max)"],
                    environment: ["LINGER_MS": "\(lingerMs)"], ready: "assigned"
                ))
            }
        } catch {
            for process in compared { process.child.send(SIGKILL) }
            throw error
        }
        var comparedStopped = false
        // A run that fails on the way leaves no child behind.
        defer { if !comparedStopped { for process in compared { process.child.send(SIGKILL) } } }
        logger.info("join running")
        var collected = [joined: partitionCounts[joined] ?? partitions, right: partitionCounts[right] ?? partitions]
        if compare { collected[hop] = partitionCounts[hop] ?? partitions }
        let collector = try await JoinedCollector(
            consumer: try KafkaConsumer(configuration: consumerConfiguration(servers), logger: logger),
            topics: collected,
            baseline: right,
            pipe: compare ? hop : nil,
            runStart: runStart,
            expected: total
        )
        let collecting = Task { try await collector.run() }
        var uncommitted = consumerConfiguration(servers)
        uncommitted.isolationLevel = .readUncommitted
        let witness = try await UncommittedWitness(
            consumer: try KafkaConsumer(configuration: uncommitted, logger: logger), topic: joined, partitions: partitionCounts[joined] ?? partitions
        )
        let witnessing = Task { try await witness.run() }
        let producer = try KafkaProducer(configuration: producerConfiguration(servers), logger: logger)
        let pairs = PairProducer(producer: producer, left: left, right: right, keys: keys, rate: rate, duration: .seconds(duration))
        if !external { try await warmUp(pairs, collector) }
        for index in compared.indices { compared[index].markStart() }
        let outcome = try await pairs.run()
        await producer.close()

        // Wait for the stragglers: until every pair arrived, or nothing arrived for a while.
        let drainEnd = ContinuousClock.now + .seconds(drainSeconds)
        while ContinuousClock.now < drainEnd {
            let progress = collector.progress
            if progress.joined >= total || ContinuousClock.now - progress.lastArrival > .seconds(quietSeconds ?? max(3, windowMs / 500)) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let joinCPU = compared.first { $0.name == "join" }?.cpuSinceStart
        let pipeCPU = compared.first { $0.name == "kafka-pipe" }?.cpuSinceStart
        collector.stop()
        witness.stop()
        try await collecting.value
        try await witnessing.value
        try await join?.stop()
        comparedStopped = true
        var stopFailure: (any Error)?
        for process in compared {
            do { try await process.stop() } catch { stopFailure = stopFailure ?? error }
        }
        if let stopFailure { throw stopFailure }
        var late: Int64? = external ? nil : lateDrops.value
        if let child = compared.first(where: { $0.name == "join" }) {
            late = child.child.standardOutput.split(separator: "\n").lazy.compactMap { $0.hasPrefix("late ") ? Int64($0.dropFirst(5)) : nil }.first
        }
        let tally = collector.tally
        let missing = (0..<outcome.sent).filter { !tally.seen.contains($0) }
        report(outcome, tally, missing: (ids: Array(missing.prefix(10)), written: witness.written(missing).count), lateDrops: late, joinCPU: joinCPU, pipeCPU: pipeCPU)
    }

    /// Sends warm-up pairs and waits until the join has joined them and kafka-pipe copied them, so that neither
    /// one's start (fetch positions, first connections, store files) counts in the run's figures.
    func warmUp(_ pairs: PairProducer, _ collector: JoinedCollector) async throws {
        let count = 8 * Int(partitions)
        try await pairs.warmUp(count: count)
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            let seen = collector.warmUps
            if seen.joined >= count, !compare || seen.piped >= count { break }
            guard ContinuousClock.now < deadline else {
                throw HarnessError("warm-up: \(seen.joined) of \(count) pairs joined, \(seen.piped) copied by kafka-pipe after 60 s")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// `--serve-join`: runs the join until SIGTERM (the parent's `--compare` measures this process's CPU).
    func serve(on servers: [String], applicationID: String) async throws {
        let lateDrops = LateDropCount()
        let join = try await HarnessJoin.start(topology: try topology(), configuration: streamsConfiguration(applicationID, servers, lateDrops: lateDrops), logger: logger)
        FileHandle.standardOutput.write(Data("running\n".utf8))
        signal(SIGTERM, SIG_IGN)
        let terminated = AsyncStream<Void>.makeStream()
        let source = DispatchSource.makeSignalSource(signal: SIGTERM)
        source.setEventHandler { terminated.continuation.finish() }
        source.resume()
        for await _ in terminated.stream {}
        source.cancel()
        try await join.stop()
        FileHandle.standardOutput.write(Data("late \(lateDrops.value)\n".utf8))
    }

    /// The arguments of a child serving this run's join.
    func serveArguments(_ applicationID: String, _ servers: [String]) -> [String] {
        var arguments = [
            "--serve-join", "--application-id", applicationID, "--bootstrap", servers.joined(separator: ","),
            "--left", left, "--right", right, "--joined", joined, "--guarantee", guarantee.rawValue,
            "--window-ms", "\(windowMs)", "--state", state.rawValue, "--fetch-wait-ms", "\(fetchWaitMs)", "--linger-ms", "\(lingerMs)",
        ]
        if let commitIntervalMs { arguments += ["--commit-interval-ms", "\(commitIntervalMs)"] }
        if verbose { arguments.append("--verbose") }
        return arguments
    }

    func topology() throws -> Topology {
        try HarnessJoin.topology(
            left: left, right: right, joined: joined, window: .milliseconds(windowMs),
            materialized: state == .rocksdb ? .persistent() : .inMemory()
        )
    }

    /// Creates the three topics if they are missing (a broker without CreateTopics auto-creates them) and
    /// returns their partition counts.
    func prepareTopics(_ servers: [String]) async throws -> [String: Int32] {
        var configuration = KafkaAdminConfiguration(bootstrapServers: servers)
        configuration.requestTimeout = .seconds(10)
        let admin = try KafkaAdmin(configuration: configuration, logger: logger)
        do {
            let counts = try await createAndDescribeTopics(admin)
            await admin.close()
            return counts
        } catch {
            await admin.close()
            throw error
        }
    }

    private func createAndDescribeTopics(_ admin: KafkaAdmin) async throws -> [String: Int32] {
        let topics = [left, right, joined] + (compare ? [hop] : [])
        let createdAtStart = bootstrap == nil && localBroker == "mock"
        do {
            if !createdAtStart {
                try await admin.createTopics(topics.map { KafkaNewTopic(name: $0, partitions: partitions) }, ifNotExists: true)
            }
        } catch {
            logger.notice("cannot create topics (\(error)); relying on auto-creation")
        }
        try await admin.waitUntilReady(topics, timeout: .seconds(15))
        let descriptions = try await admin.describeTopics(topics)
        let counts = Dictionary(uniqueKeysWithValues: descriptions.map { ($0.name, Int32($0.partitions.count)) })
        if !external, counts[left] != counts[right] {
            throw HarnessError("\(left) has \(counts[left] ?? 0) partitions and \(right) \(counts[right] ?? 0): a join needs them alike")
        }
        return counts
    }

    /// Commits the current end of `topics` for `group`, so that the join starts there and skips earlier runs.
    func startAtEnd(group: String, topics: [String], partitions: [String: Int32], servers: [String]) async throws {
        var configuration = consumerConfiguration(servers)
        configuration.groupID = group
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        let offsets = try await consumer.endOffsets(Dictionary(uniqueKeysWithValues: topics.map { ($0, partitions[$0] ?? self.partitions) }))
        try await consumer.commit(offsets)
        await consumer.close()
    }

    /// The harness's consumer settings, shared by its own consumers and the join's.
    static func tune(_ consumer: inout KafkaConsumerConfiguration, fetchWaitMs: Int) {
        consumer.isolationLevel = .readCommitted
        consumer.fetchWaitMax = .milliseconds(fetchWaitMs)
        consumer.sessionTimeout = .seconds(6)
        consumer.heartbeatInterval = .seconds(1)
    }

    func consumerConfiguration(_ servers: [String]) -> KafkaConsumerConfiguration {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: servers)
        Self.tune(&configuration, fetchWaitMs: fetchWaitMs)
        return configuration
    }

    func producerConfiguration(_ servers: [String]) -> KafkaProducerConfiguration {
        var configuration = KafkaProducerConfiguration(bootstrapServers: servers)
        configuration.linger = .milliseconds(lingerMs)
        return configuration
    }

    func streamsConfiguration(_ applicationID: String, _ servers: [String], lateDrops: LateDropCount) -> StreamsConfiguration {
        var configuration = StreamsConfiguration(applicationID: applicationID, bootstrapServers: servers)
        configuration.metricsFactory = lateDrops
        configuration.processingGuarantee = guarantee == .exactlyOnce ? .exactlyOnce : .atLeastOnce
        configuration.commitInterval = .milliseconds(commitIntervalMs ?? (guarantee == .exactlyOnce ? 100 : 1000))
        configuration.stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(applicationID).path
        let (fetchWait, linger) = (fetchWaitMs, lingerMs)
        configuration.consumer = { Self.tune(&$0, fetchWaitMs: fetchWait) }
        configuration.producer = { $0.linger = .milliseconds(linger) }
        return configuration
    }

    func report(_ outcome: PairProducer.Outcome, _ tally: JoinedCollector.Tally, missing: (ids: [Int64], written: Int), lateDrops: Int64?, joinCPU: Duration?, pipeCPU: Duration?) {
        let sent = outcome.sent - outcome.failed
        let rate = Double(sent) / (Double(outcome.elapsed.components.seconds) + Double(outcome.elapsed.components.attoseconds) / 1e18)
        func ms(_ percentile: Double) -> Double { tally.joined == 0 ? .nan : Double(tally.latency.valueAtPercentile(percentile)) / 1000 }
        let maxMs = tally.joined == 0 ? Double.nan : Double(tally.latency.max) / 1000
        let figures: [(String, Double)] = [("p50_ms", ms(50)), ("p90_ms", ms(90)), ("p99_ms", ms(99)), ("p999_ms", ms(99.9)), ("max_ms", maxMs)]
        func hop(_ percentile: Double) -> Double { tally.hop.totalCount == 0 ? .nan : Double(tally.hop.valueAtPercentile(percentile)) / 1000 }
        func pipe(_ percentile: Double) -> Double { tally.pipe.totalCount == 0 ? .nan : Double(tally.pipe.valueAtPercentile(percentile)) / 1000 }
        func microseconds(_ cpu: Duration?, per count: Int64) -> Double {
            guard let cpu, count > 0 else { return .nan }
            return Double(cpu.components.seconds) * 1e6 / Double(count) + Double(cpu.components.attoseconds) / 1e12 / Double(count)
        }
        let joinCPUPerPair = microseconds(joinCPU, per: tally.joined)
        let pipeCPUPerRecord = microseconds(pipeCPU, per: Int64(tally.pipe.totalCount))
        var baseline: [(String, Double)] = [("hop_p50_ms", hop(50)), ("hop_p99_ms", hop(99))]
        if compare {
            baseline += [("pipe_p50_ms", pipe(50)), ("pipe_p99_ms", pipe(99)),
                         ("join_cpu_us_per_pair", joinCPUPerPair), ("pipe_cpu_us_per_record", pipeCPUPerRecord)]
        }
        if json {
            var fields = ["\"sent\":\(sent)", "\"joined\":\(tally.joined)", "\"missing\":\(sent - tally.joined)",
                          "\"duplicates\":\(tally.duplicates)", String(format: "\"rate\":%.1f", rate)]
            if let lateDrops { fields.append("\"late_dropped\":\(lateDrops)") }
            fields.append("\"missing_ids\":[\(missing.ids.map(String.init).joined(separator: ","))]")
            fields.append("\"missing_written_uncommitted\":\(missing.written)")
            fields += (figures + baseline).map { "\"\($0.0)\":" + ($0.1.isNaN ? "null" : String(format: "%.3f", $0.1)) }
            print("{" + fields.joined(separator: ",") + "}")
            return
        }
        let joiner = external ? "external join" : "StreamKit inner join (±\(windowMs) ms, \(state.rawValue))"
        print("join-latency: \(self.rate) pairs/s for \(duration) s, \(keys) keys, \(guarantee.rawValue), \(joiner)")
        print(String(format: "  sent        %10lld   (%lld failed to send)", sent, outcome.failed))
        print(String(format: "  joined      %10lld", tally.joined))
        print(String(format: "  missing     %10lld", sent - tally.joined))
        if !missing.ids.isEmpty {
            print("              e.g. pairs \(missing.ids.map(String.init).joined(separator: ", ")); \(missing.written) missing pair(s) on the joined topic read_uncommitted")
        }
        print(String(format: "  duplicates  %10lld", tally.duplicates))
        if let lateDrops { print(String(format: "  late        %10lld   (records the join dropped: their windows had closed by stream time)", lateDrops)) }
        if tally.foreign + tally.malformed > 0 {
            print(String(format: "  ignored     %10lld   (%lld from other runs, %lld unreadable)", tally.foreign + tally.malformed, tally.foreign, tally.malformed))
        }
        print(String(format: "  rate        %10.1f pairs/s", rate))
        print("  latency ms  " + figures.map { "\($0.0.dropLast(3)) " + String(format: "%.2f", $0.1) }.joined(separator: "  "))
        print(String(format: "  baseline    bare produce→consume hop of \(right): p50 %.2f  p99 %.2f ms; join/hop p50 %.2f  p99 %.2f",
                     hop(50), hop(99), ms(50) / hop(50), ms(99) / hop(99)))
        guard compare else { return }
        print(String(format: "  kafka-pipe  consume→produce hop in C, \(right) → \(self.hop): p50 %.2f  p99 %.2f ms; join/pipe p50 %.2f  p99 %.2f",
                     pipe(50), pipe(99), ms(50) / pipe(50), ms(99) / pipe(99)))
        print(String(format: "  CPU         join %.1f µs per pair, kafka-pipe %.1f µs per record; join/pipe %.2f",
                     joinCPUPerPair, pipeCPUPerRecord, joinCPUPerPair / pipeCPUPerRecord))
    }
}
