import Foundation

/// A program started with posix_spawn, its standard output and error going to files: a `dataflow serve` a test
/// kills, or a CLI command whose output and exit status it checks.
public struct ChildProcess: Sendable {
    public let pid: pid_t
    /// Where its standard output and standard error go.
    public let output: String
    public let errors: String

    /// Starts `path` with `arguments`, with `environment` added to this process's environment. With
    /// `outputReaderGone`, its standard output is a pipe whose reader has already exited (as after `| head -1`),
    /// and SIGPIPE has its default action, as a shell leaves it; `output` then stays empty.
    /// With `appending`, the output files keep what earlier runs wrote (a process started again).
    public static func start(
        _ path: String, _ arguments: [String], output: String, errors: String, environment: [String: String] = [:],
        outputReaderGone: Bool = false, appending: Bool = false
    ) throws -> ChildProcess {
        let mode = O_WRONLY | O_CREAT | (appending ? O_APPEND : O_TRUNC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var pipeEnds: [Int32] = [-1, -1]
        defer { pipeEnds.filter { $0 >= 0 }.forEach { close($0) } }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if outputReaderGone {
            guard pipe(&pipeEnds) == 0 else { throw ScriptFailure(description: "pipe: \(String(cString: strerror(errno)))") }
            close(pipeEnds[0])
            pipeEnds[0] = -1
            posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
            posix_spawn_file_actions_addclose(&actions, pipeEnds[1])
            var defaults = sigset_t()
            sigemptyset(&defaults)
            sigaddset(&defaults, SIGPIPE)
            posix_spawnattr_setsigdefault(&attributes, &defaults)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))
            _ = FileManager.default.createFile(atPath: output, contents: nil)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, output, mode, 0o644)
        }
        posix_spawn_file_actions_addopen(&actions, 2, errors, mode, 0o644)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var pid = pid_t()
        let result = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
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

    /// CPU time it has used so far (user and system, from `/proc/<pid>/stat`); `nil` once it has ended or where
    /// there is no `/proc`.
    public var cpuTime: Duration? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let nameEnd = stat.lastIndex(of: ")") else { return nil }
        // After the command name: state is field 3, utime and stime fields 14 and 15, in clock ticks.
        let fields = stat[stat.index(after: nameEnd)...].split(separator: " ")
        guard fields.count > 12, let user = Int64(fields[11]), let system = Int64(fields[12]) else { return nil }
        let ticks = Int64(sysconf(Int32(_SC_CLK_TCK)))
        return .milliseconds((user + system) * 1000 / max(ticks, 1))
    }

    public var standardOutput: String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }
    public var standardError: String { (try? String(contentsOfFile: errors, encoding: .utf8)) ?? "" }
}
