import ArgumentParser
import Foundation
import StreamKit

/// Writes `--keys` keys with 100-byte values into a RocksDB store under a `--memory-mib` budget, reads a tenth of
/// them back at random, and prints one JSON line: the process's resident memory before opening the store and at
/// its peak, and the peak of what RocksDB charged to the budget.
struct FillStore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fill-store")

    @Option var directory: String
    @Option var keys: Int = 1_000_000
    @Option var memoryMib: Int = 64

    struct Report: Codable {
        var keys: Int
        var approximateCount: Int
        var budgetBytes: Int
        var residentBeforeBytes: Int
        var residentPeakBytes: Int
        var rocksDBPeakBytes: Int
        var readsMissing: Int
    }

    func run() throws {
        let configuration = RocksDBConfiguration(memoryBytes: memoryMib << 20, writeBufferBytes: (memoryMib << 20) / 4)
        let before = Self.residentBytes()
        let store = try RocksDBBytesStore(path: directory, configuration: configuration)
        var peak = before
        var rocksPeak = 0
        func sample() {
            peak = max(peak, Self.residentBytes())
            rocksPeak = max(rocksPeak, configuration.memoryUsage)
        }
        var generator = SystemRandomNumberGenerator()
        var value = [UInt8](repeating: 0, count: 104)
        for index in 0..<keys {
            // Random values, so that LZ4 cannot shrink the data below the budget.
            value.withUnsafeMutableBytes { bytes in
                for word in 0..<13 { bytes.storeBytes(of: generator.next(), toByteOffset: word * 8, as: UInt64.self) }
            }
            try store.put(Self.key(index), value)
            if index % 10_000 == 0 { sample() }
        }
        var missing = 0
        for step in 0..<(keys / 10) {
            if try store.get(Self.key(Int.random(in: 0..<keys, using: &generator))) == nil { missing += 1 }
            if step % 10_000 == 0 { sample() }
        }
        sample()
        let report = Report(
            keys: keys,
            approximateCount: store.approximateCount,
            budgetBytes: configuration.memoryBytes,
            residentBeforeBytes: before,
            residentPeakBytes: peak,
            rocksDBPeakBytes: rocksPeak,
            readsMissing: missing
        )
        store.close()
        print(String(decoding: try JSONEncoder().encode(report), as: UTF8.self))
    }

    static func key(_ index: Int) -> [UInt8] { Array("key-\(index)".utf8) }

    /// Resident set size from /proc/self/statm.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return (fields.count > 1 ? Int(fields[1]) ?? 0 : 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
