import Dataflow

/// Where a model is served: a server's name, its replicas' base URLs, and the protocol they speak.
public struct ModelServer: Sendable, Hashable {
    public var name: String
    public var endpoints: [String]
    public var wireProtocol: ServerResource.WireProtocol

    public init(name: String, endpoints: [String], wireProtocol: ServerResource.WireProtocol = .rest) {
        self.name = name
        self.endpoints = endpoints
        self.wireProtocol = wireProtocol
    }

    public init(_ resource: ServerResource) {
        self.init(name: resource.name.value, endpoints: resource.endpoints.map(\.value), wireProtocol: resource.wireProtocol)
    }

    /// The server of each model: the one its `spec.server` names, or `defaultServer`; models naming an unknown
    /// server, or none without a default, are left out and listed in `unserved`.
    public static func assign(
        models: some Sequence<ModelResource>,
        servers: some Sequence<ServerResource>,
        defaultServer: ModelServer?
    ) -> (served: [String: ModelServer], unserved: [String]) {
        let known = Dictionary(servers.map { ($0.name.value, ModelServer($0)) }, uniquingKeysWith: { _, last in last })
        var served: [String: ModelServer] = [:]
        var unserved: [String] = []
        for model in models {
            let server = if let named = model.server { known[named.value] } else { defaultServer }
            if let server {
                served[model.name.value] = server
            } else {
                unserved.append(model.name.value)
            }
        }
        return (served, unserved.sorted())
    }
}
