import Dataflow

/// What the pipeline gateway needs to know of the deployed resources: which pipelines exist and their status,
/// and which models can be called directly. The engine of the same process is one; the control plane of a
/// scaled-out deployment is another.
public protocol PipelineDirectory: Sendable {
    /// The pipeline named `name` as deployed, or `nil` when there is none.
    func pipeline(named name: String) async -> PipelineState?
    /// Whether a model named `name` is deployed.
    func hasModel(named name: String) async -> Bool
    /// Every pipeline deployed.
    func allPipelines() async -> [PipelineState]
}

extension DataflowEngine: PipelineDirectory {
    public func pipeline(named name: String) async -> PipelineState? { state(of: name) }
    public func hasModel(named name: String) async -> Bool { models[name] != nil }
    public func allPipelines() async -> [PipelineState] { pipelines() }
}
