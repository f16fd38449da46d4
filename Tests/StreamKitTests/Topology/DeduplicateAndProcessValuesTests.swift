import StreamKit
import StreamKitTesting
import Testing

@Suite struct DeduplicateAndProcessValuesTests {
    @Test(arguments: [Materialized.persistent(), .inMemory()])
    func deduplicateKeepsTheFirstRecordOfAKeyPerWindow(_ materialized: Materialized) async throws {
        let builder = StreamsBuilder()
        builder.stream("in", key: .string, value: .string).deduplicate(within: .seconds(1), materialized: materialized).to("out")
        let driver = try TopologyTestDriver(builder.build())
        let input = driver.inputTopic("in", key: .string, value: .string)
        try await input.pipe(key: "a", value: "first", timestamp: 10_000)
        try await input.pipe(key: "a", value: "again within the window", timestamp: 10_900)
        try await input.pipe(key: "b", value: "other key", timestamp: 10_950)
        try await input.pipe(key: "a", value: "earlier, still within", timestamp: 9_100)
        try await input.pipe(key: "a", value: "after the window", timestamp: 11_001)
        let output = try driver.outputTopic("out", key: .string, value: .string).readKeyValues()
        #expect(output.map(\.value) == ["first", "other key", "after the window"])
        await driver.close()
    }

    @Test func processValuesChangesValueTimestampAndHeadersButNotTheKey() async throws {
        let builder = StreamsBuilder()
        builder.stream("in", key: .string, value: .string)
            .processValues { record -> Record<String, String>? in
                guard record.value != "drop" else { return nil }
                return Record(key: "ignored", value: record.value.uppercased(), timestamp: record.timestamp + 5, headers: [KafkaHeader(key: "seen", value: "yes")])
            }
            .to("out")
        let driver = try TopologyTestDriver(builder.build())
        let input = driver.inputTopic("in", key: .string, value: .string)
        try await input.pipe(key: "k", value: "hello", timestamp: 100)
        try await input.pipe(key: "k", value: "drop", timestamp: 101)
        let output = try driver.outputTopic("out", key: .string, value: .string).readRecords()
        #expect(output.map(\.key) == ["k"])
        #expect(output.map(\.value) == ["HELLO"])
        #expect(output.map(\.timestamp) == [105])
        #expect(output.map { $0.headers.string("seen") } == ["yes"])
        await driver.close()
    }
}
