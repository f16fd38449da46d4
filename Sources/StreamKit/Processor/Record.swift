/// A record flowing through a topology: key, value, timestamp and headers, plus where it was read from.
public struct Record<Key: Sendable, Value: Sendable>: Sendable {
    public var key: Key
    public var value: Value
    /// Milliseconds since the epoch; drives stream time, windows and joins.
    public var timestamp: Int64
    public var headers: [KafkaHeader]
    /// The topic, partition and offset the record (or the record it was derived from) was consumed at;
    /// `nil` for records a punctuator creates.
    public var metadata: RecordMetadata?

    public init(key: Key, value: Value, timestamp: Int64, headers: [KafkaHeader] = [], metadata: RecordMetadata? = nil) {
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.headers = headers
        self.metadata = metadata
    }

    /// The same record with another key.
    public func withKey<NewKey>(_ key: NewKey) -> Record<NewKey, Value> {
        Record<NewKey, Value>(key: key, value: value, timestamp: timestamp, headers: headers, metadata: metadata)
    }

    /// The same record with another value.
    public func withValue<NewValue>(_ value: NewValue) -> Record<Key, NewValue> {
        Record<Key, NewValue>(key: key, value: value, timestamp: timestamp, headers: headers, metadata: metadata)
    }

    /// The same record with another timestamp.
    public func withTimestamp(_ timestamp: Int64) -> Record {
        var copy = self
        copy.timestamp = timestamp
        return copy
    }

    /// The same record with other headers.
    public func withHeaders(_ headers: [KafkaHeader]) -> Record {
        var copy = self
        copy.headers = headers
        return copy
    }
}

/// Where a record was consumed.
public struct RecordMetadata: Sendable, Hashable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    public var offset: Int64

    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    public var description: String { "\(topic)-\(partition)@\(offset)" }
}

/// A record whose key and value types the topology graph no longer tracks; nodes cast back to the types
/// the DSL checked when the graph was built.
package struct AnyRecord: Sendable {
    package var key: any Sendable
    package var value: any Sendable {
        didSet { encodedValue = nil }
    }
    /// The bytes `value` was read from and the serde that read them, while the value is the one read: a store
    /// with the same serde keeps these bytes instead of encoding the value again.
    package var encodedValue: EncodedValue?
    package var timestamp: Int64
    package var headers: [KafkaHeader]
    package var metadata: RecordMetadata?

    package init(key: any Sendable, value: any Sendable, timestamp: Int64, headers: [KafkaHeader], metadata: RecordMetadata?) {
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.headers = headers
        self.metadata = metadata
    }

    package init<K, V>(_ record: Record<K, V>) {
        self.init(
            key: record.key,
            value: record.value,
            timestamp: record.timestamp,
            headers: record.headers,
            metadata: record.metadata
        )
    }

    /// Bytes as a serde read them.
    package struct EncodedValue: Sendable {
        package var bytes: [UInt8]?
        package var serde: SerdeIdentity
    }

    /// The value's bytes as `serde` writes them: those it was read from when `serde` read them, else encoded now.
    package func valueBytes<V>(_ serde: Serde<V>) throws -> [UInt8]? {
        if let encodedValue, encodedValue.serde == serde.identity { return encodedValue.bytes }
        return try serde.serialize(value as! V)
    }

    package func typed<K, V>(_: K.Type = K.self, _: V.Type = V.self) -> Record<K, V> {
        Record(key: key as! K, value: value as! V, timestamp: timestamp, headers: headers, metadata: metadata)
    }
}
