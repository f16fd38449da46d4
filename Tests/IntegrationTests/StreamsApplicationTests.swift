import Foundation
import Logging
import StreamKit
import Testing

@Suite(.enabled(if: TestBroker.shouldRun), .serialized)
struct StreamsApplicationTests {
    static func configuration(_ app: String, _ kind: TestBroker.Kind = .tansu) throws -> StreamsConfiguration {
        var configuration = StreamsConfiguration(applicationID: app, bootstrapServers: [try TestBroker.bootstrap(kind)])
        configuration.useLocalBrokerDefaults()
        configuration.commitInterval = .milliseconds(200)
        return configuration
    }

    /// New input and output topics (4 partitions each) and a new application id.
    static func freshTopics() async throws -> (input: String, output: String, app: String) {
        let (input, output, app) = (TestBroker.uniqueName("in"), TestBroker.uniqueName("out"), TestBroker.uniqueName("app"))
        try await TestBroker.createTopic(input)
        try await TestBroker.createTopic(output)
        return (input, output, app)
    }

    static func produce(_ topic: String, _ pairs: [(String, String)], kind: TestBroker.Kind = .tansu) async throws {
        let producer = try TestBroker.producer(kind)
        for (key, value) in pairs {
            try await producer.send(KafkaProducerRecord(topic: topic, key: key.bytes, value: value.bytes), onDelivery: { _ in })
        }
        try await producer.flush()
        await producer.close()
    }

    /// Reads `topic` from the start (read_committed) until `count` records arrived or `timeout` passed.
    static func read(_ topic: String, count: Int, partitions: Int32 = 4, kind: TestBroker.Kind = .tansu, timeout: Duration = .seconds(30)) async throws -> [KafkaConsumerRecord] {
        let consumer = try TestBroker.consumer(kind)
        try await consumer.assign(TestBroker.partitions(topic, count: partitions).map { TopicPartitionOffset($0, offset: KafkaConsumer.beginning) })
        let records = try await TestBroker.consume(consumer, count: count, timeout: timeout)
        await consumer.close()
        return records
    }

    @Test func statelessTopologyEndToEndCommitsOnShutdown() async throws {
        let (input, output, app) = try await StreamsApplicationTests.freshTopics()
        let pairs = (0..<200).map { ("key-\($0 % 17)", "value-\($0)") }
        try await Self.produce(input, pairs)

        let builder = StreamsBuilder()
        builder.stream(input, key: .string, value: .string)
            .filter { !$0.value.hasSuffix("-0") }
            .mapValues { $0.uppercased() }
            .to(output)
        let application = StreamsApplication(topology: try builder.build(), configuration: try Self.configuration(app), logger: TestBroker.logger)
        let running = Task { try await application.run() }
        let records = try await Self.read(output, count: 199)
        application.shutdown()
        try await running.value
        #expect(application.state == .notRunning)

        #expect(records.count == 199)
        let values = Set(records.map { $0.value!.string })
        #expect(values == Set(pairs.map(\.1).filter { $0 != "value-0" }.map { $0.uppercased() }))
        // Keys keep their partition: output partition of a key equals its input partition (same partitioner).
        for record in records {
            #expect(record.key!.string.hasPrefix("key-"))
        }
        // Shutdown committed everything that was consumed: each partition's committed offset is its record count.
        let inputRecords = try await Self.read(input, count: 200)
        let consumer = try TestBroker.consumer(group: app)
        let committed = try await consumer.committed(TestBroker.partitions(input, count: 4))
        await consumer.close()
        for offset in committed {
            let stored = inputRecords.filter { $0.partition == offset.partition }.count
            #expect(offset.offset == Int64(stored), "partition \(offset.topicPartition) committed \(offset.offset) of \(stored)")
        }
    }

    @Test func poisonRecordGoesToTheDeadLetterTopicAndTheStreamGoesOn() async throws {
        let (input, output, dlq, app) = (
            TestBroker.uniqueName("in"), TestBroker.uniqueName("out"), TestBroker.uniqueName("dlq"), TestBroker.uniqueName("app")
        )
        for topic in [input, output, dlq] { try await TestBroker.createTopic(topic, partitions: 1) }
        try await Self.produce(input, [("a", "good-1"), ("b", "poison"), ("c", "good-2")])

        let builder = StreamsBuilder()
        builder.stream(input, key: .string, value: .string)
            .mapValues { value in
                guard value != "poison" else { throw PoisonError() }
                return value.uppercased()
            }
            .to(output)
        var configuration = try Self.configuration(app)
        configuration.errorHandling = .deadLetter(dlq)
        let application = StreamsApplication(topology: try builder.build(), configuration: configuration, logger: TestBroker.logger)
        let running = Task { try await application.run() }
        let out = try await Self.read(output, count: 2, partitions: 1)
        let letters = try await Self.read(dlq, count: 1, partitions: 1)
        application.shutdown()
        try await running.value

        #expect(out.map { $0.value!.string } == ["GOOD-1", "GOOD-2"])
        try #require(letters.count == 1)
        let letter = letters[0]
        #expect(letter.key?.string == "b")
        #expect(letter.value?.string == "poison")
        #expect(letter.headers.string(DeadLetterHeaders.stage) == "processing")
        #expect(letter.headers.string(DeadLetterHeaders.reason) == "poison value")
        #expect(letter.headers.string(DeadLetterHeaders.topic) == input)
        #expect(letter.headers.string(DeadLetterHeaders.offset) == "1")
    }

    /// A backlog hundreds of times the per-partition buffer: fetching pauses and resumes over and over, and
    /// every record still comes through once.
    @Test func aBacklogFarLargerThanTheBufferPausesAndResumesWithoutStalling() async throws {
        let (input, output, app) = try await StreamsApplicationTests.freshTopics()
        let pairs = (0..<4000).map { ("key-\($0 % 97)", "value-\($0)") }
        try await Self.produce(input, pairs)

        let builder = StreamsBuilder()
        builder.stream(input, key: .string, value: .string)
            .mapValues { value in
                await Task.yield()
                return value.uppercased()
            }
            .to(output)
        var configuration = try Self.configuration(app)
        configuration.bufferedRecordsPerPartition = 6
        configuration.maxInFlightPerTask = 4
        let application = StreamsApplication(topology: try builder.build(), configuration: configuration, logger: TestBroker.logger)
        let running = Task { try await application.run() }
        // Generous: on a loaded machine (2 cores shared with the broker and other suites) 4,000 records paced by a
        // 6-record buffer took over 60 s once.
        let records = try await Self.read(output, count: pairs.count, timeout: .seconds(240))
        application.shutdown()
        try await running.value
        #expect(records.count == pairs.count)
        #expect(Set(records.map { $0.value!.string }) == Set(pairs.map { $0.1.uppercased() }))
    }

    @Test func missingSourceTopicIsAClearError() async throws {
        let builder = StreamsBuilder()
        builder.stream(TestBroker.uniqueName("absent"), key: .string, value: .string).to("x")
        let application = StreamsApplication(
            topology: try builder.build(),
            configuration: try Self.configuration(TestBroker.uniqueName("app")),
            logger: TestBroker.logger
        )
        let error = await #expect(throws: TopologyError.self) { try await application.run() }
        #expect(error?.reason.contains("do not exist") == true)
        #expect(application.state == .error)
    }

    @Test func sourcesThatAreNotCoPartitionedAreRejected() async throws {
        let (left, right) = (TestBroker.uniqueName("left"), TestBroker.uniqueName("right"))
        try await TestBroker.createTopic(left, partitions: 4)
        try await TestBroker.createTopic(right, partitions: 2)
        let builder = StreamsBuilder()
        builder.stream(left, key: .string, value: .string)
            .merge(builder.stream(right, key: .string, value: .string))
            .to("merged")
        let application = StreamsApplication(
            topology: try builder.build(),
            configuration: try Self.configuration(TestBroker.uniqueName("app")),
            logger: TestBroker.logger
        )
        let error = await #expect(throws: TopologyError.self) { try await application.run() }
        #expect(error?.reason.contains("\(left) has 4 partitions") == true)
        #expect(error?.reason.contains("\(right) has 2 partitions") == true)
    }

    struct PoisonError: Error, CustomStringConvertible {
        var description: String { "poison value" }
    }
}
