import Foundation
import StreamKit

/// OIP REST JSON for requests and responses.
///
/// Requests: `{"id", "parameters", "inputs": [{"name", "shape", "datatype", "parameters", "data"}], "outputs":
/// [{"name", "parameters"}]}` (plus `model_name`/`model_version` when set, which the URL usually carries).
/// Responses: `{"model_name", "model_version", "id", "parameters", "outputs": [...]}`. Non-finite floats are the
/// strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
extension InferenceRequest {
    /// Reads and validates an OIP JSON request.
    ///
    /// - Throws: ``TensorError`` for a tensor that is not what it claims, ``InferenceJSONError`` for JSON that is
    ///   not an OIP request; both say what and where.
    public init(json bytes: [UInt8]) throws {
        let body = try InferenceJSON.decode(RequestBody.self, from: bytes)
        self.init(
            modelName: body.model_name ?? "",
            modelVersion: body.model_version ?? "",
            id: body.id ?? "",
            parameters: body.parameters ?? [:],
            inputs: body.inputs.map(\.tensor),
            outputs: (body.outputs ?? []).map { RequestedOutput(name: $0.name, parameters: $0.parameters ?? [:]) }
        )
        try validate()
    }

    public func json() throws -> [UInt8] { try InferenceJSON.encode(body) }

    private var body: RequestBody {
        RequestBody(
            model_name: modelName.isEmpty ? nil : modelName,
            model_version: modelVersion.isEmpty ? nil : modelVersion,
            id: id.isEmpty ? nil : id,
            parameters: parameters.isEmpty ? nil : parameters,
            inputs: inputs.map(JSONTensor.init),
            outputs: outputs.isEmpty ? nil : outputs.map { RequestedOutputBody(name: $0.name, parameters: $0.parameters.isEmpty ? nil : $0.parameters) }
        )
    }

    struct RequestBody: Codable {
        var model_name: String?
        var model_version: String?
        var id: String?
        var parameters: InferenceParameters?
        var inputs: [JSONTensor]
        var outputs: [RequestedOutputBody]?
    }

    struct RequestedOutputBody: Codable {
        var name: String
        var parameters: InferenceParameters?
    }
}

extension InferenceResponse {
    /// Reads and validates an OIP JSON response.
    public init(json bytes: [UInt8]) throws {
        let body = try InferenceJSON.decode(ResponseBody.self, from: bytes)
        self.init(
            modelName: body.model_name ?? "",
            modelVersion: body.model_version ?? "",
            id: body.id ?? "",
            parameters: body.parameters ?? [:],
            outputs: body.outputs.map(\.tensor)
        )
        try validate()
    }

    public func json() throws -> [UInt8] { try InferenceJSON.encode(body) }

    private var body: ResponseBody {
        ResponseBody(
            model_name: modelName,
            model_version: modelVersion.isEmpty ? nil : modelVersion,
            id: id.isEmpty ? nil : id,
            parameters: parameters.isEmpty ? nil : parameters,
            outputs: outputs.map(JSONTensor.init)
        )
    }

    struct ResponseBody: Codable {
        var model_name: String?
        var model_version: String?
        var id: String?
        var parameters: InferenceParameters?
        var outputs: [JSONTensor]
    }
}

/// Requests and responses go into larger JSON documents (inspect reports) as their OIP JSON; encode them with
/// ``InferenceJSON/encoder()`` so that non-finite floats are written as OIP writes them.
extension InferenceRequest: Encodable {
    public func encode(to encoder: any Encoder) throws { try body.encode(to: encoder) }
}

extension InferenceResponse: Encodable {
    public func encode(to encoder: any Encoder) throws { try body.encode(to: encoder) }
}

/// One tensor in OIP JSON; its `data` is read according to its `datatype`.
struct JSONTensor: Codable {
    var tensor: InferenceTensor

    init(_ tensor: InferenceTensor) { self.tensor = tensor }

    enum CodingKeys: String, CodingKey { case name, shape, datatype, parameters, data }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let name = try container.decode(String.self, forKey: .name)
        let label = name.isEmpty ? "(unnamed)" : name
        let datatype = try Datatype(parsing: try container.decode(String.self, forKey: .datatype), tensor: label)
        let shape = try container.decode([Int64].self, forKey: .shape)
        var data = try container.nestedUnkeyedContainer(forKey: .data)
        let contents = try TensorContents(json: &data, datatype: datatype, tensor: label)
        let parameters = try container.decodeIfPresent(InferenceParameters.self, forKey: .parameters) ?? [:]
        tensor = InferenceTensor(name: name, shape: shape, parameters: parameters, contents: contents)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tensor.name, forKey: .name)
        try container.encode(tensor.shape, forKey: .shape)
        try container.encode(tensor.datatype.rawValue, forKey: .datatype)
        if !tensor.parameters.isEmpty { try container.encode(tensor.parameters, forKey: .parameters) }
        var data = container.nestedUnkeyedContainer(forKey: .data)
        try tensor.contents.encode(json: &data)
    }
}

extension InferenceParameter: Codable {
    public init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer()
        if let flag = try? value.decode(Bool.self) {
            self = .bool(flag)
        } else if let integer = try? value.decode(Int64.self) {
            self = .int64(integer)
        } else if let integer = try? value.decode(UInt64.self) {
            self = .uint64(integer)
        } else if let number = try? value.decode(Double.self) {
            self = .double(number)
        } else if let text = try? value.decode(String.self) {
            self = .string(text)
        } else {
            throw DecodingError.typeMismatch(
                InferenceParameter.self,
                .init(codingPath: decoder.codingPath, debugDescription: "a parameter is a boolean, a number or a string")
            )
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var value = encoder.singleValueContainer()
        switch self {
        case .bool(let v): try value.encode(v)
        case .int64(let v): try value.encode(v)
        case .uint64(let v): try value.encode(v)
        case .double(let v): try value.encode(v)
        case .string(let v): try value.encode(v)
        }
    }
}

/// JSON that is not an OIP request or response: what is wrong and where (`inputs[0].shape`).
public struct InferenceJSONError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// The JSON coding OIP documents use.
public enum InferenceJSON {
    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        if let value = FastJSONDecoder.decode(type, from: bytes) { return value }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        do {
            return try decoder.decode(type, from: Data(bytes))
        } catch let error as DecodingError {
            throw InferenceJSONError(description: describe(error))
        }
    }

    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] { Array(try encoder().encode(value)) }

    /// An encoder writing non-finite floats as `"NaN"`, `"Infinity"`, `"-Infinity"`, with sorted keys.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.reduce("") { text, key in
                if let index = key.intValue { return text + "[\(index)]" }
                return text.isEmpty ? key.stringValue : text + "." + key.stringValue
            }
        }
        switch error {
        case .keyNotFound(let key, let context):
            let at = path(context.codingPath)
            return "missing field '\(key.stringValue)'" + (at.isEmpty ? "" : " in \(at)")
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)): expected \(readable(type)); \(context.debugDescription)"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): expected \(readable(type)), found null"
        case .dataCorrupted(let context):
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return "not valid JSON" + (context.codingPath.isEmpty ? "" : " at \(path(context.codingPath))") + ": "
                + (underlying ?? context.debugDescription)
        @unknown default:
            return "\(error)"
        }
    }

    private static func readable(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is [Int64].Type, is [Any].Type: "an array"
        case is Int64.Type: "an integer"
        default: "\(type)"
        }
    }
}
