import CRdKafka
import Logging
import Synchronization
import Testing

@testable import StreamKit

/// Broker-side rejections, injected through librdkafka's in-process mock cluster (the local brokers do not
/// enforce topic size limits: Tansu accepts records over `max.message.bytes`, the mock cluster has no topic
/// configs).
@Suite(.timeLimit(.minutes(1)))
struct KafkaProducerBrokerErrorTests {
    func mockProducer() throws -> KafkaProducer {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [])
        configuration.additionalProperties["test.mock.num.brokers"] = "1"
        configuration.deliveryTimeout = .seconds(10)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try KafkaProducer(configuration: configuration, logger: logger)
    }

    @Test func recordOverTheBrokersTopicLimitIsAnErrorFromSend() async throws {
        let producer = try mockProducer()
        let topic = "limited"
        // Warm up so that the topic exists and the producer has its id.
        _ = try await producer.send(KafkaProducerRecord(topic: topic, value: [0]))
        let injected = producer._testWithMockCluster { cluster -> Bool in
            var errors = [RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE]
            rd_kafka_mock_push_request_errors_array(cluster, 0 /* Produce */, 1, &errors)
            return true
        }
        #expect(injected == true)
        let error = await #expect(throws: KafkaError.self) {
            try await producer.send(KafkaProducerRecord(topic: topic, value: [UInt8](repeating: 1, count: 5_000)))
        }
        #expect(error?.code == .messageTooLarge, "\(String(describing: error))")
        // Nothing is silently dropped afterwards: the next record is delivered.
        let report = try await producer.send(KafkaProducerRecord(topic: topic, value: [2]))
        #expect(report.topic == topic)
        await producer.close()
    }

    @Test func closeFailsQueuedRecordsInsteadOfDroppingThem() async throws {
        let producer = try mockProducer()
        _ = try await producer.send(KafkaProducerRecord(topic: "t", value: [0]))
        // The broker is gone, so records are still queued when close gives up flushing, however slow the machine.
        _ = producer._testWithMockCluster { cluster in rd_kafka_mock_broker_set_down(cluster, 1) }
        let outcomes = OutcomeCounter()
        for i in 0..<10 {
            try await producer.send(KafkaProducerRecord(topic: "t", value: [UInt8(i)])) { outcomes.record($0) }
        }
        await producer.close(timeout: .milliseconds(100))
        #expect(outcomes.total == 10, "every record's completion ran exactly once")
        #expect(outcomes.failures > 0)
        let error = await #expect(throws: KafkaError.self) { try await producer.send(KafkaProducerRecord(topic: "t", value: [1])) }
        #expect(error?.code == .closed)
    }
}

final class OutcomeCounter: Sendable {
    private let counts = Mutex((successes: 0, failures: 0))
    func record(_ result: Result<KafkaDeliveryReport, KafkaError>) {
        counts.withLock { if case .success = result { $0.successes += 1 } else { $0.failures += 1 } }
    }
    var total: Int { counts.withLock { $0.successes + $0.failures } }
    var failures: Int { counts.withLock { $0.failures } }
}
