extension KStream {
    /// Keeps the first record of each key and drops the later ones within `window` of it: "at most once per
    /// key and window", e.g. so that the first of several signals for one request acts and the others do not.
    ///
    /// The keys seen wait in a window store (with a changelog unless `materialized` says otherwise) for
    /// twice `window`; a record older than that is dropped as late.
    public func deduplicate(
        within window: Duration,
        named name: String? = nil,
        materialized: Materialized = .persistent(),
        key: Serde<Key>? = nil
    ) -> KStream {
        let node = builder.name(name, "DEDUPLICATE")
        guard let keySerde = key ?? keySerde else {
            builder.report(TopologyError(node: node, reason: "deduplicate needs a key serde for its store: the key type changed; pass key:"))
            return self
        }
        let upstream = repartitionedIfKeyChanged(before: node)
        let storeName = materialized.storeName.map { "\($0)-dedup-store" } ?? "\(node)-store"
        let span = window.wholeMilliseconds
        builder.addStore(materialized.windowStore(
            storeName, retention: .milliseconds(2 * span + 1), retainDuplicates: false, key: keySerde, value: .bytes
        ))
        builder.add(node, parents: [upstream.node], stores: [storeName]) {
            ProcessorAdapter(DeduplicationProcessor<Key, Value>(storeName: storeName, window: span))
        }
        return KStream(builder: builder, node: node, keySerde: keySerde, valueSerde: valueSerde, keyChanged: false)
    }
}
