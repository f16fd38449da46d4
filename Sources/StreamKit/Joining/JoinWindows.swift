/// The time span within which records of two streams join: a record of this stream at `t` joins the other
/// stream's records at `t - before ... t + after` (both ends included).
///
/// A record's window closes when stream time passes the far end of its window plus ``grace``; records arriving
/// for a closed window are dropped and counted as late. Left and outer joins emit a record that found no
/// partner when its window closes, or when ``wallClockDeadline`` has passed since it arrived, whichever is first.
public struct JoinWindows: Sendable, Hashable {
    public var before: Int64
    public var after: Int64
    public var grace: Int64
    /// How long after its arrival an unmatched record waits at most on the wall clock (milliseconds); `nil`
    /// means the stream-time distance to its window's close (the far end of its window plus grace).
    public var wallClockDeadline: Int64?

    /// Records at most `difference` apart join, in either order.
    public static func ofTimeDifference(_ difference: Duration, grace: Duration = .zero) -> JoinWindows {
        let span = difference.wholeMilliseconds
        return JoinWindows(before: span, after: span, grace: grace.wholeMilliseconds)
    }

    /// The same windows, reaching `span` back in time from this stream's records.
    public func before(_ span: Duration) -> JoinWindows {
        var copy = self
        copy.before = span.wholeMilliseconds
        return copy
    }

    /// The same windows, reaching `span` forward in time from this stream's records.
    public func after(_ span: Duration) -> JoinWindows {
        var copy = self
        copy.after = span.wholeMilliseconds
        return copy
    }

    /// The same windows, with unmatched records emitted at the latest `deadline` after they arrived.
    public func withWallClockDeadline(_ deadline: Duration) -> JoinWindows {
        var copy = self
        copy.wallClockDeadline = deadline.wholeMilliseconds
        return copy
    }
}

/// How a join of several streams on the same key combines their records.
public enum MultiwayJoin: String, Sendable, Hashable, CaseIterable {
    /// One result per combination with a record from every stream.
    case inner
    /// As `inner`; and records that never became part of a full combination go out, with whatever arrived
    /// for their key within their window, when that window closes.
    case outer
    /// Every record forwarded at once, alone in its position.
    case any
}
