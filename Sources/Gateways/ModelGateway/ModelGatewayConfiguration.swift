import Dataflow
import StreamKit

/// How the model gateway reaches Kafka and the model servers.
public struct ModelGatewayConfiguration: GatewayKafkaClients, Sendable {
    public var consumer: KafkaConsumerConfiguration
    public var producer: KafkaProducerConfiguration
    public var topics: TopicNames
    /// Partitions of the model topics the gateway creates when they do not exist. Default: 4.
    public var partitions: Int32 = 4
    /// How model topics are created.
    public var topicCreation = KafkaTopicCreation()
    /// The server of models whose resource names none. Default: `nil`.
    public var defaultServer: ModelServer?
    /// The most requests of one partition being answered at once; more wait on the topic. Default: 64.
    public var maxInFlightPerPartition: Int = 64
    public var calls = InferenceCallSettings()
    /// Keep-alive connections kept per server endpoint. Default: 64.
    public var connectionsPerEndpoint: Int = 64
    /// The largest answer read from a REST server. Default: 64 MiB.
    public var maxResponseBytes: Int = 64 << 20
    /// How often the offsets of answered requests are committed (under exactly-once, how often a transaction
    /// ends: answers wait for it). Default: 1 s.
    public var commitInterval: Duration = .seconds(1)
    /// Exactly-once when set: answers and error records are written in transactions of this id, each committing
    /// the offsets of exactly the requests it answers, so no request is answered twice, even after a crash. Keep
    /// it the same across restarts of an instance (and different between instances), so that a restarted one
    /// fences the transaction its predecessor left open. Default: `nil`, at-least-once.
    public var transactionalID: String?
    /// How long a shutdown or a revocation waits for requests in flight; those still unanswered are answered
    /// again by the partition's next owner. Default: 30 s.
    public var drainTimeout: Duration = .seconds(30)

    /// - Parameter groupID: the consumer group shared by all model gateway instances; each answers the requests
    ///   of the partitions it is assigned.
    public init(bootstrapServers: [String], groupID: String = "seldon-modelgateway", topics: TopicNames = TopicNames()) {
        (consumer, producer) = Self.clients(bootstrapServers: bootstrapServers, groupID: groupID, clientID: "seldon-modelgateway")
        self.topics = topics
    }
}
