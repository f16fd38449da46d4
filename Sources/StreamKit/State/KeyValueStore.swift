/// A key-value store of typed keys and values, kept as bytes (through the serdes given at declaration) and ordered
/// by the serialized key.
public final class KeyValueStore<Key: Sendable, Value: Sendable>: StateStore {
    public let name: String
    public let isPersistent: Bool
    private let bytes: any BytesStore
    private let keySerde: Serde<Key>
    private let valueSerde: Serde<Value>

    package init(name: String, bytes: any BytesStore, key: Serde<Key>, value: Serde<Value>, isPersistent: Bool) {
        self.name = name
        self.bytes = bytes
        self.keySerde = key
        self.valueSerde = value
        self.isPersistent = isPersistent
    }

    public func get(_ key: Key) throws -> Value? {
        guard let value = try bytes.get(try serializedKey(key)) else { return nil }
        return try valueSerde.deserialize(value)
    }

    /// Stores `value` under `key`; a value that serializes to no bytes deletes the key.
    public func put(_ key: Key, _ value: Value) throws {
        let keyBytes = try serializedKey(key)
        if let valueBytes = try valueSerde.serialize(value) {
            try bytes.put(keyBytes, valueBytes)
        } else {
            try bytes.delete(keyBytes)
        }
    }

    /// Removes `key` and returns the value it had.
    @discardableResult
    public func delete(_ key: Key) throws -> Value? {
        let keyBytes = try serializedKey(key)
        let old = try bytes.get(keyBytes).map { try valueSerde.deserialize($0) }
        try bytes.delete(keyBytes)
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

    private func serializedKey(_ key: Key) throws -> [UInt8] {
        guard let bytes = try keySerde.serialize(key) else {
            throw SerdeError(serde: keySerde.name, reason: "store '\(name)' cannot hold a key that serializes to nothing")
        }
        return bytes
    }

    private func decode(_ entries: [(key: [UInt8], value: [UInt8])]) throws -> [(key: Key, value: Value)] {
        try entries.map { (key: try keySerde.deserialize($0.key), value: try valueSerde.deserialize($0.value)) }
    }
}
