/// How a windowed operation folds values: the first value of a window starts its result, later ones are added,
/// and two sessions' results merge when a record joins them.
struct WindowAggregation<Key: Sendable, Value: Sendable, Result: Sendable>: Sendable {
    var start: @Sendable (Key, Value) async throws -> Result
    var add: @Sendable (Key, Value, Result) async throws -> Result
    var merge: @Sendable (Key, Result, Result) async throws -> Result
}

extension WindowAggregation where Result == Int64 {
    static var counting: WindowAggregation {
        WindowAggregation(start: { _, _ in 1 }, add: { _, _, count in count + 1 }, merge: { _, a, b in a + b })
    }
}

extension WindowAggregation where Result == Value {
    static func reducing(_ reducer: @escaping @Sendable (Value, Value) async throws -> Value) -> WindowAggregation {
        WindowAggregation(
            start: { _, value in value },
            add: { _, value, current in try await reducer(current, value) },
            merge: { _, a, b in try await reducer(a, b) }
        )
    }
}

extension WindowAggregation {
    static func aggregating(
        _ initializer: @escaping @Sendable () -> Result,
        _ aggregator: @escaping @Sendable (Key, Value, Result) async throws -> Result,
        merger: @escaping @Sendable (Key, Result, Result) async throws -> Result = { _, a, _ in a }
    ) -> WindowAggregation {
        WindowAggregation(
            start: { key, value in try await aggregator(key, value, initializer()) },
            add: { key, value, current in try await aggregator(key, value, current) },
            merge: merger
        )
    }
}

/// The wall-clock deadline and closing rules shared by windowed operations.
struct WindowEmission: Sendable {
    var strategy: EmitStrategy
    /// The deadline used when the strategy leaves it to the window (its size plus grace).
    var defaultDeadline: Int64

    var emitsFinal: Bool {
        if case .onWindowClose = strategy { return true }
        return false
    }

    var deadline: Int64 {
        if case .onWindowClose(let given?) = strategy { return given.wholeMilliseconds }
        return defaultDeadline
    }
}

/// A window of one key, by the key's bytes (so that any key type can be scheduled).
struct WindowRef: Hashable {
    var key: [UInt8]
    var start: Int64
}
