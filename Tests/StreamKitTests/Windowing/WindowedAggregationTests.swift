import MetricsTestKit
import StreamKit
import StreamKitTesting
import Testing

/// Windowed count, reduce and aggregate on the test driver: tumbling, hopping, sliding and session windows,
/// updates and final results, closing by stream time and by the wall-clock deadline, and late records.
@Suite struct WindowedAggregationTests {
    typealias Output = (key: String, window: Window, value: Int64?)

    struct Harness {
        let driver: TopologyTestDriver
        let input: TestInputTopic<String, String>
        let output: TestOutputTopic<Windowed<String>, Int64?>
        let metrics: TestMetrics

        init(_ build: (KGroupedStream<String, String>) -> KStream<Windowed<String>, Int64?>) throws {
            let builder = StreamsBuilder()
            build(builder.stream("in", key: .string, value: .string).groupByKey())
                .to("out", key: .windowed(.string), value: Serde<Int64>.bigEndian.optional)
            metrics = TestMetrics()
            var configuration = StreamsConfiguration(applicationID: "windows", bootstrapServers: [])
            configuration.metricsFactory = metrics
            driver = try TopologyTestDriver(try builder.build(), configuration: configuration, startTime: 1_000_000)
            input = driver.inputTopic("in", key: .string, value: .string)
            output = driver.outputTopic("out", key: .windowed(.string), value: Serde<Int64>.bigEndian.optional)
        }

        func pipe(_ key: String, at time: Int64) async throws {
            try await input.pipe(key: key, value: "x", timestamp: time)
        }

        func read() throws -> [String] {
            let lines = try output.readKeyValues().map { "\($0.key.key)\($0.key.window)=\($0.value.map(String.init) ?? "nil")" }
            return lines
        }

        var lateDropped: Int64 {
            guard let counter = try? metrics.expectCounter("streamkit_late_records_dropped_total", [("application", "windows"), ("task", "0_0")]) else { return 0 }
            return Int64(counter.totalValue)
        }
    }

    static func optional(_ stream: KStream<Windowed<String>, Int64>) -> KStream<Windowed<String>, Int64?> {
        stream.mapValues { Optional($0) }
    }

    @Test func tumblingCountsEmitEveryUpdate() async throws {
        let harness = try Harness { Self.optional($0.windowedBy(TimeWindows.ofSize(.seconds(1))).count(materialized: .inMemory())) }
        for time: Int64 in [0, 100, 999, 1000, 1500] { try await harness.pipe("a", at: time) }
        try await harness.pipe("b", at: 1200)
        #expect(try harness.read() == ["a[0, 1000)=1", "a[0, 1000)=2", "a[0, 1000)=3", "a[1000, 2000)=1", "a[1000, 2000)=2", "b[1000, 2000)=1"])
        await harness.driver.close()
    }

    @Test func hoppingWindowsTakeARecordIntoEachWindowItFallsIn() async throws {
        let harness = try Harness {
            Self.optional($0.windowedBy(TimeWindows.ofSize(.seconds(1)).advanceBy(.milliseconds(500))).count(materialized: .persistent()))
        }
        try await harness.pipe("a", at: 700)
        try await harness.pipe("a", at: 1200)
        #expect(try harness.read() == ["a[0, 1000)=1", "a[500, 1500)=1", "a[500, 1500)=2", "a[1000, 2000)=1"])
        await harness.driver.close()
    }

    @Test func finalResultsWaitForStreamTimeToPassEndAndGrace() async throws {
        let harness = try Harness {
            Self.optional($0.windowedBy(TimeWindows.ofSize(.seconds(1), grace: .milliseconds(200))).count(materialized: .inMemory(), emit: .onWindowClose()))
        }
        try await harness.pipe("a", at: 0)
        try await harness.pipe("a", at: 500)
        try await harness.pipe("b", at: 1100)
        #expect(try harness.read().isEmpty, "within grace the window is still open")
        try await harness.pipe("a", at: 900)
        try await harness.pipe("b", at: 1200)
        #expect(try harness.read() == ["a[0, 1000)=3"])
        try await harness.pipe("a", at: 800)
        #expect(try harness.read().isEmpty)
        #expect(harness.lateDropped == 1, "the record after the window closed is dropped and counted")
        await harness.driver.close()
    }

    @Test func aFinalResultGoesOutByTheWallClockWhenNoLaterRecordComes() async throws {
        let harness = try Harness {
            Self.optional($0.windowedBy(TimeWindows.ofSize(.seconds(1))).count(materialized: .inMemory(), emit: .onWindowClose(wallClockDeadline: .seconds(2))))
        }
        try await harness.pipe("a", at: 0)
        try await harness.pipe("a", at: 400)
        try await harness.driver.advanceWallClockTime(by: .milliseconds(1900))
        #expect(try harness.read().isEmpty)
        try await harness.driver.advanceWallClockTime(by: .milliseconds(200))
        #expect(try harness.read() == ["a[0, 1000)=2"])
        // Stream time never reached the window's end, but it is closed: a record for it now is late.
        try await harness.pipe("a", at: 600)
        #expect(try harness.read().isEmpty)
        #expect(harness.lateDropped == 1)
        await harness.driver.close()
    }

    @Test func reduceAndAggregateFoldValues() async throws {
        let builder = StreamsBuilder()
        let grouped = builder.stream("in", key: .string, value: Serde<Int64>.bigEndian).groupByKey()
        grouped.windowedBy(TimeWindows.ofSize(.seconds(1))).reduce(named: "max", materialized: .inMemory()) { max($0, $1) }
            .to("max", key: .windowed(.string), value: .bigEndian)
        grouped.windowedBy(TimeWindows.ofSize(.seconds(1)))
            .aggregate(named: "list", materialized: .persistent(), serde: .string, initializer: { "" }) { _, value, list in list + "\(value);" }
            .to("list", key: .windowed(.string), value: .string)
        let driver = try TopologyTestDriver(try builder.build())
        let input = driver.inputTopic("in", key: .string, value: Serde<Int64>.bigEndian)
        for (value, time) in [(5, 10), (9, 20), (2, 30)] as [(Int64, Int64)] { try await input.pipe(key: "k", value: value, timestamp: time) }
        #expect(try driver.outputTopic("max", key: .windowed(.string), value: Serde<Int64>.bigEndian).readValues() == [5, 9, 9])
        #expect(try driver.outputTopic("list", key: .windowed(.string), value: .string).readValues() == ["5;", "5;9;", "5;9;2;"])
        await driver.close()
    }

    @Test func sessionsGrowMergeAndCloseAfterTheGap() async throws {
        let harness = try Harness {
            $0.windowedBy(SessionWindows.ofInactivityGap(.milliseconds(100), grace: .milliseconds(200))).count(materialized: .persistent())
        }
        try await harness.pipe("a", at: 0)
        try await harness.pipe("a", at: 50)
        try await harness.pipe("a", at: 300)
        try await harness.pipe("a", at: 150)
        #expect(try harness.read() == [
            "a[0, 1)=1",
            "a[0, 1)=nil", "a[0, 51)=2",
            "a[300, 301)=1",
            "a[0, 51)=nil", "a[0, 151)=3",
        ])
        await harness.driver.close()
    }

    @Test func sessionFinalResultsAndLateRecords() async throws {
        let harness = try Harness {
            $0.windowedBy(SessionWindows.ofInactivityGap(.milliseconds(100), grace: .milliseconds(50))).count(materialized: .inMemory(), emit: .onWindowClose())
        }
        try await harness.pipe("a", at: 0)
        try await harness.pipe("a", at: 80)
        try await harness.pipe("b", at: 230)
        #expect(try harness.read().isEmpty, "the session [0, 80] closes after 80 + 100 + 50")
        try await harness.pipe("b", at: 231)
        #expect(try harness.read() == ["a[0, 81)=2"])
        try await harness.pipe("a", at: 10)
        #expect(harness.lateDropped == 1)
        await harness.driver.close()
    }

    @Test func slidingWindowsGiveEachDistinctSetOfRecordsOneFinalResult() async throws {
        let harness = try Harness {
            Self.optional($0.windowedBy(SlidingWindows.ofTimeDifference(.milliseconds(100))).count(materialized: .inMemory(), emit: .onWindowClose()))
        }
        for time: Int64 in [0, 50, 120] { try await harness.pipe("a", at: time) }
        try await harness.pipe("b", at: 10_000)
        #expect(Set(try harness.read()) == ["a[-100, 1)=1", "a[-50, 51)=2", "a[1, 102)=1", "a[20, 121)=2", "a[51, 152)=1"])
        await harness.driver.close()
    }

    @Test func slidingWindowUpdatesIncludeAnOutOfOrderRecordInEveryWindowItFallsIn() async throws {
        let harness = try Harness {
            Self.optional($0.windowedBy(SlidingWindows.ofTimeDifference(.milliseconds(100), grace: .seconds(1))).count(materialized: .persistent()))
        }
        try await harness.pipe("a", at: 0)
        try await harness.pipe("a", at: 120)
        _ = try harness.read()
        try await harness.pipe("a", at: 60)
        #expect(Set(try harness.read()) == ["a[-40, 61)=2", "a[1, 102)=1", "a[20, 121)=2"])
        await harness.driver.close()
    }
}
