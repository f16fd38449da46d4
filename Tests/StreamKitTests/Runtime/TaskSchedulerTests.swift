import StreamKit
import Testing

@testable import StreamKit

@Suite struct TaskSchedulerTests {
    func record(_ key: String?, offset: Int64, partition: Int32 = 0) -> KafkaConsumerRecord {
        KafkaConsumerRecord(topic: "t", partition: partition, offset: offset, key: key.map { Array($0.utf8) }, value: nil, timestamp: 0)
    }

    @Test func oneRecordPerKeyAndABoundOnKeysInFlight() {
        var scheduler = TaskScheduler(maxInFlight: 2)
        for (offset, key) in ["a", "a", "b", "c"].enumerated() { scheduler.enqueue(record(key, offset: Int64(offset))) }
        let first = scheduler.start()!
        let second = scheduler.start()!
        #expect([first.record.offset, second.record.offset] == [0, 2])  // the second "a" waits for the first
        #expect(scheduler.start() == nil)  // bound reached
        scheduler.finish(first)
        let third = scheduler.start()!
        #expect(third.record.offset == 1)  // the next "a" is released first
        #expect(scheduler.start() == nil)
    }

    @Test func commitsOnlyBelowTheOldestUnfinishedRecord() {
        var scheduler = TaskScheduler(maxInFlight: 8)
        for offset in Int64(10)..<14 { scheduler.enqueue(record("k\(offset)", offset: offset)) }
        let items = (0..<4).map { _ in scheduler.start()! }
        #expect(scheduler.committableOffsets().map(\.offset) == [10])
        scheduler.finish(items[1])
        scheduler.finish(items[2])
        #expect(scheduler.committableOffsets().map(\.offset) == [10])
        scheduler.finish(items[0])
        #expect(scheduler.committableOffsets().map(\.offset) == [13])
        scheduler.markCommitted(scheduler.committableOffsets())
        #expect(scheduler.committableOffsets().isEmpty)
        scheduler.finish(items[3])
        #expect(scheduler.committableOffsets().map(\.offset) == [14])
    }

    /// Exactly-once commits every partition's offset, moved or not: a transaction in which only a punctuator
    /// wrote still commits offsets, and with them the member's generation that fences a zombie.
    @Test func unchangedOffsetsAreCommittableWhenAskedFor() {
        var scheduler = TaskScheduler(maxInFlight: 8)
        scheduler.enqueue(record("k", offset: 10))
        scheduler.finish(scheduler.start()!)
        let moved = scheduler.markCommitted(scheduler.committableOffsets())
        #expect(moved, "the first commit moves the offset")
        #expect(scheduler.committableOffsets().isEmpty)
        #expect(scheduler.committableOffsets(includingUnchanged: true).map(\.offset) == [11])
        let movedAgain = scheduler.markCommitted(scheduler.committableOffsets(includingUnchanged: true))
        #expect(!movedAgain, "committing it again is no progress")
    }

    @Test func nullKeysShareOneOrder() {
        var scheduler = TaskScheduler(maxInFlight: 4)
        scheduler.enqueue(record(nil, offset: 0))
        scheduler.enqueue(record(nil, offset: 1))
        #expect(scheduler.start()?.record.offset == 0)
        #expect(scheduler.start() == nil)
    }

    @Test func droppingAPartitionKeepsOtherKeysMoving() {
        var scheduler = TaskScheduler(maxInFlight: 4)
        scheduler.enqueue(record("a", offset: 0, partition: 0))
        scheduler.enqueue(record("a", offset: 0, partition: 1))
        scheduler.drop([TopicPartition(topic: "t", partition: 0)])
        #expect(scheduler.buffered == 1)
        #expect(scheduler.start()?.record.partition == 1)
    }
}
