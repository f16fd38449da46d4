import Synchronization

/// Where a ``StreamsApplication`` is in its life.
public enum ApplicationState: String, Sendable, Hashable {
    /// Constructed, not yet running.
    case created
    /// Joining the group or moving tasks after a rebalance.
    case rebalancing
    /// Processing its assigned tasks.
    case running
    /// Shutting down: finishing in-flight records, committing and leaving the group.
    case pendingShutdown
    /// Stopped cleanly.
    case notRunning
    /// Stopped by an error (see the error ``StreamsApplication/run()`` threw).
    case error

    var isTerminal: Bool { self == .notRunning || self == .error }
}

/// Holds the current state and tells whoever watches.
final class ApplicationStateHolder: Sendable {
    private struct Watchers {
        var state: ApplicationState = .created
        var continuations: [Int: AsyncStream<ApplicationState>.Continuation] = [:]
        var next = 0
    }

    private let watchers = Mutex(Watchers())

    var current: ApplicationState { watchers.withLock { $0.state } }

    func set(_ state: ApplicationState) {
        let targets = watchers.withLock { watchers -> [AsyncStream<ApplicationState>.Continuation] in
            guard watchers.state != state, !watchers.state.isTerminal else { return [] }
            // Once shutting down, rebalance callbacks (leaving the group) do not make it look alive again.
            if watchers.state == .pendingShutdown, !state.isTerminal { return [] }
            watchers.state = state
            return Array(watchers.continuations.values)
        }
        for continuation in targets {
            continuation.yield(state)
            if state.isTerminal { continuation.finish() }
        }
    }

    func stream() -> AsyncStream<ApplicationState> {
        let (stream, continuation) = AsyncStream.makeStream(of: ApplicationState.self, bufferingPolicy: .unbounded)
        let id = watchers.withLock { watchers -> Int in
            defer { watchers.next += 1 }
            continuation.yield(watchers.state)
            if watchers.state.isTerminal { continuation.finish() } else { watchers.continuations[watchers.next] = continuation }
            return watchers.next
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.watchers.withLock { $0.continuations.removeValue(forKey: id) }
        }
        return stream
    }
}
