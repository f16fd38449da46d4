/// An OIP v2 tensor datatype, spelled as on the wire (`"INT32"`).
public enum Datatype: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case bool = "BOOL"
    case uint8 = "UINT8", uint16 = "UINT16", uint32 = "UINT32", uint64 = "UINT64"
    case int8 = "INT8", int16 = "INT16", int32 = "INT32", int64 = "INT64"
    case fp16 = "FP16", fp32 = "FP32", fp64 = "FP64"
    case bytes = "BYTES"

    /// Reads a datatype, or says which ones exist.
    public init(parsing text: String, tensor: String) throws(TensorError) {
        guard let datatype = Datatype(rawValue: text) else {
            throw TensorError(tensor: tensor, problem: "unknown datatype '\(text)'; expected one of \(Datatype.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = datatype
    }

    /// Bytes per element in raw contents; `nil` for BYTES (each element is a u32 length and its bytes).
    public var elementSize: Int? {
        switch self {
        case .bool, .uint8, .int8: 1
        case .uint16, .int16, .fp16: 2
        case .uint32, .int32, .fp32: 4
        case .uint64, .int64, .fp64: 8
        case .bytes: nil
        }
    }

    public var description: String { rawValue }
}

/// A tensor that cannot be what it claims: the message names the tensor and what was found.
public struct TensorError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The tensor's name, or a description of where it sits when it has none.
    public var tensor: String
    public var problem: String

    public init(tensor: String, problem: String) {
        self.tensor = tensor
        self.problem = problem
    }

    public var description: String { "tensor '\(tensor)': \(problem)" }
}
