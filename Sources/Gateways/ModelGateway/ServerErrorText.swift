import Foundation

/// A model server's error message, split into the reason a client is shown and the details kept for the log.
///
/// Python servers may answer with a whole traceback (MLServer does for an exception its runtime did not wrap,
/// as plain text with status 500). The client gets what Seldon shows, the exception's own line
/// (`ValueError: X has 3 features, …`); the frames are logged, not sent.
struct ServerErrorText: Sendable, Equatable {
    /// What the client is told.
    let reason: String
    /// The whole message, when ``reason`` is shorter.
    let details: String?

    private static let tracebackHeader = "Traceback (most recent call last):"

    /// The longest reason passed on; the rest is in ``details``.
    static let maximumReasonLength = 1_000

    init(_ message: String) {
        let text = message.trimmingWhitespace
        var reason = text
        if let first = text.range(of: Self.tracebackHeader), let last = text.range(of: Self.tracebackHeader, options: .backwards) {
            // The exception's lines follow the frames, which are indented; with chained exceptions, the last one.
            let before = text[..<first.lowerBound].trimmingWhitespace
            let lines = text[last.upperBound...].split(whereSeparator: \.isNewline)
            let exception = lines.suffix(while: { !($0.first?.isWhitespace ?? true) })
                .map { $0.trimmingWhitespace }
                .joined(separator: " ")
            let said = exception.isEmpty ? "an exception without a message" : exception
            reason = before.isEmpty ? said : "\(before) \(said)"
        }
        if reason.count > Self.maximumReasonLength { reason = String(reason.prefix(Self.maximumReasonLength)) + "…" }
        self.reason = reason.isEmpty ? "(no message)" : reason
        self.details = reason == text ? nil : text
    }
}

extension Collection {
    /// The longest tail whose elements all satisfy `predicate`.
    fileprivate func suffix(while predicate: (Element) -> Bool) -> SubSequence {
        var start = endIndex
        var index = startIndex
        while index != endIndex {
            if !predicate(self[index]) { start = self.index(after: index) }
            index = self.index(after: index)
        }
        return self[start...]
    }
}

extension StringProtocol {
    fileprivate var trimmingWhitespace: String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
