/// A topic a topology reads or writes: a user topic, or an internal one the application owns and names
/// `<application id>-<name>`.
package enum TopicName: Sendable, Hashable, CustomStringConvertible {
    case external(String)
    case `internal`(String)

    package func resolved(applicationID: String) -> String {
        switch self {
        case .external(let name): return name
        case .internal(let name): return "\(applicationID)-\(name)"
        }
    }

    package var isInternal: Bool {
        if case .internal = self { return true }
        return false
    }

    package var description: String {
        switch self {
        case .external(let name): return name
        case .internal(let name): return "${application.id}-\(name)"
        }
    }
}
