/// The branches of ``KStream/split(named:)``: each record goes to the first branch whose predicate matches, or
/// to the default branch, or nowhere.
///
/// ```swift
/// let branches = orders.split(named: "orders-")
///     .branch("large") { $0.value.amount > 1000 }
///     .defaultBranch("normal")
/// branches["orders-large"]?.to("review")
/// ```
public final class BranchedKStream<Key: Sendable, Value: Sendable> {
    private let parent: KStream<Key, Value>
    private let node: String
    private let prefix: String
    private var predicates: [(child: String, matches: @Sendable (Record<Key, Value>) async throws -> Bool)] = []
    private var streams: [String: KStream<Key, Value>] = [:]
    private var finished = false

    init(parent: KStream<Key, Value>, node: String, prefix: String) {
        self.parent = parent
        self.node = node
        self.prefix = prefix
    }

    /// Adds a branch named `<prefix><name>` for the records that match `predicate` and no earlier branch.
    @discardableResult
    public func branch(_ name: String, where predicate: @escaping @Sendable (Record<Key, Value>) async throws -> Bool) -> Self {
        let child = prefix + name
        predicates.append((child, predicate))
        streams[child] = KStream(
            builder: parent.builder,
            node: child,
            keySerde: parent.keySerde,
            valueSerde: parent.valueSerde,
            keyChanged: parent.keyChanged
        )
        return self
    }

    /// Adds the branch for records no predicate matched, and returns all branches by name.
    public func defaultBranch(_ name: String = "default") -> [String: KStream<Key, Value>] {
        branch(name) { _ in true }
        return noDefaultBranch()
    }

    /// Returns all branches by name; records no predicate matched are dropped.
    public func noDefaultBranch() -> [String: KStream<Key, Value>] {
        guard !finished else { return streams }
        finished = true
        let routes = predicates
        let builder = parent.builder
        builder.add(node, parents: [parent.node]) {
            FunctionNode { record, context in
                let typed = record.typed(Key.self, Value.self)
                for route in routes where try await route.matches(typed) {
                    try await context.forward(record, to: route.child)
                    return
                }
            }
        }
        for (child, _) in routes {
            builder.add(child, parents: [node]) { PassThroughNode() }
        }
        return streams
    }
}
