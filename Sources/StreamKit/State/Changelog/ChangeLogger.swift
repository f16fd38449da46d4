import Synchronization

/// Sends a store's changes to its changelog partition (the task's partition) through the task's record
/// collector, so that under exactly-once they are part of the task's transaction.
package final class ChangeLogger {
    package let topic: String
    package let partition: Int32
    private let collector: any RecordCollector
    private let timestamp: () -> Int64
    private let delivered = DeliveredOffset()

    package init(topic: String, partition: Int32, collector: any RecordCollector, timestamp: @escaping () -> Int64) {
        self.topic = topic
        self.partition = partition
        self.collector = collector
        self.timestamp = timestamp
    }

    package var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }

    /// Logs a write (a value) or a deletion (`nil`, a tombstone that compaction removes with the key).
    package func log(key: [UInt8], value: [UInt8]?) async throws {
        let time = timestamp()
        let record = KafkaProducerRecord(topic: topic, partition: partition, key: key, value: value, timestamp: time > 0 ? time : nil)
        try await collector.send(record, from: nil) { [delivered] offset in delivered.advance(to: offset) }
    }

    /// The offset after the last change delivered, or `nil` before the first: where a restoration continues
    /// once everything sent is delivered.
    package var checkpointOffset: Int64? {
        let last = delivered.value.load(ordering: .acquiring)
        return last >= 0 ? last + 1 : nil
    }
}

/// The highest offset delivered so far; advanced from the producer's delivery callbacks.
private final class DeliveredOffset: Sendable {
    let value = Atomic<Int64>(-1)

    func advance(to offset: Int64) {
        var current = value.load(ordering: .relaxed)
        while offset > current {
            let (exchanged, original) = value.compareExchange(expected: current, desired: offset, ordering: .acquiringAndReleasing)
            if exchanged { return }
            current = original
        }
    }
}
