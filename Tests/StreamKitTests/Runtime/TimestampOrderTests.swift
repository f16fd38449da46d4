import Foundation
import Logging
import StreamKit
import StreamKitTesting
import Testing

/// A task takes the records of its partitions in timestamp order, each partition in its own order, as Kafka
/// Streams does: a join fed seconds of backlog of both inputs at once keeps every pair.
@Suite struct TimestampOrderTests {
    static func record(_ topic: String, _ partition: Int32 = 0, offset: Int64, at timestamp: Int64, key: String = "k") -> KafkaConsumerRecord {
        KafkaConsumerRecord(topic: topic, partition: partition, offset: offset, key: Array(key.utf8), value: Array("\(topic)-\(offset)".utf8), timestamp: timestamp)
    }

    @Test func partitionsAreMergedByTimestampAndEachKeepsItsOrder() {
        let left = [Self.record("l", offset: 0, at: 10), Self.record("l", offset: 1, at: 30), Self.record("l", offset: 2, at: 20)]
        let right = [Self.record("r", offset: 0, at: 15), Self.record("r", offset: 1, at: 30)]
        let merged = TimestampOrder.merged([left, right]).map { "\($0.topic)\($0.offset)" }
        // Each step compares the partitions' next records: l2 (20) waits behind l1 (30), a partition's order
        // never changes, and then goes before r1 (30).
        #expect(merged == ["l0", "r0", "l1", "l2", "r1"])
        let tie = TimestampOrder.merged([[Self.record("r", offset: 0, at: 5)], [Self.record("l", offset: 0, at: 5)]]).map(\.topic)
        #expect(tie == ["r", "l"], "among equal timestamps the partition seen first")
        #expect(TimestampOrder.merged([left]).map(\.offset) == [0, 1, 2], "one partition stays as it is")
    }

    @Test func aJoinFedBothInputsBacklogsAtOnceKeepsEveryPair() async throws {
        let builder = StreamsBuilder()
        builder.stream("left", key: .string, value: .string)
            .join(builder.stream("right", key: .string, value: .string), windows: .ofTimeDifference(.seconds(1))) { l, r in "\(l)+\(r)" }
            .to("joined", key: .string, value: .string)
        var configuration = StreamsConfiguration(applicationID: "order", bootstrapServers: [])
        configuration.stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("order-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: configuration.stateDirectory) }
        let topics = InMemoryTopics()
        let clock = ManualClock(startingAt: 0)
        let task = try StreamTask(
            id: TaskID(subtopology: 0, partition: 0),
            topology: try builder.build(),
            partitions: [TopicPartition(topic: "left", partition: 0), TopicPartition(topic: "right", partition: 0)],
            applicationID: configuration.applicationID,
            configuration: configuration,
            collector: InMemoryRecordCollector(topics: topics, clock: clock),
            clock: clock,
            logger: Logger(label: "order", factory: { _ in SwiftLogNoOpLogHandler() }),
            onRoom: {}
        )
        try await task.initialize()
        // Four seconds of both inputs, one pair every 10 ms, read as the runtime reads a backlog: the left
        // partition's records and the right's, handed over together.
        let pairs = 400
        let left = (0..<pairs).map { Self.record("left", offset: Int64($0), at: Int64($0) * 10, key: "k\($0 % 7)") }
        let right = (0..<pairs).map { Self.record("right", offset: Int64($0), at: Int64($0) * 10 + 1, key: "k\($0 % 7)") }
        await task.enqueue(TimestampOrder.merged([left, right]))
        await task.drain(hold: false)
        let joined = Set(topics.records("joined", from: 0).compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } })
        let expected = (0..<pairs).map { "left-\($0)+right-\($0)" }
        #expect(expected.filter { !joined.contains($0) }.isEmpty, "pairs missing: \(expected.filter { !joined.contains($0) }.count)")
        _ = await task.close(clean: true)
    }
}
