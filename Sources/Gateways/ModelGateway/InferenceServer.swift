import AsyncHTTPClient
import Dataflow
import Logging
import Synchronization

/// A model server as the model gateway sees it: its endpoints, which of them answer, and how one request is
/// taken to an answer or to a failure retrying cannot fix.
///
/// Requests go to the endpoint with the fewest outstanding requests. An endpoint that cannot be reached is
/// taken out and checked until it is ready again; while none is up, requests wait for one instead of failing,
/// and the gateway hears of it (``availability``) to stop fetching the server's models' requests.
final class InferenceServer: Sendable {
    /// The server as configured: its name, endpoints and protocol.
    let spec: ModelServer
    var name: String { spec.name }
    private let transports: [any InferenceTransport]
    private let calls: InferenceCallSettings
    private let metrics: ServerCallMetrics
    private let state: Mutex<State>
    private let logger: Logger
    /// Told the server's name and `true`/`false` whenever it becomes available or unavailable.
    private let availability: @Sendable (String, Bool) -> Void

    private struct State: ~Copyable {
        var balancer: EndpointBalancer
        var waiters: [UInt64: CheckedContinuation<Int, any Error>] = [:]
        var cancelledWaiters: Set<UInt64> = []
        var nextWaiter: UInt64 = 0
        var probes: [Int: Task<Void, Never>] = [:]
        var closed = false
    }

    init(
        spec: ModelServer,
        transports: [any InferenceTransport],
        calls: InferenceCallSettings,
        logger: Logger,
        availability: @escaping @Sendable (String, Bool) -> Void
    ) {
        self.spec = spec
        self.transports = transports
        self.calls = calls
        metrics = ServerCallMetrics(server: spec.name, method: spec.wireProtocol.rawValue, replicas: transports.count)
        self.state = Mutex(State(balancer: EndpointBalancer(endpoints: transports.count)))
        var logger = logger
        logger[metadataKey: "server"] = "\(spec.name)"
        self.logger = logger
        self.availability = availability
    }

    /// The HTTP client REST endpoints are called through: it never retries a connection itself, so that a refused
    /// one is seen at once and the endpoint taken out.
    static func httpClient(connectionsPerEndpoint: Int) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connectionsPerEndpoint)
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(2)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// A server reached over the protocol its spec names, REST endpoints through `http`.
    ///
    /// - Throws: ``ModelGatewayError`` for a gRPC endpoint that is not an address.
    convenience init(
        _ server: ModelServer,
        http: HTTPClient,
        maxResponseBytes: Int,
        calls: InferenceCallSettings,
        logger: Logger,
        availability: @escaping @Sendable (String, Bool) -> Void = { _, _ in }
    ) throws {
        let transports: [any InferenceTransport] = try server.endpoints.map { endpoint in
            switch server.wireProtocol {
            case .rest: RESTInferenceTransport(address: endpoint, client: http, maxResponseBytes: maxResponseBytes)
            case .grpc: try GRPCInferenceTransport(address: endpoint)
            }
        }
        self.init(spec: server, transports: transports, calls: calls, logger: logger, availability: availability)
    }

    /// Whether at least one endpoint is up.
    var isAvailable: Bool { state.withLock { $0.balancer.isAvailable } }

    /// Runs `model` on `request`: retries server errors and timeouts with backoff, waits out an unreachable
    /// server, and fails only for what retrying cannot fix.
    ///
    /// - Throws: ``InferenceFailure``, or `CancellationError` when the caller is cancelled or the server closed.
    func infer(
        model: String,
        _ request: Inference_ModelInferRequest,
        headers: [(name: String, value: String)]
    ) async throws -> InferenceReply {
        var attempts = 0
        var reconnects = 0
        while true {
            let endpoint = try await acquire()
            let started = ContinuousClock.now
            do {
                let reply = try await transports[endpoint].infer(model: model, request, headers: headers, timeout: calls.timeout)
                release(endpoint)
                metrics.record(model: model, replica: endpoint, code: "200", duration: ContinuousClock.now - started)
                return reply
            } catch {
                release(endpoint)
                // A call cut short by the caller's cancellation says nothing of the server.
                if Task.isCancelled { throw CancellationError() }
                let error = shortened(error, model: model)
                if let code = error.metricCode {
                    metrics.record(model: model, replica: endpoint, code: code, duration: ContinuousClock.now - started)
                }
                switch error {
                case .unreachable:
                    reconnects += 1
                    markDown(endpoint, reason: error)
                    guard reconnects <= calls.retry.maxReconnects else {
                        throw InferenceFailure(status: nil, reason: "\(error) (the connection broke \(reconnects) times for this request)")
                    }
                case .timedOut, .serverError:
                    attempts += 1
                    guard attempts < calls.retry.maxAttempts else {
                        throw InferenceFailure(status: error.status, reason: "\(error) (after \(attempts) attempts)")
                    }
                    try await Task.sleep(for: calls.retry.backoff(after: attempts))
                case .rejected, .invalid:
                    throw InferenceFailure(status: error.status, reason: "\(error)")
                }
            }
        }
    }

    /// `error` with the server's message cut to its reason (``ServerErrorText``); the whole message is logged.
    private func shortened(_ error: InferenceCallError, model: String) -> InferenceCallError {
        switch error {
        case .serverError(let status, let message): .serverError(status: status, message: reason(message, status: status, model: model))
        case .rejected(let status, let message): .rejected(status: status, message: reason(message, status: status, model: model))
        default: error
        }
    }

    private func reason(_ message: String, status: Int, model: String) -> String {
        let text = ServerErrorText(message)
        if let details = text.details {
            logger.info("model server error", metadata: ["model": "\(model)", "status": "\(status)", "message": "\(details)"])
        }
        return text.reason
    }

    /// Stops health checks and fails waiting requests with `CancellationError`.
    func close() {
        let (probes, waiters) = state.withLock { state in
            state.closed = true
            defer {
                state.probes = [:]
                state.waiters = [:]
            }
            return (Array(state.probes.values), Array(state.waiters.values))
        }
        for probe in probes { probe.cancel() }
        for waiter in waiters { waiter.resume(throwing: CancellationError()) }
        for transport in transports { transport.shutdown() }
    }

    // MARK: Endpoints

    /// An endpoint for one request: at once when one is up, otherwise once one comes back.
    private func acquire() async throws -> Int {
        if let endpoint = state.withLock({ $0.closed ? nil : $0.balancer.acquire() }) { return endpoint }
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
                let outcome: Result<Int, any Error>? = state.withLock { state in
                    if state.closed || state.cancelledWaiters.remove(id) != nil { return .failure(CancellationError()) }
                    if let endpoint = state.balancer.acquire() { return .success(endpoint) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let waiter: CheckedContinuation<Int, any Error>? = state.withLock { state in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                state.cancelledWaiters.insert(id)
                return nil
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    private func release(_ endpoint: Int) {
        state.withLock { $0.balancer.release(endpoint) }
    }

    private func markDown(_ endpoint: Int, reason: InferenceCallError) {
        let changed: Bool? = state.withLock { state in
            guard !state.closed, state.balancer.isUp(endpoint) else { return nil }
            let changed = state.balancer.mark(endpoint, up: false)
            state.probes[endpoint] = Task { [self] in await probe(endpoint) }
            return changed
        }
        guard let changed else { return }
        logger.warning("endpoint down", metadata: ["endpoint": "\(transports[endpoint].address)", "reason": "\(reason)"])
        if changed { availability(name, false) }
    }

    /// Checks a down endpoint's readiness until it answers, then puts it back and hands it to waiting requests.
    private func probe(_ endpoint: Int) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: calls.healthCheckInterval)
            guard await transports[endpoint].isReady(timeout: calls.healthCheckTimeout) else { continue }
            let (changed, waiters): (Bool, [(CheckedContinuation<Int, any Error>, Int)]) = state.withLock { state in
                state.probes[endpoint] = nil
                guard !state.closed else { return (false, []) }
                let changed = state.balancer.mark(endpoint, up: true)
                var served: [(CheckedContinuation<Int, any Error>, Int)] = []
                for (id, waiter) in state.waiters {
                    guard let taken = state.balancer.acquire() else { break }
                    state.waiters[id] = nil
                    served.append((waiter, taken))
                }
                return (changed, served)
            }
            logger.info("endpoint up", metadata: ["endpoint": "\(transports[endpoint].address)", "waiting": "\(waiters.count)"])
            if changed { availability(name, true) }
            for (waiter, taken) in waiters { waiter.resume(returning: taken) }
            return
        }
    }
}

/// A request the model gateway gives up on: the answer it puts on the errors topic.
struct InferenceFailure: Error, Sendable, CustomStringConvertible {
    /// The server's HTTP status (or the gRPC status's HTTP equivalent), when it answered.
    var status: Int?
    var reason: String
    var description: String { reason }
}

extension InferenceCallError {
    /// The `code` of a call that reached the server, for ``ServerCallMetrics``; `nil` for one that did not.
    var metricCode: String? {
        switch self {
        case .serverError(let status, _), .rejected(let status, _): "\(status)"
        case .timedOut: "timeout"
        case .unreachable, .invalid: nil
        }
    }

    var status: Int? {
        switch self {
        case .serverError(let status, _), .rejected(let status, _): status
        case .unreachable, .timedOut, .invalid: nil
        }
    }
}
