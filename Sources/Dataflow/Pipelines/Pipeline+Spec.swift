extension Pipeline {
    /// The pipeline as it runs, in the resource's YAML layout: every reference in its canonical form, every
    /// default written out. What `dataflow describe` shows, so that one sees what the engine made of a resource.
    public var normalisedSpec: String {
        var lines = ["name: \(name)"]
        if let input {
            lines.append("input:")
            lines.append("  externalInputs: \(list(input.externalInputs))")
            if !input.externalTriggers.isEmpty { lines.append("  externalTriggers: \(list(input.externalTriggers))") }
            lines.append("  joinType: \(input.joinType.rawValue)")
            if !input.externalTriggers.isEmpty { lines.append("  triggersJoinType: \(input.triggersJoinType.rawValue)") }
            lines.append("  joinWindowMs: \(input.joinWindowMs)")
            lines += renames(input.tensorMap, indent: "  ")
        }
        lines.append("steps:")
        for step in steps {
            lines.append("  - name: \(step.name)")
            lines.append("    inputs: \(list(step.inputs))")
            lines.append("    inputsJoinType: \(step.inputsJoinType.rawValue)")
            if !step.triggers.isEmpty {
                lines.append("    triggers: \(list(step.triggers))")
                lines.append("    triggersJoinType: \(step.triggersJoinType.rawValue)")
            }
            lines.append("    joinWindowMs: \(step.joinWindowMs)")
            lines += renames(step.tensorMap, indent: "    ")
            if let batch = step.batch {
                lines.append("    batch:")
                if let size = batch.size { lines.append("      size: \(size)") }
                if let windowMs = batch.windowMs { lines.append("      windowMs: \(windowMs)") }
                lines.append("      rolling: \(batch.rolling)")
            }
        }
        if let output {
            lines.append("output:")
            lines.append("  steps: \(list(output.sources))")
            lines.append("  stepsJoin: \(output.join.rawValue)")
            lines.append("  joinWindowMs: \(output.joinWindowMs)")
            lines += renames(output.tensorMap, indent: "  ")
        } else {
            lines.append("output: none (asynchronous only)")
        }
        lines.append("allowCycles: \(allowCycles)")
        if allowCycles { lines.append("maxStepRevisits: \(maxStepRevisits)") }
        return lines.joined(separator: "\n") + "\n"
    }

    private func list(_ references: [TensorReference]) -> String {
        "[" + references.map { $0.text(relativeTo: name) }.joined(separator: ", ") + "]"
    }

    private func renames(_ map: [Rename], indent: String) -> [String] {
        guard !map.isEmpty else { return [] }
        return ["\(indent)tensorMap:"] + map.map { "\(indent)  \($0.source.text(relativeTo: name)): \($0.name)" }
    }
}
