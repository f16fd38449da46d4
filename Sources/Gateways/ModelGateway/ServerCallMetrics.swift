import Metrics
import Synchronization

/// The metrics Seldon Core 2's agent reports of calls to an inference server, under its names and labels, so
/// that Seldon's Grafana dashboards read ours:
///
/// - `seldon_model_infer_api_seconds{server, server_replica, method, code}`: each call's latency (histogram);
/// - `seldon_model_infer_total`, `seldon_model_infer_seconds_total{server, server_replica, model, model_internal,
///   method_type}`: calls answered, and their summed latency, per model;
/// - `seldon_model_aggregate_infer_total`, `seldon_model_aggregate_infer_seconds_total{server, server_replica,
///   method_type}`: the same over every model.
///
/// `server_replica` is the endpoint's index in the Server's list, `method`/`method_type` its protocol (`rest`,
/// `grpc`), `code` the HTTP status the call ended with (`timeout` when it got none in time). Calls that never
/// reached the server are not counted.
final class ServerCallMetrics: Sendable {
    private let server: String
    private let method: String
    private let models = Mutex<[ModelKey: (calls: Counter, seconds: FloatingPointCounter)]>([:])
    private let latencies = Mutex<[LatencyKey: Timer]>([:])
    private let aggregates: [(calls: Counter, seconds: FloatingPointCounter)]

    private struct ModelKey: Hashable {
        var model: String
        var replica: Int
    }

    private struct LatencyKey: Hashable {
        var replica: Int
        var code: String
    }

    init(server: String, method: String, replicas: Int) {
        self.server = server
        self.method = method
        aggregates = (0..<replicas).map { replica in
            let dimensions = [("server", server), ("server_replica", "\(replica)"), ("method_type", method)]
            return (Counter(label: "seldon_model_aggregate_infer_total", dimensions: dimensions),
                    FloatingPointCounter(label: "seldon_model_aggregate_infer_seconds_total", dimensions: dimensions))
        }
    }

    /// One call to endpoint `replica` for `model`, ended with `code` after `duration`.
    func record(model: String, replica: Int, code: String, duration: Duration) {
        let nanoseconds = duration.nanoseconds
        let seconds = Double(nanoseconds) / 1e9
        let (server, method) = (server, method)
        let timer = latencies.withLock { timers in
            let key = LatencyKey(replica: replica, code: code)
            if let timer = timers[key] { return timer }
            let timer = Timer(label: "seldon_model_infer_api_seconds", dimensions: [
                ("server", server), ("server_replica", "\(replica)"), ("method", method), ("code", code),
            ])
            timers[key] = timer
            return timer
        }
        timer.recordNanoseconds(nanoseconds)
        let counters = models.withLock { all in
            let key = ModelKey(model: model, replica: replica)
            if let counters = all[key] { return counters }
            let dimensions = [
                ("server", server), ("server_replica", "\(replica)"), ("model", model), ("model_internal", model), ("method_type", method),
            ]
            let counters = (Counter(label: "seldon_model_infer_total", dimensions: dimensions),
                            FloatingPointCounter(label: "seldon_model_infer_seconds_total", dimensions: dimensions))
            all[key] = counters
            return counters
        }
        counters.calls.increment()
        counters.seconds.increment(by: seconds)
        if aggregates.indices.contains(replica) {
            aggregates[replica].calls.increment()
            aggregates[replica].seconds.increment(by: seconds)
        }
    }
}
