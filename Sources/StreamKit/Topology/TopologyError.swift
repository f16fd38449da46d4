/// A topology that cannot be built or run as written; names the node (or topic) at fault.
public struct TopologyError: Error, Sendable, CustomStringConvertible {
    public var node: String
    public var reason: String

    public init(node: String, reason: String) {
        self.node = node
        self.reason = reason
    }

    public var description: String { "topology node '\(node)': \(reason)" }
}
