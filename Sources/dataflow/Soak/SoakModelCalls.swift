/// Whether the model gateway answered each model call once: per model and request, the records on the model's
/// inputs against its answers and error records. A request may call a model several times (a cycle's passes, a
/// step behind an `any` join once per source), so calls and answers are counted, not merely seen; under
/// exactly-once a model answering a request more often than it was called for it answered a call twice.
struct SoakModelCalls {
    private var calls: [String: [String: Int]] = [:]
    private var answers: [String: [String: Int]] = [:]

    /// A record on `model`'s inputs for `request`.
    mutating func called(_ model: String, request: String) {
        calls[model, default: [:]][request, default: 0] += 1
    }

    /// A record on `model`'s outputs, or an error record of `model`, for `request`.
    mutating func answered(_ model: String, request: String) {
        answers[model, default: [:]][request, default: 0] += 1
    }

    /// How many calls were made, over all models.
    var callCount: Int { calls.values.reduce(0) { $0 + $1.values.reduce(0, +) } }

    /// Per model, the requests it answered more often than it was called for them, sorted.
    func answeredMoreThanCalled() -> [String: [String]] {
        var found: [String: [String]] = [:]
        for (model, byRequest) in answers {
            let extra = byRequest.filter { $0.value > calls[model]?[$0.key] ?? 0 }.keys.sorted()
            if !extra.isEmpty { found[model] = extra }
        }
        return found
    }
}
