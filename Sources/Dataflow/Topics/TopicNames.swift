/// The Kafka topics pipelines and models talk through, named as Seldon Core 2 names them (DESIGN §5), so that
/// its clients find them: `<prefix>.<namespace>.model.<m>.inputs`, `…pipeline.<p>.outputs`, `…errors.errors`.
public struct TopicNames: Sendable, Hashable {
    public var prefix: String
    public var namespace: String

    public init(prefix: String = "seldon", namespace: String = "default") {
        self.prefix = prefix
        self.namespace = namespace
    }

    /// Requests (`ModelInferRequest`) for model `model`, from every pipeline using it.
    public func modelInputs(_ model: String) -> String { join("model", model, "inputs") }
    /// Responses (`ModelInferResponse`) of model `model`.
    public func modelOutputs(_ model: String) -> String { join("model", model, "outputs") }
    /// Requests to pipeline `pipeline`.
    public func pipelineInputs(_ pipeline: String) -> String { join("pipeline", pipeline, "inputs") }
    /// Responses of pipeline `pipeline`, and its error records.
    public func pipelineOutputs(_ pipeline: String) -> String { join("pipeline", pipeline, "outputs") }
    /// Requests a model could not answer, with the header ``DataflowHeaders/error`` naming the model.
    public var errors: String { join("errors", "errors") }
    /// The applied resources (the desired state), one record per resource keyed `Kind/name`, compacted; every
    /// instance reads it whole to converge on the same pipelines.
    public var controlResources: String { join("control", "resources") }
    /// What each running instance reports of itself (roles, pipeline status, answers read), one record per
    /// instance keyed by its id, compacted; the control plane aggregates it into each pipeline's status.
    public var controlStatus: String { join("control", "status") }
    /// Records the engine could not handle at all (a write refused by the broker), with the reason in headers.
    public var deadLetters: String { join("errors", "dataflow") }

    /// The topic holding the tensors `reference` points at (a step is named after its model).
    public func topic(of reference: TensorReference) -> String {
        switch (reference.step, reference.side) {
        case (let step?, .inputs): modelInputs(step)
        case (let step?, .outputs): modelOutputs(step)
        case (nil, .inputs): pipelineInputs(reference.pipeline)
        case (nil, .outputs): pipelineOutputs(reference.pipeline)
        }
    }

    private func join(_ parts: String...) -> String { ([prefix, namespace] + parts).joined(separator: ".") }
}
