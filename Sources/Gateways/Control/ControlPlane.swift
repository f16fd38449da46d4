import Dataflow
import Foundation
import Logging
import ServiceLifecycle
import StreamKit

/// Keeps the desired state — the applied `Pipeline`, `Model` and `Server` resources — in a compacted Kafka topic,
/// and brings this process's engine and model gateway in line with it.
///
/// Every instance reads the whole topic from its beginning, so all converge on the same pipelines and a restarted
/// instance recovers them; no instance holds state the others lack. ``apply(yaml:file:)`` and
/// ``delete(kind:name:)`` write to the topic and return once this instance has acted on the change.
public actor ControlPlane: Service {
    public nonisolated let configuration: ControlConfiguration
    private(set) var deployment: LocalDeployment
    private let logger: Logger
    private let producer: KafkaProducer
    private var state = DesiredState()
    private var board: StatusBoard
    /// The next offset of the control topic to take in.
    private var next: Int64 = 0
    /// The next offset of the control topic not yet acted on: every change before it is deployed here.
    private var acted: Int64 = 0
    private var recovered = false
    private var waiters: [(id: UInt64, offset: Int64, waiter: CheckedContinuation<Void, any Error>)] = []
    private var serial: UInt64 = 0
    /// The pipelines of the desired state with their references normalised, made again after each change.
    private var normalised: [String: Pipeline] = [:]
    private let scheduler: ModelScheduler
    /// What this instance's last scheduling round found, while it is the one that schedules.
    private var scheduled: ModelScheduler.Outcome?
    /// The placement the model gateway here was last given.
    private var routed: [String: [String]]?
    /// The server of each model that has one, after that placement: where the pipeline gateway calls models.
    private(set) var modelServers: [String: ModelServer] = [:]

    public init(configuration: ControlConfiguration, deployment: LocalDeployment, logger: Logger) throws {
        self.configuration = configuration
        self.deployment = deployment
        self.logger = logger
        board = StatusBoard(livenessMs: Int64(configuration.liveness.milliseconds))
        scheduler = ModelScheduler(roots: configuration.modelRoots, inferenceURL: configuration.inferenceURL, logger: logger)
        producer = try KafkaProducer(configuration: configuration.producer, logger: logger)
    }

    private var topic: String { configuration.topics.controlResources }
    private var statusTopic: String { configuration.topics.controlStatus }

    /// Whether the desired state has been read up to where the topic stood at start, and acted on.
    public var isRecovered: Bool { recovered }

    /// The desired state as this instance knows it.
    public var desired: DesiredState { state }

    /// Makes `gateway` part of what this instance reports (which pipelines' answers it reads).
    public func attach(pipelineGateway gateway: PipelineGateway) { deployment.pipelineGateway = gateway }

    // MARK: Life

    /// Creates the control topics when missing, recovers the desired state, then follows changes and reports this
    /// instance until cancelled or shut down; a clean stop withdraws the report.
    public func run() async throws {
        let admin = try KafkaAdmin(configuration: KafkaAdminConfiguration(matching: configuration.consumer), logger: logger)
        do {
            try await admin.ensureTopics(
                [topic, statusTopic].map { KafkaNewTopic(name: $0, partitions: 1, configs: ["cleanup.policy": "compact"]) },
                creation: configuration.topicCreation
            )
            await admin.close()
        } catch {
            await admin.close()
            throw error
        }
        let consumer = try KafkaConsumer(configuration: configuration.consumer, logger: logger)
        let partition = TopicPartition(topic: topic, partition: 0)
        let statusPartition = TopicPartition(topic: statusTopic, partition: 0)
        var failure: (any Error)?
        do {
            // Reports older than the last few thousand cannot be of instances still alive.
            let marks = try await consumer.watermarks(statusPartition)
            try await consumer.assign([
                TopicPartitionOffset(partition, offset: KafkaConsumer.beginning),
                TopicPartitionOffset(statusPartition, offset: max(marks.low, marks.high - 10_000)),
            ])
            try await recover(consumer, partition)
            try await cancelWhenGracefulShutdown {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await self.follow(consumer) }
                    group.addTask { try await self.heartbeat() }
                    group.addTask { try await self.schedule() }
                    try await group.next()
                    group.cancelAll()
                }
            }
        } catch is CancellationError {
        } catch {
            failure = error
        }
        for entry in waiters { entry.waiter.resume(throwing: ControlFailure.unavailable("the control plane stopped")) }
        waiters.removeAll()
        await withdraw()
        await consumer.close()
        await producer.close()
        if let failure { throw failure }
    }

    private func recover(_ consumer: KafkaConsumer, _ partition: TopicPartition) async throws {
        let end = try await consumer.watermarks(partition).high
        var changes: [DesiredState.Change] = []
        while next < end {
            for record in try await consumer.poll(maxRecords: 1000, timeout: .milliseconds(100)) {
                if let change = take(record) { changes.append(change) }
            }
            if let position = try consumer.position([partition]).first?.offset, position >= end { next = max(next, position) }
        }
        await act(on: changes)
        recovered = true
        logger.info("desired state recovered", metadata: ["resources": "\(state.entries.count)", "offset": "\(next)"])
    }

    private func follow(_ consumer: KafkaConsumer) async throws {
        while !Task.isCancelled {
            let records = try await consumer.poll(maxRecords: 1000, timeout: .milliseconds(100))
            guard !records.isEmpty else { continue }
            let changes = records.compactMap(take)
            guard next > acted else { continue }
            await act(on: changes)
            let reached = acted
            waiters.removeAll { entry in
                guard entry.offset < reached else { return false }
                entry.waiter.resume()
                return true
            }
        }
    }

    /// Deploys `changes` here, then tells the other instances.
    private func act(on changes: [DesiredState.Change]) async {
        let upTo = next
        normalised = Self.normalise(state)
        if await deployment.reconcile(changes, state: state, logger: logger) { routed = nil }
        await routeModels()
        acted = upTo
        await report()
    }

    /// Takes one record: a change of the desired state, or another instance's report.
    private func take(_ record: KafkaConsumerRecord) -> DesiredState.Change? {
        let key = String(decoding: record.key ?? [], as: UTF8.self)
        guard record.topic == topic else {
            do {
                let report = try record.value.map { try JSONDecoder().decode(InstanceReport.self, from: Data($0)) }
                board.record(instance: key, report: report, at: record.timestamp)
            } catch {
                logger.warning("a status record is not an instance report; skipped", metadata: ["key": "\(key)", "error": "\(error)"])
            }
            return nil
        }
        next = record.offset + 1
        do {
            return try state.record(key: key, yaml: record.value.map { String(decoding: $0, as: UTF8.self) }, offset: record.offset)
        } catch {
            logger.error("a control record is not a resource; skipped", metadata: ["key": "\(key)", "offset": "\(record.offset)", "error": "\(error)"])
            return nil
        }
    }

    private static func normalise(_ state: DesiredState) -> [String: Pipeline] {
        let resources = state.pipelines
        var pipelines: [String: Pipeline] = [:]
        for resource in resources.values {
            if let pipeline = try? Pipeline.validate([resource], replacing: resources).first { pipelines[pipeline.name] = pipeline }
        }
        return pipelines
    }

    // MARK: Status

    private func heartbeat() async throws {
        while !Task.isCancelled {
            try await Task.sleep(for: configuration.heartbeatInterval)
            await report()
            await routeModels()
        }
    }

    /// While this instance is the one that schedules (the first alive with the control role), places, loads and
    /// unloads the models with a `storageUri`, a round a second.
    private func schedule() async throws {
        while !Task.isCancelled {
            try await Task.sleep(for: configuration.heartbeatInterval)
            guard recovered, configuration.roles.isEmpty || configuration.roles.contains("control"),
                  board.scheduler(now: Self.now())?.instance == configuration.instanceID
            else {
                scheduled = nil
                continue
            }
            let outcome = await scheduler.round(models: state.models, servers: state.servers)
            if outcome != scheduled {
                scheduled = outcome
                await report()
                await routeModels()
            }
        }
    }

    /// Gives the model gateway here the servers the scheduling instance placed the models on, when they (or the
    /// models and servers applied) changed.
    private func routeModels() async {
        let placement = board.scheduler(now: Self.now())?.placement ?? [:]
        guard placement != routed else { return }
        routed = placement
        let assigned = ModelServer.assign(models: state.models, servers: state.servers, defaultServer: deployment.defaultServer, placement: placement)
        modelServers = assigned.served
        await deployment.route(assigned, logger: logger)
    }

    /// What this instance runs, as the others see it.
    private func currentReport() async -> InstanceReport {
        var roles = configuration.roles
        if roles.isEmpty {
            if deployment.engine != nil { roles.append("engine") }
            if deployment.modelGateway != nil { roles.append("model-gateway") }
            if deployment.pipelineGateway != nil { roles.append("pipeline-gateway") }
        }
        var report = InstanceReport(instance: configuration.instanceID, roles: roles, controlOffset: acted)
        if let engine = deployment.engine {
            report.pipelines = await engine.pipelines().map { .init(name: $0.name, version: $0.version, status: $0.status.description) }
        }
        if let gateway = deployment.pipelineGateway {
            report.answering = await gateway.answering(state.pipelines.keys.sorted())
        }
        if let modelGateway = deployment.modelGateway { report.models = await modelGateway.served.keys.sorted() }
        if let scheduled {
            report.placement = scheduled.placement
            report.modelStatus = scheduled.status
        }
        return report
    }

    private func report() async {
        let report = await currentReport()
        board.record(instance: report.instance, report: report, at: Self.now())
        do {
            let value = try JSONEncoder().encode(report)
            _ = try await producer.send(KafkaProducerRecord(topic: statusTopic, key: Array(report.instance.utf8), value: Array(value)))
        } catch {
            logger.warning("this instance's status could not be written", metadata: ["topic": "\(statusTopic)", "error": "\(error)"])
        }
    }

    private func withdraw() async {
        _ = try? await producer.send(KafkaProducerRecord(topic: statusTopic, key: Array(configuration.instanceID.utf8), value: nil))
    }

    static func now() -> Int64 { SystemWallClock().now() }

    /// The instances alive, with their last reports.
    public var instances: [StatusBoard.Seen] { board.alive(now: Self.now()) }

    /// The status of pipeline `name` over every instance alive, or `nil` when it is not applied.
    public func pipelineView(_ name: String) -> StatusBoard.PipelineView? {
        guard let entry = state.entry(kind: "Pipeline", name: name) else { return nil }
        let pipeline = normalised[name]
        // A pipeline without output answers nobody: no gateway needs to read its answers for it to be Ready.
        return board.view(
            of: name, changedAt: entry.offset, now: Self.now(), models: pipeline?.steps.map(\.name) ?? [],
            withGateways: pipeline.map { $0.output != nil } ?? true
        )
    }

    /// A model's status and servers (``StatusBoard/modelView(of:resource:servers:now:)``), or `nil` when it is
    /// neither applied nor being unloaded.
    public func modelView(_ name: String) -> StatusBoard.ModelView? {
        var resource: ModelResource?
        if case .model(let model)? = state.entry(kind: "Model", name: name)?.resource { resource = model }
        return board.modelView(of: name, resource: resource, servers: state.servers, now: Self.now())
    }

    /// The models deleted that the scheduling instance still unloads.
    public var unloadingModels: [String] {
        board.unloadingModels(applied: Set(state.models.map(\.name.value)), now: Self.now())
    }

    func engineView(_ name: String, changedAt: Int64) -> StatusBoard.PipelineView {
        board.view(of: name, changedAt: changedAt, now: Self.now(), models: normalised[name]?.steps.map(\.name) ?? [], withGateways: false)
    }

    /// Pipeline `name` normalised as every instance runs it, or `nil` when it is not applied or not valid.
    public func normalisedPipeline(_ name: String) -> Pipeline? { normalised[name] }

    // MARK: Changes

    /// One resource of an apply, and what became of it here.
    public struct Outcome: Sendable, Codable {
        public var kind: String
        public var name: String
        /// A pipeline's status over the instances alive (`Ready`, `Creating`, `Failed: …`); `Applied` for models
        /// and servers.
        public var status: String
        /// Why a pipeline is not Ready yet.
        public var reason: String?
    }

    /// Validates the resources of `yaml` against the desired state, writes them to the control topic and returns
    /// once this instance has deployed them.
    ///
    /// - Throws: ``ControlFailure/invalid(_:)`` naming file, line and field of every problem, before anything
    ///   is written; ``ControlFailure/unavailable(_:)`` when the topic cannot be written or read in time.
    public func apply(yaml: String, file: String) async throws(ControlFailure) -> [Outcome] {
        let documents: [(resource: Resource, yaml: String)]
        do {
            documents = try Resource.documents(yaml: yaml, file: file)
        } catch {
            throw .invalid(error.description)
        }
        guard !documents.isEmpty else { throw .invalid("\(file): no resource in the document") }
        let outside = configuration.modelRoots.problems(documents.map(\.resource))
        guard outside.isEmpty else { throw .invalid(outside.map(\.description).joined(separator: "\n")) }
        let pipelines = documents.compactMap { if case .pipeline(let pipeline) = $0.resource { pipeline } else { nil } }
        do {
            _ = try Pipeline.validate(pipelines, replacing: state.pipelines)
        } catch {
            throw .invalid(error.description)
        }

        try await write(documents.map { (DesiredState.key(kind: $0.resource.kind, name: $0.resource.name.value), $0.yaml) })
        var outcomes: [Outcome] = []
        for (resource, _) in documents {
            var outcome = Outcome(kind: resource.kind, name: resource.name.value, status: "Applied")
            if case .pipeline = resource, let view = pipelineView(resource.name.value) {
                outcome.status = view.status
                outcome.reason = view.reason
            }
            outcomes.append(outcome)
        }
        return outcomes
    }

    /// Deletes resource `kind`/`name` from the desired state and returns once this instance has removed it.
    ///
    /// - Throws: ``ControlFailure/notFound(_:)`` when it is not applied.
    public func delete(kind: String, name: String) async throws(ControlFailure) {
        guard state.entry(kind: kind, name: name) != nil else { throw .notFound("\(kind.lowercased()) \(name) not found") }
        try await write([(DesiredState.key(kind: kind, name: name), nil)])
    }

    private func write(_ records: [(key: String, yaml: String?)]) async throws(ControlFailure) {
        var last: Int64 = -1
        do {
            for (key, yaml) in records {
                let report = try await producer.send(KafkaProducerRecord(topic: topic, key: Array(key.utf8), value: yaml.map { Array($0.utf8) }))
                last = max(last, report.offset)
            }
        } catch {
            throw .unavailable("the control topic \(topic) cannot be written: \(error)")
        }
        try await reached(last)
    }

    /// Waits until this instance has acted on the record at `offset`.
    private func reached(_ offset: Int64) async throws(ControlFailure) {
        guard offset >= next else { return }
        let timeout = configuration.applyTimeout
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.waitFor(offset) }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    throw ControlFailure.unavailable("the change was written but not acted on within \(timeout)")
                }
                try await group.next()
                group.cancelAll()
            }
        } catch let failure as ControlFailure {
            throw failure
        } catch {
            throw .unavailable("\(error)")
        }
    }

    private func waitFor(_ offset: Int64) async throws {
        guard offset >= next else { return }
        serial += 1
        let id = serial
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
                if Task.isCancelled { waiter.resume(throwing: CancellationError()) } else { waiters.append((id, offset, waiter)) }
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    private func cancelWaiter(_ id: UInt64) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).waiter.resume(throwing: CancellationError())
    }
}

/// Why the control plane refused or could not carry out a request.
public enum ControlFailure: Error, Sendable, CustomStringConvertible {
    /// The resources are not valid; the text names file, line and field of each problem.
    case invalid(String)
    case notFound(String)
    case unavailable(String)

    public var description: String {
        switch self {
        case .invalid(let text), .notFound(let text), .unavailable(let text): text
        }
    }

    var status: Int {
        switch self {
        case .invalid: 400
        case .notFound: 404
        case .unavailable: 503
        }
    }
}
