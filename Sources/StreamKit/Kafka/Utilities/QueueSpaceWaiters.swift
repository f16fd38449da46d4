import Synchronization

/// Tasks waiting for room in a producer's local queue.
///
/// Delivery reports free room one record at a time; waking waiters for each would make them thrash, waking
/// them only after the poll thread has served a whole burst of reports lets the queue run dry. So waiters
/// are woken once ``wakeThreshold`` records have been freed since the last wake, and, as a fallback, on
/// every round of the poll thread.
final class QueueSpaceWaiters: Sendable {
    static let wakeThreshold = 1_000

    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((true, []))
    private let waiting = Atomic<Int>(0)
    private let freedSinceWake = Atomic<Int>(0)

    /// Waits until room is freed or the producer closes; returns at once once closed.
    func wait() async {
        await withCheckedContinuation { continuation in
            let waits = state.withLock { state in
                if state.open {
                    state.waiters.append(continuation)
                    waiting.add(1, ordering: .relaxed)
                }
                return state.open
            }
            if !waits { continuation.resume() }
        }
    }

    /// Called for every delivery report: one record's room is free again.
    func recordFreed() {
        guard waiting.load(ordering: .relaxed) > 0 else { return }
        if freedSinceWake.add(1, ordering: .relaxed).newValue >= Self.wakeThreshold { wakeAll() }
    }

    /// Called by the poll thread after each round.
    func pollRoundFinished() {
        if waiting.load(ordering: .relaxed) > 0 { wakeAll() }
    }

    /// Wakes every waiter and lets later waits return at once.
    func close() {
        state.withLock { $0.open = false }
        wakeAll()
    }

    private func wakeAll() {
        let waiters = state.withLock { state in
            defer { state.waiters.removeAll(keepingCapacity: true) }
            waiting.subtract(state.waiters.count, ordering: .relaxed)
            freedSinceWake.store(0, ordering: .relaxed)
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
