/// The token the APIs require (`Authorization: Bearer <token>`), compared in constant time: how long a wrong
/// guess takes to refuse says nothing about how much of it was right.
struct BearerToken: Sendable {
    private let expected: [UInt8]

    init(_ token: String) {
        expected = Array("Bearer \(token)".utf8)
    }

    /// Whether one of `values` (an `authorization` header or metadata entry) carries the token.
    func isCarried(by values: some Sequence<String>) -> Bool {
        var found = false
        for value in values where matches(value) { found = true }
        return found
    }

    /// Whether `value` is exactly `Bearer <token>`; the time taken depends only on the lengths.
    func matches(_ value: String?) -> Bool {
        guard let value else { return false }
        let presented = Array(value.utf8)
        var difference = UInt8(truncatingIfNeeded: presented.count ^ expected.count)
        for index in expected.indices {
            let byte = index < presented.count ? presented[index] : ~expected[index]
            difference |= byte ^ expected[index]
        }
        return difference == 0
    }
}
