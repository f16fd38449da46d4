import Foundation
import Synchronization

/// The wall clock tasks read for wall-clock punctuation and deadlines, in milliseconds since the epoch.
///
/// The application uses the system clock; the topology test driver uses a ``ManualClock`` it advances itself.
public protocol WallClock: Sendable {
    func now() -> Int64
}

/// The system's real-time clock.
public struct SystemWallClock: WallClock {
    public init() {}
    public func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}

/// A clock that moves only when told to.
public final class ManualClock: WallClock {
    private let time: Atomic<Int64>

    public init(startingAt milliseconds: Int64 = 0) { time = Atomic(milliseconds) }

    public func now() -> Int64 { time.load(ordering: .acquiring) }

    public func advance(by duration: Duration) {
        time.add(Int64(duration.milliseconds), ordering: .acquiringAndReleasing)
    }

    public func set(_ milliseconds: Int64) { time.store(milliseconds, ordering: .releasing) }
}
