import Synchronization
import StreamKit
import Testing

/// A consumer that processes whatever it polls, commits after every batch, and commits again from its
/// rebalance listener before a revocation completes.
private final class GroupMember: KafkaRebalanceListener, Sendable {
    let name: String
    private let state = Mutex<(consumed: [KafkaConsumerRecord], pending: [TopicPartition: Int64], assigned: Set<TopicPartition>)>(([], [:], []))
    private let consumerBox = Mutex<KafkaConsumer?>(nil)

    init(name: String) { self.name = name }

    func attach(_ consumer: KafkaConsumer) { consumerBox.withLock { $0 = consumer } }

    var consumed: [KafkaConsumerRecord] { state.withLock { $0.consumed } }
    var assigned: Set<TopicPartition> { state.withLock { $0.assigned } }

    func process(_ records: [KafkaConsumerRecord]) {
        state.withLock { state in
            state.consumed += records
            for record in records { state.pending[record.topicPartition] = record.offset + 1 }
        }
    }

    /// Commits what was processed and not yet committed.
    func commitPending(only partitions: Set<TopicPartition>? = nil) async throws {
        let offsets = state.withLock { state in
            let due = state.pending.filter { partitions?.contains($0.key) ?? true }
            for key in due.keys { state.pending[key] = nil }
            return due.map { TopicPartitionOffset($0.key, offset: $0.value) }
        }
        guard let consumer = consumerBox.withLock({ $0 }) else { return }
        try await consumer.commit(offsets)
    }

    func partitionsAssigned(_ partitions: [TopicPartition]) async {
        state.withLock { $0.assigned.formUnion(partitions) }
    }

    func partitionsRevoked(_ partitions: [TopicPartition]) async {
        do {
            try await commitPending(only: Set(partitions))
        } catch {
            Issue.record("\(name): commit on revocation failed: \(error)")
        }
        state.withLock { $0.assigned.subtract(partitions) }
    }
}

@Suite(.enabled(if: TestBroker.shouldRun), .serialized, .timeLimit(.minutes(3)))
struct KafkaConsumerGroupTests {
    @Test func twoMembersSplitThePartitionsAndTheSurvivorTakesOverWithoutLossOrDuplicates() async throws {
        let topic = TestBroker.uniqueName("group")
        let group = TestBroker.uniqueName("group")
        try await TestBroker.createTopic(topic, partitions: 4)
        let producer = try TestBroker.producer()
        func produce(_ range: Range<Int>) async throws {
            for i in range {
                _ = try await producer.send(KafkaProducerRecord(topic: topic, key: "k\(i)".bytes, value: "\(i)".bytes))
            }
        }
        try await produce(0..<200)

        let a = GroupMember(name: "a")
        let b = GroupMember(name: "b")
        let consumerA = try TestBroker.consumer(group: group, listener: a)
        let consumerB = try TestBroker.consumer(group: group, listener: b)
        a.attach(consumerA)
        b.attach(consumerB)
        let stopB = StopFlag()
        let stopA = StopFlag()

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            @Sendable func run(_ member: GroupMember, _ consumer: KafkaConsumer, _ stop: StopFlag) async throws {
                while !stop.isSet {
                    let records = try await consumer.poll(maxRecords: 20, timeout: .milliseconds(50))
                    member.process(records)
                    try await member.commitPending()
                }
                await consumer.close()
            }
            try await consumerA.subscribe(topics: [topic])
            try await consumerB.subscribe(topics: [topic])
            tasks.addTask { try await run(a, consumerA, stopA) }
            tasks.addTask { try await run(b, consumerB, stopB) }

            // Phase 1: both members hold partitions and together consume the first 200 records.
            try await waitUntil("both members own two partitions and consumed 200 records") {
                a.assigned.count == 2 && b.assigned.count == 2 && a.consumed.count + b.consumed.count >= 200
            }
            #expect(a.assigned.isDisjoint(with: b.assigned))
            #expect(!a.consumed.isEmpty && !b.consumed.isEmpty)
            let ownedByB = b.assigned

            // B leaves (committing through its listener); A takes over B's partitions.
            stopB.set()
            try await waitUntil("a owns all four partitions") { a.assigned.count == 4 }
            try await produce(200..<400)
            try await waitUntil("400 records consumed") { a.consumed.count + b.consumed.count >= 400 }
            stopA.set()
            try await tasks.waitForAll()

            #expect(a.consumed.contains { ownedByB.contains($0.topicPartition) }, "a never read b's former partitions")
        }
        await producer.close()

        let all = a.consumed + b.consumed
        let positions = all.map { "\($0.partition):\($0.offset)" }
        #expect(Set(positions).count == positions.count, "a record was consumed twice")
        #expect(Set(all.compactMap { $0.value?.string }) == Set((0..<400).map(String.init)), "records were lost")
        #expect(all.count == 400)

        // The group's committed offsets are the partitions' ends: everything committed, once.
        let checker = try TestBroker.consumer(group: group)
        let committed = try await checker.committed(TestBroker.partitions(topic, count: 4))
        for offset in committed {
            let marks = try await checker.watermarks(offset.topicPartition)
            #expect(offset.offset == marks.high, "\(offset.topicPartition) committed \(offset.offset), end \(marks.high)")
        }
        let lag = try await checker.lag(TestBroker.partitions(topic, count: 4))
        #expect(lag.values.allSatisfy { $0 == 0 })
        await checker.close()
    }

    /// As with Kafka's Java consumer, a pause lasts as long as the assignment: a partition paused, revoked and
    /// assigned again is fetched (librdkafka alone would keep it paused for ever, and with it every record).
    @Test func aPartitionAssignedAgainIsFetchedThoughItWasPausedBefore() async throws {
        let topic = TestBroker.uniqueName("repause")
        let other = TestBroker.uniqueName("repause-other")
        try await TestBroker.createTopic(topic, partitions: 1)
        try await TestBroker.createTopic(other, partitions: 1)
        let member = GroupMember(name: "a")
        // Eager: a new subscription revokes every partition (a cooperative group would keep the one it has).
        let consumer = try TestBroker.consumer(group: TestBroker.uniqueName("repause"), listener: member) { $0.assignmentStrategy = .range }
        member.attach(consumer)
        let partition = TopicPartition(topic: topic, partition: 0)
        let producer = try TestBroker.producer()
        try await consumer.subscribe(topics: [topic])
        try await waitUntil("the partition is assigned") {
            member.assigned.contains(partition)
        } poll: { member.process(try await consumer.poll(maxRecords: 10, timeout: .milliseconds(50))) }
        try consumer.pause([partition])

        // A new subscription: the group rebalances, the partition is revoked and assigned again.
        try await consumer.subscribe(topics: [topic, other])
        try await waitUntil("both topics are assigned") {
            member.assigned.contains(TopicPartition(topic: other, partition: 0))
        } poll: { member.process(try await consumer.poll(maxRecords: 10, timeout: .milliseconds(50))) }
        _ = try await producer.send(KafkaProducerRecord(topic: topic, value: "after".bytes))
        try await waitUntil("the record written after the new assignment is fetched", timeout: .seconds(60)) {
            member.consumed.contains { $0.topic == topic }
        } poll: { member.process(try await consumer.poll(maxRecords: 10, timeout: .milliseconds(50))) }
        await consumer.close()
        await producer.close()
    }

    @Test func pausedPartitionsStopDeliveringUntilResumed() async throws {
        let topic = TestBroker.uniqueName("pause")
        try await TestBroker.createTopic(topic, partitions: 1)
        let producer = try TestBroker.producer()
        for i in 0..<10 { _ = try await producer.send(KafkaProducerRecord(topic: topic, value: "\(i)".bytes)) }
        let consumer = try TestBroker.consumer()
        let partition = TopicPartition(topic: topic, partition: 0)
        try await consumer.assign([TopicPartitionOffset(partition, offset: KafkaConsumer.beginning)])
        #expect(try await TestBroker.consume(consumer, count: 10).count == 10)
        try consumer.pause([partition])
        for i in 10..<15 { _ = try await producer.send(KafkaProducerRecord(topic: topic, value: "\(i)".bytes)) }
        #expect(try await TestBroker.consume(consumer, count: 5, timeout: .seconds(1)).isEmpty)
        try consumer.resume([partition])
        let resumed = try await TestBroker.consume(consumer, count: 5)
        #expect(resumed.map(\.offset) == Array(10..<15))
        try await consumer.seek([TopicPartitionOffset(partition, offset: 3)])
        let replay = try await TestBroker.consume(consumer, count: 1)
        #expect(replay.first?.offset == 3)
        #expect(try consumer.position([partition]).first?.offset == 4)
        await consumer.close()
        await producer.close()
    }
}

/// Polls `condition` every 50 ms for up to `timeout`.
func waitUntil(_ what: String, timeout: Duration = .seconds(30), _ condition: () -> Bool) async throws {
    try await waitUntil(what, timeout: timeout, condition) { try await Task.sleep(for: .milliseconds(50)) }
}

/// Runs `poll` until `condition` holds, for up to `timeout`.
func waitUntil(_ what: String, timeout: Duration = .seconds(30), _ condition: () -> Bool, poll: () async throws -> Void) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        if ContinuousClock.now >= deadline {
            Issue.record("timed out waiting until \(what)")
            throw CancellationError()
        }
        try await poll()
    }
}
