/// A `kind: Model` resource: a model the pipelines' steps call, served by the `Server` its `spec.server` names (or
/// the default server). With a `storageUri` and servers that declare a model repository, the model is placed
/// on `replicas` of those whose capabilities cover its `requirements` (its artifacts copied and loaded); Seldon's
/// other fields are kept.
public struct ModelResource: Sendable, Hashable {
    public var name: Located<String>
    public var namespace: String?
    public var server: Located<String>?
    /// Where the model's artifacts are: a local folder or a `file://` URI (an MLServer `model-settings.json` and
    /// what it names).
    public var storageUri: Located<String>?
    /// The memory one replica takes on its server, counted against the server's capacity.
    public var memory: Located<MemoryQuantity>?
    /// On how many servers the model is placed (default 1).
    public var replicas: Located<Int64>?
    /// What a server must offer to hold it (`sklearn`, `mlflow`, …), matched against servers' capabilities.
    public var requirements: [String]
    /// `spec` as written, the fields above included.
    public var spec: [String: ResourceValue]

    init(name: Located<String>, namespace: String?, spec node: YAMLNode) throws(ResourceError) {
        self.name = name
        self.namespace = namespace
        let spec = try node.mapping()
        server = try spec["server"].map { node throws(ResourceError) in node.located(try node.string()) }
        storageUri = try spec["storageUri"].map { node throws(ResourceError) in node.located(try node.string()) }
        memory = try spec["memory"]?.memory()
        replicas = try spec["replicas"]?.locatedInt()
        requirements = try (spec["requirements"]?.list() ?? []).map { node throws(ResourceError) in try node.string() }
        if let replicas, replicas.value < 1 { throw replicas.error("a model needs 1 replica or more, not \(replicas.value)") }
        self.spec = spec.others(than: [])
    }
}
