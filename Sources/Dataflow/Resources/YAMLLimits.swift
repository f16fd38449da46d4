import Yams

/// Bounds on YAML text that clients and operators send: how deep it nests, how many documents it holds and how
/// many nodes it makes once every alias is expanded.
///
/// A text past them (a "billion laughs" of aliases naming aliases, a million nested brackets) is refused with
/// where it goes past, before it costs memory or, since the parser recurses once per level, the stack.
public struct YAMLLimits: Sendable, Hashable {
    /// Levels of nesting; counted from indentation, compact collections (`- - x`) and brackets, so a few more
    /// than a parser would count.
    public var depth: Int = 64
    public var documents: Int = 1_000
    /// Nodes of all documents together, an alias counting as many nodes as what it names.
    public var nodes: Int = 100_000

    public static let standard = YAMLLimits()

    public init() {}

    /// A place in the text past a limit, and which limit.
    public struct Violation: Error, Sendable, Hashable {
        public var line: Int
        public var column: Int
        public var problem: String
    }

    /// Checks the nesting of `text`, which must pass before it is parsed.
    public func checkNesting(_ text: String) throws(Violation) {
        var scanner = NestingScanner()
        for byte in text.utf8 {
            scanner.consume(byte)
            if scanner.depth > depth {
                throw Violation(line: scanner.line, column: scanner.column, problem: "nested more than \(depth) levels deep")
            }
        }
    }

    /// Checks the number of documents and of nodes, with every alias expanded.
    public func checkSize(_ documents: [Node]) throws(Violation) {
        if documents.count > self.documents, let mark = documents[self.documents].mark {
            throw Violation(line: mark.line, column: mark.column, problem: "more than \(self.documents) documents")
        }
        var remaining = nodes
        for document in documents {
            if let mark = Self.exhausts(document, &remaining) {
                throw Violation(
                    line: mark?.line ?? 0, column: mark?.column ?? 0,
                    problem: "more than \(nodes) nodes once aliases are expanded (each alias repeats the node its anchor names)"
                )
            }
        }
    }

    /// The node that used up `remaining` (its mark, if it has one), if one did.
    private static func exhausts(_ node: Node, _ remaining: inout Int) -> Mark?? {
        remaining -= 1
        if remaining < 0 { return .some(node.mark) }
        switch node {
        case .scalar, .alias: return nil
        case .sequence(let sequence):
            for element in sequence { if let mark = exhausts(element, &remaining) { return mark } }
        case .mapping(let mapping):
            for (key, value) in mapping {
                if let mark = exhausts(key, &remaining) ?? exhausts(value, &remaining) { return mark }
            }
        }
        return nil
    }
}

/// An upper bound of YAML nesting, read byte by byte: indentation levels, block indicators (`- `, `? `, `: `)
/// on the current line and open brackets, outside quotes and comments.
struct NestingScanner {
    private(set) var line = 1
    private(set) var column = 0
    private(set) var depth = 0

    private var indents: [Int] = []
    private var indentation = 0
    private var atLineStart = true
    private var indicators = 0
    private var flow = 0
    private var quote: UInt8?
    private var escaped = false
    private var comment = false
    private var previous: UInt8 = ascii("\n")
    private var pendingIndicator = false
    private var head: [UInt8] = []

    private static func ascii(_ character: Unicode.Scalar) -> UInt8 { UInt8(character.value) }
    private static let space = ascii(" "), newline = ascii("\n"), tab = ascii("\t"), carriageReturn = ascii("\r")

    mutating func consume(_ byte: UInt8) {
        column += 1
        defer { previous = byte }
        if head.count == 3, column == 4 {
            if (head == Self.documentStart || head == Self.documentEnd) && [Self.space, Self.newline, Self.carriageReturn].contains(byte) { startDocument() }
            head.append(byte)
        }
        if byte == Self.newline {
            endLine()
            return
        }
        if column <= 3 { head.append(byte) }
        if pendingIndicator {
            pendingIndicator = false
            if byte == Self.space || byte == Self.tab { indicators += 1 }
        }
        if comment || byte == Self.carriageReturn { return }
        if let open = quote {
            if escaped { escaped = false } else if open == Self.ascii("\"") && byte == Self.ascii("\\") { escaped = true } else if byte == open { quote = nil }
            return
        }
        if atLineStart {
            if byte == Self.space {
                indentation += 1
                return
            }
            atLineStart = false
            if byte == Self.ascii("#") {
                comment = true
                return
            }
            while let last = indents.last, last > indentation { indents.removeLast() }
            if indents.last != indentation { indents.append(indentation) }
        }
        let separated = previous == Self.space || previous == Self.tab || previous == Self.newline
        switch byte {
        case Self.ascii("#") where separated:
            comment = true
        case Self.ascii("'"), Self.ascii("\""):
            if separated || [Self.ascii("["), Self.ascii("{"), Self.ascii(","), Self.ascii(":")].contains(previous) { quote = byte }
        case Self.ascii("["), Self.ascii("{"):
            flow += 1
        case Self.ascii("]"), Self.ascii("}"):
            flow = max(0, flow - 1)
        case Self.ascii("-"), Self.ascii("?"), Self.ascii(":"):
            if flow == 0 { pendingIndicator = true }
        default:
            break
        }
        depth = max(depth, current)
    }

    private static let documentStart = Array("---".utf8), documentEnd = Array("...".utf8)

    private var current: Int { indents.count + indicators + flow }

    private mutating func startDocument() {
        indents = []
        flow = 0
        quote = nil
        pendingIndicator = false
        indicators = 0
    }

    private mutating func endLine() {
        if pendingIndicator, flow == 0 { indicators += 1 }
        depth = max(depth, current)
        head = []
        line += 1
        column = 0
        indentation = 0
        atLineStart = true
        indicators = 0
        comment = false
        pendingIndicator = false
    }
}
