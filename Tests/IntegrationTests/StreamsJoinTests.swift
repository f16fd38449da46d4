import Foundation
import Logging
import StreamKit
import Testing

/// The join cases on the real broker: one application joins the same input topics two-way (inner, left, outer),
/// three-way (inner, outer, any) and with a table, under both guarantees. Unmatched records go out by the
/// wall-clock deadline (each key's partition sees no later traffic); a record older than any open window is
/// dropped; a restarted instance with an empty state directory restores the join store from its changelog and
/// still joins a record that arrived before it.
@Suite(.enabled(if: TestBroker.shouldRun), .serialized)
struct StreamsJoinTests {
    struct Topics {
        let left = TestBroker.uniqueName("left")
        let right = TestBroker.uniqueName("right")
        let third = TestBroker.uniqueName("third")
        let table = TestBroker.uniqueName("table")
        let app = TestBroker.uniqueName("joins")

        func output(_ name: String) -> String { "\(app)-\(name)" }
        static let outputs = ["inner", "left", "outer", "three-inner", "three-outer", "three-any", "table-inner", "table-left"]
    }

    static func topology(_ topics: Topics) throws -> Topology {
        let builder = StreamsBuilder()
        let left = builder.stream(topics.left, key: .string, value: .string)
        let right = builder.stream(topics.right, key: .string, value: .string)
        let third = builder.stream(topics.third, key: .string, value: .string)
        let table = builder.table(topics.table, key: .string, value: .string)
        let windows = JoinWindows.ofTimeDifference(.seconds(1)).withWallClockDeadline(.seconds(3))
        let show: @Sendable (String?) -> String = { $0 ?? "-" }
        left.join(right, windows: windows) { "\($0)+\($1)" }.to(topics.output("inner"), key: .string, value: .string)
        left.leftJoin(right, windows: windows) { "\($0)+\(show($1))" }.to(topics.output("left"), key: .string, value: .string)
        left.outerJoin(right, windows: windows) { "\(show($0))+\(show($1))" }.to(topics.output("outer"), key: .string, value: .string)
        for mode in MultiwayJoin.allCases {
            builder.join([left, right, third], mode, window: .seconds(1), wallClockDeadline: .seconds(3))
                .mapValues { $0.map(show).joined(separator: "|") }
                .to(topics.output("three-\(mode)"), key: .string, value: .string)
        }
        left.join(table) { "\($0)+\($1)" }.to(topics.output("table-inner"), key: .string, value: .string)
        left.leftJoin(table) { "\($0)+\(show($1))" }.to(topics.output("table-left"), key: .string, value: .string)
        return try builder.build()
    }

    static func configuration(_ topics: Topics, _ guarantee: StreamsConfiguration.ProcessingGuarantee) throws -> StreamsConfiguration {
        var configuration = try StreamsApplicationTests.configuration(topics.app)
        configuration.processingGuarantee = guarantee
        configuration.stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.uniqueName("state")).path
        return configuration
    }

    /// Sends `records` (topic, key, value, time) in order through one producer and waits until all are stored.
    static func send(_ records: [(String, String, String, Int64)]) async throws {
        let producer = try TestBroker.producer()
        for (topic, key, value, time) in records {
            try await producer.send(KafkaProducerRecord(topic: topic, key: key.bytes, value: value.bytes, timestamp: time)) { _ in }
        }
        try await producer.flush()
        await producer.close()
    }

    /// `key=value` of every record on each of `topics`, sorted, once `count` arrived in all, after a pause that
    /// would let extra ones in.
    static func outputs(_ topics: [String], count: Int) async throws -> [String: [String]] {
        let consumer = try TestBroker.consumer()
        try await consumer.assign(topics.flatMap { TestBroker.partitions($0, count: 4) }.map { TopicPartitionOffset($0, offset: KafkaConsumer.beginning) })
        var records = try await TestBroker.consume(consumer, count: count, timeout: .seconds(30))
        records += try await TestBroker.consume(consumer, count: 1000, timeout: .milliseconds(1500))
        await consumer.close()
        return Dictionary(grouping: records, by: \.topic).mapValues { $0.map { "\($0.key!.string)=\($0.value!.string)" }.sorted() }
    }

    @Test(arguments: [StreamsConfiguration.ProcessingGuarantee.atLeastOnce, .exactlyOnce])
    func joinCasesOnTheBroker(guarantee: StreamsConfiguration.ProcessingGuarantee) async throws {
        let topics = Topics()
        for topic in [topics.left, topics.right, topics.third, topics.table] + Topics.outputs.map(topics.output) {
            try await TestBroker.createTopic(topic)
        }
        let application = StreamsApplication(topology: try Self.topology(topics), configuration: try Self.configuration(topics, guarantee), logger: TestBroker.logger)
        let running = Task { try await application.run() }
        #expect(await application.waitUntil(.running))

        try await Self.send([(topics.table, "k1", "T1", 500)])
        // The table row is in before the stream records that look it up.
        try await Task.sleep(for: .seconds(1))
        // k1's three records go together, well within the wall-clock deadline of the outer joins.
        try await Self.send([
            (topics.left, "k1", "l1", 1000), (topics.right, "k1", "r1", 1500), (topics.third, "k1", "c1", 1200),
            (topics.left, "k2", "l2", 1000), (topics.right, "k3", "r3", 1000),
        ])
        // The records above are processed before k4 moves stream time on: k3 and k4 may share a task, and r3
        // fetched after l4 would already be older than any open window.
        try await Task.sleep(for: .seconds(1))
        // k4's task moves far ahead in stream time; the right record then is older than any open window.
        try await Self.send([(topics.left, "k4", "l4", 10_000)])
        try await Task.sleep(for: .milliseconds(500))
        try await Self.send([(topics.right, "k4", "r4", 1000)])

        let expected: [String: [String]] = [
            "inner": ["k1=l1+r1"],
            "left": ["k1=l1+r1", "k2=l2+-", "k4=l4+-"],
            "outer": ["k1=l1+r1", "k2=l2+-", "k3=-+r3", "k4=l4+-"],
            "three-inner": ["k1=l1|r1|c1"],
            "three-outer": ["k1=l1|r1|c1", "k2=l2|-|-", "k3=-|r3|-", "k4=l4|-|-"],
            "three-any": ["k1=-|-|c1", "k1=-|r1|-", "k1=l1|-|-", "k2=l2|-|-", "k3=-|r3|-", "k4=-|r4|-", "k4=l4|-|-"],
            "table-inner": ["k1=l1+T1"],
            "table-left": ["k1=l1+T1", "k2=l2+-", "k4=l4+-"],
        ]
        let outputs = try await Self.outputs(Topics.outputs.map(topics.output), count: expected.values.map(\.count).reduce(0, +))
        for name in Topics.outputs {
            #expect(outputs[topics.output(name)] ?? [] == expected[name], "\(name)")
        }

        // A left record the next instance must find in the restored join store.
        try await Self.send([(topics.left, "k5", "l5", 20_000)])
        let any = try await Self.outputs([topics.output("three-any")], count: 8)
        #expect(any[topics.output("three-any")]?.contains("k5=l5|-|-") == true)
        application.shutdown()
        try await running.value

        let restarted = StreamsApplication(topology: try Self.topology(topics), configuration: try Self.configuration(topics, guarantee), logger: TestBroker.logger)
        let again = Task { try await restarted.run() }
        #expect(await restarted.waitUntil(.running))
        try await Self.send([(topics.right, "k5", "r5", 20_100)])
        let inner = try await Self.outputs([topics.output("inner")], count: 2)
        #expect(inner[topics.output("inner")] == ["k1=l1+r1", "k5=l5+r5"])
        restarted.shutdown()
        try await again.value
    }
}
