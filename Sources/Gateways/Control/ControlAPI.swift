import Hummingbird
import Logging
import ServiceLifecycle

/// Serves the control API (``ControlRoutes``) of a ``ControlPlane`` over HTTP until shut down.
public final class ControlAPI: Service, Sendable {
    public let control: ControlPlane
    private let logger: Logger
    private let ports = ListeningPorts()

    public init(control: ControlPlane, logger: Logger) {
        self.control = control
        self.logger = logger
    }

    /// The port the API listens on, once it does (useful when configured with port 0).
    public func listeningPort() async -> Int { await ports.wait().http }

    public func run() async throws {
        let configuration = control.configuration
        await ports.setGRPC(nil)
        let application = Application(
            router: ControlRoutes(control: control).router(),
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port), serverName: "swift-dataflow"),
            onServerRunning: { [ports] channel in await ports.setHTTP(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        try await application.run()
    }
}
