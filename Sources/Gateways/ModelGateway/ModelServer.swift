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

    /// The server of each model: the one its `spec.server` names, or `defaultServer`; for a model the scheduler
    /// places (``ModelScheduler/isScheduled(_:servers:)``), the servers `placement` has it loaded on, together.
    /// Models naming an unknown server, none without a default, or placed nowhere yet are left out and listed in
    /// `unserved`.
    public static func assign(
        models: some Sequence<ModelResource>,
        servers: some Sequence<ServerResource>,
        defaultServer: ModelServer?,
        placement: [String: [String]] = [:]
    ) -> (served: [String: ModelServer], unserved: [String]) {
        let resources = Array(servers)
        let known = Dictionary(resources.map { ($0.name.value, ModelServer($0)) }, uniquingKeysWith: { _, last in last })
        var served: [String: ModelServer] = [:]
        var unserved: [String] = []
        for model in models {
            let server: ModelServer?
            if ModelScheduler.isScheduled(model, servers: resources) {
                let hosts = (placement[model.name.value] ?? []).compactMap { known[$0] }
                server = hosts.isEmpty ? nil : ModelServer(
                    name: hosts.map(\.name).joined(separator: "+"), endpoints: hosts.flatMap(\.endpoints), wireProtocol: hosts[0].wireProtocol
                )
            } else if let named = model.server {
                server = known[named.value]
            } else {
                server = defaultServer
            }
            if let server {
                served[model.name.value] = server
            } else {
                unserved.append(model.name.value)
            }
        }
        return (served, unserved.sorted())
    }
}
