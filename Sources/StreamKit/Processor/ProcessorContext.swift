import Logging

/// What a processor may do besides receiving records: forward to its children, use its stores, schedule
/// punctuators, and read the task's clocks.
///
/// Valid from ``Processor/initialize(context:)`` until ``Processor/close()``; use it only from the processor's
/// own calls (it belongs to the task's actor).
public struct ProcessorContext<Key: Sendable, Value: Sendable> {
    let node: ProcessorNodeContext

    init(node: ProcessorNodeContext) { self.node = node }

    /// The task this processor instance belongs to.
    public var taskID: TaskID { node.task.id }
    /// The application (consumer group) running the topology.
    public var applicationID: String { node.task.applicationID }
    /// The largest record timestamp the task has processed, or `Int64.min` before the first record.
    public var streamTime: Int64 { node.task.streamTime }
    /// The task's wall clock, in milliseconds since the epoch (the test driver's when run under it).
    public var wallClockTime: Int64 { node.task.clock.now() }
    /// A logger with the task id in its metadata.
    public var logger: Logger { node.task.logger }

    /// Sends a record to every child of this processor, or only to the child named `child`.
    ///
    /// Returns once the children (and their children) have handled it.
    public func forward(_ record: Record<Key, Value>, to child: String? = nil) async throws {
        try await node.forward(AnyRecord(record), to: child)
    }

    /// The key-value store named `name`, which must be connected to this processor in the topology.
    ///
    /// - Throws: ``TopologyError`` if the store is unknown, not connected to this processor, or of other types.
    public func keyValueStore<K, V>(named name: String, as _: (K.Type, V.Type) = (K.self, V.self)) throws -> KeyValueStore<K, V> {
        try store(named: name)
    }

    /// The window store named `name`, which must be connected to this processor in the topology.
    public func windowStore<K, V>(named name: String, as _: (K.Type, V.Type) = (K.self, V.self)) throws -> WindowStore<K, V> {
        try store(named: name)
    }

    /// The session store named `name`, which must be connected to this processor in the topology.
    public func sessionStore<K, V>(named name: String, as _: (K.Type, V.Type) = (K.self, V.self)) throws -> SessionStore<K, V> {
        try store(named: name)
    }

    private func store<S: StateStore>(named name: String) throws -> S {
        let store = try node.store(named: name)
        guard let typed = store as? S else {
            throw TopologyError(node: node.name, reason: "store '\(name)' is a \(type(of: store)), not a \(S.self)")
        }
        return typed
    }

    /// Counts a record dropped because the windows it belongs to have closed.
    func recordLateDrop(_ record: RecordMetadata?) {
        node.task.metrics.lateRecordsDropped.increment()
        node.task.logger.debug("late record dropped", metadata: ["node": "\(node.name)", "source": "\(record.map { "\($0)" } ?? "-")"])
    }

    /// Runs `punctuator` every `interval` of stream time or wall-clock time, with the time it fires at.
    ///
    /// A stream-time punctuator fires when processing advances stream time past its next due time (once, even if
    /// several intervals passed); a wall-clock punctuator fires on the task's timer.
    @discardableResult
    public func schedule(
        every interval: Duration,
        on type: PunctuationType,
        _ punctuator: @escaping (Int64) async throws -> Void
    ) -> Cancellable {
        node.task.punctuation.schedule(every: interval, on: type, node: node.name, now: now(for: type), punctuator)
    }

    private func now(for type: PunctuationType) -> Int64 {
        type == .streamTime ? node.task.streamTime : node.task.clock.now()
    }
}
