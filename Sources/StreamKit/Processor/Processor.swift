/// A step of a topology written by hand, for what the DSL cannot say.
///
/// One instance exists per task, created by the supplier given to ``KStream/process(named:stores:_:)``; the task
/// calls ``initialize(context:)`` once, ``process(_:)`` for each record, and ``close()`` when the task closes.
/// All calls run on the task's actor, so a processor needs no locks; `process` may `await` (an HTTP call, a
/// model), and while it waits the task may process records of *other* keys through the same instance.
public protocol Processor<InKey, InValue, OutKey, OutValue>: AnyObject, SendableMetatype {
    associatedtype InKey: Sendable
    associatedtype InValue: Sendable
    associatedtype OutKey: Sendable
    associatedtype OutValue: Sendable

    /// Called once before the first record: keep the context to forward records, open stores and schedule
    /// punctuators.
    func initialize(context: ProcessorContext<OutKey, OutValue>) throws
    /// Handles one record; forward results through the context. A thrown error goes to the application's
    /// processing error handler.
    func process(_ record: Record<InKey, InValue>) async throws
    /// Called once when the task closes (rebalance, shutdown, restart). Forwarding is no longer possible.
    func close() async
}

extension Processor {
    public func initialize(context: ProcessorContext<OutKey, OutValue>) throws {}
    public func close() async {}
}

/// How a punctuator's schedule advances.
public enum PunctuationType: String, Sendable, Hashable {
    /// By the task's stream time: the largest record timestamp it has processed. Stops when no data arrives.
    case streamTime
    /// By the wall clock, whether data arrives or not.
    case wallClockTime
}

/// Cancels a scheduled punctuator.
public struct Cancellable: Sendable {
    private let body: @Sendable () -> Void
    package init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    public func cancel() { body() }
}
