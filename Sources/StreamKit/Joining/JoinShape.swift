/// What a windowed join operator needs to know about its inputs, whatever their number and types.
struct JoinShape: Sendable {
    /// Per input: how far before and after one of its records the other inputs' records may lie to join it.
    var reach: [(before: Int64, after: Int64)]
    var grace: Int64
    /// Per input: whether its records go out without a full match when their window closes.
    var emitsUnmatched: [Bool]
    /// The wall-clock wait of an unmatched record, or `nil` for its stream-time distance to closing.
    var wallClockDeadline: Int64?

    var inputs: Int { reach.count }
    var buffersUnmatched: Bool { emitsUnmatched.contains(true) }

    /// How long the join store keeps a record: as long as a record of another input may still join it.
    var retention: Int64 { (reach.map { $0.before + $0.after }.max() ?? 0) + grace + 1 }

    /// The stream time at which the window of `input`'s record at `time` is closed.
    func closeTime(input: Int, time: Int64) -> Int64 { time + reach[input].after + grace + 1 }

    /// How long on the wall clock an unmatched record of `input` waits at most.
    func deadline(input: Int) -> Int64 { wallClockDeadline ?? (reach[input].after + grace) }

    /// Two streams: this one reaches `before`/`after`, the other the mirror image.
    static func binary(_ windows: JoinWindows, emitsUnmatched: [Bool]) -> JoinShape {
        JoinShape(
            reach: [(windows.before, windows.after), (windows.after, windows.before)],
            grace: windows.grace,
            emitsUnmatched: emitsUnmatched,
            wallClockDeadline: windows.wallClockDeadline
        )
    }
}

/// A record on its way into a join operator: which input it came from, its value, and the value's bytes.
struct JoinArrival: Sendable {
    var input: Int
    var value: any Sendable
    var bytes: [UInt8]?
}

/// How one input's values are written to and read from the join store (a value still as its source read it
/// keeps its bytes when the serde is the source's).
struct JoinInputCodec: Sendable {
    var encode: @Sendable (AnyRecord) throws -> [UInt8]?
    var decode: @Sendable ([UInt8]?) throws -> any Sendable

    init<V>(_ serde: Serde<V>) {
        encode = { try $0.valueBytes(serde) }
        decode = { try serde.deserialize($0) }
    }
}
