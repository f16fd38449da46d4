/// An OIP inference request: what a pipeline or a model receives on its `.inputs` topic, or over HTTP and gRPC.
public struct InferenceRequest: Sendable, Hashable {
    public var modelName: String
    public var modelVersion: String
    public var id: String
    public var parameters: InferenceParameters
    public var inputs: [InferenceTensor]
    /// The outputs asked for, by name with their parameters; none means all.
    public var outputs: [RequestedOutput]

    public struct RequestedOutput: Sendable, Hashable {
        public var name: String
        public var parameters: InferenceParameters

        public init(name: String, parameters: InferenceParameters = [:]) {
            self.name = name
            self.parameters = parameters
        }
    }

    public init(
        modelName: String = "",
        modelVersion: String = "",
        id: String = "",
        parameters: InferenceParameters = [:],
        inputs: [InferenceTensor],
        outputs: [RequestedOutput] = []
    ) {
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.id = id
        self.parameters = parameters
        self.inputs = inputs
        self.outputs = outputs
    }

    /// Checks every input (names, shapes against element counts) and that names are unique.
    public func validate() throws(TensorError) {
        try inputs.validate(role: "input", uniqueNames: true)
        var requested: Set<String> = []
        for output in outputs where !requested.insert(output.name).inserted {
            throw TensorError(tensor: output.name, problem: "requested twice among the outputs")
        }
    }
}
