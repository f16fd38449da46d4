/// A time window `[start, end)` in milliseconds since the epoch.
public struct Window: Hashable, Sendable, CustomStringConvertible {
    public var start: Int64
    public var end: Int64

    public init(start: Int64, end: Int64) {
        self.start = start
        self.end = end
    }

    public var description: String { "[\(start), \(end))" }
}

/// A key with the window its result belongs to: the key of windowed aggregation results.
public struct Windowed<Key: Sendable>: Sendable, CustomStringConvertible {
    public var key: Key
    public var window: Window

    public init(key: Key, window: Window) {
        self.key = key
        self.window = window
    }

    public var description: String { "\(key)@\(window)" }
}

extension Windowed: Equatable where Key: Equatable {}
extension Windowed: Hashable where Key: Hashable {}

/// Fixed-size windows: tumbling (advance = size) or hopping (advance < size, so each record falls into
/// `size / advance` windows), aligned to the epoch.
public struct TimeWindows: Sendable, Hashable {
    public var size: Int64
    public var advance: Int64
    /// How long after a window's end records are still taken into it (in stream time).
    public var grace: Int64

    /// Tumbling windows of `size`, taking records up to `grace` after their end.
    public static func ofSize(_ size: Duration, grace: Duration = .zero) -> TimeWindows {
        TimeWindows(size: size.wholeMilliseconds, advance: size.wholeMilliseconds, grace: grace.wholeMilliseconds)
    }

    /// Hopping windows: a new window every `advance`.
    public func advanceBy(_ advance: Duration) -> TimeWindows {
        var copy = self
        copy.advance = advance.wholeMilliseconds
        return copy
    }

    /// The windows a record at `time` falls into, earliest first.
    func windows(containing time: Int64) -> [Window] {
        let lastStart = time - Self.floorMod(time, advance)
        var windows: [Window] = []
        var start = lastStart
        while start > time - size {
            windows.append(Window(start: start, end: start + size))
            start -= advance
        }
        return windows.reversed()
    }

    static func floorMod(_ a: Int64, _ b: Int64) -> Int64 { ((a % b) + b) % b }
}

/// Windows of a fixed span defined by the records themselves (Kafka Streams' sliding windows): for each record
/// at t the window `[t - timeDifference, t]`, and right after it `[t + 1, t + 1 + timeDifference]` when records
/// fall there. Every distinct set of records within `timeDifference` of each other gets one result.
public struct SlidingWindows: Sendable, Hashable {
    public var timeDifference: Int64
    public var grace: Int64

    public static func ofTimeDifference(_ difference: Duration, grace: Duration = .zero) -> SlidingWindows {
        SlidingWindows(timeDifference: difference.wholeMilliseconds, grace: grace.wholeMilliseconds)
    }
}

/// Windows of activity per key: a session grows while its records are less than `gap` apart.
public struct SessionWindows: Sendable, Hashable {
    public var gap: Int64
    public var grace: Int64

    public static func ofInactivityGap(_ gap: Duration, grace: Duration = .zero) -> SessionWindows {
        SessionWindows(gap: gap.wholeMilliseconds, grace: grace.wholeMilliseconds)
    }
}

/// When a windowed operation forwards its results.
public enum EmitStrategy: Sendable, Hashable {
    /// Every change of a window's result, as it happens.
    case onWindowUpdate
    /// Only a window's final result, once, when it closes: when stream time passes its end plus grace, or when
    /// `wallClockDeadline` has passed on the wall clock since the window's first record, whichever is first
    /// (`nil`: the window's size plus grace), so that a final result never waits for unrelated later records.
    /// Records that arrive for a window after it closed are dropped and counted as late.
    case onWindowClose(wallClockDeadline: Duration? = nil)
}

extension Duration {
    /// Whole milliseconds, as windows count time.
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
