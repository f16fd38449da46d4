/// A `kind: Pipeline` resource: steps calling models, joined over Kafka topics, with an output and optionally
/// inputs from other pipelines (Seldon Core 2's `mlops.seldon.io/v1alpha1` format).
public struct PipelineResource: Sendable, Hashable {
    public var name: Located<String>
    public var namespace: String?
    public var steps: [PipelineStep]
    public var output: Output?
    public var input: Input?
    public var allowCycles: Bool
    public var maxStepRevisits: Located<Int64>?
    /// Fields of `spec` not acted on (such as `dataflow`), kept as written.
    public var otherSpec: [String: ResourceValue]

    /// `spec.dataflow.cleanTopicsOnDelete`: whether deleting the pipeline deletes its inputs and outputs topics.
    public var cleansTopicsOnDelete: Bool { otherSpec["dataflow"]?["cleanTopicsOnDelete"] == .bool(true) }

    /// What the pipeline answers with.
    public struct Output: Sendable, Hashable {
        public var steps: [Located<String>]
        public var stepsJoin: JoinType
        public var joinWindowMs: Located<Int64>?
        public var tensorMap: [TensorMapping]
    }

    /// Where requests come from besides the pipeline's own inputs topic: other pipelines' tensors.
    public struct Input: Sendable, Hashable {
        public var externalInputs: [Located<String>]
        public var externalTriggers: [Located<String>]
        public var joinType: JoinType
        public var triggersJoinType: JoinType
        public var joinWindowMs: Located<Int64>?
        public var tensorMap: [TensorMapping]
    }

    init(name: Located<String>, namespace: String?, spec node: YAMLNode) throws(ResourceError) {
        self.name = name
        self.namespace = namespace
        let spec = try node.mapping()
        steps = []
        for step in try spec["steps"]?.list() ?? [] { steps.append(try PipelineStep(step)) }
        if let node = spec["output"] {
            let output = try node.mapping()
            try output.rejectUnknown(["steps", "stepsJoin", "joinWindowMs", "tensorMap"])
            self.output = Output(
                steps: try output["steps"].map(PipelineStep.references) ?? [],
                stepsJoin: try output["stepsJoin"].map(JoinType.init) ?? .inner,
                joinWindowMs: try output["joinWindowMs"].map { node throws(ResourceError) in try node.locatedInt() },
                tensorMap: try output["tensorMap"].map(TensorMapping.list) ?? []
            )
        } else {
            output = nil
        }
        if let node = spec["input"] {
            let input = try node.mapping()
            try input.rejectUnknown(["externalInputs", "externalTriggers", "joinType", "triggersJoinType", "joinWindowMs", "tensorMap"])
            self.input = Input(
                externalInputs: try input["externalInputs"].map(PipelineStep.references) ?? [],
                externalTriggers: try input["externalTriggers"].map(PipelineStep.references) ?? [],
                joinType: try input["joinType"].map(JoinType.init) ?? .inner,
                triggersJoinType: try input["triggersJoinType"].map(JoinType.init) ?? .inner,
                joinWindowMs: try input["joinWindowMs"].map { node throws(ResourceError) in try node.locatedInt() },
                tensorMap: try input["tensorMap"].map(TensorMapping.list) ?? []
            )
        } else {
            input = nil
        }
        allowCycles = try spec["allowCycles"]?.bool() ?? false
        maxStepRevisits = try spec["maxStepRevisits"].map { node throws(ResourceError) in try node.locatedInt() }
        otherSpec = spec.others(than: ["steps", "output", "input", "allowCycles", "maxStepRevisits"])
    }
}
