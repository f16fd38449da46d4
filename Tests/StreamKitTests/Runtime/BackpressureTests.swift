import Logging
import StreamKit
import StreamKitTesting
import Synchronization
import Testing

/// A task's bounded buffer: once a partition's buffer is full the task takes no more of it until the backlog
/// is worked down to half, and then says so.
@Suite struct BackpressureTests {
    final class RoomSignals: Sendable {
        let count = Atomic<Int>(0)
    }

    func task(buffer: Int, signals: RoomSignals, topics: InMemoryTopics) throws -> StreamTask {
        let builder = StreamsBuilder()
        builder.stream("in", key: .string, value: .string)
            .mapValues { value in
                try await Task.sleep(for: .milliseconds(1))
                return value.uppercased()
            }
            .to("out")
        var configuration = StreamsConfiguration(applicationID: "bp", bootstrapServers: [])
        configuration.bufferedRecordsPerPartition = buffer
        configuration.maxInFlightPerTask = 2
        let clock = ManualClock(startingAt: 0)
        return try StreamTask(
            id: TaskID(subtopology: 0, partition: 0),
            topology: try builder.build(),
            partitions: [TopicPartition(topic: "in", partition: 0)],
            applicationID: configuration.applicationID,
            configuration: configuration,
            collector: InMemoryRecordCollector(topics: topics, clock: clock),
            clock: clock,
            logger: Logger(label: "bp", factory: { _ in SwiftLogNoOpLogHandler() }),
            onRoom: { signals.count.add(1, ordering: .relaxed) }
        )
    }

    func records(_ range: Range<Int>) -> [KafkaConsumerRecord] {
        range.map { KafkaConsumerRecord(topic: "in", partition: 0, offset: Int64($0), key: Array("k\($0)".utf8), value: Array("v\($0)".utf8), timestamp: 0) }
    }

    @Test func aFullPartitionTakesNothingUntilWorkedDownToHalf() async throws {
        let signals = RoomSignals()
        let topics = InMemoryTopics()
        let partition = TopicPartition(topic: "in", partition: 0)
        let task = try task(buffer: 8, signals: signals, topics: topics)
        try await task.initialize()
        #expect(await task.room(for: partition) == 8)

        await task.enqueue(records(0..<3))
        #expect(await task.room(for: partition) >= 5)
        await task.enqueue(records(3..<20))
        #expect(await task.room(for: partition) == 0)
        #expect(await task.fullPartitions == [partition])
        await task.drain(hold: false)
        #expect(signals.count.load(ordering: .relaxed) == 1)
        #expect(await task.fullPartitions.isEmpty)
        #expect(await task.room(for: partition) == 8)
        #expect(topics.records("out", from: 0).count == 20)

        // Below the bound the partition never counts as full, and no signal is needed.
        await task.enqueue(records(20..<24))
        await task.drain(hold: false)
        #expect(signals.count.load(ordering: .relaxed) == 1)
        _ = await task.close(clean: true)
    }
}
