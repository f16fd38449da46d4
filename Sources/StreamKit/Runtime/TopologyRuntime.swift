import Logging
import Metrics
import Synchronization

/// Runs one topology of an application in this instance: its own consumer in the topology's consumer group, and
/// one ``StreamTask`` per assigned (sub-topology, partition).
///
/// Which task starts, closes, commits or restarts when is decided by a ``TaskLifecycle``; this actor only
/// carries out its actions. The loop reads each assigned partition's own queue into its task as far as the task's
/// buffer has room (a partition left unread stops being fetched, the others go on), and between rounds sleeps
/// until records arrive, a full task has room again, or a timer is due. Rebalance callbacks arrive on the
/// consumer's poll thread while the loop polls the consumer, and are served here before the consumer continues.
///
/// Topologies of one application each have their own runtime and group, so that deploying, replacing or
/// removing one never pauses another (see ``StreamsApplication/addTopology(_:named:)``).
actor TopologyRuntime {
    /// The topology's name; empty for an application's only, unnamed topology.
    nonisolated let name: String
    private(set) var topology: Topology
    /// The application's configuration with ``StreamsConfiguration/applicationID`` scoped to this topology: its
    /// group, the prefix of its internal topics and state directories, its transactional id.
    let configuration: StreamsConfiguration
    let logger: Logger
    let state: ApplicationStateHolder
    let metrics: ApplicationMetrics
    private let signals = Signals()
    private var lifecycle: TaskLifecycle
    private var consumer: KafkaConsumer?
    private var producer: KafkaProducer?
    /// Whether ``producer`` is the application's, shared by its topologies (at-least-once), rather than this one's.
    private var producerIsShared = false
    private var changelogReader: KafkaChangelogReader?
    private var tasks: [TaskID: StreamTask] = [:]
    private var stopRequested = false
    private var prepared = false
    private var lagGauges: [TopicPartition: Gauge] = [:]
    private var replacements: [(topology: Topology, done: CheckedContinuation<Void, any Error>)] = []
    /// Why the runtime stopped, once it has: later replacements fail with it.
    private var stopped: (any Error)?
    private var stopWaiters: [CheckedContinuation<Void, Never>] = []
    private var finished = false
    private let published = Mutex<TopologyStatus>(.starting("not started"))
    /// Whether every task of its share has run at once since the runtime started.
    private var hasRun = false

    private var exactlyOnce: Bool { configuration.processingGuarantee == .exactlyOnce }

    /// Failures reported by tasks, picked up by the poll loop.
    final class Signals: Sendable {
        private let failures = Mutex<[TaskFailure]>([])
        func report(_ failure: TaskFailure) { failures.withLock { $0.append(failure) } }
        func takeFailures() -> [TaskFailure] {
            failures.withLock { failures in
                defer { failures = [] }
                return failures
            }
        }
    }

    init(name: String, topology: Topology, configuration: StreamsConfiguration, logger: Logger, state: ApplicationStateHolder) {
        self.name = name
        self.topology = topology
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "streamkit.application"] = "\(configuration.applicationID)"
        self.logger = logger
        self.state = state
        self.metrics = ApplicationMetrics(
            applicationID: configuration.applicationID,
            factory: configuration.metricsFactory ?? MetricsSystem.factory
        )
        lifecycle = TaskLifecycle(
            topologyName: name,
            subtopologyOfTopic: Self.subtopologies(of: topology, applicationID: configuration.applicationID),
            timing: TaskLifecycle.Timing(configuration),
            now: .now
        )
    }

    private static func subtopologies(of topology: Topology, applicationID: String) -> [String: Int] {
        var index: [String: Int] = [:]
        for subtopology in topology.subtopologies {
            for topic in topology.sourceTopics(of: subtopology.id, applicationID: applicationID) { index[topic] = subtopology.id }
        }
        return index
    }

    /// Where the topology is, readable at any time without waiting for the runtime.
    nonisolated var status: TopologyStatus { published.withLock { $0 } }

    private func publish() {
        let status: TopologyStatus
        if let stopped {
            status = stopped is CancellationError || (stopped as? KafkaError)?.code == .closed ? .stopped : .failed("\(stopped)")
        } else if finished || stopRequested {
            status = .stopped
        } else if consumer == nil {
            status = .starting("not started")
        } else if let reason = lifecycle.notReadyReason {
            status = hasRun ? .rebalancing(reason) : .starting(reason)
        } else {
            hasRun = true
            status = .running
        }
        published.withLock { $0 = status }
    }

    func requestStop() {
        stopRequested = true
        publish()
        consumer?.arrivals.signal()
    }

    /// Asks the runtime to stop and waits until it has committed, closed its tasks and left its group.
    func stop() async {
        requestStop()
        guard !finished else { return }
        await withCheckedContinuation { stopWaiters.append($0) }
    }

    // MARK: Life

    /// Checks and creates the topology's topics (missing sources, repartition and changelog topics,
    /// co-partitioning); ``run(sharedProducer:)`` does it unless it was done.
    func prepare() async throws {
        try await TopicPreparation(topology: topology, configuration: configuration, logger: logger).run()
        prepared = true
    }

    /// Runs until stopped, cancelled or failed.
    ///
    /// - Parameter sharedProducer: the application's producer, used under at-least-once instead of one of its own.
    func run(sharedProducer: KafkaProducer? = nil) async throws {
        defer { finish() }
        do {
            if !prepared { try await prepare() }
            if let sharedProducer, !exactlyOnce {
                producer = sharedProducer
                producerIsShared = true
            } else {
                producer = try await Self.makeProducer(configuration: configuration, logger: logger)
            }
            let consumer = try makeConsumer()
            self.consumer = consumer
            try makeChangelogReaderIfNeeded()
            state.set(.rebalancing)
            publish()
            try await subscribe(consumer, to: topology.sourceTopics(applicationID: configuration.applicationID))
            logger.info("topology started", metadata: [
                "guarantee": "\(configuration.processingGuarantee.rawValue)",
                "instance": "\(configuration.instanceID)",
            ])
            try await loop(consumer)
            try await shutdown()
            failReplacements(KafkaError(code: .closed, message: "topology stopped"))
        } catch {
            logger.error("topology failed", metadata: ["error": "\(error)"])
            await closeAfterError()
            state.set(.error)
            failReplacements(error)
            throw error
        }
    }

    private func finish() {
        finished = true
        publish()
        let waiters = stopWaiters
        stopWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    private func makeChangelogReaderIfNeeded() throws {
        guard changelogReader == nil, topology.stores.values.contains(where: \.isLogged) else { return }
        changelogReader = try KafkaChangelogReader(configuration: configuration, logger: logger)
    }

    private func subscribe(_ consumer: KafkaConsumer, to topics: [String]) async throws {
        if topics.isEmpty {
            try consumer.unsubscribe()
            _ = lifecycle.partitionsAssigned([])
            state.set(.running)
            publish()
        } else {
            try await consumer.subscribe(topics: topics)
        }
    }

    // MARK: Replacing the topology

    /// Runs `new` in place of the current topology, in this instance, without leaving the group.
    ///
    /// Topics are prepared first (a failure there leaves everything as it was). Then, between two rounds of
    /// the loop, every task commits what it finished and closes cleanly (stores flushed and checkpointed), the
    /// assigned partitions go back to their committed offsets, and the tasks of the new topology start on them
    /// — a store kept under the same name finds its state where it was. A changed set of source topics
    /// changes the subscription, which rebalances this topology's group (and no other).
    func replace(with new: Topology) async throws {
        if let stopped { throw stopped }
        try await TopicPreparation(topology: new, configuration: configuration, logger: logger).run()
        if let stopped { throw stopped }
        guard consumer != nil else {
            topology = new
            prepared = true
            lifecycle = TaskLifecycle(
                topologyName: name,
                subtopologyOfTopic: Self.subtopologies(of: new, applicationID: configuration.applicationID),
                timing: lifecycle.timing,
                now: .now
            )
            return
        }
        try await withCheckedThrowingContinuation { continuation in
            replacements.append((new, continuation))
            consumer?.arrivals.signal()
        }
    }

    private func applyReplacements() async throws {
        while !replacements.isEmpty {
            let (new, done) = replacements.removeFirst()
            do {
                try await apply(new)
                done.resume()
            } catch {
                done.resume(throwing: error)
                throw error
            }
        }
    }

    private func apply(_ new: Topology) async throws {
        let oldTopics = Set(topology.sourceTopics(applicationID: configuration.applicationID))
        let topics = new.sourceTopics(applicationID: configuration.applicationID)
        topology = new
        try makeChangelogReaderIfNeeded()
        try await perform(lifecycle.replaced(
            subtopologyOfTopic: Self.subtopologies(of: new, applicationID: configuration.applicationID),
            sourceTopicsChanged: Set(topics) != oldTopics,
            topics: topics
        ))
        logger.info("topology replaced", metadata: ["subtopologies": "\(new.subtopologies.count)", "topics": "\(topics.count)"])
    }

    private func failReplacements(_ error: any Error) {
        stopped = error
        for replacement in replacements { replacement.done.resume(throwing: error) }
        replacements = []
    }

    private func loop(_ consumer: KafkaConsumer) async throws {
        let idleWait = min(configuration.wallClockResolution, .milliseconds(50))
        while !stopRequested, !Task.isCancelled {
            try await applyReplacements()
            // Rebalances and errors; records only of partitions fetched before their queue existed.
            let stray = try await consumer.poll(maxRecords: 2000, timeout: .zero)
            await route(stray)
            let read = try await readPartitions(consumer)
            try await handleFailures()
            try await perform(lifecycle.tick(now: .now))
            if stray.isEmpty, read == 0 { await consumer.arrivals.wait(timeout: idleWait) }
        }
    }

    private func shutdown() async throws {
        state.set(.pendingShutdown)
        logger.info("shutting down: committing and leaving the group")
        try await commit(closing: Set(tasks.keys))
        await closeClients()
        state.set(.notRunning)
        logger.info("topology stopped")
    }

    private func closeAfterError() async {
        for task in tasks.values { _ = await task.close(clean: false) }
        tasks = [:]
        if exactlyOnce { try? await producer?.abortTransaction() }
        await closeClients()
    }

    private func closeClients() async {
        await consumer?.close()
        if !producerIsShared { await producer?.close() }
        await changelogReader?.close()
        consumer = nil
        producer = nil
        changelogReader = nil
    }

    // MARK: Actions

    /// Carries out what the lifecycle decided, in order.
    private func perform(_ actions: [TaskLifecycle.Action]) async throws {
        defer { publish() }
        for action in actions {
            switch action {
            case .commit(let closing):
                try await commit(closing: closing)
            case .closeDirty(let ids):
                for id in ids.sorted() {
                    if let task = tasks.removeValue(forKey: id) { _ = await task.close(clean: false) }
                }
                metrics.tasks.record(tasks.count)
            case .start(let id, let partitions, let seek):
                await start(id, partitions: partitions, seek: seek)
            case .abortTransaction:
                await abortTransaction()
            case .subscribe(let topics):
                guard let consumer else { continue }
                try await subscribe(consumer, to: topics)
            case .punctuateWallClock:
                for task in tasks.values { await task.startWallClockPunctuation() }
            case .measureLag:
                await measureLag()
            case .stop(let failure):
                throw failure
            }
        }
    }

    private func start(_ id: TaskID, partitions: Set<TopicPartition>, seek: Bool) async {
        do {
            if seek, let consumer {
                let positions = try await seekToCommitted(Array(partitions), consumer)
                logger.info("task starting again", metadata: ["task": "\(id)", "from": "\(positions)"])
            }
            tasks[id] = try await makeTask(id, partitions: partitions)
            lifecycle.started(id)
        } catch {
            logger.error("task could not start", metadata: ["task": "\(id)", "error": "\(error)"])
            signals.report(TaskFailure(task: id, stage: .processing, source: nil, reason: "start: \(error)"))
        }
        metrics.tasks.record(tasks.count)
    }

    // MARK: Clients

    /// A producer for `configuration`: transactional (initialized, a transaction begun) under exactly-once.
    static func makeProducer(configuration: StreamsConfiguration, logger: Logger) async throws -> KafkaProducer {
        let exactlyOnce = configuration.processingGuarantee == .exactlyOnce
        var config = KafkaProducerConfiguration(bootstrapServers: configuration.bootstrapServers)
        config.clientID = "\(configuration.applicationID)-\(configuration.instanceID)-producer"
        if exactlyOnce {
            config.transactionalID = "\(configuration.applicationID)-\(configuration.instanceID)"
            config.transactionTimeout = configuration.transactionTimeout
        }
        config.metricsFactory = configuration.metricsFactory
        configuration.producer(&config)
        guard exactlyOnce else { return try KafkaProducer(configuration: config, logger: logger) }
        config.deliveryTimeout = min(config.deliveryTimeout, config.transactionTimeout)
        return try await KafkaProducer.transactional(configuration: config, logger: logger)
    }

    private func makeConsumer() throws -> KafkaConsumer {
        var config = KafkaConsumerConfiguration(bootstrapServers: configuration.bootstrapServers, groupID: configuration.applicationID)
        config.clientID = "\(configuration.applicationID)-\(configuration.instanceID)-consumer"
        config.isolationLevel = .readCommitted
        // Tasks with several source topics need the same partition of each: only the range assignor promises that.
        // A named topology may be replaced by one with co-partitioned sources later.
        let coPartitioned = !name.isEmpty || topology.subtopologies.contains { $0.sourceTopics.count > 1 }
        config.assignmentStrategy = coPartitioned ? .range : .cooperativeSticky
        // Backpressure: a partition whose task is full is simply not read; librdkafka fetches it again a few
        // milliseconds after its prefetch (about one task buffer) has room, not after the 1 s default.
        config.separatePartitionQueues = true
        config.prefetchedRecordsPerPartition = configuration.bufferedRecordsPerPartition
        config.prefetchBackoff = .milliseconds(10)
        config.metricsFactory = configuration.metricsFactory
        configuration.consumer(&config)
        return try KafkaConsumer(configuration: config, rebalanceListener: RebalanceBridge(runtime: self), logger: logger)
    }

    // MARK: Records

    /// Moves records waiting in the assigned partitions' queues into their tasks, as far as each has room.
    private func readPartitions(_ consumer: KafkaConsumer) async throws -> Int {
        var read = 0
        for (id, task) in tasks {
            // All of a task's partitions at once, so that the task takes them in timestamp order.
            var lanes: [[KafkaConsumerRecord]] = []
            for partition in lifecycle.assigned[id] ?? [] {
                let room = await task.room(for: partition)
                guard room > 0 else { continue }
                let records = try consumer.poll(partition, maxRecords: room)
                if !records.isEmpty { lanes.append(records) }
            }
            guard !lanes.isEmpty else { continue }
            read += lanes.reduce(0) { $0 + $1.count }
            await task.enqueue(TimestampOrder.merged(lanes))
        }
        return read
    }

    private func route(_ records: [KafkaConsumerRecord]) async {
        guard !records.isEmpty else { return }
        var batches: [TaskID: [KafkaConsumerRecord]] = [:]
        for record in records {
            guard let id = lifecycle.task(of: record.topicPartition) else { continue }
            batches[id, default: []].append(record)
        }
        for (id, batch) in batches {
            // Records of a task that is down (waiting to restart) are dropped: it re-reads from its committed offset.
            guard let task = tasks[id] else { continue }
            await task.enqueue(batch)
        }
    }

    // MARK: Tasks

    private func makeTask(_ id: TaskID, partitions: Set<TopicPartition>) async throws -> StreamTask {
        guard let producer, let consumer else { throw KafkaError(code: .closed, message: "topology is not running") }
        let signals = self.signals
        let task = try StreamTask(
            id: id,
            topology: topology,
            partitions: partitions,
            applicationID: configuration.applicationID,
            configuration: configuration,
            collector: KafkaRecordCollector(producer: producer),
            clock: configuration.clock,
            logger: logger,
            onRoom: { consumer.arrivals.signal() },
            onFailure: { failure in
                signals.report(failure)
                consumer.arrivals.signal()
            }
        )
        do {
            if let changelogReader { try await task.restore(from: changelogReader) }
            try await task.initialize()
        } catch {
            _ = await task.close(clean: false)
            throw error
        }
        return task
    }

    func partitionsAssigned(_ partitions: [TopicPartition]) async {
        metrics.rebalances.increment()
        state.set(.rebalancing)
        do {
            try await perform(lifecycle.partitionsAssigned(partitions))
        } catch {
            logger.warning("assignment not fully served", metadata: ["error": "\(error)"])
        }
        logger.info("tasks assigned", metadata: ["tasks": "\(lifecycle.assigned.keys.sorted())", "running": "\(tasks.count)"])
        state.set(.running)
    }

    func partitionsRevoked(_ partitions: [TopicPartition], lost: Bool) async {
        state.set(.rebalancing)
        do {
            try await perform(lifecycle.partitionsRevoked(partitions, lost: lost, now: .now))
        } catch {
            logger.warning("revocation not fully served", metadata: ["error": "\(error)"])
        }
        logger.info(lost ? "tasks lost" : "tasks revoked", metadata: ["partitions": "\(partitions.count)", "running": "\(tasks.count)"])
        if !tasks.isEmpty || !lost { state.set(.running) }
    }

    // MARK: Commit

    /// Commits what every task has finished; tasks in `closing` are closed cleanly first and removed.
    ///
    /// At-least-once: each task's output is acknowledged, then the offsets are committed. Exactly-once: every
    /// task is held while the transaction commits its output together with the offsets, then released.
    private func commit(closing: Set<TaskID>) async throws {
        let start = ContinuousClock.now
        lifecycle.commitRan(at: start)
        let open = tasks.filter { !closing.contains($0.key) }
        if exactlyOnce { for task in open.values { await task.drain(hold: true) } }
        var offsets: [TaskID: [TopicPartitionOffset]] = [:]
        var failures: [TaskFailure] = []
        var closed: [StreamTask] = []
        for id in closing.sorted() {
            guard let task = tasks.removeValue(forKey: id) else { continue }
            offsets[id] = await task.close(clean: true)
            if let failure = await task.failure { failures.append(failure) }
            closed.append(task)
        }
        metrics.tasks.record(tasks.count)
        for (id, task) in open {
            do {
                offsets[id] = try await task.prepareCommit()
            } catch {
                logger.warning("task not committed", metadata: ["task": "\(id)", "error": "\(error)"])
                failures.append(error as? TaskFailure ?? TaskFailure(task: id, stage: .commit, source: nil, reason: "\(error)"))
            }
        }
        if exactlyOnce, !failures.isEmpty { failures += signals.takeFailures() }
        if case .abort(let actions) = lifecycle.commitPrepared(failures: failures, now: .now) {
            logger.warning("a task failed while committing; the transaction is aborted", metadata: ["failure": "\(failures[0])"])
            for task in closed { await task.finishClose(committed: false) }
            countRestarts(of: Set(failures.map(\.task)))
            try await perform(actions)
            return
        }
        let all = offsets.values.flatMap { $0 }
        if exactlyOnce {
            var failure: (any Error)?
            do { try await commitTransaction(all) } catch { failure = error }
            // Closed tasks checkpoint only what a committed transaction holds.
            for task in closed { await task.finishClose(committed: failure == nil) }
            if let failure {
                guard producer != nil, consumer != nil else { return }
                logger.warning("transaction commit failed; aborting and restarting tasks", metadata: ["error": "\(failure)"])
                let fatal = (failure as? KafkaError)?.isFatal ?? false
                if fatal { await replaceProducer() }
                try await perform(lifecycle.transactionFailed(now: .now))
                return
            }
        } else if !all.isEmpty {
            do {
                try await consumer?.commit(all)
            } catch {
                logger.warning("offset commit failed", metadata: ["error": "\(error)"])
                return
            }
        }
        for (id, task) in open {
            if await task.committed(offsets[id] ?? []) { lifecycle.committed(progressOf: [id]) }
            if exactlyOnce { await task.release() }
        }
        if !all.isEmpty {
            metrics.commits.increment()
            metrics.commitLatency.recordNanoseconds((ContinuousClock.now - start).nanoseconds)
        }
    }

    /// Commits the open transaction with `offsets` and begins the next one.
    private func commitTransaction(_ offsets: [TopicPartitionOffset]) async throws {
        guard let producer, let consumer else { throw KafkaError(code: .closed, message: "topology is not running") }
        if !offsets.isEmpty {
            try await producer.sendOffsetsToTransaction(offsets, groupMetadata: try consumer.groupMetadata())
        }
        try await producer.commitTransaction()
        try producer.beginTransaction()
    }

    // MARK: Failures and restarts

    private func handleFailures() async throws {
        let failures = signals.takeFailures()
        guard let first = failures.first else { return }
        let failed = Set(failures.map(\.task))
        let actions = lifecycle.failed(failed, failure: first, now: .now)
        countRestarts(of: failed)
        try await perform(actions)
    }

    private func countRestarts(of failed: Set<TaskID>) {
        for id in failed where lifecycle.failures(of: id) > 0 {
            metrics.taskRestarts.increment()
            logger.warning("task will restart", metadata: ["task": "\(id)", "attempt": "\(lifecycle.failures(of: id))"])
        }
    }

    /// Exactly-once: throws away the open transaction (the tasks it covered are closed already); an abort that
    /// fails replaces the producer.
    private func abortTransaction() async {
        metrics.transactionsAborted.increment()
        guard let producer else {
            await replaceProducer()
            return
        }
        do {
            try await producer.abortTransaction()
            try producer.beginTransaction()
        } catch {
            logger.warning("abort failed; replacing the producer", metadata: ["error": "\(error)"])
            await replaceProducer()
        }
    }

    private func replaceProducer() async {
        guard !producerIsShared else { return }
        await producer?.close()
        producer = nil
        var backoff = Duration.milliseconds(200)
        while !stopRequested, !Task.isCancelled {
            do {
                producer = try await Self.makeProducer(configuration: configuration, logger: logger)
                metrics.producersReplaced.increment()
                logger.info("producer replaced")
                return
            } catch {
                logger.error("producer could not be created", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(10))
            }
        }
    }

    /// Moves `partitions` back to their committed offsets (the beginning where none is), so that records read
    /// into a task that closed without finishing them are read again; returns the positions.
    @discardableResult
    private func seekToCommitted(_ partitions: [TopicPartition], _ consumer: KafkaConsumer) async throws -> [TopicPartitionOffset] {
        let positions = try await consumer.committed(partitions).map { offset in
            offset.offset >= 0 ? offset : TopicPartitionOffset(offset.topicPartition, offset: KafkaConsumer.beginning)
        }
        try await consumer.seek(positions)
        return positions
    }

    // MARK: Lag

    private func measureLag() async {
        guard let consumer else { return }
        let partitions = lifecycle.assigned.values.flatMap { $0 }
        guard !partitions.isEmpty, let lags = try? await consumer.lag(partitions) else { return }
        for (partition, lag) in lags {
            let gauge = lagGauges[partition] ?? metrics.lag(partition)
            lagGauges[partition] = gauge
            gauge.record(lag)
        }
    }
}

/// Forwards the consumer's rebalance callbacks to the topology's runtime.
struct RebalanceBridge: KafkaRebalanceListener {
    let runtime: TopologyRuntime

    func partitionsAssigned(_ partitions: [TopicPartition]) async { await runtime.partitionsAssigned(partitions) }
    func partitionsRevoked(_ partitions: [TopicPartition]) async { await runtime.partitionsRevoked(partitions, lost: false) }
    func partitionsLost(_ partitions: [TopicPartition]) async { await runtime.partitionsRevoked(partitions, lost: true) }
}
