/// A stream of keyed records in a topology under construction.
///
/// Each operation adds a node and returns the stream after it. Functions given to operations may be `async`
/// (they run on the task's actor; see ``StreamsConfiguration/maxInFlightPerTask`` for how a task keeps other keys
/// moving while one waits) and may throw: a thrown error goes to the processing error handler.
public struct KStream<Key: Sendable, Value: Sendable> {
    package let builder: StreamsBuilder
    package let node: String
    /// Serdes known to fit the current key and value types, used to repartition without asking.
    package let keySerde: Serde<Key>?
    package let valueSerde: Serde<Value>?
    /// Whether the key may have changed since the records left their topic, so that a stateful step needs
    /// a repartition first.
    package let keyChanged: Bool

    package init(builder: StreamsBuilder, node: String, keySerde: Serde<Key>?, valueSerde: Serde<Value>?, keyChanged: Bool = false) {
        self.builder = builder
        self.node = node
        self.keySerde = keySerde
        self.valueSerde = valueSerde
        self.keyChanged = keyChanged
    }

    private func next<K, V>(
        _ kind: String,
        _ name: String?,
        keyChanged: Bool? = nil,
        _ body: @escaping FunctionNode.Body
    ) -> KStream<K, V> {
        let node = builder.name(name, kind)
        builder.add(node, parents: [self.node]) { FunctionNode(body) }
        return KStream<K, V>(
            builder: builder,
            node: node,
            keySerde: keySerde as? Serde<K>,
            valueSerde: valueSerde as? Serde<V>,
            keyChanged: keyChanged ?? self.keyChanged
        )
    }

    // MARK: Stateless operations

    /// Keeps the records for which `predicate` is true.
    public func filter(named name: String? = nil, _ predicate: @escaping @Sendable (Record<Key, Value>) async throws -> Bool) -> KStream {
        next("FILTER", name) { record, context in
            if try await predicate(record.typed()) { try await context.forward(record, to: nil) }
        }
    }

    /// Drops the records for which `predicate` is true.
    public func filterNot(named name: String? = nil, _ predicate: @escaping @Sendable (Record<Key, Value>) async throws -> Bool) -> KStream {
        next("FILTER", name) { record, context in
            if try await !predicate(record.typed()) { try await context.forward(record, to: nil) }
        }
    }

    /// Replaces key and value. The key changes, so a later stateful step repartitions.
    public func map<K, V>(
        named name: String? = nil,
        _ transform: @escaping @Sendable (Record<Key, Value>) async throws -> (K, V)
    ) -> KStream<K, V> {
        next("MAP", name, keyChanged: true) { record, context in
            let (key, value) = try await transform(record.typed())
            var output = record
            output.key = key
            output.value = value
            try await context.forward(output, to: nil)
        }
    }

    /// Replaces the value and keeps the key (no repartition needed later).
    public func mapValues<V>(named name: String? = nil, _ transform: @escaping @Sendable (Value) async throws -> V) -> KStream<Key, V> {
        next("MAPVALUES", name) { record, context in
            var output = record
            output.value = try await transform(record.value as! Value)
            try await context.forward(output, to: nil)
        }
    }

    /// Replaces each record's value, and may change its timestamp and headers, keeping its key (no repartition
    /// needed later); `nil` drops the record. Kafka Streams' `processValues` for the common case.
    public func processValues<V>(
        named name: String? = nil,
        _ transform: @escaping @Sendable (Record<Key, Value>) async throws -> Record<Key, V>?
    ) -> KStream<Key, V> {
        next("PROCESSVALUES", name) { record, context in
            let typed: Record<Key, Value> = record.typed()
            guard let output = try await transform(typed) else { return }
            var forwarded = record
            forwarded.value = output.value
            forwarded.timestamp = output.timestamp
            forwarded.headers = output.headers
            try await context.forward(forwarded, to: nil)
        }
    }

    /// Replaces each record with zero or more records. The key changes.
    public func flatMap<K, V>(
        named name: String? = nil,
        _ transform: @escaping @Sendable (Record<Key, Value>) async throws -> [(K, V)]
    ) -> KStream<K, V> {
        next("FLATMAP", name, keyChanged: true) { record, context in
            for (key, value) in try await transform(record.typed()) {
                var output = record
                output.key = key
                output.value = value
                try await context.forward(output, to: nil)
            }
        }
    }

    /// Replaces each value with zero or more values under the same key.
    public func flatMapValues<V>(named name: String? = nil, _ transform: @escaping @Sendable (Value) async throws -> [V]) -> KStream<Key, V> {
        next("FLATMAPVALUES", name) { record, context in
            for value in try await transform(record.value as! Value) {
                var output = record
                output.value = value
                try await context.forward(output, to: nil)
            }
        }
    }

    /// Gives each record a new key computed from it. The key changes.
    public func selectKey<K>(named name: String? = nil, _ key: @escaping @Sendable (Record<Key, Value>) async throws -> K) -> KStream<K, Value> {
        next("KEY-SELECT", name, keyChanged: true) { record, context in
            var output = record
            output.key = try await key(record.typed(Key.self, Value.self))
            try await context.forward(output, to: nil)
        }
    }

    /// Looks at each record and passes it on unchanged.
    public func peek(named name: String? = nil, _ action: @escaping @Sendable (Record<Key, Value>) async throws -> Void) -> KStream {
        next("PEEK", name) { record, context in
            try await action(record.typed())
            try await context.forward(record, to: nil)
        }
    }

    /// Ends the stream in an action per record.
    public func foreach(named name: String? = nil, _ action: @escaping @Sendable (Record<Key, Value>) async throws -> Void) {
        let _: KStream = next("FOREACH", name) { record, _ in try await action(record.typed()) }
    }

    /// One stream with the records of both.
    public func merge(_ other: KStream<Key, Value>, named name: String? = nil) -> KStream {
        let node = builder.name(name, "MERGE")
        builder.add(node, parents: [self.node, other.node]) { PassThroughNode() }
        return KStream(
            builder: builder,
            node: node,
            keySerde: keySerde ?? other.keySerde,
            valueSerde: valueSerde ?? other.valueSerde,
            keyChanged: keyChanged || other.keyChanged
        )
    }

    /// Routes each record to the first branch whose predicate it matches; see ``BranchedKStream``.
    public func split(named prefix: String? = nil) -> BranchedKStream<Key, Value> {
        let node = builder.name(prefix.map { "\($0)split" }, "BRANCH")
        return BranchedKStream(parent: self, node: node, prefix: prefix ?? "\(node)-")
    }

    // MARK: Sinks and repartitioning

    /// Writes every record to `topic`.
    public func to(_ topic: String, key: Serde<Key>, value: Serde<Value>, named name: String? = nil) {
        addSink(.topic(.external(topic)), key: key, value: value, named: name)
    }

    /// Writes each record to the topic `topic` chooses for it.
    public func to(
        key: Serde<Key>,
        value: Serde<Value>,
        named name: String? = nil,
        topic: @escaping @Sendable (Record<Key, Value>) -> String
    ) {
        addSink(.chosen { topic($0.typed()) }, key: key, value: value, named: name)
    }

    /// Writes every record to `topic` with the serdes the stream was read with.
    ///
    /// The serdes are known while key and value keep their source types; otherwise this records a build error
    /// naming the node, and the variant with explicit serdes is needed.
    public func to(_ topic: String, named name: String? = nil) {
        guard let keySerde, let valueSerde else {
            builder.report(TopologyError(node: node, reason: "to(\"\(topic)\") needs serdes: key or value type changed"))
            return
        }
        to(topic, key: keySerde, value: valueSerde, named: name)
    }

    private func addSink(_ target: SinkSpec.Target, key: Serde<Key>, value: Serde<Value>, named name: String?) {
        let node = builder.name(name, "SINK")
        let spec = SinkSpec(target: target) { record in
            (try key.serialize(record.key as! Key), try record.valueBytes(value))
        }
        builder.add(node, kind: .sink(spec), parents: [self.node]) { SinkNode(spec) }
    }

    /// Sends the records through an internal topic (`<application id>-<name>-repartition`), so that records
    /// with the same key meet in the same task from here on.
    ///
    /// - Parameter partitions: the internal topic's partition count; by default the largest partition count of
    ///   the topics feeding it.
    public func repartition(
        named name: String? = nil,
        key: Serde<Key>,
        value: Serde<Value>,
        partitions: Int32? = nil
    ) -> KStream {
        let base = builder.name(name, "REPARTITION")
        let topic = TopicName.internal("\(base)-repartition")
        builder.declareRepartitionTopic(topic, partitions: partitions)
        addSink(.topic(topic), key: key, value: value, named: "\(base)-sink")
        let source = builder.addSource([topic], key: key, value: value, named: "\(base)-source", timestamp: nil)
        return KStream(builder: builder, node: source, keySerde: key, valueSerde: value)
    }

    /// ``repartition(named:key:value:partitions:)`` with the stream's known serdes.
    public func repartition(named name: String? = nil, partitions: Int32? = nil) -> KStream {
        guard let keySerde, let valueSerde else {
            builder.report(TopologyError(node: node, reason: "repartition() needs serdes: key or value type changed"))
            return self
        }
        return repartition(named: name, key: keySerde, value: valueSerde, partitions: partitions)
    }

    // MARK: Processor API

    /// Runs a hand-written ``Processor`` (one instance per task, from `supplier`) connected to `stores`.
    ///
    /// A processor with stores is stateful: if the key changed upstream, the stream is repartitioned first
    /// with its known serdes (or the build fails, naming this node, when they are unknown).
    public func process<P: Processor>(
        named name: String? = nil,
        stores: [String] = [],
        _ supplier: @escaping @Sendable () -> P
    ) -> KStream<P.OutKey, P.OutValue> where P.InKey == Key, P.InValue == Value {
        let upstream = stores.isEmpty ? self : repartitionedIfKeyChanged(before: name ?? "process")
        let node = builder.name(name, "PROCESSOR")
        for store in stores where builder.stores[store] == nil {
            builder.report(TopologyError(node: node, reason: "store '\(store)' is not declared (StreamsBuilder.addStore)"))
        }
        builder.add(node, parents: [upstream.node], stores: stores) { ProcessorAdapter(supplier()) }
        return KStream<P.OutKey, P.OutValue>(
            builder: builder,
            node: node,
            keySerde: nil,
            valueSerde: nil,
            keyChanged: upstream.keyChanged || P.OutKey.self != Key.self
        )
    }

    /// The stream itself when its records are still partitioned by their key; otherwise the stream after an
    /// automatic repartition. Stateful operations call this first.
    package func repartitionedIfKeyChanged(before step: String) -> KStream {
        guard keyChanged else { return self }
        guard keySerde != nil, valueSerde != nil else {
            builder.report(TopologyError(
                node: node,
                reason: "the key changed before the stateful step '\(step)' and the serdes to repartition are unknown; "
                    + "call repartition(key:value:) before it"
            ))
            return self
        }
        return repartition()
    }
}
