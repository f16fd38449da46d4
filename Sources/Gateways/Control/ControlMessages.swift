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
