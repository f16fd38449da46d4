/// One part of a compiled pipeline: its sources joined, gated by its triggers, renamed, maybe batched and cycle-
/// checked, and written to one topic. A step is a stage writing its model's inputs; a pipeline's `output` is a
/// stage writing the pipeline's outputs; its `input` (pipeline-to-pipeline) one writing the pipeline's inputs.
struct Stage: Sendable, Hashable {
    enum Sink: Sendable, Hashable {
        case model(String)
        case pipelineInputs
        case pipelineOutputs

        /// The side of the topic written: requests for inputs, responses for outputs.
        var side: TensorReference.Side { self == .pipelineOutputs ? .outputs : .inputs }
    }

    /// One source topic (of one pipeline) and the tensors taken from it, `nil` for all.
    struct Source: Sendable, Hashable {
        var reference: TensorReference
        var tensors: [String]?
    }

    var pipeline: String
    /// The step's name; `_input` and `_output` (never DNS labels, so never a step) for the pipeline's own.
    var name: String
    var sources: [Source]
    var triggers: [Source]
    var join: JoinType
    var triggersJoin: JoinType
    var windowMs: Int64
    var renames: [TensorReference: String]
    var batch: Pipeline.Batch?
    var sink: Sink
    /// The revisits allowed per request before an error record replaces it, when the pipeline has cycles.
    var maxRevisits: Int64?

    /// The name a source's tensor takes in this stage.
    func name(of tensor: String, from source: TensorReference) -> String {
        var reference = source
        reference.tensor = tensor
        return renames[reference] ?? tensor
    }

    /// References grouped by source in order of first appearance; a source named whole takes all its tensors.
    static func sources(_ references: [TensorReference]) -> [Source] {
        var sources: [Source] = []
        for reference in references {
            guard let index = sources.firstIndex(where: { $0.reference == reference.source }) else {
                sources.append(Source(reference: reference.source, tensors: reference.tensor.map { [$0] }))
                continue
            }
            guard let tensor = reference.tensor else {
                sources[index].tensors = nil
                continue
            }
            if let tensors = sources[index].tensors, !tensors.contains(tensor) { sources[index].tensors = tensors + [tensor] }
        }
        return sources
    }
}

extension Pipeline {
    /// The stages this pipeline compiles into: its input (when fed by other pipelines), its steps, its output.
    var stages: [Stage] {
        func renames(_ list: [Rename]) -> [TensorReference: String] {
            Dictionary(list.map { ($0.source, $0.name) }, uniquingKeysWith: { _, last in last })
        }
        var stages: [Stage] = []
        if let input {
            stages.append(Stage(
                pipeline: name, name: "_input",
                sources: Stage.sources(input.externalInputs), triggers: Stage.sources(input.externalTriggers),
                join: input.joinType, triggersJoin: input.triggersJoinType, windowMs: input.joinWindowMs,
                renames: renames(input.tensorMap), batch: nil, sink: .pipelineInputs, maxRevisits: nil
            ))
        }
        for step in steps {
            stages.append(Stage(
                pipeline: name, name: step.name,
                sources: Stage.sources(step.inputs), triggers: Stage.sources(step.triggers),
                join: step.inputsJoinType, triggersJoin: step.triggersJoinType, windowMs: step.joinWindowMs,
                renames: renames(step.tensorMap), batch: step.batch, sink: .model(step.name),
                maxRevisits: allowCycles ? maxStepRevisits : nil
            ))
        }
        if let output {
            stages.append(Stage(
                pipeline: name, name: "_output",
                sources: Stage.sources(output.sources), triggers: [],
                join: output.join, triggersJoin: .inner, windowMs: output.joinWindowMs,
                renames: renames(output.tensorMap), batch: nil, sink: .pipelineOutputs, maxRevisits: nil
            ))
        }
        return stages
    }
}
