import StreamKit

/// Writes typed records to one of a ``TopologyTestDriver``'s topics.
public struct TestInputTopic<Key: Sendable, Value: Sendable> {
    let driver: TopologyTestDriver
    public let topic: String
    let keySerde: Serde<Key>
    let valueSerde: Serde<Value>

    /// Pipes one record; its timestamp defaults to the driver's wall-clock time.
    public func pipe(key: Key, value: Value, timestamp: Int64? = nil, headers: [KafkaHeader] = []) async throws {
        try await driver.pipe(
            KafkaProducerRecord(
                topic: topic,
                key: try keySerde.serialize(key),
                value: try valueSerde.serialize(value),
                headers: headers,
                timestamp: timestamp ?? driver.clock.now()
            )
        )
    }

    /// Pipes records in order.
    public func pipe(_ pairs: [(Key, Value)], timestamp: Int64? = nil) async throws {
        for (key, value) in pairs { try await pipe(key: key, value: value, timestamp: timestamp) }
    }
}

/// Reads typed records from one of a ``TopologyTestDriver``'s topics, in order, each once.
public final class TestOutputTopic<Key: Sendable, Value: Sendable> {
    let driver: TopologyTestDriver
    public let topic: String
    let keySerde: Serde<Key>
    let valueSerde: Serde<Value>
    private var position = 0

    init(driver: TopologyTestDriver, topic: String, keySerde: Serde<Key>, valueSerde: Serde<Value>) {
        self.driver = driver
        self.topic = topic
        self.keySerde = keySerde
        self.valueSerde = valueSerde
    }

    /// The next unread record, or `nil`.
    public func readRecord() throws -> Record<Key, Value>? {
        guard let raw = driver.topics.records(topic, from: position).first else { return nil }
        position += 1
        return Record(
            key: try keySerde.deserialize(raw.key),
            value: try valueSerde.deserialize(raw.value),
            timestamp: raw.timestamp,
            headers: raw.headers,
            metadata: RecordMetadata(topic: raw.topic, partition: raw.partition, offset: raw.offset)
        )
    }

    /// Every unread record.
    public func readRecords() throws -> [Record<Key, Value>] {
        var records: [Record<Key, Value>] = []
        while let record = try readRecord() { records.append(record) }
        return records
    }

    /// Every unread record as key and value.
    public func readKeyValues() throws -> [(key: Key, value: Value)] { try readRecords().map { ($0.key, $0.value) } }

    /// Every unread value.
    public func readValues() throws -> [Value] { try readRecords().map(\.value) }

    /// Whether every record has been read.
    public var isEmpty: Bool { driver.topics.records(topic, from: position).isEmpty }
}
