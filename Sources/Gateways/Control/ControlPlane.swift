import Dataflow
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
    let deployment: LocalDeployment
    private let logger: Logger
    private let producer: KafkaProducer
    private var state = DesiredState()
    /// The next offset of the control topic to act on.
    private var next: Int64 = 0
    private var recovered = false
    private var waiters: [(id: UInt64, offset: Int64, waiter: CheckedContinuation<Void, any Error>)] = []
    private var serial: UInt64 = 0

    public init(configuration: ControlConfiguration, deployment: LocalDeployment, logger: Logger) throws {
        self.configuration = configuration
        self.deployment = deployment
        self.logger = logger
        producer = try KafkaProducer(configuration: configuration.producer, logger: logger)
    }

    private var topic: String { configuration.topics.controlResources }

    /// Whether the desired state has been read up to where the topic stood at start, and acted on.
    public var isRecovered: Bool { recovered }

    /// The desired state as this instance knows it.
    public var desired: DesiredState { state }

    // MARK: Life

    /// Creates the control topic when missing, recovers the desired state, then follows changes until cancelled
    /// or shut down.
    public func run() async throws {
        let admin = try KafkaAdmin(configuration: KafkaAdminConfiguration(matching: configuration.consumer), logger: logger)
        do {
            try await admin.createTopics(
                [KafkaNewTopic(name: topic, partitions: 1, replicationFactor: configuration.replicationFactor, configs: ["cleanup.policy": "compact"])],
                ifNotExists: true
            )
            try await admin.waitUntilReady([topic])
            await admin.close()
        } catch {
            await admin.close()
            throw error
        }
        let consumer = try KafkaConsumer(configuration: configuration.consumer, logger: logger)
        let partition = TopicPartition(topic: topic, partition: 0)
        var failure: (any Error)?
        do {
            try await consumer.assign([TopicPartitionOffset(partition, offset: KafkaConsumer.beginning)])
            try await recover(consumer, partition)
            try await cancelWhenGracefulShutdown {
                try await self.follow(consumer)
            }
        } catch is CancellationError {
        } catch {
            failure = error
        }
        for entry in waiters { entry.waiter.resume(throwing: ControlFailure.unavailable("the control plane stopped")) }
        waiters.removeAll()
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
        await deployment.reconcile(changes, state: state, logger: logger)
        recovered = true
        logger.info("desired state recovered", metadata: ["resources": "\(state.entries.count)", "offset": "\(next)"])
    }

    private func follow(_ consumer: KafkaConsumer) async throws {
        while !Task.isCancelled {
            let records = try await consumer.poll(maxRecords: 1000, timeout: .milliseconds(100))
            guard !records.isEmpty else { continue }
            let changes = records.compactMap(take)
            await deployment.reconcile(changes, state: state, logger: logger)
            let reached = next
            waiters.removeAll { entry in
                guard entry.offset < reached else { return false }
                entry.waiter.resume()
                return true
            }
        }
    }

    /// Takes one control record into the desired state.
    private func take(_ record: KafkaConsumerRecord) -> DesiredState.Change? {
        next = record.offset + 1
        let key = String(decoding: record.key ?? [], as: UTF8.self)
        do {
            return try state.record(key: key, yaml: record.value.map { String(decoding: $0, as: UTF8.self) })
        } catch {
            logger.error("a control record is not a resource; skipped", metadata: ["key": "\(key)", "offset": "\(record.offset)", "error": "\(error)"])
            return nil
        }
    }

    // MARK: Changes

    /// One resource of an apply, and what became of it here.
    public struct Outcome: Sendable, Encodable {
        public var kind: String
        public var name: String
        /// A pipeline's status on this instance (`Ready`, `Failed: …`); `Applied` for models and servers.
        public var status: String
        public var version: Int?
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
            if case .pipeline = resource, let state = await deployment.engine?.state(of: resource.name.value) {
                outcome.status = state.status.description
                outcome.version = state.version
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
