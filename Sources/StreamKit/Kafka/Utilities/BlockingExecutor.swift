import Dispatch

/// Runs librdkafka calls that block (flush, commit, metadata, transactions, consumer polls) on Dispatch
/// threads, never on Swift's cooperative thread pool, so that a slow broker cannot starve other tasks.
struct BlockingExecutor: Sendable {
    private let queue: DispatchQueue

    /// - Parameter serial: `true` for a queue that runs one call at a time (a consumer's poll loop).
    init(label: String, serial: Bool = false) {
        queue = DispatchQueue(label: label, qos: .userInitiated, attributes: serial ? [] : .concurrent)
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            queue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            queue.async {
                continuation.resume(returning: body())
            }
        }
    }
}
