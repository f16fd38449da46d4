/// State a task keeps between records: one instance per task, opened before the task processes and closed
/// with it.
public protocol StateStore: AnyObject {
    /// The name the topology knows the store by.
    var name: String { get }
    /// Whether the store keeps its data on disk (RocksDB) rather than in memory.
    var isPersistent: Bool { get }
    /// Writes buffered changes through (called before offsets are committed).
    func flush() throws
    /// Releases the store's resources; it is not used afterwards.
    func close()
}

/// A store whose changes go to a changelog topic, and which can be filled again from it.
package protocol ChangeLoggedStore: StateStore {
    /// Applies changelog records (raw key, raw value or `nil` for a deletion) in order.
    func restore(_ batch: [(key: [UInt8], value: [UInt8]?)]) throws
}

/// What a store needs from the task that opens it.
package struct StoreContext {
    package var task: TaskID
    /// `<state dir>/<application>/<task>/<store>`; used by persistent stores.
    package var directory: String
    package var rocksDB: RocksDBConfiguration
    /// Where the store logs its changes; `nil` when logging is disabled.
    package var changelog: ChangeLogger?

    package init(task: TaskID, directory: String, rocksDB: RocksDBConfiguration, changelog: ChangeLogger?) {
        self.task = task
        self.directory = directory
        self.rocksDB = rocksDB
        self.changelog = changelog
    }
}

/// How a topology creates a store for each task.
package struct StoreSpec: Sendable {
    package var name: String
    package var kind: String
    package var isPersistent: Bool
    /// Whether the store has a changelog topic (`<application>-<store>-changelog`).
    package var isLogged = true
    /// Configs of the changelog topic when the application creates it.
    package var changelogConfigs: [String: String]
    package var make: @Sendable (StoreContext) throws -> any StateStore

    package init(
        name: String,
        kind: String,
        isPersistent: Bool,
        changelogConfigs: [String: String] = ["cleanup.policy": "compact"],
        make: @escaping @Sendable (StoreContext) throws -> any StateStore
    ) {
        self.name = name
        self.kind = kind
        self.isPersistent = isPersistent
        self.changelogConfigs = changelogConfigs
        self.make = make
    }

    /// The store's changelog topic.
    package var changelogTopic: TopicName { .internal("\(name)-changelog") }
}

/// Declares a state store for ``StreamsBuilder/addStore(_:)``.
public struct StoreBuilder: Sendable {
    package var spec: StoreSpec

    package init(spec: StoreSpec) { self.spec = spec }

    public var name: String { spec.name }

    /// The store keeps no changelog: it starts empty whenever its task starts somewhere.
    public func withLoggingDisabled() -> StoreBuilder {
        var copy = self
        copy.spec.isLogged = false
        return copy
    }

    /// Extra configs for the changelog topic (e.g. `min.insync.replicas`), on top of the defaults.
    public func withChangelogConfigs(_ configs: [String: String]) -> StoreBuilder {
        var copy = self
        copy.spec.changelogConfigs.merge(configs) { _, new in new }
        return copy
    }
}
