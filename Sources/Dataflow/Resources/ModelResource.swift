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
    /// Set when the model explains another model or a pipeline (Seldon's `spec.explainer`).
    public var explainer: Explainer?
    /// `spec` as written, the fields above included.
    public var spec: [String: ResourceValue]

    /// An explainer's kind and what it explains: once placed, its server is told the inference URL of the model
    /// or pipeline it explains (`parameters.extra.infer_uri`, with `explainer_type`, as MLServer's alibi-explain
    /// runtime reads them).
    public struct Explainer: Sendable, Hashable {
        /// `anchor_tabular`, `anchor_image`, `kernel_shap`, … as the explainer runtime knows them.
        public var type: Located<String>
        public var target: Target

        public enum Target: Sendable, Hashable {
            case model(String)
            case pipeline(String)
        }
    }

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
        explainer = try spec["explainer"].map { node throws(ResourceError) in try Self.explainer(node) }
        if let explainer, storageUri == nil {
            throw explainer.type.error("an explainer needs a storageUri: it is placed like a model, and its server is told there where to call what it explains")
        }
        self.spec = spec.others(than: [])
    }

    private static func explainer(_ node: YAMLNode) throws(ResourceError) -> Explainer {
        let fields = try node.mapping()
        let typeNode = try fields.required("type")
        let type = typeNode.located(try typeNode.string())
        if type.value.isEmpty { throw typeNode.error("an explainer needs a type (anchor_tabular, kernel_shap, …)") }
        let model = try fields["modelRef"]?.string()
        let pipeline = try fields["pipelineRef"]?.string()
        switch (model, pipeline) {
        case (let model?, nil) where !model.isEmpty: return Explainer(type: type, target: .model(model))
        case (nil, let pipeline?) where !pipeline.isEmpty: return Explainer(type: type, target: .pipeline(pipeline))
        case (_?, _?): throw node.error("an explainer names either modelRef or pipelineRef, not both")
        default: throw node.error("an explainer names what it explains: modelRef or pipelineRef")
        }
    }
}
