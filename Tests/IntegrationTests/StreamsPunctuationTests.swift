import StreamKit
import Synchronization
import Testing

/// Wall-clock punctuation on the real broker: a punctuator that takes seconds holds up neither reading nor
/// the processing of records.
@Suite(.enabled(if: TestBroker.shouldRun), .serialized, .timeLimit(.minutes(2)))
struct StreamsPunctuationTests {
    final class Rounds: Sendable {
        let started = Atomic<Int>(0)
    }

    /// Upper-cases values; every 200 ms of wall-clock time it runs a punctuator that takes 5 s.
    final class SlowPunctuation: Processor {
        let rounds: Rounds
        var context: ProcessorContext<String, String>?
        init(rounds: Rounds) { self.rounds = rounds }

        func initialize(context: ProcessorContext<String, String>) throws {
            self.context = context
            _ = context.schedule(every: .milliseconds(200), on: .wallClockTime) { [rounds] _ in
                rounds.started.add(1, ordering: .relaxed)
                try await Task.sleep(for: .seconds(5))
            }
        }

        func process(_ record: Record<String, String>) async throws {
            try await context?.forward(record.withValue(record.value.uppercased()))
        }
    }

    @Test func aSlowWallClockPunctuatorHoldsUpNoRecords() async throws {
        let (input, output, app) = (TestBroker.uniqueName("in"), TestBroker.uniqueName("out"), TestBroker.uniqueName("app"))
        try await TestBroker.createTopic(input)
        try await TestBroker.createTopic(output)
        let rounds = Rounds()
        let builder = StreamsBuilder()
        builder.stream(input, key: .string, value: .string)
            .process(named: "slow-punctuation") { SlowPunctuation(rounds: rounds) }
            .to(output, key: .string, value: .string)
        let application = StreamsApplication(
            topology: try builder.build(), configuration: try StreamsApplicationTests.configuration(app), logger: TestBroker.logger
        )
        let running = Task { try await application.run() }
        let deadline = ContinuousClock.now + .seconds(30)
        while rounds.started.load(ordering: .relaxed) < 4, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(rounds.started.load(ordering: .relaxed) >= 4, "every task's punctuator started")

        // All four tasks are inside a 5 s punctuation now; records still go through, well before it ends.
        let pairs = (0..<100).map { ("key-\($0 % 13)", "value-\($0)") }
        let sent = ContinuousClock.now
        try await StreamsApplicationTests.produce(input, pairs)
        let records = try await StreamsApplicationTests.read(output, count: pairs.count, timeout: .seconds(2))
        #expect(records.count == pairs.count, "\(records.count) of \(pairs.count) records through within 2 s")
        #expect(ContinuousClock.now - sent < .seconds(2))
        #expect(rounds.started.load(ordering: .relaxed) == 4, "a new round began while one still ran")

        application.shutdown()
        try await running.value
    }
}
