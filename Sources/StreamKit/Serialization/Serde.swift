import Foundation

/// Turns values of one type into record bytes and back.
///
/// A Kafka key or value may be absent (`nil` bytes, e.g. a tombstone). A serde for a non-optional type rejects
/// absent bytes with a ``SerdeError``; wrap it with ``optional`` to carry absence through as `nil`.
public struct Serde<Value: Sendable>: Sendable {
    /// A short name used in topology descriptions and error messages.
    public let name: String
    /// Tells this serde (and its copies) from every other one, so that bytes it read can be kept and written as
    /// they are instead of encoding the value again.
    package let identity = SerdeIdentity()
    private let encode: @Sendable (Value) throws -> [UInt8]?
    private let decode: @Sendable ([UInt8]?) throws -> Value

    public init(
        name: String,
        serialize: @escaping @Sendable (Value) throws -> [UInt8]?,
        deserialize: @escaping @Sendable ([UInt8]?) throws -> Value
    ) {
        self.name = name
        self.encode = serialize
        self.decode = deserialize
    }

    /// A serde that never sees absent bytes: `nil` in is an error, every value out is present.
    public init(
        name: String,
        serialize: @escaping @Sendable (Value) throws -> [UInt8],
        deserializePresent: @escaping @Sendable ([UInt8]) throws -> Value
    ) {
        self.init(
            name: name,
            serialize: { try serialize($0) },
            deserialize: { bytes in
                guard let bytes else { throw SerdeError(serde: name, reason: "no bytes (null) where a value is required") }
                return try deserializePresent(bytes)
            }
        )
    }

    public func serialize(_ value: Value) throws -> [UInt8]? { try encode(value) }
    public func deserialize(_ bytes: [UInt8]?) throws -> Value { try decode(bytes) }

    /// The same encoding, with absent bytes read as `nil` and `nil` written as absent bytes.
    public var optional: Serde<Value?> {
        let inner = self
        return Serde<Value?>(
            name: "\(name)?",
            serialize: { value in try value.flatMap { try inner.serialize($0) } },
            deserialize: { bytes in try bytes.map { try inner.deserialize($0) } }
        )
    }
}

/// The identity of one ``Serde`` value and its copies.
package final class SerdeIdentity: Sendable, Equatable {
    package init() {}
    package static func == (a: SerdeIdentity, b: SerdeIdentity) -> Bool { a === b }
}

/// A key or value that its serde could not read or write.
public struct SerdeError: Error, Sendable, CustomStringConvertible {
    public var serde: String
    public var reason: String

    public init(serde: String, reason: String) {
        self.serde = serde
        self.reason = reason
    }

    public var description: String { "\(serde) serde: \(reason)" }
}

extension Serde where Value == [UInt8] {
    /// Bytes as they are.
    public static var bytes: Serde<[UInt8]> {
        Serde(name: "bytes", serialize: { $0 }, deserializePresent: { $0 })
    }
}

extension Serde where Value == [UInt8]? {
    /// Bytes as they are, absent bytes as `nil`: the serde of a stream read without one.
    public static var rawBytes: Serde<[UInt8]?> { Serde<[UInt8]>.bytes.optional }
}

extension Serde where Value == String {
    /// UTF-8 text; bytes that are not valid UTF-8 are an error rather than silently repaired.
    public static var string: Serde<String> {
        Serde(
            name: "string",
            serialize: { Array($0.utf8) },
            deserializePresent: { bytes in
                guard let string = String(validating: bytes, as: UTF8.self) else {
                    throw SerdeError(serde: "string", reason: "\(bytes.count) bytes are not valid UTF-8")
                }
                return string
            }
        )
    }
}

extension Serde where Value: FixedWidthInteger {
    /// A big-endian fixed-width integer, as Kafka's Java `IntegerSerde`/`LongSerde` write it.
    public static var bigEndian: Serde<Value> {
        let size = MemoryLayout<Value>.size
        return Serde(
            name: "\(Value.self)",
            serialize: { value in withUnsafeBytes(of: value.bigEndian) { Array($0) } },
            deserializePresent: { bytes in
                guard bytes.count == size else {
                    throw SerdeError(serde: "\(Value.self)", reason: "expected \(size) bytes, found \(bytes.count)")
                }
                return bytes.reduce(Value.zero) { ($0 << 8) | Value($1) }
            }
        )
    }
}

extension Serde where Value: Codable {
    /// JSON through Foundation's `JSONEncoder`/`JSONDecoder`; a decoding error names the path that failed.
    ///
    /// Decoding takes a faster path for the common shapes of JSON (``FastJSONDecoder``), with the same results.
    public static func json(_ type: Value.Type = Value.self) -> Serde<Value> {
        // One encoder and decoder per serde: making them is a good part of the cost of a small record.
        let (encoder, decoder) = (JSONEncoder(), JSONDecoder())
        return Serde(
            name: "json(\(Value.self))",
            serialize: { value in Array(try encoder.encode(value)) },
            deserializePresent: { bytes in
                if let value = FastJSONDecoder.decode(Value.self, from: bytes) { return value }
                do {
                    return try decoder.decode(Value.self, from: Data(bytes))
                } catch let error as DecodingError {
                    throw SerdeError(serde: "json(\(Value.self))", reason: error.readableDescription)
                }
            }
        )
    }
}

extension DecodingError {
    /// "at items[2].price: expected Double, found a string"-style text instead of Foundation's debug dump.
    var readableDescription: String {
        func path(_ context: Context) -> String {
            let parts = context.codingPath.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }
            let joined = parts.joined().drop { $0 == "." }
            return joined.isEmpty ? "top level" : String(joined)
        }
        switch self {
        case .typeMismatch(let type, let context):
            return "at \(path(context)): expected \(type): \(context.debugDescription)"
        case .valueNotFound(let type, let context):
            return "at \(path(context)): missing \(type) value"
        case .keyNotFound(let key, let context):
            return "at \(path(context)): missing key '\(key.stringValue)'"
        case .dataCorrupted(let context):
            let cause = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return "at \(path(context)): \(cause ?? context.debugDescription)"
        @unknown default:
            return "\(self)"
        }
    }
}
