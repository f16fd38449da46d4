/// Where one topology of an application is in this instance.
public enum TopologyStatus: Sendable, Hashable, CustomStringConvertible {
    /// Not processing everything it should yet; the reason says what it waits for (the group's assignment, a
    /// task restoring its stores, a failed task's backoff).
    case starting(String)
    /// The group has given this instance its share of the topology's tasks, and every one of them runs with its
    /// stores restored.
    case running
    /// It ran, and now some of its tasks are moving or starting again (a rebalance, a restart after a failure,
    /// a replacement); the reason says what it waits for. Records meanwhile wait in their topics.
    case rebalancing(String)
    /// Stopped or removed.
    case stopped
    /// Stopped by an error, which the text describes.
    case failed(String)

    public var description: String {
        switch self {
        case .starting(let reason): "starting (\(reason))"
        case .running: "running"
        case .rebalancing(let reason): "rebalancing (\(reason))"
        case .stopped: "stopped"
        case .failed(let reason): "failed: \(reason)"
        }
    }
}
