import Logging
import StreamKit

/// Reads the answer topics of the requests this gateway instance sent and hands each answer to the request
/// waiting for it.
///
/// The instances of a deployment share one consumer group, so each reads only the partitions it owns; a request
/// is keyed (``AnswerBook/key(for:answeredOn:)``) so that its answer lands in one of them. A partition newly
/// owned is read from its end (nothing written before concerns this instance); one owned again after a
/// rebalance is read from where this instance stopped, so that answers written in between are not missed.
actor ResponseRouter: KafkaRebalanceListener {
    private let configuration: PipelineGatewayConfiguration
    private let metrics: PipelineGatewayMetrics
    private let logger: Logger
    private var book = AnswerBook()
    private var consumer: KafkaConsumer?
    private var admin: KafkaAdmin?
    private var subscription: Set<String> = []
    /// Where this instance stopped reading partitions taken away from it.
    private var positions: [TopicPartition: Int64] = [:]
    /// Partitions assigned whose read position is not fixed yet; not owned until it is.
    private var unpositioned: Set<TopicPartition> = []
    private var stopping = false
    /// The answer topics of the pipelines deployed when the router started, once looked up.
    private var initialTopics: Set<String>?
    /// The topics this instance has owned partitions of.
    private var everOwned: Set<String> = []
    /// Since when a topic read has had no partition here, and how long to wait before rejoining the group.
    private var starvedSince: ContinuousClock.Instant?
    private var starvationPatience: Duration = .seconds(5)

    init(configuration: PipelineGatewayConfiguration, metrics: PipelineGatewayMetrics, logger: Logger) {
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
    }

    /// Whether the router reads answers (the gateway is ready for requests).
    var isRunning: Bool { consumer != nil && !stopping }

    /// Whether the router has been told to stop.
    var hasStopped: Bool { stopping }

    /// Whether the router reads answers and has been given partitions of the answer topics of every pipeline
    /// deployed when it started. (Later rebalances move partitions only for a moment, and a pipeline deployed
    /// later has its own readiness: ``reads(_:)``.)
    var isReady: Bool { isRunning && initialTopics.map { $0.isSubset(of: everOwned) } ?? false }

    /// Whether this instance has been given partitions of `topic`, and so can key requests answered there.
    func reads(_ topic: String) -> Bool { everOwned.contains(topic) }

    /// Requests waiting for their answers.
    var waiting: Int { book.waiting }

    // MARK: Life

    /// Reads answers until ``stop()``; then every request still waiting gets 503.
    func run() async throws {
        let consumer = try KafkaConsumer(configuration: configuration.consumer, rebalanceListener: self, logger: logger)
        let admin: KafkaAdmin
        do {
            admin = try KafkaAdmin(configuration: KafkaAdminConfiguration(matching: configuration.consumer), logger: logger)
        } catch {
            await consumer.close()
            throw error
        }
        self.consumer = consumer
        self.admin = admin
        var failure: (any Error)?
        do {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await self.read(consumer) }
                group.addTask { await self.expirePeriodically() }
            }
        } catch {
            failure = error
        }
        stopping = true
        for waiter in book.abandonAll() {
            waiter.resume(throwing: GatewayFailure.unavailable("the pipeline gateway is shutting down"))
        }
        self.consumer = nil
        self.admin = nil
        await consumer.close()
        await admin.close()
        if let failure { throw failure }
    }

    func stop() { stopping = true }

    private func isStopping() -> Bool { stopping || Task.isCancelled }

    private nonisolated func read(_ consumer: KafkaConsumer) async throws {
        while await !isStopping() {
            let records = try await consumer.poll(maxRecords: 500, timeout: .milliseconds(100))
            if !records.isEmpty { await route(records) }
            await positionAssigned()
            await rejoinWhenStarved(consumer)
        }
    }

    /// Rejoins the group when this instance has owned no partition of a topic it reads for a while, though
    /// nothing is left to position: a rebalance can leave a member out (seen with cooperative-sticky on Tansu
    /// after the subscription grew), and it would then answer none of that topic's requests until the next one.
    /// With more instances than partitions this repeats, ever less often (up to every 2 minutes).
    private func rejoinWhenStarved(_ consumer: KafkaConsumer) async {
        let starved = subscription.filter { (book.owned[$0] ?? []).isEmpty }
        guard !starved.isEmpty, unpositioned.isEmpty, !stopping else {
            if starved.isEmpty { (starvedSince, starvationPatience) = (nil, .seconds(5)) }
            return
        }
        let since = starvedSince ?? .now
        starvedSince = since
        guard ContinuousClock.now - since >= starvationPatience else { return }
        logger.warning("no partition of some answer topics came to this instance; rejoining the group", metadata: [
            "topics": "\(starved.sorted())", "waited": "\(starvationPatience)",
        ])
        starvedSince = .now
        starvationPatience = min(starvationPatience * 2, .seconds(120))
        do {
            try consumer.unsubscribe()
            try await consumer.subscribe(topics: subscription.sorted())
        } catch {
            logger.warning("could not rejoin the group", metadata: ["error": "\(error)"])
        }
    }

    private nonisolated func expirePeriodically() async {
        while await !isStopping() {
            try? await Task.sleep(for: .milliseconds(10))
            await expire()
        }
    }

    private func route(_ records: [KafkaConsumerRecord]) {
        for record in records {
            switch book.arrive(record) {
            case (.answered, let waiter?): waiter.resume(returning: record)
            case (.late, _): metrics.lateAnswer()
            default: break
            }
        }
    }

    private func expire() {
        for (key, waiter) in book.expire(before: .now) { waiter?.resume(throwing: timedOut(key)) }
    }

    private func timedOut(_ key: String) -> GatewayFailure {
        GatewayFailure(status: 504, message: "no answer within \(configuration.timeout.formatted)", requestID: key)
    }

    // MARK: Requests

    /// Starts waiting for the answer to request `id`, which comes on one of `topics`, and returns the key to write
    /// the request with. Waits (until `deadline`) for this instance to own partitions of those topics.
    ///
    /// - Throws: 503 when a topic does not exist, or no partition of it came to this instance in time.
    func expect(id: String, answeredOn topics: [String], until deadline: ContinuousClock.Instant) async throws(GatewayFailure) -> String {
        try await subscribe(to: topics, until: deadline)
        while true {
            if let key = book.key(for: id, answeredOn: topics) {
                book.expect(key, on: topics, until: deadline)
                return key
            }
            guard ContinuousClock.now < deadline, !stopping else {
                throw .unavailable("this gateway instance does not read \(topics.joined(separator: " and ")) yet; try again", requestID: id)
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The answer to the request written with `key`.
    ///
    /// - Throws: 504 when its deadline passes first, 503 when the gateway stops, `CancellationError`.
    func answer(to key: String) async throws -> KafkaConsumerRecord {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { waiter in
                switch book.wait(key, waiter) {
                case .waiting: break
                case .answered(let record): waiter.resume(returning: record)
                case .gone: waiter.resume(throwing: Task.isCancelled ? CancellationError() : timedOut(key))
                }
            }
        } onCancel: {
            Task { await self.abandon(key, because: CancellationError()) }
        }
    }

    /// Stops waiting for the request written with `key` (it could not be written, or its caller went away).
    func abandon(_ key: String, because reason: any Error) {
        book.abandon(key)?.resume(throwing: reason)
    }

    private func subscribe(to topics: [String], until deadline: ContinuousClock.Instant) async throws(GatewayFailure) {
        guard topics.contains(where: { !subscription.contains($0) }) else { return }
        while consumer == nil {
            guard ContinuousClock.now < deadline, !stopping else { throw .unavailable("the pipeline gateway is not running") }
            try? await Task.sleep(for: .milliseconds(10))
        }
        try await add(topics)
        if let absent = topics.first(where: { !subscription.contains($0) }) {
            throw .unavailable("topic \(absent) does not exist")
        }
    }

    /// Reads the answer topics among `topics` that exist, besides those read already.
    func follow(_ topics: [String]) async {
        guard consumer != nil, !stopping else { return }
        do {
            try await add(topics)
            if initialTopics == nil { initialTopics = Set(topics).intersection(subscription) }
        } catch {
            logger.warning("could not follow answer topics", metadata: ["error": "\(error.message)"])
        }
    }

    /// Subscribes to those of `topics` that exist, learning their partition counts first.
    private func add(_ topics: [String]) async throws(GatewayFailure) {
        guard let consumer, let admin else { throw .unavailable("the pipeline gateway is not running") }
        let missing = Set(topics).subtracting(subscription).sorted()
        guard !missing.isEmpty else { return }
        do {
            for description in try await admin.describeExistingTopics(missing) where !description.partitions.isEmpty {
                book.partitionCounts[description.name] = Int32(description.partitions.count)
            }
        } catch {
            throw .unavailable("could not describe \(missing.joined(separator: ", ")): \(error)")
        }
        // Another caller may have subscribed meanwhile.
        let wanted = subscription.union(missing.filter { book.partitionCounts[$0] != nil })
        guard wanted != subscription else { return }
        do {
            try await consumer.subscribe(topics: wanted.sorted())
            subscription = wanted
            logger.info("reading answers", metadata: ["topics": "\(wanted.sorted())"])
        } catch {
            throw .unavailable("could not subscribe to \(missing.joined(separator: ", ")): \(error)")
        }
    }

    // MARK: Rebalances

    func partitionsAssigned(_ partitions: [TopicPartition]) async {
        unpositioned.formUnion(partitions)
        await positionAssigned()
    }

    /// Fixes the read position of assigned partitions not positioned yet, and only then takes them as owned: a
    /// request keyed to a partition whose position is still to be found could have its answer written before
    /// it, and never read. Those whose position cannot be found now are tried again after the next poll.
    private func positionAssigned() async {
        guard let consumer, !unpositioned.isEmpty else { return }
        var offsets: [TopicPartitionOffset] = []
        for partition in unpositioned {
            if let position = positions[partition] {
                offsets.append(TopicPartitionOffset(partition, offset: position))
            } else {
                do {
                    offsets.append(TopicPartitionOffset(partition, offset: try await consumer.watermarks(partition).high))
                } catch {
                    logger.warning("could not find the end of a newly owned partition; trying again", metadata: ["partition": "\(partition)", "error": "\(error)"])
                }
            }
        }
        guard !offsets.isEmpty else { return }
        do {
            try await consumer.seek(offsets)
        } catch {
            logger.warning("could not position newly owned partitions; trying again", metadata: ["error": "\(error)"])
            return
        }
        let placed = offsets.map(\.topicPartition)
        for partition in placed { positions[partition] = nil }
        unpositioned.subtract(placed)
        book.own(placed)
        everOwned.formUnion(placed.map(\.topic))
    }

    func partitionsRevoked(_ partitions: [TopicPartition]) async {
        unpositioned.subtract(partitions)
        book.release(partitions)
        for position in (try? consumer?.position(partitions)) ?? [] where position.offset >= 0 {
            positions[position.topicPartition] = position.offset
        }
    }

    func partitionsLost(_ partitions: [TopicPartition]) async {
        unpositioned.subtract(partitions)
        book.release(partitions)
        for partition in partitions { positions[partition] = nil }
    }
}

extension Duration {
    /// `30s`, `1.5s`, `250ms`.
    var formatted: String {
        let milliseconds = self.milliseconds
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        if milliseconds >= 1000 { return "\(Double(milliseconds) / 1000)s" }
        return "\(milliseconds)ms"
    }
}
