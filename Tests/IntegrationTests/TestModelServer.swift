import Foundation
import ProjectScripts
import Testing

/// The MLServer `scripts/test` started with the models of `Tests/Models` (`DATAFLOW_TEST_MLSERVER`, its REST base
/// URL), and MLServers a test starts, kills and restarts itself through `scripts/mlserver`.
enum TestModelServer {
    static let rest = ProcessInfo.processInfo.environment["DATAFLOW_TEST_MLSERVER"]
    static let grpc = ProcessInfo.processInfo.environment["DATAFLOW_TEST_MLSERVER_GRPC"]
    static let shouldRun = TestBroker.required || (TestBroker.tansu != nil && rest != nil)

    static func address() throws -> String {
        try #require(rest, "DATAFLOW_TEST_MLSERVER is not set: run the tests through `make test`")
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Starts an MLServer of its own named `name` (on `httpPort` when given) and returns its REST base URL once ready.
    @discardableResult
    static func start(_ name: String, httpPort: Int? = nil) async throws -> String {
        var arguments = ["start", "--name", name]
        if let httpPort { arguments += ["--http-port", "\(httpPort)"] }
        try await script(arguments)
        return try String(contentsOf: root.appendingPathComponent(".run/\(name).addr"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `body` with an MLServer of its own named `name` (given its REST base URL), and stops the server
    /// afterwards, whether `body` succeeded or not (the body may stop and restart it meanwhile).
    static func with(_ name: String, _ body: (String) async throws -> Void) async throws {
        let address = try await start(name)
        do {
            try await body(address)
        } catch {
            try? await stop(name)
            throw error
        }
        try await stop(name)
    }

    /// Ends the MLServer named `name` (its whole process group).
    static func stop(_ name: String) async throws {
        try await script(["stop", "--name", name])
    }

    private static func script(_ arguments: [String]) async throws {
        do {
            try await ProjectScript(root: root, name: "mlserver").run(arguments, output: .discarded)
        } catch {
            Issue.record("\(error)")
            throw error
        }
    }
}
