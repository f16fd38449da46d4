/// A stream grouped by its key, ready for a windowed aggregation: `stream.groupByKey().windowedBy(...)`.
public struct KGroupedStream<Key: Sendable, Value: Sendable> {
    let stream: KStream<Key, Value>
    let keySerde: Serde<Key>
    let valueSerde: Serde<Value>

    /// Tumbling or hopping windows.
    public func windowedBy(_ windows: TimeWindows) -> TimeWindowedKStream<Key, Value> {
        TimeWindowedKStream(grouped: self, windows: .time(windows))
    }

    /// Sliding windows.
    public func windowedBy(_ windows: SlidingWindows) -> TimeWindowedKStream<Key, Value> {
        TimeWindowedKStream(grouped: self, windows: .sliding(windows))
    }

    /// Session windows.
    public func windowedBy(_ windows: SessionWindows) -> SessionWindowedKStream<Key, Value> {
        SessionWindowedKStream(grouped: self, windows: windows)
    }
}

extension KStream {
    /// Groups the records by their key for an aggregation. If the key changed upstream, the stream is
    /// repartitioned first (so that each key's records meet in one task).
    ///
    /// - Parameters:
    ///   - key: the key's serde; by default the one the stream was read with.
    ///   - value: the value's serde, for the repartition topic; by default the one the stream was read with.
    public func groupByKey(key: Serde<Key>? = nil, value: Serde<Value>? = nil) -> KGroupedStream<Key, Value> {
        let keySerde = key ?? self.keySerde
        let valueSerde = value ?? self.valueSerde
        guard let keySerde, let valueSerde else {
            builder.report(TopologyError(node: node, reason: "groupByKey() needs serdes: the key or value type changed; pass key: and value:"))
            return KGroupedStream(stream: self, keySerde: .placeholder, valueSerde: .placeholder)
        }
        let upstream = keyChanged ? repartition(key: keySerde, value: valueSerde) : self
        return KGroupedStream(stream: upstream, keySerde: keySerde, valueSerde: valueSerde)
    }
}

extension Serde {
    /// Stands in where a build error was reported already.
    static var placeholder: Serde<Value> {
        Serde(name: "missing", serialize: { _ in nil }, deserialize: { _ in throw SerdeError(serde: "missing", reason: "no serde was given") })
    }
}
