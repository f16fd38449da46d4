import Dataflow
import Foundation
import Gateways
import Logging
import ProjectScripts
import StreamKit
import Synchronization
import Testing

/// The model gateway between the real broker and real MLServer models: requests on a model's input topic are
/// answered on its output topic, failures become error records, and an unreachable server makes requests wait.
@Suite(.enabled(if: TestModelServer.shouldRun), .serialized)
struct ModelGatewayTests {
    let topics = TopicNames(prefix: "seldon", namespace: TestBroker.uniqueName("gw"))

    func gateway(_ models: [String: ModelServer], configure: (inout ModelGatewayConfiguration) -> Void = { _ in }) async throws -> ModelGateway {
        var configuration = ModelGatewayConfiguration(bootstrapServers: [try TestBroker.bootstrap()], groupID: TestBroker.uniqueName("modelgateway"), topics: topics)
        configuration.useLocalBrokerDefaults()
        configuration.commitInterval = .milliseconds(100)
        configuration.calls.timeout = .seconds(10)
        configuration.calls.healthCheckInterval = .milliseconds(100)
        configure(&configuration)
        let gateway = ModelGateway(configuration: configuration, logger: TestBroker.logger)
        try await gateway.serve(models)
        return gateway
    }

    static func sumRequest(_ value: Int32, id: String) throws -> [UInt8] {
        try InferenceRequest(id: id, inputs: [
            InferenceTensor(name: "INPUT0", shape: [1, 2], contents: .int32([value, 1])),
            InferenceTensor(name: "INPUT1", shape: [1, 2], contents: .int32([10, 2])),
        ]).serializedBytes()
    }

    func send(_ values: [(key: String, value: [UInt8])], to model: String) async throws {
        let producer = try TestBroker.producer()
        for (key, value) in values {
            _ = try await producer.send(KafkaProducerRecord(
                topic: topics.modelInputs(model), key: key.bytes, value: value,
                headers: [KafkaHeader(key: "pipeline", value: "p"), KafkaHeader(key: "x-request-id", value: key), KafkaHeader(key: "x-client", value: "t")]
            ))
        }
        await producer.close()
    }

    func reader(_ topic: String) async throws -> KafkaConsumer {
        let consumer = try TestBroker.consumer(group: TestBroker.uniqueName("reader"))
        try await consumer.subscribe(topics: [topic])
        return consumer
    }

    static func server(_ wireProtocol: ServerResource.WireProtocol) throws -> ModelServer {
        switch wireProtocol {
        case .rest: ModelServer(name: "mlserver", endpoints: [try TestModelServer.address()])
        case .grpc: ModelServer(name: "mlserver-grpc", endpoints: ["http://" + (try #require(TestModelServer.grpc))], wireProtocol: .grpc)
        }
    }

    @Test(arguments: [ServerResource.WireProtocol.rest, .grpc])
    func answersRequestsOnTheModelsOutputTopicWithTheirKeysAndHeaders(_ wireProtocol: ServerResource.WireProtocol) async throws {
        let server = try Self.server(wireProtocol)
        let gateway = try await gateway(["sum": server, "add10": server])
        let running = Task { try await gateway.run() }
        let outputs = try await reader(topics.modelOutputs("sum"))

        try await send((0..<50).map { ("k\($0)", try Self.sumRequest(Int32($0), id: "k\($0)")) }, to: "sum")
        let records = try await TestBroker.consume(outputs, count: 50, timeout: .seconds(60))
        #expect(records.count == 50)
        for record in records {
            let key = try #require(record.key?.string)
            let value = try #require(Int32(key.dropFirst()))
            let response = try InferenceResponse(serializedBytes: record.value ?? [])
            #expect(response.outputs.map(\.name) == ["OUTPUT0", "OUTPUT1"])
            #expect(response.outputs.map(\.contents) == [.int32([value + 10, 3]), .int32([value - 10, -1])])
            #expect(record.headers.string("x-request-id") == key)
            #expect(record.headers.string("x-client") == "t")
            #expect(record.headers.string("pipeline") == "p")
        }

        // Offsets are committed up to the last request once all are answered.
        let inputs = TestBroker.partitions(topics.modelInputs("sum"), count: 4)
        let probe = try TestBroker.consumer(group: gateway.configuration.consumer.groupID)
        var committed: Int64 = 0
        for _ in 0..<50 where committed < 50 {
            committed = try await probe.committed(inputs).map { max($0.offset, 0) }.reduce(0, +)
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(committed == 50)
        await probe.close()
        await outputs.close()
        running.cancel()
        try await running.value
    }

    @Test(arguments: [ServerResource.WireProtocol.rest, .grpc])
    func requestsTheServerRefusesOrThatAreNotRequestsBecomeErrorRecordsAndTheStreamGoesOn(_ wireProtocol: ServerResource.WireProtocol) async throws {
        let server = try Self.server(wireProtocol)
        let gateway = try await gateway(["sum": server])
        let running = Task { try await gateway.run() }
        let outputs = try await reader(topics.modelOutputs("sum"))
        let errors = try await reader(topics.errors)

        let missingInput = try InferenceRequest(id: "m", inputs: [InferenceTensor(name: "INPUT0", shape: [1, 2], contents: .int32([1, 2]))]).serializedBytes()
        try await send([("bad", missingInput), ("poison", [0xFF, 0x01, 0x02]), ("good", try Self.sumRequest(1, id: "good"))], to: "sum")

        let failed = try await TestBroker.consume(errors, count: 2, timeout: .seconds(30))
        let byKey = Dictionary(uniqueKeysWithValues: failed.map { ($0.key?.string ?? "", $0) })
        #expect(byKey["bad"]?.headers.string("seldon-pipeline-errors") == "sum")
        #expect(byKey["bad"]?.value?.string.hasSuffix("input INPUT1 is missing; the request has ['INPUT0']") == true, "\(byKey["bad"]?.value?.string ?? "")")
        #expect(byKey["bad"]?.headers.string("x-request-id") == "bad")
        #expect(byKey["poison"]?.headers.string("seldon-pipeline-errors") == "sum")
        #expect(byKey["poison"]?.value?.string.hasPrefix("the request is not a binary ModelInferRequest") == true)
        let answered = try await TestBroker.consume(outputs, count: 1, timeout: .seconds(30))
        #expect(answered.map { $0.key?.string } == ["good"])

        await outputs.close()
        await errors.close()
        running.cancel()
        try await running.value
    }

    /// Log messages, for waiting until the gateway has done something it only logs.
    final class CapturedLog: Sendable {
        let messages = Mutex<[String]>([])

        struct Handler: LogHandler {
            let log: CapturedLog
            var metadata: Logger.Metadata = [:]
            var logLevel: Logger.Level = .info
            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }
            func log(event: LogEvent) {
                let metadata = (event.metadata ?? [:]).merging(self.metadata) { a, _ in a }
                log.messages.withLock { $0.append(event.message.description + (metadata.isEmpty ? "" : " \(metadata)")) }
            }
        }

        func contains(_ text: String) -> Bool { messages.withLock { $0.contains { $0.contains(text) } } }
    }

    /// Shutdown while a failed request's error record cannot be written: neither answer nor error record exists,
    /// so its offset must not be committed, and the next gateway of the group answers it.
    @Test func aRequestWhoseErrorRecordCannotBeWrittenIsLeftToTheNextOwner() async throws {
        let captured = CapturedLog()
        let server = try Self.server(.rest)
        var configuration = ModelGatewayConfiguration(bootstrapServers: [try TestBroker.bootstrap()], groupID: TestBroker.uniqueName("modelgateway"), topics: topics)
        configuration.useLocalBrokerDefaults()
        configuration.commitInterval = .milliseconds(100)
        configuration.drainTimeout = .milliseconds(500)
        // The error record carries the request's headers: with them it is larger than this producer may send.
        configuration.producer.additionalProperties["message.max.bytes"] = "2000"
        let refusing = ModelGateway(configuration: configuration, logger: Logger(label: "gateway") { _ in CapturedLog.Handler(log: captured) })
        try await refusing.serve(["sum": server])

        let producer = try TestBroker.producer()
        _ = try await producer.send(KafkaProducerRecord(
            topic: topics.modelInputs("sum"), partition: 0, key: "poison".bytes, value: [0xFF, 0x01],
            headers: [KafkaHeader(key: "x-request-id", value: "poison"), KafkaHeader(key: "x-padding", value: String(repeating: "p", count: 3000))]
        ))
        await producer.close()

        let running = Task { try await refusing.run() }
        let deadline = ContinuousClock.now + .seconds(60)
        while !captured.contains("could not write an error record"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(captured.contains("could not write an error record"))
        running.cancel()
        try? await running.value

        let input = TopicPartition(topic: topics.modelInputs("sum"), partition: 0)
        let probe = try TestBroker.consumer(group: configuration.consumer.groupID)
        let committed = try await probe.committed([input]).first?.offset ?? -1
        await probe.close()
        #expect(committed <= 0, "nothing was written for the request, so its offset is not committed (committed \(committed))")

        configuration.producer.additionalProperties = [:]
        let next = ModelGateway(configuration: configuration, logger: TestBroker.logger)
        try await next.serve(["sum": server])
        let errors = try await reader(topics.errors)
        let nextRunning = Task { try await next.run() }
        let failed = try await TestBroker.consume(errors, count: 1, timeout: .seconds(60))
        #expect(failed.map { $0.key?.string } == ["poison"])
        await errors.close()
        nextRunning.cancel()
        try await nextRunning.value
    }

    /// A reader of `sum`'s answers on the broker at `bootstrap`, from the beginning of every partition.
    private func sumAnswers(_ bootstrap: String, _ isolation: KafkaIsolationLevel) async throws -> KafkaConsumer {
        var consumer = KafkaConsumerConfiguration(bootstrapServers: [bootstrap])
        consumer.useLocalBrokerDefaults()
        consumer.isolationLevel = isolation
        let reader = try KafkaConsumer(configuration: consumer, logger: TestBroker.logger)
        try await reader.assign(TestBroker.partitions(topics.modelOutputs("sum"), count: 4).map { TopicPartitionOffset($0, offset: KafkaConsumer.beginning) })
        return reader
    }

    /// How many answers `reader` holds per request key: read until `expected` came (or two minutes passed), then
    /// 3 s more, so that an answer too many shows.
    private func answersByKey(_ reader: KafkaConsumer, expecting expected: Int) async throws -> [String: Int] {
        var answers: [String: Int] = [:]
        let deadline = ContinuousClock.now + .seconds(120)
        while answers.values.reduce(0, +) < expected, ContinuousClock.now < deadline {
            for record in try await reader.poll(maxRecords: 1000, timeout: .milliseconds(200)) {
                answers[record.key?.string ?? "", default: 0] += 1
            }
        }
        for record in try await TestBroker.consume(reader, count: 1, timeout: .seconds(3)) {
            answers[record.key?.string ?? "", default: 0] += 1
        }
        return answers
    }

    /// Exactly-once: a gateway whose transactional id is taken over mid-load (as a restarted instance would take
    /// it) has its open transaction aborted; it answers again from the committed offsets, and a read_committed
    /// reader sees every request answered exactly once. On a Tansu of its own behind the transaction shim, which
    /// hides aborted records from read_committed readers as Kafka does (Tansu alone shows them).
    @Test func exactlyOnceAnswersEveryRequestOnceThoughItsTransactionsAreFenced() async throws {
        try await TestBroker.withShimmedTansu("eos-gateway") { try await answersOnceThoughFenced(bootstrap: $0) }
    }

    private func answersOnceThoughFenced(bootstrap: String) async throws {
        let captured = CapturedLog()
        let server = try Self.server(.rest)
        var configuration = ModelGatewayConfiguration(bootstrapServers: [bootstrap], groupID: TestBroker.uniqueName("modelgateway"), topics: topics)
        configuration.useLocalBrokerDefaults()
        // Answers wait seconds in the open transaction: taking the id over then aborts some of them.
        configuration.commitInterval = .seconds(5)
        configuration.transactionalID = TestBroker.uniqueName("gateway-txn")
        let gateway = ModelGateway(configuration: configuration, logger: Logger(label: "gateway") { _ in CapturedLog.Handler(log: captured) })
        try await gateway.serve(["sum": server])
        let running = Task { try await gateway.run() }
        let uncommitted = try await sumAnswers(bootstrap, .readUncommitted)
        var producer = KafkaProducerConfiguration(bootstrapServers: [bootstrap])
        producer.useLocalBrokerDefaults()

        // Take the transactional id over as soon as a round's answers are written, until a transaction with
        // answers in it was aborted: more answers were written than requests sent.
        var keys: [String] = []
        var written = 0
        let requests = try KafkaProducer(configuration: producer, logger: TestBroker.logger)
        for round in 0..<20 where written <= keys.count {
            let batch = (0..<20).map { "r\(round)-\($0)" }
            for key in batch {
                _ = try await requests.send(KafkaProducerRecord(
                    topic: topics.modelInputs("sum"), key: key.bytes, value: try Self.sumRequest(7, id: key),
                    headers: [KafkaHeader(key: "x-request-id", value: key)]
                ))
            }
            keys += batch
            let seen = try await TestBroker.consume(uncommitted, count: 1, timeout: .seconds(60))
            #expect(!seen.isEmpty, "round \(round) was answered")
            written += seen.count
            var usurping = producer
            usurping.transactionalID = configuration.transactionalID
            let usurper = try KafkaProducer(configuration: usurping, logger: TestBroker.logger)
            try await usurper.initTransactions()
            await usurper.close()
            let deadline = ContinuousClock.now + .seconds(60)
            while written <= keys.count, ContinuousClock.now < deadline {
                written += try await uncommitted.poll(maxRecords: 1000, timeout: .milliseconds(100)).count
            }
        }
        await requests.close()
        await uncommitted.close()
        #expect(captured.contains("transaction aborted"))
        #expect(written > keys.count, "a transaction holding answers was aborted: \(written) answers written for \(keys.count) requests")

        // Everything sent is answered; what was committed answers each request once.
        let committed = try await sumAnswers(bootstrap, .readCommitted)
        let answers = try await answersByKey(committed, expecting: keys.count)
        #expect(Set(answers.keys) == Set(keys), "answered: \(answers.count) of \(keys.count); the gateway logged: \(captured.messages.withLock { $0 })")
        #expect(answers.filter { $0.value > 1 }.isEmpty, "answered more than once: \(answers.filter { $0.value > 1 }.keys.sorted().prefix(10))")
        await committed.close()
        running.cancel()
        try await running.value
    }

    /// Exactly-once: a gateway whose transaction is fenced finds out when a second gateway joins and it commits
    /// for the partitions it hands over — inside the consumer's poll, in the rebalance callback. It aborts, moves
    /// its other partitions back to their committed offsets and answers them again; the two answer every request
    /// once. (The move used to wait for the poll under way to end, that is for itself: the gateway hung.)
    @Test func exactlyOnceAGatewayFencedWhileHandingPartitionsOverAnswersAgain() async throws {
        try await TestBroker.withShimmedTansu("eos-handover") { try await answersAgainAfterAFencedHandover(bootstrap: $0) }
    }

    private func answersAgainAfterAFencedHandover(bootstrap: String) async throws {
        let captured = CapturedLog()
        let server = try Self.server(.rest)
        let group = TestBroker.uniqueName("modelgateway")
        func gateway(_ id: String, log: CapturedLog?, commitInterval: Duration) async throws -> (ModelGateway, ModelGatewayConfiguration) {
            var configuration = ModelGatewayConfiguration(bootstrapServers: [bootstrap], groupID: group, topics: topics)
            configuration.useLocalBrokerDefaults()
            configuration.commitInterval = commitInterval
            configuration.transactionalID = TestBroker.uniqueName(id)
            TestBroker.applyKafkaDebug(&configuration.consumer.additionalProperties)
            TestBroker.applyKafkaDebug(&configuration.producer.additionalProperties)
            let logger = Logger(label: "\(id)-gateway") { label in
                var shown = StreamLogHandler.standardError(label: label)
                shown.logLevel = TestBroker.logger.logLevel
                var handlers: [any LogHandler] = [shown]
                if let log { handlers.append(CapturedLog.Handler(log: log)) }
                return MultiplexLogHandler(handlers)
            }
            let gateway = ModelGateway(configuration: configuration, logger: logger)
            try await gateway.serve(["sum": server])
            return (gateway, configuration)
        }
        var producer = KafkaProducerConfiguration(bootstrapServers: [bootstrap])
        producer.useLocalBrokerDefaults()
        // Nothing commits by the clock in the first: its first commit is the one for its handover.
        let (first, firstConfiguration) = try await gateway("first", log: captured, commitInterval: .seconds(600))
        let firstRunning = Task { try await first.run() }

        // The first gateway answers everything in its open transaction.
        let keys = (0..<40).map { "h\($0)" }
        let requests = try KafkaProducer(configuration: producer, logger: TestBroker.logger)
        for key in keys {
            _ = try await requests.send(KafkaProducerRecord(
                topic: topics.modelInputs("sum"), key: key.bytes, value: try Self.sumRequest(7, id: key),
                headers: [KafkaHeader(key: "x-request-id", value: key)]
            ))
        }
        await requests.close()
        let uncommitted = try await sumAnswers(bootstrap, .readUncommitted)
        #expect(try await TestBroker.consume(uncommitted, count: keys.count, timeout: .seconds(60)).count == keys.count)
        await uncommitted.close()

        // Its transactional id is taken over; then a second gateway joins and takes some partitions.
        var usurping = producer
        usurping.transactionalID = firstConfiguration.transactionalID
        let usurper = try KafkaProducer(configuration: usurping, logger: TestBroker.logger)
        try await usurper.initTransactions()
        await usurper.close()
        let secondLog = CapturedLog()
        let (second, _) = try await gateway("second", log: secondLog, commitInterval: .milliseconds(100))
        let secondRunning = Task { try await second.run() }
        try await waitUntil("the first gateway aborted and moved its partitions back", timeout: .seconds(90)) {
            captured.contains("partitions moved back to their committed offsets")
        }
        // Tansu 0.6.0 keeps a member that leaves while its group forms as the group's leader for good (its
        // LeaveGroup in the Forming state forgets the member, not the leadership): every later join waits for that
        // leader's SyncGroup. So the first leaves once the group has formed, with the second holding partitions.
        try await waitUntil("the second gateway holds partitions", timeout: .seconds(90)) {
            secondLog.messages.withLock { $0.contains { $0.hasPrefix("partitions assigned") && $0.contains(".inputs-") } }
        }

        // The first leaves (committing what it answered again); the second then has every partition.
        firstRunning.cancel()
        try await firstRunning.value
        let committed = try await sumAnswers(bootstrap, .readCommitted)
        let answers = try await answersByKey(committed, expecting: keys.count)
        #expect(Set(answers.keys) == Set(keys), "answered: \(answers.count) of \(keys.count); the first gateway logged: \(captured.messages.withLock { $0 })")
        #expect(answers.filter { $0.value > 1 }.isEmpty, "answered more than once: \(answers.filter { $0.value > 1 }.keys.sorted())")
        await committed.close()
        secondRunning.cancel()
        try await secondRunning.value
    }

    @Test func aServerKilledMidLoadMakesRequestsWaitAndAllAreAnsweredOnceItIsBack() async throws {
        let name = TestBroker.uniqueName("mlserver-killed")
        try await TestModelServer.with(name) { address in try await killAndRestart(name, address) }
    }

    func killAndRestart(_ name: String, _ address: String) async throws {
        let port = try #require(URL(string: address)?.port)
        let gateway = try await gateway(["sum": ModelServer(name: name, endpoints: [address])])
        let running = Task { try await gateway.run() }
        let outputs = try await reader(topics.modelOutputs("sum"))
        let errors = try await reader(topics.errors)

        try await send((0..<100).map { ("a\($0)", try Self.sumRequest(Int32($0), id: "a\($0)")) }, to: "sum")
        var answered = try await TestBroker.consume(outputs, count: 100, timeout: .seconds(60))
        #expect(answered.count == 100)

        try await TestModelServer.stop(name)
        try await send((0..<200).map { ("b\($0)", try Self.sumRequest(Int32($0), id: "b\($0)")) }, to: "sum")
        try await Task.sleep(for: .seconds(1))
        let whileDown = try await TestBroker.consume(outputs, count: 1, timeout: .seconds(1))
        #expect(whileDown.isEmpty, "no answer while the server is down")

        try await TestModelServer.start(name, httpPort: port)
        answered = try await TestBroker.consume(outputs, count: 200, timeout: .seconds(90))
        #expect(Set(answered.compactMap { $0.key?.string }) == Set((0..<200).map { "b\($0)" }))
        for record in answered {
            let key = try #require(record.key?.string)
            let value = try #require(Int32(key.dropFirst()))
            #expect(try InferenceResponse(serializedBytes: record.value ?? []).outputs.first?.contents == .int32([value + 10, 3]))
        }
        #expect(try await TestBroker.consume(errors, count: 1, timeout: .seconds(1)).isEmpty, "no request failed")

        await outputs.close()
        await errors.close()
        running.cancel()
        try await running.value
    }
}
