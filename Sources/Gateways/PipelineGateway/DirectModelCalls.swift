import AsyncHTTPClient
import Dataflow
import Logging
import Synchronization

/// Synchronous requests to a model, taken straight to a server that holds it — as Seldon Core 2's Envoy routes
/// them — instead of through the model's Kafka topics: two hops fewer. The model gateway's balancing (fewest
/// outstanding requests over the replicas), retries and waiting for an unreachable server apply unchanged.
final class DirectModelCalls: Sendable {
    private let http: HTTPClient
    private let calls: InferenceCallSettings
    private let maxResponseBytes: Int
    private let logger: Logger
    /// One connection per server name, made again when the server's endpoints or protocol change.
    private let servers = Mutex<[String: InferenceServer]>([:])

    init(calls: InferenceCallSettings, connectionsPerEndpoint: Int, maxResponseBytes: Int, logger: Logger) {
        http = InferenceServer.httpClient(connectionsPerEndpoint: connectionsPerEndpoint)
        self.calls = calls
        self.maxResponseBytes = maxResponseBytes
        self.logger = logger
    }

    /// Runs `model` on `request` at `server`, waiting at most until `deadline`.
    ///
    /// - Throws: the server's 4xx when it refused the request; 502 when it kept failing or could not be reached
    ///   again and again; 504 at the deadline (a request waiting for an unreachable server waits until then).
    func infer(
        model: String,
        on server: ModelServer,
        _ request: InferenceRequest,
        headers: [(name: String, value: String)],
        until deadline: ContinuousClock.Instant
    ) async throws(GatewayFailure) -> InferenceAnswer {
        let id = request.id
        let connection: InferenceServer
        do {
            connection = try self.connection(to: server)
        } catch {
            throw .unavailable("model \(model): its server \(server.name) cannot be called: \(error)", requestID: id)
        }
        let message = request.protobuf()
        let outcome: Result<InferenceReply, any Error>? = await withTaskGroup(of: Result<InferenceReply, any Error>?.self) { group in
            group.addTask {
                do { return .success(try await connection.infer(model: model, message, headers: headers)) } catch { return .failure(error) }
            }
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        switch outcome {
        case nil:
            throw GatewayFailure(status: 504, message: "model \(model) did not answer in time", requestID: id)
        case .success(let reply):
            do {
                var response = try InferenceResponse(protobuf: reply.response)
                response.id = id
                if response.modelName.isEmpty { response.modelName = model }
                let passed = reply.headers.filter { $0.name.hasPrefix("x-") && $0.name != DataflowHeaders.requestID }
                return InferenceAnswer(response: response, headers: [(DataflowHeaders.requestID, id)] + passed)
            } catch {
                throw GatewayFailure(status: 502, message: "model \(model) answered with what is not an inference response: \(error)", requestID: id)
            }
        case .failure(let failure as InferenceFailure):
            if let status = failure.status, (400..<500).contains(status) {
                throw GatewayFailure(status: status, message: "\(model) : \(failure.reason)", requestID: id)
            }
            throw GatewayFailure(status: 502, message: "\(model) : \(failure.reason)", requestID: id)
        case .failure(let error):
            throw GatewayFailure(status: 499, message: "the request was cancelled: \(error)", requestID: id)
        }
    }

    private func connection(to server: ModelServer) throws -> InferenceServer {
        let (connection, replaced) = try servers.withLock { servers -> (InferenceServer, InferenceServer?) in
            if let existing = servers[server.name], existing.spec == server { return (existing, nil) }
            let made = try InferenceServer(server, http: http, maxResponseBytes: maxResponseBytes, calls: calls, logger: logger)
            defer { servers[server.name] = made }
            return (made, servers[server.name])
        }
        replaced?.close()
        return connection
    }

    /// Closes every server connection; calls still waiting fail.
    func shutdown() async {
        let closing = servers.withLock { servers in
            defer { servers = [:] }
            return Array(servers.values)
        }
        for server in closing { server.close() }
        try? await http.shutdown()
    }
}
