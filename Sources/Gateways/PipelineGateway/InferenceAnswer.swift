import Dataflow

/// A synchronous request's answer: the response (its `id` the request's), and the headers going back to the
/// client (`x-request-id`, the client's `x-*` headers that travelled with the request, and the model servers').
public struct InferenceAnswer: Sendable {
    public var response: InferenceResponse
    public var headers: [(name: String, value: String)]
}
