/// Reads a changelog partition from an offset to its end, for restoration. The runtime's implementation reads
/// Kafka with a consumer of its own; the test driver has nothing to restore.
package protocol ChangelogReader: AnyObject, Sendable {
    /// Calls `apply` with batches of records of `partition` from `offset` (or the beginning, when `nil`) until
    /// the end the partition had when reading began (passed along, for progress); returns the offset after the
    /// last one read.
    func read(
        _ partition: TopicPartition,
        from offset: Int64?,
        apply: (_ records: [KafkaConsumerRecord], _ end: Int64) throws -> Void
    ) async throws -> Int64
}
