import Foundation
import SwiftProtobuf

/// The two protobuf tensor messages (request inputs, response outputs) have the same fields.
protocol ProtobufTensor: SwiftProtobuf.Message {
    var name: String { get set }
    var datatype: String { get set }
    var shape: [Int64] { get set }
    var parameters: [String: Inference_InferParameter] { get set }
    var contents: Inference_InferTensorContents { get set }
    var hasContents: Bool { get }
}

extension Inference_ModelInferRequest.InferInputTensor: ProtobufTensor {}
extension Inference_ModelInferResponse.InferOutputTensor: ProtobufTensor {}

extension Array where Element == InferenceTensor {
    /// The tensors as protobuf messages plus raw contents: typed contents unless `raw` is asked for or a tensor
    /// has no typed field (FP16), since OIP has either every tensor raw or none.
    func protobuf<T: ProtobufTensor>(raw: Bool, as _: T.Type) -> (tensors: [T], raw: [Data]) {
        let useRaw = raw || contains { !TensorContents.hasTypedField($0.datatype) }
        let tensors = map { tensor in
            var message = T()
            message.name = tensor.name
            message.datatype = tensor.datatype.rawValue
            message.shape = tensor.shape
            message.parameters = tensor.parameters.protobuf
            if !useRaw { message.contents = tensor.contents.protobuf }
            return message
        }
        return (tensors, useRaw ? map { Data($0.contents.raw) } : [])
    }

    /// Reads protobuf tensors and their raw contents (one per tensor, or none); `role` names them in messages.
    init<T: ProtobufTensor>(protobuf tensors: [T], raw: [Data], role: String) throws(TensorError) {
        guard raw.isEmpty || raw.count == tensors.count else {
            throw TensorError(tensor: "(\(role)s)", problem: "\(raw.count) raw contents for \(tensors.count) \(role)s; expected one per \(role) or none")
        }
        self = []
        for (index, message) in tensors.enumerated() {
            let name = message.name.isEmpty ? "\(role) #\(index)" : message.name
            let datatype = try Datatype(parsing: message.datatype, tensor: name)
            let contents: TensorContents
            if raw.isEmpty {
                contents = try TensorContents(protobuf: message.contents, datatype: datatype, tensor: name)
            } else {
                guard !message.hasContents || message.contents == Inference_InferTensorContents() else {
                    throw TensorError(tensor: name, problem: "has typed contents and raw contents; OIP allows one or the other")
                }
                contents = try TensorContents(raw: [UInt8](raw[index]), datatype: datatype, tensor: name)
            }
            append(InferenceTensor(name: message.name, shape: message.shape, parameters: .init(protobuf: message.parameters), contents: contents))
        }
    }
}

extension InferenceRequest {
    /// The request as the OIP protobuf message (the value on `.inputs` topics and the gRPC `ModelInfer` request).
    public func protobuf(raw: Bool = false) -> Inference_ModelInferRequest {
        var message = Inference_ModelInferRequest()
        message.modelName = modelName
        message.modelVersion = modelVersion
        message.id = id
        message.parameters = parameters.protobuf
        (message.inputs, message.rawInputContents) = inputs.protobuf(raw: raw, as: Inference_ModelInferRequest.InferInputTensor.self)
        message.outputs = outputs.map { output in
            var requested = Inference_ModelInferRequest.InferRequestedOutputTensor()
            requested.name = output.name
            requested.parameters = output.parameters.protobuf
            return requested
        }
        return message
    }

    /// Reads and validates an OIP protobuf request.
    public init(protobuf message: Inference_ModelInferRequest) throws(TensorError) {
        self.init(
            modelName: message.modelName,
            modelVersion: message.modelVersion,
            id: message.id,
            parameters: .init(protobuf: message.parameters),
            inputs: try [InferenceTensor](protobuf: message.inputs, raw: message.rawInputContents, role: "input"),
            outputs: message.outputs.map { RequestedOutput(name: $0.name, parameters: .init(protobuf: $0.parameters)) }
        )
        try validate()
    }

    /// Reads and validates a serialized OIP protobuf request.
    public init(serializedBytes bytes: [UInt8]) throws {
        try self.init(protobuf: try Inference_ModelInferRequest(serializedBytes: bytes))
    }

    public func serializedBytes(raw: Bool = false) throws -> [UInt8] { try protobuf(raw: raw).serializedBytes() }
}

extension InferenceResponse {
    /// The response as the OIP protobuf message (the value on `.outputs` topics and the gRPC `ModelInfer` answer).
    public func protobuf(raw: Bool = false) -> Inference_ModelInferResponse {
        var message = Inference_ModelInferResponse()
        message.modelName = modelName
        message.modelVersion = modelVersion
        message.id = id
        message.parameters = parameters.protobuf
        (message.outputs, message.rawOutputContents) = outputs.protobuf(raw: raw, as: Inference_ModelInferResponse.InferOutputTensor.self)
        return message
    }

    /// Reads and validates an OIP protobuf response.
    public init(protobuf message: Inference_ModelInferResponse) throws(TensorError) {
        self.init(
            modelName: message.modelName,
            modelVersion: message.modelVersion,
            id: message.id,
            parameters: .init(protobuf: message.parameters),
            outputs: try [InferenceTensor](protobuf: message.outputs, raw: message.rawOutputContents, role: "output")
        )
        try validate()
    }

    /// Reads and validates a serialized OIP protobuf response.
    public init(serializedBytes bytes: [UInt8]) throws {
        try self.init(protobuf: try Inference_ModelInferResponse(serializedBytes: bytes))
    }

    public func serializedBytes(raw: Bool = false) throws -> [UInt8] { try protobuf(raw: raw).serializedBytes() }
}
