import Foundation

/// Decodes the common shapes of JSON into `Decodable` values faster than Foundation's `JSONDecoder`, and steps
/// aside for everything else.
///
/// It decodes what Foundation's `JSONDecoder` with its default strategies decodes, to the same values: objects,
/// arrays, strings, booleans, null and numbers into the standard library's types and any `Decodable` built of
/// them. Wherever it cannot be sure to agree — `Date`, `Data`, `URL` and `Decimal` (which Foundation decodes in
/// its own ways), numbers it does not parse itself, duplicate keys, any error at all, even one the value's
/// `init(from:)` caught — ``decode(_:from:)`` returns `nil`, and the caller decodes with Foundation, which then
/// also gives the error its words.
package enum FastJSONDecoder {
    package static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) -> T? {
        guard let tape = JSONTape(bytes) else { return nil }
        let storage = TapeStorage(tape)
        let decoder = TapeDecoder(storage: storage, node: 0, path: .root)
        guard let value = try? decoder.value(T.self, at: 0, path: .root), !storage.failed else { return nil }
        return value
    }
}

/// Thrown to give up; the value is then decoded by Foundation.
private struct GiveUp: Error {}

private final class TapeStorage {
    let tape: JSONTape
    var failed = false

    init(_ tape: JSONTape) { self.tape = tape }

    func giveUp() -> GiveUp {
        failed = true
        return GiveUp()
    }
}

private indirect enum CodingPathNode {
    case root
    case key(any CodingKey, CodingPathNode)
    case index(Int, CodingPathNode)

    var keys: [any CodingKey] {
        switch self {
        case .root: return []
        case .key(let key, let parent): return parent.keys + [key]
        case .index(let index, let parent): return parent.keys + [IndexKey(intValue: index)]
        }
    }
}

private struct IndexKey: CodingKey {
    var stringValue: String { "Index \(intValue ?? 0)" }
    var intValue: Int?
    init(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { nil }
}

private struct TapeDecoder: Decoder, SingleValueDecodingContainer {
    let storage: TapeStorage
    let node: Int
    let path: CodingPathNode

    var codingPath: [any CodingKey] { path.keys }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    private var tape: JSONTape { storage.tape }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard tape.nodes[node].kind == .object else { throw storage.giveUp() }
        return KeyedDecodingContainer(TapeKeyedContainer<Key>(decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard tape.nodes[node].kind == .array else { throw storage.giveUp() }
        return TapeUnkeyedContainer(decoder: self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    // MARK: Values at a node

    func value<T: Decodable>(_ type: T.Type, at node: Int, path: CodingPathNode) throws -> T {
        switch type {
        case is String.Type: return unsafeBitCast(try string(at: node), to: T.self)
        case is Double.Type: return unsafeBitCast(try floatingPoint(Double.self, at: node), to: T.self)
        case is Int.Type: return unsafeBitCast(try integer(Int.self, at: node), to: T.self)
        case is Bool.Type: return unsafeBitCast(try bool(at: node), to: T.self)
        case is Float.Type: return unsafeBitCast(try floatingPoint(Float.self, at: node), to: T.self)
        case is Int64.Type: return unsafeBitCast(try integer(Int64.self, at: node), to: T.self)
        case is Date.Type, is Data.Type, is URL.Type, is Decimal.Type: throw storage.giveUp()
        default: return try T(from: TapeDecoder(storage: storage, node: node, path: path))
        }
    }

    func string(at node: Int) throws -> String {
        let found = tape.nodes[node]
        switch found.kind {
        case .string:
            guard let text = String(validating: tape.slice(found), as: UTF8.self) else { throw storage.giveUp() }
            return text
        case .escapedString:
            guard let text = Self.unescape(tape.slice(found)) else { throw storage.giveUp() }
            return text
        default:
            throw storage.giveUp()
        }
    }

    func bool(at node: Int) throws -> Bool {
        switch tape.nodes[node].kind {
        case .true: return true
        case .false: return false
        default: throw storage.giveUp()
        }
    }

    func integer<T: FixedWidthInteger>(_ type: T.Type, at node: Int) throws -> T {
        let found = tape.nodes[node]
        guard found.kind == .number, let value = Self.parseInteger(tape.slice(found), as: T.self) else { throw storage.giveUp() }
        return value
    }

    func floatingPoint<T: BinaryFloatingPoint & LosslessStringConvertible>(_ type: T.Type, at node: Int) throws -> T {
        let found = tape.nodes[node]
        guard found.kind == .number else { throw storage.giveUp() }
        let digits = tape.slice(found)
        let value = Self.parseExactly(digits, as: T.self) ?? T(String(decoding: digits, as: UTF8.self))
        guard let value, value.isFinite else { throw storage.giveUp() }
        // A non-zero number too small for `T`: whether that is zero or an error is Foundation's call.
        if value == 0, digits.prefix(while: { $0 | 0x20 != UInt8(ascii: "e") }).contains(where: { (UInt8(ascii: "1")...UInt8(ascii: "9")).contains($0) }) {
            throw storage.giveUp()
        }
        return value
    }

    func isNull(at node: Int) -> Bool { tape.nodes[node].kind == .null }

    // MARK: SingleValueDecodingContainer

    func decodeNil() -> Bool { isNull(at: node) }
    func decode(_ type: Bool.Type) throws -> Bool { try bool(at: node) }
    func decode(_ type: String.Type) throws -> String { try string(at: node) }
    func decode(_ type: Double.Type) throws -> Double { try floatingPoint(type, at: node) }
    func decode(_ type: Float.Type) throws -> Float { try floatingPoint(type, at: node) }
    func decode(_ type: Int.Type) throws -> Int { try integer(type, at: node) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type, at: node) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type, at: node) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type, at: node) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type, at: node) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type, at: node) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type, at: node) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type, at: node) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type, at: node) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type, at: node) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try value(type, at: node, path: path) }

    // MARK: Parsing

    /// `-?[0-9]+` within `T`'s range; anything else (fractions, exponents) is left to Foundation.
    static func parseInteger<T: FixedWidthInteger>(_ digits: ArraySlice<UInt8>, as _: T.Type) -> T? {
        var index = digits.startIndex
        let negative = digits[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        var magnitude: UInt64 = 0
        while index < digits.endIndex {
            let digit = digits[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            guard !overflow1, !overflow2 else { return nil }
            magnitude = sum
            index += 1
        }
        if negative {
            guard T.isSigned, magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? T(exactly: Int64.min) : T(exactly: -Int64(magnitude))
        }
        return T(exactly: magnitude)
    }

    /// A number whose digits and decimal exponent are small enough that one exact multiplication or division
    /// gives the correctly rounded value (Clinger's fast path); `nil` otherwise.
    static func parseExactly<T: BinaryFloatingPoint>(_ digits: ArraySlice<UInt8>, as _: T.Type) -> T? {
        let maxMantissa: UInt64 = T.significandBitCount >= 52 ? 1 << 53 : 1 << 24
        let maxPower = T.significandBitCount >= 52 ? 22 : 10
        var index = digits.startIndex
        let negative = digits[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        var mantissa: UInt64 = 0
        var exponent = 0
        var seenPoint = false
        while index < digits.endIndex {
            let byte = digits[index]
            if byte == UInt8(ascii: ".") {
                seenPoint = true
            } else if byte | 0x20 == UInt8(ascii: "e") {
                break
            } else {
                mantissa = mantissa * 10 + UInt64(byte - UInt8(ascii: "0"))
                guard mantissa < maxMantissa else { return nil }
                if seenPoint { exponent -= 1 }
            }
            index += 1
        }
        if index < digits.endIndex {
            index += 1
            var sign = 1
            if digits[index] == UInt8(ascii: "-") { sign = -1; index += 1 } else if digits[index] == UInt8(ascii: "+") { index += 1 }
            var written = 0
            while index < digits.endIndex {
                written = written * 10 + Int(digits[index] - UInt8(ascii: "0"))
                guard written <= 400 else { return nil }
                index += 1
            }
            exponent += sign * written
        }
        guard abs(exponent) <= maxPower else { return nil }
        var value = T(mantissa)
        let power = Self.powersOfTen[abs(exponent)]
        value = exponent < 0 ? value / T(power) : value * T(power)
        return negative ? -value : value
    }

    private static let powersOfTen: [Double] = (0...22).map { (0..<$0).reduce(1.0) { value, _ in value * 10 } }

    /// A string's contents with its escapes resolved; `nil` for a lone surrogate or bytes that are not UTF-8.
    static func unescape(_ raw: ArraySlice<UInt8>) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(raw.count)
        var index = raw.startIndex
        func hex4(_ at: Int) -> UInt32 {
            (0..<4).reduce(UInt32(0)) { $0 << 4 | JSONTape.hexValue(raw[at + $1])! }
        }
        while index < raw.endIndex {
            let byte = raw[index]
            guard byte == UInt8(ascii: "\\") else {
                bytes.append(byte)
                index += 1
                continue
            }
            let escape = raw[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(index)
                index += 4
                if (0xD800..<0xDC00).contains(scalar) {
                    guard index + 6 <= raw.endIndex, raw[index] == UInt8(ascii: "\\"), raw[index + 1] == UInt8(ascii: "u") else { return nil }
                    let low = hex4(index + 2)
                    guard (0xDC00..<0xE000).contains(low) else { return nil }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    index += 6
                } else if (0xDC00..<0xE000).contains(scalar) {
                    return nil
                }
                guard let unicode = Unicode.Scalar(scalar) else { return nil }
                bytes.append(contentsOf: UTF8.encode(unicode)!)
            default: bytes.append(escape)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

private struct TapeKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: TapeDecoder
    /// For objects of many members: each key's value node, or `nil` for a key written more than once.
    private let index: [String: Int?]?

    init(decoder: TapeDecoder) {
        self.decoder = decoder
        guard decoder.storage.tape.nodes[decoder.node].count > 16 else {
            index = nil
            return
        }
        var index: [String: Int?] = [:]
        Self.forEachMember(of: decoder.node, in: decoder.storage.tape) { keyNode, valueNode in
            guard let name = try? decoder.string(at: keyNode) else { return false }
            index[name] = index[name] == nil ? valueNode : .some(nil)
            return true
        }
        self.index = index
    }

    var codingPath: [any CodingKey] { decoder.codingPath }
    private var tape: JSONTape { decoder.storage.tape }

    var allKeys: [Key] {
        var keys: [Key] = []
        var names: Set<String> = []
        forEachMember { keyNode, _ in
            guard let name = try? decoder.string(at: keyNode), names.insert(name).inserted else {
                decoder.storage.failed = true
                return false
            }
            if let key = Key(stringValue: name) { keys.append(key) }
            return true
        }
        return keys
    }

    private enum Lookup {
        case found(Int)
        case missing
        case duplicated
    }

    private func lookup(_ key: Key) -> Lookup {
        let name = key.stringValue
        if let index {
            switch index[name] {
            case .none: return .missing
            case .some(.none): return .duplicated
            case .some(.some(let node)): return .found(node)
            }
        }
        var found: Int?
        var duplicated = false
        var utf8 = name
        utf8.withUTF8 { wanted in
            forEachMember { keyNode, valueNode in
                let node = tape.nodes[keyNode]
                let matches = node.kind == .string
                    ? tape.slice(node).withUnsafeBufferPointer { $0.elementsEqual(wanted) }
                    : TapeDecoder.unescape(tape.slice(node)) == name
                guard matches else { return true }
                if found != nil {
                    duplicated = true
                    return false
                }
                found = valueNode
                return true
            }
        }
        if duplicated { return .duplicated }
        return found.map { .found($0) } ?? .missing
    }

    /// The value node of `key`; gives up when the key is missing or written twice.
    private func find(_ key: Key) throws -> Int {
        guard case .found(let node) = lookup(key) else { throw decoder.storage.giveUp() }
        return node
    }

    func contains(_ key: Key) -> Bool {
        switch lookup(key) {
        case .found: return true
        case .missing: return false
        case .duplicated:
            decoder.storage.failed = true
            return true
        }
    }

    /// Calls `body` with each member's key and value nodes until it returns `false`.
    private func forEachMember(_ body: (_ key: Int, _ value: Int) -> Bool) {
        Self.forEachMember(of: decoder.node, in: tape, body)
    }

    private static func forEachMember(of object: Int, in tape: JSONTape, _ body: (_ key: Int, _ value: Int) -> Bool) {
        var keyNode = object + 1
        for _ in 0..<tape.nodes[object].count {
            let valueNode = keyNode + 1
            guard body(keyNode, valueNode) else { return }
            keyNode = Int(tape.nodes[valueNode].next)
        }
    }

    private func path(_ key: Key) -> CodingPathNode { .key(key, decoder.path) }

    func decodeNil(forKey key: Key) throws -> Bool { decoder.isNull(at: try find(key)) }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decoder.bool(at: find(key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decoder.string(at: find(key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decoder.floatingPoint(type, at: find(key)) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decoder.floatingPoint(type, at: find(key)) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decoder.integer(type, at: find(key)) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decoder.integer(type, at: find(key)) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decoder.integer(type, at: find(key)) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decoder.integer(type, at: find(key)) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decoder.integer(type, at: find(key)) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decoder.integer(type, at: find(key)) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decoder.integer(type, at: find(key)) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decoder.integer(type, at: find(key)) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decoder.integer(type, at: find(key)) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decoder.integer(type, at: find(key)) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decoder.value(type, at: find(key), path: path(key))
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        switch lookup(key) {
        case .missing: return nil
        case .duplicated: throw decoder.storage.giveUp()
        case .found(let node): return decoder.isNull(at: node) ? nil : try decoder.value(type, at: node, path: path(key))
        }
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try TapeDecoder(storage: decoder.storage, node: find(key), path: path(key)).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try TapeDecoder(storage: decoder.storage, node: find(key), path: path(key)).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { throw decoder.storage.giveUp() }
    func superDecoder(forKey key: Key) throws -> any Decoder { throw decoder.storage.giveUp() }
}

private struct TapeUnkeyedContainer: UnkeyedDecodingContainer {
    let decoder: TapeDecoder
    private(set) var currentIndex = 0
    /// The node of the element at `currentIndex`.
    private var element: Int

    init(decoder: TapeDecoder) {
        self.decoder = decoder
        element = decoder.node + 1
    }

    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { Int(decoder.storage.tape.nodes[decoder.node].count) }
    var isAtEnd: Bool { currentIndex >= count! }

    /// The current element's node, moving past it.
    private mutating func next() throws -> Int {
        guard !isAtEnd else { throw decoder.storage.giveUp() }
        let node = element
        element = Int(decoder.storage.tape.nodes[node].next)
        currentIndex += 1
        return node
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { throw decoder.storage.giveUp() }
        guard decoder.isNull(at: element) else { return false }
        _ = try next()
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try decoder.bool(at: next()) }
    mutating func decode(_ type: String.Type) throws -> String { try decoder.string(at: next()) }
    mutating func decode(_ type: Double.Type) throws -> Double { try decoder.floatingPoint(type, at: next()) }
    mutating func decode(_ type: Float.Type) throws -> Float { try decoder.floatingPoint(type, at: next()) }
    mutating func decode(_ type: Int.Type) throws -> Int { try decoder.integer(type, at: next()) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try decoder.integer(type, at: next()) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try decoder.integer(type, at: next()) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try decoder.integer(type, at: next()) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try decoder.integer(type, at: next()) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try decoder.integer(type, at: next()) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try decoder.integer(type, at: next()) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try decoder.integer(type, at: next()) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try decoder.integer(type, at: next()) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try decoder.integer(type, at: next()) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let index = currentIndex
        return try decoder.value(type, at: next(), path: .index(index, decoder.path))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let index = currentIndex
        return try TapeDecoder(storage: decoder.storage, node: next(), path: .index(index, decoder.path)).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let index = currentIndex
        return try TapeDecoder(storage: decoder.storage, node: next(), path: .index(index, decoder.path)).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { throw decoder.storage.giveUp() }
}
