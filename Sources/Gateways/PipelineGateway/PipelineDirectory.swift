import Dataflow

/// What the pipeline gateway needs to know of the deployed resources: which pipelines exist and their status,
/// and which models can be called directly. The engine of the same process is one; the control plane of a
/// scaled-out deployment is another.
public protocol PipelineDirectory: Sendable {
    /// The pipeline named `name` as deployed, or `nil` when there is none.
    func pipeline(named name: String) async -> PipelineState?
    /// Whether a model named `name` is deployed.
    func hasModel(named name: String) async -> Bool
    /// The server to call model `name` on directly (where it is placed, or the server its resource names), or
    /// `nil` when it has none yet: its requests then go through its Kafka topics and wait there for one.
    func server(ofModel name: String) async -> ModelServer?
    /// Every pipeline deployed.
    func allPipelines() async -> [PipelineState]
    /// The experiment whose `default` is `target` (a model or pipeline of its `resourceType`), if one runs.
    func experiment(routing target: InferenceTarget) async -> ExperimentResource?
}

extension PipelineDirectory {
    public func experiment(routing target: InferenceTarget) async -> ExperimentResource? { nil }
    public func server(ofModel name: String) async -> ModelServer? { nil }
}

extension DataflowEngine: PipelineDirectory {
    public func pipeline(named name: String) async -> PipelineState? { await state(of: name) }
    public func hasModel(named name: String) async -> Bool { models[name] != nil }

    /// The server a model's resource names; a model the scheduler would place has none here.
    public func server(ofModel name: String) async -> ModelServer? {
        guard let model = models[name] else { return nil }
        return ModelServer.assign(models: [model], servers: servers.values, defaultServer: nil).served[name]
    }
    public func allPipelines() async -> [PipelineState] { await pipelines() }
}

extension ControlPlane: PipelineDirectory {
    /// Pipeline `name` as the desired state has it, with its status on the engines alive (the gateway's own
    /// readiness left out); its version is where it was last applied on the control topic, the same everywhere.
    public func pipeline(named name: String) async -> PipelineState? {
        guard let entry = desired.entry(kind: "Pipeline", name: name), let pipeline = normalisedPipeline(name) else { return nil }
        let view = engineView(name, changedAt: entry.offset)
        return PipelineState(name: name, version: Int(entry.offset) + 1, status: PipelineStatus(description: view.status) ?? .creating, pipeline: pipeline)
    }

    public func hasModel(named name: String) async -> Bool { desired.entry(kind: "Model", name: name) != nil }

    public func server(ofModel name: String) async -> ModelServer? { modelServers[name] }

    public func experiment(routing target: InferenceTarget) async -> ExperimentResource? {
        for entry in desired.resources(ofKind: "Experiment") {
            guard case .experiment(let experiment) = entry.resource, let routed = experiment.defaultTarget?.value, routed == target.name else { continue }
            switch (experiment.resourceType, target) {
            case (.model, .model), (.pipeline, .pipeline): return experiment
            default: continue
            }
        }
        return nil
    }

    public func allPipelines() async -> [PipelineState] {
        var states: [PipelineState] = []
        for name in desired.pipelines.keys.sorted() {
            if let state = await pipeline(named: name) { states.append(state) }
        }
        return states
    }
}
