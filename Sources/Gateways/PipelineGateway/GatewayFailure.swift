import GRPCCore

/// Why the pipeline gateway could not answer a request: an HTTP status, the message the client reads, and the
/// request's id when it has one (a 504's id lets the client find the request later with inspect).
public struct GatewayFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public var status: Int
    public var message: String
    public var requestID: String?

    public init(status: Int, message: String, requestID: String? = nil) {
        self.status = status
        self.message = message
        self.requestID = requestID
    }

    public var description: String { "\(status): \(message)" }

    static func badRequest(_ message: String, requestID: String? = nil) -> Self { Self(status: 400, message: message, requestID: requestID) }
    static func notFound(_ message: String) -> Self { Self(status: 404, message: message) }
    static func tooLarge(_ message: String, requestID: String? = nil) -> Self { Self(status: 413, message: message, requestID: requestID) }
    static func unavailable(_ message: String, requestID: String? = nil) -> Self { Self(status: 503, message: message, requestID: requestID) }
    static func tooManyRequests(_ message: String) -> Self { Self(status: 429, message: message) }

    /// Seconds a client should wait before trying again (`Retry-After`), for the failures where that helps.
    var retryAfter: Int? { status == 429 ? 1 : nil }

    /// The same failure, naming the request it befell.
    func with(requestID id: String) -> Self {
        var failure = self
        failure.requestID = id
        return failure
    }

    /// The gRPC status for the same failure.
    var grpcCode: RPCError.Code {
        switch status {
        case 400: .invalidArgument
        case 404: .notFound
        case 413, 429: .resourceExhausted
        case 499: .cancelled
        case 502, 503: .unavailable
        case 504: .deadlineExceeded
        case 400..<500: .invalidArgument
        default: .internalError
        }
    }
}
