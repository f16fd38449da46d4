import Dataflow

/// What one `dataflow serve` instance tells the others of itself on the status topic: the roles it runs, how far
/// it has acted on the desired state, the status of each pipeline on its engine and which pipelines' answers its
/// pipeline gateway reads. Written as JSON at every heartbeat, and as a tombstone when it stops.
public struct InstanceReport: Codable, Sendable, Hashable {
    public var instance: String
    public var roles: [String]
    /// The next offset of the control topic it will act on: every change before it is applied there.
    public var controlOffset: Int64
    /// The pipelines on its engine (empty without the engine role).
    public var pipelines: [PipelineReport]
    /// The pipelines whose answers its pipeline gateway reads, so that it can answer their requests.
    public var answering: [String]
    /// The models its model gateway serves.
    public var models: [String]
    /// From the instance that schedules models: the servers each placed model is loaded on.
    public var placement: [String: [String]]?
    /// From the instance that schedules models: each placed model's status (`Available`, `Loading`, `Unloading`, `Failed: …`).
    public var modelStatus: [String: String]?

    public struct PipelineReport: Codable, Sendable, Hashable {
        public var name: String
        public var version: Int
        /// ``PipelineStatus`` as text: `Ready`, `Failed: …`.
        public var status: String
    }

    public init(instance: String, roles: [String], controlOffset: Int64, pipelines: [PipelineReport] = [], answering: [String] = [], models: [String] = []) {
        self.instance = instance
        self.roles = roles
        self.controlOffset = controlOffset
        self.pipelines = pipelines
        self.answering = answering
        self.models = models
    }

    public func runs(_ role: String) -> Bool { roles.contains(role) }
}
