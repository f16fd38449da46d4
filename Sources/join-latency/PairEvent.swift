import Foundation

/// One side of a pair as produced to `left` and `right`: the pair's number and its produce time.
struct PairEvent: Codable, Sendable {
    var id: Int64
    var ts_ns: Int64

    /// The JSON value, written by hand: the producer sends tens of thousands per second.
    var bytes: [UInt8] { Array("{\"id\":\(id),\"ts_ns\":\(ts_ns)}".utf8) }
}

/// A joined pair as written to `joined` (by our join or by the process under test).
struct JoinedPair: Codable, Sendable {
    var id: Int64
    var left_ts_ns: Int64
    var right_ts_ns: Int64
}

/// Nanoseconds since the epoch on the wall clock, as every process on the machine reads it.
func wallClockNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}
