import StreamKit

/// Record headers with a meaning on pipeline and model topics (DESIGN §5).
public enum DataflowHeaders {
    /// The pipeline a record belongs to: model topics are shared, and each pipeline reads only its own records.
    public static let pipeline = "pipeline"
    /// The client's request id, kept along the whole graph.
    public static let requestID = "x-request-id"
    /// On an error record: the model (or pipeline step) that failed; the value holds the reason.
    public static let error = "seldon-pipeline-errors"
    /// W3C trace context, kept along the whole graph and passed on to every model server called.
    public static let traceparent = "traceparent"
    public static let tracestate = "tracestate"
    /// How often a request has entered each step of a pipeline with cycles: `step=count,…`.
    static let visits = "dataflow-visits"
    /// The batch a model request stands for, so that its response is split back into its requests.
    static let batch = "dataflow-batch"

    /// Headers only the engine reads; they never reach a pipeline's outputs.
    static let internalOnly: Set<String> = [visits, batch]

    /// Whether a client's header travels with its request through every step and to the model servers:
    /// `x-*` headers and the W3C trace context.
    public static func travels(_ name: String) -> Bool {
        name.hasPrefix("x-") || name == traceparent || name == tracestate
    }
}

extension Array where Element == KafkaHeader {
    /// The headers with `key` set to `value` alone.
    public func setting(_ key: String, to value: String) -> [KafkaHeader] {
        filter { $0.key != key } + [KafkaHeader(key: key, value: value)]
    }

    /// The headers without any named in `keys`.
    public func removing(_ keys: Set<String>) -> [KafkaHeader] { filter { !keys.contains($0.key) } }
}
