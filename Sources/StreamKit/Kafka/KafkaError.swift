import CRdKafka

/// An error from StreamKit's Kafka clients.
///
/// Inspect ``code`` to decide what to do; the flags carry librdkafka's own classification, which matters most
/// for transactions: a ``isFatal`` error means the producer must be closed, ``requiresAbort`` means the current
/// transaction must be aborted, ``isRetriable`` means the same call may simply be repeated.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// What went wrong. New codes may be added without breaking callers' `switch` statements.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidConfiguration
            case brokerUnreachable
            case timedOut
            case messageTooLarge
            case queueFull
            case delivery
            case transaction
            case topicAlreadyExists
            case unknownTopic
            case consumer
            case admin
            case closed
            case fatal
            case other
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A configuration property is unknown or has an invalid value (see ``KafkaError/property``).
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// No broker could be reached within the configured time.
        public static let brokerUnreachable = Code(.brokerUnreachable)
        /// An operation did not complete within its timeout.
        public static let timedOut = Code(.timedOut)
        /// A record is larger than the producer's or the topic's limit.
        public static let messageTooLarge = Code(.messageTooLarge)
        /// The producer's local queue is full.
        public static let queueFull = Code(.queueFull)
        /// A record could not be delivered.
        public static let delivery = Code(.delivery)
        /// A transactional operation failed; see the flags for what to do next.
        public static let transaction = Code(.transaction)
        /// A topic to be created exists already.
        public static let topicAlreadyExists = Code(.topicAlreadyExists)
        /// A topic or partition does not exist.
        public static let unknownTopic = Code(.unknownTopic)
        /// The consumer reported an error.
        public static let consumer = Code(.consumer)
        /// An admin operation failed.
        public static let admin = Code(.admin)
        /// The client has been closed.
        public static let closed = Code(.closed)
        /// The client hit a fatal error and cannot be used any more.
        public static let fatal = Code(.fatal)
        /// Any other librdkafka error (see ``KafkaError/rdKafkaCode``).
        public static let other = Code(.other)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    /// The configuration property an ``Code/invalidConfiguration`` error is about.
    public var property: String?
    /// librdkafka's `rd_kafka_resp_err_t` value, when the error came from librdkafka.
    public var rdKafkaCode: Int32?
    public var isFatal: Bool
    public var isRetriable: Bool
    /// The current transaction must be aborted (librdkafka's "abortable" errors).
    public var requiresAbort: Bool

    public init(
        code: Code,
        message: String,
        property: String? = nil,
        rdKafkaCode: Int32? = nil,
        isFatal: Bool = false,
        isRetriable: Bool = false,
        requiresAbort: Bool = false
    ) {
        self.code = code
        self.message = message
        self.property = property
        self.rdKafkaCode = rdKafkaCode
        self.isFatal = isFatal
        self.isRetriable = isRetriable
        self.requiresAbort = requiresAbort
    }

    public var description: String {
        var flags: [String] = []
        if isFatal { flags.append("fatal") }
        if requiresAbort { flags.append("abortable") }
        if isRetriable { flags.append("retriable") }
        let suffix = flags.isEmpty ? "" : " [\(flags.joined(separator: ", "))]"
        return "KafkaError.\(code): \(message)\(suffix)"
    }
}

extension KafkaError {
    /// Translates a librdkafka response code.
    static func rdKafka(_ err: rd_kafka_resp_err_t, context: String? = nil) -> KafkaError {
        let text = String(cString: rd_kafka_err2str(err))
        let message = context.map { "\($0): \(text)" } ?? text
        return KafkaError(code: Code(err), message: message, rdKafkaCode: err.rawValue)
    }

    /// Translates and destroys a librdkafka error object.
    static func consuming(_ error: OpaquePointer, code: Code? = nil, context: String? = nil) -> KafkaError {
        defer { rd_kafka_error_destroy(error) }
        let err = rd_kafka_error_code(error)
        let text = String(cString: rd_kafka_error_string(error))
        return KafkaError(
            code: code ?? Code(err),
            message: context.map { "\($0): \(text)" } ?? text,
            rdKafkaCode: err.rawValue,
            isFatal: rd_kafka_error_is_fatal(error) != 0,
            isRetriable: rd_kafka_error_is_retriable(error) != 0,
            requiresAbort: rd_kafka_error_txn_requires_abort(error) != 0
        )
    }

    static func closed(_ what: String) -> KafkaError {
        KafkaError(code: .closed, message: "\(what) has been closed")
    }
}

extension KafkaError.Code {
    init(_ err: rd_kafka_resp_err_t) {
        switch err {
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
            self = .messageTooLarge
        case RD_KAFKA_RESP_ERR__QUEUE_FULL:
            self = .queueFull
        case RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
            self = .timedOut
        case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__RESOLVE:
            self = .brokerUnreachable
        case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
            self = .topicAlreadyExists
        case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
            self = .unknownTopic
        case RD_KAFKA_RESP_ERR__FATAL, RD_KAFKA_RESP_ERR__FENCED, RD_KAFKA_RESP_ERR_PRODUCER_FENCED,
            RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
            self = .fatal
        default:
            self = .other
        }
    }
}
