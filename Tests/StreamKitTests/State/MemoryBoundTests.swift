import Foundation
import Testing

/// RocksDB's memory stays within the configured budget while a store holds a million keys: measured in a
/// process of its own (`streamkit-test-app fill-store`), so that nothing else in the test run counts.
@Suite struct MemoryBoundTests {
    struct Report: Codable {
        var keys: Int
        var approximateCount: Int
        var budgetBytes: Int
        var residentBeforeBytes: Int
        var residentPeakBytes: Int
        var rocksDBPeakBytes: Int
        var readsMissing: Int
    }

    @Test func aMillionKeysStayWithinTheMemoryBudget() throws {
        let directory = try BytesStoreTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/streamkit-test-app")
        process.arguments = ["fill-store", "--directory", "\(directory)/store", "--keys", "1000000", "--memory-mib", "32"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
        let report = try JSONDecoder().decode(Report.self, from: output)
        let mib = { (bytes: Int) in String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        let growth = report.residentPeakBytes - report.residentBeforeBytes
        let summary = "RocksDB peak \(mib(report.rocksDBPeakBytes)), resident growth \(mib(growth)), budget \(mib(report.budgetBytes))"

        #expect(report.readsMissing == 0, "every key written reads back")
        #expect(report.approximateCount > 900_000, "the store holds about a million keys: \(report.approximateCount)")
        // The data (about 110 MB of incompressible values) is far larger than the budget, so this can fail.
        #expect(report.rocksDBPeakBytes <= report.budgetBytes + report.budgetBytes / 10, "\(summary)")
        // Everything else the process allocates around RocksDB (allocator slack, table readers, iterators) is
        // allowed 32 MiB beyond the budget.
        #expect(growth <= report.budgetBytes + 32 << 20, "\(summary)")
    }
}
