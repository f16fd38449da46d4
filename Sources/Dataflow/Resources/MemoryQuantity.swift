/// A quantity of memory as Kubernetes and Seldon write it: `100Ki`, `1.5Gi`, `500M`, `2G`, or plain bytes.
public struct MemoryQuantity: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var bytes: Int64

    public init(bytes: Int64) { self.bytes = bytes }

    static let suffixes: [(suffix: String, factor: Double)] = [
        ("Ki", 1024), ("Mi", 1_048_576), ("Gi", 1_073_741_824), ("Ti", 1_099_511_627_776),
        ("k", 1_000), ("K", 1_000), ("M", 1_000_000), ("G", 1_000_000_000), ("T", 1_000_000_000_000),
    ]

    /// `nil` when `text` is not a quantity.
    public init?(_ text: String) {
        var number = Substring(text)
        var factor = 1.0
        for (suffix, value) in Self.suffixes where text.hasSuffix(suffix) {
            number = text.dropLast(suffix.count)
            factor = value
            break
        }
        guard let value = Double(number), value >= 0, value.isFinite else { return nil }
        bytes = Int64((value * factor).rounded(.up))
    }

    public static func < (a: Self, b: Self) -> Bool { a.bytes < b.bytes }

    public var description: String {
        for (suffix, factor) in Self.suffixes.prefix(4).reversed() where bytes >= Int64(factor) && bytes % Int64(factor) == 0 {
            return "\(bytes / Int64(factor))\(suffix)"
        }
        return "\(bytes)"
    }
}

extension YAMLNode {
    func memory() throws(ResourceError) -> Located<MemoryQuantity> {
        let text = try string()
        guard let quantity = MemoryQuantity(text) else {
            throw error("'\(text)' is not a memory quantity; expected e.g. 100Ki, 512Mi, 2Gi or bytes")
        }
        return located(quantity)
    }
}
