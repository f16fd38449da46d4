import Dataflow
import StreamKit

/// How the pipeline gateway reaches Kafka and where it listens.
public struct PipelineGatewayConfiguration: GatewayKafkaClients, Sendable {
    /// Reads the answers: every partition of the answer topics, assigned by the gateway itself (no group).
    public var consumer: KafkaConsumerConfiguration
    public var producer: KafkaProducerConfiguration
    public var topics: TopicNames
    /// Where the HTTP API listens. Default: 127.0.0.1, port 9000 (0 picks a free port).
    public var httpHost: String = "127.0.0.1"
    public var httpPort: Int = 9000
    /// Where the gRPC API listens, or `nil` for none. Default: port 9001 on ``httpHost``.
    public var grpcPort: Int? = 9001
    /// How long a request waits for its answer before the client gets 504 with its request id. Default: 30 s.
    public var timeout: Duration = .seconds(30)
    /// The largest request body accepted over HTTP or gRPC; larger ones get 413. Default: 16 MiB.
    public var maxRequestBytes: Int = 16 << 20
    /// The most requests waiting for their answers at once; beyond it a request gets 429 with `Retry-After`
    /// (gRPC: RESOURCE_EXHAUSTED) instead of memory growing until every request times out. Default: 10,000.
    public var maxRequestsInFlight: Int = 10_000
    /// Connections, idle time and body time a client may take of the HTTP server (and, for idle time, of gRPC).
    public var httpLimits = HTTPLimits()
    /// How often the deployed pipelines and models are looked up, so that their answer topics are read before
    /// the first request comes. Default: 1 s.
    public var directoryRefreshInterval: Duration = .seconds(1)
    /// When set, inference, metadata and inspect calls must carry `Authorization: Bearer <token>` (gRPC: the
    /// `authorization` metadata) or get 401 / UNAUTHENTICATED; health checks and `/metrics` stay open.
    public var authToken: String?
    /// When set, the HTTP and gRPC APIs serve TLS only, with this certificate.
    public var tls: ServerTLS?
    /// Whether a request to a model goes straight to a server holding it, as in Seldon Core 2, rather than
    /// through the model's Kafka topics (which pipelines and asynchronous clients use). A model without a server
    /// yet is always reached through its topics, where its requests wait for one. Default: `true`.
    public var callsModelsDirectly = true
    /// How models are called directly: per-call timeout, retries, checks of an unreachable endpoint.
    public var modelCalls = InferenceCallSettings()
    /// Keep-alive connections kept per model server endpoint for direct calls. Default: 64.
    public var connectionsPerEndpoint = 64
    /// The largest answer read from a REST model server. Default: 64 MiB.
    public var maxResponseBytes = 64 << 20
    /// The most records inspect reads from the end of each partition of each topic. Default: 100,000.
    public var inspectRecordsPerPartition: Int = 100_000

    public init(bootstrapServers: [String], topics: TopicNames = TopicNames()) {
        (consumer, producer) = Self.clients(bootstrapServers: bootstrapServers, groupID: "seldon-pipelinegateway", clientID: "seldon-pipelinegateway")
        consumer.groupID = nil
        // Answers are read from where each partition stands when this instance starts reading it; older ones
        // belong to requests nobody here waits for.
        consumer.autoOffsetReset = .latest
        self.topics = topics
    }
}
