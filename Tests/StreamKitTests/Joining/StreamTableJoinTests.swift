import StreamKit
import StreamKitTesting
import Testing

/// Tables materialized from a topic and stream-table joins on the test driver, with the table in memory and in
/// RocksDB.
@Suite struct StreamTableJoinTests {
    static let backends: [Materialized] = [.inMemory(), .persistent()]

    struct Harness {
        let driver: TopologyTestDriver
        let table: TestInputTopic<String, String?>
        let clicks: TestInputTopic<String, String>
        let output: TestOutputTopic<String, String>

        init(materialized: Materialized, build: (KStream<String, String>, KTable<String, String>) -> KStream<String, String>) throws {
            let builder = StreamsBuilder()
            let users = builder.table("users", key: .string, value: .string, materialized: materialized)
            build(builder.stream("clicks", key: .string, value: .string), users).to("out", key: .string, value: .string)
            users.toStream().mapValues { $0 ?? "deleted" }.to("changes", key: .string, value: .string)
            driver = try TopologyTestDriver(try builder.build(), configuration: StreamsConfiguration(applicationID: "tables", bootstrapServers: []))
            table = driver.inputTopic("users", key: .string, value: Serde<String>.string.optional)
            clicks = driver.inputTopic("clicks", key: .string, value: .string)
            output = driver.outputTopic("out", key: .string, value: .string)
        }

        func read() throws -> [String] { try output.readKeyValues().map { "\($0.key)=\($0.value)" } }
    }

    @Test(arguments: backends)
    func innerJoinUsesTheTableAsOfEachRecord(materialized: Materialized) async throws {
        let harness = try Harness(materialized: materialized) { clicks, users in clicks.join(users) { "\($0) by \($1)" } }
        try await harness.clicks.pipe(key: "u1", value: "c0", timestamp: 1)
        try await harness.table.pipe(key: "u1", value: "Ada", timestamp: 2)
        try await harness.clicks.pipe(key: "u1", value: "c1", timestamp: 3)
        try await harness.table.pipe(key: "u1", value: "Ada L.", timestamp: 4)
        try await harness.clicks.pipe(key: "u1", value: "c2", timestamp: 5)
        try await harness.table.pipe(key: "u1", value: nil, timestamp: 6)
        try await harness.clicks.pipe(key: "u1", value: "c3", timestamp: 7)
        #expect(try harness.read() == ["u1=c1 by Ada", "u1=c2 by Ada L."], "no row, no result; table updates emit nothing here")
        #expect(try await harness.driver.keyValueStore("KSTREAM-TABLE-0000000001-store", key: String.self, value: String.self).isEmpty)
        await harness.driver.close()
    }

    @Test(arguments: backends)
    func leftJoinJoinsNothingWhenTheKeyIsMissing(materialized: Materialized) async throws {
        let harness = try Harness(materialized: materialized) { clicks, users in clicks.leftJoin(users) { "\($0) by \($1 ?? "nobody")" } }
        try await harness.table.pipe(key: "u1", value: "Ada", timestamp: 1)
        try await harness.clicks.pipe(key: "u2", value: "c1", timestamp: 2)
        try await harness.clicks.pipe(key: "u1", value: "c2", timestamp: 3)
        #expect(try harness.read() == ["u2=c1 by nobody", "u1=c2 by Ada"])
        await harness.driver.close()
    }

    @Test func theTableIsAStreamOfItsChanges() async throws {
        let harness = try Harness(materialized: .inMemory()) { clicks, users in clicks.join(users) { $0 + $1 } }
        try await harness.table.pipe(key: "u1", value: "Ada", timestamp: 1)
        try await harness.table.pipe(key: "u2", value: nil, timestamp: 2)
        try await harness.table.pipe(key: "u1", value: nil, timestamp: 3)
        let changes = harness.driver.outputTopic("changes", key: .string, value: .string)
        #expect(try changes.readKeyValues().map { "\($0.key)=\($0.value)" } == ["u1=Ada", "u1=deleted"], "deleting a missing key changes nothing")
        await harness.driver.close()
    }

    @Test func aTableAndTheStreamsJoiningItShareOneSubtopology() throws {
        let builder = StreamsBuilder()
        let users = builder.table("users", key: .string, value: .string)
        builder.stream("clicks", key: .string, value: .string).join(users) { $0 + $1 }.to("out", key: .string, value: .string)
        let topology = try builder.build()
        #expect(topology.subtopologies.count == 1)
        #expect(topology.subtopologies[0].stores == [users.storeName])
    }
}
