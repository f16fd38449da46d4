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
    /// - Parameters:
    ///   - brokers: brokers of a mock cluster.
    ///   - controlled: give a mock cluster a control FIFO, for ``send(_:)``.
    ///   - transactionShim: put `tools/transaction-shim.py` in front of Tansu, so that it judges exactly-once as
    ///     Kafka does (read_committed readers do not see aborted records; a zombie cannot commit).
    /// - Throws: when the checkout's scripts cannot be found or the broker does not start.
    public static func start(
        kind: String, name: String, topics: [(String, Int32)] = [], brokers: Int = 1, controlled: Bool = false, transactionShim: Bool = false
    ) async throws -> LocalBroker {
        guard let script = ProjectScript.find("broker") else {
            throw ScriptFailure(description: "scripts/broker not found above \(FileManager.default.currentDirectoryPath) (or DATAFLOW_HOME); "
                + "run from the swift-dataflow checkout, or give a Kafka cluster with --bootstrap HOST:PORT")
        }
        var arguments = ["start", "--kind", kind, "--name", name]
        if kind == "mock" {
            arguments += topics.flatMap { ["--topic", "\($0.0):\($0.1)"] } + ["--brokers", "\(brokers)"] + (controlled ? ["--control"] : [])
        }
        if transactionShim { arguments.append("--transaction-shim") }
        try await script.run(arguments)
        return LocalBroker(name: name, address: try script.runFile("\(name).addr"), script: script)
    }

    public func stop() async { try? await script.run(["stop", "--name", name]) }

    /// Sends a line to a mock cluster's control FIFO: `down 2`, `up 2`, `create NAME PARTITIONS`.
    ///
    /// - Throws: when the broker was started without a control FIFO or has stopped.
    public func send(_ command: String) throws {
        let path = script.root.appendingPathComponent(".run/\(name).control").path
        let fd = open(path, O_WRONLY | O_NONBLOCK)
        guard fd >= 0 else { throw ScriptFailure(description: "\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let line = Array((command + "\n").utf8)
        guard line.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == line.count else {
            throw ScriptFailure(description: "\(path): \(String(cString: strerror(errno)))")
        }
    }

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
