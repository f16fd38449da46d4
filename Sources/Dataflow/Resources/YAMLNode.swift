import Yams

/// A node of a parsed resource document with its file and field path, reading typed values and turning every
/// mismatch into a ``ResourceError`` that says where.
struct YAMLNode {
    let node: Node
    let file: String
    let field: String

    var location: SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0)
    }

    func error(_ problem: String) -> ResourceError { ResourceError(location: location, field: field, problem: problem) }

    func located<T>(_ value: T) -> Located<T> { Located(value, at: location, field: field) }

    private var found: String {
        switch node {
        case .scalar(let scalar): scalar.string.isEmpty ? "an empty value" : "'\(scalar.string)'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    func string() throws(ResourceError) -> String {
        guard case .scalar(let scalar) = node else { throw error("expected a string, found \(found)") }
        return scalar.string
    }

    func int() throws(ResourceError) -> Int64 {
        guard case .scalar(let scalar) = node, let value = Int64(scalar.string.replacingOccurrences(of: "_", with: "")) else {
            throw error("expected an integer, found \(found)")
        }
        return value
    }

    /// An integer with where it was written, for later checks to point at.
    func locatedInt() throws(ResourceError) -> Located<Int64> { located(try int()) }

    func bool() throws(ResourceError) -> Bool {
        guard case .scalar(let scalar) = node else { throw error("expected true or false, found \(found)") }
        switch scalar.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("expected true or false, found \(found)")
        }
    }

    func list() throws(ResourceError) -> [YAMLNode] {
        guard case .sequence(let sequence) = node else { throw error("expected a list, found \(found)") }
        return sequence.enumerated().map { YAMLNode(node: $1, file: file, field: "\(field)[\($0)]") }
    }

    func mapping() throws(ResourceError) -> YAMLMapping {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping, found \(found)") }
        var entries: [(key: String, value: YAMLNode)] = []
        for (key, value) in mapping {
            let name = key.string ?? "\(key)"
            entries.append((name, YAMLNode(node: value, file: file, field: field.isEmpty ? name : "\(field).\(name)")))
        }
        return YAMLMapping(entries: entries, owner: self)
    }

    /// The value as written, for fields kept but not acted on.
    var value: ResourceValue {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain {
                if scalar.string == "null" || scalar.string == "~" || scalar.string.isEmpty { return .null }
                if let flag = Bool.construct(from: scalar) { return .bool(flag) }
                if let integer = Int64(scalar.string) { return .int(integer) }
                if let number = Double.construct(from: scalar) { return .double(number) }
            }
            return .string(scalar.string)
        case .sequence:
            return .list(((try? list()) ?? []).map(\.value))
        case .mapping:
            return .map(((try? mapping())?.entries ?? []).map { ResourceValue.Field(key: $0.key, value: $0.value.value) })
        case .alias:
            return .null
        }
    }
}

/// The entries of a YAML mapping, in order.
struct YAMLMapping {
    let entries: [(key: String, value: YAMLNode)]
    let owner: YAMLNode

    subscript(key: String) -> YAMLNode? { entries.first { $0.key == key }?.value }

    func required(_ key: String) throws(ResourceError) -> YAMLNode {
        guard let value = self[key] else {
            throw ResourceError(location: owner.location, field: owner.field, problem: "missing field '\(key)'")
        }
        return value
    }

    /// The entries whose keys are not in `known`, kept as written.
    func others(than known: Set<String>) -> [String: ResourceValue] {
        Dictionary(entries.filter { !known.contains($0.key) }.map { ($0.key, $0.value.value) }, uniquingKeysWith: { first, _ in first })
    }
}
