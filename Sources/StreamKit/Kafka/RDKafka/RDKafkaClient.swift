import CRdKafka
import Logging
import Metrics
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Owns one `rd_kafka_t` handle and the callback context it points to.
///
/// `@unchecked Sendable`: librdkafka's handle is thread-safe for every call StreamKit makes on it, and the
/// only mutable Swift state (the handle's users, whether it is being destroyed) is atomic.
///
/// Every call reaches the handle through ``withHandle(_:)``, which leases it for the call: ``destroy()`` waits
/// for the leases out, and no lease is granted once it has begun, so no call runs into a destroyed handle
/// (a consumer polled, or offsets read, on another thread while the client is destroyed).
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
    /// The number of calls using the handle, plus ``destroying`` once destruction has begun.
    private let leases = Atomic<Int>(0)
    private static let destroying = 1 << 40

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
        if !isDestroyed {
            context.logger.debug("Kafka client released without close; destroying handle")
            destroyNow()
        }
    }

    /// Calls `body` with the handle, which stays valid until `body` returns.
    /// - Throws: ``KafkaError/Code/closed`` once the handle is being destroyed, or what `body` throws.
    /// - Warning: Do not escape the pointer.
    func withHandle<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        guard leases.wrappingAdd(1, ordering: .acquiring).newValue & Self.destroying == 0 else {
            leases.wrappingSubtract(1, ordering: .releasing)
            throw KafkaError.closed("Kafka client")
        }
        defer { leases.wrappingSubtract(1, ordering: .releasing) }
        return try body(handle)
    }

    /// Whether destruction of the handle has begun.
    var isDestroyed: Bool { leases.load(ordering: .acquiring) & Self.destroying != 0 }

    /// Throws ``KafkaError/Code/closed`` once the handle is destroyed, or the client's fatal error.
    func checkUsable(_ what: String) throws(KafkaError) {
        if isDestroyed { throw KafkaError.closed(what) }
        if let fatal = context.fatalError { throw fatal }
    }

    /// Destroys the handle on a blocking thread; safe to call more than once.
    func destroy() async {
        await blocking.run { self.destroyNow() }
    }

    /// Stops granting leases, waits for the calls holding one to return, and destroys the handle. Blocks.
    private func destroyNow() {
        guard leases.bitwiseOr(Self.destroying, ordering: .acquiringAndReleasing).oldValue & Self.destroying == 0
        else { return }
        while leases.load(ordering: .acquiring) != Self.destroying { usleep(1_000) }
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
            let err: rd_kafka_resp_err_t
            do { err = try self.withHandle { rd_kafka_metadata($0, 0, nil, &metadata, timeoutMs) } }
            catch { return error as? KafkaError ?? KafkaError.closed("client") }
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
