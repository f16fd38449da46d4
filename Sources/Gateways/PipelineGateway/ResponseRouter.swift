import Logging
import StreamKit

/// Reads the answer topics of the requests this gateway instance sent and hands each answer to the request
/// waiting for it.
///
/// Every instance reads every partition of the answer topics it follows, assigned by itself rather than
/// through a consumer group, and takes the answers it waits for: no rebalance ever moves a partition away from
/// a request in flight, any number of instances can serve a pipeline, and an instance is ready as soon as it
/// reads. (Each instance reads all answers, a small cost beside the requests they answer.) A topic newly read is
/// read from its end: nothing written before concerns this instance.
actor ResponseRouter {
    private let configuration: PipelineGatewayConfiguration
    private let metrics: PipelineGatewayMetrics
    private let logger: Logger
    private var book = AnswerBook()
    private var consumer: KafkaConsumer?
    private var admin: KafkaAdmin?
    /// The topics read, or about to be.
    private var subscription: Set<String> = []
    /// Partitions to start reading, from the given offsets, at the read loop's next turn.
    private var toAssign: [TopicPartitionOffset] = []
    private var stopping = false
    /// The answer topics of the pipelines deployed when the router started, once looked up.
    private var initialTopics: Set<String>?
    /// The topics whose every partition is read.
    private var reading: Set<String> = []

    init(configuration: PipelineGatewayConfiguration, metrics: PipelineGatewayMetrics, logger: Logger) {
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
    }

    /// Whether the router reads answers (the gateway is ready for requests).
    var isRunning: Bool { consumer != nil && !stopping }

    /// Whether the router has been told to stop.
    var hasStopped: Bool { stopping }

    /// Whether the router reads answers, among them those of every pipeline deployed when it started (a
    /// pipeline deployed later has its own readiness: ``reads(_:)``).
    var isReady: Bool { isRunning && initialTopics.map { $0.isSubset(of: reading) } ?? false }

    /// Whether this instance reads `topic`, and so can take requests answered there.
    func reads(_ topic: String) -> Bool { reading.contains(topic) }

    /// Requests waiting for their answers.
    var waiting: Int { book.waiting }

    // MARK: Life

    /// Reads answers until ``stop()``; then every request still waiting gets 503.
    func run() async throws {
        var reader = configuration.consumer
        reader.groupID = nil
        let consumer = try KafkaConsumer(configuration: reader, logger: logger)
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
            await assignPending(consumer)
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
    /// the request with. Waits (until `deadline`) for this instance to read those topics.
    ///
    /// - Throws: 503 when a topic does not exist, or is not read in time.
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

    /// Starts reading those of `topics` that exist, from their ends, learning their partition counts first.
    private func add(_ topics: [String]) async throws(GatewayFailure) {
        guard let consumer, let admin else { throw .unavailable("the pipeline gateway is not running") }
        let missing = Set(topics).subtracting(subscription).sorted()
        guard !missing.isEmpty else { return }
        let described: [KafkaTopicDescription]
        do {
            described = try await admin.describeExistingTopics(missing).filter { !$0.partitions.isEmpty && !subscription.contains($0.name) }
        } catch {
            throw .unavailable("could not describe \(missing.joined(separator: ", ")): \(error)")
        }
        guard !described.isEmpty else { return }
        let partitions = described.flatMap { description in
            description.partitions.map { TopicPartition(topic: description.name, partition: $0.id) }
        }
        let starts: [TopicPartitionOffset]
        do {
            let ends = try await consumer.endOffsets(partitions)
            starts = partitions.map { TopicPartitionOffset($0, offset: ends[$0] ?? KafkaConsumer.end) }
        } catch {
            throw .unavailable("could not find the ends of \(described.map(\.name).joined(separator: ", ")): \(error)")
        }
        // Another caller may have added some meanwhile.
        let fresh = described.filter { !subscription.contains($0.name) }
        for description in fresh {
            book.partitionCounts[description.name] = Int32(description.partitions.count)
            subscription.insert(description.name)
        }
        let names = Set(fresh.map(\.name))
        toAssign += starts.filter { names.contains($0.topicPartition.topic) }
        logger.info("reading answers", metadata: ["topics": "\(subscription.sorted())"])
    }

    /// Starts reading the partitions added, leaving the others reading where they are: run by the read loop
    /// between two polls.
    private func assignPending(_ consumer: KafkaConsumer) async {
        guard !toAssign.isEmpty else { return }
        let adding = toAssign
        do {
            try await consumer.addAssignment(adding)
        } catch {
            logger.warning("could not start reading answer partitions; trying again", metadata: ["error": "\(error)"])
            return
        }
        toAssign.removeFirst(adding.count)
        let partitions = adding.map(\.topicPartition)
        book.own(partitions)
        reading.formUnion(partitions.map(\.topic))
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
