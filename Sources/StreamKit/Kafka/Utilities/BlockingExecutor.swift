import Dispatch

/// Runs calls that block — librdkafka's (flush, commit, metadata, transactions, consumer polls), file copies — on
/// Dispatch threads, never on Swift's cooperative thread pool, so that a slow broker or disk cannot starve other
/// tasks.
public struct BlockingExecutor: Sendable {
    private let queue: DispatchQueue

    /// - Parameter serial: `true` for a queue that runs one call at a time (a consumer's poll loop).
    public init(label: String, serial: Bool = false) {
        queue = DispatchQueue(label: label, qos: .userInitiated, attributes: serial ? [] : .concurrent)
    }

    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            queue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }

    public func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            queue.async {
                continuation.resume(returning: body())
            }
        }
    }
}
