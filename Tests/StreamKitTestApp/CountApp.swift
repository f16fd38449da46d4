import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import StreamKit

/// A stateful StreamKit application: counts the records of each key of `--input` in a store (RocksDB, or
/// memory with `--in-memory`) and writes `key → count` to `--output` on each record. Prints `STATE <state>`
/// lines, and `RESTORED <store> <records>` once per task whose store was restored.
struct CountApp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "count")

    @Option var bootstrap: String
    @Option var applicationID: String
    @Option var input: String
    @Option var output: String
    @Option var stateDir: String
    @Option var guarantee: String = "at-least-once"
    @Option var commitIntervalMs: Int?
    @Flag var inMemory = false

    func run() async throws {
        var logger = Logger(label: "streamkit-test-app") { label in RestorationReporter(label: label) }
        logger.logLevel = .info
        let builder = StreamsBuilder()
        builder.addStore(
            inMemory
                ? Stores.inMemoryKeyValue("counts", key: .string, value: Serde<Int64>.bigEndian)
                : Stores.persistentKeyValue("counts", key: .string, value: Serde<Int64>.bigEndian)
        )
        builder.stream(input, key: .string, value: .string)
            .process(named: "count", stores: ["counts"]) { Counter() }
            .to(output, key: .string, value: .string)
        var configuration = StreamsConfiguration(applicationID: applicationID, bootstrapServers: [bootstrap])
        configuration.useLocalBrokerDefaults()
        configuration.stateDirectory = stateDir
        configuration.processingGuarantee = guarantee == "exactly-once" ? .exactlyOnce : .atLeastOnce
        if let commitIntervalMs { configuration.commitInterval = .milliseconds(commitIntervalMs) }
        let application = StreamsApplication(topology: try builder.build(), configuration: configuration, logger: logger)
        try await UpperCaseApp.runReportingStates(application, logger: logger)
    }

    final class Counter: Processor {
        var context: ProcessorContext<String, String>?
        var store: KeyValueStore<String, Int64>?

        func initialize(context: ProcessorContext<String, String>) throws {
            self.context = context
            store = try context.keyValueStore(named: "counts")
        }

        func process(_ record: Record<String, String>) async throws {
            guard let store else { return }
            let count = (try store.get(record.key) ?? 0) + 1
            try await store.put(record.key, count)
            try await context?.forward(record.withValue(String(count)))
        }
    }

    /// Prints `RESTORED <store> <records>` for each "store restored" log line, other lines to stderr.
    struct RestorationReporter: LogHandler {
        var label: String
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        private let stream = StreamLogHandler.standardError(label: "streamkit-test-app")

        init(label: String) { self.label = label }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            if event.message.description == "store restored", let store = event.metadata?["store"], let records = event.metadata?["records"] {
                FileHandle.standardOutput.write(Data("RESTORED \(store) \(records)\n".utf8))
            }
            stream.log(event: event)
        }
    }
}
