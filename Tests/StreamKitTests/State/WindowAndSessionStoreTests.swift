import Foundation
import StreamKit
import Testing

/// Window and session stores, in memory and on RocksDB, checked against a plain model of what they promise:
/// seeded random puts (in and out of order, some already expired), point and range reads, and retention.
@Suite struct WindowAndSessionStoreTests {
    static func open<S: StateStore>(_ builder: StoreBuilder, in directory: String, as _: S.Type, rocksDB: RocksDBConfiguration = .shared) throws -> S {
        let context = StoreContext(
            task: TaskID(subtopology: 0, partition: 0),
            directory: "\(directory)/\(builder.name)",
            rocksDB: rocksDB,
            changelog: nil
        )
        return try #require(builder.spec.make(context) as? S)
    }

    /// What a window store holds, written the obvious way.
    struct WindowModel {
        var retention: Int64
        var duplicates: Bool
        var entries: [(key: String, time: Int64, order: Int, value: Int64)] = []
        var observed = Int64.min
        var order = 0

        var earliestLive: Int64 { observed == .min ? .min : observed - retention + 1 }

        mutating func put(_ key: String, _ value: Int64?, at time: Int64) -> Bool {
            if duplicates, value == nil { return time >= earliestLive }
            observed = max(observed, time)
            guard time >= earliestLive else { return false }
            if !duplicates { entries.removeAll { $0.key == key && $0.time == time } }
            if let value {
                order += 1
                entries.append((key, time, order, value))
            }
            return true
        }

        func fetch(_ key: String, from: Int64, to: Int64) -> [Int64] {
            entries.filter { $0.key == key && $0.time >= max(from, earliestLive) && $0.time <= to }
                .sorted { ($0.time, $0.order) < ($1.time, $1.order) }
                .map(\.value)
        }

        /// By time, then by the layout's key order (length, then bytes), then the order written.
        func fetchAll(from: Int64, to: Int64) -> [String] {
            entries.filter { $0.time >= max(from, earliestLive) && $0.time <= to }
                .sorted { a, b in
                    if a.time != b.time { return a.time < b.time }
                    if a.key.utf8.count != b.key.utf8.count { return a.key.utf8.count < b.key.utf8.count }
                    if a.key != b.key { return Array(a.key.utf8).lexicographicallyPrecedes(Array(b.key.utf8)) }
                    return a.order < b.order
                }
                .map { "\($0.key)@\($0.time)=\($0.value)" }
        }
    }

    static let keys = ["a", "b", "ab", "abc", "z"]

    /// RocksDB stores keep no copy of their recent entries in memory with this.
    static let withoutRecentEntries = RocksDBConfiguration(recentEntryBytes: 0)
    /// Room for a few dozen recent entries: a store's floor keeps rising, and fetches below it go to RocksDB.
    static let fewRecentEntries = RocksDBConfiguration(recentEntryBytes: 3_000)

    @Test(arguments: [(1, false), (2, false), (3, true), (4, true)] as [(UInt64, Bool)])
    func windowStoresMatchTheModel(seed: UInt64, duplicates: Bool) async throws {
        let directory = try BytesStoreTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let retention = Duration.milliseconds(500)
        let segment = Duration.milliseconds(100)
        let stores = [
            try Self.open(
                Stores.inMemoryWindow("memory", retention: retention, segmentInterval: segment, retainDuplicates: duplicates, key: .string, value: Serde<Int64>.bigEndian),
                in: directory, as: WindowStore<String, Int64>.self
            ),
            try Self.open(
                Stores.persistentWindow("rocks", retention: retention, segmentInterval: segment, retainDuplicates: duplicates, key: .string, value: Serde<Int64>.bigEndian),
                in: directory, as: WindowStore<String, Int64>.self
            ),
            try Self.open(
                Stores.persistentWindow("rocks-uncached", retention: retention, segmentInterval: segment, retainDuplicates: duplicates, key: .string, value: Serde<Int64>.bigEndian),
                in: directory, as: WindowStore<String, Int64>.self, rocksDB: Self.withoutRecentEntries
            ),
            try Self.open(
                Stores.persistentWindow("rocks-few-recent", retention: retention, segmentInterval: segment, retainDuplicates: duplicates, key: .string, value: Serde<Int64>.bigEndian),
                in: directory, as: WindowStore<String, Int64>.self, rocksDB: Self.fewRecentEntries
            ),
        ]
        defer { for store in stores { store.close() } }
        var model = WindowModel(retention: 500, duplicates: duplicates)
        var generator = BytesStoreTests.SplitMix64(state: seed)
        var now: Int64 = 1_000
        for step in 0..<1500 {
            now += Int64.random(in: 0...6, using: &generator)
            let key = Self.keys.randomElement(using: &generator)!
            // Mostly near the front, sometimes far back (late, possibly expired).
            let time = now - (Int.random(in: 0..<10, using: &generator) == 0 ? Int64.random(in: 0...800, using: &generator) : Int64.random(in: 0...20, using: &generator))
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<6:
                let value = Int.random(in: 0..<8, using: &generator) == 0 ? nil : Int64(step)
                let expected = model.put(key, value, at: time)
                for store in stores {
                    let accepted = try await store.put(key, value, at: time)
                    #expect(accepted == expected, "seed \(seed) step \(step): put \(key)@\(time) into \(store.name)")
                }
            case 6..<9:
                let from = time - Int64.random(in: 0...300, using: &generator)
                for store in stores {
                    let found = try store.fetch(key, from: from, to: time).map(\.value)
                    #expect(found == model.fetch(key, from: from, to: time), "seed \(seed) step \(step): fetch \(key) \(from)...\(time) from \(store.name)")
                }
            default:
                let from = time - Int64.random(in: 0...300, using: &generator)
                for store in stores {
                    let found = try store.fetchAll(from: from, to: time).map { "\($0.key)@\($0.time)=\($0.value)" }
                    #expect(found == model.fetchAll(from: from, to: time), "seed \(seed) step \(step): fetchAll \(from)...\(time) from \(store.name)")
                }
            }
        }
        for store in stores {
            #expect(try store.all().map { "\($0.key)@\($0.time)=\($0.value)" } == model.fetchAll(from: .min, to: .max))
            #expect(store.observedTime == model.observed)
        }
    }

    @Test func retentionDropsWholeSegmentsAndTheirDirectories() async throws {
        let directory = try BytesStoreTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try Self.open(
            Stores.persistentWindow("w", retention: .milliseconds(300), segmentInterval: .milliseconds(100), key: .string, value: .string),
            in: directory, as: WindowStore<String, String>.self
        )
        defer { store.close() }
        for time in stride(from: Int64(0), through: 950, by: 50) { try await store.put("k", "\(time)", at: time) }
        let segments = try FileManager.default.contentsOfDirectory(atPath: "\(directory)/w").compactMap(Int64.init).sorted()
        // Live times are 651...950: segments 6 to 9 remain, 0 to 5 are gone from disk.
        #expect(segments == [6, 7, 8, 9])
        #expect(try store.fetch("k", from: 0, to: 1000).map(\.time) == [700, 750, 800, 850, 900, 950])
        #expect(try await store.put("k", "late", at: 650) == false, "a put at an expired time is refused")
        #expect(try await store.put("k", "in time", at: 651) == true)
    }

    @Test func aReopenedStoreHasItsSegmentsBack() async throws {
        let directory = try BytesStoreTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let builder = Stores.persistentWindow("w", retention: .seconds(10), segmentInterval: .seconds(1), retainDuplicates: true, key: .string, value: .string)
        let first = try Self.open(builder, in: directory, as: WindowStore<String, String>.self)
        try await first.put("k", "one", at: 1_500)
        try await first.put("k", "two", at: 1_500)
        try await first.put("k", "three", at: 4_200)
        try first.flush()
        first.close()
        let second = try Self.open(builder, in: directory, as: WindowStore<String, String>.self)
        defer { second.close() }
        #expect(try second.fetch("k", from: 0, to: 10_000).map(\.value) == ["one", "two", "three"])
        // Entries from disk are not among the recent ones held in memory: fetches that reach them still find them.
        try await second.put("k", "four", at: 4_300)
        try await second.put("k", "five", at: 5_100)
        #expect(try second.fetch("k", from: 4_000, to: 10_000).map(\.value) == ["three", "four", "five"])
        #expect(try second.fetch("k", from: 5_000, to: 10_000).map(\.value) == ["five"])
    }

    @Test func recentEntriesStayWithinTheirBudgetAndAreReleasedOnClose() async throws {
        let directory = try BytesStoreTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = RocksDBConfiguration(recentEntryBytes: 20_000)
        let builder = Stores.persistentWindow("w", retention: .seconds(100), segmentInterval: .seconds(10), retainDuplicates: true, key: .string, value: .string)
        let store = try Self.open(builder, in: directory, as: WindowStore<String, String>.self, rocksDB: configuration)
        for time in Int64(0)..<2_000 { try await store.put("k\(time % 7)", String(repeating: "v", count: 20), at: time) }
        #expect(configuration.recentEntryUsage > 10_000, "the newest entries are held")
        #expect(configuration.recentEntryUsage <= 20_000)
        #expect(try store.fetch("k3", from: 0, to: 2_000).count == 2_000 / 7 + 1, "older entries come from RocksDB")
        store.close()
        #expect(configuration.recentEntryUsage == 0)
    }

    /// What a session store holds.
    struct SessionModel {
        var retention: Int64
        var sessions: [String: [SessionWindow: Int64]] = [:]
        var observed = Int64.min

        var earliestLive: Int64 { observed == .min ? .min : observed - retention + 1 }

        mutating func put(_ key: String, _ session: SessionWindow, _ value: Int64?) -> Bool {
            observed = max(observed, session.end)
            guard session.end >= earliestLive else { return false }
            sessions[key, default: [:]][session] = value
            return true
        }

        func find(_ key: String, earliestEnd: Int64, latestStart: Int64) -> [String] {
            (sessions[key] ?? [:])
                .filter { $0.key.end >= max(earliestEnd, earliestLive) && $0.key.start <= latestStart }
                .sorted { ($0.key.end, $0.key.start) < ($1.key.end, $1.key.start) }
                .map { "\($0.key)=\($0.value)" }
        }
    }

    @Test(arguments: [11, 12, 13] as [UInt64])
    func sessionStoresMatchTheModel(seed: UInt64) async throws {
        let directory = try BytesStoreTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let stores = [
            try Self.open(Stores.inMemorySession("memory", retention: .milliseconds(400), key: .string, value: Serde<Int64>.bigEndian), in: directory, as: SessionStore<String, Int64>.self),
            try Self.open(Stores.persistentSession("rocks", retention: .milliseconds(400), key: .string, value: Serde<Int64>.bigEndian), in: directory, as: SessionStore<String, Int64>.self),
            try Self.open(
                Stores.persistentSession("rocks-uncached", retention: .milliseconds(400), key: .string, value: Serde<Int64>.bigEndian),
                in: directory, as: SessionStore<String, Int64>.self, rocksDB: Self.withoutRecentEntries
            ),
            try Self.open(
                Stores.persistentSession("rocks-few-recent", retention: .milliseconds(400), key: .string, value: Serde<Int64>.bigEndian),
                in: directory, as: SessionStore<String, Int64>.self, rocksDB: Self.fewRecentEntries
            ),
        ]
        defer { for store in stores { store.close() } }
        var model = SessionModel(retention: 400)
        var generator = BytesStoreTests.SplitMix64(state: seed)
        var now: Int64 = 10_000
        for step in 0..<1500 {
            now += Int64.random(in: 0...5, using: &generator)
            let key = Self.keys.randomElement(using: &generator)!
            let end = now - Int64.random(in: 0...(Int.random(in: 0..<10, using: &generator) == 0 ? 600 : 30), using: &generator)
            let session = SessionWindow(start: end - Int64.random(in: 0...50, using: &generator), end: end)
            if Int.random(in: 0..<2, using: &generator) == 0 {
                let value = Int.random(in: 0..<6, using: &generator) == 0 ? nil : Int64(step)
                let expected = model.put(key, session, value)
                for store in stores {
                    #expect(try await store.put(key, session, value) == expected, "seed \(seed) step \(step): put \(key) \(session)")
                }
            } else {
                let (earliestEnd, latestStart) = (end - 40, end + 40)
                for store in stores {
                    let found = try store.findSessions(key, earliestEnd: earliestEnd, latestStart: latestStart).map { "\($0.session)=\($0.value)" }
                    #expect(found == model.find(key, earliestEnd: earliestEnd, latestStart: latestStart), "seed \(seed) step \(step): find \(key) in \(store.name)")
                }
            }
        }
    }
}
