import CRdKafka
import Logging
import MetricsTestKit
import StreamKit
import Testing

@testable import StreamKit

/// Exactly-once recovery against librdkafka's in-process mock cluster, which can inject broker errors into
/// transactional requests. The mock cluster neither isolates read_committed readers nor stores offsets sent in a
/// transaction, so these tests check recovery (fenced producer replaced, aborted work redone, nothing lost), not
/// the absence of duplicates; that is checked on Tansu by the integration tests.
@Suite(.timeLimit(.minutes(2)), .serialized)
struct ExactlyOnceFaultTests {
    var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    /// A producer hosting a mock cluster, and the cluster's bootstrap address.
    func mockCluster() throws -> (KafkaProducer, String) {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [])
        configuration.additionalProperties["test.mock.num.brokers"] = "1"
        let host = try KafkaProducer(configuration: configuration, logger: logger)
        let bootstrap = try #require(host._testWithMockCluster { cluster in
            // A group's first join waits out this delay without heartbeats: it must stay below the session timeout.
            rd_kafka_mock_group_initial_rebalance_delay_ms(cluster, 0)
            return String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        })
        return (host, bootstrap)
    }

    func application(_ bootstrap: String, input: String, output: String, metrics: TestMetrics) throws -> StreamsApplication {
        let builder = StreamsBuilder()
        builder.stream(input, key: .string, value: .string).mapValues { $0.uppercased() }.to(output)
        var configuration = StreamsConfiguration(applicationID: "eos-faults", bootstrapServers: [bootstrap])
        configuration.useLocalBrokerDefaults()
        configuration.processingGuarantee = .exactlyOnce
        configuration.metricsFactory = metrics
        return StreamsApplication(topology: try builder.build(), configuration: configuration, logger: logger)
    }

    func produce(_ producer: KafkaProducer, _ topic: String, _ range: Range<Int>) async throws {
        for i in range {
            _ = try await producer.send(KafkaProducerRecord(topic: topic, key: Array("k\(i % 7)".utf8), value: Array("v\(i)".utf8)))
        }
    }

    func waitForOutput(_ bootstrap: String, _ topic: String, containing expected: Set<String>, timeout: Duration = .seconds(60)) async throws -> Set<String> {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: [bootstrap])
        configuration.useLocalBrokerDefaults()
        // The reader is not under test: on two cores shared with the rest of the suite it may take longer than
        // the 10 s the local defaults allow to reach the mock cluster.
        configuration.connectTimeout = timeout
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        try await consumer.assign((0..<4).map { TopicPartitionOffset(topic: topic, partition: $0, offset: KafkaConsumer.beginning) })
        var seen: Set<String> = []
        let deadline = ContinuousClock.now + timeout
        while !expected.isSubset(of: seen), ContinuousClock.now < deadline {
            for record in try await consumer.poll(maxRecords: 1000, timeout: .milliseconds(100)) {
                seen.insert(String(decoding: record.value ?? [], as: UTF8.self))
            }
        }
        await consumer.close()
        return seen
    }

    func inject(_ host: KafkaProducer, apiKey: Int16, _ error: rd_kafka_resp_err_t) {
        _ = host._testWithMockCluster { cluster in
            var errors = [error]
            rd_kafka_mock_push_request_errors_array(cluster, apiKey, 1, &errors)
        }
    }

    func run(injecting error: rd_kafka_resp_err_t, into apiKey: Int16, expectReplacedProducer: Bool) async throws {
        let (host, bootstrap) = try mockCluster()
        let (input, output) = ("in-\(UInt32.random(in: 0...UInt32.max))", "out-\(UInt32.random(in: 0...UInt32.max))")
        try await produce(host, input, 0..<50)
        let metrics = TestMetrics()
        let app = try application(bootstrap, input: input, output: output, metrics: metrics)
        let running = Task { try await app.run() }
        let first = try await waitForOutput(bootstrap, output, containing: Set((0..<50).map { "V\($0)" }))
        #expect(first.count >= 50)

        inject(host, apiKey: apiKey, error)
        try await produce(host, input, 50..<100)
        let all = try await waitForOutput(bootstrap, output, containing: Set((0..<100).map { "V\($0)" }))
        let missing = Set((0..<100).map { "V\($0)" }).subtracting(all)
        #expect(missing.isEmpty, "missing after recovery: \(missing.sorted().prefix(5))")
        #expect(app.state == .running)
        let aborted = try metrics.expectCounter("streamkit_transactions_aborted_total", [("application", "eos-faults")])
        #expect(aborted.totalValue >= 1)
        if expectReplacedProducer {
            let replaced = try metrics.expectCounter("streamkit_producers_replaced_total", [("application", "eos-faults")])
            #expect(replaced.totalValue >= 1)
        }
        app.shutdown()
        do { try await running.value } catch { Issue.record("the application failed: \(error)") }
        await host.close()
    }

    @Test func aFencedProducerIsReplacedAndTheAbortedWorkRedone() async throws {
        try await run(injecting: RD_KAFKA_RESP_ERR_PRODUCER_FENCED, into: 26 /* EndTxn */, expectReplacedProducer: true)
    }

    @Test func anAbortableCommitErrorAbortsAndRedoes() async throws {
        try await run(injecting: RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, into: 24 /* AddPartitionsToTxn */, expectReplacedProducer: false)
    }
}
