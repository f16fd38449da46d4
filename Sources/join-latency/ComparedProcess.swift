import Foundation
import ProjectScripts

/// A process whose CPU time the run compares: the join served by this executable in a child process
/// (`--serve-join`), or `kafka-pipe`, the bare consume→produce hop in C on the right stream.
struct ComparedProcess {
    let name: String
    let child: ChildProcess
    /// CPU time used when production began.
    private(set) var cpuAtStart: Duration = .zero

    /// Starts `path` and returns once its standard output has a line starting with `ready`.
    static func start(_ name: String, _ path: String, _ arguments: [String], environment: [String: String] = [:], ready: String) async throws -> ComparedProcess {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("join-latency-\(name)-\(ProcessInfo.processInfo.processIdentifier)").path
        let child = try ChildProcess.start(path, arguments, output: base + ".out", errors: base + ".err", environment: environment)
        let deadline = ContinuousClock.now + .seconds(60)
        while !child.standardOutput.split(separator: "\n").contains(where: { $0.hasPrefix(ready) }) {
            guard child.isRunning, ContinuousClock.now < deadline else {
                child.send(SIGKILL)
                let status = await child.wait()
                throw HarnessError("\(name) did not become ready (exit status \(status)): \(child.standardError.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return ComparedProcess(name: name, child: child)
    }

    /// Remembers the CPU time used so far, from which ``cpuSinceStart`` counts.
    mutating func markStart() { cpuAtStart = child.cpuTime ?? .zero }

    /// CPU time used since ``markStart()``.
    var cpuSinceStart: Duration? { child.cpuTime.map { $0 - cpuAtStart } }

    /// Stops it with SIGTERM and waits; an exit status other than 0 is an error naming its last output.
    func stop() async throws {
        child.send(SIGTERM)
        let status = await child.wait()
        guard status == 0 else { throw HarnessError("\(name) exited with status \(status): \(child.standardError.suffix(2000))") }
    }
}
