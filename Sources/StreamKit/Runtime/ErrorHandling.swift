/// What the application does with a record that cannot be read, processed or written.
public struct ErrorHandling: Sendable {
    /// The response to one kind of failure.
    public enum Response: Sendable, Hashable {
        /// The task fails; see ``StreamsConfiguration/taskFailure`` for what happens next. Nothing is committed
        /// past the record, so it is retried after a restart.
        case fail
        /// The record is logged (at warning level, with where it came from and why) and skipped.
        case logAndContinue
        /// The record goes to `topic` with headers naming its origin and the reason, and the stream goes on.
        case deadLetter(topic: String)
    }

    /// A key or value the source's serde cannot read. Default: ``Response/fail``.
    public var deserialization: Response = .fail
    /// A processor (or DSL function) threw. Default: ``Response/fail``.
    public var processing: Response = .fail
    /// The broker refused an output record (too large, unknown topic, …). Default: ``Response/fail``.
    public var production: Response = .fail
    /// Headers of a failed record whose values go into the lines logged about it (a request id), so that
    /// they can be found by what the record belongs to. Default: none.
    public var loggedHeaders: [String] = []

    public init(deserialization: Response = .fail, processing: Response = .fail, production: Response = .fail) {
        self.deserialization = deserialization
        self.processing = processing
        self.production = production
    }

    /// Every failure goes to `topic`.
    public static func deadLetter(_ topic: String) -> ErrorHandling {
        ErrorHandling(deserialization: .deadLetter(topic: topic), processing: .deadLetter(topic: topic), production: .deadLetter(topic: topic))
    }
}

/// Where in a task a record failed.
public enum FailureStage: String, Sendable, Hashable {
    case deserialization
    case processing
    case production
    /// The task's output or stores could not be made durable when it committed.
    case commit
}

/// The headers of a dead-letter record.
public enum DeadLetterHeaders {
    public static let stage = "streamkit.error.stage"
    public static let reason = "streamkit.error.reason"
    public static let topic = "streamkit.error.topic"
    public static let partition = "streamkit.error.partition"
    public static let offset = "streamkit.error.offset"
    public static let application = "streamkit.error.application"
    public static let task = "streamkit.error.task"

    static func make(stage: FailureStage, reason: String, source: RecordMetadata?, applicationID: String, task: TaskID) -> [KafkaHeader] {
        var headers = [
            KafkaHeader(key: Self.stage, value: stage.rawValue),
            KafkaHeader(key: Self.reason, value: reason),
            KafkaHeader(key: application, value: applicationID),
            KafkaHeader(key: Self.task, value: task.description),
        ]
        if let source {
            headers += [
                KafkaHeader(key: topic, value: source.topic),
                KafkaHeader(key: partition, value: String(source.partition)),
                KafkaHeader(key: offset, value: String(source.offset)),
            ]
        }
        return headers
    }
}

/// A task stopped because a handler answered ``ErrorHandling/Response/fail``.
public struct TaskFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public var task: TaskID
    public var stage: FailureStage
    public var source: RecordMetadata?
    public var reason: String

    public var description: String {
        "task \(task) failed in \(stage)" + (source.map { " at \($0)" } ?? "") + ": \(reason)"
    }
}
