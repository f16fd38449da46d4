import StreamKit
import Synchronization
import Testing

/// Wall-clock punctuation on the real broker: a punctuator that takes seconds holds up neither reading nor
/// the processing of records.
@Suite(.enabled(if: TestBroker.shouldRun), .serialized, .timeLimit(.minutes(2)))
struct StreamsPunctuationTests {
    final class Rounds: Sendable {
        let started = Atomic<Int>(0)
        let finished = Atomic<Int>(0)
    }

    @Test func aSlowWallClockPunctuatorHoldsUpNoRecords() async throws {
        let (input, output, app) = try await StreamsApplicationTests.freshTopics()
        let rounds = Rounds()
        let builder = StreamsBuilder()
        builder.stream(input, key: .string, value: .string)
            .process(named: "slow-punctuation") {
                // Every 200 ms of wall-clock time, a punctuator that takes 20 s.
                UpperCasing(onStart: { context in
                    _ = context.schedule(every: .milliseconds(200), on: .wallClockTime) { _ in
                        rounds.started.add(1, ordering: .relaxed)
                        try await Task.sleep(for: .seconds(20))
                        rounds.finished.add(1, ordering: .relaxed)
                    }
                })
            }
            .to(output, key: .string, value: .string)
        let application = StreamsApplication(
            topology: try builder.build(), configuration: try StreamsApplicationTests.configuration(app), logger: TestBroker.logger
        )
        let running = Task { try await application.run() }
        let deadline = ContinuousClock.now + .seconds(30)
        while rounds.started.load(ordering: .relaxed) < 4, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(rounds.started.load(ordering: .relaxed) >= 4, "every task's punctuator started")

        // All four tasks are inside a 20 s punctuation now; records still go through before any of them ends
        // (an order of events, not a timing: a held-up record would come only after a punctuation finished).
        let pairs = (0..<100).map { ("key-\($0 % 13)", "value-\($0)") }
        try await StreamsApplicationTests.produce(input, pairs)
        let records = try await StreamsApplicationTests.read(output, count: pairs.count, timeout: .seconds(15))
        #expect(records.count == pairs.count, "\(records.count) of \(pairs.count) records through")
        #expect(rounds.finished.load(ordering: .relaxed) == 0, "every record went through while the punctuators still ran")
        #expect(rounds.started.load(ordering: .relaxed) == 4, "a new round began while one still ran")

        application.shutdown()
        try await running.value
    }
}
