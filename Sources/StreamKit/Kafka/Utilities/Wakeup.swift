import Synchronization

/// Wakes one waiting loop when something it should look at has happened (records arrived, a rebalance event,
/// room in a buffer).
///
/// A signal is never lost: one that comes while nobody waits makes the next ``wait(timeout:)`` return at once.
/// Signals may be given from any thread, including librdkafka's, and cost one lock when nobody waits.
public final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    public init() {}

    public func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns after the next signal (or at once for one already given), or after `timeout`. Only one caller
    /// may wait at a time.
    public func wait(timeout: Duration) async {
        if state.withLock({ state in defer { state.pending = false }; return state.pending }) { return }
        let timer = Task { [weak self] in
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            self?.signal()
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let signalled = state.withLock { state -> Bool in
                if state.pending {
                    state.pending = false
                    return true
                }
                precondition(state.waiter == nil, "Wakeup.wait called concurrently")
                state.waiter = continuation
                return false
            }
            if signalled { continuation.resume() }
        }
        timer.cancel()
    }
}
