import Foundation

/// One of the checkout's `scripts/` (broker, mlserver), run to its end on a thread of its own through posix_spawn
/// and waitpid: Foundation's `Process` can miss the exit of a script whose child outlives it, and wait forever.
public struct ProjectScript: Sendable {
    public let root: URL
    public let name: String

    public init(root: URL, name: String) {
        self.root = root
        self.name = name
    }

    /// The checkout holding `scripts/<name>`: `DATAFLOW_HOME`, else the first folder above the current one, else
    /// above the running executable (`.build/release/dataflow`).
    public static func find(_ name: String) -> ProjectScript? {
        let environment = ProcessInfo.processInfo.environment["DATAFLOW_HOME"].map { URL(fileURLWithPath: $0) }
        let starts = [environment, URL(fileURLWithPath: FileManager.default.currentDirectoryPath), Bundle.main.executableURL?.deletingLastPathComponent()]
        for case var directory? in starts {
            while directory.path != "/" {
                if FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("scripts/\(name)").path) {
                    return ProjectScript(root: directory, name: name)
                }
                directory.deleteLastPathComponent()
            }
        }
        return nil
    }

    public var path: String { root.appendingPathComponent("scripts/\(name)").path }

    /// What becomes of the script's standard output.
    public enum Output: Sendable {
        /// Sent to this process's standard error (its standard output stays the command's answer).
        case standardError
        case discarded
    }

    /// Runs the script with `arguments` and waits for it.
    ///
    /// - Throws: ``ScriptFailure`` when it exits with another status than 0.
    public func run(_ arguments: [String], output: Output = .standardError) async throws(ScriptFailure) {
        let path = self.path
        let status = await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            Thread.detachNewThread { continuation.resume(returning: Self.spawnAndWait(path, arguments, output: output)) }
        }
        guard status == 0 else { throw ScriptFailure(description: "scripts/\(name) \(arguments.joined(separator: " ")) exited with \(status)") }
    }

    /// Runs `path` to its end, blocking the calling thread; its exit status, or 128 + the signal that ended it.
    public static func spawnAndWait(_ path: String, _ arguments: [String], output: Output = .standardError) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        switch output {
        case .standardError: posix_spawn_file_actions_adddup2(&actions, 2, 1)
        case .discarded: posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        guard posix_spawn(&pid, path, &actions, nil, argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1, errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// The contents of `.run/<file>` of the checkout, trimmed (a broker's or server's address).
    public func runFile(_ file: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(".run/\(file)"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

public struct ScriptFailure: Error, CustomStringConvertible {
    public var description: String
}
