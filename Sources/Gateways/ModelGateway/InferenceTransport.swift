import Dataflow

/// One OIP endpoint of a model server, reached over REST or gRPC.
///
/// Requests and responses are the protobuf messages that travel on Kafka, so that a gRPC endpoint passes them
/// through and a REST endpoint converts them to and from OIP JSON.
protocol InferenceTransport: Sendable {
    /// The endpoint's address, for logs and error texts.
    var address: String { get }

    /// Asks the endpoint to run `model` on `request`.
    ///
    /// - Parameter headers: request metadata to pass on (`x-request-id`, client `x-*` headers, `traceparent`).
    func infer(
        model: String,
        _ request: Inference_ModelInferRequest,
        headers: [(name: String, value: String)],
        timeout: Duration
    ) async throws(InferenceCallError) -> InferenceReply

    /// Whether the endpoint answers its readiness check.
    func isReady(timeout: Duration) async -> Bool

    /// Closes the endpoint's connections once the calls in flight are done.
    func shutdown()
}

/// A model's answer and the endpoint's `x-*` response headers.
struct InferenceReply: Sendable {
    var response: Inference_ModelInferResponse
    var headers: [(name: String, value: String)]
}

/// Why one call to an endpoint failed, in the terms that decide what happens next.
enum InferenceCallError: Error, Sendable {
    /// No connection, or it broke before the answer: the endpoint is down; the request waits and goes again.
    case unreachable(String)
    /// No answer within the call's timeout; worth retrying.
    case timedOut(Duration)
    /// The server failed (5xx); worth retrying.
    case serverError(status: Int, message: String)
    /// The server refused the request (4xx); retrying cannot help.
    case rejected(status: Int, message: String)
    /// The request could not be encoded or the answer decoded; retrying cannot help.
    case invalid(String)

    /// Whether trying the same request again may succeed.
    var isRetryable: Bool {
        switch self {
        case .unreachable, .timedOut, .serverError: true
        case .rejected, .invalid: false
        }
    }
}

extension InferenceCallError: CustomStringConvertible {
    var description: String {
        switch self {
        case .unreachable(let reason): "server unreachable: \(reason)"
        case .timedOut(let timeout): "no answer within \(timeout)"
        case .serverError(let status, let message): "server error \(status): \(message)"
        case .rejected(_, let message): message
        case .invalid(let reason): reason
        }
    }
}
