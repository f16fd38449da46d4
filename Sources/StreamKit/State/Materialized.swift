/// Where a stateful DSL operation (a windowed aggregation, a join, a table) keeps its state.
public struct Materialized: Sendable, Hashable {
    public var storeName: String?
    public var persistent: Bool
    public var logging: Bool

    /// RocksDB with a changelog (the default).
    public static func persistent(_ storeName: String? = nil) -> Materialized { Materialized(storeName: storeName, persistent: true, logging: true) }
    /// Memory with a changelog.
    public static func inMemory(_ storeName: String? = nil) -> Materialized { Materialized(storeName: storeName, persistent: false, logging: true) }

    /// No changelog: the state starts empty wherever the task starts.
    public func withLoggingDisabled() -> Materialized {
        var copy = self
        copy.logging = false
        return copy
    }
}

extension Materialized {
    /// The key-value store this asks for, named `storeName` unless given a name here.
    func keyValueStore<K, V>(_ name: String, key: Serde<K>, value: Serde<V>) -> StoreBuilder {
        logged(Stores.keyValue(name, persistent: persistent, key: key, value: value))
    }

    /// The window store this asks for.
    func windowStore<K, V>(_ name: String, retention: Duration, retainDuplicates: Bool, key: Serde<K>, value: Serde<V>) -> StoreBuilder {
        logged(Stores.window(name, persistent: persistent, retention: retention, segmentInterval: nil, retainDuplicates: retainDuplicates, key: key, value: value))
    }

    /// The session store this asks for.
    func sessionStore<K, V>(_ name: String, retention: Duration, key: Serde<K>, value: Serde<V>) -> StoreBuilder {
        logged(Stores.session(name, persistent: persistent, retention: retention, key: key, value: value))
    }

    private func logged(_ store: StoreBuilder) -> StoreBuilder { logging ? store : store.withLoggingDisabled() }
}
