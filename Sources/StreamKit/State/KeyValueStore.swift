/// A key-value store of typed keys and values, kept as bytes (through the serdes given at declaration) and ordered
/// by the serialized key. Writes are logged to the store's changelog unless logging is disabled.
public final class KeyValueStore<Key: Sendable, Value: Sendable>: ChangeLoggedStore {
    public let name: String
    public let isPersistent: Bool
    private let bytes: any BytesStore
    private let keySerde: Serde<Key>
    private let valueSerde: Serde<Value>
    private let changelog: ChangeLogger?

    package init(
        name: String,
        bytes: any BytesStore,
        key: Serde<Key>,
        value: Serde<Value>,
        isPersistent: Bool,
        changelog: ChangeLogger? = nil
    ) {
        self.name = name
        self.bytes = bytes
        self.keySerde = key
        self.valueSerde = value
        self.isPersistent = isPersistent
        self.changelog = changelog
    }

    public func get(_ key: Key) throws -> Value? {
        guard let value = try bytes.get(try serializedKey(key)) else { return nil }
        return try valueSerde.deserialize(value)
    }

    /// Stores `value` under `key`; a value that serializes to no bytes deletes the key.
    public func put(_ key: Key, _ value: Value) async throws {
        let keyBytes = try serializedKey(key)
        let valueBytes = try valueSerde.serialize(value)
        if let valueBytes { try bytes.put(keyBytes, valueBytes) } else { try bytes.delete(keyBytes) }
        try await changelog?.log(key: keyBytes, value: valueBytes)
    }

    /// Removes `key` and returns the value it had.
    @discardableResult
    public func delete(_ key: Key) async throws -> Value? {
        let keyBytes = try serializedKey(key)
        let old = try bytes.get(keyBytes).map { try valueSerde.deserialize($0) }
        try bytes.delete(keyBytes)
        try await changelog?.log(key: keyBytes, value: nil)
        return old
    }

    /// Every entry, in serialized-key order.
    public func all() throws -> [(key: Key, value: Value)] { try decode(bytes.range(from: nil, to: nil)) }

    /// Entries with `from <= key < to` by serialized key, in order.
    public func range(from: Key?, to: Key?) throws -> [(key: Key, value: Value)] {
        try decode(bytes.range(from: from.map(serializedKey), to: to.map(serializedKey)))
    }

    /// The number of entries (exact in memory, an estimate on disk).
    public var approximateCount: Int { bytes.approximateCount }

    public func flush() throws { try bytes.flush() }
    public func close() { bytes.close() }

    package func restore(_ batch: [(key: [UInt8], value: [UInt8]?)]) throws { try bytes.write(batch) }

    private func serializedKey(_ key: Key) throws -> [UInt8] { try keySerde.storeKey(key, store: name) }

    private func decode(_ entries: [(key: [UInt8], value: [UInt8])]) throws -> [(key: Key, value: Value)] {
        try entries.map { (key: try keySerde.deserialize($0.key), value: try valueSerde.deserialize($0.value)) }
    }
}
