/// A pipeline as `GET /v1/pipelines[/{name}]` shows it: what was applied, and its status over the instances alive.
public struct PipelineSummary: Codable, Sendable {
    public var name: String
    /// Counts from where it was last applied on the control topic; the same on every instance.
    public var version: Int
    /// `Ready`, `Creating`, `Failed: …` or `Terminating`.
    public var status: String
    /// Why it is not Ready, when it is not.
    public var reason: String?
    public var engines: [StatusBoard.EngineView]
    public var answeredBy: [String]
    /// The document as applied.
    public var yaml: String

    enum CodingKeys: String, CodingKey {
        case name, version, status, reason, engines, yaml
        case answeredBy = "answered_by"
    }
}

/// What `GET /v1/pipelines/{name}/describe` shows: the normalised spec and the compiled topology.
public struct PipelineDescription: Codable, Sendable {
    public var name: String
    /// The pipeline as it runs, every reference canonical and every default written out (YAML).
    public var spec: String
    /// The topology compiled for it alone, in Kafka Streams' `TopologyDescription` layout.
    public var topology: String
    /// The same topology as a Graphviz graph.
    public var dot: String
}

/// An instance alive, as `GET /v1/instances` shows it.
public struct InstanceSummary: Codable, Sendable {
    public var instance: String
    public var roles: [String]
    /// When it last reported (milliseconds since 1970).
    public var lastSeen: Int64
    /// The next offset of the control topic it will act on.
    public var controlOffset: Int64
    /// How many pipelines its engine runs, whose answers its gateway reads, and models its model gateway serves.
    public var pipelines: Int
    public var answering: Int
    public var models: Int

    enum CodingKeys: String, CodingKey {
        case instance, roles, pipelines, answering, models
        case lastSeen = "last_seen_ms"
        case controlOffset = "control_offset"
    }
}

/// A model as `GET /v1/models[/{name}]` shows it.
public struct ModelSummary: Codable, Sendable {
    public var name: String
    /// `Available`, `Loading`, `Unloading` (deleted, still loaded somewhere) or `Failed: <reason>`.
    public var status: String
    /// The servers it is loaded on (placed models), or the server its resource names.
    public var servers: [String]
    /// The document applied; empty while a deleted model is unloaded.
    public var yaml: String
}

/// A server or experiment as `GET /v1/servers` and `GET /v1/experiments` show it: the document as applied.
public struct ResourceSummary: Codable, Sendable {
    public var name: String
    public var yaml: String

    public init(name: String, yaml: String) {
        self.name = name
        self.yaml = yaml
    }
}
