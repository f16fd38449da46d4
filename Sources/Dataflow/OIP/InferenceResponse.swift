/// An OIP inference response: what a model writes to its `.outputs` topic, and what a pipeline answers.
public struct InferenceResponse: Sendable, Hashable {
    public var modelName: String
    public var modelVersion: String
    public var id: String
    public var parameters: InferenceParameters
    public var outputs: [InferenceTensor]

    public init(modelName: String = "", modelVersion: String = "", id: String = "", parameters: InferenceParameters = [:], outputs: [InferenceTensor]) {
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.id = id
        self.parameters = parameters
        self.outputs = outputs
    }

    /// Checks every output (names, shapes against element counts). Two outputs may share a name: a pipeline
    /// whose output steps each answer `OUTPUT` answers with both, in step order, as Seldon Core 2 does.
    public func validate() throws(TensorError) { try outputs.validate(role: "output", uniqueNames: false) }
}
