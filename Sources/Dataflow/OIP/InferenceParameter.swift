/// A request, response or tensor parameter: OIP allows booleans, integers, floating-point numbers and strings.
public enum InferenceParameter: Sendable, Hashable {
    case bool(Bool)
    case int64(Int64)
    case uint64(UInt64)
    case double(Double)
    case string(String)
}

/// Parameters by name, as OIP carries them.
public typealias InferenceParameters = [String: InferenceParameter]
