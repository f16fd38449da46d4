import AsyncHTTPClient
import Dataflow
import Logging
import ServiceLifecycle
import StreamKit

/// Answers the requests written to models' input topics by calling the models' servers, and writes each answer
/// to the model's output topic with the request's key and headers (plus the server's `x-*` headers).
///
/// Many requests of a partition are in flight at once, up to ``ModelGatewayConfiguration/maxInFlightPerPartition``;
/// offsets are committed only below the oldest unanswered one, so a crash answers some requests twice but skips
/// none — or, with a ``ModelGatewayConfiguration/transactionalID`` (exactly-once), answers are written in
/// transactions that commit the offsets of exactly the requests they answer, so that nothing is answered twice
/// either (see ``AnswerTransactions``). A request that cannot be answered (the server refuses it, keeps failing
/// or timing out, or the answer cannot be written) becomes a record on the errors topic with
/// `seldon-pipeline-errors: <model>` and the reason. While a server cannot be reached at all, its models' partitions are paused: their requests wait on
/// the topic and are answered once it is back.
///
/// Instances sharing the consumer group share the partitions. `run()` is the gateway's life (a
/// swift-service-lifecycle `Service`); ``serve(_:)`` changes the models served while it runs.
public actor ModelGateway: Service, KafkaRebalanceListener {
    public nonisolated let configuration: ModelGatewayConfiguration
    private let logger: Logger
    private let http: HTTPClient
    /// Where the requests of each input topic served go.
    private var inputs: [String: ModelRoute] = [:]
    private var servers: [String: InferenceServer] = [:]
    private var flows: [TopicPartition: PartitionFlow] = [:]
    private var paused: Set<TopicPartition> = []
    private var consumer: KafkaConsumer?
    private var subscription: [String] = []
    private var stopping = false
    /// Exactly-once: the transactional producer's loop; `nil` under at-least-once.
    private let transactions: AnswerTransactions?
    /// Counts the transactions aborted: requests fetched or answered in an earlier epoch are ignored, as the
    /// partitions are fetched again from their committed offsets.
    private var epoch = 0
    /// Whether the partitions must move back to their committed offsets before the next poll: the fetch loop
    /// moves them, so that no poll spans the move (it could return records from before it and after it).
    private var rewindPending = false
    private var rewindAttempts = 0
    /// Counts ``serve(_:)`` calls, so that a call overtaken by a later one while it waited does not undo it.
    private var servings = 0
    private let work: AsyncStream<Request>
    private let workContinuation: AsyncStream<Request>.Continuation

    /// A fetched request on its way to its model's server (`route` is `nil` for a topic no longer served).
    struct Request: Sendable {
        var record: KafkaConsumerRecord
        var route: ModelRoute?
        var epoch: Int
    }

    /// What became of a request.
    enum Outcome {
        case answer(KafkaProducerRecord)
        case failure(reason: String)
    }

    public init(configuration: ModelGatewayConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        http = InferenceServer.httpClient(connectionsPerEndpoint: configuration.connectionsPerEndpoint)
        (work, workContinuation) = AsyncStream.makeStream()
        transactions = configuration.transactionalID.map { id in
            var producer = configuration.producer
            producer.transactionalID = id
            return AnswerTransactions(configuration: producer, logger: logger)
        }
    }

    // MARK: Models

    /// The models served and their servers.
    public var served: [String: ModelServer] {
        Dictionary(uniqueKeysWithValues: inputs.values.map { ($0.model, $0.server.spec) })
    }

    /// Serves exactly `models` (model name → its server) from now on: creates their topics when missing and
    /// subscribes to their input topics. Requests in flight for a model no longer served are still answered.
    /// The latest call wins: one overtaken by a later call while it created topics returns without effect.
    ///
    /// - Throws: ``ModelGatewayError`` for a server that cannot be called; Kafka errors creating topics.
    public func serve(_ models: [String: ModelServer]) async throws {
        for server in Set(models.values) where server.endpoints.isEmpty {
            throw ModelGatewayError("server '\(server.name)' has no endpoint")
        }
        let topics = configuration.topics
        servings += 1
        let serving = servings
        try await provisioner.ensure(
            [topics.errors] + models.keys.flatMap { [topics.modelInputs($0), topics.modelOutputs($0)] },
            logger: logger
        )
        guard serving == servings else { return }
        var connections: [String: InferenceServer] = [:]
        for server in Set(models.values) {
            if let existing = servers[server.name], existing.spec == server {
                connections[server.name] = existing
            } else {
                connections[server.name] = try makeConnection(server)
            }
        }
        for (name, old) in servers where connections[name] !== old { old.close() }
        servers = connections
        inputs = Dictionary(uniqueKeysWithValues: models.map { model, server in
            (topics.modelInputs(model), ModelRoute(model: model, server: connections[server.name]!))
        })
        logger.info("serving models", metadata: ["models": "\(models.keys.sorted())"])
        try await subscribe()
    }

    private var provisioner: TopicProvisioner {
        TopicProvisioner(
            admin: KafkaAdminConfiguration(matching: configuration.consumer),
            partitions: configuration.partitions,
            creation: configuration.topicCreation
        )
    }

    private func makeConnection(_ server: ModelServer) throws -> InferenceServer {
        try InferenceServer(server, http: http, maxResponseBytes: configuration.maxResponseBytes, calls: configuration.calls, logger: logger) {
            [weak self] name, available in
            Task { await self?.serverAvailabilityChanged(name, available: available) }
        }
    }

    private func subscribe() async throws {
        guard let consumer, !stopping else { return }
        let topics = inputs.keys.sorted()
        guard topics != subscription else { return }
        if topics.isEmpty { try consumer.unsubscribe() } else { try await consumer.subscribe(topics: topics) }
        subscription = topics
    }

    // MARK: Life

    /// Consumes and answers requests until graceful shutdown or cancellation, then finishes the requests in
    /// flight (up to ``ModelGatewayConfiguration/drainTimeout``), commits, and leaves the group.
    public func run() async throws {
        let consumer = try KafkaConsumer(configuration: configuration.consumer, rebalanceListener: self, logger: logger)
        let producer: KafkaProducer
        do {
            producer = try await transactions?.makeProducer() ?? KafkaProducer(configuration: configuration.producer, logger: logger)
        } catch {
            await consumer.close()
            throw error
        }
        self.consumer = consumer
        var failure: (any Error)?
        do {
            try await provisioner.ensure([configuration.topics.errors], logger: logger)
            subscription = []
            try await subscribe()
            try await withGracefulShutdownHandler {
                try await process(consumer, producer)
            } onGracefulShutdown: {
                Task { await self.stop() }
            }
        } catch {
            failure = error
        }
        stopping = true
        await commit(consumer, synchronously: true)
        await consumer.close()
        // Under exactly-once the transactions' loop closed it already, unless it never ran.
        await producer.close()
        self.consumer = nil
        for server in servers.values { server.close() }
        try? await http.shutdown()
        if let failure { throw failure }
    }

    private func stop() {
        stopping = true
    }

    private func process(_ consumer: KafkaConsumer, _ producer: KafkaProducer) async throws {
        // Not a child task: its steps (commits awaited by others among them) are carried out to the last, even
        // when the gateway is cancelled.
        let transactions = self.transactions
        let lane = transactions.map { transactions in
            Task { await transactions.run(producer: producer, consumer: consumer) { await self.isStopping() } }
        }
        do {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await self.fetch(consumer) }
                group.addTask { await self.commitPeriodically(consumer) }
                for await request in work {
                    group.addTask { await self.answer(request, producer) }
                }
                group.cancelAll()
            }
        } catch {
            transactions?.finish()
            await lane?.value
            throw error
        }
        if let transactions {
            await commit(consumer, synchronously: true)
            transactions.finish()
            await lane?.value
        }
    }

    /// Polls until stopping, then waits for the requests in flight and ends the work stream.
    private nonisolated func fetch(_ consumer: KafkaConsumer) async throws {
        do {
            while await !isStopping(), !Task.isCancelled {
                guard let epoch = await pollingEpoch() else { continue }
                let records: [KafkaConsumerRecord]
                do {
                    records = try await consumer.poll(maxRecords: 500, timeout: .milliseconds(100))
                } catch {
                    await accept([], fetchedIn: epoch)
                    throw error
                }
                await accept(records, fetchedIn: epoch)
            }
        } catch {
            workContinuation.finish()
            throw error
        }
        await drain(nil)
        workContinuation.finish()
    }

    private func isStopping() -> Bool { stopping || Task.isCancelled }

    /// The epoch a poll starting now belongs to, once the partitions are back at their committed offsets after
    /// an abort; `nil` when they could not be moved (tried again before the next poll).
    private func pollingEpoch() async -> Int? {
        guard rewindPending else { return epoch }
        let partitions = Array(flows.keys)
        let rewound = epoch
        do {
            if !partitions.isEmpty, let consumer {
                let committed = try await consumer.committed(partitions)
                let positions = committed.map { TopicPartitionOffset($0.topicPartition, offset: $0.offset >= 0 ? $0.offset : KafkaConsumer.beginning) }
                try await consumer.seek(positions)
                logger.info("partitions moved back to their committed offsets", metadata: ["offsets": "\(positions)"])
            }
            // Another abort while moving: move again, for the partitions assigned now.
            guard rewound == epoch else { return nil }
            rewindPending = false
            rewindAttempts = 0
            return epoch
        } catch {
            rewindAttempts += 1
            logger.error("could not move partitions back to their committed offsets", metadata: ["error": "\(error)", "attempt": "\(rewindAttempts)"])
            try? await Task.sleep(for: configuration.calls.retry.backoff(after: rewindAttempts))
            return nil
        }
    }

    private nonisolated func commitPeriodically(_ consumer: KafkaConsumer) async {
        while await !isStopping() {
            try? await Task.sleep(for: configuration.commitInterval)
            await commit(consumer, synchronously: false)
        }
    }

    // MARK: Partitions

    /// Takes what a poll fetched. Records fetched by a poll of an epoch that has ended were fetched from before
    /// a rewind: they are fetched again.
    private func accept(_ records: [KafkaConsumerRecord], fetchedIn fetched: Int) {
        guard fetched == epoch else { return }
        var touched: Set<TopicPartition> = []
        for record in records {
            // Only partitions assigned (and not lost since) have a flow.
            guard let startable = flows[record.topicPartition]?.arrive(record) else { continue }
            start(startable)
            touched.insert(record.topicPartition)
        }
        for partition in touched { updatePause(partition) }
    }

    /// Under exactly-once answers wait in the flow for earlier ones; at most four times as many requests as may
    /// be in flight are then started and not yet committable.
    private func newFlow() -> PartitionFlow {
        let limit = configuration.maxInFlightPerPartition
        return PartitionFlow(limit: limit, window: transactions == nil ? .max : 4 * limit)
    }

    /// Requests started once the work stream has ended (its loop was cancelled) are never taken up: they are
    /// abandoned at once, so that draining does not wait for them.
    private func start(_ records: [KafkaConsumerRecord]) {
        for record in records {
            let request = Request(record: record, route: inputs[record.topic], epoch: epoch)
            if case .terminated = workContinuation.yield(request) { abandoned(request) }
        }
    }

    /// A request is answered: by `answers` to be written in the open transaction (exactly-once), or by records
    /// written already.
    private func finished(_ request: Request, answers: [KafkaProducerRecord] = []) {
        let partition = request.record.topicPartition
        guard request.epoch == epoch, flows[partition] != nil else { return }
        let progress = flows[partition]!.finish(request.record.offset, answers: answers)
        if !progress.released.isEmpty { transactions?.write(progress.released, epoch: epoch) }
        start(progress.start)
        updatePause(partition)
    }

    /// A request given up as the gateway stops: it stays unanswered (and uncommitted) for the partition's next
    /// owner, and draining no longer waits for it.
    private func abandoned(_ request: Request) {
        guard request.epoch == epoch else { return }
        flows[request.record.topicPartition]?.abandon(request.record.offset)
    }

    /// Pauses a partition that is full or whose server cannot be reached, and resumes it once neither holds.
    private func updatePause(_ partition: TopicPartition) {
        guard let consumer, let flow = flows[partition] else { return }
        let pause = flow.isFull || inputs[partition.topic]?.server.isAvailable == false
        guard pause != paused.contains(partition) else { return }
        do {
            if pause {
                try consumer.pause([partition])
                paused.insert(partition)
            } else {
                try consumer.resume([partition])
                paused.remove(partition)
            }
        } catch {
            logger.error("could not \(pause ? "pause" : "resume") a partition", metadata: ["partition": "\(partition)", "error": "\(error)"])
        }
    }

    private func serverAvailabilityChanged(_ name: String, available: Bool) {
        logger.log(level: available ? .info : .warning, available ? "server back: resuming its models" : "server unreachable: pausing its models", metadata: ["server": "\(name)"])
        for partition in flows.keys where inputs[partition.topic]?.server.spec.name == name {
            updatePause(partition)
        }
    }

    /// Waits until the requests in flight of `partitions` (all when `nil`) are answered, or the drain timeout.
    private func drain(_ partitions: Set<TopicPartition>?) async {
        let deadline = ContinuousClock.now + configuration.drainTimeout
        func busy() -> Int {
            flows.filter { partitions?.contains($0.key) ?? true }.reduce(0) { $0 + $1.value.inFlight }
        }
        while busy() > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        if busy() > 0 {
            logger.warning("requests still in flight after the drain timeout; the partitions' next owner answers them", metadata: ["requests": "\(busy())"])
        }
    }

    private func commit(_ consumer: KafkaConsumer, synchronously: Bool, only partitions: Set<TopicPartition>? = nil) async {
        if transactions != nil {
            await commitTransaction()
            return
        }
        var offsets: [TopicPartitionOffset] = []
        for (partition, flow) in flows where partitions?.contains(partition) ?? true {
            if let offset = flow.commitOffset { offsets.append(TopicPartitionOffset(partition, offset: offset)) }
        }
        guard !offsets.isEmpty else { return }
        do {
            if synchronously { try await consumer.commit(offsets) } else { try consumer.commitAsync(offsets) }
            for offset in offsets { flows[offset.topicPartition]?.markCommitted(offset.offset) }
        } catch {
            logger.warning("commit failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Transactions (exactly-once)

    /// Commits the open transaction with the offsets of every partition (its answers may be of any of them); an
    /// aborted one sends every partition back to its committed offset.
    private func commitTransaction() async {
        guard let transactions else { return }
        let offsets = flows.compactMap { partition, flow in flow.commitOffset.map { TopicPartitionOffset(partition, offset: $0) } }
        let epoch = self.epoch
        let outcome = await withCheckedContinuation { done in transactions.commit(offsets, epoch: epoch, done: done) }
        switch outcome {
        case .committed:
            guard epoch == self.epoch else { return }
            for offset in offsets { flows[offset.topicPartition]?.markCommitted(offset.offset) }
        case .aborted(let reason):
            logger.warning("transaction aborted; answering again from the committed offsets", metadata: ["reason": "\(reason)"])
            rewind(after: epoch)
        case .discarded:
            break
        }
    }

    /// Aborts the open transaction: it may hold answers of partitions this instance no longer owns.
    private func abortTransaction(reason: String) async {
        guard let transactions else { return }
        let epoch = self.epoch
        let outcome = await withCheckedContinuation { done in transactions.abort(reason: reason, epoch: epoch, done: done) }
        if case .aborted = outcome {
            logger.warning("transaction aborted; answering again from the committed offsets", metadata: ["reason": "\(reason)"])
            rewind(after: epoch)
        }
    }

    /// After the transaction of `aborted` was aborted: forgets what was fetched and answered since the last
    /// commit; the fetch loop moves every partition back to its committed offset before it polls again. (It may
    /// be called inside a poll, from a rebalance callback: the move cannot wait for that poll to end.)
    private func rewind(after aborted: Int) {
        guard aborted == epoch, let consumer else { return }
        epoch += 1
        for partition in flows.keys { flows[partition] = newFlow() }
        if !paused.isEmpty {
            try? consumer.resume(Array(paused))
            paused = []
        }
        rewindPending = true
    }

    // MARK: Rebalances

    public func partitionsAssigned(_ partitions: [TopicPartition]) async {
        for partition in partitions {
            flows[partition] = newFlow()
            updatePause(partition)
        }
    }

    /// Answers the requests in flight of the partitions going and commits them (under exactly-once, the whole
    /// transaction).
    public func partitionsRevoked(_ partitions: [TopicPartition]) async {
        for partition in partitions { flows[partition]?.hold() }
        await drain(Set(partitions))
        if let consumer { await commit(consumer, synchronously: true, only: Set(partitions)) }
        for partition in partitions {
            flows[partition] = nil
            paused.remove(partition)
        }
    }

    /// Partitions taken away without a revocation (this member was thrown out of the group): under exactly-once
    /// the open transaction is aborted, as it may hold their answers, and the other partitions start again from
    /// their committed offsets.
    public func partitionsLost(_ partitions: [TopicPartition]) async {
        for partition in partitions {
            flows[partition] = nil
            paused.remove(partition)
        }
        await abortTransaction(reason: "partitions lost: \(partitions.map(\.description).joined(separator: ", "))")
    }

    // MARK: Requests

    /// Takes one request to its answer or error record and reports it finished once that record is written.
    private nonisolated func answer(_ request: Request, _ producer: KafkaProducer) async {
        let started = ContinuousClock.now
        guard let outcome = await outcome(of: request) else {
            await abandoned(request)
            return
        }
        if transactions != nil {
            // Written by the transaction that commits the request's offset, once every earlier request is answered.
            let answer: KafkaProducerRecord
            switch outcome {
            case .answer(let record): answer = record
            case .failure(let reason): answer = errorRecord(for: request, reason: reason)
            }
            request.route?.record(failed: answer.topic == configuration.topics.errors, since: started)
            await finished(request, answers: [answer])
            return
        }
        var failure: String?
        switch outcome {
        case .answer(let answer):
            do {
                _ = try await producer.send(answer)
            } catch {
                failure = "the answer could not be written to \(answer.topic): \(error)"
            }
        case .failure(let reason):
            failure = reason
        }
        if let failure {
            // Neither answer nor error record: the request stays unfinished, so its offset is never committed
            // and the partition's next owner answers it.
            guard await writeError(errorRecord(for: request, reason: failure), producer) else {
                await abandoned(request)
                return
            }
        }
        request.route?.record(failed: failure != nil, since: started)
        await finished(request)
    }

    /// The record on the errors topic saying why `request` has no answer.
    private nonisolated func errorRecord(for request: Request, reason: String) -> KafkaProducerRecord {
        KafkaProducerRecord(
            topic: configuration.topics.errors,
            key: request.record.key,
            value: Array(reason.utf8),
            headers: request.record.headers.setting(DataflowHeaders.error, to: request.route?.model ?? request.record.topic),
            timestamp: Self.timestamp(of: request.record)
        )
    }

    /// An answer (or error record) carries its request's timestamp, as a stream processor's output carries its
    /// input's: joins downstream see the request's time, and a request answered again after a restart gives a
    /// record they recognise as the same.
    private static func timestamp(of request: KafkaConsumerRecord) -> Int64? {
        request.timestamp > 0 ? request.timestamp : nil
    }

    /// The answer record, or why there is none; `nil` when cancelled before either.
    private nonisolated func outcome(of request: Request) async -> Outcome? {
        let record = request.record
        guard let route = request.route else { return .failure(reason: "no server serves the model of topic \(record.topic)") }
        let message: Inference_ModelInferRequest
        do {
            message = try Inference_ModelInferRequest(serializedBytes: record.value ?? [])
        } catch {
            return .failure(reason: "the request is not a binary ModelInferRequest: \(error)")
        }
        let passed = record.headers.compactMap { header -> (name: String, value: String)? in
            guard DataflowHeaders.travels(header.key), let value = header.value else { return nil }
            return (header.key, String(decoding: value, as: UTF8.self))
        }
        do {
            let reply = try await route.server.infer(model: route.model, message, headers: passed)
            var headers = record.headers
            for header in reply.headers { headers = headers.setting(header.name, to: header.value) }
            return .answer(KafkaProducerRecord(
                topic: configuration.topics.modelOutputs(route.model), key: record.key, value: try reply.response.serializedBytes(), headers: headers,
                timestamp: Self.timestamp(of: record)
            ))
        } catch let failure as InferenceFailure {
            logger.debug("request failed", metadata: [
                "model": "\(route.model)", "offset": "\(record.offset)", "reason": "\(failure)",
                DataflowHeaders.requestID: "\(record.headers.string(DataflowHeaders.requestID) ?? "-")",
            ])
            return .failure(reason: failure.reason)
        } catch is CancellationError {
            return nil
        } catch {
            return .failure(reason: "\(error)")
        }
    }

    /// Writes an error record, trying again until it is written or the gateway stops: it must not be lost.
    /// Returns whether it was written.
    private nonisolated func writeError(_ record: KafkaProducerRecord, _ producer: KafkaProducer) async -> Bool {
        var attempt = 0
        while true {
            do {
                _ = try await producer.send(record)
                return true
            } catch {
                attempt += 1
                logger.error("could not write an error record", metadata: [
                    "topic": "\(record.topic)", "error": "\(error)",
                    DataflowHeaders.requestID: "\(record.headers.string(DataflowHeaders.requestID) ?? "-")",
                ])
                guard (error as? KafkaError)?.code != .closed, !Task.isCancelled else { return false }
                try? await Task.sleep(for: configuration.calls.retry.backoff(after: attempt))
            }
        }
    }
}

/// A model gateway configuration it cannot act on.
public struct ModelGatewayError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
