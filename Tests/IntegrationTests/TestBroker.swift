import Foundation
import Synchronization
import Logging
import ProjectScripts
import StreamKit
import Testing

/// The brokers `scripts/test` started: Tansu (`STREAMKIT_TEST_BOOTSTRAP`) and the mock cluster
/// (`STREAMKIT_TEST_MOCK_BOOTSTRAP`). Under `make test` (`STREAMKIT_TEST_REQUIRE_BROKER=1`) a missing broker
/// fails the tests; a bare `swift test` skips them.
enum TestBroker {
    static let tansu = ProcessInfo.processInfo.environment["STREAMKIT_TEST_BOOTSTRAP"]
    static let mock = ProcessInfo.processInfo.environment["STREAMKIT_TEST_MOCK_BOOTSTRAP"]
    static let required = ProcessInfo.processInfo.environment["STREAMKIT_TEST_REQUIRE_BROKER"] == "1"
    static let shouldRun = required || tansu != nil

    /// Runs `body` with the bootstrap address of a Tansu of its own behind the transaction shim (which does what
    /// Tansu leaves out of transactions, as Kafka does), and stops it however `body` ends.
    static func withShimmedTansu(_ name: String, _ body: (String) async throws -> Void) async throws {
        let broker = try await LocalBroker.start(kind: "tansu", name: uniqueName(name), transactionShim: true)
        // DATAFLOW_TEST_KEEP_BROKERS=1 leaves it running, to look into what a failed test left on it.
        let keep = ProcessInfo.processInfo.environment["DATAFLOW_TEST_KEEP_BROKERS"] == "1"
        do {
            try await body(broker.address)
        } catch {
            if !keep { await broker.stop() }
            throw error
        }
        if !keep { await broker.stop() }
    }

    /// DATAFLOW_TEST_KAFKA_DEBUG=cgrp,eos (librdkafka's `debug` contexts) makes the clients that a test passes
    /// through here log librdkafka's debug lines (shown with DATAFLOW_TEST_LOG_LEVEL=debug).
    static func applyKafkaDebug(_ properties: inout [String: String]) {
        if let contexts = ProcessInfo.processInfo.environment["DATAFLOW_TEST_KAFKA_DEBUG"] { properties["debug"] = contexts }
    }

    static var logger: Logger {
        var logger = Logger(label: "streamkit.test")
        // DATAFLOW_TEST_LOG_LEVEL=info (or debug) shows what the components under test do.
        logger.logLevel = ProcessInfo.processInfo.environment["DATAFLOW_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return logger
    }

    static func bootstrap(_ kind: Kind = .tansu) throws -> String {
        switch kind {
        case .tansu: try #require(tansu, "STREAMKIT_TEST_BOOTSTRAP is not set: run the tests through `make test`")
        case .mock: try #require(mock, "STREAMKIT_TEST_MOCK_BOOTSTRAP is not set: run the tests through `make test`")
        }
    }

    enum Kind: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case tansu
        case mock
        var testDescription: String { rawValue }
    }

    /// `prefix` and 64 random bits: a suite making thousands of names (request keys among them) must not draw
    /// the same one twice (with 32 bits, one run in a thousand of the churn test did).
    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(String(UInt64.random(in: .min ... .max), radix: 16))"
    }

    static func producer(_ kind: Kind = .tansu, _ configure: (inout KafkaProducerConfiguration) -> Void = { _ in }) throws -> KafkaProducer {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [try bootstrap(kind)])
        configuration.useLocalBrokerDefaults()
        configure(&configuration)
        return try KafkaProducer(configuration: configuration, logger: logger)
    }

    static func consumer(
        _ kind: Kind = .tansu,
        group: String? = nil,
        listener: (any KafkaRebalanceListener)? = nil,
        _ configure: (inout KafkaConsumerConfiguration) -> Void = { _ in }
    ) throws -> KafkaConsumer {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: [try bootstrap(kind)], groupID: group)
        configuration.useLocalBrokerDefaults()
        configure(&configuration)
        return try KafkaConsumer(configuration: configuration, rebalanceListener: listener, logger: logger)
    }

    static func admin(_ kind: Kind = .tansu) throws -> KafkaAdmin {
        var configuration = KafkaAdminConfiguration(bootstrapServers: [try bootstrap(kind)])
        configuration.requestTimeout = .seconds(10)
        return try KafkaAdmin(configuration: configuration, logger: logger)
    }

    /// Creates a topic (Tansu) or lets the mock cluster auto-create it (4 partitions), and waits until it is ready.
    static func createTopic(_ name: String, partitions: Int32 = 4, kind: Kind = .tansu, configs: [String: String] = [:]) async throws {
        let admin = try admin(kind)
        if kind == .tansu {
            try await admin.createTopics([KafkaNewTopic(name: name, partitions: partitions, configs: configs)])
        } else {
            precondition(partitions == 4, "the mock cluster auto-creates topics with 4 partitions")
            let producer = try producer(kind)
            _ = try? await producer.send(KafkaProducerRecord(topic: name, value: nil))
            await producer.close()
        }
        try await admin.waitUntilReady([name], timeout: .seconds(10))
        await admin.close()
    }

    /// Polls until `count` records arrived or `timeout` passed; returns what arrived.
    static func consume(_ consumer: KafkaConsumer, count: Int, timeout: Duration = .seconds(30)) async throws -> [KafkaConsumerRecord] {
        var records: [KafkaConsumerRecord] = []
        let deadline = ContinuousClock.now + timeout
        while records.count < count, ContinuousClock.now < deadline {
            records += try await consumer.poll(maxRecords: count - records.count, timeout: .milliseconds(100))
        }
        return records
    }

    /// An executable of this package built beside the tests (`swift build --build-tests` builds them all).
    static func executable(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/\(name)")
    }

    static func partitions(_ topic: String, count: Int32) -> [TopicPartition] {
        (0..<count).map { TopicPartition(topic: topic, partition: $0) }
    }
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}

extension Array where Element == UInt8 {
    var string: String { String(decoding: self, as: UTF8.self) }
}

/// A flag one task sets and another polls.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .acquiring) }
    func set() { flag.store(true, ordering: .releasing) }
}
