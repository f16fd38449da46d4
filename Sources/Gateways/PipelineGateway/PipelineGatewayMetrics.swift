import CoreMetrics
import Metrics

/// The pipeline gateway's metrics, made by one factory (the Prometheus registry `/metrics` shows).
///
/// - `seldon_pipelinegateway_requests_total{target, name, code}`: requests answered, by HTTP status.
/// - `seldon_pipelinegateway_request_duration_seconds{target, name}`: time to the answer, as a histogram.
/// - `seldon_pipelinegateway_requests_in_flight`: requests waiting for their answers.
/// - `seldon_pipelinegateway_timeouts_total{target, name}`, `seldon_pipelinegateway_errors_total{target, name,
///   code}`: requests answered 504, and with any other error.
/// - `seldon_pipelinegateway_late_answers_total`: answers that came after their request timed out, discarded.
struct PipelineGatewayMetrics: Sendable {
    let factory: any MetricsFactory
    private let inFlight: Meter
    private let late: Counter

    init(factory: any MetricsFactory) {
        self.factory = factory
        inFlight = Meter(label: "seldon_pipelinegateway_requests_in_flight", factory: factory)
        late = Counter(label: "seldon_pipelinegateway_late_answers_total", factory: factory)
    }

    func started() { inFlight.increment() }

    func finished(_ target: InferenceTarget, status: Int, since start: ContinuousClock.Instant) {
        inFlight.decrement()
        let kind: String
        switch target {
        case .pipeline: kind = "pipeline"
        case .model: kind = "model"
        }
        let named = [("target", kind), ("name", target.name)]
        Counter(label: "seldon_pipelinegateway_requests_total", dimensions: named + [("code", "\(status)")], factory: factory).increment()
        Timer(label: "seldon_pipelinegateway_request_duration_seconds", dimensions: named, factory: factory)
            .recordNanoseconds(Int64(clamping: (ContinuousClock.now - start).nanoseconds))
        if status == 504 {
            Counter(label: "seldon_pipelinegateway_timeouts_total", dimensions: named, factory: factory).increment()
        } else if status >= 400 {
            Counter(label: "seldon_pipelinegateway_errors_total", dimensions: named + [("code", "\(status)")], factory: factory).increment()
        }
    }

    func lateAnswer() { late.increment() }
}
