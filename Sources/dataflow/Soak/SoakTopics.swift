import Dataflow
import Logging
import StreamKit

/// Reads what came back: every record of a soak's output and error topics, from the beginning to their end.
struct SoakTopics {
    let bootstrap: String
    let topics: TopicNames
    let partitions: Int32
    let localBroker: Bool
    let logger: Logger

    /// The request a record belongs to: its `x-request-id`, else its key.
    static func requestKey(of record: KafkaConsumerRecord) -> String {
        record.headers.string(DataflowHeaders.requestID) ?? String(decoding: record.key ?? [], as: UTF8.self)
    }

    /// Every record of `topic` up to the end it has now (read_committed: at most up to its last stable offset,
    /// waiting up to `patience` for open transactions).
    func readAll(_ topic: String, patience: Duration = .seconds(10)) async throws -> [KafkaConsumerRecord] {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: [bootstrap])
        if localBroker { configuration.useLocalBrokerDefaults() }
        configuration.isolationLevel = .readCommitted
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        let partitions = (0..<partitions).map { TopicPartition(topic: topic, partition: $0) }
        var records: [KafkaConsumerRecord] = []
        do {
            let ends = try await consumer.watermarks(partitions)
            var remaining = Set(partitions.filter { (ends[$0]?.high ?? 0) > (ends[$0]?.low ?? 0) })
            try await consumer.assign(partitions.map { TopicPartitionOffset($0, offset: KafkaConsumer.beginning) })
            var lastProgress = ContinuousClock.now
            while !remaining.isEmpty, ContinuousClock.now - lastProgress < patience {
                let batch = try await consumer.poll(maxRecords: 5000, timeout: .milliseconds(200))
                if !batch.isEmpty { lastProgress = .now }
                records += batch
                for position in try consumer.position(Array(remaining)) where position.offset >= (ends[position.topicPartition]?.high ?? 0) {
                    remaining.remove(position.topicPartition)
                }
            }
        } catch {
            await consumer.close()
            throw error
        }
        await consumer.close()
        return records
    }
}
