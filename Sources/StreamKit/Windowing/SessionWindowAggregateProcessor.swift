/// Aggregates records into session windows kept in a session store: a record joins (and merges) the key's
/// sessions within the inactivity gap of it. Forwards each update (and `nil` for sessions merged away), or
/// only each session's final result.
final class SessionWindowAggregateProcessor<Key: Sendable, Value: Sendable, Result: Sendable>: Processor {
    typealias InKey = Key
    typealias InValue = Value
    typealias OutKey = Windowed<Key>
    typealias OutValue = Result?

    private let storeName: String
    private let windows: SessionWindows
    private let aggregation: WindowAggregation<Key, Value, Result>
    private let emission: WindowEmission
    private let keySerde: Serde<Key>
    private var context: ProcessorContext<Windowed<Key>, Result?>!
    private var store: SessionStore<Key, Result>!
    /// Pending sessions by key bytes and start; the session's end is looked up when it closes.
    private var closing: WindowCloser<SessionRef>

    struct SessionRef: Hashable {
        var key: [UInt8]
        var session: SessionWindow
    }

    init(storeName: String, windows: SessionWindows, aggregation: WindowAggregation<Key, Value, Result>, emission: WindowEmission, keySerde: Serde<Key>) {
        self.storeName = storeName
        self.windows = windows
        self.aggregation = aggregation
        self.emission = emission
        self.closing = WindowCloser(deadline: emission.deadline)
        self.keySerde = keySerde
    }

    func initialize(context: ProcessorContext<Windowed<Key>, Result?>) throws {
        self.context = context
        store = try context.sessionStore(named: storeName)
        guard emission.emitsFinal else { return }
        let now = context.wallClockTime
        for entry in try store.sessions(endingFrom: .min, to: .max) {
            let ref = SessionRef(key: try keySerde.storeKey(entry.key, store: storeName), session: entry.session)
            closing.open(ref, closesAt: closeTime(entry.session), now: now)
        }
        context.schedule(every: .milliseconds(100), on: .wallClockTime) { [unowned self] _ in try await self.emitClosed() }
    }

    private func closeTime(_ session: SessionWindow) -> Int64 { session.end + windows.gap + windows.grace + 1 }

    private func window(_ session: SessionWindow) -> Window { Window(start: session.start, end: session.end + 1) }

    func process(_ record: Record<Key, Value>) async throws {
        // Before this record's write moves the store's retention on: what closed must still be readable.
        if emission.emitsFinal { try await emitClosed() }
        let time = record.timestamp
        let keyBytes = try keySerde.storeKey(record.key, store: storeName)
        let overlapping = try store.findSessions(record.key, earliestEnd: time - windows.gap, latestStart: time + windows.gap)
            .filter { !closing.isClosed(SessionRef(key: keyBytes, session: $0.session)) }
        var merged = SessionWindow(start: time, end: time)
        var result: Result?
        for (session, value) in overlapping {
            merged = SessionWindow(start: min(merged.start, session.start), end: max(merged.end, session.end))
            if let current = result {
                result = try await aggregation.merge(record.key, current, value)
            } else {
                result = value
            }
        }
        guard closeTime(merged) > context.streamTime else {
            context.recordLateDrop(record.metadata)
            return
        }
        if let current = result {
            result = try await aggregation.add(record.key, record.value, current)
        } else {
            result = try await aggregation.start(record.key, record.value)
        }
        for (session, _) in overlapping where session != merged {
            try await store.remove(record.key, session)
            closing.forget(SessionRef(key: keyBytes, session: session))
            if !emission.emitsFinal {
                try await context.forward(Record(key: Windowed(key: record.key, window: window(session)), value: nil, timestamp: time, headers: record.headers))
            }
        }
        guard try await store.put(record.key, merged, result) else {
            context.recordLateDrop(record.metadata)
            return
        }
        if emission.emitsFinal {
            closing.open(SessionRef(key: keyBytes, session: merged), closesAt: closeTime(merged), now: context.wallClockTime)
        } else {
            try await context.forward(Record(key: Windowed(key: record.key, window: window(merged)), value: result, timestamp: time, headers: record.headers))
        }
    }

    private func emitClosed() async throws {
        for id in closing.takeClosed(streamTime: context.streamTime, now: context.wallClockTime) {
            let key = try keySerde.deserialize(id.key)
            let session = id.session
            guard let result = try store.findSessions(key, earliestEnd: session.end, latestStart: session.start)
                .first(where: { $0.session == session })?.value else { continue }
            try await context.forward(Record(key: Windowed(key: key, window: window(session)), value: result, timestamp: session.end))
        }
    }
}
