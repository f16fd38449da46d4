import Hummingbird
import Logging
import ServiceLifecycle

/// Serves the control API (``ControlRoutes``) of a ``ControlPlane`` over HTTP until shut down.
public final class ControlAPI: Service, Sendable {
    public let control: ControlPlane
    private let logger: Logger
    private let port = ListeningPort()

    public init(control: ControlPlane, logger: Logger) {
        self.control = control
        self.logger = logger
    }

    /// The port the API listens on, once it does (useful when configured with port 0); 0 when ``run()`` ended
    /// before it did.
    public func listeningPort() async -> Int { await port.wait() ?? 0 }

    public func run() async throws {
        let configuration = control.configuration
        var failure: (any Error)?
        do {
            try await port.application(
                router: ControlRoutes(control: control).router(), host: configuration.host, port: configuration.port, tls: configuration.tls,
                limits: configuration.httpLimits, logger: logger
            ).run()
        } catch {
            failure = error
        }
        await port.finish()
        if let failure { throw failure }
    }
}
