import ArgumentParser
import Dispatch
import Glibc
import Gateways
import Logging
import StreamKit

/// Runs the main job against a Kafka cluster. Until the engine and gateways land this checks the cluster,
/// reports what it found, and stays up until SIGINT or SIGTERM.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the dataflow engine against a Kafka cluster."
    )

    @Option(help: "Kafka bootstrap servers, host:port[,host:port...].")
    var bootstrap: String

    @Option(help: "How long to wait for the cluster to answer, in seconds.")
    var connectTimeout: Int = 10

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "dataflow")
        logger.logLevel = .info
        var configuration = KafkaAdminConfiguration(bootstrapServers: bootstrap.split(separator: ",").map(String.init))
        configuration.requestTimeout = .seconds(connectTimeout)
        let admin = try KafkaAdmin(configuration: configuration, logger: logger)
        do {
            let topics = try await admin.listTopics()
            await admin.close()
            print("dataflow: Kafka cluster at \(bootstrap) answers; \(topics.count) topic(s)")
            print("dataflow: waiting for SIGINT/SIGTERM (the engine and gateways arrive with later releases)")
        } catch {
            await admin.close()
            throw error
        }
        await waitForTerminationSignal()
        print("dataflow: stopped")
    }
}

private func waitForTerminationSignal() async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let queue = DispatchQueue(label: "dataflow.signals")
        let once = SignalOnce(continuation)
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler { once.fire() }
            source.resume()
            once.retain(source)
        }
    }
}

/// Resumes the waiting task on the first signal and keeps the signal sources alive until then.
private final class SignalOnce: @unchecked Sendable {
    // Touched only on the "dataflow.signals" queue after set-up.
    private var continuation: CheckedContinuation<Void, Never>?
    private var sources: [any DispatchSourceSignal] = []

    init(_ continuation: CheckedContinuation<Void, Never>) { self.continuation = continuation }
    func retain(_ source: any DispatchSourceSignal) { sources.append(source) }
    func fire() {
        continuation?.resume()
        continuation = nil
    }
}
