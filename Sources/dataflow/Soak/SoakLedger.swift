/// What became of every request a soak sent: each request (a key on a pipeline's inputs) should come back on the
/// pipeline's outputs as what one request of that pipeline gives (one answer, unless the pipeline's
/// ``Expectation`` says otherwise) or as an error record, and each poison record as a dead letter with its reason.
struct SoakLedger {
    /// What one request gives back on its pipeline's outputs when nothing fails: a cycle answers once per pass
    /// and ends with an error record, an `any` join answers once per source.
    struct Expectation: Equatable {
        var answers = 1
        var errors = 0
    }
    /// A request's outcome: answers and error records seen for its key.
    struct Outcome: Equatable {
        var answers = 0
        var errors: [String] = []
    }

    /// One pipeline's figures.
    struct Summary: Equatable {
        var pipeline: String
        var sent = 0
        var answeredOnce = 0
        /// Keys of requests that came back with more answers than expected. (Error records are no measure: steps
        /// side by side may each fail, and a step fed by an `any` join fails once per source; whether each model
        /// call was answered once is ``SoakModelCalls``' to say.)
        var duplicated: [String] = []
        /// Requests that an error record ended early or came back as, by the reason of the last error record.
        var errors: [String: Int] = [:]
        /// Keys of requests that came back with fewer records than expected and no error.
        var partlyAnswered: [String] = []
        /// Keys of requests that never came back.
        var neverAnswered: [String] = []
        var poisonSent = 0
        var poisonDeadLettered = 0
        /// The reasons the dead letters gave (each once).
        var poisonReasons: Set<String> = []
        /// Keys of poison records with no dead letter.
        var poisonMissing: [String] = []

        var errored: Int { errors.values.reduce(0, +) }
    }

    /// Per pipeline; a pipeline not named expects one answer.
    var expectations: [String: Expectation] = [:]
    private var requests: [String: [String: Outcome]] = [:]
    private var poison: [String: [String: [String]]] = [:]
    private var order: [String] = []

    mutating func sent(_ key: String, to pipeline: String) {
        register(pipeline)
        requests[pipeline]![key] = Outcome()
    }

    mutating func sentPoison(_ key: String, to pipeline: String) {
        register(pipeline)
        poison[pipeline, default: [:]][key] = []
    }

    private mutating func register(_ pipeline: String) {
        guard requests[pipeline] == nil else { return }
        order.append(pipeline)
        requests[pipeline] = [:]
    }

    /// A record on `pipeline`'s outputs: an answer, or an error record with `error` as its reason, `<step>: <text>`
    /// (for a poison record, its dead letter). Records of keys this soak did not send are ignored.
    mutating func observed(_ key: String, on pipeline: String, error: String?) {
        if poison[pipeline]?[key] != nil {
            if let error { deadLetter(key, of: pipeline, reason: error) }
            return
        }
        guard requests[pipeline]?[key] != nil else { return }
        if let error { requests[pipeline]![key]!.errors.append(error) } else { requests[pipeline]![key]!.answers += 1 }
    }

    /// A dead letter of a poison record.
    mutating func deadLetter(_ key: String, of pipeline: String, reason: String) {
        guard poison[pipeline]?[key] != nil else { return }
        poison[pipeline]![key]!.append(reason)
    }

    /// Whether every request sent has come back whole — an error record, which ends a request (a cycle's
    /// expected last record is one), or as many records as its pipeline's ``Expectation`` (a cycle's later passes
    /// may still be on their way after its first answer) — and every poison record has its dead letter.
    var allAnswered: Bool {
        requests.allSatisfy { pipeline, outcomes in
            let expected = expectations[pipeline] ?? Expectation()
            return outcomes.values.allSatisfy { !$0.errors.isEmpty || $0.answers >= expected.answers + expected.errors }
        } && poison.values.allSatisfy { $0.values.allSatisfy { !$0.isEmpty } }
    }

    /// The figures per pipeline, in the order pipelines were first sent to.
    func summaries() -> [Summary] {
        order.map { pipeline in
            var summary = Summary(pipeline: pipeline)
            let expected = expectations[pipeline] ?? Expectation()
            for (key, outcome) in (requests[pipeline] ?? [:]).sorted(by: { $0.key < $1.key }) {
                summary.sent += 1
                let (answers, errors) = (outcome.answers, outcome.errors.count)
                if answers == expected.answers, errors == expected.errors {
                    summary.answeredOnce += 1
                } else if answers + errors == 0 {
                    summary.neverAnswered.append(key)
                } else if answers > expected.answers {
                    summary.duplicated.append(key)
                } else if errors > 0, errors > expected.errors || answers < expected.answers {
                    summary.errors[outcome.errors.last!, default: 0] += 1
                } else {
                    summary.partlyAnswered.append(key)
                }
            }
            for (key, reasons) in (poison[pipeline] ?? [:]).sorted(by: { $0.key < $1.key }) {
                summary.poisonSent += 1
                if let reason = reasons.first {
                    summary.poisonDeadLettered += 1
                    summary.poisonReasons.insert(reason)
                } else {
                    summary.poisonMissing.append(key)
                }
            }
            return summary
        }
    }
}
