import Logging
import Metrics

/// One partition of one sub-topology: owns that partition of each of the sub-topology's source topics, its
/// processor instances and its stores.
///
/// Records are buffered per task and started by a ``TaskScheduler``: one at a time per key, several keys at once
/// up to ``StreamsConfiguration/maxInFlightPerTask``. Processors run on this actor, so while one record awaits
/// (a remote call), records of other keys proceed. Offsets become committable only below the oldest unfinished
/// record.
package actor StreamTask {
    package nonisolated let id: TaskID
    package nonisolated let partitions: Set<TopicPartition>
    private let context: TaskContext
    private let state: TaskStateManager
    private let exactlyOnce: Bool
    private let sources: [String: (node: RuntimeNode, spec: SourceSpec)]
    private let nodes: [RuntimeNode]
    private let handling: ErrorHandling
    private let metrics: TaskMetrics
    private let clock: any WallClock
    private var scheduler: TaskScheduler
    private var workers = 0
    private var workerTasks: [Int: Task<Void, Never>] = [:]
    private var nextWorker = 0
    private var holding = false
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []
    private var wallClockPunctuation: Task<Void, Never>?
    package private(set) var failure: TaskFailure?
    private var closed = false
    /// Called when a partition whose buffer was full has been worked down to half, so that reading it resumes.
    private let onRoom: @Sendable () -> Void
    private let onFailure: @Sendable (TaskFailure) -> Void
    private let bufferCapacity: Int
    /// Partitions whose buffer filled up and has not yet been worked down to half.
    package private(set) var fullPartitions: Set<TopicPartition> = []

    package init(
        id: TaskID,
        topology: Topology,
        partitions: Set<TopicPartition>,
        applicationID: String,
        configuration: StreamsConfiguration,
        collector: any RecordCollector,
        clock: any WallClock,
        logger: Logger,
        onRoom: @escaping @Sendable () -> Void = {},
        onFailure: @escaping @Sendable (TaskFailure) -> Void = { _ in }
    ) throws {
        let subtopology = topology.subtopologies[id.subtopology]
        var logger = logger
        logger[metadataKey: "streamkit.task"] = "\(id)"
        let metrics = TaskMetrics(
            applicationID: applicationID,
            task: id,
            factory: configuration.metricsFactory ?? MetricsSystem.factory
        )
        let context = TaskContext(
            id: id,
            applicationID: applicationID,
            clock: clock,
            logger: logger,
            collector: collector,
            metrics: metrics,
            stores: [:]
        )
        let state = try TaskStateManager(
            task: id,
            specs: subtopology.stores.map { topology.stores[$0]! },
            applicationID: applicationID,
            configuration: configuration,
            collector: collector,
            streamTime: { [unowned context] in context.streamTime },
            logger: logger
        )
        context.stores = state.stores
        var runtime: [String: RuntimeNode] = [:]
        var ordered: [RuntimeNode] = []
        var sources: [String: (node: RuntimeNode, spec: SourceSpec)] = [:]
        for name in subtopology.nodes {
            let spec = topology.nodes[name]!
            let node = RuntimeNode(
                name: name,
                processor: spec.make(),
                context: ProcessorNodeContext(name: name, task: context, storeNames: Set(spec.stores))
            )
            runtime[name] = node
            ordered.append(node)
            if case .source(let source) = spec.kind {
                for topic in source.topics { sources[topic.resolved(applicationID: applicationID)] = (node, source) }
            }
        }
        for node in ordered {
            node.context.children = (topology.children[node.name] ?? []).compactMap { runtime[$0] }
        }
        self.id = id
        self.partitions = partitions
        self.context = context
        self.state = state
        self.exactlyOnce = configuration.processingGuarantee == .exactlyOnce
        self.sources = sources
        self.nodes = ordered
        self.handling = configuration.errorHandling
        self.metrics = metrics
        self.clock = clock
        self.scheduler = TaskScheduler(maxInFlight: configuration.maxInFlightPerTask)
        self.bufferCapacity = configuration.bufferedRecordsPerPartition
        self.onRoom = onRoom
        self.onFailure = onFailure
    }

    package var logger: Logger { context.logger }

    /// Fills the task's stores from their changelogs; call before ``initialize()``.
    package func restore(from reader: any ChangelogReader) async throws {
        try await state.restore(from: reader)
        // A store whose checkpoint could not be trusted was wiped and opened again: processors get the new one.
        context.stores = state.stores
    }

    /// Initializes every processor (they may open stores and schedule punctuators).
    package func initialize() throws {
        for node in nodes { try node.processor.initialize(node.context) }
    }

    // MARK: Records

    /// Buffers records, in the order given (the runtime merges a task's partitions by timestamp,
    /// ``TimestampOrder``), and starts what may start.
    package func enqueue(_ records: [KafkaConsumerRecord]) {
        guard !closed, failure == nil else { return }
        for record in records {
            scheduler.enqueue(record)
            if scheduler.queued(record.topicPartition) >= bufferCapacity { fullPartitions.insert(record.topicPartition) }
        }
        startWorkers()
    }

    /// How many more records of `partition` the buffer takes: none while it is full, and after that none until
    /// the backlog is down to half (so that reads come in batches, not one record at a time).
    package func room(for partition: TopicPartition) -> Int {
        guard !closed, failure == nil, !fullPartitions.contains(partition) else { return 0 }
        return max(0, bufferCapacity - scheduler.queued(partition))
    }

    /// The number of records waiting to start.
    package var buffered: Int { scheduler.buffered }

    private func startWorkers() {
        while !holding, failure == nil, workers < scheduler.maxInFlight, workers < scheduler.buffered {
            workers += 1
            let number = nextWorker
            nextWorker += 1
            workerTasks[number] = Task { await self.work(number) }
        }
    }

    private func work(_ number: Int) async {
        var sinceYield = 0
        while !holding, failure == nil, let item = scheduler.start() {
            let finished = await run(item.record)
            guard finished else { break }
            scheduler.finish(item)
            sinceYield += 1
            if sinceYield == 64 {
                sinceYield = 0
                reportDrained()
                await Task.yield()
            }
        }
        workers -= 1
        workerTasks[number] = nil
        reportDrained()
        resumeIdleWaiters()
    }

    /// Records or a wall-clock punctuation round still running.
    private var busy: Bool { workers > 0 || wallClockPunctuation != nil }

    private func resumeIdleWaiters() {
        guard !busy else { return }
        let waiters = idleWaiters
        idleWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    private func reportDrained() {
        guard !fullPartitions.isEmpty else { return }
        let drained = fullPartitions.filter { scheduler.queued($0) <= bufferCapacity / 2 }
        guard !drained.isEmpty else { return }
        fullPartitions.subtract(drained)
        onRoom()
    }

    /// Processes one record through the sub-topology. Returns `false` when the task failed on it (the record
    /// then stays unfinished, so no commit passes it).
    private func run(_ consumed: KafkaConsumerRecord) async -> Bool {
        guard let source = sources[consumed.topic] else {
            let error = TopologyError(node: "(task \(id))", reason: "no source reads \(consumed.topic)")
            return await handle(.deserialization, error, consumed)
        }
        let record: AnyRecord
        do {
            record = try source.spec.deserialize(consumed)
        } catch {
            return await handle(.deserialization, error, consumed)
        }
        if record.timestamp > context.streamTime {
            context.streamTime = record.timestamp
        }
        let start = ContinuousClock.now
        do {
            try await source.node.processor.process(record)
        } catch let error as ProductionFailure {
            return await handle(.production, error, consumed)
        } catch let error as StateStoreError {
            // The task's state failed, not the record: the task fails (and restarts), whatever the handler says,
            // so that the record is processed again rather than sent away as a dead letter.
            let metadata = RecordMetadata(topic: consumed.topic, partition: consumed.partition, offset: consumed.offset)
            fail(TaskFailure(task: id, stage: .processing, source: metadata, reason: "\(error)"))
            return false
        } catch {
            return await handle(.processing, error, consumed)
        }
        metrics.processLatency.recordNanoseconds((ContinuousClock.now - start).nanoseconds)
        metrics.endToEndLatency.recordMilliseconds(max(0, clock.now() - record.timestamp))
        metrics.processed.increment()
        await punctuate(.streamTime, at: context.streamTime)
        return true
    }

    /// Applies the configured response to a record that failed; returns whether the stream goes on past it.
    private func handle(_ stage: FailureStage, _ error: any Error, _ consumed: KafkaConsumerRecord) async -> Bool {
        let metadata = RecordMetadata(topic: consumed.topic, partition: consumed.partition, offset: consumed.offset)
        switch response(for: stage) {
        case .logAndContinue:
            logger.warning("record skipped", metadata: logged(consumed, ["stage": "\(stage)", "source": "\(metadata)", "reason": "\(error)"]))
            metrics.skipped.increment()
            return true
        case .deadLetter(let topic):
            let letter = KafkaProducerRecord(
                topic: topic,
                key: consumed.key,
                value: consumed.value,
                headers: consumed.headers + deadLetterHeaders(stage, reason: "\(error)", source: metadata),
                timestamp: consumed.timestamp
            )
            do {
                try await context.collector.send(letter, from: metadata)
            } catch {
                fail(TaskFailure(task: id, stage: stage, source: metadata, reason: "\(error)"))
                return false
            }
            logger.warning("record sent to dead-letter topic", metadata: logged(consumed, [
                "stage": "\(stage)", "source": "\(metadata)", "topic": "\(topic)", "reason": "\(error)",
            ]))
            metrics.skipped.increment()
            return true
        case .fail:
            fail(TaskFailure(task: id, stage: stage, source: metadata, reason: "\(error)"))
            return false
        }
    }

    /// `metadata` with the values of the record's ``ErrorHandling/loggedHeaders``.
    private func logged(_ record: KafkaConsumerRecord, _ metadata: Logger.Metadata) -> Logger.Metadata {
        var metadata = metadata
        for name in handling.loggedHeaders {
            if let value = record.headers.string(name) { metadata[name] = "\(value)" }
        }
        return metadata
    }

    private func deadLetterHeaders(_ stage: FailureStage, reason: String, source: RecordMetadata?) -> [KafkaHeader] {
        DeadLetterHeaders.make(stage: stage, reason: reason, source: source, applicationID: context.applicationID, task: id)
    }

    private func response(for stage: FailureStage) -> ErrorHandling.Response {
        switch stage {
        case .deserialization: return handling.deserialization
        case .processing: return handling.processing
        case .production: return handling.production
        case .commit: return .fail
        }
    }

    private func fail(_ failure: TaskFailure) {
        guard self.failure == nil else { return }
        self.failure = failure
        logger.error("task failed", metadata: ["error": "\(failure)"])
        onFailure(failure)
    }

    // MARK: Time

    /// Fires the punctuators of `type` due at `time`.
    package func punctuate(_ type: PunctuationType, at time: Int64) async {
        guard !closed, failure == nil else { return }
        for (entry, firedAt) in context.punctuation.takeDue(type, at: time) {
            let start = ContinuousClock.now
            do {
                try await entry.punctuator(firedAt)
            } catch {
                fail(TaskFailure(task: id, stage: .processing, source: nil, reason: "punctuator of \(entry.node): \(error)"))
                return
            }
            metrics.punctuations.increment()
            metrics.punctuationLatency.recordNanoseconds((ContinuousClock.now - start).nanoseconds)
        }
    }

    /// Fires the wall-clock punctuators due now.
    package func punctuateWallClock() async {
        await punctuate(.wallClockTime, at: clock.now())
    }

    /// Starts firing the wall-clock punctuators due now and returns at once, so that a slow punctuator holds up
    /// neither the caller nor other tasks. Does nothing while the previous round still runs; records of other
    /// keys go on meanwhile, and ``drain(hold:)`` waits for the round as for a record.
    package func startWallClockPunctuation() {
        guard !closed, !holding, failure == nil, wallClockPunctuation == nil,
              context.punctuation.isDue(.wallClockTime, at: clock.now()) else { return }
        wallClockPunctuation = Task {
            await self.punctuateWallClock()
            self.wallClockPunctuation = nil
            self.resumeIdleWaiters()
        }
    }

    package var streamTime: Int64 { context.streamTime }

    /// A snapshot of a key-value store's contents, for tests and interactive queries.
    package func readStore<K: Sendable, V: Sendable>(_ name: String, key: K.Type, value: V.Type) throws -> [(key: K, value: V)] {
        guard let store = context.stores[name] as? KeyValueStore<K, V> else {
            throw TopologyError(node: name, reason: "task \(id) has no KeyValueStore<\(K.self), \(V.self)> with this name")
        }
        return try store.all()
    }

    // MARK: Commit and close

    /// Waits until no record (and no wall-clock punctuation) is in flight; with `hold`, starts none until
    /// ``release()``.
    package func drain(hold: Bool) async {
        if hold { holding = true }
        if busy {
            await withCheckedContinuation { idleWaiters.append($0) }
        }
    }

    /// Lets records start again after ``drain(hold:)``.
    package func release() {
        holding = false
        startWorkers()
    }

    /// Makes everything processed so far durable in the output and returns the offsets that may be committed.
    ///
    /// Waits for every output record to be acknowledged; records the broker refused go to the production error
    /// handler (a `.fail` there fails the task and this throws). Stores are flushed. The offsets are those of
    /// records finished before the flush began: records finishing during it have outputs the flush may not
    /// cover, so they wait for the next commit.
    ///
    /// Any error fails the task (and is thrown as its ``TaskFailure``): a task whose output or stores are not
    /// durable must not go on as if they were.
    package func prepareCommit() async throws -> [TopicPartitionOffset] {
        if let failure { throw failure }
        // Exactly-once: every partition's offset, moved or not, so that the transaction's offset commit carries
        // this member's generation even when only a punctuator wrote: a zombie's commit is then refused.
        let offsets = scheduler.committableOffsets(includingUnchanged: exactlyOnce)
        do {
            var failed = try await context.collector.flush()
            while !failed.isEmpty {
                for delivery in failed {
                    try await handleFailedDelivery(delivery)
                }
                failed = try await context.collector.flush()
            }
            if let failure { throw failure }
            try state.flush()
            if !exactlyOnce { try state.writeCheckpoint() }
        } catch let failure as TaskFailure {
            throw failure
        } catch {
            let failure = TaskFailure(task: id, stage: .commit, source: nil, reason: "\(error)")
            fail(failure)
            throw failure
        }
        return offsets
    }

    private func handleFailedDelivery(_ delivery: FailedDelivery) async throws {
        let reason = "\(delivery.error) (writing to \(delivery.record.topic))"
        switch handling.production {
        case .logAndContinue:
            logger.warning("output record dropped", metadata: ["source": "\(delivery.source.map { "\($0)" } ?? "-")", "reason": "\(reason)"])
            metrics.skipped.increment()
        case .deadLetter(let topic) where topic != delivery.record.topic:
            var letter = delivery.record
            letter.topic = topic
            letter.partition = nil
            letter.headers += deadLetterHeaders(.production, reason: reason, source: delivery.source)
            try await context.collector.send(letter, from: delivery.source)
            metrics.skipped.increment()
        case .fail, .deadLetter:
            let failure = TaskFailure(task: id, stage: .production, source: delivery.source, reason: reason)
            fail(failure)
            throw failure
        }
    }

    /// Records that the offsets from ``prepareCommit()`` were committed; returns whether the task made progress.
    @discardableResult
    package func committed(_ offsets: [TopicPartitionOffset]) -> Bool {
        scheduler.markCommitted(offsets)
    }

    /// Stops the task. A clean close lets in-flight records finish and returns the offsets to commit (the caller
    /// commits them); a dirty close (after a failure, or when the producer was fenced) abandons in-flight work.
    /// Buffered records that never started are dropped either way: the next owner fetches them again.
    ///
    /// Under exactly-once a clean close keeps the state directory locked until ``finishClose(committed:)``,
    /// which writes the checkpoint once the transaction holding the last changes has committed.
    package func close(clean: Bool) async -> [TopicPartitionOffset] {
        guard !closed else { return [] }
        var offsets: [TopicPartitionOffset] = []
        if clean, failure == nil {
            await drain(hold: true)
            do {
                offsets = try await prepareCommit()
            } catch {
                logger.warning("task could not flush on close", metadata: ["error": "\(error)"])
                offsets = []
            }
        } else {
            holding = true
            for task in workerTasks.values { task.cancel() }
            wallClockPunctuation?.cancel()
            // Records and punctuators in flight end before the stores close: one still running would write into
            // a closed store, or open a segment of it again that the task's next instance then cannot open.
            let deadline = ContinuousClock.now + .seconds(10)
            while busy, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        closed = true
        scheduler.drop(partitions)
        for node in nodes { await node.processor.close() }
        if clean, exactlyOnce, failure == nil {
            state.closeStores()
        } else {
            state.close()
        }
        logger.debug("task closed", metadata: ["clean": "\(clean)"])
        return offsets
    }

    /// After a clean close under exactly-once: writes the checkpoint if the transaction committed, and unlocks
    /// the state directory.
    package func finishClose(committed: Bool) {
        if committed {
            do { try state.writeCheckpoint() } catch {
                logger.warning("checkpoint not written", metadata: ["error": "\(error)"])
            }
        }
        state.release()
    }
}
