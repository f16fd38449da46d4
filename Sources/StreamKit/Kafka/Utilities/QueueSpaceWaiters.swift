import Synchronization

/// Tasks waiting for room in a producer's local queue. The poll thread wakes them all whenever delivery
/// reports have freed space; a woken task simply tries again.
final class QueueSpaceWaiters: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((true, []))

    /// Waits until ``wakeAll()`` or ``close()``; returns at once once closed.
    func wait() async {
        await withCheckedContinuation { continuation in
            let waiting = state.withLock { state in
                if state.open { state.waiters.append(continuation) }
                return state.open
            }
            if !waiting { continuation.resume() }
        }
    }

    func wakeAll() {
        let waiters = state.withLock { state in
            defer { state.waiters.removeAll(keepingCapacity: true) }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Wakes every waiter and lets later waits return at once.
    func close() {
        state.withLock { $0.open = false }
        wakeAll()
    }
}
