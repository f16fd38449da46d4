/// Reads a changelog partition from an offset to its end, for restoration. The runtime's implementation reads
/// Kafka with a consumer of its own; the test driver has nothing to restore.
package protocol ChangelogReader: AnyObject, Sendable {
    /// Calls `apply` with batches of records of `partition` from `offset` (or the beginning, when `nil`) until
    /// the end the partition had when reading began (passed along, for progress); returns the offset after the
    /// last one read.
    ///
    /// - Throws: ``ChangelogOffsetOutOfRange`` (before applying anything) when `offset` lies outside the
    ///   partition's records.
    func read(
        _ partition: TopicPartition,
        from offset: Int64?,
        apply: (_ records: [KafkaConsumerRecord], _ end: Int64) throws -> Void
    ) async throws -> Int64
}

/// A restoration was asked to start where the changelog partition has no records: beyond its end (a checkpoint
/// of a deleted and re-created topic, or written by mistake) or before its first record (records deleted since).
/// The store cannot be trusted to match the changelog; it is wiped and restored from the beginning.
package struct ChangelogOffsetOutOfRange: Error, CustomStringConvertible {
    package var partition: TopicPartition
    package var offset: Int64
    package var first: Int64
    package var end: Int64

    /// Throws when `offset` is outside `first...end` (`end` is the offset after the last record).
    package static func check(_ partition: TopicPartition, offset: Int64?, first: Int64, end: Int64) throws {
        guard let offset, offset < first || offset > end else { return }
        throw ChangelogOffsetOutOfRange(partition: partition, offset: offset, first: first, end: end)
    }

    package var description: String {
        "offset \(offset) is outside the records of \(partition) (\(first) to \(end))"
    }
}
