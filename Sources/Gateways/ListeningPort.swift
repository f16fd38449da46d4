import Hummingbird
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

    func wait() async -> Int? {
        if let port { return port }
        return await withCheckedContinuation { waiters.append($0) }
    }

    /// An HTTP server for `router` on `host`:`port` that reports here the port it listens on.
    func application(router: Router<BasicRequestContext>, host: String, port: Int, logger: Logger) -> some ApplicationProtocol {
        Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "swift-dataflow"),
            onServerRunning: { channel in await self.set(channel.localAddress?.port) },
            logger: logger
        )
    }
}
