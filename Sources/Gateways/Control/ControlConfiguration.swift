import Dataflow
import StreamKit

/// Where the control plane keeps the desired state, and where its API listens.
public struct ControlConfiguration: GatewayKafkaClients, Sendable {
    /// Reads the control topic whole, outside any group: every instance holds the entire desired state.
    public var consumer: KafkaConsumerConfiguration
    public var producer: KafkaProducerConfiguration
    public var topics: TopicNames
    public var replicationFactor: Int32 = 1
    /// Where the control API listens. Default: 127.0.0.1, port 9004 (0 picks a free port).
    public var host: String = "127.0.0.1"
    public var port: Int = 9004
    /// When set, requests must carry `Authorization: Bearer <token>` or get 401.
    public var authToken: String?
    /// How long an apply or delete waits for this instance to have acted on it. Default: 60 s.
    public var applyTimeout: Duration = .seconds(60)

    public init(bootstrapServers: [String], topics: TopicNames = TopicNames()) {
        (consumer, producer) = Self.clients(bootstrapServers: bootstrapServers, groupID: "seldon-control", clientID: "seldon-control")
        consumer.groupID = nil
        self.topics = topics
    }
}
