/// The latest value per key of a topic, materialized in a key-value store (Kafka Streams' `KTable`): a record
/// updates its key, a record without a value (a tombstone) deletes it.
///
/// Streams join it with ``KStream/join(_:named:_:)-(KTable<Key,TableValue>,_,_)``; its changes are a stream again
/// with ``toStream(named:)``. The store has a changelog (unless `materialized` disables it), so a task moved to
/// another instance restores the table before it processes.
public struct KTable<Key: Sendable, Value: Sendable> {
    let builder: StreamsBuilder
    let node: String
    /// The key-value store holding the table; processors may read it by this name.
    public let storeName: String
    let keySerde: Serde<Key>
    let valueSerde: Serde<Value>

    /// Every change of the table, in the order applied: the new value, or `nil` for a deletion.
    public func toStream(named name: String? = nil) -> KStream<Key, Value?> {
        let node = builder.name(name, "TOSTREAM")
        builder.add(node, parents: [self.node]) { PassThroughNode() }
        return KStream(builder: builder, node: node, keySerde: keySerde, valueSerde: valueSerde.optional)
    }
}

extension StreamsBuilder {
    /// Reads `topic` as a table of the latest value per key.
    public func table<K: Sendable, V: Sendable>(
        _ topic: String,
        key: Serde<K>,
        value: Serde<V>,
        named name: String? = nil,
        materialized: Materialized = .persistent()
    ) -> KTable<K, V> {
        let source = stream(topic, key: key, value: value.optional, named: name.map { "\($0)-source" })
        let node = self.name(name, "TABLE")
        let storeName = materialized.storeName ?? "\(node)-store"
        addStore(materialized.keyValueStore(storeName, key: key, value: value))
        let table = source.process(named: node, stores: [storeName]) { TableSourceProcessor<K, V>(storeName: storeName) }
        return KTable(builder: self, node: table.node, storeName: storeName, keySerde: key, valueSerde: value)
    }
}

extension KStream {
    /// Joins each record with the table's current value for its key; records whose key is not in the table
    /// are dropped. Table updates produce nothing by themselves.
    public func join<TableValue: Sendable, Result: Sendable>(
        _ table: KTable<Key, TableValue>,
        named name: String? = nil,
        _ joiner: @escaping @Sendable (Value, TableValue) async throws -> Result
    ) -> KStream<Key, Result> {
        tableJoin(table, name, "JOIN") { value, current in
            guard let current else { return nil }
            return try await joiner(value, current)
        }
    }

    /// As ``join(_:named:_:)-(KTable<Key,TableValue>,_,_)``, but a record whose key is not in the table joins
    /// `nil`.
    public func leftJoin<TableValue: Sendable, Result: Sendable>(
        _ table: KTable<Key, TableValue>,
        named name: String? = nil,
        _ joiner: @escaping @Sendable (Value, TableValue?) async throws -> Result
    ) -> KStream<Key, Result> {
        tableJoin(table, name, "LEFTJOIN") { value, current in try await joiner(value, current) }
    }

    private func tableJoin<TableValue: Sendable, Result: Sendable>(
        _ table: KTable<Key, TableValue>,
        _ name: String?,
        _ kind: String,
        _ joiner: @escaping @Sendable (Value, TableValue?) async throws -> Result?
    ) -> KStream<Key, Result> {
        let node = builder.name(name, "STREAM-TABLE-\(kind)")
        let storeName = table.storeName
        let joined = process(named: node, stores: [storeName]) {
            StreamTableJoinProcessor<Key, Value, TableValue, Result>(storeName: storeName, joiner: joiner)
        }
        return KStream<Key, Result>(builder: builder, node: joined.node, keySerde: keySerde ?? table.keySerde, valueSerde: nil, keyChanged: joined.keyChanged)
    }
}
