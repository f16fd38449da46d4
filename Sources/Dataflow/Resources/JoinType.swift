/// How a step (or a pipeline's input or output) combines several sources of one request.
public enum JoinType: String, Sendable, Hashable, CaseIterable {
    /// Every source present within the window.
    case inner
    /// Every source present, or whatever arrived when the window expires.
    case outer
    /// Each arrival forwarded at once.
    case any

    init(_ node: YAMLNode) throws(ResourceError) {
        let text = try node.string()
        guard let type = JoinType(rawValue: text) else {
            throw node.error("unknown join type '\(text)'; expected inner, outer or any")
        }
        self = type
    }
}
