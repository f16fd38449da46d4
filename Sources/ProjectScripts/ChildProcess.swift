import Foundation

/// A program started with posix_spawn, its standard output and error going to files: a `dataflow serve` a test
/// kills, or a CLI command whose output and exit status it checks.
public struct ChildProcess: Sendable {
    public let pid: pid_t
    /// Where its standard output and standard error go.
    public let output: String
    public let errors: String

    /// Starts `path` with `arguments`, with `environment` added to this process's environment.
    public static func start(_ path: String, _ arguments: [String], output: String, errors: String, environment: [String: String] = [:]) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errors, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var pid = pid_t()
        let result = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard result == 0 else { throw ScriptFailure(description: "\(path) could not be started: \(String(cString: strerror(result)))") }
        return ChildProcess(pid: pid, output: output, errors: errors)
    }

    /// Sends `signal` (SIGTERM, SIGKILL, …).
    public func send(_ signal: Int32) { kill(pid, signal) }

    /// Whether it still runs (or has ended and not been waited for).
    public var isRunning: Bool { kill(pid, 0) == 0 }

    /// Waits for it to end (once) on a thread of its own; its exit status, or 128 + the signal that ended it.
    public func wait() async -> Int32 {
        let pid = self.pid
        return await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            Thread.detachNewThread {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) == -1, errno == EINTR {}
                continuation.resume(returning: (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f))
            }
        }
    }

    public var standardOutput: String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }
    public var standardError: String { (try? String(contentsOfFile: errors, encoding: .utf8)) ?? "" }
}
