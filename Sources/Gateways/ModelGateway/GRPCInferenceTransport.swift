import Dataflow
import GRPCCore
import GRPCNIOTransportHTTP2

/// An OIP gRPC endpoint (`inference.GRPCInferenceService/ModelInfer`), over one HTTP/2 connection kept open and
/// multiplexed by all requests; the messages on Kafka go through unchanged.
final class GRPCInferenceTransport: InferenceTransport {
    let address: String
    private let client: GRPCClient<HTTP2ClientTransport.Posix>
    private let connections: Task<Void, Never>

    /// - Parameters:
    ///   - address: `host:port`, optionally with a `grpc://` or `http://` scheme; `grpcs://` or `https://` for TLS.
    ///   - tls: the servers a TLS address may reach.
    init(address: String, tls: ClientTLS = .system) throws {
        self.address = address
        var hostPort = Substring(address)
        let secure = address.hasPrefix("grpcs://") || address.hasPrefix("https://")
        for scheme in ["grpc://", "http://", "grpcs://", "https://"] where hostPort.hasPrefix(scheme) { hostPort = hostPort.dropFirst(scheme.count) }
        while hostPort.hasSuffix("/") { hostPort = hostPort.dropLast() }
        guard let colon = hostPort.lastIndex(of: ":"), let port = Int(hostPort[hostPort.index(after: colon)...]) else {
            throw ModelGatewayError("gRPC endpoint '\(address)' is not host:port")
        }
        let host = String(hostPort[..<colon])
        // An IP address is no DNS name: TLS would send it as the server name (SNI), which is not allowed.
        let isIPv4 = host.split(separator: ".", omittingEmptySubsequences: false).count == 4 && host.split(separator: ".").allSatisfy { UInt8($0) != nil }
        let transport = try HTTP2ClientTransport.Posix(
            target: isIPv4 ? .ipv4(address: host, port: port) : .dns(host: host, port: port),
            transportSecurity: secure ? tls.grpc : .plaintext
        )
        let client = GRPCClient(transport: transport)
        self.client = client
        connections = Task { try? await client.runConnections() }
    }

    deinit {
        client.beginGracefulShutdown()
        connections.cancel()
    }

    func infer(
        model: String,
        _ request: Inference_ModelInferRequest,
        headers: [(name: String, value: String)],
        timeout: Duration
    ) async throws(InferenceCallError) -> InferenceReply {
        var request = request
        request.modelName = model
        var metadata = Metadata()
        for header in headers { metadata.addString(header.value, forKey: header.name) }
        do {
            return try await Inference_GRPCInferenceService.Client(wrapping: client).modelInfer(
                request: ClientRequest(message: request, metadata: metadata),
                options: options(timeout)
            ) { response in
                let message = try response.message
                let passed = response.metadata.compactMap { entry -> (name: String, value: String)? in
                    guard entry.key.hasPrefix("x-"), case .string(let value) = entry.value else { return nil }
                    return (entry.key, value)
                }
                return InferenceReply(response: message, headers: passed)
            }
        } catch let error as RPCError {
            throw Self.classify(error, timeout: timeout, address: address)
        } catch {
            throw .unreachable("\(address): \(error)")
        }
    }

    func isReady(timeout: Duration) async -> Bool {
        let ready = try? await Inference_GRPCInferenceService.Client(wrapping: client).serverReady(
            request: ClientRequest(message: Inference_ServerReadyRequest()),
            options: options(timeout)
        ) { try $0.message.ready }
        return ready ?? false
    }

    func shutdown() {
        client.beginGracefulShutdown()
    }

    private func options(_ timeout: Duration) -> CallOptions {
        var options = CallOptions.defaults
        options.timeout = timeout
        // Fail at once when the server cannot be reached, so that the gateway pauses its models.
        options.waitForReady = false
        return options
    }

    /// A gRPC status in the terms of the gateway's decisions, with the HTTP status OIP REST would have answered.
    static func classify(_ error: RPCError, timeout: Duration, address: String) -> InferenceCallError {
        switch error.code {
        case .unavailable: .unreachable("\(address): \(error.message)")
        case .deadlineExceeded: .timedOut(timeout)
        case .invalidArgument, .failedPrecondition, .outOfRange: .rejected(status: 400, message: error.message)
        case .notFound: .rejected(status: 404, message: error.message)
        case .alreadyExists, .aborted: .rejected(status: 409, message: error.message)
        case .permissionDenied: .rejected(status: 403, message: error.message)
        case .unauthenticated: .rejected(status: 401, message: error.message)
        case .unimplemented: .rejected(status: 501, message: error.message)
        case .resourceExhausted: .serverError(status: 503, message: error.message)
        default: .serverError(status: 500, message: error.message)
        }
    }
}
