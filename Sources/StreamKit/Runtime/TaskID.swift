/// Identifies a task: one partition of one sub-topology, as Kafka Streams writes it (`0_3`).
public struct TaskID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var subtopology: Int
    public var partition: Int32

    public init(subtopology: Int, partition: Int32) {
        self.subtopology = subtopology
        self.partition = partition
    }

    public var description: String { "\(subtopology)_\(partition)" }

    public static func < (lhs: TaskID, rhs: TaskID) -> Bool {
        (lhs.subtopology, lhs.partition) < (rhs.subtopology, rhs.partition)
    }
}
