import Foundation

/// A broker started with the project's `scripts/broker` for one run, when no `--bootstrap` is given.
struct LocalBroker {
    let name: String
    let script: URL
    let address: String

    /// Starts a broker of `kind` (tansu or mock) under a name of its own, with `topics` (name and partitions)
    /// created up front where the broker cannot create them on request (the mock cluster).
    static func start(kind: String, topics: [(String, Int32)]) async throws -> LocalBroker {
        guard let root = projectRoot() else {
            throw HarnessError("no --bootstrap given and scripts/broker not found above \(FileManager.default.currentDirectoryPath); "
                + "run from the swift-dataflow checkout or pass --bootstrap HOST:PORT")
        }
        let name = "join-latency-\(ProcessInfo.processInfo.processIdentifier)"
        let script = root.appendingPathComponent("scripts/broker")
        let creations = kind == "mock" ? topics.flatMap { ["--topic", "\($0.0):\($0.1)"] } : []
        try await run(script, ["start", "--kind", kind, "--name", name] + creations)
        let address = try String(contentsOf: root.appendingPathComponent(".run/\(name).addr"), encoding: .utf8)
        return LocalBroker(name: name, script: script, address: address.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    func stop() async { try? await Self.run(script, ["stop", "--name", name]) }

    /// Stops the broker when the run is interrupted (SIGINT, SIGTERM) before it ends.
    func stopOnSignals() -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            let (script, name) = (script.path, self.name)
            source.setEventHandler {
                _ = LocalBroker.spawnAndWait(script, ["stop", "--name", name])
                exit(128 + number)
            }
            source.resume()
            return source
        }
    }

    private static func projectRoot() -> URL? {
        var directory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        while directory.path != "/" {
            if FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("scripts/broker").path) { return directory }
            directory.deleteLastPathComponent()
        }
        return nil
    }

    /// Runs `script` to its end on a thread of its own (waiting for a child blocks).
    private static func run(_ script: URL, _ arguments: [String]) async throws {
        let status = await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            Thread.detachNewThread { continuation.resume(returning: spawnAndWait(script.path, arguments)) }
        }
        guard status == 0 else {
            throw HarnessError("scripts/broker \(arguments.joined(separator: " ")) exited with \(status)")
        }
    }

    /// Starts `path` with stdout sent to stderr (the report owns stdout) and returns its exit status.
    static func spawnAndWait(_ path: String, _ arguments: [String]) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, 2, 1)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        guard posix_spawn(&pid, path, &actions, nil, argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1, errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
