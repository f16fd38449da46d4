/// Windowed joins of two streams on their key (Kafka Streams' `join`, `leftJoin`, `outerJoin`).
///
/// Both streams must be partitioned alike by key; a stream whose key changed is repartitioned first. The
/// records wait in a window store (RocksDB or memory, per `materialized`, with a changelog) for as long as a
/// partner may still arrive; several records of one key in a window each join, so duplicates are kept. A
/// result carries the later of its two records' times and the headers of the record that completed it.
extension KStream {
    /// One result per pair of records of this stream and `other` within `windows`.
    ///
    /// - Parameters:
    ///   - key, value, otherValue: serdes for the join store; by default those the streams were read with.
    public func join<Other: Sendable, Result: Sendable>(
        _ other: KStream<Key, Other>,
        windows: JoinWindows,
        named name: String? = nil,
        materialized: Materialized = .persistent(),
        key: Serde<Key>? = nil,
        value: Serde<Value>? = nil,
        otherValue: Serde<Other>? = nil,
        _ joiner: @escaping @Sendable (Value, Other) async throws -> Result
    ) -> KStream<Key, Result> {
        binaryJoin("JOIN", other, windows, [false, false], name, materialized, key, value, otherValue) { _, values in
            try await joiner(values[0]! as! Value, values[1]! as! Other)
        }
    }

    /// As ``join(_:windows:named:materialized:key:value:otherValue:_:)``; and each record of this stream that
    /// found no partner goes out with `nil` when its window closes.
    public func leftJoin<Other: Sendable, Result: Sendable>(
        _ other: KStream<Key, Other>,
        windows: JoinWindows,
        named name: String? = nil,
        materialized: Materialized = .persistent(),
        key: Serde<Key>? = nil,
        value: Serde<Value>? = nil,
        otherValue: Serde<Other>? = nil,
        _ joiner: @escaping @Sendable (Value, Other?) async throws -> Result
    ) -> KStream<Key, Result> {
        binaryJoin("LEFTJOIN", other, windows, [true, false], name, materialized, key, value, otherValue) { _, values in
            try await joiner(values[0]! as! Value, values[1].map { $0 as! Other })
        }
    }

    /// As ``join(_:windows:named:materialized:key:value:otherValue:_:)``; and each record of either stream
    /// that found no partner goes out with `nil` for the other side when its window closes.
    public func outerJoin<Other: Sendable, Result: Sendable>(
        _ other: KStream<Key, Other>,
        windows: JoinWindows,
        named name: String? = nil,
        materialized: Materialized = .persistent(),
        key: Serde<Key>? = nil,
        value: Serde<Value>? = nil,
        otherValue: Serde<Other>? = nil,
        _ joiner: @escaping @Sendable (Value?, Other?) async throws -> Result
    ) -> KStream<Key, Result> {
        binaryJoin("OUTERJOIN", other, windows, [true, true], name, materialized, key, value, otherValue) { _, values in
            try await joiner(values[0].map { $0 as! Value }, values[1].map { $0 as! Other })
        }
    }

    private func binaryJoin<Other: Sendable, Result: Sendable>(
        _ kind: String,
        _ other: KStream<Key, Other>,
        _ windows: JoinWindows,
        _ emitsUnmatched: [Bool],
        _ name: String?,
        _ materialized: Materialized,
        _ key: Serde<Key>?,
        _ value: Serde<Value>?,
        _ otherValue: Serde<Other>?,
        _ joiner: @escaping @Sendable (Key, [(any Sendable)?]) async throws -> Result
    ) -> KStream<Key, Result> {
        let node = builder.name(name, kind)
        guard let keySerde = key ?? keySerde ?? other.keySerde, let value = value ?? valueSerde, let otherValue = otherValue ?? other.valueSerde else {
            builder.report(TopologyError(node: node, reason: "a join needs serdes for its store: the key or a value type changed; pass key:, value: and otherValue:"))
            return KStream<Key, Result>(builder: builder, node: self.node, keySerde: nil, valueSerde: nil)
        }
        let inputs = [
            repartitionedIfKeyChanged(before: node).joinInput(0, JoinInputCodec(value), join: node),
            other.repartitionedIfKeyChanged(before: node).joinInput(1, JoinInputCodec(otherValue), join: node),
        ]
        return builder.addWindowJoin(
            node,
            inputs: inputs,
            shape: .binary(windows, emitsUnmatched: emitsUnmatched),
            materialized: materialized,
            keySerde: keySerde,
            joiner: joiner
        )
    }

    /// A node after this stream that tags each record as input `index` of the join `join`.
    func joinInput(_ index: Int, _ codec: JoinInputCodec, join: String) -> (node: String, codec: JoinInputCodec) {
        let node = "\(join)-input-\(index)"
        builder.add(node, parents: [self.node]) {
            FunctionNode { record, context in
                var tagged = record
                tagged.value = JoinArrival(input: index, value: record.value, bytes: try codec.encode(record))
                try await context.forward(tagged, to: nil)
            }
        }
        return (node, codec)
    }
}

extension StreamsBuilder {
    /// Joins several streams of the same key and value types in one operator, within `window` of each other.
    ///
    /// Each result holds one value per stream, in the order the streams are given (`nil` where a stream has
    /// none): for ``MultiwayJoin/inner`` a record from every stream; for ``MultiwayJoin/outer`` the same, and
    /// when a record's window closes without that — by stream time past its time plus `window` and `grace`, or
    /// by the wall clock after `wallClockDeadline` (by default `window` plus `grace`) — whatever of its key
    /// waited in the window; for ``MultiwayJoin/any`` each record at once, alone.
    ///
    /// - Parameters:
    ///   - key, value: serdes for the join store; by default those the first stream knows.
    public func join<Key: Sendable, Value: Sendable>(
        _ streams: [KStream<Key, Value>],
        _ mode: MultiwayJoin,
        window: Duration,
        grace: Duration = .zero,
        wallClockDeadline: Duration? = nil,
        named name: String? = nil,
        materialized: Materialized = .persistent(),
        key: Serde<Key>? = nil,
        value: Serde<Value>? = nil
    ) -> KStream<Key, [Value?]> {
        let node = self.name(name, "MULTIJOIN")
        let keySerde = key ?? streams.lazy.compactMap(\.keySerde).first
        let valueSerde = value ?? streams.lazy.compactMap(\.valueSerde).first
        guard streams.count >= 2, let keySerde, let valueSerde else {
            report(TopologyError(node: node, reason: streams.count < 2
                ? "a join needs at least two streams, got \(streams.count)"
                : "a join needs serdes for its store: pass key: and value:"))
            return KStream(builder: self, node: streams.first?.node ?? node, keySerde: nil, valueSerde: nil)
        }
        let codec = JoinInputCodec(valueSerde)
        let inputs = streams.enumerated().map { index, stream in
            stream.repartitionedIfKeyChanged(before: node).joinInput(index, codec, join: node)
        }
        let count = streams.count
        if mode == .any {
            add(node, parents: inputs.map(\.node)) {
                FunctionNode { record, context in
                    let arrival = record.value as! JoinArrival
                    var values = [Value?](repeating: nil, count: count)
                    values[arrival.input] = (arrival.value as! Value)
                    var output = record
                    output.value = values
                    try await context.forward(output, to: nil)
                }
            }
            return KStream(builder: self, node: node, keySerde: keySerde, valueSerde: nil)
        }
        let span = window.wholeMilliseconds
        let shape = JoinShape(
            reach: Array(repeating: (span, span), count: count),
            grace: grace.wholeMilliseconds,
            emitsUnmatched: Array(repeating: mode == .outer, count: count),
            wallClockDeadline: wallClockDeadline?.wholeMilliseconds
        )
        return addWindowJoin(node, inputs: inputs, shape: shape, materialized: materialized, keySerde: keySerde) { _, values in
            values.map { $0.map { $0 as! Value } }
        }
    }

    /// Adds the join operator `node` over the tagged `inputs`, with its window store and, when some input
    /// emits unmatched records, its buffer.
    func addWindowJoin<Key: Sendable, Result: Sendable>(
        _ node: String,
        inputs: [(node: String, codec: JoinInputCodec)],
        shape: JoinShape,
        materialized: Materialized,
        keySerde: Serde<Key>,
        joiner: @escaping @Sendable (Key, [(any Sendable)?]) async throws -> Result
    ) -> KStream<Key, Result> {
        let storeName = materialized.storeName.map { "\($0)-join-store" } ?? "\(node)-join-store"
        addStore(materialized.windowStore(storeName, retention: .milliseconds(shape.retention), retainDuplicates: true, key: keySerde, value: .bytes))
        var stores = [storeName]
        var bufferName: String?
        if shape.buffersUnmatched {
            let name = materialized.storeName.map { "\($0)-unmatched-store" } ?? "\(node)-unmatched-store"
            addStore(materialized.keyValueStore(name, key: .bytes, value: .byteList))
            stores.append(name)
            bufferName = name
        }
        let codecs = inputs.map(\.codec)
        let bufferStore = bufferName
        add(node, parents: inputs.map(\.node), stores: stores) {
            ProcessorAdapter(WindowJoinProcessor(
                shape: shape, codecs: codecs, storeName: storeName, bufferName: bufferStore, keySerde: keySerde, joiner: joiner
            ))
        }
        return KStream(builder: self, node: node, keySerde: keySerde, valueSerde: nil)
    }
}
