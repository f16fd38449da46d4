import CoreMetrics
import Metrics
import Synchronization

/// The pipeline gateway's metrics, made by one factory (the Prometheus registry `/metrics` shows).
///
/// - `seldon_pipelinegateway_requests_total{target, name, code}`: requests answered, by HTTP status.
/// - `seldon_pipelinegateway_request_duration_seconds{target, name}`: time to the answer, as a histogram.
/// - `seldon_pipelinegateway_requests_in_flight`: requests waiting for their answers.
/// - `seldon_pipelinegateway_timeouts_total{target, name}`, `seldon_pipelinegateway_errors_total{target, name,
///   code}`: requests answered 504, and with any other error.
/// - `seldon_pipelinegateway_late_answers_total`: answers that came after their request timed out, discarded.
/// - `seldon_pipelinegateway_mirrored_total{target, name, code}`: copies sent to experiments' mirrors, by the
///   status of their answers (never returned to clients).
final class PipelineGatewayMetrics: Sendable {
    let factory: any MetricsFactory
    private let inFlight: Meter
    private let late: Counter
    /// Each target's metrics, made at its first request.
    private let targets = Mutex<[InferenceTarget: TargetMetrics]>([:])

    private struct TargetMetrics {
        let dimensions: [(String, String)]
        let duration: Timer
        let timeouts: Counter
        /// By HTTP status.
        var requests: [Int: Counter] = [:]
        var errors: [Int: Counter] = [:]
        /// Copies sent to it as an experiment's mirror, by the status of their answers.
        var mirrored: [Int: Counter] = [:]

        init(_ target: InferenceTarget, factory: any MetricsFactory) {
            let kind = switch target {
            case .pipeline: "pipeline"
            case .model: "model"
            }
            dimensions = [("target", kind), ("name", target.name)]
            duration = Timer(label: "seldon_pipelinegateway_request_duration_seconds", dimensions: dimensions, factory: factory)
            timeouts = Counter(label: "seldon_pipelinegateway_timeouts_total", dimensions: dimensions, factory: factory)
        }
    }

    init(factory: any MetricsFactory) {
        self.factory = factory
        inFlight = Meter(label: "seldon_pipelinegateway_requests_in_flight", factory: factory)
        late = Counter(label: "seldon_pipelinegateway_late_answers_total", factory: factory)
    }

    func started() { inFlight.increment() }

    func finished(_ target: InferenceTarget, status: Int, since start: ContinuousClock.Instant) {
        inFlight.decrement()
        let factory = self.factory
        let (requests, duration, failure) = targets.withLock { all -> (Counter, Timer, Counter?) in
            var metrics = all[target] ?? TargetMetrics(target, factory: factory)
            let requests = metrics.requests[status]
                ?? Counter(label: "seldon_pipelinegateway_requests_total", dimensions: metrics.dimensions + [("code", "\(status)")], factory: factory)
            metrics.requests[status] = requests
            var failure: Counter?
            if status == 504 {
                failure = metrics.timeouts
            } else if status >= 400 {
                let errors = metrics.errors[status]
                    ?? Counter(label: "seldon_pipelinegateway_errors_total", dimensions: metrics.dimensions + [("code", "\(status)")], factory: factory)
                metrics.errors[status] = errors
                failure = errors
            }
            all[target] = metrics
            return (requests, metrics.duration, failure)
        }
        requests.increment()
        duration.recordNanoseconds(Int64(clamping: (ContinuousClock.now - start).nanoseconds))
        failure?.increment()
    }

    func lateAnswer() { late.increment() }

    func mirrored(_ target: InferenceTarget, status: Int) {
        let factory = self.factory
        targets.withLock { all -> Counter in
            var metrics = all[target] ?? TargetMetrics(target, factory: factory)
            let mirrored = metrics.mirrored[status]
                ?? Counter(label: "seldon_pipelinegateway_mirrored_total", dimensions: metrics.dimensions + [("code", "\(status)")], factory: factory)
            metrics.mirrored[status] = mirrored
            all[target] = metrics
            return mirrored
        }.increment()
    }
}
