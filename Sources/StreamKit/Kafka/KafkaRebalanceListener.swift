/// Hears about a consumer group's rebalances, and may finish work before a revocation completes.
///
/// The consumer calls these methods from its poll thread and does not apply a revocation until
/// ``partitionsRevoked(_:)`` has returned: that is the place to finish in-flight records, flush producers and
/// commit offsets, so that the next owner of a partition starts exactly where this one stopped.
/// With cooperative rebalancing only the partitions that move are revoked; the others keep running.
///
/// - Important: Do not call ``KafkaConsumer/poll(maxRecords:timeout:)`` from these methods; every other
///   consumer method (commit, pause, seek, …) may be called.
public protocol KafkaRebalanceListener: Sendable {
    /// Partitions newly assigned to this member; fetching starts from their committed offsets.
    func partitionsAssigned(_ partitions: [TopicPartition]) async
    /// Partitions about to be taken away; they remain assigned until this method returns.
    func partitionsRevoked(_ partitions: [TopicPartition]) async
    /// Partitions already owned by another member (this member was too slow or lost its session): committing
    /// their offsets is no longer possible. By default treated like a revocation.
    func partitionsLost(_ partitions: [TopicPartition]) async
}

extension KafkaRebalanceListener {
    public func partitionsLost(_ partitions: [TopicPartition]) async {
        await partitionsRevoked(partitions)
    }
}
