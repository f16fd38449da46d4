import Logging
import ServiceLifecycle
import StreamKit

/// Hosts every pipeline in one streams application: pipelines are deployed, updated and deleted while it runs,
/// without stopping the others (Seldon Core 2 runs one Kafka Streams application per pipeline).
///
/// A change compiles the whole set of pipelines into one topology (``PipelineCompiler``), creates the topics it
/// needs, and hands it to the running application, which swaps it in between two rounds of processing: tasks
/// commit and close cleanly and the new ones go on from the committed offsets, so no record in flight is lost
/// or processed twice, and stages kept under the same name keep their join and batch state. Changes are applied
/// one at a time, in the order they were asked for.
///
/// `run()` is the life of the engine (a swift-service-lifecycle `Service`).
public actor DataflowEngine: Service {
    public nonisolated let configuration: DataflowConfiguration
    private let logger: Logger
    private let application: StreamsApplication
    private let compiler: PipelineCompiler
    /// Every pipeline known, including failed and terminated ones (until deployed again).
    private var states: [String: PipelineState] = [:]
    /// The pipelines the running topology holds.
    private var running: [String: Pipeline] = [:]
    private var pipelineResources: [String: PipelineResource] = [:]
    public private(set) var models: [String: ModelResource] = [:]
    public private(set) var servers: [String: ServerResource] = [:]
    private var lastChange: Task<Void, Never>?

    public init(configuration: DataflowConfiguration, logger: Logger) {
        var streams = configuration.streams
        streams.errorHandling = .deadLetter(configuration.topics.deadLetters)
        var configuration = configuration
        configuration.streams = streams
        self.configuration = configuration
        self.logger = logger
        application = StreamsApplication(configuration: streams, logger: logger)
        compiler = PipelineCompiler(topics: configuration.topics)
    }

    /// Runs until graceful shutdown or cancellation; see ``StreamsApplication/run()``.
    public func run() async throws {
        try await ensureTopics([configuration.topics.errors, configuration.topics.deadLetters])
        try await application.run()
    }

    /// The engine's streams application (its state, for health checks).
    public nonisolated var streamsState: ApplicationState { application.state }

    // MARK: Status

    /// The state of pipeline `name`, if the engine knows it.
    public func state(of name: String) -> PipelineState? { states[name] }

    /// Every pipeline the engine knows, by name.
    public func pipelines() -> [PipelineState] { states.values.sorted { $0.name < $1.name } }

    // MARK: Changes

    /// Deploys the resources: models and servers are recorded, pipelines validated all together (against each
    /// other and those deployed) and then deployed in one change; a pipeline of a name already deployed
    /// replaces it as its next version.
    ///
    /// - Returns: the states of the pipelines deployed: ready, or failed with the reason (a previous version
    ///   then goes on running).
    /// - Throws: ``ResourceErrors`` when a pipeline is invalid, before anything changes.
    @discardableResult
    public func apply(_ resources: [Resource]) async throws -> [PipelineState] {
        var written: [PipelineResource] = []
        for resource in resources {
            switch resource {
            case .pipeline(let pipeline): written.append(pipeline)
            case .model(let model): models[model.name.value] = model
            case .server(let server): servers[server.name.value] = server
            case .experiment: break
            }
        }
        let pipelines = try Pipeline.validate(written, replacing: pipelineResources)
        guard !written.isEmpty else { return [] }
        for resource in written { pipelineResources[resource.name.value] = resource }
        return await serially { await self.deploy(pipelines) }
    }

    /// Forgets model `name` (pipelines still using it keep running; their requests wait on its topic).
    public func deleteModel(_ name: String) { models[name] = nil }

    /// Forgets server `name`.
    public func deleteServer(_ name: String) { servers[name] = nil }

    /// Removes pipeline `name`: its records stop being processed; its topics stay.
    ///
    /// - Returns: its final state (terminated), or `nil` when no such pipeline runs.
    @discardableResult
    public func delete(_ name: String) async -> PipelineState? {
        await serially { await self.remove(name) }
    }

    private func deploy(_ pipelines: [Pipeline]) async -> [PipelineState] {
        for pipeline in pipelines {
            states[pipeline.name] = PipelineState(
                name: pipeline.name, version: (states[pipeline.name]?.version ?? 0) + 1, status: .creating, pipeline: pipeline
            )
            logger.info("pipeline creating", metadata: ["pipeline": "\(pipeline.name)", "version": "\(states[pipeline.name]!.version)"])
        }
        var next = running
        for pipeline in pipelines { next[pipeline.name] = pipeline }
        let status: PipelineStatus
        do {
            try await ensureTopics(pipelines.flatMap { compiler.topics(of: $0) })
            try await install(next)
            status = .ready
        } catch {
            status = .failed("\(error)")
        }
        for pipeline in pipelines {
            states[pipeline.name]?.status = status
            logger.log(level: status == .ready ? .info : .error, "pipeline \(status)", metadata: ["pipeline": "\(pipeline.name)"])
        }
        return pipelines.compactMap { states[$0.name] }
    }

    private func remove(_ name: String) async -> PipelineState? {
        guard running[name] != nil else { return nil }
        states[name]?.status = .terminating
        var next = running
        next[name] = nil
        do {
            try await install(next)
            states[name]?.status = .terminated
            pipelineResources[name] = nil
        } catch {
            states[name]?.status = .failed("could not be removed: \(error)")
        }
        logger.info("pipeline \(states[name]!.status)", metadata: ["pipeline": "\(name)"])
        return states[name]
    }

    private func install(_ pipelines: [String: Pipeline]) async throws {
        try await application.replaceTopology(try compiler.topology(Array(pipelines.values)))
        running = pipelines
    }

    /// Runs `change` after every change asked for before it.
    private func serially<T: Sendable>(_ change: @escaping @Sendable () async -> T) async -> T {
        let previous = lastChange
        let task = Task<T, Never> {
            await previous?.value
            return await change()
        }
        lastChange = Task { _ = await task.value }
        return await task.value
    }

    private func ensureTopics(_ names: some Sequence<String>) async throws {
        try await TopicProvisioner(
            admin: configuration.streams.adminConfiguration,
            partitions: configuration.partitions,
            replicationFactor: configuration.replicationFactor
        ).ensure(names, logger: logger)
    }
}
