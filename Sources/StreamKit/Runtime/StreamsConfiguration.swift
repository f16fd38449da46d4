import Foundation
import Metrics

/// How a ``StreamsApplication`` runs its topology.
public struct StreamsConfiguration: Sendable {
    /// Delivery guarantee for the application's output and state.
    public enum ProcessingGuarantee: String, Sendable, Hashable {
        /// Offsets are committed every ``StreamsConfiguration/commitInterval`` after the output before them is
        /// acknowledged; after a crash some records are processed again.
        case atLeastOnce = "at-least-once"
        /// Output and offsets are committed together in Kafka transactions; readers with `read_committed` see each
        /// input's effect once.
        case exactlyOnce = "exactly-once"
    }

    /// What happens when a task fails (an error handler answered ``ErrorHandling/Response/fail``).
    public enum TaskFailurePolicy: Sendable, Hashable {
        /// The task is closed without committing and created again from its last committed offsets after a
        /// backoff that doubles on each consecutive failure, from `initial` up to `maximum`.
        case restartTask(initialBackoff: Duration, maximumBackoff: Duration)
        /// The application stops and ``StreamsApplication/run()`` throws the failure.
        case stopApplication
    }

    /// The consumer group, the prefix of internal topics, and the transactional id's prefix.
    public var applicationID: String
    public var bootstrapServers: [String]
    /// Distinguishes this instance among the application's instances (part of the transactional id under
    /// exactly-once). Give a stable one (a pod name) so that a restarted instance fences its predecessor at once.
    /// Default: a random id.
    public var instanceID: String = "instance-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    /// Default: ``ProcessingGuarantee/atLeastOnce``.
    public var processingGuarantee: ProcessingGuarantee = .atLeastOnce
    /// How often offsets (and transactions) are committed. Default: 30 s at-least-once, 100 ms exactly-once
    /// (applied when left `nil`).
    public var commitInterval: Duration?
    /// Records of different keys a task may have in flight at once (records of one key always run one at a time,
    /// in order). Default: 16.
    public var maxInFlightPerTask: Int = 16
    /// Records a task buffers per partition. A partition whose buffer is full is not read until its task has
    /// worked it down to half; librdkafka prefetches about as many more, then stops fetching that partition
    /// (the others go on). Default: 1,000.
    public var bufferedRecordsPerPartition: Int = 1000
    /// How often wall-clock punctuators are checked. Default: 50 ms.
    public var wallClockResolution: Duration = .milliseconds(50)
    /// Default: every failure fails the task.
    public var errorHandling = ErrorHandling()
    /// Default: restart with backoff from 1 s to 60 s.
    public var taskFailure: TaskFailurePolicy = .restartTask(initialBackoff: .seconds(1), maximumBackoff: .seconds(60))
    /// Partitions of repartition topics the application creates when the topology does not say. Default: the
    /// largest partition count among the topics feeding them.
    public var repartitionPartitions: Int32?
    /// How internal topics (repartition, changelog) are created: replication factor, configs, by whom. Default:
    /// through the admin API with the broker's default replication factor.
    public var topicCreation = KafkaTopicCreation()
    /// The transaction timeout under exactly-once: how long a crashed instance's open transaction holds back
    /// `read_committed` readers when no instance with the same ``instanceID`` restarts. Default: 10 s.
    public var transactionTimeout: Duration = .seconds(10)
    /// How often consumer lag is measured for metrics. Default: 10 s.
    public var lagInterval: Duration = .seconds(10)
    /// Where persistent stores keep their data: `<stateDirectory>/<application>/<task>/<store>`. Default:
    /// `streamkit-state` in the system's temporary directory; give a directory that survives restarts, so
    /// that a restarted instance restores only what changed since its last checkpoint.
    public var stateDirectory: String = FileManager.default.temporaryDirectory.appendingPathComponent("streamkit-state").path
    /// The memory budget and format of RocksDB stores. Default: ``RocksDBConfiguration/shared`` (64 MiB for the
    /// whole process).
    public var rocksDB: RocksDBConfiguration = .shared
    /// Changelog records a restoration applies at once. Default: 1,000.
    public var restoreBatchSize: Int = 1000
    /// Default: the global `MetricsSystem` factory.
    public var metricsFactory: (any MetricsFactory)?
    /// Adjusts the consumer's configuration (security, tuning) after StreamKit has filled in its part.
    public var consumer: @Sendable (inout KafkaConsumerConfiguration) -> Void = { _ in }
    /// Adjusts the producer's configuration after StreamKit has filled in its part.
    public var producer: @Sendable (inout KafkaProducerConfiguration) -> Void = { _ in }
    /// The clock for wall-clock punctuation and end-to-end latency.
    public var clock: any WallClock = SystemWallClock()

    public init(applicationID: String, bootstrapServers: [String]) {
        self.applicationID = applicationID
        self.bootstrapServers = bootstrapServers
    }

    /// Tunes the Kafka clients for a broker on this machine (short fetch waits and session timeout).
    public mutating func useLocalBrokerDefaults() {
        let consumer = self.consumer
        let producer = self.producer
        self.consumer = { configuration in
            configuration.useLocalBrokerDefaults()
            consumer(&configuration)
        }
        self.producer = { configuration in
            configuration.useLocalBrokerDefaults()
            producer(&configuration)
        }
    }

    /// An admin client's configuration for the same cluster: the consumer's security settings and request
    /// timeout, so that topics are created and described with the access the application has.
    public var adminConfiguration: KafkaAdminConfiguration {
        var consumer = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers)
        self.consumer(&consumer)
        return KafkaAdminConfiguration(matching: consumer)
    }

    /// The commit interval in effect.
    public var effectiveCommitInterval: Duration {
        commitInterval ?? (processingGuarantee == .exactlyOnce ? Self.exactlyOnceCommitInterval : .seconds(30))
    }

    /// The default commit interval under exactly-once, as Kafka Streams': output waits for its transaction's end.
    public static let exactlyOnceCommitInterval: Duration = .milliseconds(100)
}
