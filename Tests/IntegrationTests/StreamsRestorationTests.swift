import Foundation
import StreamKit
import Testing

/// A counting application (`streamkit-test-app count`, a persistent store with a changelog) killed with
/// SIGKILL and started again: from an empty state directory it restores the whole changelog, from the killed
/// instance's directory only what was written after its last checkpoint, and either way counts go on exactly
/// where they were.
@Suite(.enabled(if: TestBroker.shouldRun), .serialized)
struct StreamsRestorationTests {
    static let keys = 20

    static func restoredRecords(_ instance: StreamsProcessTests.Instance) -> Int {
        instance.lines(prefix: "RESTORED ").compactMap { Int($0.split(separator: " ").last ?? "") }.reduce(0, +)
    }

    /// Produces one record per key and waits for the output to hold every key's counts 1 through `expected`,
    /// each once: a count restored wrongly would start again at 1 (or repeat a number).
    static func roundAndCheck(input: String, output: String, expected: Int) async throws {
        try await StreamsApplicationTests.produce(input, (0..<keys).map { ("key\($0)", "x") })
        let records = try await StreamsApplicationTests.read(output, count: keys * expected, timeout: .seconds(60))
        var counts: [String: [Int]] = [:]
        for record in records { counts[record.key!.string, default: []].append(Int(record.value!.string) ?? -1) }
        #expect(counts.count == keys, "every key counted")
        for (key, values) in counts {
            #expect(values.sorted() == Array(1...expected), "\(key) counted \(values.sorted()), expected 1...\(expected)")
        }
    }

    @Test(arguments: ["at-least-once", "exactly-once"])
    func aKilledInstancesCountsAreRestoredFromTheChangelog(guarantee: String) async throws {
        let (input, output, app) = try await StreamsApplicationTests.freshTopics()
        let stateRoot = try BytesStoreTestsDirectory.make()
        defer { try? FileManager.default.removeItem(atPath: stateRoot) }
        func arguments(_ stateDir: String) throws -> [String] {
            ["count", "--bootstrap", try TestBroker.bootstrap(), "--application-id", app, "--input", input, "--output", output,
             "--state-dir", "\(stateRoot)/\(stateDir)", "--guarantee", guarantee, "--commit-interval-ms", "200"]
        }
        // 10 records per key, counted by a first instance which is then killed once everything is committed.
        try await StreamsApplicationTests.produce(input, (0..<(Self.keys * 10)).map { ("key\($0 % Self.keys)", "x") })
        let first = try StreamsProcessTests.Instance(try arguments("first"))
        defer { first.kill() }
        let counted = try await StreamsApplicationTests.read(output, count: Self.keys * 10, timeout: .seconds(60))
        try #require(counted.count == Self.keys * 10)
        try await Task.sleep(for: .seconds(2))
        first.kill()
        #expect(Self.restoredRecords(first) == 0, "nothing to restore at first")

        // A new instance on an empty state directory restores all 200 changes and counts on from 10.
        let second = try StreamsProcessTests.Instance(try arguments("second"))
        defer { second.kill() }
        try await second.waitFor(state: "running")
        try await Self.roundAndCheck(input: input, output: output, expected: 11)
        #expect(Self.restoredRecords(second) == Self.keys * 10)
        try await Task.sleep(for: .seconds(2))
        second.kill()

        // The first instance's directory again: at-least-once restores only the 20 changes made since its
        // checkpoint; exactly-once has no checkpoint after a kill, so it starts over from the changelog.
        let third = try StreamsProcessTests.Instance(try arguments("first"))
        defer { third.kill() }
        try await third.waitFor(state: "running")
        try await Self.roundAndCheck(input: input, output: output, expected: 12)
        #expect(Self.restoredRecords(third) == (guarantee == "exactly-once" ? Self.keys * 11 : Self.keys))
        third.terminate()
        #expect(try await third.waitForExit() == 0, "\(third.exitReport)")
    }
}

enum BytesStoreTestsDirectory {
    static func make() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("streamkit-restore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }
}
