import StreamKit
import StreamKitTesting
import Synchronization
import Testing

@Suite struct ProcessorAPITests {
    /// Sends small values to the child "small" and large ones to "large"; emits the running sum on a stream-time
    /// punctuator and the record count on a wall-clock punctuator.
    final class RoutingProcessor: Processor {
        typealias InKey = String
        typealias InValue = Int64
        typealias OutKey = String
        typealias OutValue = Int64

        private var context: ProcessorContext<String, Int64>!
        private var sum: Int64 = 0
        private var count: Int64 = 0

        func initialize(context: ProcessorContext<String, Int64>) throws {
            self.context = context
            context.schedule(every: .milliseconds(1000), on: .streamTime) { [unowned self] time in
                try await self.context.forward(Record(key: "sum@\(time)", value: self.sum, timestamp: time), to: "sums")
            }
            context.schedule(every: .seconds(10), on: .wallClockTime) { [unowned self] time in
                try await self.context.forward(Record(key: "count@\(time)", value: self.count, timestamp: time), to: "sums")
            }
        }

        func process(_ record: Record<String, Int64>) async throws {
            sum += record.value
            count += 1
            try await context.forward(record, to: record.value < 10 ? "small" : "large")
        }
    }

    func topology() throws -> Topology {
        let builder = StreamsBuilder()
        let routed = builder.stream("in", key: .string, value: Serde<Int64>.bigEndian)
            .process(named: "router") { RoutingProcessor() }
        routed.filter(named: "small") { _ in true }.to("small", key: .string, value: .bigEndian)
        routed.filter(named: "large") { _ in true }.to("large", key: .string, value: .bigEndian)
        routed.filter(named: "sums") { _ in true }.to("sums", key: .string, value: .bigEndian)
        return try builder.build()
    }

    @Test func forwardToNamedChildren() async throws {
        let driver = try TopologyTestDriver(topology())
        let input = driver.inputTopic("in", key: .string, value: Serde<Int64>.bigEndian)
        try await input.pipe([("a", 1), ("b", 20), ("c", 3)], timestamp: 0)
        #expect(try driver.outputTopic("small", key: .string, value: Serde<Int64>.bigEndian).readValues() == [1, 3])
        #expect(try driver.outputTopic("large", key: .string, value: Serde<Int64>.bigEndian).readValues() == [20])
    }

    @Test func streamTimePunctuatorFiresWhenRecordsAdvanceStreamTime() async throws {
        let driver = try TopologyTestDriver(topology())
        let input = driver.inputTopic("in", key: .string, value: Serde<Int64>.bigEndian)
        let sums = driver.outputTopic("sums", key: .string, value: Serde<Int64>.bigEndian)
        try await input.pipe(key: "a", value: 1, timestamp: 500)  // first record: schedules due at 1500
        try await input.pipe(key: "a", value: 2, timestamp: 1400)
        #expect(sums.isEmpty)
        try await input.pipe(key: "a", value: 4, timestamp: 1500)
        #expect(try sums.readKeyValues().map { "\($0.key)=\($0.value)" } == ["sum@1500=7"])
        try await input.pipe(key: "a", value: 8, timestamp: 1200)  // out of order: stream time stays at 1500
        #expect(await driver.streamTime() == 1500)
        #expect(sums.isEmpty)
        try await input.pipe(key: "a", value: 16, timestamp: 4700)  // several intervals: fires once
        #expect(try sums.readKeyValues().map { "\($0.key)=\($0.value)" } == ["sum@4700=31"])
        try await driver.advanceWallClockTime(by: .seconds(60))  // wall clock does not move stream time
        #expect(try sums.readKeyValues().map(\.key).allSatisfy { $0.hasPrefix("count@") })
    }

    @Test func wallClockPunctuatorFiresWithoutRecords() async throws {
        let driver = try TopologyTestDriver(topology(), startTime: 1_000_000)
        let input = driver.inputTopic("in", key: .string, value: Serde<Int64>.bigEndian)
        let sums = driver.outputTopic("sums", key: .string, value: Serde<Int64>.bigEndian)
        try await input.pipe([("a", 1), ("b", 2)], timestamp: 0)
        try await driver.advanceWallClockTime(by: .seconds(9))
        #expect(sums.isEmpty)
        try await driver.advanceWallClockTime(by: .seconds(1))
        #expect(try sums.readKeyValues().map { "\($0.key)=\($0.value)" } == ["count@1010000=2"])
        try await driver.advanceWallClockTime(by: .seconds(10))
        #expect(try sums.readKeyValues().map { "\($0.key)=\($0.value)" } == ["count@1020000=2"])
    }

    /// Holds the first "slow" record until two "fast" records went through (or 10 s passed): records of other
    /// keys must overtake a waiting one, records of one key never do.
    final class SlowProcessor: Processor {
        typealias InKey = String
        typealias InValue = Int64
        typealias OutKey = String
        typealias OutValue = Int64
        private var context: ProcessorContext<String, Int64>!
        private var fastForwarded = 0

        func initialize(context: ProcessorContext<String, Int64>) throws { self.context = context }

        func process(_ record: Record<String, Int64>) async throws {
            if record.key == "slow", record.value == 300 {
                let deadline = ContinuousClock.now + .seconds(10)
                while fastForwarded < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            }
            try await context.forward(record)
            if record.key == "fast" { fastForwarded += 1 }
        }
    }

    @Test func asyncProcessorKeepsPerKeyOrderAndOverlapsKeys() async throws {
        let builder = StreamsBuilder()
        builder.stream("in", key: .string, value: Serde<Int64>.bigEndian)
            .process { SlowProcessor() }
            .to("out", key: .string, value: .bigEndian)
        var configuration = StreamsConfiguration(applicationID: "slow", bootstrapServers: [])
        configuration.maxInFlightPerTask = 8
        let driver = try TopologyTestDriver(builder.build(), configuration: configuration)
        // One pipe call per record would wait for each; pipe a batch through the raw API instead.
        let serde = Serde<Int64>.bigEndian
        try await driver.pipe(batch: [("slow", 300), ("slow", 1), ("fast", 1), ("fast", 2)].map { key, delay in
            KafkaProducerRecord(topic: "in", key: Array(key.utf8), value: try serde.serialize(delay), timestamp: 0)
        })
        let out = try driver.outputTopic("out", key: .string, value: serde).readKeyValues().map { "\($0.key):\($0.value)" }
        #expect(out == ["fast:1", "fast:2", "slow:300", "slow:1"])
    }
}
