import Foundation

/// Bytes kept by time in segments of ``segmentInterval``, so that retention drops whole segments instead of
/// deleting entries one by one. Keys follow ``TimeKeyLayout``; each segment is a ``BytesStore`` of its own (a
/// RocksDB database in its own directory, or memory).
///
/// Times at or before ``observedTime`` − ``retention`` are expired: writes of them are refused and reads skip
/// them, whichever segment still holds them.
package final class SegmentedBytesStore {
    /// Where segments live.
    package struct Backend {
        var existing: () throws -> [Int64]
        var open: (_ segment: Int64) throws -> any BytesStore
        var drop: (_ segment: Int64, _ store: any BytesStore) -> Void
        /// Where recent entries are kept in memory as well (for stores on disk).
        var recentEntries: RecentEntriesBudget? = nil

        package static func inMemory() -> Backend {
            Backend(existing: { [] }, open: { _ in InMemoryBytesStore() }, drop: { _, store in store.close() })
        }

        /// One database per segment, in `<directory>/<segment id>`.
        package static func rocksDB(directory: String, configuration: RocksDBConfiguration) -> Backend {
            Backend(
                existing: {
                    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
                    return names.compactMap(Int64.init)
                },
                open: { segment in
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                    return try RocksDBBytesStore(path: "\(directory)/\(segment)", configuration: configuration)
                },
                drop: { segment, store in
                    store.close()
                    try? FileManager.default.removeItem(atPath: "\(directory)/\(segment)")
                },
                recentEntries: configuration.recentEntryBytes > 0 ? configuration.recentEntries : nil
            )
        }
    }

    package let retention: Int64
    package let segmentInterval: Int64
    private let backend: Backend
    private var segments: [Int64: any BytesStore] = [:]
    /// Once closed, no segment opens again.
    private var closed = false
    /// The largest time written so far (restored writes included).
    package private(set) var observedTime: Int64 = .min
    private var recent: RecentEntries?

    package init(retention: Int64, segmentInterval: Int64, backend: Backend) throws {
        precondition(segmentInterval > 0 && retention >= 0)
        self.retention = retention
        self.segmentInterval = segmentInterval
        self.backend = backend
        let existing = try backend.existing()
        for segment in existing { segments[segment] = try backend.open(segment) }
        if let budget = backend.recentEntries {
            // Entries on disk are at times before the end of the newest segment; what comes later passes through.
            let floor = existing.max().map { $0 >= Int64.max / segmentInterval ? Int64.max : ($0 + 1) * segmentInterval } ?? .min
            recent = RecentEntries(budget: budget, floor: floor)
        }
    }

    deinit { recent?.clear() }

    /// Times below this are expired.
    package var earliestLiveTime: Int64 {
        observedTime == .min ? .min : observedTime - retention + 1
    }

    private func segmentID(_ time: Int64) -> Int64 {
        let quotient = time / segmentInterval
        return time % segmentInterval < 0 ? quotient - 1 : quotient
    }

    private func observe(_ time: Int64) {
        guard time > observedTime else { return }
        observedTime = time
        recent?.raise(to: earliestLiveTime)
        let live = segmentID(earliestLiveTime)
        for (id, store) in segments where id < live {
            backend.drop(id, store)
            segments[id] = nil
        }
    }

    private func segment(_ id: Int64) throws -> any BytesStore {
        if let store = segments[id] { return store }
        guard !closed else { throw StateStoreError(store: "segment \(id)", reason: "the store is closed") }
        let store = try backend.open(id)
        segments[id] = store
        return store
    }

    /// Writes (or with `nil` deletes) `key` filed at `time`. Returns `false`, writing nothing, when `time` is
    /// expired.
    @discardableResult
    package func put(_ key: [UInt8], time: Int64, value: [UInt8]?) throws -> Bool {
        observe(time)
        guard time >= earliestLiveTime else { return false }
        if let value { try segment(segmentID(time)).put(key, value) } else { try segments[segmentID(time)]?.delete(key) }
        recent?.put(key, time: time, value: value)
        return true
    }

    package func get(_ key: [UInt8], time: Int64) throws -> [UInt8]? {
        guard time >= earliestLiveTime else { return nil }
        return try segments[segmentID(time)]?.get(key)
    }

    /// Entries with `from <= key < to` in the segments that may hold times in `times`, segment by segment.
    /// Callers filter by the time in the key; expired segments are skipped.
    package func range(from: [UInt8]?, to: [UInt8]?, times: ClosedRange<Int64>) throws -> [(key: [UInt8], value: [UInt8])] {
        let earliest = max(times.lowerBound, earliestLiveTime)
        let lowest = segmentID(earliest)
        let highest = segmentID(times.upperBound)
        guard lowest <= highest else { return [] }
        if let from, let to, let held = recent?.range(from: from, to: to, earliest: earliest) { return held }
        var entries: [(key: [UInt8], value: [UInt8])] = []
        for id in segments.keys.sorted() where id >= lowest && id <= highest {
            entries += try segments[id]!.range(from: from, to: to)
        }
        return entries
    }

    /// The live entries filed at times in `times`, decoded, ordered by time and then by their byte key.
    package func entries(at times: ClosedRange<Int64>) throws -> [(layout: TimeKeyLayout.Decoded, value: [UInt8])] {
        var found: [(layout: TimeKeyLayout.Decoded, raw: [UInt8], value: [UInt8])] = []
        for entry in try range(from: nil, to: nil, times: times) {
            let layout = try TimeKeyLayout.decode(entry.key)
            guard times.contains(layout.time), layout.time >= earliestLiveTime else { continue }
            found.append((layout, entry.key, entry.value))
        }
        found.sort { a, b in a.layout.time != b.layout.time ? a.layout.time < b.layout.time : compareBytes(a.raw, b.raw) < 0 }
        return found.map { ($0.layout, $0.value) }
    }

    /// Applies restored writes: each key's time (from ``TimeKeyLayout``, or `time(of:)`) picks its segment.
    package func restore(_ batch: [(key: [UInt8], value: [UInt8]?)], time: ([UInt8]) throws -> Int64) throws {
        var bySegment: [Int64: [(key: [UInt8], value: [UInt8]?)]] = [:]
        var order: [Int64] = []
        for entry in batch {
            let at = try time(entry.key)
            observe(at)
            guard at >= earliestLiveTime else { continue }
            let id = segmentID(at)
            if bySegment[id] == nil { order.append(id) }
            bySegment[id, default: []].append(entry)
            recent?.put(entry.key, time: at, value: entry.value)
        }
        for id in order where segmentID(earliestLiveTime) <= id {
            try segment(id).write(bySegment[id]!)
        }
    }

    package var approximateCount: Int { segments.values.reduce(0) { $0 + $1.approximateCount } }
    package var segmentCount: Int { segments.count }

    package func flush() throws {
        for store in segments.values { try store.flush() }
    }

    package func close() {
        closed = true
        recent?.clear()
        for store in segments.values { store.close() }
        segments = [:]
    }
}
