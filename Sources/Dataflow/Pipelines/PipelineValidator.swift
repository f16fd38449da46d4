/// Checks a pipeline resource before anything runs and normalises it: names, references (to steps, to the
/// pipeline's inputs, to other pipelines), tensor maps, join windows, batches and cycles. Every problem found is
/// reported, each with its file, line and field.
struct PipelineValidator {
    let resource: PipelineResource
    /// Other pipelines that `spec.input` may read from, by name.
    let catalog: [String: PipelineResource]
    private var errors: [ResourceError] = []

    init(resource: PipelineResource, catalog: [String: PipelineResource]) {
        self.resource = resource
        self.catalog = catalog
    }

    var name: String { resource.name.value }

    mutating func validate() throws(ResourceErrors) -> Pipeline {
        var seen: Set<String> = []
        for step in resource.steps {
            if let problem = ResourceName.problem(step.name.value, what: "step (model)") { errors.append(step.name.error(problem)) }
            if step.name.value == name { errors.append(step.name.error("a step cannot have the pipeline's own name")) }
            if !seen.insert(step.name.value).inserted { errors.append(step.name.error("another step has this name")) }
        }
        let steps = resource.steps.map { normalise($0) }
        var output: Pipeline.Output?
        if let written = resource.output {
            let sources = written.steps.compactMap { local($0, allowOwnOutputs: false) }
            if sources.isEmpty { errors.append(ResourceError(location: resource.name.location, field: "spec.output.steps", problem: "the output needs at least one step")) }
            output = Pipeline.Output(
                sources: sources,
                join: written.stepsJoin,
                joinWindowMs: window(written.joinWindowMs),
                tensorMap: renames(written.tensorMap, sources: sources)
            )
        }
        var input: Pipeline.Input?
        if let written = resource.input {
            let inputs = written.externalInputs.compactMap { external($0) }
            let triggers = written.externalTriggers.compactMap { external($0) }
            input = Pipeline.Input(
                externalInputs: inputs,
                externalTriggers: triggers,
                joinType: written.joinType,
                triggersJoinType: written.triggersJoinType,
                joinWindowMs: window(written.joinWindowMs),
                tensorMap: renames(written.tensorMap, sources: inputs + triggers, external: true)
            )
        }
        let revisits = resource.maxStepRevisits?.value ?? 0
        if let written = resource.maxStepRevisits, written.value < 0 { errors.append(written.error("must be 0 or more")) }
        if let written = resource.maxStepRevisits, !resource.allowCycles, written.value > 0 {
            errors.append(written.error("revisits only happen in cycles; set allowCycles: true"))
        }
        checkCycles(steps)
        guard errors.isEmpty else { throw ResourceErrors(errors: errors) }
        return Pipeline(
            name: name, steps: steps, output: output, input: input,
            allowCycles: resource.allowCycles, maxStepRevisits: revisits, resource: resource
        )
    }

    private mutating func normalise(_ step: PipelineStep) -> Pipeline.Step {
        let inputs = step.inputs.isEmpty
            ? [TensorReference(pipeline: name, step: nil, side: .inputs)]
            : step.inputs.compactMap { local($0, allowOwnOutputs: false) }
        let triggers = step.triggers.compactMap { local($0, allowOwnOutputs: false) }
        for reference in inputs + triggers where reference.step == step.name.value && reference.side == .inputs {
            errors.append(step.name.error("a step cannot read its own inputs"))
        }
        var batch: Pipeline.Batch?
        if let written = step.batch {
            for value in [written.size, written.windowMs].compactMap({ $0 }) where value.value < 1 {
                errors.append(value.error("must be 1 or more"))
            }
            if written.rolling, written.size == nil {
                errors.append(step.name.error("a rolling batch needs batch.size (the number of requests it spans)"))
            }
            batch = Pipeline.Batch(size: written.size?.value, windowMs: written.windowMs?.value, rolling: written.rolling)
        }
        return Pipeline.Step(
            name: step.name.value,
            inputs: inputs,
            triggers: triggers,
            inputsJoinType: step.inputsJoinType,
            triggersJoinType: step.triggersJoinType,
            joinWindowMs: window(step.joinWindowMs),
            tensorMap: renames(step.tensorMap, sources: inputs + triggers),
            batch: batch
        )
    }

    private mutating func window(_ written: Located<Int64>?) -> Int64 {
        guard let written else { return Pipeline.defaultJoinWindowMs }
        if written.value < 1 { errors.append(written.error("the join window must be 1 ms or more")) }
        return written.value
    }

    /// A reference inside the pipeline: `step[.inputs|outputs[.T]]` or `<pipeline>[.inputs[.T]]`.
    private mutating func local(_ written: Located<String>, allowOwnOutputs: Bool) -> TensorReference? {
        let parts = written.value.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 3, parts.allSatisfy({ !$0.isEmpty }) else {
            errors.append(written.error("'\(written.value)' is not a reference; expected step, step.outputs, step.outputs.TENSOR or \(name).inputs.TENSOR"))
            return nil
        }
        guard let side = self.side(parts, at: 1, written) else { return nil }
        let tensor = parts.count == 3 ? parts[2] : nil
        if parts[0] == name {
            guard side == .inputs || allowOwnOutputs else {
                errors.append(written.error("a step cannot read the pipeline's own outputs"))
                return nil
            }
            return TensorReference(pipeline: name, step: nil, side: side, tensor: tensor)
        }
        guard resource.steps.contains(where: { $0.name.value == parts[0] }) else {
            let steps = resource.steps.map(\.name.value).joined(separator: ", ")
            errors.append(written.error("'\(parts[0])' is neither a step of pipeline '\(name)' (steps: \(steps)) nor the pipeline itself"))
            return nil
        }
        return TensorReference(pipeline: name, step: parts[0], side: side, tensor: tensor)
    }

    /// A reference to another pipeline: `other[.inputs|outputs[.T]]` or `other.step.S[.inputs|outputs[.T]]`.
    private mutating func external(_ written: Located<String>) -> TensorReference? {
        let parts = written.value.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty }), parts.count <= (parts.count > 1 && parts[1] == "step" ? 5 : 3) else {
            errors.append(written.error("'\(written.value)' is not a reference; expected other, other.outputs.TENSOR or other.step.STEP.outputs.TENSOR"))
            return nil
        }
        let pipeline = parts[0]
        guard pipeline != name else {
            errors.append(written.error("spec.input reads other pipelines; this pipeline's own inputs are read anyway"))
            return nil
        }
        guard let other = catalog[pipeline] else {
            errors.append(written.error("no pipeline '\(pipeline)' is deployed or declared beside this one"))
            return nil
        }
        if parts.count > 1, parts[1] == "step" {
            guard parts.count >= 3 else {
                errors.append(written.error("'\(written.value)' names no step; expected \(pipeline).step.STEP"))
                return nil
            }
            guard other.steps.contains(where: { $0.name.value == parts[2] }) else {
                errors.append(written.error("pipeline '\(pipeline)' has no step '\(parts[2])'"))
                return nil
            }
            guard let side = self.side(parts, at: 3, written) else { return nil }
            return TensorReference(pipeline: pipeline, step: parts[2], side: side, tensor: parts.count == 5 ? parts[4] : nil)
        }
        guard let side = self.side(parts, at: 1, written) else { return nil }
        if side == .outputs, other.output == nil {
            errors.append(written.error("pipeline '\(pipeline)' has no output (spec.output); read one of its steps: \(pipeline).step.STEP.outputs"))
            return nil
        }
        return TensorReference(pipeline: pipeline, step: nil, side: side, tensor: parts.count == 3 ? parts[2] : nil)
    }

    /// `inputs` or `outputs` at `index`; a bare step or pipeline means outputs for a step, inputs for this pipeline.
    private mutating func side(_ parts: [String], at index: Int, _ written: Located<String>) -> TensorReference.Side? {
        guard index < parts.count else { return index == 1 && parts[0] == name ? .inputs : .outputs }
        guard let side = TensorReference.Side(rawValue: parts[index]) else {
            errors.append(written.error("'\(parts[index])' in '\(written.value)' should be inputs or outputs"))
            return nil
        }
        return side
    }

    /// Tensor-map entries: keys fully qualified and naming one of `sources` (of other pipelines, for `external`).
    private mutating func renames(_ mappings: [TensorMapping], sources: [TensorReference], external: Bool = false) -> [Pipeline.Rename] {
        mappings.compactMap { mapping in
            let reference = external ? self.external(mapping.source) : local(mapping.source, allowOwnOutputs: false)
            guard let reference else { return nil }
            guard reference.tensor != nil else {
                errors.append(mapping.source.error("a tensorMap key names one tensor: '\(mapping.source.value).TENSOR'"))
                return nil
            }
            guard sources.contains(where: { $0.source == reference.source }) else {
                let declared = sources.map { $0.source.text(relativeTo: name) }.joined(separator: ", ")
                errors.append(mapping.source.error("'\(mapping.source.value)' is not from a declared source (\(declared))"))
                return nil
            }
            if mapping.name.isEmpty { errors.append(mapping.source.error("maps to an empty tensor name")) }
            return Pipeline.Rename(source: reference, name: mapping.name)
        }
    }

    /// A step that (through its inputs and triggers) depends on itself is refused unless `allowCycles`.
    private mutating func checkCycles(_ steps: [Pipeline.Step]) {
        guard !resource.allowCycles else { return }
        let edges = Dictionary(steps.map { step in
            (step.name, Set((step.inputs + step.triggers).filter { $0.pipeline == name }.compactMap(\.step)))
        }, uniquingKeysWith: { first, _ in first })
        var state: [String: Bool] = [:]  // false: on the path, true: done
        var path: [String] = []
        func visit(_ step: String) -> [String]? {
            if state[step] == true { return nil }
            if state[step] == false { return Array(path[path.firstIndex(of: step)!...]) + [step] }
            state[step] = false
            path.append(step)
            for next in edges[step, default: []].sorted() {
                if let cycle = visit(next) { return cycle }
            }
            path.removeLast()
            state[step] = true
            return nil
        }
        for step in steps {
            guard let cycle = visit(step.name) else { continue }
            let located = resource.steps.first { $0.name.value == cycle[0] }!.name
            errors.append(located.error("steps form a cycle (\(cycle.reversed().joined(separator: " → "))); set allowCycles: true and maxStepRevisits to allow it"))
            return
        }
    }
}

extension Pipeline {
    /// Checks `resource` and normalises it; `catalog` holds the other pipelines its `spec.input` may read.
    ///
    /// - Throws: ``ResourceErrors`` with every problem found.
    public init(_ resource: PipelineResource, catalog: [String: PipelineResource] = [:]) throws(ResourceErrors) {
        var validator = PipelineValidator(resource: resource, catalog: catalog)
        self = try validator.validate()
    }

    /// Checks `resources` together, each against `deployed` with all of `resources` in place of the deployed
    /// pipelines of the same names.
    ///
    /// - Throws: ``ResourceErrors`` with every problem of every pipeline.
    public static func validate(_ resources: [PipelineResource], replacing deployed: [String: PipelineResource]) throws(ResourceErrors) -> [Pipeline] {
        var catalog = deployed
        for resource in resources { catalog[resource.name.value] = resource }
        var pipelines: [Pipeline] = []
        var errors: [ResourceError] = []
        for resource in resources {
            do {
                pipelines.append(try Pipeline(resource, catalog: catalog))
            } catch {
                errors += error.errors
            }
        }
        guard errors.isEmpty else { throw ResourceErrors(errors: errors) }
        return pipelines
    }
}
