import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import StreamKit

/// Programs the tests run as separate processes: a StreamKit application (to kill, restart and stop with
/// signals) and a store filler whose memory is measured on its own.
@main
struct StreamKitTestApp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streamkit-test-app",
        subcommands: [UpperCaseApp.self, CountApp.self, FillStore.self],
        defaultSubcommand: UpperCaseApp.self
    )
}

/// A small StreamKit application: reads `--input`, upper-cases values (after `--delay-ms` per record), writes `--output`.
/// A value "poison" fails processing. Each output record carries the input's partition and offset and the id
/// of the process run that wrote it (headers `test.source` and `test.run`), so a test can tell which run
/// produced what. Prints `STATE <state>` lines as the application changes state.
struct UpperCaseApp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "upper-case")

    @Option var bootstrap: String
    @Option var applicationID: String
    @Option var input: String
    @Option var output: String
    @Option var guarantee: String = "at-least-once"
    @Option var instanceID: String?
    @Option var delayMs: Int = 0
    @Option var commitIntervalMs: Int?
    @Option var deadLetter: String?

    func run() async throws {
        var logger = Logger(label: "streamkit-test-app")
        logger.logLevel = .info
        let delay = Duration.milliseconds(delayMs)
        let run = UUID().uuidString
        let builder = StreamsBuilder()
        builder.stream(input, key: .string, value: .string)
            .process(named: "upper-case") { UpperCase(delay: delay, run: run) }
            .to(output, key: .string, value: .string)
        var configuration = StreamsConfiguration(applicationID: applicationID, bootstrapServers: [bootstrap])
        configuration.useLocalBrokerDefaults()
        configuration.processingGuarantee = guarantee == "exactly-once" ? .exactlyOnce : .atLeastOnce
        if let instanceID { configuration.instanceID = instanceID }
        if let commitIntervalMs { configuration.commitInterval = .milliseconds(commitIntervalMs) }
        if let deadLetter { configuration.errorHandling = .deadLetter(deadLetter) }
        let application = StreamsApplication(topology: try builder.build(), configuration: configuration, logger: logger)
        try await Self.runReportingStates(application, logger: logger)
    }

    /// Runs `application` until SIGTERM or SIGINT, printing `STATE <state>` on each change.
    static func runReportingStates(_ application: StreamsApplication, logger: Logger) async throws {
        let watcher = Task {
            for await state in application.stateUpdates() {
                FileHandle.standardOutput.write(Data("STATE \(state.rawValue)\n".utf8))
            }
        }
        let group = ServiceGroup(
            configuration: .init(services: [application], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
        await watcher.value
    }

    final class UpperCase: Processor {
        let delay: Duration
        let run: String
        var context: ProcessorContext<String, String>?

        init(delay: Duration, run: String) {
            self.delay = delay
            self.run = run
        }

        func initialize(context: ProcessorContext<String, String>) throws { self.context = context }

        func process(_ record: Record<String, String>) async throws {
            if record.value == "poison" { throw PoisonError() }
            if delay > .zero { try await Task.sleep(for: delay) }
            var output = record.withValue(record.value.uppercased())
            let source = record.metadata.map { "\($0.partition):\($0.offset)" } ?? "-"
            output.headers += [KafkaHeader(key: "test.source", value: source), KafkaHeader(key: "test.run", value: run)]
            try await context?.forward(output)
        }
    }

    struct PoisonError: Error, CustomStringConvertible {
        var description: String { "poison value" }
    }
}
