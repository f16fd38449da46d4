import Metrics

/// Configuration of a ``KafkaProducer``.
///
/// The defaults give an idempotent, LZ4-compressing producer that picks partitions like the Java client.
/// Any librdkafka property can be set through ``additionalProperties``; an unknown or invalid one makes
/// the producer's initializer throw an error that names it.
public struct KafkaProducerConfiguration: Sendable {
    /// `host:port` addresses of one or more brokers to start from.
    public var bootstrapServers: [String]
    /// Default: `"streamkit"`.
    public var clientID: String = "streamkit"
    /// Exactly-once delivery per partition, no reordering on retries. Default: `true`.
    public var idempotent: Bool = true
    /// Default: ``KafkaCompression/lz4``.
    public var compression: KafkaCompression = .lz4
    /// Default: ``KafkaPartitioner/murmur2Random`` (same partition as the Java client for the same key).
    public var partitioner: KafkaPartitioner = .murmur2Random
    /// Default: ``KafkaAcks/all`` (required for idempotence).
    public var acks: KafkaAcks = .all
    /// How long to wait for more records before sending a batch. Default: 5 ms.
    public var linger: Duration = .milliseconds(5)
    /// How long a record may take from `send` to acknowledgement, retries included; after it `send`
    /// throws. This bounds every wait on an unreachable broker. Default: 30 s.
    public var deliveryTimeout: Duration = .seconds(30)
    /// The largest record the producer accepts (librdkafka's `message.max.bytes`). Default: librdkafka's (1 MB).
    public var maxMessageBytes: Int?
    /// How many records may wait in the local queue; `send` waits for room when it is full. Default: 100,000.
    public var maxQueuedMessages: Int = 100_000
    /// Makes the producer transactional. Default: `nil`.
    public var transactionalID: String?
    /// Default: 60 s.
    public var transactionTimeout: Duration = .seconds(60)
    /// Disable Nagle's algorithm on broker connections: lower latency for small batches. Default: `true`.
    public var noDelay: Bool = true
    /// How often librdkafka's statistics are exported to swift-metrics; `nil` turns them off. Default: `nil`.
    public var statisticsInterval: Duration?
    /// Where statistics go; `nil` means the process-wide `MetricsSystem.factory`. Default: `nil`.
    public var metricsFactory: (any MetricsFactory)?
    /// Any further librdkafka property, applied last.
    public var additionalProperties: [String: String] = [:]

    public init(bootstrapServers: [String]) {
        self.bootstrapServers = bootstrapServers
    }

    /// Settings that suit a local single-node broker (Tansu or the mock cluster): send batches at once.
    public mutating func useLocalBrokerDefaults() {
        linger = .milliseconds(1)
    }

    var properties: KafkaProperties {
        var p = KafkaProperties()
        p.set("bootstrap.servers", bootstrapServers.joined(separator: ","))
        p.set("client.id", clientID)
        p.set("enable.idempotence", idempotent)
        p.set("compression.codec", compression.rawValue)
        p.set("partitioner", partitioner.rawValue)
        p.set("acks", acks.rawValue)
        p.set("linger.ms", linger)
        p.set("message.timeout.ms", deliveryTimeout)
        if let maxMessageBytes { p.set("message.max.bytes", maxMessageBytes) }
        p.set("queue.buffering.max.messages", maxQueuedMessages)
        if let transactionalID {
            p.set("transactional.id", transactionalID)
            p.set("transaction.timeout.ms", transactionTimeout)
        }
        p.set("socket.nagle.disable", noDelay)
        if let statisticsInterval { p.set("statistics.interval.ms", statisticsInterval) }
        p.merge(additionalProperties)
        return p
    }
}
