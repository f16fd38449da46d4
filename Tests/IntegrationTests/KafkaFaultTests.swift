import Foundation
import StreamKit
import Testing

/// Bad input and faults: every one ends in a clear error within a bounded time, never a hang or a silent drop.
@Suite(.enabled(if: TestBroker.shouldRun), .serialized, .timeLimit(.minutes(2)))
struct KafkaFaultTests {
    /// A socket bound to a free 127.0.0.1 port, and that port's address.
    static func boundSocket() -> (fd: Int32, address: String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, "127.0.0.1:\(UInt16(bigEndian: address.sin_port))")
    }

    /// A 127.0.0.1 port nobody listens on.
    static func closedPort() throws -> String {
        let (fd, address) = boundSocket()
        close(fd)
        return address
    }

    /// A 127.0.0.1 port that takes connections and never answers (a broker hung or cut off), open while
    /// `body` runs.
    static func withSilentPort<T>(_ body: (String) async throws -> T) async throws -> T {
        let (fd, address) = boundSocket()
        defer { close(fd) }
        listen(fd, 16)
        return try await body(address)
    }

    @Test func unreachableBrokerFailsSendWithinTheDeliveryTimeout() async throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [try Self.closedPort()])
        configuration.deliveryTimeout = .seconds(2)
        let producer = try KafkaProducer(configuration: configuration, logger: TestBroker.logger)
        let started = ContinuousClock.now
        let error = await #expect(throws: KafkaError.self) {
            try await producer.send(KafkaProducerRecord(topic: "nowhere", value: "x".bytes))
        }
        let elapsed = ContinuousClock.now - started
        #expect(error?.code == .brokerUnreachable, "\(String(describing: error))")
        #expect(error?.message.contains("Connection refused") == true, "\(String(describing: error))")
        #expect(elapsed < .seconds(10))
        await producer.close()
    }

    @Test func unreachableBrokerFailsSubscribeAndAdminWithinTheirTimeouts() async throws {
        let address = try Self.closedPort()
        var consumerConfiguration = KafkaConsumerConfiguration(bootstrapServers: [address], groupID: "g")
        consumerConfiguration.connectTimeout = .seconds(1)
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: TestBroker.logger)
        var started = ContinuousClock.now
        let consumerError = await #expect(throws: KafkaError.self) { try await consumer.subscribe(topics: ["t"]) }
        #expect(consumerError?.code == .brokerUnreachable)
        #expect(consumerError?.message.contains(address) == true)
        #expect(ContinuousClock.now - started < .seconds(5))
        await consumer.close()

        var adminConfiguration = KafkaAdminConfiguration(bootstrapServers: [address])
        adminConfiguration.requestTimeout = .seconds(1)
        let admin = try KafkaAdmin(configuration: adminConfiguration, logger: TestBroker.logger)
        started = ContinuousClock.now
        let adminError = await #expect(throws: KafkaError.self) {
            try await admin.createTopics([KafkaNewTopic(name: "t", partitions: 1)])
        }
        #expect(adminError?.code == .brokerUnreachable || adminError?.code == .timedOut)
        #expect(ContinuousClock.now - started < .seconds(5))
        await admin.close()
    }

    @Test(arguments: [false, true])
    func offsetQueriesFailWithinTheRequestTimeoutWhenNoBrokerAnswers(silent: Bool) async throws {
        let query = { (address: String) in
            var configuration = KafkaConsumerConfiguration(bootstrapServers: [address])
            configuration.requestTimeout = .seconds(1)
            let consumer = try KafkaConsumer(configuration: configuration, logger: TestBroker.logger)
            let partition = TopicPartition(topic: "t", partition: 0)
            let started = ContinuousClock.now
            await #expect(throws: KafkaError.self) { try await consumer.watermarks(partition) }
            await #expect(throws: KafkaError.self) { try await consumer.endOffsets([partition]) }
            #expect(ContinuousClock.now - started < .seconds(10))
            await consumer.close()
        }
        if silent { try await Self.withSilentPort(query) } else { try await query(try Self.closedPort()) }
    }

    @Test func recordOverTheProducerLimitIsAnErrorFromSend() async throws {
        let topic = TestBroker.uniqueName("too-large")
        try await TestBroker.createTopic(topic, partitions: 1)
        let producer = try TestBroker.producer { $0.maxMessageBytes = 10_000 }
        let error = await #expect(throws: KafkaError.self) {
            try await producer.send(KafkaProducerRecord(topic: topic, value: [UInt8](repeating: 7, count: 20_000)))
        }
        #expect(error?.code == .messageTooLarge)
        // The producer is still usable after the rejection.
        let report = try await producer.send(KafkaProducerRecord(topic: topic, value: [1, 2, 3]))
        #expect(report.offset == 0)
        await producer.close()
    }
}
