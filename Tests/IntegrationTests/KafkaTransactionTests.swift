import StreamKit
import Testing

/// Transactions on Tansu, which holds read_committed readers at the last stable offset: records of an open
/// transaction are invisible until it commits. (Tansu does not promise to filter *aborted* records, and the
/// mock cluster isolates nothing, so abort-filtering is not asserted here; see DESIGN.md section 7.)
@Suite(.enabled(if: TestBroker.shouldRun), .serialized, .timeLimit(.minutes(2)))
struct KafkaTransactionTests {
    @Test func committedTransactionBecomesVisibleToReadCommittedConsumer() async throws {
        let topic = TestBroker.uniqueName("txn")
        try await TestBroker.createTopic(topic, partitions: 1)
        let producer = try TestBroker.producer { $0.transactionalID = TestBroker.uniqueName("txn-id") }
        try await producer.initTransactions()
        try producer.beginTransaction()
        for i in 0..<10 {
            try await producer.send(KafkaProducerRecord(topic: topic, value: "\(i)".bytes)) { result in
                if case .failure(let error) = result { Issue.record("delivery failed: \(error)") }
            }
        }
        try await producer.flush()

        let consumer = try TestBroker.consumer { $0.isolationLevel = .readCommitted }
        try await consumer.assign([TopicPartitionOffset(topic: topic, partition: 0, offset: KafkaConsumer.beginning)])
        let beforeCommit = try await TestBroker.consume(consumer, count: 10, timeout: .seconds(2))
        #expect(beforeCommit.isEmpty, "read_committed consumer saw \(beforeCommit.count) records of an open transaction")

        try await producer.commitTransaction()
        let afterCommit = try await TestBroker.consume(consumer, count: 10)
        #expect(afterCommit.compactMap { $0.value?.string } == (0..<10).map(String.init))
        await consumer.close()
        await producer.close()
    }

    @Test func consumeTransformProduceCommitsOffsetsInTheTransaction() async throws {
        let input = TestBroker.uniqueName("ctp-in")
        let output = TestBroker.uniqueName("ctp-out")
        let group = TestBroker.uniqueName("ctp")
        try await TestBroker.createTopic(input, partitions: 2)
        try await TestBroker.createTopic(output, partitions: 2)
        let seed = try TestBroker.producer()
        for i in 0..<50 { _ = try await seed.send(KafkaProducerRecord(topic: input, key: "k\(i)".bytes, value: "\(i)".bytes)) }
        await seed.close()

        let consumer = try TestBroker.consumer(group: group) { $0.isolationLevel = .readCommitted }
        let producer = try TestBroker.producer { $0.transactionalID = TestBroker.uniqueName("ctp-id") }
        try await producer.initTransactions()
        try await consumer.subscribe(topics: [input])
        var processed = 0
        let deadline = ContinuousClock.now + .seconds(30)
        while processed < 50, ContinuousClock.now < deadline {
            let records = try await consumer.poll(maxRecords: 20, timeout: .milliseconds(100))
            guard !records.isEmpty else { continue }
            try producer.beginTransaction()
            var next: [TopicPartition: Int64] = [:]
            for record in records {
                let doubled = Int(record.value!.string)! * 2
                try await producer.send(KafkaProducerRecord(topic: output, key: record.key, value: "\(doubled)".bytes)) { _ in }
                next[record.topicPartition] = record.offset + 1
            }
            try await producer.sendOffsetsToTransaction(
                next.map { TopicPartitionOffset($0.key, offset: $0.value) },
                groupMetadata: try consumer.groupMetadata()
            )
            try await producer.commitTransaction()
            processed += records.count
        }
        #expect(processed == 50)
        let committed = try await consumer.committed(TestBroker.partitions(input, count: 2))
        #expect(committed.map(\.offset).reduce(0, +) == 50, "offsets committed in the transactions: \(committed)")
        await consumer.close()
        await producer.close()

        let reader = try TestBroker.consumer { $0.isolationLevel = .readCommitted }
        try await reader.assign(TestBroker.partitions(output, count: 2).map { TopicPartitionOffset($0, offset: KafkaConsumer.beginning) })
        let results = try await TestBroker.consume(reader, count: 50)
        await reader.close()
        #expect(Set(results.compactMap { $0.value?.string }) == Set((0..<50).map { String($0 * 2) }))
        #expect(results.count == 50)
    }

    /// A committed transaction's offsets are the group's at once, even while another producer's transaction is
    /// open on the partitions it wrote; offsets in a transaction still open are fetched by no one (KIP-447's
    /// stable offsets) and become the group's when it commits. Tansu alone holds a committed transaction's offsets
    /// back while an overlapping one is open (a member taking the partitions over then reads older offsets and
    /// does the work again); the transaction shim in front of it keeps them as Kafka does.
    @Test func committedOffsetsAreTheGroupsAtOnceAndOpenOnesNobodysBehindTheTransactionShim() async throws {
        try await TestBroker.withShimmedTansu("txn-offsets") { try await offsetsCommitWithTheirTransaction(bootstrap: $0) }
    }

    private func offsetsCommitWithTheirTransaction(bootstrap: String) async throws {
        let input = TestBroker.uniqueName("offsets-in")
        let output = TestBroker.uniqueName("offsets-out")
        let group = TestBroker.uniqueName("offsets")
        let admin = try KafkaAdmin(configuration: KafkaAdminConfiguration(bootstrapServers: [bootstrap]), logger: TestBroker.logger)
        try await admin.createTopics([KafkaNewTopic(name: input, partitions: 2), KafkaNewTopic(name: output, partitions: 1)])
        await admin.close()
        func producer(_ id: String) async throws -> KafkaProducer {
            var configuration = KafkaProducerConfiguration(bootstrapServers: [bootstrap])
            configuration.useLocalBrokerDefaults()
            configuration.transactionalID = TestBroker.uniqueName(id)
            let producer = try KafkaProducer(configuration: configuration, logger: TestBroker.logger)
            try await producer.initTransactions()
            return producer
        }
        func consumer(requestTimeout: Duration = .seconds(30)) throws -> KafkaConsumer {
            var configuration = KafkaConsumerConfiguration(bootstrapServers: [bootstrap], groupID: group)
            configuration.useLocalBrokerDefaults()
            configuration.isolationLevel = .readCommitted
            configuration.requestTimeout = requestTimeout
            return try KafkaConsumer(configuration: configuration, logger: TestBroker.logger)
        }
        // A member of the group, whose metadata the transactions carry.
        let member = try consumer()
        try await member.subscribe(topics: [input])
        try await waitUntil("the member has its partitions", timeout: .seconds(60)) { (try? member.assignment().count) == 2 } poll: {
            _ = try await member.poll(maxRecords: 10, timeout: .milliseconds(100))
        }
        let first = TopicPartition(topic: input, partition: 0)
        let second = TopicPartition(topic: input, partition: 1)

        // A's transaction writes to the output and holds offsets of the second partition, and stays open.
        let a = try await producer("txn-a")
        try a.beginTransaction()
        _ = try await a.send(KafkaProducerRecord(topic: output, partition: 0, value: "a".bytes))
        try await a.sendOffsetsToTransaction([TopicPartitionOffset(second, offset: 3)], groupMetadata: try member.groupMetadata())
        // B's writes to the same output partition after A's, with offsets of the first partition, and commits.
        let b = try await producer("txn-b")
        try b.beginTransaction()
        _ = try await b.send(KafkaProducerRecord(topic: output, partition: 0, value: "b".bytes))
        try await b.sendOffsetsToTransaction([TopicPartitionOffset(first, offset: 7)], groupMetadata: try member.groupMetadata())
        try await b.commitTransaction()

        let reader = try consumer()
        #expect(try await reader.committed([first]).first?.offset == 7, "B's committed offsets wait for A's open transaction")
        let impatient = try consumer(requestTimeout: .seconds(2))
        await #expect(throws: KafkaError.self, "offsets of A's open transaction were fetched") { try await impatient.committed([second]) }

        try await a.commitTransaction()
        #expect(try await reader.committed([second]).first?.offset == 3, "A's offsets are not the group's once it committed")
        for client in [member, reader, impatient] { await client.close() }
        await a.close()
        await b.close()
    }

    @Test func transactionalCallsOnANonTransactionalProducerFailClearly() async throws {
        let producer = try TestBroker.producer()
        let error = await #expect(throws: KafkaError.self) { try await producer.initTransactions(timeout: .seconds(5)) }
        #expect(error?.code == .transaction || error?.code == .fatal)
        await producer.close()
    }
}
