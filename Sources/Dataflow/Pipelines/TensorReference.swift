/// A normalised reference to tensors of a pipeline: the inputs or outputs of the pipeline or of one of its steps,
/// all of them or one tensor. Written forms (DESIGN §4) — `step` ≡ `step.outputs`, `pipeline` ≡ `pipeline.inputs`,
/// `step.outputs.T`, `other.step.S.outputs.T` — all come down to this.
public struct TensorReference: Sendable, Hashable, CustomStringConvertible {
    public enum Side: String, Sendable, Hashable { case inputs, outputs }

    /// The pipeline the tensors belong to.
    public var pipeline: String
    /// The step, or `nil` for the pipeline's own inputs or outputs.
    public var step: String?
    public var side: Side
    /// One tensor, or `nil` for all of them.
    public var tensor: String?

    public init(pipeline: String, step: String?, side: Side, tensor: String? = nil) {
        self.pipeline = pipeline
        self.step = step
        self.side = side
        self.tensor = tensor
    }

    /// The same source without the tensor.
    public var source: TensorReference { TensorReference(pipeline: pipeline, step: step, side: side) }

    /// The canonical text, relative to `pipeline` when it is the same one: `sum.outputs.OUTPUT0`, `chain.inputs`,
    /// `other.step.sum.outputs`.
    public func text(relativeTo own: String) -> String {
        var parts: [String]
        if let step {
            parts = pipeline == own ? [step] : [pipeline, "step", step]
        } else {
            parts = [pipeline]
        }
        parts.append(side.rawValue)
        if let tensor { parts.append(tensor) }
        return parts.joined(separator: ".")
    }

    public var description: String { text(relativeTo: "") }
}
