/// Factories for the stores a topology can declare.
///
/// Persistent stores keep their data in RocksDB under ``StreamsConfiguration/stateDirectory``, within the
/// process's ``StreamsConfiguration/rocksDB`` memory budget; in-memory stores keep it on the heap. Either kind
/// logs its changes to a compacted changelog topic `<application>-<store>-changelog` and is restored from it
/// before its task processes, unless declared ``StoreBuilder/withLoggingDisabled()``.
public enum Stores {
    /// A key-value store in memory, ordered by the serialized key.
    public static func inMemoryKeyValue<K, V>(_ name: String, key: Serde<K>, value: Serde<V>) -> StoreBuilder {
        keyValue(name, persistent: false, key: key, value: value)
    }

    /// A key-value store in RocksDB, ordered by the serialized key.
    public static func persistentKeyValue<K, V>(_ name: String, key: Serde<K>, value: Serde<V>) -> StoreBuilder {
        keyValue(name, persistent: true, key: key, value: value)
    }

    /// A window store in memory; see ``persistentWindow(_:retention:segmentInterval:retainDuplicates:key:value:)``.
    public static func inMemoryWindow<K, V>(
        _ name: String,
        retention: Duration,
        segmentInterval: Duration? = nil,
        retainDuplicates: Bool = false,
        key: Serde<K>,
        value: Serde<V>
    ) -> StoreBuilder {
        window(name, persistent: false, retention: retention, segmentInterval: segmentInterval, retainDuplicates: retainDuplicates, key: key, value: value)
    }

    /// A window store in RocksDB, one database per segment of time.
    ///
    /// - Parameters:
    ///   - retention: how long entries are kept after the newest time written (at least window size + grace).
    ///   - segmentInterval: the span of time one segment holds; by default half the retention, at least a minute.
    ///   - retainDuplicates: keep every put (for joins) instead of replacing the value at the same key and time.
    public static func persistentWindow<K, V>(
        _ name: String,
        retention: Duration,
        segmentInterval: Duration? = nil,
        retainDuplicates: Bool = false,
        key: Serde<K>,
        value: Serde<V>
    ) -> StoreBuilder {
        window(name, persistent: true, retention: retention, segmentInterval: segmentInterval, retainDuplicates: retainDuplicates, key: key, value: value)
    }

    /// A session store in memory.
    public static func inMemorySession<K, V>(_ name: String, retention: Duration, key: Serde<K>, value: Serde<V>) -> StoreBuilder {
        session(name, persistent: false, retention: retention, key: key, value: value)
    }

    /// A session store in RocksDB, one database per segment of time.
    public static func persistentSession<K, V>(_ name: String, retention: Duration, key: Serde<K>, value: Serde<V>) -> StoreBuilder {
        session(name, persistent: true, retention: retention, key: key, value: value)
    }

    // MARK: Shared

    static func keyValue<K, V>(_ name: String, persistent: Bool, key: Serde<K>, value: Serde<V>) -> StoreBuilder {
        StoreBuilder(
            spec: StoreSpec(name: name, kind: persistent ? "RocksDB key-value" : "in-memory key-value", isPersistent: persistent) { context in
                let bytes: any BytesStore = persistent
                    ? try RocksDBBytesStore(path: context.directory, configuration: context.rocksDB)
                    : InMemoryBytesStore()
                return KeyValueStore(name: name, bytes: bytes, key: key, value: value, isPersistent: persistent, changelog: context.changelog)
            }
        )
    }

    static func window<K, V>(
        _ name: String,
        persistent: Bool,
        retention: Duration,
        segmentInterval: Duration?,
        retainDuplicates: Bool,
        key: Serde<K>,
        value: Serde<V>
    ) -> StoreBuilder {
        segmented(name, "window", persistent: persistent, retention: retention, segmentInterval: segmentInterval) { segments, context in
            WindowStore(
                name: name,
                segments: segments,
                retainDuplicates: retainDuplicates,
                key: key,
                value: value,
                isPersistent: persistent,
                changelog: context.changelog
            )
        }
    }

    static func session<K, V>(_ name: String, persistent: Bool, retention: Duration, key: Serde<K>, value: Serde<V>) -> StoreBuilder {
        segmented(name, "session", persistent: persistent, retention: retention, segmentInterval: nil) { segments, context in
            SessionStore(name: name, segments: segments, key: key, value: value, isPersistent: persistent, changelog: context.changelog)
        }
    }

    /// A store over time segments: one RocksDB database per segment, or memory.
    private static func segmented(
        _ name: String,
        _ kind: String,
        persistent: Bool,
        retention: Duration,
        segmentInterval: Duration?,
        make: @escaping @Sendable (SegmentedBytesStore, StoreContext) -> any StateStore
    ) -> StoreBuilder {
        let retentionMs = Int64(retention.milliseconds)
        let interval = segmentInterval.map { Int64($0.milliseconds) } ?? max(retentionMs / 2, 60_000)
        return StoreBuilder(
            spec: StoreSpec(
                name: name,
                kind: persistent ? "RocksDB \(kind)" : "in-memory \(kind)",
                isPersistent: persistent,
                changelogConfigs: timedChangelogConfigs(retentionMs)
            ) { context in
                let segments = try SegmentedBytesStore(
                    retention: retentionMs,
                    segmentInterval: interval,
                    backend: persistent ? .rocksDB(directory: context.directory, configuration: context.rocksDB) : .inMemory()
                )
                return make(segments, context)
            }
        )
    }

    /// Window and session changelogs are compacted and also expire a day after the store's retention, as in
    /// Kafka Streams.
    private static func timedChangelogConfigs(_ retentionMs: Int64) -> [String: String] {
        ["cleanup.policy": "compact,delete", "retention.ms": String(retentionMs + 86_400_000)]
    }
}
