import Foundation

/// OIP REST JSON for tensor data: a flat (or nested, read only) array of numbers, booleans or strings in
/// row-major order. FP16 travels as numbers. BYTES elements are strings; an element that is not valid UTF-8 is
/// written as `{"b64": "<base64>"}` so that no byte is lost, and read back from that form.
extension TensorContents {
    init(json container: inout any UnkeyedDecodingContainer, datatype: Datatype, tensor: String) throws {
        let reader = ElementReader(tensor: tensor, datatype: datatype)
        switch datatype {
        case .bool: self = .bool(try reader.flat(&container) { try $0.decode(Bool.self) })
        case .uint8: self = .uint8(try reader.flat(&container) { try $0.decode(UInt8.self) })
        case .uint16: self = .uint16(try reader.flat(&container) { try $0.decode(UInt16.self) })
        case .uint32: self = .uint32(try reader.flat(&container) { try $0.decode(UInt32.self) })
        case .uint64: self = .uint64(try reader.flat(&container) { try $0.decode(UInt64.self) })
        case .int8: self = .int8(try reader.flat(&container) { try $0.decode(Int8.self) })
        case .int16: self = .int16(try reader.flat(&container) { try $0.decode(Int16.self) })
        case .int32: self = .int32(try reader.flat(&container) { try $0.decode(Int32.self) })
        case .int64: self = .int64(try reader.flat(&container) { try $0.decode(Int64.self) })
        case .fp16: self = .fp16(bits: try reader.flat(&container) { Float16(try $0.decode(Float.self)).bitPattern })
        case .fp32: self = .fp32(try reader.flat(&container) { try $0.decode(Float.self) })
        case .fp64: self = .fp64(try reader.flat(&container) { try $0.decode(Double.self) })
        case .bytes:
            self = .bytes(try reader.flat(&container) { element in
                if let text = try? element.decode(String.self) { return Array(text.utf8) }
                let wrapped = try element.decode(Base64Element.self)
                guard let data = Data(base64Encoded: wrapped.b64) else { throw Base64Element.Invalid() }
                return Array(data)
            })
        }
    }

    func encode(json container: inout any UnkeyedEncodingContainer) throws {
        switch self {
        case .bool(let v): try container.encode(contentsOf: v)
        case .uint8(let v): try container.encode(contentsOf: v)
        case .uint16(let v): try container.encode(contentsOf: v)
        case .uint32(let v): try container.encode(contentsOf: v)
        case .uint64(let v): try container.encode(contentsOf: v)
        case .int8(let v): try container.encode(contentsOf: v)
        case .int16(let v): try container.encode(contentsOf: v)
        case .int32(let v): try container.encode(contentsOf: v)
        case .int64(let v): try container.encode(contentsOf: v)
        case .fp16(let bits): try container.encode(contentsOf: bits.map { Float(Float16(bitPattern: $0)) })
        case .fp32(let v): try container.encode(contentsOf: v)
        case .fp64(let v): try container.encode(contentsOf: v)
        case .bytes(let v):
            for element in v {
                if let text = String(validating: element, as: UTF8.self) {
                    try container.encode(text)
                } else {
                    try container.encode(Base64Element(b64: Data(element).base64EncodedString()))
                }
            }
        }
    }
}

/// A BYTES element that is not text.
struct Base64Element: Codable {
    var b64: String
    struct Invalid: Error {}
}

/// Reads the elements of one tensor's `data`, flattening nested arrays, and turns a value of the wrong kind into a
/// ``TensorError`` that names the tensor, the element and what it holds.
private struct ElementReader {
    let tensor: String
    let datatype: Datatype

    func flat<T>(_ container: inout any UnkeyedDecodingContainer, _ decode: (inout any UnkeyedDecodingContainer) throws -> T) throws -> [T] {
        var values: [T] = []
        try read(&container, into: &values, decode)
        return values
    }

    private func read<T>(_ container: inout any UnkeyedDecodingContainer, into values: inout [T], _ decode: (inout any UnkeyedDecodingContainer) throws -> T) throws {
        while !container.isAtEnd {
            if var nested = try? container.nestedUnkeyedContainer() {
                try read(&nested, into: &values, decode)
                continue
            }
            do {
                values.append(try decode(&container))
            } catch {
                throw TensorError(tensor: tensor, problem: "datatype \(datatype) cannot hold element \(values.count), \(describe(&container))")
            }
        }
    }

    /// What the element at the container's position is, for the message.
    private func describe(_ container: inout any UnkeyedDecodingContainer) -> String {
        if let number = try? container.decode(Double.self) {
            if number.rounded() == number, datatype != .bool, datatype != .bytes {
                return "\(Int64(exactly: number).map(String.init) ?? "\(number)"), which is out of its range"
            }
            return "the number \(number)"
        }
        if let text = try? container.decode(String.self) { return "the string \"\(text.prefix(40))\"" }
        if let flag = try? container.decode(Bool.self) { return "the boolean \(flag)" }
        if (try? container.decodeNil()) == true { return "null" }
        _ = try? container.decode(IgnoredValue.self)
        return "an object"
    }
}

/// Skips any JSON value.
private struct IgnoredValue: Decodable {
    init(from decoder: any Decoder) throws {}
}
