/// Settings shared by every Kafka configuration in StreamKit.
public enum KafkaIsolationLevel: String, Sendable {
    /// Read only records of committed transactions (and non-transactional records).
    case readCommitted = "read_committed"
    /// Read every record, including those of open or aborted transactions.
    case readUncommitted = "read_uncommitted"
}

/// Where a consumer starts in a partition that has no committed offset.
public enum KafkaAutoOffsetReset: String, Sendable {
    case earliest
    case latest
    /// Fail instead of choosing a position.
    case error
}

/// How a group's partitions are divided among its members.
public enum KafkaAssignmentStrategy: String, Sendable {
    /// Incremental (cooperative) rebalancing: members keep the partitions they still own during a rebalance.
    case cooperativeSticky = "cooperative-sticky"
    /// Eager rebalancing, contiguous ranges per topic.
    case range
    /// Eager rebalancing, round robin over all partitions.
    case roundRobin = "roundrobin"
}

/// Compression of produced record batches.
public enum KafkaCompression: String, Sendable {
    case none
    case lz4
    case zstd
    case gzip
    case snappy
}

/// How a producer picks the partition of a record with no explicit partition.
public enum KafkaPartitioner: String, Sendable {
    /// murmur2 of the key, like the Java client (same key, same partition); random for records without a key.
    case murmur2Random = "murmur2_random"
    /// murmur2 of the key, records without a key all go to one partition.
    case murmur2
    /// CRC32 of the key, librdkafka's historical default; random for records without a key.
    case consistentRandom = "consistent_random"
}

/// How many replicas must acknowledge a write.
public enum KafkaAcks: String, Sendable {
    case none = "0"
    case leader = "1"
    case all = "all"
}

extension Duration {
    /// The duration in whole milliseconds (rounded down), as librdkafka's `*.ms` properties want it.
    public var milliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }

    /// The duration in whole nanoseconds (rounded down), for metrics timers and NIO's time amounts.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// Properties that a configuration turns into librdkafka settings, in order; later entries win.
typealias KafkaProperties = [(key: String, value: String)]

extension KafkaProperties {
    mutating func set(_ key: String, _ value: String) { append((key, value)) }
    mutating func set(_ key: String, _ value: Int) { append((key, String(value))) }
    mutating func set(_ key: String, _ value: Bool) { append((key, value ? "true" : "false")) }
    mutating func set(_ key: String, _ value: Duration) { append((key, String(value.milliseconds))) }

    mutating func merge(_ additional: [String: String]) {
        for key in additional.keys.sorted() { append((key, additional[key]!)) }
    }
}
