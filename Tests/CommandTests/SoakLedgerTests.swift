import Testing
@testable import dataflow

/// The soak's accounting and its fault schedule, without a broker.
struct SoakLedgerTests {
    @Test func eachRequestIsClassifiedByWhatCameBack() {
        var ledger = SoakLedger()
        for key in ["once", "twice", "error", "never", "stranger-ignored"].dropLast() { ledger.sent(key, to: "p") }
        ledger.observed("once", on: "p", error: nil)
        ledger.observed("twice", on: "p", error: nil)
        ledger.observed("twice", on: "p", error: nil)
        ledger.observed("error", on: "p", error: "add10: 503")
        ledger.observed("stranger", on: "p", error: nil)
        #expect(!ledger.allAnswered)
        let summary = ledger.summaries()[0]
        #expect(summary.sent == 4)
        #expect(summary.answeredOnce == 1)
        #expect(summary.duplicated.count == 1)
        #expect(summary.errors == ["add10: 503": 1])
        #expect(summary.neverAnswered == ["never"])
    }

    @Test func aPipelineAnsweringSeveralTimesIsJudgedByItsExpectation() {
        var ledger = SoakLedger()
        ledger.expectations["cycle"] = SoakLedger.Expectation(answers: 3, errors: 1)
        for key in ["whole", "cut", "short", "more"] { ledger.sent(key, to: "cycle") }
        for _ in 0..<3 { ledger.observed("whole", on: "cycle", error: nil) }
        ledger.observed("whole", on: "cycle", error: "add10: revisited too often")
        ledger.observed("cut", on: "cycle", error: nil)
        ledger.observed("cut", on: "cycle", error: "mul10: 503")
        ledger.observed("short", on: "cycle", error: nil)
        for _ in 0..<4 { ledger.observed("more", on: "cycle", error: nil) }
        #expect(!ledger.allAnswered, "the short request's later passes may still come: the soak waits on")
        let summary = ledger.summaries()[0]
        #expect(summary.answeredOnce == 1)
        #expect(summary.errors == ["mul10: 503": 1], "an error record that ended it early")
        #expect(summary.partlyAnswered == ["short"])
        #expect(summary.duplicated.count == 1)
    }

    /// Error records are outcomes of steps: two steps side by side that both fail give two, and an answer may
    /// come beside an error record of another step; only a second answer is counted as one too many.
    @Test func onlyAnswersBeyondTheExpectedCountAreDuplicates() {
        var ledger = SoakLedger()
        for key in ["both-failed", "answered-and-failed", "answered-twice"] { ledger.sent(key, to: "join") }
        ledger.observed("both-failed", on: "join", error: "add10: server error 503")
        ledger.observed("both-failed", on: "join", error: "mul10: server error 503")
        ledger.observed("answered-and-failed", on: "join", error: nil)
        ledger.observed("answered-and-failed", on: "join", error: "mul10: timed out")
        ledger.observed("answered-twice", on: "join", error: nil)
        ledger.observed("answered-twice", on: "join", error: nil)
        let summary = ledger.summaries()[0]
        #expect(summary.errored == 2)
        #expect(summary.duplicated == ["answered-twice"])
    }

    /// A request may call a model several times; only more answers than calls is a call answered twice.
    @Test func aModelCallAnsweredTwiceIsFoundAmongRepeatedCalls() {
        var calls = SoakModelCalls()
        for _ in 0..<3 { calls.called("add10", request: "cycle-1") }
        for _ in 0..<3 { calls.answered("add10", request: "cycle-1") }
        calls.called("identity", request: "any-1")
        calls.called("identity", request: "any-1")
        calls.answered("identity", request: "any-1")
        calls.answered("identity", request: "any-1")
        calls.called("mul10", request: "plain")
        calls.answered("mul10", request: "plain")
        calls.answered("mul10", request: "plain")
        calls.answered("sum", request: "never-called")
        #expect(calls.callCount == 6)
        #expect(calls.answeredMoreThanCalled() == ["mul10": ["plain"], "sum": ["never-called"]])
    }

    /// The soak waits until each request came back whole, not at its first record (a cycle's first pass).
    @Test func aRequestIsAnsweredOnceAllItsRecordsCameOrAnErrorEndedIt() {
        var ledger = SoakLedger()
        ledger.expectations["cycle"] = SoakLedger.Expectation(answers: 3, errors: 1)
        ledger.sent("first-pass", to: "cycle")
        ledger.sent("plain", to: "p")
        ledger.observed("plain", on: "p", error: nil)
        ledger.observed("first-pass", on: "cycle", error: nil)
        #expect(!ledger.allAnswered)
        ledger.observed("first-pass", on: "cycle", error: nil)
        ledger.observed("first-pass", on: "cycle", error: nil)
        #expect(!ledger.allAnswered, "three answers, the error record that ends the cycle still to come")
        ledger.observed("first-pass", on: "cycle", error: "add10: revisited too often")
        #expect(ledger.allAnswered)
        var ended = SoakLedger()
        ended.expectations["cycle"] = SoakLedger.Expectation(answers: 3, errors: 1)
        ended.sent("cut", to: "cycle")
        ended.observed("cut", on: "cycle", error: "mul10: 503")
        #expect(ended.allAnswered, "an error record ended it early")
    }

    @Test func poisonRecordsNeedADeadLetterWithAReason() {
        var ledger = SoakLedger()
        ledger.sentPoison("bad-1", to: "p")
        ledger.sentPoison("bad-2", to: "p")
        ledger.deadLetter("bad-1", of: "p", reason: "not a protobuf ModelInferRequest")
        ledger.deadLetter("other", of: "p", reason: "ignored")
        #expect(!ledger.allAnswered)
        var summary = ledger.summaries()[0]
        #expect(summary.poisonSent == 2 && summary.poisonDeadLettered == 1 && summary.poisonMissing == ["bad-2"])
        ledger.observed("bad-2", on: "p", error: "add10: the request is not a binary ModelInferRequest")
        summary = ledger.summaries()[0]
        #expect(summary.poisonDeadLettered == 2 && summary.sent == 0, "poison records are not requests")
        #expect(ledger.allAnswered)
    }

    @Test func faultsComeOneAfterAnotherBetweenAQuietStartAndAQuietEnd() {
        let schedule = FaultSchedule.make(duration: .seconds(120), sessionTimeout: .seconds(2))
        #expect(schedule.entries.first?.at == .seconds(15))
        #expect(schedule.entries.map(\.fault) == [
            .poison(count: 3), .kill(instance: 0, downFor: .seconds(5)), .failingModels(lasting: .seconds(5)),
            .pause(instance: 1, pausedFor: .seconds(6)), .serverDown(downFor: .seconds(15)),
        ])
        for (entry, next) in zip(schedule.entries, schedule.entries.dropFirst()) {
            #expect(next.at == entry.at + entry.fault.lasting + .seconds(10))
        }
        let last = schedule.entries.last!
        #expect(last.at + last.fault.lasting + .seconds(15) <= .seconds(120))
        let long = FaultSchedule.make(duration: .seconds(600), sessionTimeout: .seconds(2))
        #expect(Set(long.entries.map { "\($0.fault)".prefix(8) }).count == 6, "every kind of fault in a 10-minute soak")
    }

    @Test func onAClusterOfThreeBrokersEachGoesDownInTurn() {
        let short = FaultSchedule.make(duration: .seconds(120), sessionTimeout: .seconds(2), brokers: 3)
        #expect(short.entries.map(\.fault).prefix(2) == [.poison(count: 3), .brokerDown(broker: 1, downFor: .seconds(8))])
        let long = FaultSchedule.make(duration: .seconds(600), sessionTimeout: .seconds(2), brokers: 3)
        let downs = long.entries.compactMap { entry -> Int? in
            if case .brokerDown(let broker, _) = entry.fault { return broker }
            return nil
        }
        #expect(downs.count >= 3 && downs.starts(with: [1, 2, 3]) && Set(downs) == [1, 2, 3])
        #expect(FaultSchedule.make(duration: .seconds(600), sessionTimeout: .seconds(2)).entries.allSatisfy {
            if case .brokerDown = $0.fault { false } else { true }
        })
    }
}
