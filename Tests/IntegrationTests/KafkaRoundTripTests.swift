import StreamKit
import Synchronization
import Testing

@Suite(.enabled(if: TestBroker.shouldRun), .serialized, .timeLimit(.minutes(2)))
struct KafkaRoundTripTests {
    @Test(arguments: TestBroker.Kind.allCases)
    func keysHeadersAndTimestampsSurviveTheRoundTrip(broker: TestBroker.Kind) async throws {
        let topic = TestBroker.uniqueName("roundtrip")
        try await TestBroker.createTopic(topic, kind: broker)
        let producer = try TestBroker.producer(broker)
        let baseTimestamp: Int64 = 1_700_000_000_000
        var sent: [Int: KafkaDeliveryReport] = [:]
        for i in 0..<20 {
            let record = KafkaProducerRecord(
                topic: topic,
                key: "key-\(i)".bytes,
                value: i == 7 ? [] : "value-\(i)".bytes,
                headers: [
                    KafkaHeader(key: "index", value: "\(i)"),
                    KafkaHeader(key: "empty", value: []),
                    KafkaHeader(key: "null", value: nil),
                    KafkaHeader(key: "index", value: "again"),
                ],
                timestamp: baseTimestamp + Int64(i)
            )
            sent[i] = try await producer.send(record)
        }
        await producer.close()

        let consumer = try TestBroker.consumer(broker)
        try await consumer.assign(TestBroker.partitions(topic, count: 4).map { TopicPartitionOffset($0, offset: KafkaConsumer.beginning) })
        let records = try await TestBroker.consume(consumer, count: 20 + (broker == .mock ? 1 : 0))
        await consumer.close()

        let received = records.filter { $0.key != nil }
        #expect(received.count == 20)
        for record in received {
            let key = try #require(record.key).string
            let i = try #require(Int(key.dropFirst(4)))
            let report = try #require(sent[i])
            #expect(record.topic == topic)
            #expect(record.partition == report.partition)
            #expect(record.offset == report.offset)
            #expect(record.value == (i == 7 ? [] : "value-\(i)".bytes))
            #expect(record.timestamp == baseTimestamp + Int64(i))
            #expect(record.timestampType == .createTime)
            #expect(record.headers.map(\.key) == ["index", "empty", "null", "index"])
            #expect(record.headers[0].value == "\(i)".bytes)
            #expect(record.headers[1].value == [])
            #expect(record.headers[2].value == nil)
            #expect(record.headers.string("index") == "again")
        }
    }

    @Test func enqueuedRecordsReportEachOutcomeOnceToTheDeliveryHandlerUnderTheirIDs() async throws {
        let topic = TestBroker.uniqueName("enqueue")
        try await TestBroker.createTopic(topic, partitions: 4)
        var configuration = KafkaProducerConfiguration(bootstrapServers: [try TestBroker.bootstrap()])
        configuration.useLocalBrokerDefaults()
        let reports = Mutex<[KafkaProducerMessageID: [Result<KafkaDeliveryReport, KafkaError>]]>([:])
        let producer = try KafkaProducer(configuration: configuration, logger: TestBroker.logger) { id, outcome in
            reports.withLock { $0[id, default: []].append(outcome) }
        }
        var ids: [KafkaProducerMessageID] = []
        for i in 0..<500 {
            ids.append(try await producer.enqueue(KafkaProducerRecord(topic: topic, key: "key-\(i)".bytes, value: "value-\(i)".bytes)))
        }
        try await producer.flush()
        await producer.close()
        #expect(ids == ids.sorted() && Set(ids).count == 500, "ids count up in the order records were queued")
        let outcomes = reports.withLock { $0 }
        #expect(Set(outcomes.keys) == Set(ids))
        var stored: [Int: KafkaDeliveryReport] = [:]
        for (index, id) in ids.enumerated() {
            let reported = try #require(outcomes[id])
            #expect(reported.count == 1, "one outcome for record \(index)")
            guard case .success(let report)? = reported.first else {
                Issue.record("record \(index): \(String(describing: reported.first))")
                continue
            }
            #expect(report.topic == topic)
            stored[index] = report
        }

        let consumer = try TestBroker.consumer()
        try await consumer.assign(TestBroker.partitions(topic, count: 4).map { TopicPartitionOffset($0, offset: KafkaConsumer.beginning) })
        let records = try await TestBroker.consume(consumer, count: 500)
        await consumer.close()
        for record in records {
            let key = try #require(record.key)
            let index = try #require(Int(key.string.dropFirst(4)))
            #expect(stored[index]?.partition == record.partition && stored[index]?.offset == record.offset, "record \(index)")
        }
    }

    @Test func anEnqueuedRecordThatCannotBeDeliveredReachesTheHandlerAsAFailure() async throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [try KafkaFaultTests.closedPort()])
        configuration.deliveryTimeout = .seconds(2)
        let failures = Mutex<[KafkaError]>([])
        let producer = try KafkaProducer(configuration: configuration, logger: TestBroker.logger) { _, outcome in
            if case .failure(let error) = outcome { failures.withLock { $0.append(error) } }
        }
        _ = try await producer.enqueue(KafkaProducerRecord(topic: "nowhere", value: "x".bytes))
        try? await producer.flush(timeout: .seconds(10))
        await producer.close()
        let seen = failures.withLock { $0 }
        #expect(seen.count == 1 && seen.first?.code == .brokerUnreachable, "\(seen)")
    }

    @Test func keyedRecordsGoWhereTheJavaClientPutsThem() async throws {
        let topic = TestBroker.uniqueName("murmur2")
        try await TestBroker.createTopic(topic, partitions: 4)
        let producer = try TestBroker.producer()
        for i in 0..<40 {
            let key = "customer-\(i)".bytes
            let report = try await producer.send(KafkaProducerRecord(topic: topic, key: key, value: [1]))
            #expect(report.partition == JavaPartitioner.partition(key: key, partitions: 4), "key customer-\(i)")
        }
        await producer.close()
    }

    /// The pipeline gateway adds answer partitions as pipelines are deployed, sometimes several within a few
    /// milliseconds, and may close right after. The same loop with a growing full `assign` instead aborts
    /// librdkafka 2.8 (`rd_kafka_assignment_partition_stopped: Assertion rktp->rktp_started`) within 300 rounds.
    @Test func partitionsAddedOneAtATimeAreEachReadOnceAndTheConsumerClosesRightAfter() async throws {
        let topics = (0..<8).map { TestBroker.uniqueName("added-\($0)") }
        let producer = try TestBroker.producer()
        for topic in topics {
            try await TestBroker.createTopic(topic, partitions: 1)
            for i in 0..<3 { _ = try await producer.send(KafkaProducerRecord(topic: topic, key: nil, value: "\(i)".bytes)) }
        }
        await producer.close()

        let consumer = try TestBroker.consumer()
        var read: [KafkaConsumerRecord] = []
        for topic in topics {
            try await consumer.addAssignment([TopicPartitionOffset(topic: topic, partition: 0, offset: KafkaConsumer.beginning)])
            read += try await consumer.poll(maxRecords: 100, timeout: .milliseconds(1))
        }
        read += try await TestBroker.consume(consumer, count: topics.count * 3 - read.count)
        #expect(Set(try consumer.assignment()) == Set(topics.map { TopicPartition(topic: $0, partition: 0) }))
        await consumer.close()
        #expect(read.count == topics.count * 3)
        #expect(Set(read.map { "\($0.topic)@\($0.offset)" }).count == topics.count * 3)

        for _ in 0..<50 {
            let closing = try TestBroker.consumer()
            for topic in topics {
                try await closing.addAssignment([TopicPartitionOffset(topic: topic, partition: 0, offset: 1)])
            }
            await closing.close()
        }
    }

    @Test func nullValueIsATombstone() async throws {
        let topic = TestBroker.uniqueName("tombstone")
        try await TestBroker.createTopic(topic, partitions: 1)
        let producer = try TestBroker.producer()
        _ = try await producer.send(KafkaProducerRecord(topic: topic, key: "k".bytes, value: nil))
        await producer.close()
        let consumer = try TestBroker.consumer()
        try await consumer.assign([TopicPartitionOffset(topic: topic, partition: 0, offset: KafkaConsumer.beginning)])
        let records = try await TestBroker.consume(consumer, count: 1)
        await consumer.close()
        #expect(records.count == 1)
        #expect(records.first?.value == nil)
        #expect(records.first?.key == "k".bytes)
    }
}

/// The Java client's default partitioner for keyed records: `toPositive(murmur2(key)) % partitions`.
enum JavaPartitioner {
    static func partition(key: [UInt8], partitions: Int32) -> Int32 {
        Int32(bitPattern: UInt32(bitPattern: murmur2(key)) & 0x7fff_ffff) % partitions
    }

    static func murmur2(_ data: [UInt8]) -> Int32 {
        let seed: UInt32 = 0x9747_b28c
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        var h = seed ^ UInt32(data.count)
        let blocks = data.count / 4
        for i in 0..<blocks {
            var k = UInt32(data[i * 4]) | UInt32(data[i * 4 + 1]) << 8 | UInt32(data[i * 4 + 2]) << 16 | UInt32(data[i * 4 + 3]) << 24
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
        }
        let tail = blocks * 4
        switch data.count % 4 {
        case 3:
            h ^= UInt32(data[tail + 2]) << 16
            fallthrough
        case 2:
            h ^= UInt32(data[tail + 1]) << 8
            fallthrough
        case 1:
            h ^= UInt32(data[tail])
            h = h &* m
        default:
            break
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }
}
