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
///
/// And those of Seldon Core 2's pipeline gateway, under its names and labels, so that its Grafana dashboards
/// read ours (pipelines only; `server` is `pipeline-gateway`, `method`/`method_type` `rest` or `grpc`, `code` the
/// HTTP status, for gRPC calls the status their gRPC code stands for):
/// - `seldon_pipeline_infer_api_seconds{server, method, code}`: latency (histogram);
/// - `seldon_pipeline_infer_total`, `seldon_pipeline_infer_seconds_total{server, pipeline, method_type, code}`;
/// - `seldon_pipeline_aggregate_infer_total`, `seldon_pipeline_aggregate_infer_seconds_total{server, method_type}`.
final class PipelineGatewayMetrics: Sendable {
    let factory: any MetricsFactory
    private let inFlight: Meter
    private let late: Counter
    private let seldon: SeldonPipelineMetrics
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
        seldon = SeldonPipelineMetrics(factory: factory)
    }

    func started() { inFlight.increment() }

    func finished(_ target: InferenceTarget, status: Int, since start: ContinuousClock.Instant, via api: InferenceAPI) {
        inFlight.decrement()
        if case .pipeline(let name) = target { seldon.record(pipeline: name, status: status, api: api, duration: ContinuousClock.now - start) }
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

/// Which API a request came through.
public enum InferenceAPI: String, Sendable, Hashable {
    case rest, grpc
}

/// Seldon Core 2's pipeline gateway metrics (see ``PipelineGatewayMetrics``).
private final class SeldonPipelineMetrics: Sendable {
    static let server = "pipeline-gateway"
    private let factory: any MetricsFactory
    private let pipelines = Mutex<[Key: (calls: Counter, seconds: FloatingPointCounter, latency: Timer)]>([:])

    private struct Key: Hashable {
        var pipeline: String
        var api: InferenceAPI
        var status: Int
    }
    private let aggregates: [InferenceAPI: (calls: Counter, seconds: FloatingPointCounter)]

    init(factory: any MetricsFactory) {
        self.factory = factory
        var aggregates: [InferenceAPI: (calls: Counter, seconds: FloatingPointCounter)] = [:]
        for api in [InferenceAPI.rest, .grpc] {
            let dimensions = [("server", Self.server), ("method_type", api.rawValue)]
            aggregates[api] = (Counter(label: "seldon_pipeline_aggregate_infer_total", dimensions: dimensions, factory: factory),
                               FloatingPointCounter(label: "seldon_pipeline_aggregate_infer_seconds_total", dimensions: dimensions, factory: factory))
        }
        self.aggregates = aggregates
    }

    func record(pipeline: String, status: Int, api: InferenceAPI, duration: Duration) {
        let seconds = Double(duration.nanoseconds) / 1e9
        let factory = self.factory
        let metrics = pipelines.withLock { all in
            let key = Key(pipeline: pipeline, api: api, status: status)
            if let metrics = all[key] { return metrics }
            let dimensions = [("server", Self.server), ("pipeline", pipeline), ("method_type", api.rawValue), ("code", "\(status)")]
            let metrics = (
                calls: Counter(label: "seldon_pipeline_infer_total", dimensions: dimensions, factory: factory),
                seconds: FloatingPointCounter(label: "seldon_pipeline_infer_seconds_total", dimensions: dimensions, factory: factory),
                latency: Timer(label: "seldon_pipeline_infer_api_seconds", dimensions: [
                    ("server", Self.server), ("method", api.rawValue), ("code", "\(status)"),
                ], factory: factory)
            )
            all[key] = metrics
            return metrics
        }
        metrics.calls.increment()
        metrics.seconds.increment(by: seconds)
        metrics.latency.recordNanoseconds(duration.nanoseconds)
        aggregates[api]?.calls.increment()
        aggregates[api]?.seconds.increment(by: seconds)
    }
}
