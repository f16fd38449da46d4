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
