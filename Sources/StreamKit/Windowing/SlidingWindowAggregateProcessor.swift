/// Aggregates over sliding windows, Kafka Streams' way: each record r defines the window `[r - d, r]`, and
/// `[r + 1, r + 1 + d]` when that holds records and is not the same set as a later record's window; a window's
/// result is the fold of the records in it. Keeps the records themselves (a window store with duplicates) and
/// computes each affected window again when a record arrives, so an out-of-order record updates every window
/// it falls into.
final class SlidingWindowAggregateProcessor<Key: Sendable, Value: Sendable, Result: Sendable>: Processor {
    typealias InKey = Key
    typealias InValue = Value
    typealias OutKey = Windowed<Key>
    typealias OutValue = Result

    private let storeName: String
    private let difference: Int64
    private let grace: Int64
    private let aggregation: WindowAggregation<Key, Value, Result>
    private let emission: WindowEmission
    private let keySerde: Serde<Key>
    private var context: ProcessorContext<Windowed<Key>, Result>!
    private var store: WindowStore<Key, Value>!
    private var closing: WindowCloser<WindowRef>

    init(storeName: String, windows: SlidingWindows, aggregation: WindowAggregation<Key, Value, Result>, emission: WindowEmission, keySerde: Serde<Key>) {
        self.storeName = storeName
        self.difference = windows.timeDifference
        self.grace = windows.grace
        self.aggregation = aggregation
        self.emission = emission
        self.closing = WindowCloser(deadline: emission.deadline)
        self.keySerde = keySerde
    }

    func initialize(context: ProcessorContext<Windowed<Key>, Result>) throws {
        self.context = context
        store = try context.windowStore(named: storeName)
        guard emission.emitsFinal else { return }
        let now = context.wallClockTime
        var byKey: [[UInt8]: (key: Key, times: [Int64])] = [:]
        for entry in try store.all() {
            let bytes = try keySerde.storeKey(entry.key, store: storeName)
            byKey[bytes, default: (entry.key, [])].times.append(entry.time)
        }
        for (bytes, entry) in byKey {
            for time in entry.times {
                for start in [time - difference, time + 1] where isWindow(start: start, records: try records(entry.key, around: start)) {
                    closing.open(WindowRef(key: bytes, start: start), closesAt: closeTime(start), now: now)
                }
            }
        }
        context.schedule(every: .milliseconds(100), on: .wallClockTime) { [unowned self] _ in try await self.emitClosed() }
    }

    private func closeTime(_ start: Int64) -> Int64 { start + difference + grace + 1 }

    func process(_ record: Record<Key, Value>) async throws {
        // Before this record's write moves the store's retention on: what closed must still be readable.
        if emission.emitsFinal { try await emitClosed() }
        let time = record.timestamp
        let streamTime = context.streamTime
        guard time + difference + grace >= streamTime else {
            context.recordLateDrop(record.metadata)
            return
        }
        let keyBytes = try keySerde.storeKey(record.key, store: storeName)
        guard try await store.put(record.key, record.value, at: time) else {
            context.recordLateDrop(record.metadata)
            return
        }
        // Every window this record changes or creates starts in [time - d, time + 1], so the records it needs
        // are within [time - d - 1, time + d + 1]: read once.
        let nearby = try store.fetch(record.key, from: time - difference - 1, to: time + difference + 1)
        var starts: Set<Int64> = [time - difference, time + 1]
        for (other, _) in nearby { starts.insert(other >= time ? other - difference : other + 1) }
        for start in starts.sorted() {
            let ref = WindowRef(key: keyBytes, start: start)
            guard closeTime(start) > streamTime, !closing.isClosed(ref), isWindow(start: start, records: nearby) else { continue }
            if emission.emitsFinal {
                closing.open(ref, closesAt: closeTime(start), now: context.wallClockTime)
            } else if start <= time, time <= start + difference, let result = try await result(record.key, start: start, records: nearby) {
                try await context.forward(Record(
                    key: Windowed(key: record.key, window: Window(start: start, end: start + difference + 1)),
                    value: result,
                    timestamp: record.timestamp,
                    headers: record.headers
                ))
            }
        }
    }

    /// The key's records a window starting at `start` needs: those in it and the one just before it.
    private func records(_ key: Key, around start: Int64) throws -> [(time: Int64, value: Value)] {
        try store.fetch(key, from: start - 1, to: start + difference)
    }

    /// Whether `[start, start + d]` is a window: some record's left window, or a right window holding records
    /// and not equal to the left window of its last record. `records` must cover `[start - 1, start + d]`.
    private func isWindow(start: Int64, records: [(time: Int64, value: Value)]) -> Bool {
        guard let last = records.last(where: { $0.time >= start && $0.time <= start + difference }) else { return false }
        if last.time == start + difference { return true }
        return records.contains { $0.time == start - 1 } && last.time - difference <= start - 1
    }

    /// The fold of the records in `[start, start + d]`, in time order; `records` must cover that span.
    private func result(_ key: Key, start: Int64, records: [(time: Int64, value: Value)]) async throws -> Result? {
        var result: Result?
        for (time, value) in records where time >= start && time <= start + difference {
            if let current = result {
                result = try await aggregation.add(key, value, current)
            } else {
                result = try await aggregation.start(key, value)
            }
        }
        return result
    }

    private func emitClosed() async throws {
        for id in closing.takeClosed(streamTime: context.streamTime, now: context.wallClockTime) {
            let key = try keySerde.deserialize(id.key)
            guard let result = try await result(key, start: id.start, records: try records(key, around: id.start)) else { continue }
            let window = Window(start: id.start, end: id.start + difference + 1)
            try await context.forward(Record(key: Windowed(key: key, window: window), value: result, timestamp: window.end - 1))
        }
    }
}
