/// Where a task's sinks write: Kafka through a producer, or the test driver's in-memory topics.
package protocol RecordCollector: AnyObject, Sendable {
    /// Hands a record over for sending; delivery failures surface at ``flush()``. `delivered` learns the
    /// offset the record was stored at (changelogs checkpoint with it).
    func send(_ record: KafkaProducerRecord, from source: RecordMetadata?, delivered: (@Sendable (Int64) -> Void)?) async throws
    /// Waits until everything sent so far is delivered, and reports the records that failed.
    func flush() async throws -> [FailedDelivery]
}

/// A record the broker refused, with the input it came from.
package struct FailedDelivery: Sendable {
    package var record: KafkaProducerRecord
    package var source: RecordMetadata?
    package var error: KafkaError
}

extension RecordCollector {
    package func send(_ record: KafkaProducerRecord, from source: RecordMetadata?) async throws {
        try await send(record, from: source, delivered: nil)
    }
}
