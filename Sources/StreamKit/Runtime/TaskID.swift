/// Identifies a task: one partition of one sub-topology of one topology, as Kafka Streams writes it (`0_3`, or
/// `name__0_3` for a task of the named topology `name`).
public struct TaskID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The named topology the task belongs to; empty for an application's only, unnamed topology.
    public var topology: String
    public var subtopology: Int
    public var partition: Int32

    public init(topology: String = "", subtopology: Int, partition: Int32) {
        self.topology = topology
        self.subtopology = subtopology
        self.partition = partition
    }

    public var description: String {
        topology.isEmpty ? "\(subtopology)_\(partition)" : "\(topology)__\(subtopology)_\(partition)"
    }

    public static func < (lhs: TaskID, rhs: TaskID) -> Bool {
        (lhs.topology, lhs.subtopology, lhs.partition) < (rhs.topology, rhs.subtopology, rhs.partition)
    }
}
