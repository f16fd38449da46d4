import CRdKafka
import Logging
import Metrics
import Synchronization

/// Produces records to Kafka.
///
/// ``send(_:)`` returns once the broker has acknowledged the record; ``send(_:onDelivery:)`` returns as soon as
/// the record is queued, which is how to keep many records in flight. Both wait, without blocking a thread,
/// while the local queue is full. The producer is idempotent and compresses with LZ4 by default.
///
/// With a ``KafkaProducerConfiguration/transactionalID`` the producer is transactional: call
/// ``initTransactions(timeout:)`` once, then ``beginTransaction()``, sends, optionally
/// ``sendOffsetsToTransaction(_:groupMetadata:timeout:)``, and ``commitTransaction(timeout:)`` or
/// ``abortTransaction(timeout:)``. Errors say whether they are fatal, require an abort, or may be retried.
///
/// Call ``close(timeout:)`` when done; it delivers or fails every queued record before it returns.
public final class KafkaProducer: Sendable {
    private let client: RDKafkaClient
    private let context: RDKafkaCallbackContext
    private let poller: RDKafkaPollThread
    /// Whether `send` is still accepted, and the topic handles records are produced with (looking a topic up
    /// by name takes a write lock inside librdkafka for every record).
    private let state = Mutex(State())
    private let logger: Logger

    /// - Parameter deliveryHandler: receives the outcome of every record queued with ``enqueue(_:)``, on the
    ///   producer's poll thread or in a later `enqueue` (keep it short); without one, failures of such records
    ///   are logged.
    /// - Throws: ``KafkaError/Code/invalidConfiguration`` naming the property librdkafka rejects.
    public init(configuration: KafkaProducerConfiguration, logger: Logger, deliveryHandler: KafkaDeliveryHandler? = nil) throws {
        let client = try RDKafkaClient(
            kind: .producer,
            properties: configuration.properties,
            logger: logger,
            statistics: configuration.statisticsInterval.map { _ in configuration.metricsFactory ?? MetricsSystem.factory },
            deliveryHandler: deliveryHandler
        ) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
                guard let message, let tag = message.pointee._private, let opaque else { return }
                // The context outlives the handle; not retaining it per record keeps its reference count off the
                // hot path of two threads.
                Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque)._withUnsafeGuaranteedRef { context in
                    if let id = KafkaProducerMessageID(tag: tag) {
                        context.deliver(id, message)
                    } else {
                        Unmanaged<DeliveryCompletion>.fromOpaque(tag).takeRetainedValue().complete(message, context: context)
                    }
                    context.queueSpace.recordFreed()
                }
            }
        }
        self.client = client
        self.context = client.context
        self.logger = logger
        self.poller = RDKafkaPollThread(client: client, name: "streamkit-producer-poll")
    }

    /// Sends a record and waits until the broker has acknowledged it.
    ///
    /// - Returns: where the record was stored.
    /// - Throws: ``KafkaError/Code/messageTooLarge`` for a record over the producer's or the topic's limit,
    ///   ``KafkaError/Code/timedOut`` or ``KafkaError/Code/brokerUnreachable`` after
    ///   ``KafkaProducerConfiguration/deliveryTimeout``, ``KafkaError/Code/closed`` after ``close(timeout:)``.
    public func send(_ record: KafkaProducerRecord) async throws -> KafkaDeliveryReport {
        while true {
            do {
                return try await withCheckedThrowingContinuation { continuation in
                    let completion = DeliveryCompletion(topic: record.topic) { continuation.resume(with: $0) }
                    if case .failure(let error) = queue(record, completion) { continuation.resume(throwing: error) }
                }
            } catch let error as KafkaError where error.code == .queueFull {
                await waitForQueueSpace()
            }
        }
    }

    /// Queues a record and returns; `onDelivery` is called once with the outcome, on the producer's poll
    /// thread (keep it short).
    ///
    /// - Throws: errors that make the record unsendable at once (too large, closed); delivery failures go to
    ///   `onDelivery`.
    public func send(
        _ record: KafkaProducerRecord,
        onDelivery: @escaping @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void
    ) async throws {
        _ = try await queueWaitingForSpace(record, DeliveryCompletion(topic: record.topic, handler: onDelivery))
    }

    /// Queues a record and returns its id at once; its outcome goes to the producer's delivery handler
    /// (``init(configuration:logger:deliveryHandler:)``). The fastest way to keep many records in flight: no
    /// closure or continuation is made per record, and the calling thread serves the delivery reports waiting
    /// (of any record of this producer) before it returns, as librdkafka's own tools do.
    ///
    /// - Throws: errors that make the record unsendable at once (too large, closed); delivery failures go to the
    ///   delivery handler.
    public func enqueue(_ record: KafkaProducerRecord) async throws -> KafkaProducerMessageID {
        let sequence = try await queueWaitingForSpace(record, nil)
        poller.pollInline(after: sequence)
        return KafkaProducerMessageID(rawValue: sequence)
    }

    /// Waits until every queued record is delivered or failed.
    ///
    /// - Throws: ``KafkaError/Code/timedOut`` if records are still outstanding after `timeout`.
    public func flush(timeout: Duration = .seconds(30)) async throws {
        try client.checkUsable("producer")
        let client = self.client
        let err = try await client.blocking.run { () throws in
            try client.withHandle { rd_kafka_flush($0, Int32(clamping: timeout.milliseconds)) }
        }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let outstanding = try client.withHandle { rd_kafka_outq_len($0) }
            throw KafkaError(
                code: .timedOut,
                message: "flush: \(outstanding) record(s) still outstanding after \(timeout)",
                rdKafkaCode: err.rawValue
            )
        }
    }

    /// The number of records queued or in flight.
    public var outstanding: Int {
        (try? client.withHandle { Int(rd_kafka_outq_len($0)) }) ?? 0
    }

    /// Flushes for up to `timeout`, fails whatever is still outstanding, and releases the native handle.
    /// Every pending `send` has returned or thrown when this returns. Safe to call more than once.
    public func close(timeout: Duration = .seconds(30)) async {
        let wasAccepting = state.withLock { state in
            defer { state.accepting = false }
            return state.accepting
        }
        guard wasAccepting else { return }
        do {
            try await flush(timeout: timeout)
        } catch {
            logger.warning("closing producer with undelivered records", metadata: ["error": "\(error)"])
        }
        let client = self.client
        let poller = self.poller
        await client.blocking.run {
            try? client.withHandle { handle in
                rd_kafka_purge(handle, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
                // Serve the purged records' delivery reports so that every completion runs exactly once.
                while rd_kafka_outq_len(handle) > 0 { rd_kafka_poll(handle, 10) }
            }
            poller.stop()
        }
        state.withLock { state in
            for topic in state.topics.values { rd_kafka_topic_destroy(topic.pointer) }
            state.topics.removeAll()
            state.last = nil
        }
        context.queueSpace.close()
        await client.destroy()
    }

    // MARK: Transactions

    /// A transactional producer (its configuration names a `transactionalID`) ready to write: its transactions
    /// initialized, which fences any older producer with the same id, and one begun. Closed again if either fails.
    public static func transactional(configuration: KafkaProducerConfiguration, logger: Logger) async throws -> KafkaProducer {
        precondition(configuration.transactionalID != nil, "a transactional producer needs a transactional id")
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        do {
            try await producer.initTransactions()
            try producer.beginTransaction()
        } catch {
            await producer.close()
            throw error
        }
        return producer
    }

    /// Registers the transactional id with the broker and fences older producers with the same id.
    public func initTransactions(timeout: Duration = .seconds(30)) async throws {
        try await transactionCall("init transactions") { rd_kafka_init_transactions($0, Int32(clamping: timeout.milliseconds)) }
    }

    /// Starts a transaction; records sent from now on belong to it.
    public func beginTransaction() throws {
        try client.checkUsable("producer")
        if let error = try client.withHandle({ rd_kafka_begin_transaction($0) }) {
            throw KafkaError.transaction(error, context: "begin transaction")
        }
    }

    /// Adds consumed offsets to the current transaction: they are committed for the consumer's group if, and
    /// only if, the transaction commits.
    public func sendOffsetsToTransaction(
        _ offsets: [TopicPartitionOffset],
        groupMetadata: KafkaConsumerGroupMetadata,
        timeout: Duration = .seconds(30)
    ) async throws {
        let list = UncheckedSendableBox(RDKafkaTopicPartitionList(offsets))
        try await transactionCall("send offsets to transaction") { handle in
            withExtendedLifetime(groupMetadata) {
                rd_kafka_send_offsets_to_transaction(
                    handle,
                    list.value.pointer,
                    groupMetadata.pointer,
                    Int32(clamping: timeout.milliseconds)
                )
            }
        }
    }

    /// Flushes and commits the current transaction.
    public func commitTransaction(timeout: Duration = .seconds(30)) async throws {
        try await transactionCall("commit transaction") { rd_kafka_commit_transaction($0, Int32(clamping: timeout.milliseconds)) }
    }

    /// Aborts the current transaction; its records will not be visible to read_committed consumers.
    public func abortTransaction(timeout: Duration = .seconds(30)) async throws {
        try await transactionCall("abort transaction") { rd_kafka_abort_transaction($0, Int32(clamping: timeout.milliseconds)) }
    }

    private func transactionCall(
        _ what: String,
        _ call: @escaping @Sendable (OpaquePointer) -> OpaquePointer?
    ) async throws {
        try client.checkUsable("producer")
        let client = self.client
        let error = try await client.blocking.run { () throws in try client.withHandle { UncheckedSendableBox(call($0)) } }
        if let pointer = error.value { throw KafkaError.transaction(pointer, context: what) }
    }

    /// Calls `body` with the in-process mock cluster of a producer configured with `test.mock.num.brokers`,
    /// for tests that inject broker errors. Not API.
    func _testWithMockCluster<T>(_ body: (OpaquePointer) -> T) -> T? {
        (try? client.withHandle { handle in rd_kafka_handle_mock_cluster(handle).map(body) }) ?? nil
    }

    // MARK: Enqueueing

    private func waitForQueueSpace() async {
        await context.queueSpace.wait()
    }

    /// ``queue(_:_:)``, waiting for room in the local queue while it is full.
    private func queueWaitingForSpace(_ record: KafkaProducerRecord, _ completion: DeliveryCompletion?) async throws -> UInt64 {
        while true {
            switch queue(record, completion) {
            case .success(let sequence):
                return sequence
            case .failure(let error):
                guard error.code == .queueFull else { throw error }
                await waitForQueueSpace()
            }
        }
    }

    /// Hands the record to librdkafka with `completion`, or, without one, with its sequence number as the id
    /// the delivery handler gets. On success librdkafka owns `completion` until its delivery report.
    ///
    /// - Returns: the record's sequence number among the records queued.
    private func queue(_ record: KafkaProducerRecord, _ completion: DeliveryCompletion?) -> Result<UInt64, KafkaError> {
        if let fatal = context.fatalError { return .failure(fatal) }
        return (try? client.withHandle { handle in
            state.withLock { state in
                guard state.accepting else { return .failure(KafkaError.closed("producer")) }
                state.queued &+= 1
                let sequence = state.queued
                let opaque = completion.map { Unmanaged.passRetained($0).toOpaque() } ?? KafkaProducerMessageID(rawValue: sequence).tag
                let topic = state.topicHandle(record.topic, handle)
                if let error = produce(record, handle: handle, topic: topic, opaque: opaque) {
                    if completion != nil { Unmanaged<DeliveryCompletion>.fromOpaque(opaque).release() }
                    return .failure(error)
                }
                return .success(sequence)
            }
        }) ?? .failure(KafkaError.closed("producer"))
    }
}

extension KafkaProducer {
    struct State: ~Copyable {
        var accepting = true
        /// How many records were handed to librdkafka (or tried): the last one's sequence number.
        var queued: UInt64 = 0
        var topics: [String: TopicHandle] = [:]
        /// The topic of the last record, which the next one most often shares.
        var last: (name: String, topic: TopicHandle)?

        /// The cached `rd_kafka_topic_t` for `name`; `nil` if librdkafka refuses the name (then `produceva`
        /// with the name reports why).
        mutating func topicHandle(_ name: String, _ handle: OpaquePointer) -> OpaquePointer? {
            if let last, last.name == name { return last.topic.pointer }
            if let topic = topics[name] {
                last = (name, topic)
                return topic.pointer
            }
            guard let pointer = rd_kafka_topic_new(handle, name, nil) else { return nil }
            let topic = TopicHandle(pointer: pointer)
            topics[name] = topic
            last = (name, topic)
            return pointer
        }
    }

    /// `@unchecked Sendable`: an `rd_kafka_topic_t` is reference-counted and thread-safe in librdkafka.
    struct TopicHandle: @unchecked Sendable {
        let pointer: OpaquePointer
    }
}

/// Calls `rd_kafka_produceva` with pointers that stay valid for the call; librdkafka copies key, value and
/// headers.
private func produce(
    _ record: KafkaProducerRecord,
    handle: OpaquePointer,
    topic topicHandle: OpaquePointer?,
    opaque: UnsafeMutableRawPointer
) -> KafkaError? {
    if let topicHandle, record.headers.isEmpty, record.timestamp == nil {
        return produceSimple(record, topic: topicHandle, opaque: opaque)
    }
    var headers: OpaquePointer? = nil
    if !record.headers.isEmpty {
        let list = rd_kafka_headers_new(record.headers.count)!
        for header in record.headers {
            if let value = header.value {
                value.withUnsafeBytes { _ = rd_kafka_header_add(list, header.key, -1, $0.baseAddress ?? emptyBytes, $0.count) }
            } else {
                rd_kafka_header_add(list, header.key, -1, nil, 0)
            }
        }
        headers = list
    }
    let error: OpaquePointer? = record.topic.withCString { topic in
        withOptionalBytes(record.key) { key in
            withOptionalBytes(record.value) { value in
                withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 8) { vus in
                    var count = 0
                    func add(_ type: rd_kafka_vtype_t, _ fill: (inout rd_kafka_vu_t) -> Void) {
                        var vu = rd_kafka_vu_t()
                        vu.vtype = type
                        fill(&vu)
                        vus[count] = vu
                        count += 1
                    }
                    if let topicHandle {
                        add(RD_KAFKA_VTYPE_RKT) { $0.u.rkt = topicHandle }
                    } else {
                        add(RD_KAFKA_VTYPE_TOPIC) { $0.u.cstr = topic }
                    }
                    add(RD_KAFKA_VTYPE_MSGFLAGS) { $0.u.i = RD_KAFKA_MSG_F_COPY }
                    if let key { add(RD_KAFKA_VTYPE_KEY) { $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress ?? emptyBytes); $0.u.mem.size = key.count } }
                    if let value { add(RD_KAFKA_VTYPE_VALUE) { $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress ?? emptyBytes); $0.u.mem.size = value.count } }
                    if let partition = record.partition { add(RD_KAFKA_VTYPE_PARTITION) { $0.u.i32 = partition } }
                    if let timestamp = record.timestamp { add(RD_KAFKA_VTYPE_TIMESTAMP) { $0.u.i64 = timestamp } }
                    if let headers { add(RD_KAFKA_VTYPE_HEADERS) { $0.u.headers = headers } }
                    add(RD_KAFKA_VTYPE_OPAQUE) { $0.u.ptr = opaque }
                    return rd_kafka_produceva(handle, vus.baseAddress, count)
                }
            }
        }
    }
    guard let error else { return nil }
    // On failure the headers are still ours.
    if let headers { rd_kafka_headers_destroy(headers) }
    let code = rd_kafka_error_code(error)
    if code == RD_KAFKA_RESP_ERR__QUEUE_FULL {
        rd_kafka_error_destroy(error)
        return .queueFull
    }
    return KafkaError.consuming(error, context: "send to \(record.topic)")
}

/// Calls `rd_kafka_produce`, cheaper than `rd_kafka_produceva`, for a record without headers or timestamp.
private func produceSimple(_ record: KafkaProducerRecord, topic: OpaquePointer, opaque: UnsafeMutableRawPointer) -> KafkaError? {
    let result = withOptionalBytes(record.key) { key in
        withOptionalBytes(record.value) { value in
            rd_kafka_produce(
                topic, record.partition ?? RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                value.map { UnsafeMutableRawPointer(mutating: $0.baseAddress ?? emptyBytes) }, value?.count ?? 0,
                key.map { $0.baseAddress ?? emptyBytes }, key?.count ?? 0,
                opaque
            )
        }
    }
    guard result != 0 else { return nil }
    let err = rd_kafka_last_error()
    if err == RD_KAFKA_RESP_ERR__QUEUE_FULL { return .queueFull }
    return KafkaError.rdKafka(err, context: "send to \(record.topic)")
}

/// A non-null address for empty keys and values: Kafka tells an empty value from a null one.
private nonisolated(unsafe) let emptyBytes = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1))

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}

/// The completion of one produced record, owned by librdkafka between enqueue and delivery report.
final class DeliveryCompletion: Sendable {
    let topic: String
    let handler: @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void

    init(topic: String, handler: @escaping @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void) {
        self.topic = topic
        self.handler = handler
    }

    func complete(_ message: UnsafePointer<rd_kafka_message_t>, context: RDKafkaCallbackContext) {
        handler(Self.outcome(of: message, topic: topic, context: context))
    }

    /// Where the record of a delivery report was stored, or why it was not.
    @inline(__always)
    static func outcome(
        of message: UnsafePointer<rd_kafka_message_t>,
        topic: String,
        context: RDKafkaCallbackContext
    ) -> Result<KafkaDeliveryReport, KafkaError> {
        let err = message.pointee.err
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            var error = KafkaError.rdKafka(err, context: "delivery to \(topic)")
            error.code = error.code == .other ? .delivery : error.code
            if error.code == .timedOut, let last = context.lastBrokerError {
                error.code = .brokerUnreachable
                error.message += " (last broker error: \(last))"
            }
            return .failure(error)
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        return .success(
            KafkaDeliveryReport(
                topic: topic,
                partition: message.pointee.partition,
                offset: message.pointee.offset,
                timestamp: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp
            )
        )
    }
}

extension KafkaError {
    /// The local queue is full: the record was not taken; it can be sent again once room is freed.
    static let queueFull = KafkaError(
        code: .queueFull, message: "producer queue full", rdKafkaCode: RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue, isRetriable: true
    )

    static func transaction(_ error: OpaquePointer, context: String) -> KafkaError {
        var result = KafkaError.consuming(error, context: context)
        result.code = result.isFatal ? .fatal : .transaction
        return result
    }
}

extension RDKafkaCallbackContext {
    /// Hands the outcome of a record queued with ``KafkaProducer/enqueue(_:)`` to the delivery handler.
    func deliver(_ id: KafkaProducerMessageID, _ message: UnsafePointer<rd_kafka_message_t>) {
        let topic = String(cString: rd_kafka_topic_name(message.pointee.rkt))
        let outcome = DeliveryCompletion.outcome(of: message, topic: topic, context: self)
        if deliveryHandler != nil {
            deliveryHandler?(id, outcome)
        } else if case .failure(let error) = outcome {
            logger.warning("record not delivered", metadata: ["id": "\(id)", "error": "\(error)"])
        }
    }
}
