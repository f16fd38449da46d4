/// A JSON document parsed once into a flat list of its values (a "tape"), which ``FastJSONDecoder`` walks.
///
/// Validates what RFC 8259 requires and Foundation's `JSONDecoder` checks too (no unescaped control characters,
/// well-formed numbers and escapes, at most 512 levels of nesting, nothing after the value), so that a document
/// parsed here is one Foundation accepts. Anything else makes ``init(_:)`` return `nil`.
struct JSONTape {
    enum Kind: UInt8 {
        case object, array, string, escapedString, number, `true`, `false`, null
    }

    struct Node {
        var kind: Kind
        /// Strings: the bytes between the quotes; numbers: the number's bytes; containers: unused.
        var start: Int32
        var end: Int32
        /// Objects: members (each a key node then a value node); arrays: elements.
        var count: Int32
        /// The index of the node after this one and everything inside it.
        var next: Int32
    }

    let bytes: [UInt8]
    private(set) var nodes: [Node] = []

    init?(_ bytes: [UInt8]) {
        guard bytes.count < Int(Int32.max) else { return nil }
        self.bytes = bytes
        nodes.reserveCapacity(16)
        let parsed: Int? = bytes.withUnsafeBufferPointer { buffer in
            var parser = Parser(bytes: buffer)
            parser.skipWhitespace()
            guard parser.value(into: &nodes, depth: 0) else { return nil }
            parser.skipWhitespace()
            return parser.position
        }
        guard parsed == bytes.count else { return nil }
    }

    /// The bytes of a node (a number's digits, a string's contents).
    func slice(_ node: Node) -> ArraySlice<UInt8> { bytes[Int(node.start)..<Int(node.end)] }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        mutating func skipWhitespace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x09, 0x0A, 0x0D: position += 1
                default: return
                }
            }
        }

        mutating func value(into nodes: inout [Node], depth: Int) -> Bool {
            guard position < bytes.count else { return false }
            switch bytes[position] {
            case UInt8(ascii: "{"): return container(object: true, into: &nodes, depth: depth + 1)
            case UInt8(ascii: "["): return container(object: false, into: &nodes, depth: depth + 1)
            case UInt8(ascii: "\""): return string(into: &nodes)
            case UInt8(ascii: "t"): return literal("true", .true, into: &nodes)
            case UInt8(ascii: "f"): return literal("false", .false, into: &nodes)
            case UInt8(ascii: "n"): return literal("null", .null, into: &nodes)
            default: return number(into: &nodes)
            }
        }

        private mutating func container(object: Bool, into nodes: inout [Node], depth: Int) -> Bool {
            guard depth <= 512 else { return false }
            let index = nodes.count
            nodes.append(Node(kind: object ? .object : .array, start: 0, end: 0, count: 0, next: 0))
            position += 1
            skipWhitespace()
            let close = UInt8(ascii: object ? "}" : "]")
            var count: Int32 = 0
            if position < bytes.count, bytes[position] == close {
                position += 1
            } else {
                while true {
                    if object {
                        guard position < bytes.count, bytes[position] == UInt8(ascii: "\""), string(into: &nodes) else { return false }
                        skipWhitespace()
                        guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { return false }
                        position += 1
                        skipWhitespace()
                    }
                    guard value(into: &nodes, depth: depth) else { return false }
                    count += 1
                    skipWhitespace()
                    guard position < bytes.count else { return false }
                    if bytes[position] == UInt8(ascii: ",") {
                        position += 1
                        skipWhitespace()
                    } else if bytes[position] == close {
                        position += 1
                        break
                    } else {
                        return false
                    }
                }
            }
            nodes[index].count = count
            nodes[index].next = Int32(nodes.count)
            return true
        }

        private mutating func string(into nodes: inout [Node]) -> Bool {
            position += 1
            let start = position
            var escaped = false
            while position < bytes.count {
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    nodes.append(Node(kind: escaped ? .escapedString : .string, start: Int32(start), end: Int32(position), count: 0, next: Int32(nodes.count + 1)))
                    position += 1
                    return true
                }
                if byte < 0x20 { return false }
                if byte == UInt8(ascii: "\\") {
                    escaped = true
                    position += 1
                    guard position < bytes.count else { return false }
                    switch bytes[position] {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                         UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        position += 1
                    case UInt8(ascii: "u"):
                        guard position + 4 < bytes.count, (1...4).allSatisfy({ JSONTape.hexValue(bytes[position + $0]) != nil }) else { return false }
                        position += 5
                    default:
                        return false
                    }
                    continue
                }
                position += 1
            }
            return false
        }

        private mutating func literal(_ text: StaticString, _ kind: Kind, into nodes: inout [Node]) -> Bool {
            let count = text.utf8CodeUnitCount
            guard position + count <= bytes.count else { return false }
            for offset in 0..<count where bytes[position + offset] != text.utf8Start[offset] { return false }
            nodes.append(Node(kind: kind, start: Int32(position), end: Int32(position + count), count: 0, next: Int32(nodes.count + 1)))
            position += count
            return true
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
        private mutating func number(into nodes: inout [Node]) -> Bool {
            let start = position
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard position < bytes.count else { return false }
            if bytes[position] == UInt8(ascii: "0") {
                position += 1
            } else {
                guard digits() > 0 else { return false }
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
                position += 1
                guard digits() > 0 else { return false }
            }
            if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
                position += 1
                if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
                guard digits() > 0 else { return false }
            }
            nodes.append(Node(kind: .number, start: Int32(start), end: Int32(position), count: 0, next: Int32(nodes.count + 1)))
            return true
        }

        private mutating func digits() -> Int {
            let start = position
            while position < bytes.count, bytes[position] &- UInt8(ascii: "0") < 10 { position += 1 }
            return position - start
        }
    }

    static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }
}
