/// Values filed by key and time (a window's start, or a record's timestamp), kept for ``retention`` of stream
/// time and then dropped a whole segment at a time. With duplicates retained (as joins need) every put adds an
/// entry; otherwise a put replaces the value at that key and time, and `nil` removes it.
public final class WindowStore<Key: Sendable, Value: Sendable>: ChangeLoggedStore {
    public let name: String
    public let isPersistent: Bool
    /// How long, in stream time, an entry is kept after the newest time written (milliseconds).
    public let retention: Int64
    public let retainsDuplicates: Bool
    private let segments: SegmentedBytesStore
    private let keySerde: Serde<Key>
    private let valueSerde: Serde<Value>
    private let changelog: ChangeLogger?
    private var sequence = UInt32.random(in: 0...UInt32.max)

    package init(
        name: String,
        segments: SegmentedBytesStore,
        retainDuplicates: Bool,
        key: Serde<Key>,
        value: Serde<Value>,
        isPersistent: Bool,
        changelog: ChangeLogger?
    ) {
        self.name = name
        self.segments = segments
        self.retention = segments.retention
        self.retainsDuplicates = retainDuplicates
        self.keySerde = key
        self.valueSerde = value
        self.isPersistent = isPersistent
        self.changelog = changelog
    }

    /// The newest time written: entries at or before `observedTime - retention` are gone.
    public var observedTime: Int64 { segments.observedTime }

    /// Files `value` under `key` at `time`; `nil` removes what is there (without duplicates).
    ///
    /// - Returns: `false` when `time` has expired already, in which case nothing is written.
    @discardableResult
    public func put(_ key: Key, _ value: Value?, at time: Int64) async throws -> Bool {
        try await put(keyBytes: try keySerde.storeKey(key, store: name), value, at: time)
    }

    /// ``put(_:_:at:)`` for a key already serialized (by the caller that needed its bytes anyway).
    @discardableResult
    func put(keyBytes: [UInt8], _ value: Value?, at time: Int64) async throws -> Bool {
        var suffix: [UInt8] = []
        if retainsDuplicates {
            // Nothing to remove among duplicates: a `nil` writes nothing.
            guard value != nil else { return time >= segments.earliestLiveTime }
            sequence &+= 1
            TimeKeyLayout.append(sequence, to: &suffix)
        }
        let raw = TimeKeyLayout.encode(key: keyBytes, time: time, suffix: suffix)
        let valueBytes = try value.flatMap { try valueSerde.serialize($0) }
        guard try segments.put(raw, time: time, value: valueBytes) else { return false }
        try await changelog?.log(key: raw, value: valueBytes)
        return true
    }

    /// The value under `key` at exactly `time` (the first one, with duplicates).
    public func fetch(_ key: Key, at time: Int64) throws -> Value? {
        try fetch(key, from: time, to: time).first?.value
    }

    /// The values under `key` with `from <= time <= to`, in time order (duplicates in the order written).
    public func fetch(_ key: Key, from: Int64, to: Int64) throws -> [(time: Int64, value: Value)] {
        try fetch(keyBytes: try keySerde.storeKey(key, store: name), from: from, to: to)
    }

    /// ``fetch(_:from:to:)`` for a key already serialized.
    func fetch(keyBytes: [UInt8], from: Int64, to: Int64) throws -> [(time: Int64, value: Value)] {
        guard from <= to else { return [] }
        let live = max(from, segments.earliestLiveTime)
        let entries = try segments.range(
            from: TimeKeyLayout.lowerBound(key: keyBytes, time: live),
            to: TimeKeyLayout.upperBound(key: keyBytes, time: to),
            times: from...to
        )
        return try entries.map { entry in
            (time: try TimeKeyLayout.decode(entry.key).time, value: try valueSerde.deserialize(entry.value))
        }
    }

    /// Every entry with `from <= time <= to`, ordered by time, then key bytes (then the order written).
    public func fetchAll(from: Int64, to: Int64) throws -> [(key: Key, time: Int64, value: Value)] {
        guard from <= to else { return [] }
        return try segments.entries(at: from...to).map { entry in
            (key: try keySerde.deserialize(entry.layout.key), time: entry.layout.time, value: try valueSerde.deserialize(entry.value))
        }
    }

    /// Every live entry, ordered as ``fetchAll(from:to:)``.
    public func all() throws -> [(key: Key, time: Int64, value: Value)] { try fetchAll(from: .min, to: .max) }

    /// Entries held, expired segments not yet dropped included (exact in memory, an estimate on disk).
    public var approximateCount: Int { segments.approximateCount }

    public func flush() throws { try segments.flush() }
    public func close() { segments.close() }

    package func restore(_ batch: [(key: [UInt8], value: [UInt8]?)]) throws {
        try segments.restore(batch) { try TimeKeyLayout.decode($0).time }
    }
}
