import AsyncHTTPClient
import Dataflow

/// A client of a pipeline gateway's inference API (or of any OIP server) over REST or gRPC, as the CLI's
/// `infer` uses it: a pipeline is named to the gateway as Seldon Core 2 clients name it, through the
/// `seldon-model: {pipeline}.pipeline` header.
public struct InferenceClient: Sendable {
    private let transport: any InferenceTransport

    /// - Parameters:
    ///   - server: the REST base URL (`http://127.0.0.1:9000`, `https://…`), or with `grpc` the gRPC `host:port`
    ///     (`grpcs://host:port` over TLS).
    ///   - tls: the servers an `https://` or `grpcs://` address may reach.
    public init(server: String, grpc: Bool, tls: ClientTLS = .system, maxResponseBytes: Int = 64 << 20) throws {
        transport = grpc
            ? try GRPCInferenceTransport(address: server, tls: tls)
            : RESTInferenceTransport(address: server, client: tls.httpClient, maxResponseBytes: maxResponseBytes)
    }

    /// A response and the gateway's `x-*` headers (`x-request-id` among them).
    public struct Answer: Sendable {
        public var response: InferenceResponse
        public var headers: [(name: String, value: String)]
    }

    /// Sends `request` to `target` and waits for the answer.
    ///
    /// - Parameter headers: sent as HTTP headers or gRPC metadata (`x-request-id`, `authorization`, …).
    public func infer(
        _ target: InferenceTarget,
        _ request: InferenceRequest,
        headers: [(name: String, value: String)] = [],
        timeout: Duration = .seconds(60)
    ) async throws(InferenceClientError) -> Answer {
        let routing: (name: String, value: String) = switch target {
        case .pipeline(let name): ("seldon-model", name + InferenceTarget.pipelineSuffix)
        case .model(let name): ("seldon-model", name)
        }
        do {
            let reply = try await transport.infer(model: target.name, request.protobuf(), headers: [routing] + headers, timeout: timeout)
            return Answer(response: try InferenceResponse(protobuf: reply.response), headers: reply.headers)
        } catch let error as InferenceCallError {
            throw InferenceClientError(error)
        } catch {
            throw InferenceClientError(status: nil, message: "the answer is not an OIP response: \(error)")
        }
    }

    /// Closes the client's connection.
    public func shutdown() { transport.shutdown() }
}

/// Why an inference call failed: the status the server answered (HTTP, or the gRPC code as its HTTP status),
/// `nil` when no answer came at all.
public struct InferenceClientError: Error, Sendable, CustomStringConvertible {
    public var status: Int?
    public var message: String

    public init(status: Int?, message: String) {
        self.status = status
        self.message = message
    }

    init(_ error: InferenceCallError) {
        switch error {
        case .unreachable(let reason): self.init(status: nil, message: "cannot reach the server: \(reason)")
        case .timedOut(let timeout): self.init(status: 504, message: "no answer within \(timeout)")
        case .serverError(let status, let message), .rejected(let status, let message): self.init(status: status, message: message)
        case .invalid(let reason): self.init(status: nil, message: reason)
        }
    }

    public var description: String { status.map { "\($0): \(message)" } ?? message }
}

extension InferenceClient {
    /// Every record of request `requestID` (or of the pipeline's latest request) on the topics of `pipeline`, as
    /// the pipeline gateway at `server` (its REST URL) reports it in JSON.
    /// The last `count` records of `pipeline` on each of its topics, in JSON.
    public static func recentMessages(
        server: String, token: String?, tls: ClientTLS = .system, pipeline: String, count: Int
    ) async throws(InferenceClientError) -> [UInt8] {
        try await get(server: server, token: token, tls: tls, path: "/v2/pipelines/\(ControlClient.escaped(pipeline))/messages?last=\(count)")
    }

    public static func inspect(
        server: String, token: String?, tls: ClientTLS = .system, pipeline: String, requestID: String?
    ) async throws(InferenceClientError) -> [UInt8] {
        let path = "/v2/pipelines/\(ControlClient.escaped(pipeline))/requests" + (requestID.map { "/" + ControlClient.escaped($0) } ?? "")
        return try await get(server: server, token: token, tls: tls, path: path)
    }

    private static func get(server: String, token: String?, tls: ClientTLS, path: String) async throws(InferenceClientError) -> [UInt8] {
        do {
            return try await APIConnection(baseURL: server, token: token, tls: tls).call(.GET, path)
        } catch {
            switch error {
            case .unreachable(let reason): throw InferenceClientError(status: nil, message: "cannot reach the server: \(reason)")
            case .refused(let status, let message): throw InferenceClientError(status: status, message: message)
            }
        }
    }
}
