/// A YAML value kept as written, for the fields of a resource we accept but do not act on (`storageUri`,
/// `requirements`, `memory`, …), so that they can be shown and written back.
public indirect enum ResourceValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case list([ResourceValue])
    /// Keys in the order written.
    case map([Field])

    public struct Field: Sendable, Hashable {
        public var key: String
        public var value: ResourceValue

        public init(key: String, value: ResourceValue) {
            self.key = key
            self.value = value
        }
    }

    /// The value under `key` of a map.
    public subscript(key: String) -> ResourceValue? {
        guard case .map(let fields) = self else { return nil }
        return fields.first { $0.key == key }?.value
    }
}
