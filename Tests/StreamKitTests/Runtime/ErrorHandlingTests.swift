import StreamKit
import StreamKitTesting
import Testing

@Suite struct ErrorHandlingTests {
    struct Order: Codable, Sendable, Equatable {
        var id: Int
        var amount: Double
    }

    func topology() throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream("orders", key: .string, value: .json(Order.self))
            .mapValues { order in
                guard order.amount >= 0 else { throw ValidationError(reason: "negative amount \(order.amount)") }
                return order
            }
            .to("valid")
        return try builder.build()
    }

    struct ValidationError: Error, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }

    func pipeRaw(_ driver: TopologyTestDriver, _ value: String, key: String = "k") async throws {
        try await driver.pipe(KafkaProducerRecord(topic: "orders", key: Array(key.utf8), value: Array(value.utf8), timestamp: 7))
    }

    @Test func poisonRecordsGoToTheDeadLetterTopicAndTheStreamGoesOn() async throws {
        var configuration = StreamsConfiguration(applicationID: "orders-app", bootstrapServers: [])
        configuration.errorHandling = .deadLetter("orders-dlq")
        let driver = try TopologyTestDriver(topology(), configuration: configuration)
        try await pipeRaw(driver, #"{"id": 1, "amount": 5}"#)
        try await pipeRaw(driver, #"{"id": 2, "amount": "five"}"#, key: "bad-json")
        try await pipeRaw(driver, #"{"id": 3, "amount": -1}"#, key: "bad-value")
        try await pipeRaw(driver, #"{"id": 4, "amount": 6}"#)

        let valid = try driver.outputTopic("valid", key: .string, value: .json(Order.self)).readValues()
        #expect(valid.map(\.id) == [1, 4])
        let letters = driver.records(in: "orders-dlq")
        #expect(letters.count == 2)
        let first = letters[0].headers
        #expect(letters[0].key == Array("bad-json".utf8))
        #expect(letters[0].value == Array(#"{"id": 2, "amount": "five"}"#.utf8))
        #expect(first.string(DeadLetterHeaders.stage) == "deserialization")
        #expect(first.string(DeadLetterHeaders.topic) == "orders")
        #expect(first.string(DeadLetterHeaders.partition) == "0")
        #expect(first.string(DeadLetterHeaders.offset) == "1")
        #expect(first.string(DeadLetterHeaders.application) == "orders-app")
        #expect(first.string(DeadLetterHeaders.reason)?.contains("amount") == true)
        let second = letters[1].headers
        #expect(second.string(DeadLetterHeaders.stage) == "processing")
        #expect(second.string(DeadLetterHeaders.offset) == "2")
        #expect(second.string(DeadLetterHeaders.reason) == "negative amount -1.0")
    }

    @Test func logAndContinueSkips() async throws {
        var configuration = StreamsConfiguration(applicationID: "orders-app", bootstrapServers: [])
        configuration.errorHandling = ErrorHandling(deserialization: .logAndContinue, processing: .logAndContinue)
        let driver = try TopologyTestDriver(topology(), configuration: configuration)
        try await pipeRaw(driver, "not json")
        try await pipeRaw(driver, #"{"id": 3, "amount": -1}"#)
        try await pipeRaw(driver, #"{"id": 4, "amount": 6}"#)
        #expect(try driver.outputTopic("valid", key: .string, value: .json(Order.self)).readValues().map(\.id) == [4])
    }

    @Test func failStopsTheTaskWithTheReason() async throws {
        let driver = try TopologyTestDriver(topology())
        try await pipeRaw(driver, #"{"id": 1, "amount": 5}"#)
        let failure = await #expect(throws: TaskFailure.self) { try await pipeRaw(driver, #"{"id": 2}"#) }
        #expect(failure?.stage == .deserialization)
        #expect(failure?.source == RecordMetadata(topic: "orders", partition: 0, offset: 1))
        #expect(failure?.reason.contains("missing key 'amount'") == true)
    }

    @Test func absentValuesNeedAnOptionalSerde() async throws {
        let builder = StreamsBuilder()
        builder.stream("t", key: .string, value: Serde<String>.string.optional)
            .mapValues { $0 ?? "<tombstone>" }
            .to("out", key: .string, value: .string)
        let driver = try TopologyTestDriver(builder.build())
        try await driver.pipe(KafkaProducerRecord(topic: "t", key: Array("k".utf8), value: nil))
        #expect(try driver.outputTopic("out", key: .string, value: .string).readValues() == ["<tombstone>"])

        let strict = StreamsBuilder()
        strict.stream("t", key: .string, value: .string).to("out")
        let failure = await #expect(throws: TaskFailure.self) {
            try await TopologyTestDriver(strict.build()).pipe(KafkaProducerRecord(topic: "t", key: Array("k".utf8), value: nil))
        }
        #expect(failure?.reason.contains("null") == true)
    }
}
