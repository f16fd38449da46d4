/// Aggregates records into tumbling or hopping windows kept in a window store (one result per key and window
/// start), forwarding each update or only each window's final result.
final class TimeWindowAggregateProcessor<Key: Sendable, Value: Sendable, Result: Sendable>: Processor {
    typealias InKey = Key
    typealias InValue = Value
    typealias OutKey = Windowed<Key>
    typealias OutValue = Result

    private let storeName: String
    private let windows: TimeWindows
    private let aggregation: WindowAggregation<Key, Value, Result>
    private let emission: WindowEmission
    private let keySerde: Serde<Key>
    private var context: ProcessorContext<Windowed<Key>, Result>!
    private var store: WindowStore<Key, Result>!
    private var closing: WindowCloser<WindowRef>

    init(storeName: String, windows: TimeWindows, aggregation: WindowAggregation<Key, Value, Result>, emission: WindowEmission, keySerde: Serde<Key>) {
        self.storeName = storeName
        self.windows = windows
        self.aggregation = aggregation
        self.emission = emission
        self.closing = WindowCloser(deadline: emission.deadline)
        self.keySerde = keySerde
    }

    func initialize(context: ProcessorContext<Windowed<Key>, Result>) throws {
        self.context = context
        store = try context.windowStore(named: storeName)
        guard emission.emitsFinal else { return }
        // Windows restored from the changelog have not emitted yet: they close by stream time or a fresh deadline.
        let now = context.wallClockTime
        for entry in try store.all() {
            let ref = WindowRef(key: try keySerde.storeKey(entry.key, store: storeName), start: entry.time)
            closing.open(ref, closesAt: closeTime(ofWindowStartingAt: entry.time), now: now)
        }
        context.schedule(every: .milliseconds(100), on: .wallClockTime) { [unowned self] _ in try await self.emitClosed() }
    }

    private func closeTime(ofWindowStartingAt start: Int64) -> Int64 { start + windows.size + windows.grace }

    func process(_ record: Record<Key, Value>) async throws {
        // Before this record's write moves the store's retention on: what closed must still be readable.
        if emission.emitsFinal { try await emitClosed() }
        let streamTime = context.streamTime
        let keyBytes = try keySerde.storeKey(record.key, store: storeName)
        var accepted = false
        for window in windows.windows(containing: record.timestamp) {
            let ref = WindowRef(key: keyBytes, start: window.start)
            guard closeTime(ofWindowStartingAt: window.start) > streamTime, !closing.isClosed(ref) else { continue }
            let result: Result
            if let current = try store.fetch(record.key, at: window.start) {
                result = try await aggregation.add(record.key, record.value, current)
            } else {
                result = try await aggregation.start(record.key, record.value)
            }
            guard try await store.put(record.key, result, at: window.start) else { continue }
            accepted = true
            if emission.emitsFinal {
                closing.open(ref, closesAt: closeTime(ofWindowStartingAt: window.start), now: context.wallClockTime)
            } else {
                try await context.forward(
                    Record(key: Windowed(key: record.key, window: window), value: result, timestamp: record.timestamp, headers: record.headers)
                )
            }
        }
        if !accepted { context.recordLateDrop(record.metadata) }
    }

    /// Forwards the final result of every window that closed, by stream time or by its deadline.
    private func emitClosed() async throws {
        let streamTime = context.streamTime
        for id in closing.takeClosed(streamTime: streamTime, now: context.wallClockTime) {
            let key = try keySerde.deserialize(id.key)
            guard let result = try store.fetch(key, at: id.start) else { continue }
            let window = Window(start: id.start, end: id.start + windows.size)
            try await context.forward(Record(key: Windowed(key: key, window: window), value: result, timestamp: window.end - 1))
        }
    }
}
