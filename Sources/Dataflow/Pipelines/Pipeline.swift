/// A pipeline that passed every check, with each reference normalised (``TensorReference``) and defaults filled
/// in: what the compiler builds a topology from, and what status and describe show.
public struct Pipeline: Sendable, Hashable {
    /// Seldon's default join window.
    public static let defaultJoinWindowMs: Int64 = 60_000

    public var name: String
    public var steps: [Step]
    /// `nil` for a pipeline that answers nobody (a detector fed by another pipeline): its steps run, and a
    /// synchronous request to it is refused.
    public var output: Output?
    public var input: Input?
    public var allowCycles: Bool
    public var maxStepRevisits: Int64
    /// The resource as written.
    public var resource: PipelineResource

    public struct Step: Sendable, Hashable {
        public var name: String
        public var inputs: [TensorReference]
        public var triggers: [TensorReference]
        public var inputsJoinType: JoinType
        public var triggersJoinType: JoinType
        public var joinWindowMs: Int64
        public var tensorMap: [Rename]
        public var batch: Batch?
    }

    /// A tensor of a source taking a new name.
    public struct Rename: Sendable, Hashable {
        public var source: TensorReference
        public var name: String
    }

    public struct Batch: Sendable, Hashable {
        public var size: Int64?
        public var windowMs: Int64?
        public var rolling: Bool
    }

    public struct Output: Sendable, Hashable {
        public var sources: [TensorReference]
        public var join: JoinType
        public var joinWindowMs: Int64
        public var tensorMap: [Rename]
    }

    public struct Input: Sendable, Hashable {
        public var externalInputs: [TensorReference]
        public var externalTriggers: [TensorReference]
        public var joinType: JoinType
        public var triggersJoinType: JoinType
        public var joinWindowMs: Int64
        public var tensorMap: [Rename]
    }

    /// The pipeline's own inputs, where steps without `inputs` read.
    public var inputsReference: TensorReference { TensorReference(pipeline: name, step: nil, side: .inputs) }
}
