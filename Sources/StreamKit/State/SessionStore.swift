/// A session window: the span from a session's first record to its last, both inclusive (milliseconds).
public struct SessionWindow: Hashable, Sendable, CustomStringConvertible {
    public var start: Int64
    public var end: Int64

    public init(start: Int64, end: Int64) {
        self.start = start
        self.end = end
    }

    public var description: String { "[\(start)…\(end)]" }
}

/// Aggregates of session windows, filed by key and session; kept for ``retention`` of stream time after a
/// session's end and then dropped a whole segment at a time.
public final class SessionStore<Key: Sendable, Value: Sendable>: ChangeLoggedStore {
    public let name: String
    public let isPersistent: Bool
    public let retention: Int64
    private let segments: SegmentedBytesStore
    private let keySerde: Serde<Key>
    private let valueSerde: Serde<Value>
    private let changelog: ChangeLogger?

    package init(
        name: String,
        segments: SegmentedBytesStore,
        key: Serde<Key>,
        value: Serde<Value>,
        isPersistent: Bool,
        changelog: ChangeLogger?
    ) {
        self.name = name
        self.segments = segments
        self.retention = segments.retention
        self.keySerde = key
        self.valueSerde = value
        self.isPersistent = isPersistent
        self.changelog = changelog
    }

    /// The latest session end written.
    public var observedTime: Int64 { segments.observedTime }

    /// Stores the aggregate of `session`, or removes the session with `nil`.
    ///
    /// - Returns: `false` when the session ended too long ago to be kept, in which case nothing is written.
    @discardableResult
    public func put(_ key: Key, _ session: SessionWindow, _ value: Value?) async throws -> Bool {
        let raw = try rawKey(key, session)
        let valueBytes = try value.flatMap { try valueSerde.serialize($0) }
        guard try segments.put(raw, time: session.end, value: valueBytes) else { return false }
        try await changelog?.log(key: raw, value: valueBytes)
        return true
    }

    /// Removes `session`.
    public func remove(_ key: Key, _ session: SessionWindow) async throws {
        try await put(key, session, nil)
    }

    /// The sessions of `key` that end at or after `earliestEnd` and start at or before `latestStart`: the
    /// sessions a record at time t merges with are those with `earliestEnd = t - gap`, `latestStart = t + gap`.
    /// Ordered by end.
    public func findSessions(_ key: Key, earliestEnd: Int64, latestStart: Int64) throws -> [(session: SessionWindow, value: Value)] {
        let keyBytes = try keySerde.storeKey(key, store: name)
        let from = max(earliestEnd, segments.earliestLiveTime)
        let entries = try segments.range(
            from: TimeKeyLayout.lowerBound(key: keyBytes, time: from),
            to: TimeKeyLayout.upperBound(key: keyBytes, time: .max),
            times: from...Int64.max
        )
        return try entries.compactMap { entry in
            let session = try Self.session(TimeKeyLayout.decode(entry.key))
            guard session.start <= latestStart else { return nil }
            return (session, try valueSerde.deserialize(entry.value))
        }
    }

    /// Every live session ending in `from...to`, ordered by end, then key bytes, then start.
    public func sessions(endingFrom from: Int64, to: Int64) throws -> [(key: Key, session: SessionWindow, value: Value)] {
        guard from <= to else { return [] }
        return try segments.entries(at: from...to).map { entry in
            (key: try keySerde.deserialize(entry.layout.key), session: try Self.session(entry.layout), value: try valueSerde.deserialize(entry.value))
        }
    }

    public var approximateCount: Int { segments.approximateCount }

    public func flush() throws { try segments.flush() }
    public func close() { segments.close() }

    package func restore(_ batch: [(key: [UInt8], value: [UInt8]?)]) throws {
        try segments.restore(batch) { try TimeKeyLayout.decode($0).time }
    }

    private func rawKey(_ key: Key, _ session: SessionWindow) throws -> [UInt8] {
        var start: [UInt8] = []
        TimeKeyLayout.append(time: session.start, to: &start)
        return TimeKeyLayout.encode(key: try keySerde.storeKey(key, store: name), time: session.end, suffix: start)
    }

    private static func session(_ layout: TimeKeyLayout.Decoded) throws -> SessionWindow {
        guard layout.suffix.count == 8 else {
            throw StateStoreError(store: "(session layout)", reason: "session key without a start")
        }
        return SessionWindow(start: TimeKeyLayout.readTime(layout.suffix, at: layout.suffix.startIndex), end: layout.time)
    }
}
