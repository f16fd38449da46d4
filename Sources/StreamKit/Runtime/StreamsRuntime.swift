import Logging
import Metrics
import Synchronization

/// The engine behind ``StreamsApplication``: one consumer in the application's group, one producer, and one
/// ``StreamTask`` per assigned (sub-topology, partition).
///
/// The loop reads each assigned partition's own queue into its task as far as the task's buffer has room (a
/// partition left unread stops being fetched, the others go on), commits on the commit interval, fires
/// wall-clock punctuators, restarts failed tasks, and measures lag. Between rounds it sleeps until records
/// arrive, a full task has room again, or a timer is due. Rebalance callbacks arrive on the consumer's poll
/// thread while the loop polls the consumer, and are served here before the consumer continues.
actor StreamsRuntime {
    private(set) var topology: Topology
    /// Whether topologies are given later (``replaceTopology(_:)``): the group then always uses the range
    /// assignor, since a later topology may have co-partitioned sources.
    let replaceable: Bool
    let configuration: StreamsConfiguration
    let logger: Logger
    let state: ApplicationStateHolder
    let metrics: ApplicationMetrics
    private let signals = Signals()
    private var consumer: KafkaConsumer?
    private var producer: KafkaProducer?
    private var changelogReader: KafkaChangelogReader?
    private var tasks: [TaskID: StreamTask] = [:]
    /// Partitions assigned to this member, per task, including tasks waiting to restart.
    private var assigned: [TaskID: Set<TopicPartition>] = [:]
    private var restarts: [TaskID: ContinuousClock.Instant] = [:]
    private var consecutiveFailures: [TaskID: Int] = [:]
    private var subtopologyOfTopic: [String: Int] = [:]
    private var stopRequested = false
    private var lastCommit = ContinuousClock.now
    private var lastPunctuation = ContinuousClock.now
    private var lastLag = ContinuousClock.now
    private var lagGauges: [TopicPartition: Gauge] = [:]
    private var replacements: [(topology: Topology, done: CheckedContinuation<Void, any Error>)] = []
    /// Why the application stopped, once it has: later replacements fail with it.
    private var stopped: (any Error)?

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

    init(topology: Topology, replaceable: Bool = false, configuration: StreamsConfiguration, logger: Logger, state: ApplicationStateHolder) {
        self.topology = topology
        self.replaceable = replaceable
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "streamkit.application"] = "\(configuration.applicationID)"
        self.logger = logger
        self.state = state
        self.metrics = ApplicationMetrics(
            applicationID: configuration.applicationID,
            factory: configuration.metricsFactory ?? MetricsSystem.factory
        )
        subtopologyOfTopic = Self.subtopologies(of: topology, applicationID: configuration.applicationID)
    }

    private static func subtopologies(of topology: Topology, applicationID: String) -> [String: Int] {
        var index: [String: Int] = [:]
        for subtopology in topology.subtopologies {
            for topic in topology.sourceTopics(of: subtopology.id, applicationID: applicationID) { index[topic] = subtopology.id }
        }
        return index
    }

    func requestStop() {
        stopRequested = true
        consumer?.arrivals.signal()
    }

    // MARK: Life

    func run() async throws {
        do {
            try await TopicPreparation(topology: topology, configuration: configuration, logger: logger).run()
            let producer = try await makeProducer()
            self.producer = producer
            let consumer = try makeConsumer()
            self.consumer = consumer
            try makeChangelogReaderIfNeeded()
            state.set(.rebalancing)
            try await subscribe(consumer, to: topology.sourceTopics(applicationID: configuration.applicationID))
            logger.info("application started", metadata: [
                "guarantee": "\(configuration.processingGuarantee.rawValue)",
                "instance": "\(configuration.instanceID)",
            ])
            try await loop(consumer)
            try await shutdown()
            failReplacements(KafkaError(code: .closed, message: "application stopped"))
        } catch {
            logger.error("application failed", metadata: ["error": "\(error)"])
            await closeAfterError()
            state.set(.error)
            failReplacements(error)
            throw error
        }
    }

    private func makeChangelogReaderIfNeeded() throws {
        guard changelogReader == nil, topology.stores.values.contains(where: \.isLogged) else { return }
        changelogReader = try KafkaChangelogReader(configuration: configuration, logger: logger)
    }

    private func subscribe(_ consumer: KafkaConsumer, to topics: [String]) async throws {
        if topics.isEmpty {
            try consumer.unsubscribe()
            state.set(.running)
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
    /// changes the subscription, which rebalances the group.
    func replaceTopology(_ new: Topology) async throws {
        if let stopped { throw stopped }
        try await TopicPreparation(topology: new, configuration: configuration, logger: logger).run()
        if let stopped { throw stopped }
        guard consumer != nil else {
            topology = new
            subtopologyOfTopic = Self.subtopologies(of: new, applicationID: configuration.applicationID)
            return
        }
        try await withCheckedThrowingContinuation { continuation in
            replacements.append((new, continuation))
            consumer?.arrivals.signal()
        }
    }

    private func applyReplacements(_ consumer: KafkaConsumer) async throws {
        while !replacements.isEmpty {
            let (new, done) = replacements.removeFirst()
            do {
                try await apply(new, consumer)
                done.resume()
            } catch {
                done.resume(throwing: error)
                throw error
            }
        }
    }

    private func apply(_ new: Topology, _ consumer: KafkaConsumer) async throws {
        let oldTopics = Set(topology.sourceTopics(applicationID: configuration.applicationID))
        let partitions = assigned.values.flatMap { $0 }
        try await commit(closing: Set(tasks.keys))
        assigned = [:]
        restarts = [:]
        consecutiveFailures = [:]
        topology = new
        subtopologyOfTopic = Self.subtopologies(of: new, applicationID: configuration.applicationID)
        try makeChangelogReaderIfNeeded()
        let kept = partitions.filter { subtopologyOfTopic[$0.topic] != nil }
        if !kept.isEmpty { try await seekToCommitted(kept, consumer) }
        await start(kept)
        let topics = topology.sourceTopics(applicationID: configuration.applicationID)
        if Set(topics) != oldTopics { try await subscribe(consumer, to: topics) }
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
            try await applyReplacements(consumer)
            // Rebalances and errors; records only of partitions fetched before their queue existed.
            let stray = try await consumer.poll(maxRecords: 2000, timeout: .zero)
            try await route(stray)
            let read = try await readPartitions(consumer)
            try await handleFailures()
            try await restartDueTasks()
            let now = ContinuousClock.now
            if now - lastPunctuation >= configuration.wallClockResolution {
                lastPunctuation = now
                for task in tasks.values { await task.startWallClockPunctuation() }
            }
            if now - lastCommit >= configuration.effectiveCommitInterval {
                try await commit(closing: [])
            }
            if now - lastLag >= configuration.lagInterval {
                lastLag = now
                await measureLag()
            }
            if stray.isEmpty, read == 0 { await consumer.arrivals.wait(timeout: idleWait) }
        }
    }

    private func shutdown() async throws {
        state.set(.pendingShutdown)
        logger.info("shutting down: committing and leaving the group")
        try await commit(closing: Set(tasks.keys))
        await closeClients()
        state.set(.notRunning)
        logger.info("application stopped")
    }

    private func closeAfterError() async {
        for task in tasks.values { _ = await task.close(clean: false) }
        tasks = [:]
        if exactlyOnce { try? await producer?.abortTransaction() }
        await closeClients()
    }

    private func closeClients() async {
        await consumer?.close()
        await producer?.close()
        await changelogReader?.close()
        consumer = nil
        producer = nil
        changelogReader = nil
    }

    // MARK: Clients

    private func makeProducer() async throws -> KafkaProducer {
        var config = KafkaProducerConfiguration(bootstrapServers: configuration.bootstrapServers)
        config.clientID = "\(configuration.applicationID)-\(configuration.instanceID)-producer"
        if exactlyOnce {
            config.transactionalID = "\(configuration.applicationID)-\(configuration.instanceID)"
            config.transactionTimeout = configuration.transactionTimeout
        }
        config.metricsFactory = configuration.metricsFactory
        configuration.producer(&config)
        if exactlyOnce { config.deliveryTimeout = min(config.deliveryTimeout, config.transactionTimeout) }
        let producer = try KafkaProducer(configuration: config, logger: logger)
        if exactlyOnce {
            do {
                try await producer.initTransactions()
                try producer.beginTransaction()
            } catch {
                await producer.close()
                throw error
            }
        }
        return producer
    }

    private func makeConsumer() throws -> KafkaConsumer {
        var config = KafkaConsumerConfiguration(bootstrapServers: configuration.bootstrapServers, groupID: configuration.applicationID)
        config.clientID = "\(configuration.applicationID)-\(configuration.instanceID)-consumer"
        config.isolationLevel = .readCommitted
        // Tasks with several source topics need the same partition of each: only the range assignor promises that.
        let coPartitioned = replaceable || topology.subtopologies.contains { $0.sourceTopics.count > 1 }
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
            for partition in assigned[id] ?? [] {
                let room = await task.room(for: partition)
                guard room > 0 else { continue }
                let records = try consumer.poll(partition, maxRecords: room)
                guard !records.isEmpty else { continue }
                read += records.count
                await task.enqueue(records)
            }
        }
        return read
    }

    private func route(_ records: [KafkaConsumerRecord]) async throws {
        guard !records.isEmpty else { return }
        var batches: [TaskID: [KafkaConsumerRecord]] = [:]
        for record in records {
            guard let subtopology = subtopologyOfTopic[record.topic] else { continue }
            batches[TaskID(subtopology: subtopology, partition: record.partition), default: []].append(record)
        }
        for (id, batch) in batches {
            // Records of a task that is down (waiting to restart) are dropped: it re-reads from its committed offset.
            guard let task = tasks[id] else { continue }
            await task.enqueue(batch)
        }
    }

    // MARK: Tasks

    private func makeTask(_ id: TaskID, partitions: Set<TopicPartition>) async throws -> StreamTask {
        guard let producer, let consumer else { throw KafkaError(code: .closed, message: "application is not running") }
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
        await start(partitions)
        state.set(.running)
    }

    /// Starts (or re-creates, with the added partitions) the tasks of `partitions`.
    private func start(_ partitions: [TopicPartition]) async {
        var byTask: [TaskID: Set<TopicPartition>] = [:]
        for partition in partitions {
            guard let subtopology = subtopologyOfTopic[partition.topic] else { continue }
            byTask[TaskID(subtopology: subtopology, partition: partition.partition), default: []].insert(partition)
        }
        for (id, added) in byTask.sorted(by: { $0.key < $1.key }) {
            assigned[id, default: []].formUnion(added)
            if tasks[id] != nil {
                // A co-partitioned task gaining a partition later: commit and close it, start it with all of them.
                do { try await commit(closing: [id]) } catch {
                    logger.warning("commit before re-creating a task failed", metadata: ["task": "\(id)", "error": "\(error)"])
                }
            }
            do {
                tasks[id] = try await makeTask(id, partitions: assigned[id]!)
            } catch {
                logger.error("task could not start", metadata: ["task": "\(id)", "error": "\(error)"])
                signals.report(TaskFailure(task: id, stage: .processing, source: nil, reason: "start: \(error)"))
            }
        }
        metrics.tasks.record(tasks.count)
        logger.info("tasks assigned", metadata: ["tasks": "\(byTask.keys.sorted())", "running": "\(tasks.count)"])
    }

    func partitionsRevoked(_ partitions: [TopicPartition], lost: Bool) async {
        state.set(.rebalancing)
        let ids = Set(partitions.compactMap { p in subtopologyOfTopic[p.topic].map { TaskID(subtopology: $0, partition: p.partition) } })
        if !lost, !ids.isDisjoint(with: tasks.keys) {
            do {
                try await commit(closing: ids.intersection(tasks.keys))
            } catch {
                logger.warning("commit on revocation failed", metadata: ["error": "\(error)"])
            }
        }
        // Lost partitions are owned by another member already: nothing may be committed for them.
        for id in ids {
            if let task = tasks.removeValue(forKey: id) { _ = await task.close(clean: false) }
            forget(id)
        }
        if lost, exactlyOnce { await abortAndRecover(failed: []) }
        metrics.tasks.record(tasks.count)
        logger.info(lost ? "tasks lost" : "tasks revoked", metadata: ["tasks": "\(ids.sorted())"])
        if !tasks.isEmpty || !lost { state.set(.running) }
    }

    private func forget(_ id: TaskID) {
        assigned[id] = nil
        restarts[id] = nil
        consecutiveFailures[id] = nil
    }

    // MARK: Commit

    /// Commits what every task has finished; tasks in `closing` are closed cleanly first and removed.
    ///
    /// At-least-once: each task's output is acknowledged, then the offsets are committed. Exactly-once: every
    /// task is held while the transaction commits its output together with the offsets, then released.
    private func commit(closing: Set<TaskID>) async throws {
        let start = ContinuousClock.now
        lastCommit = start
        let open = tasks.filter { !closing.contains($0.key) }
        if exactlyOnce { for task in open.values { await task.drain(hold: true) } }
        var offsets: [TaskID: [TopicPartitionOffset]] = [:]
        var closed: [StreamTask] = []
        for id in closing {
            guard let task = tasks.removeValue(forKey: id) else { continue }
            offsets[id] = await task.close(clean: true)
            closed.append(task)
        }
        for (id, task) in open {
            do {
                offsets[id] = try await task.prepareCommit()
            } catch {
                logger.warning("task not committed", metadata: ["task": "\(id)", "error": "\(error)"])
            }
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
                await abortAndRecover(failed: [], producerError: failure)
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
            let committed = offsets[id] ?? []
            await task.committed(committed)
            if !committed.isEmpty { consecutiveFailures[id] = nil }
            if exactlyOnce { await task.release() }
        }
        if !all.isEmpty {
            metrics.commits.increment()
            metrics.commitLatency.recordNanoseconds((ContinuousClock.now - start).nanoseconds)
        }
    }

    /// Commits the open transaction with `offsets` and begins the next one.
    private func commitTransaction(_ offsets: [TopicPartitionOffset]) async throws {
        guard let producer, let consumer else { throw KafkaError(code: .closed, message: "application is not running") }
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
        if configuration.taskFailure == .stopApplication { throw first }
        let failed = Set(failures.map(\.task))
        if exactlyOnce {
            await abortAndRecover(failed: failed)
        } else {
            for id in failed {
                if let task = tasks.removeValue(forKey: id) { _ = await task.close(clean: false) }
                scheduleRestart(id, failed: true)
            }
        }
    }

    /// Exactly-once: throws away the open transaction and restarts every task from its committed offsets (the
    /// failed ones after their backoff). A fatal producer error (fenced) replaces the producer.
    private func abortAndRecover(failed: Set<TaskID>, producerError: (any Error)? = nil) async {
        for (_, task) in tasks { _ = await task.close(clean: false) }
        let ids = Set(tasks.keys).union(failed)
        tasks = [:]
        let fatal = (producerError as? KafkaError)?.isFatal ?? false
        metrics.transactionsAborted.increment()
        if !fatal, let producer {
            do {
                try await producer.abortTransaction()
                try producer.beginTransaction()
            } catch {
                logger.warning("abort failed; replacing the producer", metadata: ["error": "\(error)"])
                await replaceProducer()
            }
        } else {
            await replaceProducer()
        }
        for id in ids where assigned[id] != nil { scheduleRestart(id, failed: failed.contains(id)) }
    }

    private func replaceProducer() async {
        await producer?.close()
        producer = nil
        var backoff = Duration.milliseconds(200)
        while !stopRequested, !Task.isCancelled {
            do {
                producer = try await makeProducer()
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

    private func scheduleRestart(_ id: TaskID, failed: Bool) {
        var delay = Duration.zero
        if failed, case .restartTask(let initial, let maximum) = configuration.taskFailure {
            let attempt = consecutiveFailures[id, default: 0]
            consecutiveFailures[id] = attempt + 1
            delay = min(initial * (1 << min(attempt, 20)), maximum)
            metrics.taskRestarts.increment()
            logger.warning("task will restart", metadata: ["task": "\(id)", "after": "\(delay)", "attempt": "\(attempt + 1)"])
        }
        // Until then nothing reads the task's partitions (their queues fill to the prefetch bound and fetching
        // stops); the restart seeks them back to the committed offsets.
        restarts[id] = ContinuousClock.now + delay
    }

    private func restartDueTasks() async throws {
        let now = ContinuousClock.now
        for (id, due) in restarts where due <= now {
            restarts[id] = nil
            guard let partitions = assigned[id], let consumer else { continue }
            do {
                let positions = try await seekToCommitted(Array(partitions), consumer)
                tasks[id] = try await makeTask(id, partitions: partitions)
                logger.info("task restarted", metadata: ["task": "\(id)", "from": "\(positions)"])
            } catch {
                logger.error("task restart failed", metadata: ["task": "\(id)", "error": "\(error)"])
                scheduleRestart(id, failed: true)
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
        let partitions = assigned.values.flatMap { $0 }
        guard !partitions.isEmpty, let lags = try? await consumer.lag(partitions) else { return }
        for (partition, lag) in lags {
            let gauge = lagGauges[partition] ?? metrics.lag(partition)
            lagGauges[partition] = gauge
            gauge.record(lag)
        }
    }
}

/// Forwards the consumer's rebalance callbacks to the runtime.
struct RebalanceBridge: KafkaRebalanceListener {
    let runtime: StreamsRuntime

    func partitionsAssigned(_ partitions: [TopicPartition]) async { await runtime.partitionsAssigned(partitions) }
    func partitionsRevoked(_ partitions: [TopicPartition]) async { await runtime.partitionsRevoked(partitions, lost: false) }
    func partitionsLost(_ partitions: [TopicPartition]) async { await runtime.partitionsRevoked(partitions, lost: true) }
}
