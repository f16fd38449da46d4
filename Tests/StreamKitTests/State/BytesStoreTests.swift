import Foundation
import StreamKit
import Testing

/// The RocksDB and in-memory byte stores behave the same: random operations applied to both give the same
/// reads and the same ordered ranges.
@Suite struct BytesStoreTests {
    static func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("streamkit-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    /// A deterministic generator, so that a failing sequence can be replayed.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func randomBytes(_ generator: inout SplitMix64, maxLength: Int) -> [UInt8] {
        // Short keys over a small alphabet, so that operations hit the same keys and ranges overlap.
        (0..<Int.random(in: 0...maxLength, using: &generator)).map { _ in UInt8.random(in: 0...3, using: &generator) * 60 }
    }

    /// Chunks of four entries, so that the in-memory store splits and empties chunks all the time.
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func randomOperationsGiveTheSameResultsInBothStores(seed: UInt64) throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let rocks = try RocksDBBytesStore(path: directory)
        defer { rocks.close() }
        let memory = InMemoryBytesStore(chunkCapacity: 4)
        var generator = SplitMix64(state: seed)
        for step in 0..<2000 {
            let key = Self.randomBytes(&generator, maxLength: 4)
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<5:
                let value = Self.randomBytes(&generator, maxLength: 8)
                try rocks.put(key, value)
                memory.put(key, value)
            case 5..<7:
                try rocks.delete(key)
                memory.delete(key)
            case 7..<9:
                #expect(try rocks.get(key) == memory.get(key), "seed \(seed), step \(step): get \(key)")
            default:
                let other = Self.randomBytes(&generator, maxLength: 4)
                let (from, to) = key.lexicographicallyPrecedes(other) ? (key, other) : (other, key)
                let bounds: (from: [UInt8]?, to: [UInt8]?) = switch Int.random(in: 0..<4, using: &generator) {
                case 0: (nil, nil)
                case 1: (from, nil)
                case 2: (nil, to)
                default: (from, to)
                }
                let fromRocks = try rocks.range(from: bounds.from, to: bounds.to)
                let fromMemory = memory.range(from: bounds.from, to: bounds.to)
                #expect(fromRocks.map(\.key) == fromMemory.map(\.key), "seed \(seed), step \(step): range \(bounds)")
                #expect(fromRocks.map(\.value) == fromMemory.map(\.value))
            }
        }
        #expect(try rocks.range(from: nil, to: nil).count == memory.approximateCount)
    }

    @Test func dataSurvivesACloseAndEmptyValuesStayDistinctFromAbsentOnes() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try RocksDBBytesStore(path: directory)
        try store.put([1], [9, 9])
        try store.put([2], [])
        try store.flush()
        store.close()
        store.close()
        #expect(throws: StateStoreError.self) { try store.get([1]) }

        let reopened = try RocksDBBytesStore(path: directory)
        defer { reopened.close() }
        #expect(try reopened.get([1]) == [9, 9])
        #expect(try reopened.get([2]) == [])
        #expect(try reopened.get([3]) == nil)
        #expect(reopened.approximateCount >= 1)
    }

    @Test func aSecondOpenOfTheSameDirectoryIsAClearError() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try RocksDBBytesStore(path: directory)
        defer { first.close() }
        let error = #expect(throws: StateStoreError.self) { try RocksDBBytesStore(path: directory) }
        #expect(error?.store == directory)
        #expect(error?.reason.contains("lock") == true, "\(error.map { "\($0)" } ?? "")")
    }
}
