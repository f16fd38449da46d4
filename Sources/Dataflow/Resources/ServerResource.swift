/// A `kind: Server` resource: an OIP inference server (one endpoint, or several replicas) and the protocol to
/// speak to it.
public struct ServerResource: Sendable, Hashable {
    public enum WireProtocol: String, Sendable, Hashable { case rest, grpc }

    public var name: Located<String>
    public var namespace: String?
    /// Base URLs of the server's replicas (`http://host:port`).
    public var endpoints: [Located<String>]
    public var wireProtocol: WireProtocol
    /// The folder the server loads models from (MLServer: the folder it was started in), when it takes models
    /// placed on it through the OIP repository API; `nil` for a server whose models are loaded by other means.
    public var repository: Located<String>?
    /// How much memory the models placed on it may take together; unlimited when absent.
    public var capacity: Located<MemoryQuantity>?
    /// What models it can hold (`capabilities`, plus `extraCapabilities`, as in Seldon Core 2); `nil` when the
    /// resource says neither: then any model's requirements are taken as met.
    public var capabilities: [String]?
    /// `spec` as written.
    public var spec: [String: ResourceValue]

    init(name: Located<String>, namespace: String?, spec node: YAMLNode) throws(ResourceError) {
        self.name = name
        self.namespace = namespace
        let spec = try node.mapping()
        var endpoints: [Located<String>] = []
        if let one = spec["endpoint"] { endpoints.append(one.located(try one.string())) }
        for item in try spec["endpoints"]?.list() ?? [] { endpoints.append(item.located(try item.string())) }
        guard !endpoints.isEmpty else {
            throw ResourceError(location: node.location, field: node.field, problem: "a Server needs 'endpoint' or 'endpoints' (base URLs of OIP servers)")
        }
        for endpoint in endpoints where !(endpoint.value.hasPrefix("http://") || endpoint.value.hasPrefix("https://")) {
            throw endpoint.error("'\(endpoint.value)' is not a base URL; expected http://host:port or https://host:port")
        }
        self.endpoints = endpoints
        if let node = spec["protocol"] {
            let text = try node.string()
            guard let wireProtocol = WireProtocol(rawValue: text) else { throw node.error("unknown protocol '\(text)'; expected rest or grpc") }
            self.wireProtocol = wireProtocol
        } else {
            wireProtocol = .rest
        }
        repository = try spec["repository"].map { node throws(ResourceError) in node.located(try node.string()) }
        capacity = try spec["capacity"]?.memory()
        let strings = { (key: String) throws(ResourceError) -> [String]? in
            try spec[key].map { node throws(ResourceError) in try node.list().map { item throws(ResourceError) in try item.string() } }
        }
        let (declared, extra) = (try strings("capabilities"), try strings("extraCapabilities"))
        capabilities = declared == nil && extra == nil ? nil : (declared ?? []) + (extra ?? [])
        self.spec = spec.others(than: [])
    }
}
