import Foundation

/// A broker on 127.0.0.1 started with the checkout's `scripts/broker` (Tansu from the project's venv, or the mock
/// cluster), for a run that was given no Kafka cluster: `dataflow serve`'s embedded default, the benchmarks.
public struct LocalBroker: Sendable {
    public let name: String
    public let address: String
    private let script: ProjectScript

    /// Starts a broker of `kind` (tansu or mock) named `name`, with `topics` (name and partitions) created up front
    /// where the broker cannot create them on request (the mock cluster).
    ///
    /// - Throws: when the checkout's scripts cannot be found or the broker does not start.
    public static func start(kind: String, name: String, topics: [(String, Int32)] = []) async throws -> LocalBroker {
        guard let script = ProjectScript.find("broker") else {
            throw ScriptFailure(description: "scripts/broker not found above \(FileManager.default.currentDirectoryPath) (or DATAFLOW_HOME); "
                + "run from the swift-dataflow checkout, or give a Kafka cluster with --bootstrap HOST:PORT")
        }
        let creations = kind == "mock" ? topics.flatMap { ["--topic", "\($0.0):\($0.1)"] } : []
        try await script.run(["start", "--kind", kind, "--name", name] + creations)
        return LocalBroker(name: name, address: try script.runFile("\(name).addr"), script: script)
    }

    public func stop() async { try? await script.run(["stop", "--name", name]) }

    /// Stops the broker when the process is interrupted (SIGINT, SIGTERM) before it stops it itself, and exits.
    /// Keep the sources for as long as that should hold.
    public func stopOnSignals() -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            let (path, name) = (script.path, self.name)
            source.setEventHandler {
                _ = ProjectScript.spawnAndWait(path, ["stop", "--name", name])
                exit(128 + number)
            }
            source.resume()
            return source
        }
    }
}
