import ArgumentParser
import Dataflow
import Foundation
import Gateways
import Hummingbird
import Logging
import ProjectScripts
import StreamKit

/// `dataflow soak`: the sample pipelines on several `dataflow serve` instances under a steady load while faults
/// are injected on a schedule; at the end, what became of every request, per pipeline. Exits 1 when a request
/// never came back, or (exactly-once) came back twice.
struct SoakCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Run the sample pipelines under load while injecting faults; count what became of every request.",
        discussion: """
            Starts the instances itself (this executable's `serve`), a local broker unless --bootstrap names a \
            cluster, and MLServer with the sample models unless --model-server names a server; the models are \
            called through a proxy that can make them slow or fail. Faults: SIGKILL and restart of an instance, \
            SIGSTOP/SIGCONT of one for three session timeouts, the model server down, slow models, models \
            answering 503, records that are not requests on the pipelines' inputs. With --broker mock3, the local \
            broker is librdkafka's mock cluster of three brokers, and each in turn is taken down and brought back. \
            Exactly-once on the local Tansu puts tools/transaction-shim.py in front of it, which does what Tansu \
            leaves out of transactions (aborted records hidden from read_committed readers, zombies fenced).
            """
    )

    @Option(help: "How long the load and the faults last: 10m, 120s.") var duration = DurationArgument(seconds: 600)
    @Option(help: "Requests per second, over all pipelines.") var rate: Double = 10
    @Option(help: "Kafka bootstrap servers. Default: a local broker started from the project's venv.") var bootstrap: String?
    @Flag(help: "Settings for a local single-node broker (short sessions); implied without --bootstrap.") var localBroker = false
    @Option(help: "The local broker without --bootstrap: tansu, or mock3 (librdkafka's mock cluster of 3 brokers, taken down in turn; at-least-once only).")
    var broker = "tansu"
    @Option(help: "OIP REST base URL of a server with the sample models. Default: MLServer started from the checkout.")
    var modelServer: String?
    @Option(help: "The folder of resources to apply; requests come from its requests/ folder.") var topologies = "topologies"
    @Option(help: "at-least-once or exactly-once.") var processingGuarantee = "at-least-once"
    @Option(help: "How many instances of `dataflow serve`.") var instances = 2
    @Option(help: "How long to wait at the end for everything sent to come back.") var settle = DurationArgument(seconds: 180)
    @Option(help: "Where the instances keep their state and logs. Default: a new folder in the temporary directory.")
    var workDirectory: String?

    func validate() throws {
        guard rate > 0 else { throw ValidationError("--rate must be above 0") }
        guard instances >= 2 else { throw ValidationError("--instances must be 2 or more: faults stop one while the other serves") }
        guard StreamsConfiguration.ProcessingGuarantee(rawValue: processingGuarantee) != nil else {
            throw ValidationError("--processing-guarantee is at-least-once or exactly-once, not '\(processingGuarantee)'")
        }
        guard ["tansu", "mock3"].contains(broker) else { throw ValidationError("--broker is tansu or mock3, not '\(broker)'") }
        if broker == "mock3" {
            guard bootstrap == nil else { throw ValidationError("--broker mock3 starts a local mock cluster: leave out --bootstrap") }
            guard processingGuarantee == "at-least-once" else {
                throw ValidationError("--broker mock3 runs at-least-once only: the mock cluster never stores offsets sent inside a transaction")
            }
        }
    }

    func run() async throws {
        let logger = LogSetup().bootstrap(label: "soak")
        let pid = ProcessInfo.processInfo.processIdentifier
        let work = workDirectory ?? FileManager.default.temporaryDirectory.appendingPathComponent("dataflow-soak-\(pid)").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)

        var broker: LocalBroker?
        var server: LocalModelServer?
        var stopping: [any DispatchSourceSignal] = []
        defer { _ = stopping }
        let address: String
        if let bootstrap {
            address = bootstrap
        } else {
            let started = self.broker == "mock3"
                ? try await LocalBroker.start(kind: "mock", name: "soak-\(pid)", brokers: 3, controlled: true)
                : try await LocalBroker.start(kind: "tansu", name: "soak-\(pid)", transactionShim: processingGuarantee == "exactly-once")
            stopping = started.stopOnSignals()
            broker = started
            address = started.address
        }
        let run = SoakRun(
            command: self, bootstrap: address, localBroker: localBroker || broker != nil, work: work, logger: logger,
            mockCluster: self.broker == "mock3" ? broker : nil
        )

        do {
            let upstream: String
            if let modelServer {
                upstream = modelServer
            } else {
                let started = try await LocalModelServer.start(name: "soak-\(pid)-mlserver")
                server = started
                upstream = started.address
            }
            let passed = try await run.run(modelServer: upstream, localServer: server)
            await server?.stop()
            await broker?.stop()
            if !passed { throw ExitCode(1) }
        } catch {
            await server?.stop()
            await broker?.stop()
            throw error
        }
    }
}
