/// How the topics an application needs get created: through the admin API, with the replication factor and
/// configs the operator chose, or by the broker itself when they are first named.
public struct KafkaTopicCreation: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        /// `CreateTopics` requests (the application needs the `CREATE` permission).
        case adminAPI = "admin"
        /// The broker creates a topic when a metadata request first names it (`auto.create.topics.enable`), with
        /// its own defaults: for clusters whose admin API is closed to the application, and brokers without one
        /// (librdkafka's mock cluster). The partition counts are checked; topic configs are not applied.
        case brokerAutoCreation = "broker"
    }

    public var mode: Mode
    /// Replicas of each topic created. Default: -1, the broker's `default.replication.factor`.
    public var replicationFactor: Int32
    /// Configs of every topic created (`min.insync.replicas`, `retention.ms`, …); a topic's own configs (a
    /// changelog's `cleanup.policy`) win over these.
    public var configs: [String: String]

    public init(mode: Mode = .adminAPI, replicationFactor: Int32 = -1, configs: [String: String] = [:]) {
        self.mode = mode
        self.replicationFactor = replicationFactor
        self.configs = configs
    }

    /// `topic` as this policy creates it.
    public func applied(to topic: KafkaNewTopic) -> KafkaNewTopic {
        var topic = topic
        topic.replicationFactor = replicationFactor
        topic.configs = configs.merging(topic.configs) { $1 }
        return topic
    }
}
