import CRdKafka
import Logging
import Metrics
import Synchronization

/// Owns one `rd_kafka_t` handle and the callback context it points to.
///
/// `@unchecked Sendable`: librdkafka's handle is thread-safe for every call StreamKit makes on it, and the
/// only mutable Swift state (whether the handle is destroyed) is atomic.
final class RDKafkaClient: @unchecked Sendable {
    enum Kind {
        case producer
        case consumer

        var rdKafkaType: rd_kafka_type_t { self == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER }
    }

    let kind: Kind
    let context: RDKafkaCallbackContext
    /// Runs this client's blocking calls off the cooperative pool.
    let blocking: BlockingExecutor
    /// The configured bootstrap servers, for error messages.
    let bootstrapServers: String
    private let handle: OpaquePointer
    private let unmanagedContext: Unmanaged<RDKafkaCallbackContext>
    private let destroyed = Atomic<Bool>(false)

    /// Creates the handle.
    ///
    /// - Throws: ``KafkaError/Code/invalidConfiguration`` naming the property when librdkafka rejects one.
    init(
        kind: Kind,
        properties: KafkaProperties,
        logger: Logger,
        statistics: (any MetricsFactory)?,
        rebalanceHandler: (any RDKafkaRebalanceHandler)? = nil,
        deliveryHandler: KafkaDeliveryHandler? = nil,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws(KafkaError) {
        let conf = try RDKafkaConfig.make(properties)
        let clientID = properties.last(where: { $0.key == "client.id" })?.value ?? "rdkafka"
        self.bootstrapServers = properties.last(where: { $0.key == "bootstrap.servers" })?.value ?? ""
        var logger = logger
        logger[metadataKey: KafkaLoggingKeys.client] = "\(clientID)"
        let context = RDKafkaCallbackContext(
            logger: logger,
            statistics: statistics.map { KafkaStatistics(client: clientID, factory: $0) },
            rebalanceHandler: rebalanceHandler,
            deliveryHandler: deliveryHandler
        )
        let unmanaged = Unmanaged.passRetained(context)
        rd_kafka_conf_set_opaque(conf, unmanaged.toOpaque())
        installCommonCallbacks(conf, statistics: statistics != nil)
        if kind == .consumer { installConsumerCallbacks(conf) }
        configure(conf)

        var errstr = [CChar](repeating: 0, count: 512)
        // rd_kafka_new takes ownership of conf only when it succeeds.
        guard let handle = rd_kafka_new(kind.rdKafkaType, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            unmanaged.release()
            let detail = String(cBuffer: errstr)
            throw KafkaError(code: .invalidConfiguration, message: "cannot create Kafka client: \(detail)")
        }
        if kind == .consumer { rd_kafka_poll_set_consumer(handle) }
        self.kind = kind
        self.handle = handle
        self.context = context
        self.unmanagedContext = unmanaged
        self.blocking = BlockingExecutor(label: "streamkit.kafka.\(clientID).blocking")
    }

    deinit {
        if !destroyed.load(ordering: .acquiring) {
            context.logger.debug("Kafka client released without close; destroying handle")
            destroyNow()
        }
    }

    /// Calls `body` with the handle.
    /// - Warning: Do not escape the pointer.
    func withHandle<T, E: Error>(_ body: (OpaquePointer) throws(E) -> T) throws(E) -> T {
        try body(handle)
    }

    var isDestroyed: Bool { destroyed.load(ordering: .acquiring) }

    /// Throws ``KafkaError/Code/closed`` once the handle is destroyed, or the client's fatal error.
    func checkUsable(_ what: String) throws(KafkaError) {
        if isDestroyed { throw KafkaError.closed(what) }
        if let fatal = context.fatalError { throw fatal }
    }

    /// Destroys the handle on a blocking thread; safe to call more than once.
    func destroy() async {
        await blocking.run { self.destroyNow() }
    }

    private func destroyNow() {
        guard destroyed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        rd_kafka_destroy(handle)
        unmanagedContext.release()
    }

    /// Fetches cluster metadata to prove a broker answers.
    ///
    /// - Throws: ``KafkaError/Code/brokerUnreachable`` naming the bootstrap servers when none answers in time.
    func ensureReachable(timeout: Duration) async throws {
        let timeoutMs = Int32(clamping: timeout.milliseconds)
        let error: KafkaError? = await blocking.run {
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let err = rd_kafka_metadata(self.handle, 0, nil, &metadata, timeoutMs)
            if let metadata { rd_kafka_metadata_destroy(metadata) }
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { return self.unreachable(err, timeout: timeout) }
            return nil
        }
        if let error { throw error }
    }

    /// An error saying no broker answered, with the last connection error librdkafka reported.
    func unreachable(_ err: rd_kafka_resp_err_t, timeout: Duration) -> KafkaError {
        var message = "no broker at \(bootstrapServers) answered within \(timeout)"
        if let last = context.lastBrokerError { message += " (last error: \(last))" }
        else { message += " (\(String(cString: rd_kafka_err2str(err))))" }
        return KafkaError(code: .brokerUnreachable, message: message, rdKafkaCode: err.rawValue)
    }
}
