import HeapModule
import Synchronization

/// The newest entries of a RocksDB window or session store, kept in memory as well, so that one key's fetch over
/// recent times — a join looking for partners, a session looking for its neighbours — needs no RocksDB iterator.
///
/// Holds every entry filed at ``floor`` or later (keys in ``TimeKeyLayout``), grouped by key. Writes go to RocksDB
/// as before; this is a copy. Each store may use its share of a ``RecentEntriesBudget`` shared by the stores of the
/// process; beyond it a store lets go of its oldest times and its floor rises, and a fetch reaching below the
/// floor goes to RocksDB.
package struct RecentEntries {
    /// When the key's entries at `time` and earlier may be dropped.
    private struct Stamp: Comparable {
        var time: Int64
        var key: KeyPrefix
        static func < (a: Stamp, b: Stamp) -> Bool { a.time < b.time }
        static func == (a: Stamp, b: Stamp) -> Bool { a.time == b.time }
    }

    /// Entries of each key, sorted by their layout bytes (so by time).
    private var byKey: [KeyPrefix: [RecentEntry]] = [:]
    private var stamps = Heap<Stamp>()
    private let budget: RecentEntriesBudget
    /// Bytes charged to the budget.
    package private(set) var bytes = 0
    /// Every entry filed at this time or later is held.
    package private(set) var floor: Int64
    private var released = false

    /// - Parameter floor: the earliest time from which on the store's entries are all about to pass through the
    ///   copy (`.min` for an empty store; above every time a store opened from disk holds).
    package init(budget: RecentEntriesBudget, floor: Int64) {
        self.budget = budget
        self.floor = floor
        budget.join()
    }

    /// Notes a write (or with `nil` a deletion) of `raw` at `time`.
    package mutating func put(_ raw: [UInt8], time: Int64, value: [UInt8]?) {
        guard time >= floor, let key = KeyPrefix(layout: raw) else { return }
        if value != nil { stamps.insert(Stamp(time: time, key: key)) }
        let change = byKey[key, default: []].file(raw, value)
        if value == nil, byKey[key]?.isEmpty == true { byKey[key] = nil }
        charge(change)
        while bytes > budget.share, let oldest = stamps.min?.time, oldest < .max {
            raise(to: oldest + 1)
        }
    }

    /// The entries with `from <= layout < to` when both bounds lie within one key's entries (as a one-key
    /// fetch's do) and that key's entries from `earliest` on are all held here; otherwise `nil`.
    package func range(from: [UInt8], to: [UInt8], earliest: Int64) -> [(key: [UInt8], value: [UInt8])]? {
        guard earliest >= floor, let key = KeyPrefix(layout: from), to.starts(with: key.bytes) else { return nil }
        guard let entries = byKey[key] else { return [] }
        var found: [(key: [UInt8], value: [UInt8])] = []
        for entry in entries[entries.lowerBound(from)...] {
            guard compareBytes(entry.raw, to) < 0 else { break }
            found.append((entry.raw, entry.value))
        }
        return found
    }

    /// Drops the entries filed before `time`; from then on only entries at `time` or later are held.
    package mutating func raise(to time: Int64) {
        guard time > floor else { return }
        floor = time
        var change = 0
        while let stamp = stamps.min, stamp.time < time {
            stamps.removeMin()
            guard let index = byKey.index(forKey: stamp.key) else { continue }
            change += byKey.values[index].drop(before: time, timeAt: stamp.key.bytes.count)
            if byKey.values[index].isEmpty { byKey.remove(at: index) }
        }
        charge(change)
    }

    /// Lets go of everything (the store closes).
    package mutating func clear() {
        guard !released else { return }
        released = true
        budget.leave()
        charge(-bytes)
        byKey = [:]
        stamps = Heap()
        floor = .max
    }

    private mutating func charge(_ change: Int) {
        guard change != 0 else { return }
        bytes += change
        budget.charge(change)
    }
}

/// The memory the ``RecentEntries`` of all open stores may use together, in equal shares.
package final class RecentEntriesBudget: Sendable {
    package let limit: Int
    private let used = Atomic<Int>(0)
    private let stores = Atomic<Int>(0)

    package init(limit: Int) { self.limit = limit }

    /// Bytes held now, across the stores.
    package var usage: Int { used.load(ordering: .relaxed) }
    /// What one store may hold.
    var share: Int { limit / max(1, stores.load(ordering: .relaxed)) }

    func join() { stores.add(1, ordering: .relaxed) }
    func leave() { stores.subtract(1, ordering: .relaxed) }
    func charge(_ change: Int) { used.add(change, ordering: .relaxed) }
}

/// The `[length][key]` start of a ``TimeKeyLayout`` key: what one key's entries share. Hashes its bytes at once.
private struct KeyPrefix: Hashable {
    let bytes: [UInt8]

    init?(layout: [UInt8]) {
        guard layout.count >= 4 else { return nil }
        let end = 4 + Int(TimeKeyLayout.readUInt32(layout, at: 0))
        guard layout.count >= end + 8 else { return nil }
        bytes = Array(layout[..<end])
    }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    static func == (a: KeyPrefix, b: KeyPrefix) -> Bool { compareBytes(a.bytes, b.bytes) == 0 }
}

/// One entry held: its layout key and value.
private struct RecentEntry {
    var raw: [UInt8]
    var value: [UInt8]
    var cost: Int { raw.count + value.count + 64 }
}

/// One key's entries, sorted by their layout bytes.
private extension [RecentEntry] {
    /// Files `value` at `raw` (replacing what is there), or with `nil` removes it; returns the change in bytes.
    mutating func file(_ raw: [UInt8], _ value: [UInt8]?) -> Int {
        let index = lowerBound(raw)
        guard index < count, compareBytes(self[index].raw, raw) == 0 else {
            guard let value else { return 0 }
            insert(RecentEntry(raw: raw, value: value), at: index)
            return self[index].cost
        }
        let old = self[index].cost
        guard let value else {
            remove(at: index)
            return -old
        }
        self[index].value = value
        return self[index].cost - old
    }

    /// Removes the entries filed before `time` (read at offset `timeAt` of their layout); returns the change in bytes.
    mutating func drop(before time: Int64, timeAt offset: Int) -> Int {
        let keep = firstIndex { TimeKeyLayout.readTime($0.raw, at: offset) >= time } ?? count
        let freed = self[..<keep].reduce(0) { $0 + $1.cost }
        removeFirst(keep)
        return -freed
    }

    func lowerBound(_ raw: [UInt8]) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if compareBytes(self[middle].raw, raw) < 0 { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
