import CRdKafka
import Logging
import Synchronization

/// Receives a consumer group's rebalance events on the consumer's poll thread.
protocol RDKafkaRebalanceHandler: Sendable {
    /// Applies the new assignment (assign/unassign) before returning; may block the poll thread meanwhile.
    func rebalance(
        _ handle: OpaquePointer,
        _ event: rd_kafka_resp_err_t,
        _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    )
}

/// State that librdkafka's callbacks reach through the handle's opaque pointer. It lives until the handle has
/// been destroyed; callbacks only log, record or hand work to their owner, never touch actors.
final class RDKafkaCallbackContext: Sendable {
    let logger: Logger
    let statistics: KafkaStatistics?
    let rebalanceHandler: (any RDKafkaRebalanceHandler)?
    /// Producers: the outcome of records queued without a completion of their own.
    let deliveryHandler: KafkaDeliveryHandler?
    /// Producers: tasks waiting for room in the local queue, woken as delivery reports free it.
    let queueSpace = QueueSpaceWaiters()
    /// Consumers with separate partition queues: signalled when records or events arrive in an empty queue.
    let arrivals = Wakeup()
    private let state = Mutex(State())
    private let failed = Atomic<Bool>(false)

    private struct State {
        var lastBrokerError: String?
        var fatalError: KafkaError?
    }

    init(
        logger: Logger,
        statistics: KafkaStatistics?,
        rebalanceHandler: (any RDKafkaRebalanceHandler)?,
        deliveryHandler: KafkaDeliveryHandler? = nil
    ) {
        self.logger = logger
        self.statistics = statistics
        self.rebalanceHandler = rebalanceHandler
        self.deliveryHandler = deliveryHandler
    }

    /// The last transport-level error (e.g. a refused connection), to explain timeouts.
    var lastBrokerError: String? { state.withLock { $0.lastBrokerError } }

    /// A fatal error the client reported; once set, the client cannot be used any more.
    var fatalError: KafkaError? {
        // Checked for every produced record: the common case costs one relaxed load, not a lock.
        guard failed.load(ordering: .acquiring) else { return nil }
        return state.withLock { $0.fatalError }
    }

    fileprivate func error(_ handle: OpaquePointer?, code: Int32, reason: String) {
        let err = rd_kafka_resp_err_t(code)
        switch err {
        case RD_KAFKA_RESP_ERR__FATAL:
            var buffer = [CChar](repeating: 0, count: 512)
            let original = handle.map { rd_kafka_fatal_error($0, &buffer, buffer.count) } ?? err
            let text = String(cBuffer: buffer)
            let fatal = KafkaError(
                code: .fatal,
                message: text.isEmpty ? reason : text,
                rdKafkaCode: original.rawValue,
                isFatal: true
            )
            state.withLock { $0.fatalError = fatal }
            failed.store(true, ordering: .releasing)
            logger.error("fatal Kafka client error", metadata: ["error": "\(fatal.message)"])
        case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__RESOLVE:
            state.withLock { $0.lastBrokerError = reason }
            logger.warning("Kafka broker connection error", metadata: ["error": "\(reason)"])
        default:
            logger.error("Kafka client error", metadata: ["error": "\(reason)", "code": "\(code)"])
        }
    }
}

/// Installs the callbacks every client uses (logs, errors, statistics) on `conf`.
func installCommonCallbacks(_ conf: OpaquePointer, statistics: Bool) {
    rd_kafka_conf_set_log_cb(conf) { handle, level, facility, message in
        guard let handle, let context = callbackContext(handle) else { return }
        let text = message.map { String(cString: $0) } ?? ""
        let facilityText = facility.map { String(cString: $0) } ?? ""
        context.logger.log(
            level: Logger.Level(syslogLevel: level),
            "\(text)",
            metadata: [KafkaLoggingKeys.facility: "\(facilityText)"]
        )
    }
    rd_kafka_conf_set_error_cb(conf) { handle, code, reason, opaque in
        guard let opaque else { return }
        let context = Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
        context.error(handle, code: code, reason: reason.map { String(cString: $0) } ?? "")
    }
    if statistics {
        rd_kafka_conf_set_stats_cb(conf) { _, json, length, opaque in
            guard let opaque, let json else { return 0 }
            let context = Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
            json.withMemoryRebound(to: UInt8.self, capacity: length) {
                context.statistics?.record(json: UnsafeBufferPointer(start: $0, count: length))
            }
            return 0
        }
    }
}

/// Installs the consumer's rebalance and asynchronous-commit callbacks on `conf`.
func installConsumerCallbacks(_ conf: OpaquePointer) {
    rd_kafka_conf_set_rebalance_cb(conf) { handle, event, partitions, opaque in
        guard let handle, let partitions, let opaque else { return }
        let context = Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
        if let handler = context.rebalanceHandler {
            handler.rebalance(handle, event, partitions)
        }
    }
    rd_kafka_conf_set_offset_commit_cb(conf) { _, err, offsets, opaque in
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR, err != RD_KAFKA_RESP_ERR__NO_OFFSET, let opaque else { return }
        let context = Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
        let partitions = offsets.map { RDKafkaTopicPartitionList(borrowing: $0).elements.map(\.offset.description) }
        context.logger.warning(
            "asynchronous offset commit failed",
            metadata: ["error": "\(String(cString: rd_kafka_err2str(err)))", "offsets": "\(partitions ?? [])"]
        )
    }
}

private func callbackContext(_ handle: OpaquePointer) -> RDKafkaCallbackContext? {
    guard let opaque = rd_kafka_opaque(handle) else { return nil }
    return Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
}
