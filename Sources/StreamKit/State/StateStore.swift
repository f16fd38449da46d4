/// State a task keeps between records: one instance per task, opened before the task processes and closed
/// with it.
public protocol StateStore: AnyObject {
    /// The name the topology knows the store by.
    var name: String { get }
    /// Whether the store survives a restart (on disk, with a changelog) or lives only in memory.
    var isPersistent: Bool { get }
    /// Writes buffered changes through (called before offsets are committed).
    func flush() throws
    /// Releases the store's resources; it is not used afterwards.
    func close()
}

/// How a topology creates a store for each task.
package struct StoreSpec: Sendable {
    package var name: String
    package var kind: String
    package var isPersistent: Bool
    package var make: @Sendable (_ task: TaskID) throws -> any StateStore

    package init(name: String, kind: String, isPersistent: Bool, make: @escaping @Sendable (TaskID) throws -> any StateStore) {
        self.name = name
        self.kind = kind
        self.isPersistent = isPersistent
        self.make = make
    }
}

/// Declares a state store for ``StreamsBuilder/addStore(_:)``.
public struct StoreBuilder: Sendable {
    package let spec: StoreSpec

    package init(spec: StoreSpec) { self.spec = spec }

    public var name: String { spec.name }
}

/// Factories for the stores a topology can declare.
public enum Stores {
    /// An in-memory key-value store, ordered by the serialized key.
    public static func inMemoryKeyValue<K, V>(_ name: String, key: Serde<K>, value: Serde<V>) -> StoreBuilder {
        StoreBuilder(
            spec: StoreSpec(name: name, kind: "in-memory key-value", isPersistent: false) { _ in
                KeyValueStore(name: name, bytes: InMemoryBytesStore(), key: key, value: value, isPersistent: false)
            }
        )
    }
}
