import Logging
import ServiceLifecycle
import StreamKit

/// Hosts every pipeline in one streams application, each pipeline as a named topology of its own: pipelines are
/// deployed, updated and deleted while it runs, and a change touches only the pipeline it is about (Seldon
/// Core 2 runs one Kafka Streams application per pipeline; named topologies give the same isolation in one
/// process).
///
/// Deploying a pipeline compiles it (``PipelineCompiler``), creates the topics it needs and adds its topology to
/// the running application; an update replaces that topology between two rounds of its processing (tasks commit
/// and close cleanly, the new ones go on from the committed offsets, stages kept under the same name keep their
/// join and batch state). A pipeline is ``PipelineStatus/ready`` only once every task of its topology runs here
/// with its stores restored. Changes are applied one at a time, in the order they were asked for.
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
        streams.errorHandling.loggedHeaders = [DataflowHeaders.requestID]
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
    public func state(of name: String) async -> PipelineState? {
        guard let state = states[name] else { return nil }
        return await current(state)
    }

    /// Every pipeline the engine knows, by name.
    public func pipelines() async -> [PipelineState] {
        var result: [PipelineState] = []
        for state in states.values.sorted(by: { $0.name < $1.name }) { result.append(await current(state)) }
        return result
    }

    /// A deployed pipeline is Ready once its topology runs here; until then it is Creating, and Failed when its
    /// topology stopped on an error. Once it ran, it stays Ready while its tasks move (a rebalance, a restart
    /// after a failure, an update): requests sent meanwhile wait on its topics and are answered.
    private func current(_ state: PipelineState) async -> PipelineState {
        guard state.status == .ready else { return state }
        var state = state
        switch await application.status(ofTopology: state.name) {
        case .running, .rebalancing: break
        case .starting, nil: state.status = .creating
        case .stopped: state.status = .terminated
        case .failed(let reason): state.status = .failed(reason)
        }
        return state
    }

    /// Waits until every pipeline of `names` is Ready or failed, or `timeout` passed; returns their states.
    public func waitUntilSettled(_ names: [String], timeout: Duration = .seconds(60)) async -> [PipelineState] {
        let deadline = ContinuousClock.now + timeout
        while true {
            var states: [PipelineState] = []
            for name in names { if let state = await state(of: name) { states.append(state) } }
            let settled = states.allSatisfy { $0.status != .creating && $0.status != .terminating }
            if settled || ContinuousClock.now >= deadline { return states }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

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

    /// Removes pipeline `name`: its records stop being processed. Its topics stay, unless its resource says
    /// `spec.dataflow.cleanTopicsOnDelete: true` (as in Seldon Core 2): then its inputs and outputs topics are
    /// deleted too (model topics, shared with other pipelines, stay).
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
        // Pipelines are independent topologies: their topics and groups are set up side by side.
        let outcomes = await withTaskGroup(of: (pipeline: Pipeline, failure: String?).self) { group in
            for pipeline in pipelines {
                let compiled = Result { try compiler.topology([pipeline]) }
                let topics = compiler.topics(of: pipeline)
                group.addTask {
                    do {
                        try await self.ensureTopics(topics)
                        try await self.application.addTopology(try compiled.get(), named: pipeline.name)
                        return (pipeline, nil)
                    } catch {
                        return (pipeline, "\(error)")
                    }
                }
            }
            var outcomes: [(pipeline: Pipeline, failure: String?)] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        for (pipeline, failure) in outcomes {
            // `.ready` here means deployed: ``current(_:)`` reports it Ready once its topology runs.
            if let failure {
                states[pipeline.name]?.status = .failed(failure)
                logger.error("pipeline Failed: \(failure)", metadata: ["pipeline": "\(pipeline.name)"])
            } else {
                running[pipeline.name] = pipeline
                states[pipeline.name]?.status = .ready
                logger.info("pipeline deployed", metadata: ["pipeline": "\(pipeline.name)"])
            }
        }
        var result: [PipelineState] = []
        for pipeline in pipelines { if let state = states[pipeline.name] { result.append(await current(state)) } }
        return result
    }

    private func remove(_ name: String) async -> PipelineState? {
        guard running[name] != nil else { return nil }
        states[name]?.status = .terminating
        await application.removeTopology(named: name)
        if pipelineResources[name]?.cleansTopicsOnDelete == true {
            let topics = [configuration.topics.pipelineInputs(name), configuration.topics.pipelineOutputs(name)]
            do {
                try await deleteTopics(topics)
                logger.info("pipeline topics deleted", metadata: ["pipeline": "\(name)", "topics": "\(topics)"])
            } catch {
                logger.warning("pipeline topics could not be deleted", metadata: ["pipeline": "\(name)", "error": "\(error)"])
            }
        }
        running[name] = nil
        states[name]?.status = .terminated
        pipelineResources[name] = nil
        logger.info("pipeline \(states[name]!.status)", metadata: ["pipeline": "\(name)"])
        return states[name]
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

    /// Deletes `names`; one already gone (another instance deleted it) is no error.
    private nonisolated func deleteTopics(_ names: [String]) async throws {
        let admin = try KafkaAdmin(configuration: configuration.streams.adminConfiguration, logger: logger)
        do {
            let existing = try await admin.describeExistingTopics(names).map(\.name)
            if !existing.isEmpty { try await admin.deleteTopics(existing) }
            await admin.close()
        } catch let error as KafkaError where error.code == .unknownTopic {
            await admin.close()
        } catch {
            await admin.close()
            throw error
        }
    }

    private nonisolated func ensureTopics(_ names: some Sequence<String> & Sendable) async throws {
        try await TopicProvisioner(
            admin: configuration.streams.adminConfiguration,
            partitions: configuration.partitions,
            creation: configuration.streams.topicCreation
        ).ensure(names, logger: logger)
    }
}
