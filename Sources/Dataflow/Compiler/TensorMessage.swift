import StreamKit

/// The tensors of one request on its way through a compiled pipeline: a request's inputs or a response's outputs,
/// whichever topic they came from, with the request's id and parameters.
struct TensorMessage: Sendable, Hashable {
    var id: String
    var parameters: InferenceParameters
    var tensors: [InferenceTensor]
    /// Whether the tensors came as raw contents; they leave the same way.
    var raw: Bool

    init(id: String = "", parameters: InferenceParameters = [:], tensors: [InferenceTensor], raw: Bool = false) {
        self.id = id
        self.parameters = parameters
        self.tensors = tensors
        self.raw = raw
    }

    /// Reads a `ModelInferRequest` (from an `.inputs` topic) or a `ModelInferResponse` (from an `.outputs` topic).
    init(bytes: [UInt8]?, side: TensorReference.Side) throws {
        guard let bytes else { throw TensorMessageError("the record has no value; expected a protobuf \(side.message)") }
        do {
            switch side {
            case .inputs:
                let message = try Inference_ModelInferRequest(serializedBytes: bytes)
                let request = try InferenceRequest(protobuf: message)
                self.init(id: request.id, parameters: request.parameters, tensors: request.inputs, raw: !message.rawInputContents.isEmpty)
            case .outputs:
                let message = try Inference_ModelInferResponse(serializedBytes: bytes)
                let response = try InferenceResponse(protobuf: message)
                self.init(id: response.id, parameters: response.parameters, tensors: response.outputs, raw: !message.rawOutputContents.isEmpty)
            }
        } catch let error as TensorError {
            throw TensorMessageError("invalid \(side.message): \(error)")
        } catch {
            throw TensorMessageError("not a protobuf \(side.message) (\(bytes.count) bytes): \(error)")
        }
    }

    /// The tensors as a `ModelInferRequest` (for an `.inputs` topic) or a `ModelInferResponse`.
    func bytes(as side: TensorReference.Side) throws -> [UInt8] {
        switch side {
        case .inputs: try InferenceRequest(id: id, parameters: parameters, inputs: tensors).serializedBytes(raw: raw)
        case .outputs: try InferenceResponse(id: id, parameters: parameters, outputs: tensors).serializedBytes(raw: raw)
        }
    }

    /// The tensors `names` selects (all for `nil`), renamed by `rename`.
    func selecting(_ names: [String]?, rename: (String) -> String) -> TensorMessage {
        var copy = self
        copy.tensors = tensors.compactMap { tensor in
            guard names?.contains(tensor.name) ?? true else { return nil }
            var renamed = tensor
            renamed.name = rename(tensor.name)
            return renamed
        }
        return copy
    }

    /// The tensors of several messages of one request, in order; id and parameters of the first.
    static func joining(_ parts: [TensorMessage]) -> TensorMessage {
        guard var joined = parts.first else { return TensorMessage(tensors: []) }
        for part in parts.dropFirst() {
            joined.tensors += part.tensors
            joined.parameters.merge(part.parameters) { first, _ in first }
            joined.raw = joined.raw || part.raw
        }
        return joined
    }

    /// How join stores keep messages.
    static let serde = Serde<TensorMessage>(
        name: "oip-tensors",
        serialize: { try $0.bytes(as: .outputs) },
        deserializePresent: { try TensorMessage(bytes: $0, side: .outputs) }
    )
}

/// A record whose value is not the OIP message its topic carries.
struct TensorMessageError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension TensorReference.Side {
    /// The OIP message a topic of this side carries.
    var message: String { self == .inputs ? "ModelInferRequest" : "ModelInferResponse" }
}
