import Synchronization

/// The partitions the application paused, so that a pause lasts as long as the assignment, as in Kafka's Java
/// consumer: librdkafka alone keeps it across a revocation and the next assignment of the same partition.
final class PausedPartitions: Sendable {
    private let paused = Mutex<Set<TopicPartition>>([])

    func paused(_ partitions: [TopicPartition]) { paused.withLock { $0.formUnion(partitions) } }

    func resumed(_ partitions: [TopicPartition]) { paused.withLock { $0.subtract(partitions) } }

    /// Those of `partitions` paused, no longer counted as paused.
    func take(_ partitions: [TopicPartition]) -> [TopicPartition] {
        paused.withLock { paused in
            let taken = partitions.filter { paused.contains($0) }
            paused.subtract(taken)
            return taken
        }
    }
}
