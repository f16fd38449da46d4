/// The names resources and steps may have: RFC 1123 labels, as Kubernetes and Seldon Core 2 require. They become
/// parts of topic names, folder names and URL paths, so nothing else may pass (`..`, `/`, `%`, spaces).
public enum ResourceName {
    public static let maximumLength = 63

    /// What is wrong with `name` as the name of a `what` (pipeline, model, step), or `nil` when it is valid.
    public static func problem(_ name: String, what: String = "resource") -> String? {
        let bytes = Array(name.utf8)
        let isLowerAlphanumeric = { (byte: UInt8) in (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) }
        let valid = !bytes.isEmpty && bytes.count <= maximumLength
            && bytes.allSatisfy { isLowerAlphanumeric($0) || $0 == 0x2D }
            && bytes.first.map(isLowerAlphanumeric) == true && bytes.last.map(isLowerAlphanumeric) == true
        return valid
            ? nil
            : "'\(name)' is not a valid \(what) name: use 1–\(maximumLength) lowercase letters, digits and '-', starting and ending with a letter or digit"
    }
}
