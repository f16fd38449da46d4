import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging

/// The port a server listens on, for whoever waits to know it (useful when configured with port 0); `nil` for
/// a server that is not started.
actor ListeningPort {
    private var port: Int??
    private var waiters: [CheckedContinuation<Int?, Never>] = []

    func set(_ port: Int?) {
        self.port = .some(port)
        for waiter in waiters { waiter.resume(returning: port) }
        waiters.removeAll()
    }

    /// The server stopped: whoever still waits for a port it never reported gets `nil`.
    func finish() {
        if port == nil { set(nil) }
    }

    func wait() async -> Int? {
        if let port { return port }
        return await withCheckedContinuation { waiters.append($0) }
    }

    /// An HTTP server for `router` on `host`:`port` (HTTPS with `tls`) that reports here the port it listens on.
    func application(
        router: Router<BasicRequestContext>,
        host: String,
        port: Int,
        tls: ServerTLS?,
        limits: HTTPLimits,
        logger: Logger
    ) throws -> some ApplicationProtocol {
        let http1 = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .nanoseconds(Int64(limits.idleTimeout.nanoseconds))))
        return Application(
            router: router,
            server: try tls.map { try .tls(http1, tlsConfiguration: try $0.configuration()) } ?? http1,
            configuration: ApplicationConfiguration(
                address: .hostname(host, port: port),
                serverName: "swift-dataflow",
                availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections)
            ),
            onServerRunning: { channel in await self.set(channel.localAddress?.port) },
            logger: logger
        )
    }
}
