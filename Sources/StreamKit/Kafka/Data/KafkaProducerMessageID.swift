/// Identifies a record queued with ``KafkaProducer/enqueue(_:)`` in the producer's delivery handler: ids grow in
/// the order records were queued.
public struct KafkaProducerMessageID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public var description: String { "\(rawValue)" }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The id as librdkafka carries it in a message's opaque pointer: odd, so that it is never mistaken for the
    /// (aligned, even) address of a per-record completion.
    var tag: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: UInt(truncatingIfNeeded: rawValue) << 1 | 1)! }

    /// The id a message's opaque pointer carries, or `nil` when it is a completion's address.
    init?(tag: UnsafeMutableRawPointer) {
        let bits = UInt(bitPattern: tag)
        guard bits & 1 == 1 else { return nil }
        rawValue = UInt64(bits >> 1)
    }
}

/// Receives the outcome of each record queued with ``KafkaProducer/enqueue(_:)``.
public typealias KafkaDeliveryHandler = @Sendable (KafkaProducerMessageID, Result<KafkaDeliveryReport, KafkaError>) -> Void
