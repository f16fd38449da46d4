import CRdKafka
import Logging
import Metrics
import Synchronization

/// Consumes records from Kafka, as a member of a consumer group or from manually assigned partitions.
///
/// Offsets are committed only when the caller says so. ``poll(maxRecords:timeout:)`` returns batches;
/// it runs librdkafka's blocking poll on a thread of its own, never on the cooperative pool. Group rebalances
/// are reported to a ``KafkaRebalanceListener`` that can finish work before partitions are revoked.
///
/// Call ``close()`` when done: it leaves the group cleanly (revoking partitions through the listener first).
public final class KafkaConsumer: Sendable {
    /// A special offset for ``assign(_:)`` and ``seek(_:)``: the first record still stored.
    public static let beginning: Int64 = -2
    /// A special offset for ``assign(_:)`` and ``seek(_:)``: the next record to be appended.
    public static let end: Int64 = -1
    /// A special offset for ``assign(_:)``: the group's committed offset (or the reset policy).
    public static let committed: Int64 = -1000

    private let client: RDKafkaClient
    private let configuration: KafkaConsumerConfiguration
    private let pollExecutor: BlockingExecutor
    private let logger: Logger
    private let closed = Atomic<Bool>(false)
    private let partitionQueues = RDKafkaPartitionQueues()
    private let paused = PausedPartitions()
    private let revoked = RevokedPartitions()

    /// - Throws: ``KafkaError/Code/invalidConfiguration`` naming the property librdkafka rejects.
    public init(
        configuration: KafkaConsumerConfiguration,
        rebalanceListener: (any KafkaRebalanceListener)? = nil,
        logger: Logger
    ) throws {
        var logger = logger
        if let group = configuration.groupID { logger[metadataKey: "kafka.group.id"] = "\(group)" }
        let queues = configuration.separatePartitionQueues ? partitionQueues : nil
        self.client = try RDKafkaClient(
            kind: .consumer,
            properties: configuration.properties,
            logger: logger,
            statistics: configuration.statisticsInterval.map { _ in configuration.metricsFactory ?? MetricsSystem.factory },
            rebalanceHandler: KafkaConsumerRebalancer(
                listener: rebalanceListener,
                partitionQueues: queues,
                paused: paused,
                revoked: revoked,
                configuredCooperative: (configuration.additionalProperties["partition.assignment.strategy"] ?? configuration.assignmentStrategy.rawValue)
                    .contains("cooperative"),
                logger: logger
            )
        )
        self.configuration = configuration
        self.logger = logger
        self.pollExecutor = BlockingExecutor(label: "streamkit.kafka.consumer.poll", serial: true)
        if let queues { try client.withHandle { queues.watchConsumerQueue($0) } }
    }

    deinit {
        partitionQueues.closeAll()
    }

    // MARK: Membership and assignment

    /// Joins the consumer group and subscribes to `topics`; partitions arrive through rebalances.
    ///
    /// - Throws: ``KafkaError/Code/brokerUnreachable`` when no broker answers within
    ///   ``KafkaConsumerConfiguration/connectTimeout``.
    public func subscribe(topics: [String]) async throws {
        try client.checkUsable("consumer")
        guard configuration.groupID != nil else {
            throw KafkaError(code: .invalidConfiguration, message: "subscribe needs a group id", property: "group.id")
        }
        try await client.ensureReachable(timeout: configuration.connectTimeout)
        let list = RDKafkaTopicPartitionList(capacity: topics.count)
        for topic in topics { list.add(TopicPartition(topic: topic, partition: -1)) }
        let err = try client.withHandle { rd_kafka_subscribe($0, list.pointer) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.rdKafka(err, context: "subscribe to \(topics)") }
    }

    /// Ends the subscription: the partitions held are revoked (through the rebalance listener) and no more
    /// are assigned until the next ``subscribe(topics:)``.
    public func unsubscribe() throws {
        try client.checkUsable("consumer")
        let err = try client.withHandle { rd_kafka_unsubscribe($0) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.rdKafka(err, context: "unsubscribe") }
    }

    /// Consumes exactly these partitions, starting at the given offsets (or ``beginning``, ``end``,
    /// ``committed``), outside any group rebalancing.
    public func assign(_ partitions: [TopicPartitionOffset]) async throws {
        try client.checkUsable("consumer")
        try await client.ensureReachable(timeout: configuration.connectTimeout)
        if configuration.separatePartitionQueues {
            try client.withHandle { partitionQueues.open($0, partitions.map(\.topicPartition)) }
        }
        let list = RDKafkaTopicPartitionList(partitions)
        let err = try client.withHandle { rd_kafka_assign($0, list.pointer) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.rdKafka(err, context: "assign") }
    }

    /// Adds `partitions` to those consumed, starting at the given offsets, and leaves the others reading where
    /// they are, outside any group rebalancing.
    ///
    /// Prefer this to a repeated ``assign(_:)`` with a growing list: each `assign` stops every partition and
    /// starts them again, and librdkafka (up to 2.15) aborts when a partition still stopping from one
    /// `assign` is removed again by the next (confluentinc/librdkafka#5573).
    public func addAssignment(_ partitions: [TopicPartitionOffset]) async throws {
        try client.checkUsable("consumer")
        guard !partitions.isEmpty else { return }
        try await client.ensureReachable(timeout: configuration.connectTimeout)
        if configuration.separatePartitionQueues {
            try client.withHandle { partitionQueues.open($0, partitions.map(\.topicPartition)) }
        }
        let list = RDKafkaTopicPartitionList(partitions)
        if let error = try client.withHandle({ rd_kafka_incremental_assign($0, list.pointer) }) {
            throw KafkaError.consuming(error)
        }
    }

    /// The partitions currently assigned to this consumer.
    public func assignment() throws -> [TopicPartition] {
        try client.checkUsable("consumer")
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let err = try client.withHandle { rd_kafka_assignment($0, &list) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { throw KafkaError.rdKafka(err, context: "assignment") }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return RDKafkaTopicPartitionList(borrowing: list).partitions
    }

    /// This member's group metadata, for ``KafkaProducer/sendOffsetsToTransaction(_:groupMetadata:timeout:)``.
    public func groupMetadata() throws -> KafkaConsumerGroupMetadata {
        try client.checkUsable("consumer")
        guard let pointer = try client.withHandle({ rd_kafka_consumer_group_metadata($0) }) else {
            throw KafkaError(code: .consumer, message: "consumer has no group metadata (no group id?)")
        }
        return KafkaConsumerGroupMetadata(pointer: pointer)
    }

    // MARK: Consumption

    /// Waits up to `timeout` for records and returns up to `maxRecords` of them (possibly none).
    ///
    /// Rebalance callbacks run inside this call; records of partitions revoked by one are not returned, even
    /// when they were fetched before it. Calls must not overlap.
    /// - Throws: a fatal consumer error, or ``KafkaError/Code/closed``.
    public func poll(maxRecords: Int = 1000, timeout: Duration = .milliseconds(100)) async throws -> [KafkaConsumerRecord] {
        let client = self.client
        let logger = self.logger
        let timeoutMs = Int32(clamping: timeout.milliseconds)
        return try await pollExecutor.run { () throws -> [KafkaConsumerRecord] in
            // Checked on the poll queue, which also runs close(): a poll queued behind close sees it.
            if self.closed.load(ordering: .acquiring) { throw KafkaError.closed("consumer") }
            try client.checkUsable("consumer")
            return try client.withHandle { handle throws in
                var records: [KafkaConsumerRecord] = []
                records.reserveCapacity(min(maxRecords, 4096))
                var topicNames = TopicNameCache()
                var wait = timeoutMs
                let revoked = self.revoked
                _ = revoked.take()
                while records.count < maxRecords, let message = rd_kafka_consumer_poll(handle, wait) {
                    wait = 0
                    defer { rd_kafka_message_destroy(message) }
                    // A message returned after a revocation is of the new assignment; those before may not be.
                    revoked.dropRevoked(from: &records)
                    let err = message.pointee.err
                    if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                        records.append(makeRecord(message, topicNames: &topicNames))
                    } else if err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                        continue
                    } else {
                        let error = KafkaError.rdKafka(err, context: "consume")
                        if err == RD_KAFKA_RESP_ERR__FATAL || client.context.fatalError != nil {
                            throw client.context.fatalError ?? error
                        }
                        logger.warning("consumer error", metadata: ["error": "\(error)"])
                    }
                }
                revoked.dropRevoked(from: &records)
                return records
            }
        }
    }

    /// Takes up to `maxRecords` records waiting in `partition`'s own queue, without waiting; needs
    /// ``KafkaConsumerConfiguration/separatePartitionQueues``. Returns none for a partition not assigned.
    ///
    /// ``arrivals`` is signalled when records arrive in an empty queue. Calls for one partition must not overlap.
    /// - Throws: the consumer's fatal error, or ``KafkaError/Code/closed``.
    public func poll(_ partition: TopicPartition, maxRecords: Int) throws -> [KafkaConsumerRecord] {
        try client.checkUsable("consumer")
        var records: [KafkaConsumerRecord] = []
        var topicNames = TopicNameCache()
        let logger = self.logger
        partitionQueues.read(partition, maxRecords: maxRecords) { message in
            let err = message.pointee.err
            if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                records.append(makeRecord(message, topicNames: &topicNames))
            } else if err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                logger.warning("consumer error", metadata: ["partition": "\(partition)", "error": "\(KafkaError.rdKafka(err, context: "consume"))"])
            }
        }
        return records
    }

    /// Signalled when records arrive in an empty partition queue or events in the consumer's queue (with
    /// ``KafkaConsumerConfiguration/separatePartitionQueues``), so that a loop can wait for either at once.
    public var arrivals: Wakeup { client.context.arrivals }

    /// Stops fetching from `partitions` until ``resume(_:)``; the consumer stays in its group. A pause lasts as
    /// long as the assignment, as in Kafka's Java consumer: partitions revoked and assigned again are fetched.
    public func pause(_ partitions: [TopicPartition]) throws {
        try setFetching(partitions, "pause", rd_kafka_pause_partitions)
        paused.paused(partitions)
    }

    /// Resumes fetching from paused `partitions`.
    public func resume(_ partitions: [TopicPartition]) throws {
        try setFetching(partitions, "resume", rd_kafka_resume_partitions)
        paused.resumed(partitions)
    }

    private func setFetching(
        _ partitions: [TopicPartition],
        _ what: String,
        _ call: (OpaquePointer?, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> rd_kafka_resp_err_t
    ) throws {
        try client.checkUsable("consumer")
        let list = RDKafkaTopicPartitionList(partitions)
        let err = try client.withHandle { call($0, list.pointer) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.rdKafka(err, context: what) }
        _ = try list.offsets(context: what)
    }

    // MARK: Offsets

    /// Commits `offsets` (each the next offset to read) for the group and waits for the broker's answer.
    public func commit(_ offsets: [TopicPartitionOffset]) async throws {
        try client.checkUsable("consumer")
        guard !offsets.isEmpty else { return }
        let client = self.client
        try await client.blocking.run { () throws in
            let list = RDKafkaTopicPartitionList(offsets)
            let err = try client.withHandle { rd_kafka_commit($0, list.pointer, 0) }
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.rdKafka(err, context: "commit \(offsets)") }
            _ = try list.offsets(context: "commit")
        }
    }

    /// Starts committing `offsets` and returns at once; a failure is logged.
    public func commitAsync(_ offsets: [TopicPartitionOffset]) throws {
        try client.checkUsable("consumer")
        guard !offsets.isEmpty else { return }
        let list = RDKafkaTopicPartitionList(offsets)
        let err = try client.withHandle { rd_kafka_commit($0, list.pointer, 1) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.rdKafka(err, context: "commit") }
    }

    /// The group's committed offsets for `partitions` (``KafkaConsumer/committed`` marks a partition with none).
    public func committed(_ partitions: [TopicPartition]) async throws -> [TopicPartitionOffset] {
        try client.checkUsable("consumer")
        let client = self.client
        let timeoutMs = Int32(clamping: configuration.requestTimeout.milliseconds)
        return try await client.blocking.run { () throws in
            let list = RDKafkaTopicPartitionList(partitions)
            let err = try client.withHandle { rd_kafka_committed($0, list.pointer, timeoutMs) }
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.rdKafka(err, context: "committed") }
            return try list.offsets(context: "committed")
        }
    }

    /// The offsets of the next records this consumer will return for `partitions`
    /// (``KafkaConsumer/committed`` where nothing was consumed yet).
    public func position(_ partitions: [TopicPartition]) throws -> [TopicPartitionOffset] {
        try client.checkUsable("consumer")
        let list = RDKafkaTopicPartitionList(partitions)
        let err = try client.withHandle { rd_kafka_position($0, list.pointer) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.rdKafka(err, context: "position") }
        return try list.offsets(context: "position")
    }

    /// Moves the fetch positions of assigned partitions.
    public func seek(_ offsets: [TopicPartitionOffset]) async throws {
        try client.checkUsable("consumer")
        let client = self.client
        let timeoutMs = Int32(clamping: configuration.requestTimeout.milliseconds)
        try await client.blocking.run { () throws in
            let list = RDKafkaTopicPartitionList(offsets)
            if let error = try client.withHandle({ rd_kafka_seek_partitions($0, list.pointer, timeoutMs) }) {
                throw KafkaError.consuming(error, context: "seek")
            }
            _ = try list.offsets(context: "seek")
        }
    }

    /// The low and high watermarks of a partition, asked of the broker.
    ///
    /// - Throws: the partition's error, or ``KafkaError/Code/brokerUnreachable`` after
    ///   ``KafkaConsumerConfiguration/requestTimeout``.
    public func watermarks(_ partition: TopicPartition) async throws -> KafkaWatermarks {
        try await watermarks([partition])[partition] ?? KafkaWatermarks(low: 0, high: 0)
    }

    /// The low and high watermarks of each partition, from two requests to each leader.
    public func watermarks(_ partitions: [TopicPartition]) async throws -> [TopicPartition: KafkaWatermarks] {
        try client.checkUsable("consumer")
        async let lows = client.listOffsets(partitions, .earliest, timeout: configuration.requestTimeout)
        let highs = try await client.listOffsets(partitions, .latest, timeout: configuration.requestTimeout)
        let low = try await lows
        return Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaWatermarks(low: low[$0] ?? 0, high: highs[$0] ?? 0)) })
    }

    /// The high watermark of each partition (the offset its next record gets), from one request to each leader.
    public func endOffsets(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
        try client.checkUsable("consumer")
        return try await client.listOffsets(partitions, .latest, timeout: configuration.requestTimeout)
    }

    /// How many records each partition holds beyond this consumer's position (or, before the first record,
    /// beyond the committed offset; the whole partition when there is neither).
    public func lag(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
        let positions = try position(partitions)
        var needCommitted: [TopicPartition] = []
        var start: [TopicPartition: Int64] = [:]
        for position in positions {
            if position.offset >= 0 { start[position.topicPartition] = position.offset }
            else { needCommitted.append(position.topicPartition) }
        }
        if !needCommitted.isEmpty {
            for offset in try await committed(needCommitted) where offset.offset >= 0 {
                start[offset.topicPartition] = offset.offset
            }
        }
        var result: [TopicPartition: Int64] = [:]
        for (partition, marks) in try await watermarks(partitions) {
            result[partition] = max(0, marks.high - (start[partition] ?? marks.low))
        }
        return result
    }

    // MARK: Closing

    /// Leaves the group (revoking partitions through the rebalance listener) and releases the native handle.
    /// Safe to call more than once.
    public func close() async {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let client = self.client
        let logger = self.logger
        let queues = partitionQueues
        await pollExecutor.run {
            let err = (try? client.withHandle { rd_kafka_consumer_close($0) }) ?? RD_KAFKA_RESP_ERR_NO_ERROR
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                logger.warning("consumer close", metadata: ["error": "\(String(cString: rd_kafka_err2str(err)))"])
            }
            queues.closeAll()
        }
        await client.destroy()
    }
}

/// Topic names by topic handle, so that a batch does not build the same `String` for every record.
struct TopicNameCache {
    private var last: (handle: OpaquePointer, name: String)?

    mutating func name(_ handle: OpaquePointer) -> String {
        if let last, last.handle == handle { return last.name }
        let name = String(cString: rd_kafka_topic_name(handle))
        last = (handle, name)
        return name
    }
}

func makeRecord(_ message: UnsafeMutablePointer<rd_kafka_message_t>, topicNames: inout TopicNameCache) -> KafkaConsumerRecord {
    let m = message.pointee
    var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
    let timestamp = rd_kafka_message_timestamp(message, &timestampType)
    var headers: [KafkaHeader] = []
    var headerList: OpaquePointer?
    if rd_kafka_message_headers(message, &headerList) == RD_KAFKA_RESP_ERR_NO_ERROR, let headerList {
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(headerList, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
            headers.append(KafkaHeader(key: name.map { String(cString: $0) } ?? "", value: bytes))
            index += 1
        }
    }
    return KafkaConsumerRecord(
        topic: m.rkt.map { topicNames.name($0) } ?? "",
        partition: m.partition,
        offset: m.offset,
        key: m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) },
        value: m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) },
        headers: headers,
        timestamp: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? 0 : timestamp,
        timestampType: timestampType == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME
            ? .logAppendTime : (timestampType == RD_KAFKA_TIMESTAMP_CREATE_TIME ? .createTime : .none)
    )
}
