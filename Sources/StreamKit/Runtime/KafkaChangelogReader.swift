import Logging

/// Reads changelog partitions for restoration with a consumer of its own, outside the application's group
/// (assigned one partition at a time, `read_committed`).
final class KafkaChangelogReader: ChangelogReader, Sendable {
    private let consumer: KafkaConsumer
    private let batchSize: Int
    /// How long reading may make no progress before restoration fails (an open transaction of a crashed
    /// instance holds `read_committed` readers until the transaction times out).
    private let stallTimeout: Duration

    init(configuration: StreamsConfiguration, logger: Logger) throws {
        var config = KafkaConsumerConfiguration(bootstrapServers: configuration.bootstrapServers, groupID: nil)
        config.clientID = "\(configuration.applicationID)-\(configuration.instanceID)-restore-consumer"
        config.isolationLevel = .readCommitted
        config.metricsFactory = configuration.metricsFactory
        configuration.consumer(&config)
        config.groupID = nil
        consumer = try KafkaConsumer(configuration: config, logger: logger)
        batchSize = configuration.restoreBatchSize
        stallTimeout = configuration.transactionTimeout * 3
    }

    func read(
        _ partition: TopicPartition,
        from offset: Int64?,
        apply: (_ records: [KafkaConsumerRecord], _ end: Int64) throws -> Void
    ) async throws -> Int64 {
        let marks = try await consumer.watermarks(partition)
        if let offset, offset > marks.high {
            // Tansu answers a partition's end as its last batch's first offset + 1: an offset past that end may
            // still lie inside the last batch, and then nothing follows it.
            guard try await holdsRecord(partition, at: offset - 1) else {
                throw ChangelogOffsetOutOfRange(partition: partition, offset: offset, first: marks.low, end: marks.high)
            }
            return offset
        }
        try ChangelogOffsetOutOfRange.check(partition, offset: offset, first: marks.low, end: marks.high)
        let start = max(offset ?? marks.low, marks.low)
        guard start < marks.high else { return start }
        try await consumer.assign([TopicPartitionOffset(partition, offset: start)])
        let position: Int64
        do {
            position = try await readAssigned(partition, from: start, to: marks.high, apply: apply)
        } catch {
            try? await consumer.assign([])
            throw error
        }
        try await consumer.assign([])
        return position
    }

    /// Whether `partition` has a record at `offset`: fetched from there, it returns that record (a fetch out of
    /// range starts again from the beginning, or returns nothing).
    private func holdsRecord(_ partition: TopicPartition, at offset: Int64) async throws -> Bool {
        try await consumer.assign([TopicPartitionOffset(partition, offset: offset)])
        var found: Bool?
        let deadline = ContinuousClock.now + .seconds(5)
        while found == nil, ContinuousClock.now < deadline {
            do {
                if let first = try await consumer.poll(maxRecords: 10, timeout: .milliseconds(100)).first { found = first.offset == offset }
            } catch {
                try? await consumer.assign([])
                throw error
            }
        }
        try await consumer.assign([])
        return found ?? false
    }

    private func readAssigned(
        _ partition: TopicPartition,
        from start: Int64,
        to end: Int64,
        apply: (_ records: [KafkaConsumerRecord], _ end: Int64) throws -> Void
    ) async throws -> Int64 {
        var position = start
        var lastProgress = ContinuousClock.now
        while position < end {
            let records = try await consumer.poll(maxRecords: batchSize, timeout: .milliseconds(100))
            if let last = records.last {
                try apply(records, end)
                position = last.offset + 1
                lastProgress = .now
            }
            // Past transaction markers, which are never delivered as records.
            if let reported = try consumer.position([partition]).first?.offset, reported > position {
                position = reported
                lastProgress = .now
            }
            if ContinuousClock.now - lastProgress > stallTimeout {
                throw StateStoreError(
                    store: partition.description,
                    reason: "restoration made no progress for \(stallTimeout) at offset \(position) of \(end)"
                )
            }
        }
        return position
    }

    func close() async { await consumer.close() }
}
