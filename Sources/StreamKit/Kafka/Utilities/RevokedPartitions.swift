import Synchronization

/// The partitions revoked or lost since a poll last looked, shared by the rebalance callback and the poll it runs
/// in: records of those partitions that the poll collected before the callback are dropped, as Kafka's Java
/// consumer drops the records it buffered for partitions it no longer owns. Returned after the callback, they
/// would be handled by a member that committed and handed the partition over — twice, beside the new owner.
final class RevokedPartitions: Sendable {
    private let revoked = Mutex<Set<TopicPartition>>([])
    /// Whether ``revoked`` holds any: what the poll checks for each record, without taking the lock.
    private let pending = Atomic<Bool>(false)

    func revoked(_ partitions: [TopicPartition]) {
        revoked.withLock { $0.formUnion(partitions) }
        pending.store(true, ordering: .releasing)
    }

    /// The partitions revoked since the last call.
    func take() -> Set<TopicPartition> {
        guard pending.exchange(false, ordering: .acquiringAndReleasing) else { return [] }
        return revoked.withLock { revoked in
            defer { revoked = [] }
            return revoked
        }
    }

    /// Removes from `records`, collected before the revocations since the last call, those of revoked partitions.
    func dropRevoked(from records: inout [KafkaConsumerRecord]) {
        let revoked = take()
        guard !revoked.isEmpty, !records.isEmpty else { return }
        records.removeAll { revoked.contains($0.topicPartition) }
    }
}
