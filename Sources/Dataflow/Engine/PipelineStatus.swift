/// Where a deployed pipeline is in its life, as the gateways and the CLI see it.
public enum PipelineStatus: Sendable, Hashable, CustomStringConvertible {
    /// Accepted and valid; its topics and topology are being set up.
    case creating
    /// Running: requests on its inputs topic are processed.
    case ready
    /// Could not be set up; the reason says why. A previous version, if any, goes on running.
    case failed(String)
    /// Being removed.
    case terminating
    /// Removed: nothing of it runs any more.
    case terminated

    public var description: String {
        switch self {
        case .creating: "Creating"
        case .ready: "Ready"
        case .failed(let reason): "Failed: \(reason)"
        case .terminating: "Terminating"
        case .terminated: "Terminated"
        }
    }
}

/// One pipeline as the engine knows it.
public struct PipelineState: Sendable, Hashable {
    public var name: String
    /// Counts deployments of this name, from 1.
    public var version: Int
    public var status: PipelineStatus
    /// The pipeline with every reference normalised, as it runs.
    public var pipeline: Pipeline

    public init(name: String, version: Int, status: PipelineStatus, pipeline: Pipeline) {
        self.name = name
        self.version = version
        self.status = status
        self.pipeline = pipeline
    }
}

extension PipelineStatus {
    /// The status `description` shows, read back (as instances report it to each other); `nil` for other text.
    public init?(description text: String) {
        switch text {
        case "Creating": self = .creating
        case "Ready": self = .ready
        case "Terminating": self = .terminating
        case "Terminated": self = .terminated
        default:
            guard text.hasPrefix("Failed: ") else { return nil }
            self = .failed(String(text.dropFirst("Failed: ".count)))
        }
    }
}
