import Foundation

/// MLServer with the checkout's sample models (Tests/Models), started with `scripts/mlserver` on 127.0.0.1: the
/// model server of `make run` and of a soak that was given none.
public struct LocalModelServer: Sendable {
    public let name: String
    /// The OIP REST base URL.
    public let address: String
    public let port: Int
    private let script: ProjectScript

    /// Starts a server named `name` on `port` (0: a free one).
    public static func start(name: String, port: Int = 0) async throws -> LocalModelServer {
        guard let script = ProjectScript.find("mlserver") else {
            throw ScriptFailure(description: "scripts/mlserver not found above \(FileManager.default.currentDirectoryPath) (or DATAFLOW_HOME); "
                + "run from the swift-dataflow checkout, or name a model server")
        }
        try await script.run(["start", "--name", name] + (port > 0 ? ["--http-port", "\(port)"] : []))
        let address = try script.runFile("\(name).addr")
        let port = URLComponents(string: address)?.port ?? port
        return LocalModelServer(name: name, address: address, port: port, script: script)
    }

    public func stop() async { try? await script.run(["stop", "--name", name]) }

    /// Stops it and starts it again on the same port.
    public func restart() async throws {
        await stop()
        try await script.run(["start", "--name", name, "--http-port", "\(port)"])
    }
}
