import Metrics

/// Configuration of a ``KafkaConsumer``.
///
/// Offsets are committed only when the caller says so (no auto-commit), which is what a stream processor
/// needs to commit below its oldest unfinished record. Any librdkafka property can be set through
/// ``additionalProperties``; an unknown or invalid one makes the consumer's initializer throw an error
/// that names it.
public struct KafkaConsumerConfiguration: Sendable {
    /// `host:port` addresses of one or more brokers to start from.
    public var bootstrapServers: [String]
    /// The consumer group; required for ``KafkaConsumer/subscribe(topics:)`` and for commits. Default: `nil`
    /// (manual assignment only).
    public var groupID: String?
    /// Default: `"streamkit"`.
    public var clientID: String = "streamkit"
    /// Default: ``KafkaIsolationLevel/readCommitted``.
    public var isolationLevel: KafkaIsolationLevel = .readCommitted
    /// Default: ``KafkaAutoOffsetReset/earliest``.
    public var autoOffsetReset: KafkaAutoOffsetReset = .earliest
    /// Default: ``KafkaAssignmentStrategy/cooperativeSticky``.
    public var assignmentStrategy: KafkaAssignmentStrategy = .cooperativeSticky
    /// A member that sends no heartbeat for this long leaves the group. Default: 45 s.
    public var sessionTimeout: Duration = .seconds(45)
    /// Default: 3 s.
    public var heartbeatInterval: Duration = .seconds(3)
    /// A member that does not poll for this long leaves the group. Default: 5 min.
    public var maxPollInterval: Duration = .seconds(300)
    /// The longest a broker holds a fetch request waiting for data. Default: 500 ms (use ~10 ms locally:
    /// Tansu holds every fetch for the full time).
    public var fetchWaitMax: Duration = .milliseconds(500)
    /// How many records per partition librdkafka tries to keep fetched ahead of ``KafkaConsumer/poll(maxRecords:timeout:)``
    /// (`queued.min.messages`). Default: 100,000.
    public var prefetchedRecordsPerPartition: Int = 100_000
    /// How long fetching a partition waits once its prefetched records exceed that bound
    /// (`fetch.queue.backoff.ms`). The default, 1 s, stalls a partition that is paused with a full prefetch and
    /// resumed soon after; a consumer that pauses for backpressure wants a few milliseconds. Default: 1 s.
    public var prefetchBackoff: Duration = .seconds(1)
    /// Gives every assigned partition a queue of its own, read with ``KafkaConsumer/poll(_:maxRecords:)``, so
    /// that a caller takes a partition's records only when it has room for them: a partition left unread stops
    /// being fetched once ``prefetchedRecordsPerPartition`` records wait, and the others go on. ``KafkaConsumer/poll(maxRecords:timeout:)``
    /// then serves rebalances and errors (and records of partitions that arrived before their queue). Default: `false`.
    public var separatePartitionQueues: Bool = false
    /// How long ``KafkaConsumer/subscribe(topics:)`` and ``KafkaConsumer/assign(_:)`` wait for a broker to
    /// answer before they throw ``KafkaError/Code/brokerUnreachable``. Default: 30 s.
    public var connectTimeout: Duration = .seconds(30)
    /// The timeout of blocking calls such as `committed`, `seek` and watermark queries. Default: 30 s.
    public var requestTimeout: Duration = .seconds(30)
    /// Disable Nagle's algorithm on broker connections. Default: `true`.
    public var noDelay: Bool = true
    /// How often librdkafka's statistics are exported to swift-metrics; `nil` turns them off. Default: `nil`.
    public var statisticsInterval: Duration?
    /// Where statistics go; `nil` means the process-wide `MetricsSystem.factory`. Default: `nil`.
    public var metricsFactory: (any MetricsFactory)?
    /// Any further librdkafka property, applied last.
    public var additionalProperties: [String: String] = [:]

    public init(bootstrapServers: [String], groupID: String? = nil) {
        self.bootstrapServers = bootstrapServers
        self.groupID = groupID
    }

    /// Settings that suit a local single-node broker (Tansu or the mock cluster): short fetch waits and a
    /// short session so that group joins and failovers take about a second. Tansu holds a join for half the
    /// session timeout, in steps of one second: a 6 s session made every join take 3 s, 2 s makes it 1 s. A
    /// librdkafka mock cluster must then have a group initial rebalance delay below 2 s (its default is 3 s, which
    /// a first join waits out without heartbeats); `scripts/broker --kind mock` sets it to 0.
    public mutating func useLocalBrokerDefaults() {
        fetchWaitMax = .milliseconds(10)
        sessionTimeout = .seconds(2)
        heartbeatInterval = .milliseconds(500)
        connectTimeout = .seconds(10)
        requestTimeout = .seconds(10)
    }

    var properties: KafkaProperties {
        var p = KafkaProperties()
        p.set("bootstrap.servers", bootstrapServers.joined(separator: ","))
        p.set("client.id", clientID)
        // librdkafka's consumer needs a group id even for manual assignment; such a consumer never commits.
        p.set("group.id", groupID ?? "streamkit-unassigned-\(UInt64.random(in: 0...UInt64.max))")
        p.set("isolation.level", isolationLevel.rawValue)
        p.set("auto.offset.reset", autoOffsetReset.rawValue)
        p.set("partition.assignment.strategy", assignmentStrategy.rawValue)
        p.set("enable.auto.commit", false)
        p.set("enable.auto.offset.store", false)
        p.set("enable.partition.eof", false)
        p.set("session.timeout.ms", sessionTimeout)
        p.set("heartbeat.interval.ms", heartbeatInterval)
        p.set("max.poll.interval.ms", maxPollInterval)
        p.set("fetch.wait.max.ms", fetchWaitMax)
        p.set("queued.min.messages", prefetchedRecordsPerPartition)
        p.set("fetch.queue.backoff.ms", prefetchBackoff)
        p.set("socket.nagle.disable", noDelay)
        if let statisticsInterval { p.set("statistics.interval.ms", statisticsInterval) }
        p.merge(additionalProperties)
        return p
    }
}
