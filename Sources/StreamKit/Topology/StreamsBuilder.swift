/// Builds a ``Topology`` with the streams DSL.
///
/// ```swift
/// let builder = StreamsBuilder()
/// builder.stream("orders", key: .string, value: .json(Order.self))
///     .filter { $0.value.amount > 0 }
///     .mapValues { $0.amount }
///     .to("amounts", key: .string, value: .bigEndian)
/// let topology = try builder.build()
/// ```
///
/// Names are generated the way Kafka Streams generates them (`KSTREAM-FILTER-0000000001`) unless a step is
/// given one with `named:`; mistakes (a duplicate name, an unknown store, a key changed before a stateful step
/// with no way to repartition) are reported by ``build()``, naming the node.
public final class StreamsBuilder {
    package private(set) var nodes: [NodeSpec] = []
    package private(set) var stores: [String: StoreSpec] = [:]
    package private(set) var repartitionTopics: [(topic: TopicName, partitions: Int32?)] = []
    private var names: Set<String> = []
    private var counter = 0
    private var problems: [TopologyError] = []

    public init() {}

    /// Reads `topics` with the given serdes.
    ///
    /// - Parameter timestamp: where a record's time comes from; by default the Kafka record timestamp.
    public func stream<K, V>(
        _ topics: [String],
        key: Serde<K>,
        value: Serde<V>,
        named name: String? = nil,
        timestamp: (@Sendable (KafkaConsumerRecord) -> Int64)? = nil
    ) -> KStream<K, V> {
        let node = addSource(topics.map(TopicName.external), key: key, value: value, named: name, timestamp: timestamp)
        return KStream(builder: self, node: node, keySerde: key, valueSerde: value)
    }

    /// Reads one topic with the given serdes.
    public func stream<K, V>(_ topic: String, key: Serde<K>, value: Serde<V>, named name: String? = nil) -> KStream<K, V> {
        stream([topic], key: key, value: value, named: name)
    }

    /// Reads `topics` as raw bytes, absent keys and values as `nil`.
    public func stream(_ topics: String...) -> KStream<[UInt8]?, [UInt8]?> {
        stream(topics, key: .rawBytes, value: .rawBytes)
    }

    /// Declares a state store; connect it to processors by name.
    @discardableResult
    public func addStore(_ store: StoreBuilder) -> Self {
        if stores[store.name] != nil {
            problems.append(TopologyError(node: store.name, reason: "a store with this name is declared twice"))
        }
        stores[store.name] = store.spec
        return self
    }

    /// Checks the graph and freezes it into a ``Topology``.
    ///
    /// - Throws: the first ``TopologyError`` found.
    public func build() throws -> Topology {
        if let problem = problems.first { throw problem }
        guard !nodes.isEmpty else { throw TopologyError(node: "(topology)", reason: "the topology has no nodes") }
        return try Topology(nodes: nodes, stores: stores, repartitionTopics: repartitionTopics)
    }

    // MARK: Graph construction (used by KStream)

    package func name(_ given: String?, _ kind: String) -> String {
        defer { counter += 1 }
        if let given { return given }
        let number = String(counter)
        return "KSTREAM-\(kind)-" + String(repeating: "0", count: max(0, 10 - number.count)) + number
    }

    package func add(
        _ name: String,
        kind: NodeSpec.Kind = .processor,
        parents: [String],
        stores: [String] = [],
        make: @escaping @Sendable () -> any NodeProcessor
    ) {
        if !names.insert(name).inserted {
            problems.append(TopologyError(node: name, reason: "a node with this name exists already"))
        }
        nodes.append(NodeSpec(name: name, kind: kind, parents: parents, stores: stores, make: make))
    }

    package func declareRepartitionTopic(_ topic: TopicName, partitions: Int32?) {
        repartitionTopics.append((topic, partitions))
    }

    package func report(_ problem: TopologyError) { problems.append(problem) }

    package func addSource<K, V>(
        _ topics: [TopicName],
        key: Serde<K>,
        value: Serde<V>,
        named name: String?,
        timestamp: (@Sendable (KafkaConsumerRecord) -> Int64)?
    ) -> String {
        let node = self.name(name, "SOURCE")
        let source = SourceSpec(
            topics: topics,
            keySerde: key.name,
            valueSerde: value.name
        ) { record in
            let keyValue: K
            let valueValue: V
            do { keyValue = try key.deserialize(record.key) } catch { throw SourceDeserializationError(part: "key", error: error) }
            do { valueValue = try value.deserialize(record.value) } catch { throw SourceDeserializationError(part: "value", error: error) }
            var read = AnyRecord(
                key: keyValue,
                value: valueValue,
                timestamp: timestamp?(record) ?? record.timestamp,
                headers: record.headers,
                metadata: RecordMetadata(topic: record.topic, partition: record.partition, offset: record.offset)
            )
            read.encodedValue = AnyRecord.EncodedValue(bytes: record.value, serde: value.identity)
            return read
        }
        add(node, kind: .source(source), parents: []) { PassThroughNode() }
        return node
    }
}

/// A record's key or value that its source's serde could not read.
public struct SourceDeserializationError: Error, Sendable, CustomStringConvertible {
    public var part: String
    public var error: any Error

    public var description: String { "cannot deserialize the \(part): \(error)" }
}
