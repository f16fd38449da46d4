/// How a windowed operation folds values: the first value of a window starts its result, later ones are added,
/// and two sessions' results merge when a record joins them.
struct WindowAggregation<Key: Sendable, Value: Sendable, Result: Sendable>: Sendable {
    var start: @Sendable (Key, Value) async throws -> Result
    var add: @Sendable (Key, Value, Result) async throws -> Result
    var merge: @Sendable (Key, Result, Result) async throws -> Result
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
