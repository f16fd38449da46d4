import Dataflow
import Foundation
import StreamKit

/// Where the control plane keeps the desired state, and where its API listens.
public struct ControlConfiguration: GatewayKafkaClients, Sendable {
    /// Reads the control topic whole, outside any group: every instance holds the entire desired state.
    public var consumer: KafkaConsumerConfiguration
    public var producer: KafkaProducerConfiguration
    public var topics: TopicNames
    /// How the control and status topics are created.
    public var topicCreation = KafkaTopicCreation()
    /// Where the control API listens. Default: 127.0.0.1, port 9004 (0 picks a free port).
    public var host: String = "127.0.0.1"
    public var port: Int = 9004
    /// When set, requests must carry `Authorization: Bearer <token>` or get 401.
    public var authToken: String?
    /// When set, the control API serves HTTPS only, with this certificate.
    public var tls: ServerTLS?
    /// Connections, idle time and body time a client may take of the HTTP server (and, for idle time, of gRPC).
    public var httpLimits = HTTPLimits()
    /// How long an apply or delete waits for this instance to have acted on it. Default: 60 s.
    public var applyTimeout: Duration = .seconds(60)
    /// This instance's id on the status topic. Unique among the instances alive; `dataflow serve` keeps it across
    /// restarts, so a restarted instance's status replaces its predecessor's.
    public var instanceID: String
    /// The roles this instance runs, as it reports them (`engine`, `model-gateway`, `pipeline-gateway`, `control`);
    /// when empty, those of the parts its deployment holds.
    public var roles: [String] = []
    /// The folders a Model's `storageUri` and a Server's `repository` may name; resources naming others are
    /// refused. Default: the working directory.
    public var modelRoots: ModelRoots = .workingDirectory
    /// The inference API's base URL as model servers reach it: an explainer placed here is told to call what it
    /// explains there. Default: `nil` (explainers cannot be placed).
    public var inferenceURL: String?
    /// How often this instance reports itself on the status topic. Default: 1 s.
    public var heartbeatInterval: Duration = .seconds(1)
    /// How long after its last report an instance still counts in the aggregated status. Default: 10 s.
    public var liveness: Duration = .seconds(10)

    public init(bootstrapServers: [String], topics: TopicNames = TopicNames()) {
        (consumer, producer) = Self.clients(bootstrapServers: bootstrapServers, groupID: "seldon-control", clientID: "seldon-control")
        consumer.groupID = nil
        self.topics = topics
        instanceID = Self.newInstanceID()
    }

    /// `host-pid-random`: readable in the status, and unique when a process restarts with the same pid.
    public static func newInstanceID() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        return "\(host)-\(ProcessInfo.processInfo.processIdentifier)-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
    }
}
