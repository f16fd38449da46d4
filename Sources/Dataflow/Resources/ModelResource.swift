/// A `kind: Model` resource: a model the pipelines' steps call, served by the `Server` its `spec.server` names (or
/// the default server). Seldon's other fields (`storageUri`, `requirements`, `memory`, `replicas`, …) are kept.
public struct ModelResource: Sendable, Hashable {
    public var name: Located<String>
    public var namespace: String?
    public var server: Located<String>?
    /// `spec` as written, the fields above included.
    public var spec: [String: ResourceValue]

    init(name: Located<String>, namespace: String?, spec node: YAMLNode) throws(ResourceError) {
        self.name = name
        self.namespace = namespace
        let spec = try node.mapping()
        server = try spec["server"].map { node throws(ResourceError) in node.located(try node.string()) }
        self.spec = spec.others(than: [])
    }
}
