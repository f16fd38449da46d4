import MetricsTestKit
import StreamKit
import StreamKitTesting
import Testing

/// The table of windowed join cases on the test driver, each run with the join state in memory and in RocksDB:
/// inner, left and outer joins of two streams (windows before and after, grace, duplicates, late records, the
/// wall-clock deadline) and joins of three streams (inner, outer, any).
@Suite struct WindowedJoinTests {
    enum Step: CustomStringConvertible {
        /// A record `key=value` at `time` on input topic `topic`.
        case record(String, String, String, at: Int64)
        case wallClock(Duration)

        var description: String {
            switch self {
            case .record(let topic, let key, let value, let time): "\(topic):\(key)=\(value)@\(time)"
            case .wallClock(let duration): "wall+\(duration)"
            }
        }
    }

    enum Operator: Sendable {
        case inner(JoinWindows), left(JoinWindows), outer(JoinWindows)
        case multi(MultiwayJoin, window: Duration, grace: Duration = .zero, deadline: Duration? = nil)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var join: Operator
        var steps: [Step]
        /// Outputs `key=value@time`, in order; two-way values are `left+right`, multi-way `a|b|c`, absent as `-`.
        var expected: [String]
        var late: Int64 = 0

        var testDescription: String { name }
    }

    static let second = JoinWindows.ofTimeDifference(.seconds(1))

    static let cases: [Case] = [
        Case(name: "inner joins a pair within the window", join: .inner(second), steps: [
            .record("l", "a", "l1", at: 0), .record("r", "b", "r0", at: 100), .record("r", "a", "r1", at: 500),
        ], expected: ["a=l1+r1@500"]),
        Case(name: "inner joins nothing beyond the window", join: .inner(second), steps: [
            .record("l", "a", "l1", at: 0), .record("r", "a", "r1", at: 1001), .record("l", "a", "l2", at: 2002),
        ], expected: []),
        Case(name: "inner keeps duplicates inside a window", join: .inner(second), steps: [
            .record("l", "a", "l1", at: 0), .record("l", "a", "l2", at: 0), .record("r", "a", "r1", at: 100),
            .record("r", "a", "r2", at: 200),
        ], expected: ["a=l1+r1@100", "a=l2+r1@100", "a=l1+r2@200", "a=l2+r2@200"]),
        Case(name: "an identical record read again (after a restart) is filed once", join: .inner(second), steps: [
            .record("l", "a", "l1", at: 0), .record("l", "a", "l1", at: 0), .record("r", "a", "r1", at: 100),
        ], expected: ["a=l1+r1@100"]),
        Case(name: "an unmatched record read again waits once and goes out once", join: .left(second), steps: [
            .record("l", "a", "l1", at: 0), .record("l", "a", "l1", at: 0), .record("r", "c", "r1", at: 1001),
        ], expected: ["a=l1+-@0"]),
        Case(name: "inner with a window only after the left record", join: .inner(second.before(.zero)), steps: [
            .record("l", "a", "l1", at: 1000), .record("r", "a", "r0", at: 500), .record("r", "a", "r1", at: 1500),
            .record("l", "a", "l2", at: 1600),
        ], expected: ["a=l1+r1@1500"]),
        Case(name: "inner accepts within grace and drops later records", join: .inner(.ofTimeDifference(.seconds(1), grace: .milliseconds(200))), steps: [
            .record("l", "a", "l1", at: 0), .record("l", "x", "-", at: 1100), .record("r", "a", "r1", at: 1000),
            .record("l", "x", "-", at: 2400), .record("r", "a", "r2", at: 100), .record("r", "a", "r3", at: 2300),
        ], expected: ["a=l1+r1@1000"], late: 1),
        Case(name: "left emits a match at once", join: .left(second), steps: [
            .record("l", "a", "l1", at: 0), .record("r", "a", "r1", at: 100),
        ], expected: ["a=l1+r1@100"]),
        Case(name: "left emits the unmatched left record when stream time closes its window", join: .left(second), steps: [
            .record("l", "b", "l2", at: 0), .record("r", "c", "r1", at: 1000), .record("l", "c", "l3", at: 1001),
        ], expected: ["b=l2+-@0", "c=l3+r1@1001"]),
        Case(name: "left never emits an unmatched right record", join: .left(second), steps: [
            .record("r", "b", "r1", at: 0), .record("l", "c", "l1", at: 5000), .wallClock(.seconds(10)),
        ], expected: ["c=l1+-@5000"]),
        Case(name: "left emits by the wall-clock deadline and the record joins no more", join: .left(second.withWallClockDeadline(.seconds(2))), steps: [
            .record("l", "a", "l1", at: 0), .wallClock(.milliseconds(1900)), .wallClock(.milliseconds(200)),
            .record("r", "a", "r1", at: 100),
        ], expected: ["a=l1+-@0"]),
        Case(name: "outer emits either side unmatched, in order of closing", join: .outer(second), steps: [
            .record("r", "b", "r1", at: 0), .record("l", "a", "l1", at: 10), .record("l", "c", "l2", at: 1011),
        ], expected: ["b=-+r1@0", "a=l1+-@10"]),
        Case(name: "outer joins pairs and emits only the unmatched", join: .outer(second), steps: [
            .record("l", "a", "l1", at: 0), .record("r", "a", "r1", at: 500), .record("r", "b", "r2", at: 600),
            .wallClock(.seconds(3)),
        ], expected: ["a=l1+r1@500", "b=-+r2@600"]),
        Case(name: "three-way inner needs all three", join: .multi(.inner, window: .seconds(1)), steps: [
            .record("a", "k", "a1", at: 0), .record("b", "k", "b1", at: 10), .record("c", "j", "c0", at: 15),
            .record("c", "k", "c1", at: 20),
        ], expected: ["k=a1|b1|c1@20"]),
        Case(name: "three-way inner keeps source order whatever the arrival order", join: .multi(.inner, window: .seconds(1)), steps: [
            .record("c", "k", "c1", at: 0), .record("b", "k", "b1", at: 5), .record("a", "k", "a1", at: 10),
            .record("a", "k", "a2", at: 11),
        ], expected: ["k=a1|b1|c1@10", "k=a2|b1|c1@11"]),
        Case(name: "three-way outer emits all present at once", join: .multi(.outer, window: .seconds(1)), steps: [
            .record("a", "k", "a1", at: 0), .record("c", "k", "c1", at: 1), .record("b", "k", "b1", at: 2),
            .wallClock(.seconds(5)),
        ], expected: ["k=a1|b1|c1@2"]),
        Case(name: "three-way outer emits what arrived when stream time closes the window", join: .multi(.outer, window: .seconds(1)), steps: [
            .record("a", "k", "a1", at: 0), .record("b", "k", "b1", at: 10), .record("a", "z", "a9", at: 5000),
        ], expected: ["k=a1|b1|-@10"]),
        Case(name: "three-way outer emits what arrived by the wall-clock deadline", join: .multi(.outer, window: .seconds(1)), steps: [
            .record("a", "k", "a1", at: 0), .record("c", "k", "c1", at: 5), .wallClock(.milliseconds(900)),
            .wallClock(.milliseconds(200)), .record("b", "k", "b1", at: 10),
        ], expected: ["k=a1|-|c1@5"]),
        Case(name: "three-way outer drops records older than any open window", join: .multi(.outer, window: .seconds(1), grace: .milliseconds(100)), steps: [
            .record("a", "k", "a1", at: 0), .record("a", "z", "a9", at: 3000), .record("b", "k", "b0", at: 500),
        ], expected: ["k=a1|-|-@0"], late: 1),
        Case(name: "left emits an out-of-order record past its window at once", join: .left(second), steps: [
            .record("l", "a", "l1", at: 3000), .record("l", "b", "l2", at: 1500), .record("r", "b", "r1", at: 1600),
        ], expected: ["b=l2+-@1500"]),
        Case(name: "any forwards each arrival at once", join: .multi(.any, window: .seconds(1)), steps: [
            .record("b", "k", "b1", at: 0), .record("a", "k", "a1", at: 1), .record("c", "j", "c1", at: 2),
        ], expected: ["k=-|b1|-@0", "k=a1|-|-@1", "j=-|-|c1@2"]),
    ]

    static let backends: [Materialized] = [.inMemory(), .persistent()]

    @Test(arguments: cases, backends)
    func joinCase(_ example: Case, materialized: Materialized) async throws {
        let builder = StreamsBuilder()
        func input(_ topic: String) -> KStream<String, String> { builder.stream(topic, key: .string, value: .string) }
        let show: @Sendable (String?) -> String = { $0 ?? "-" }
        let joined: KStream<String, String>
        switch example.join {
        case .inner(let windows):
            joined = input("l").join(input("r"), windows: windows, materialized: materialized) { "\($0)+\($1)" }
        case .left(let windows):
            joined = input("l").leftJoin(input("r"), windows: windows, materialized: materialized) { "\($0)+\(show($1))" }
        case .outer(let windows):
            joined = input("l").outerJoin(input("r"), windows: windows, materialized: materialized) { "\(show($0))+\(show($1))" }
        case .multi(let mode, let window, let grace, let deadline):
            joined = builder.join(
                [input("a"), input("b"), input("c")], mode, window: window, grace: grace, wallClockDeadline: deadline, materialized: materialized
            ).mapValues { $0.map(show).joined(separator: "|") }
        }
        joined.to("out", key: .string, value: .string)
        let metrics = TestMetrics()
        var configuration = StreamsConfiguration(applicationID: "joins", bootstrapServers: [])
        configuration.metricsFactory = metrics
        let driver = try TopologyTestDriver(try builder.build(), configuration: configuration, startTime: 1_000_000)
        let output = driver.outputTopic("out", key: .string, value: .string)
        for step in example.steps {
            switch step {
            case .record(let topic, let key, let value, let time):
                try await driver.inputTopic(topic, key: .string, value: .string).pipe(key: key, value: value, timestamp: time)
            case .wallClock(let duration):
                try await driver.advanceWallClockTime(by: duration)
            }
        }
        let records = try output.readRecords().map { "\($0.key)=\($0.value)@\($0.timestamp)" }
        #expect(records == example.expected, "steps: \(example.steps)")
        let late = (try? metrics.expectCounter("streamkit_late_records_dropped_total", [("application", "joins"), ("task", "0_0")]))
            .map { Int64($0.totalValue) } ?? 0
        #expect(late == example.late)
        await driver.close()
    }

    @Test func joinsNeedStoreSerdesOnceValueTypesChanged() throws {
        let builder = StreamsBuilder()
        let left = builder.stream("l", key: .string, value: .string).mapValues { $0.count }
        let right = builder.stream("r", key: .string, value: .string)
        left.join(right, windows: Self.second) { "\($0)\($1)" }.to("out", key: .string, value: .string)
        #expect(throws: TopologyError.self) { try builder.build() }
    }

    @Test func joinedStreamsShareOneSubtopology() throws {
        let builder = StreamsBuilder()
        let left = builder.stream("l", key: .string, value: .string)
        let right = builder.stream("r", key: .string, value: .string)
        left.join(right, windows: Self.second) { $0 + $1 }.to("out", key: .string, value: .string)
        let topology = try builder.build()
        #expect(topology.subtopologies.count == 1)
        #expect(topology.subtopologies[0].stores.count == 1, "an inner join needs no buffer of unmatched records")
    }
}
