import Foundation
import ProjectScripts

/// The `dataflow serve` processes of a soak: each on ports and a state directory of its own, which it keeps when
/// it is killed and started again (so it comes back as the same instance).
actor SoakInstances {
    struct Instance {
        var process: ChildProcess?
        var http: Int
        var control: Int
        var state: String
        var paused = false
    }

    private let executable: String
    private let arguments: [String]
    private let directory: String
    private var instances: [Instance] = []

    /// - Parameter arguments: the `serve` arguments every instance shares (bootstrap, namespace, guarantee).
    init(count: Int, arguments: [String], directory: String) {
        executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        self.arguments = arguments
        self.directory = directory
        instances = (0..<count).map { index in
            Instance(http: LocalPort.free(), control: LocalPort.free(), state: "\(directory)/instance-\(index)")
        }
    }

    var count: Int { instances.count }

    func start(_ index: Int) throws {
        let instance = instances[index]
        let log = "\(directory)/instance-\(index).log"
        let process = try ChildProcess.start(executable, ["serve"] + arguments + [
            "--http-port", "\(instance.http)", "--grpc-port", "\(LocalPort.free())", "--control-port", "\(instance.control)",
            "--state-dir", instance.state, "--instance-id", "soak-\(index)",
        ], output: log + ".out", errors: log, appending: true)
        instances[index].process = process
        instances[index].paused = false
    }

    func kill(_ index: Int) async {
        guard let process = instances[index].process else { return }
        process.send(SIGKILL)
        _ = await process.wait()
        instances[index].process = nil
    }

    func pause(_ index: Int) {
        instances[index].process?.send(SIGSTOP)
        instances[index].paused = true
    }

    func resume(_ index: Int) {
        instances[index].process?.send(SIGCONT)
        instances[index].paused = false
    }

    /// Stops every instance with SIGTERM (resuming paused ones first) and waits for them.
    func stopAll() async {
        for index in instances.indices {
            guard let process = instances[index].process else { continue }
            if instances[index].paused { process.send(SIGCONT) }
            process.send(SIGTERM)
            _ = await process.wait()
            instances[index].process = nil
        }
    }

    /// The inference and control URLs of the instances running and not paused.
    func available() -> [(inference: String, control: String)] {
        instances.filter { $0.process != nil && !$0.paused }.map { ("http://127.0.0.1:\($0.http)", "http://127.0.0.1:\($0.control)") }
    }

    func controlURL(_ index: Int) -> String { "http://127.0.0.1:\(instances[index].control)" }
}
