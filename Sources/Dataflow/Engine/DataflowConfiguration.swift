import StreamKit

/// How the engine reaches Kafka and names and creates the topics of pipelines and models.
public struct DataflowConfiguration: Sendable {
    /// The streams application hosting every pipeline: its id is the consumer group of all engine instances.
    public var streams: StreamsConfiguration
    public var topics: TopicNames
    /// Partitions of the topics the engine creates. Topics read by one pipeline are joined by request key, so
    /// they all need the same count.
    public var partitions: Int32 = 4
    public var replicationFactor: Int32 = 1

    public init(bootstrapServers: [String], applicationID: String = "seldon-dataflow-engine", topics: TopicNames = TopicNames()) {
        streams = StreamsConfiguration(applicationID: applicationID, bootstrapServers: bootstrapServers)
        self.topics = topics
    }
}
