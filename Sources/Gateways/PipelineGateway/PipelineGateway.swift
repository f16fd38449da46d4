import Dataflow
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import StreamKit
import Synchronization

/// Serves synchronous inference over the asynchronous core: a request over HTTP or gRPC is written to its
/// pipeline's input topic, and answered when its answer comes back on the output topic. A request to a model by
/// name goes straight to a server holding it (``PipelineGatewayConfiguration/callsModelsDirectly``).
///
/// HTTP (``PipelineGatewayRoutes``) and gRPC (`inference.GRPCInferenceService`) share ``infer(_:_:headers:)``.
/// Instances sharing the consumer group share the answer topics' partitions; each keys its requests so that
/// their answers come back to it. `run()` is the gateway's life (a swift-service-lifecycle `Service`).
public final class PipelineGateway: Service, Sendable {
    public let configuration: PipelineGatewayConfiguration
    let directory: any PipelineDirectory
    let router: ResponseRouter
    let metrics: PipelineGatewayMetrics
    /// What `/metrics` shows: this gateway's metrics, and whatever else the process records into it.
    let registry: PrometheusCollectorRegistry
    let logger: Logger
    private let producer: KafkaProducer
    private let models: DirectModelCalls
    private let inFlight = Atomic<Int>(0)
    private let httpPort = ListeningPort()
    private let grpcPort = ListeningPort()

    /// - Parameters:
    ///   - directory: the deployed pipelines and models, for routing and readiness.
    ///   - registry: the registry `/metrics` shows; the gateway's own metrics are recorded into it.
    public init(
        configuration: PipelineGatewayConfiguration,
        directory: any PipelineDirectory,
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        logger: Logger
    ) throws {
        self.configuration = configuration
        self.directory = directory
        self.registry = registry
        self.logger = logger
        metrics = PipelineGatewayMetrics(factory: PrometheusMetricsFactory(registry: registry))
        router = ResponseRouter(configuration: configuration, metrics: metrics, logger: logger)
        producer = try KafkaProducer(configuration: configuration.producer, logger: logger)
        models = DirectModelCalls(
            calls: configuration.modelCalls, connectionsPerEndpoint: configuration.connectionsPerEndpoint,
            maxResponseBytes: configuration.maxResponseBytes, logger: logger
        )
    }

    /// The ports the HTTP and gRPC servers listen on, once they do (useful when configured with port 0); 0 and
    /// `nil` when ``run()`` ended before they did.
    public func listeningPorts() async -> (http: Int, grpc: Int?) { (await httpPort.wait() ?? 0, await grpcPort.wait()) }

    // MARK: Life

    /// Serves until graceful shutdown or cancellation: the servers stop taking requests and finish those they
    /// have, then the answers stop being read.
    public func run() async throws {
        var failure: (any Error)?
        do {
            try await serveUntilStopped()
        } catch {
            failure = error
        }
        await producer.close()
        await models.shutdown()
        await httpPort.finish()
        await grpcPort.finish()
        if let failure { throw failure }
    }

    private func serveUntilStopped() async throws {
        let http = try await httpPort.application(
            router: PipelineGatewayRoutes(gateway: self).router(), host: configuration.httpHost, port: configuration.httpPort,
            tls: configuration.tls, limits: configuration.httpLimits, logger: logger
        )
        let grpc = try makeGRPCServer()
        if grpc == nil { await grpcPort.set(nil) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.router.run() }
            group.addTask { await self.followDirectory() }
            group.addTask {
                // The router and the directory follower run until the router stops: stop it however the servers
                // end (a port already in use ends them at once), or the group waits for ever.
                do {
                    try await self.serve(http: http, grpc: grpc)
                } catch {
                    self.logger.error("inference API failed", metadata: ["error": "\(error)"])
                    await self.router.stop()
                    throw error
                }
                await self.router.stop()
            }
            try await group.waitForAll()
        }
    }

    /// The HTTP and gRPC servers, until graceful shutdown; the first to fail (a port in use) stops the other.
    private func serve(http: some ApplicationProtocol, grpc: GRPCServer<HTTP2ServerTransport.Posix>?) async throws {
        try await withThrowingDiscardingTaskGroup { servers in
            servers.addTask { try await http.run() }
            if let grpc {
                servers.addTask {
                    // `serve()` itself is never cancelled: cancelled while a connection is accepted but not yet
                    // served, NIO traps ("Deinited NIOAsyncWriter without calling finish()", apple/swift-nio#3481;
                    // seen in `make test`). Cancellation, like graceful shutdown, stops it gracefully.
                    let serving = Task { try await grpc.serve() }
                    try await withTaskCancellationHandler {
                        try await withGracefulShutdownHandler {
                            try await serving.value
                        } onGracefulShutdown: {
                            grpc.beginGracefulShutdown()
                        }
                    } onCancel: {
                        grpc.beginGracefulShutdown()
                    }
                }
                servers.addTask {
                    let address = try await grpc.listeningAddress
                    await self.grpcPort.set(address?.ipv4?.port ?? address?.ipv6?.port)
                }
            }
        }
    }

    /// Keeps the router reading the output topics of every deployed pipeline, so that a rebalance happens when a
    /// pipeline is deployed rather than when its first request comes. (A model's topics, which carry the traffic
    /// of every pipeline using it, are read only once a request goes to the model directly.)
    private func followDirectory() async {
        let topics = configuration.topics
        while !Task.isCancelled, await !router.hasStopped {
            let wanted = await directory.allPipelines().filter { $0.status == .ready && $0.pipeline.output != nil }.map { topics.pipelineOutputs($0.name) }
            await router.follow(wanted)
            try? await Task.sleep(for: configuration.directoryRefreshInterval)
        }
    }

    private func makeGRPCServer() throws -> GRPCServer<HTTP2ServerTransport.Posix>? {
        guard let port = configuration.grpcPort else { return nil }
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: configuration.httpHost, port: port),
            transportSecurity: configuration.tls?.grpc ?? .plaintext,
            config: .defaults {
                $0.rpc.maxRequestPayloadSize = configuration.maxRequestBytes
                $0.connection.maxIdleTime = configuration.httpLimits.idleTimeout
                // A client that keeps a call open cannot hold a shutdown up for longer than this.
                $0.connection.maxGraceTime = .seconds(10)
            }
        )
        return GRPCServer(
            transport: transport,
            services: [GRPCInferenceService(gateway: self)],
            interceptors: configuration.authToken.map { [BearerTokenInterceptor(token: $0)] } ?? []
        )
    }

    // MARK: Inference

    /// Sends `request` through `target` and waits for its answer.
    ///
    /// - Parameter headers: the client's headers; `x-request-id` (taken, or made up when absent), other `x-*`
    ///   headers and `traceparent` travel with the request.
    /// - Throws: 404 for an unknown target, 503 when it is not ready, 400 when a model failed (`<model> : <reason>`),
    ///   504 when no answer came within ``PipelineGatewayConfiguration/timeout``, 413 for a request too large, 429
    ///   when ``PipelineGatewayConfiguration/maxRequestsInFlight`` requests wait already.
    public func infer(
        _ target: InferenceTarget,
        _ request: InferenceRequest,
        headers: [(name: String, value: String)],
        via api: InferenceAPI = .rest
    ) async throws(GatewayFailure) -> InferenceAnswer {
        let start = ContinuousClock.now
        guard inFlight.add(1, ordering: .relaxed).newValue <= configuration.maxRequestsInFlight else {
            inFlight.subtract(1, ordering: .relaxed)
            metrics.started()
            metrics.finished(target, status: 429, since: start, via: api)
            throw .tooManyRequests("\(configuration.maxRequestsInFlight) requests are waiting for their answers already; try again shortly")
        }
        defer { inFlight.subtract(1, ordering: .relaxed) }
        var target = target
        var headers = headers
        var route: String?
        if let experiment = await directory.experiment(routing: target) {
            let chosen = ExperimentRoute.choose(experiment, headers: headers)
            target = chosen.target
            route = chosen.route
            headers.removeAll { $0.name == ExperimentRoute.header }
            if let mirror = chosen.mirror { self.mirror(request, to: mirror, headers: headers) }
        }
        metrics.started()
        do {
            var answer = try await send(target, request, headers: headers, start: start)
            metrics.finished(target, status: 200, since: start, via: api)
            logger.debug("request answered", metadata: [
                DataflowHeaders.requestID: "\(answer.headers.last { $0.name == DataflowHeaders.requestID }?.value ?? "-")",
                "target": "\(target)", "status": "200", "duration": "\(ContinuousClock.now - start)",
            ])
            if let route { answer.headers.append((ExperimentRoute.header, route)) }
            return answer
        } catch {
            metrics.finished(target, status: error.status, since: start, via: api)
            logger.debug("request failed", metadata: [
                DataflowHeaders.requestID: "\(error.requestID ?? "-")", "target": "\(target)", "status": "\(error.status)",
                "reason": "\(error.message)", "duration": "\(ContinuousClock.now - start)",
            ])
            throw error
        }
    }

    /// Sends a copy of `request` to an experiment's mirror, with an id of its own; its answer is counted
    /// (`seldon_pipelinegateway_mirrored_total`), never returned.
    private func mirror(_ request: InferenceRequest, to mirror: InferenceTarget, headers: [(name: String, value: String)]) {
        let id = Self.requestID(of: request, headers: headers) + ".mirror"
        var copied = headers.filter { $0.name != DataflowHeaders.requestID }
        copied.append((DataflowHeaders.requestID, id))
        Task {
            do throws(GatewayFailure) {
                _ = try await self.send(mirror, request, headers: copied, start: .now)
                self.metrics.mirrored(mirror, status: 200)
            } catch {
                self.metrics.mirrored(mirror, status: error.status)
            }
        }
    }

    private func send(
        _ target: InferenceTarget,
        _ request: InferenceRequest,
        headers: [(name: String, value: String)],
        start: ContinuousClock.Instant
    ) async throws(GatewayFailure) -> InferenceAnswer {
        let state = try await checkReady(target)
        let id = Self.requestID(of: request, headers: headers)
        if case .pipeline(let name) = target, state?.pipeline.output == nil {
            throw .badRequest(
                "pipeline \(name) has no output (spec.output), so it answers nobody; write requests to its inputs topic \(target.inputs(configuration.topics)) to run it",
                requestID: id
            )
        }
        let tensors = Set(request.inputs.map(\.name))
        if tensors.isEmpty { throw .badRequest("the request has no inputs: an inference request needs at least one tensor", requestID: id) }
        if case .pipeline = target, let problem = state?.pipeline.unanswerableRequest(tensors: tensors) {
            throw .badRequest(problem, requestID: id)
        }
        var request = request
        request.id = id
        let deadline = start + configuration.timeout
        if case .model(let name) = target, configuration.callsModelsDirectly, let server = await directory.server(ofModel: name) {
            var passed = headers.filter { DataflowHeaders.travels($0.name) && $0.name != DataflowHeaders.requestID }
            passed.append((DataflowHeaders.requestID, id))
            return try await models.infer(model: name, on: server, request, headers: passed, until: deadline)
        }
        let value: [UInt8]
        do {
            value = try request.serializedBytes()
        } catch {
            throw .badRequest("the request cannot be encoded: \(error)", requestID: id)
        }
        var recordHeaders: [KafkaHeader] = [KafkaHeader(key: DataflowHeaders.requestID, value: id)]
        if case .pipeline(let name) = target { recordHeaders.append(KafkaHeader(key: DataflowHeaders.pipeline, value: name)) }
        for header in headers where DataflowHeaders.travels(header.name) && header.name != DataflowHeaders.requestID {
            recordHeaders.append(KafkaHeader(key: header.name, value: header.value))
        }

        let topics = configuration.topics
        let key: String
        do {
            key = try await router.expect(id: id, answeredOn: target.answers(topics), until: deadline)
        } catch {
            throw error.with(requestID: id)
        }
        do {
            _ = try await producer.send(KafkaProducerRecord(topic: target.inputs(topics), key: Array(key.utf8), value: value, headers: recordHeaders))
        } catch {
            await router.abandon(key, because: error)
            if (error as? KafkaError)?.code == .messageTooLarge {
                throw .tooLarge("the request (\(value.count) bytes as protobuf) is larger than the broker accepts on \(target.inputs(topics))", requestID: id)
            }
            throw .unavailable("the request could not be written to \(target.inputs(topics)): \(error)", requestID: id)
        }
        let record: KafkaConsumerRecord
        do {
            record = try await router.answer(to: key)
        } catch let failure as GatewayFailure {
            throw failure.with(requestID: id)
        } catch {
            throw GatewayFailure(status: 499, message: "the client went away", requestID: id)
        }
        var answer = try answer(record, target: target, id: id)
        if let state { answer.headers.append((Self.pipelineVersionHeader, "\(state.version)")) }
        return answer
    }

    private func answer(_ record: KafkaConsumerRecord, target: InferenceTarget, id: String) throws(GatewayFailure) -> InferenceAnswer {
        if let source = record.headers.string(DataflowHeaders.error) {
            throw .badRequest("\(source) : \(String(decoding: record.value ?? [], as: UTF8.self))", requestID: id)
        }
        let passed = record.headers.compactMap { header -> (name: String, value: String)? in
            guard header.key.hasPrefix("x-"), header.key != DataflowHeaders.requestID, let value = header.value else { return nil }
            return (header.key, String(decoding: value, as: UTF8.self))
        }
        do {
            var response = try InferenceResponse(serializedBytes: record.value ?? [])
            response.id = id
            if response.modelName.isEmpty { response.modelName = target.name }
            return InferenceAnswer(response: response, headers: [(DataflowHeaders.requestID, id)] + passed)
        } catch {
            throw GatewayFailure(status: 500, message: "the answer on \(record.topic) is not a ModelInferResponse: \(error)", requestID: id)
        }
    }

    /// 404 for a target that does not exist, 503 for a pipeline that is not ready; a pipeline's state otherwise.
    @discardableResult
    func checkReady(_ target: InferenceTarget) async throws(GatewayFailure) -> PipelineState? {
        switch target {
        case .pipeline(let name):
            let state = try await deployed(name)
            guard state.status == .ready else { throw .unavailable("pipeline \(name) is not ready: \(state.status)") }
            return state
        case .model(let name):
            guard await directory.hasModel(named: name) else { throw .notFound("model \(name) not found") }
            return nil
        }
    }

    /// Pipeline `name` as deployed; 404 when there is none, or it was removed.
    private func deployed(_ name: String) async throws(GatewayFailure) -> PipelineState {
        guard let state = await directory.pipeline(named: name), state.status != .terminated else {
            throw .notFound("pipeline \(name) not found")
        }
        return state
    }

    /// The version of the pipeline that answered, on its answers, as Seldon Core 2 sends it.
    static let pipelineVersionHeader = "x-pipeline-version"

    static func newRequestID() -> String { UUID().uuidString.lowercased() }

    /// The client's `x-request-id`, else the request's `id`, else a new one.
    static func requestID(of request: InferenceRequest, headers: [(name: String, value: String)]) -> String {
        headers.last { $0.name == DataflowHeaders.requestID }?.value ?? (request.id.isEmpty ? newRequestID() : request.id)
    }
}

// MARK: Status, metadata, inspect

extension PipelineGateway {
    /// The version the servers report in their metadata.
    public static let version = "0.1.0"

    /// The status of `target` as readiness reports it: a pipeline's ``PipelineStatus``, or whether a model exists.
    func status(of target: InferenceTarget) async -> String {
        switch target {
        case .pipeline(let name): await directory.pipeline(named: name)?.status.description ?? "NotFound"
        case .model(let name): await directory.hasModel(named: name) ? "Ready" : "NotFound"
        }
    }

    /// Whether `target` can be served now: it exists and is ready, and this instance reads its answers.
    ///
    /// - Throws: 404 for an unknown target, 503 with the status otherwise.
    func readiness(of target: InferenceTarget) async throws(GatewayFailure) {
        let state = try await checkReady(target)
        if case .pipeline(let name) = target, state?.pipeline.output != nil,
           await !router.reads(configuration.topics.pipelineOutputs(name)) {
            throw .unavailable("pipeline \(name) is ready, but this gateway instance does not read its answers yet")
        }
    }

    /// Those of `pipelines` whose answers this instance reads, so that it can answer their requests.
    public func answering(_ pipelines: [String]) async -> [String] {
        var answering: [String] = []
        for name in pipelines where await router.reads(configuration.topics.pipelineOutputs(name)) { answering.append(name) }
        return answering
    }

    /// OIP model metadata for a pipeline or a model: tensors are not declared by Seldon resources, so only the
    /// name, version and platform are known.
    struct TargetMetadata: Encodable, Sendable {
        var name: String
        var versions: [String]
        var platform: String
        var inputs: [String] = []
        var outputs: [String] = []
    }

    func metadata(of target: InferenceTarget) async throws(GatewayFailure) -> TargetMetadata {
        switch target {
        case .pipeline(let name):
            return TargetMetadata(name: name, versions: ["\(try await deployed(name).version)"], platform: "swift-dataflow/pipeline")
        case .model(let name):
            guard await directory.hasModel(named: name) else { throw .notFound("model \(name) not found") }
            return TargetMetadata(name: name, versions: [], platform: "swift-dataflow/model")
        }
    }

    /// Every record of request `requestID` — or of the pipeline's latest request when `nil` — on the topics of
    /// `pipeline`, in the order they were written.
    ///
    /// - Throws: 404 for an unknown pipeline or when it has had no request, 503 when the topics cannot be read.
    public func inspect(_ pipeline: String, requestID: String?) async throws(GatewayFailure) -> RequestInspector.Report {
        guard let state = await directory.pipeline(named: pipeline) else { throw .notFound("pipeline \(pipeline) not found") }
        let inspector = RequestInspector(configuration: configuration, logger: logger)
        let id: String
        do {
            if let requestID {
                id = requestID
            } else if let latest = try await inspector.latestRequestID(of: state.pipeline) {
                id = latest
            } else {
                throw GatewayFailure.notFound("pipeline \(pipeline) has had no request yet")
            }
            return try await inspector.inspect(state.pipeline, requestID: id)
        } catch let failure as GatewayFailure {
            throw failure
        } catch {
            throw .unavailable("the topics of pipeline \(pipeline) could not be read: \(error)", requestID: requestID)
        }
    }

    /// The last `count` records of `pipeline` on each of its topics.
    public func recentMessages(_ pipeline: String, count: Int) async throws(GatewayFailure) -> RequestInspector.Recent {
        guard let state = await directory.pipeline(named: pipeline) else { throw .notFound("pipeline \(pipeline) not found") }
        guard (1...1000).contains(count) else { throw .badRequest("last must be from 1 to 1000, not \(count)") }
        do {
            return try await RequestInspector(configuration: configuration, logger: logger).recent(state.pipeline, count: count)
        } catch {
            throw .unavailable("the topics of pipeline \(pipeline) could not be read: \(error)")
        }
    }
}
