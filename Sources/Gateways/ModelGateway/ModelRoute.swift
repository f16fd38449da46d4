import Metrics

/// Where the requests of one model's input topic go, and the model's request metrics (made once, not per request).
struct ModelRoute: Sendable {
    let model: String
    let server: InferenceServer
    private let answered: Counter
    private let failed: Counter
    private let duration: Timer

    init(model: String, server: InferenceServer) {
        self.model = model
        self.server = server
        answered = Counter(label: "seldon_modelgateway_requests_total", dimensions: [("model", model), ("outcome", "answered")])
        failed = Counter(label: "seldon_modelgateway_requests_total", dimensions: [("model", model), ("outcome", "failed")])
        duration = Timer(label: "seldon_modelgateway_request_duration_seconds", dimensions: [("model", model)])
    }

    /// Counts one request, answered or failed, and how long it took from `started` until its record was written.
    func record(failed isFailure: Bool, since started: ContinuousClock.Instant) {
        (isFailure ? failed : answered).increment()
        duration.recordNanoseconds((ContinuousClock.now - started).nanoseconds)
    }
}
