/// One step of a pipeline: a call of the model it is named after, fed by its inputs once its triggers are there.
public struct PipelineStep: Sendable, Hashable {
    public var name: Located<String>
    /// Sources of the step's request tensors (`step`, `step.outputs.T`, `pipeline.inputs.T`, …); none means the
    /// pipeline's inputs.
    public var inputs: [Located<String>]
    /// Sources that must be present before the step runs; their tensors are not passed on.
    public var triggers: [Located<String>]
    public var inputsJoinType: JoinType
    public var triggersJoinType: JoinType
    /// The join window; `nil` takes the default (60 s).
    public var joinWindowMs: Located<Int64>?
    /// Renames of source tensors (fully qualified) to the model's input names, in the order written.
    public var tensorMap: [TensorMapping]
    public var batch: Batch?

    /// Requests gathered into one model call.
    public struct Batch: Sendable, Hashable {
        /// How many requests make a batch.
        public var size: Located<Int64>?
        /// How long a batch waits for more requests at most.
        public var windowMs: Located<Int64>?
        /// Whether each request joins the batch of the requests before it (a sliding batch) instead of batches
        /// following one another.
        public var rolling: Bool
    }

    static let fields: Set<String> = ["name", "inputs", "triggers", "inputsJoinType", "triggersJoinType", "joinWindowMs", "tensorMap", "batch"]

    init(_ node: YAMLNode) throws(ResourceError) {
        let map = try node.mapping()
        try map.rejectUnknown(Self.fields)
        let name = try map.required("name")
        self.name = name.located(try name.string())
        inputs = try map["inputs"].map(Self.references) ?? []
        triggers = try map["triggers"].map(Self.references) ?? []
        inputsJoinType = try map["inputsJoinType"].map(JoinType.init) ?? .inner
        triggersJoinType = try map["triggersJoinType"].map(JoinType.init) ?? .inner
        joinWindowMs = try map["joinWindowMs"].map { node throws(ResourceError) in try node.locatedInt() }
        tensorMap = try map["tensorMap"].map(TensorMapping.list) ?? []
        if let node = map["batch"] {
            let batch = try node.mapping()
            try batch.rejectUnknown(["size", "windowMs", "rolling"])
            self.batch = Batch(
                size: try batch["size"].map { node throws(ResourceError) in try node.locatedInt() },
                windowMs: try batch["windowMs"].map { node throws(ResourceError) in try node.locatedInt() },
                rolling: try batch["rolling"]?.bool() ?? false
            )
        } else {
            batch = nil
        }
    }

    static func references(_ node: YAMLNode) throws(ResourceError) -> [Located<String>] {
        var references: [Located<String>] = []
        for item in try node.list() { references.append(item.located(try item.string())) }
        return references
    }
}

/// One `tensorMap` entry: a fully qualified source tensor and the name it takes.
public struct TensorMapping: Sendable, Hashable {
    public var source: Located<String>
    public var name: String

    static func list(_ node: YAMLNode) throws(ResourceError) -> [TensorMapping] {
        var mappings: [TensorMapping] = []
        for (key, value) in try node.mapping().entries {
            mappings.append(TensorMapping(source: value.located(key), name: try value.string()))
        }
        return mappings
    }
}

extension YAMLMapping {
    /// Refuses keys outside `known`, so that a misspelt field is an error rather than silently ignored.
    func rejectUnknown(_ known: Set<String>) throws(ResourceError) {
        guard let unknown = entries.first(where: { !known.contains($0.key) }) else { return }
        throw unknown.value.error("unknown field; expected one of \(known.sorted().joined(separator: ", "))")
    }
}
