import Logging

/// The host of an application's named topologies: one ``TopologyRuntime`` (consumer group, tasks, loop) per
/// topology, all sharing the application's producer under at-least-once.
///
/// Topologies are added, replaced and removed while the others run: a change touches only its own topology's
/// group and tasks. One topology failing stops that topology only; ``StreamsApplication/status(ofTopology:)``
/// tells, and adding it again starts it anew.
actor StreamsRuntime {
    let configuration: StreamsConfiguration
    let logger: Logger
    let state: ApplicationStateHolder
    private var runtimes: [String: TopologyRuntime] = [:]
    private var sharedProducer: KafkaProducer?
    private var running = false
    private var stopped = false
    private let launches: AsyncStream<TopologyRuntime>
    private let launcher: AsyncStream<TopologyRuntime>.Continuation

    init(configuration: StreamsConfiguration, logger: Logger, state: ApplicationStateHolder) {
        self.configuration = configuration
        self.logger = logger
        self.state = state
        (launches, launcher) = AsyncStream.makeStream(of: TopologyRuntime.self, bufferingPolicy: .unbounded)
    }

    /// The configuration of topology `name`: its group, internal topics, state directories and transactional
    /// id are the application's id followed by `-<name>`.
    static func scoped(_ configuration: StreamsConfiguration, to name: String) -> StreamsConfiguration {
        var scoped = configuration
        scoped.applicationID = "\(configuration.applicationID)-\(name)"
        return scoped
    }

    // MARK: Life

    func run() async throws {
        guard !stopped else { return }
        if configuration.processingGuarantee == .atLeastOnce {
            var shared = configuration
            shared.instanceID += "-shared"
            sharedProducer = try await TopologyRuntime.makeProducer(configuration: shared, logger: logger)
        }
        running = true
        state.set(.running)
        for runtime in runtimes.values { launcher.yield(runtime) }
        let producer = sharedProducer
        let logger = self.logger
        await withDiscardingTaskGroup { group in
            for await runtime in launches {
                group.addTask {
                    do {
                        try await runtime.run(sharedProducer: producer)
                    } catch {
                        logger.error("topology stopped by an error", metadata: ["topology": "\(runtime.name)", "error": "\(error)"])
                    }
                }
            }
            // Stopping: every runtime is asked to stop and the group waits for each to close.
        }
        await sharedProducer?.close()
        sharedProducer = nil
        state.set(.notRunning)
    }

    func requestStop() async {
        guard !stopped else { return }
        stopped = true
        state.set(.pendingShutdown)
        for runtime in runtimes.values { await runtime.requestStop() }
        launcher.finish()
        if !running { state.set(.notRunning) }
    }

    // MARK: Topologies

    func add(_ topology: Topology, named name: String) async throws {
        guard !stopped else { throw KafkaError(code: .closed, message: "application stopped") }
        if let existing = runtimes[name] {
            switch existing.status {
            case .failed, .stopped:
                runtimes[name] = nil
            default:
                try await existing.replace(with: topology)
                return
            }
        }
        let runtime = TopologyRuntime(
            name: name,
            topology: topology,
            configuration: Self.scoped(configuration, to: name),
            logger: logger,
            state: ApplicationStateHolder()
        )
        try await runtime.prepare()
        // Another call may have added the same name while this one prepared: the latest wins.
        if let other = runtimes[name] { await other.stop() }
        guard !stopped else { throw KafkaError(code: .closed, message: "application stopped") }
        runtimes[name] = runtime
        if running { launcher.yield(runtime) }
        logger.info("topology added", metadata: ["topology": "\(name)"])
    }

    func remove(named name: String) async {
        guard let runtime = runtimes.removeValue(forKey: name) else { return }
        if running {
            await runtime.stop()
        }
        logger.info("topology removed", metadata: ["topology": "\(name)"])
    }

    func status(of name: String) -> TopologyStatus? { runtimes[name]?.status }

    var names: [String] { runtimes.keys.sorted() }
}
