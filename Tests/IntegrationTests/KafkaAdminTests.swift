import StreamKit
import Testing

@Suite(.enabled(if: TestBroker.shouldRun), .serialized, .timeLimit(.minutes(2)))
struct KafkaAdminTests {
    @Test func createDescribeListDelete() async throws {
        let admin = try TestBroker.admin()
        let name = TestBroker.uniqueName("admin")
        try await admin.createTopics([
            KafkaNewTopic(name: name, partitions: 3, replicationFactor: 1, configs: ["cleanup.policy": "compact"])
        ])
        try await admin.waitUntilReady([name], timeout: .seconds(10))

        let description = try #require(try await admin.describeTopics([name]).first)
        #expect(description.name == name)
        #expect(description.partitions.map(\.id) == [0, 1, 2])
        #expect(description.isReady)
        #expect(try await admin.describeConfigs(topic: name)["cleanup.policy"] == "compact")
        #expect(try await admin.listTopics().contains(name))

        let again = await #expect(throws: KafkaError.self) {
            try await admin.createTopics([KafkaNewTopic(name: name, partitions: 3)])
        }
        #expect(again?.code == .topicAlreadyExists)
        try await admin.createTopics([KafkaNewTopic(name: name, partitions: 3)], ifNotExists: true)

        try await admin.deleteTopics([name])
        try await waitUntilAsync("topic deleted") { try await !admin.listTopics().contains(name) }
        let missing = await #expect(throws: KafkaError.self) { try await admin.describeTopics([name]) }
        #expect(missing?.code == .unknownTopic)
        await admin.close()
    }

    @Test func ensuredTopicsGetTheBrokersReplicationFactorAndTheSharedConfigsUnderTheirOwn() async throws {
        let admin = try TestBroker.admin()
        let (plain, compacted) = (TestBroker.uniqueName("ensured"), TestBroker.uniqueName("ensured-compact"))
        let creation = KafkaTopicCreation(configs: ["retention.ms": "3600000", "cleanup.policy": "delete"])
        #expect(creation.replicationFactor == -1)
        try await admin.ensureTopics(
            [KafkaNewTopic(name: plain, partitions: 2), KafkaNewTopic(name: compacted, partitions: 3, configs: ["cleanup.policy": "compact"])],
            creation: creation
        )
        let described = try await admin.describeTopics([plain, compacted])
        #expect(described.map(\.partitions.count) == [2, 3])
        #expect(described.allSatisfy { $0.isReady })
        #expect(try await admin.describeConfigs(topic: plain)["retention.ms"] == "3600000")
        #expect(try await admin.describeConfigs(topic: compacted)["cleanup.policy"] == "compact", "a topic's own config wins")
        try await admin.ensureTopics([KafkaNewTopic(name: plain, partitions: 2)], creation: creation)
        await admin.close()
    }

    /// The mock cluster has no CreateTopics: with broker creation, topics come from metadata requests that name
    /// them, and a partition count other than the broker's is an error that says so.
    @Test func brokerCreatedTopicsAreCheckedForTheirPartitionCount() async throws {
        let admin = try TestBroker.admin(.mock)
        let creation = KafkaTopicCreation(mode: .brokerAutoCreation)
        let names = [TestBroker.uniqueName("auto"), TestBroker.uniqueName("auto")]
        try await admin.ensureTopics(names.map { KafkaNewTopic(name: $0, partitions: 4) }, creation: creation)
        #expect(try await admin.describeTopics(names).map(\.partitions.count) == [4, 4])

        let single = TestBroker.uniqueName("auto-single")
        let error = await #expect(throws: KafkaError.self) {
            try await admin.ensureTopics([KafkaNewTopic(name: single, partitions: 1)], creation: creation)
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("\(single) has 4 partitions, 1 needed") == true, "\(String(describing: error))")
        await admin.close()
    }
}

func waitUntilAsync(_ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        if ContinuousClock.now >= deadline {
            Issue.record("timed out waiting until \(what)")
            return
        }
        try await Task.sleep(for: .milliseconds(100))
    }
}
