/// A grouped stream over time windows (tumbling, hopping or sliding): count, reduce or aggregate per key and
/// window. Results are a stream of `Windowed` keys and their current (or final) values.
public struct TimeWindowedKStream<Key: Sendable, Value: Sendable> {
    enum Windows {
        case time(TimeWindows)
        case sliding(SlidingWindows)
    }

    let grouped: KGroupedStream<Key, Value>
    let windows: Windows

    /// The number of records per key and window.
    public func count(named name: String? = nil, materialized: Materialized = .persistent(), emit: EmitStrategy = .onWindowUpdate) -> KStream<Windowed<Key>, Int64> {
        build("COUNT", name, materialized, emit, serde: .bigEndian, .counting)
    }

    /// Combines each window's values with `reducer`, the first value as the start.
    public func reduce(
        named name: String? = nil,
        materialized: Materialized = .persistent(),
        emit: EmitStrategy = .onWindowUpdate,
        _ reducer: @escaping @Sendable (Value, Value) async throws -> Value
    ) -> KStream<Windowed<Key>, Value> {
        build("REDUCE", name, materialized, emit, serde: grouped.valueSerde, .reducing(reducer))
    }

    /// Folds each window's values into a result that starts at `initializer()`.
    public func aggregate<Result: Sendable>(
        named name: String? = nil,
        materialized: Materialized = .persistent(),
        emit: EmitStrategy = .onWindowUpdate,
        serde: Serde<Result>,
        initializer: @escaping @Sendable () -> Result,
        _ aggregator: @escaping @Sendable (Key, Value, Result) async throws -> Result
    ) -> KStream<Windowed<Key>, Result> {
        build("AGGREGATE", name, materialized, emit, serde: serde, .aggregating(initializer, aggregator))
    }

    private func build<Result: Sendable>(
        _ kind: String,
        _ name: String?,
        _ materialized: Materialized,
        _ emit: EmitStrategy,
        serde: Serde<Result>,
        _ aggregation: WindowAggregation<Key, Value, Result>
    ) -> KStream<Windowed<Key>, Result> {
        let builder = grouped.stream.builder
        let node = builder.name(name, kind)
        let storeName = materialized.storeName ?? "\(node)-STATE-STORE"
        let keySerde = grouped.keySerde
        switch windows {
        case .time(let windows):
            // A window is read once more when stream time reaches its end plus grace, to emit it.
            let retention = Duration.milliseconds(windows.size + windows.grace + 1)
            builder.addStore(materialized.windowStore(storeName, retention: retention, retainDuplicates: false, key: keySerde, value: serde))
            let emission = WindowEmission(strategy: emit, defaultDeadline: windows.size + windows.grace)
            return grouped.stream.process(named: node, stores: [storeName]) {
                TimeWindowAggregateProcessor(storeName: storeName, windows: windows, aggregation: aggregation, emission: emission, keySerde: keySerde)
            }
        case .sliding(let windows):
            // The records themselves, kept as long as a window can still take one of them.
            let retention = Duration.milliseconds(2 * windows.timeDifference + windows.grace + 2)
            let valueSerde = grouped.valueSerde
            builder.addStore(materialized.windowStore(storeName, retention: retention, retainDuplicates: true, key: keySerde, value: valueSerde))
            let emission = WindowEmission(strategy: emit, defaultDeadline: windows.timeDifference + windows.grace)
            return grouped.stream.process(named: node, stores: [storeName]) {
                SlidingWindowAggregateProcessor(storeName: storeName, windows: windows, aggregation: aggregation, emission: emission, keySerde: keySerde)
            }
        }
    }
}

/// A grouped stream over session windows. Results are a stream of `Windowed` keys (the session's span) and
/// values; `nil` says a session was merged into a larger one (updates only).
public struct SessionWindowedKStream<Key: Sendable, Value: Sendable> {
    let grouped: KGroupedStream<Key, Value>
    let windows: SessionWindows

    /// The number of records per key and session.
    public func count(named name: String? = nil, materialized: Materialized = .persistent(), emit: EmitStrategy = .onWindowUpdate) -> KStream<Windowed<Key>, Int64?> {
        build("COUNT", name, materialized, emit, serde: .bigEndian, .counting)
    }

    /// Combines each session's values with `reducer`.
    public func reduce(
        named name: String? = nil,
        materialized: Materialized = .persistent(),
        emit: EmitStrategy = .onWindowUpdate,
        _ reducer: @escaping @Sendable (Value, Value) async throws -> Value
    ) -> KStream<Windowed<Key>, Value?> {
        build("REDUCE", name, materialized, emit, serde: grouped.valueSerde, .reducing(reducer))
    }

    /// Folds each session's values into a result; `merger` combines two sessions' results when a record
    /// bridges them.
    public func aggregate<Result: Sendable>(
        named name: String? = nil,
        materialized: Materialized = .persistent(),
        emit: EmitStrategy = .onWindowUpdate,
        serde: Serde<Result>,
        initializer: @escaping @Sendable () -> Result,
        merger: @escaping @Sendable (Key, Result, Result) async throws -> Result,
        _ aggregator: @escaping @Sendable (Key, Value, Result) async throws -> Result
    ) -> KStream<Windowed<Key>, Result?> {
        build("AGGREGATE", name, materialized, emit, serde: serde, .aggregating(initializer, aggregator, merger: merger))
    }

    private func build<Result: Sendable>(
        _ kind: String,
        _ name: String?,
        _ materialized: Materialized,
        _ emit: EmitStrategy,
        serde: Serde<Result>,
        _ aggregation: WindowAggregation<Key, Value, Result>
    ) -> KStream<Windowed<Key>, Result?> {
        let builder = grouped.stream.builder
        let node = builder.name(name, kind)
        let storeName = materialized.storeName ?? "\(node)-STATE-STORE"
        let keySerde = grouped.keySerde
        let retention = Duration.milliseconds(windows.gap + windows.grace + 2)
        builder.addStore(materialized.sessionStore(storeName, retention: retention, key: keySerde, value: serde))
        let windows = self.windows
        let emission = WindowEmission(strategy: emit, defaultDeadline: windows.gap + windows.grace)
        return grouped.stream.process(named: node, stores: [storeName]) {
            SessionWindowAggregateProcessor(storeName: storeName, windows: windows, aggregation: aggregation, emission: emission, keySerde: keySerde)
        }
    }
}
