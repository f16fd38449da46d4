import Logging
import MetricsTestKit
import Synchronization
import Testing

@testable import StreamKit

/// librdkafka's logs reach the Logger a client was given; its statistics reach swift-metrics.
@Suite(.timeLimit(.minutes(1)))
struct KafkaObservabilityTests {
    @Test func librdkafkaLogsGoToTheGivenLogger() async throws {
        let captured = CapturedLogs()
        let logger = Logger(label: "captured") { _ in CapturingLogHandler(captured: captured) }
        var configuration = KafkaAdminConfiguration(bootstrapServers: ["127.0.0.1:1"])
        configuration.requestTimeout = .milliseconds(500)
        let admin = try KafkaAdmin(configuration: configuration, logger: logger)
        _ = try? await admin.listTopics()
        await admin.close()
        let lines = captured.lines
        #expect(lines.contains { $0.message.contains("Connection refused") && $0.metadata["kafka.client"] != nil },
                "librdkafka's connection failure was not logged: \(lines)")
    }

    @Test func statisticsBecomeGauges() async throws {
        let metrics = TestMetrics()
        var configuration = KafkaProducerConfiguration(bootstrapServers: [])
        configuration.clientID = "stats-test"
        configuration.additionalProperties["test.mock.num.brokers"] = "1"
        configuration.statisticsInterval = .milliseconds(100)
        configuration.metricsFactory = metrics
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        for i in 0..<10 { _ = try await producer.send(KafkaProducerRecord(topic: "stats", value: [UInt8(i)])) }
        try await Task.sleep(for: .milliseconds(400))
        await producer.close()
        let sent = try metrics.expectGauge("kafka_client_txmsgs", [("client", "stats-test")])
        #expect((sent.lastValue ?? 0) >= 10)
    }
}

/// Log lines captured by ``CapturingLogHandler``.
final class CapturedLogs: Sendable {
    struct Line: Sendable {
        var message: String
        var metadata: [String: String]
    }

    private let store = Mutex<[Line]>([])
    var lines: [Line] { store.withLock { $0 } }
    func append(_ line: Line) { store.withLock { $0.append(line) } }
}

struct CapturingLogHandler: LogHandler {
    let captured: CapturedLogs
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }.mapValues { "\($0)" }
        captured.append(CapturedLogs.Line(message: "\(event.message)", metadata: merged))
    }
}
