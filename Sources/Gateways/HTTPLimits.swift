/// How much of an HTTP server one client may hold: connections, idle time, and the time to send a request body.
/// Slow or hostile clients (a body sent a byte at a time, connections opened and left idle) are cut off by these,
/// so they cannot keep the server from others.
public struct HTTPLimits: Sendable, Hashable {
    /// Connections open at once; further ones wait in the listen backlog until one closes. Default: 10,000.
    public var maxConnections: Int = 10_000
    /// A connection that sends nothing for this long — no request, or a request left unfinished — is closed.
    /// Also a gRPC connection's longest time without calls. Default: 60 s.
    public var idleTimeout: Duration = .seconds(60)
    /// A request body must have arrived whole this long after its headers; else 408 and the connection is
    /// closed. Default: 30 s.
    public var bodyTimeout: Duration = .seconds(30)

    public init() {}
}
