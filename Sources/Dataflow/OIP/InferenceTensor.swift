/// One named tensor of a request (an input) or of a response (an output): shape, parameters and typed elements.
public struct InferenceTensor: Sendable, Hashable {
    public var name: String
    public var shape: [Int64]
    public var parameters: InferenceParameters
    public var contents: TensorContents

    public var datatype: Datatype { contents.datatype }

    public init(name: String, shape: [Int64], parameters: InferenceParameters = [:], contents: TensorContents) {
        self.name = name
        self.shape = shape
        self.parameters = parameters
        self.contents = contents
    }

    /// The number of elements `shape` holds (1 for a scalar, the empty shape).
    public var elementCount: Int64 { shape.reduce(1, *) }

    /// Checks that the tensor has a name, a shape without negative dimensions and as many elements as it says.
    public func validate() throws(TensorError) {
        guard !name.isEmpty else { throw TensorError(tensor: "(unnamed \(datatype))", problem: "a tensor needs a name") }
        if let negative = shape.first(where: { $0 < 0 }) {
            throw TensorError(tensor: name, problem: "shape \(shape) has a negative dimension \(negative)")
        }
        let (expected, overflow) = shape.reduce((Int64(1), false)) { partial, dimension in
            let (product, overflow) = partial.0.multipliedReportingOverflow(by: dimension)
            return (product, partial.1 || overflow)
        }
        guard !overflow else { throw TensorError(tensor: name, problem: "shape \(shape) holds more elements than can be counted") }
        guard Int64(contents.count) == expected else {
            throw TensorError(tensor: name, problem: "shape \(shape) needs \(expected) \(datatype) elements, found \(contents.count)")
        }
    }
}

extension Array where Element == InferenceTensor {
    /// Validates every tensor and, with `uniqueNames`, that no two share a name; `role` ("input", "output")
    /// goes into the message.
    func validate(role: String, uniqueNames: Bool) throws(TensorError) {
        var seen: Set<String> = []
        for (index, tensor) in enumerated() {
            guard !tensor.name.isEmpty else { throw TensorError(tensor: "\(role) #\(index)", problem: "a tensor needs a name") }
            try tensor.validate()
            guard !uniqueNames || seen.insert(tensor.name).inserted else {
                throw TensorError(tensor: tensor.name, problem: "two \(role)s have this name")
            }
        }
    }
}
