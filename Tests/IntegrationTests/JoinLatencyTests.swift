import Foundation
import Logging
import StreamKit
import Testing

/// Runs the `join-latency` executable against the test broker: with its own StreamKit join under both guarantees,
/// and with `--external`, measuring a join this test runs; every pair must arrive exactly once.
@Suite(.enabled(if: TestBroker.shouldRun), .serialized)
struct JoinLatencyTests {
    struct Report: Decodable {
        var sent: Int
        var joined: Int
        var missing: Int
        var duplicates: Int
        var rate: Double
        var p50_ms: Double?
        var p99_ms: Double?
        var max_ms: Double?
        var hop_p50_ms: Double?
        var late_dropped: Int?
        var missing_ids: [Int64]?
        var missing_written_uncommitted: Int?
        /// The harness's log lines at warning and above (and its own join's, which runs in it), for a failure's message.
        var warnings = ""

        private enum CodingKeys: String, CodingKey {
            case sent, joined, missing, duplicates, rate, p50_ms, p99_ms, max_ms, hop_p50_ms, late_dropped, missing_ids, missing_written_uncommitted
        }

        /// What to show when a pair is missing: how many the join dropped as late, which pairs, whether they were
        /// written uncommitted, and what the join logged.
        var diagnosis: String {
            "late dropped \(late_dropped.map(String.init) ?? "-"), missing pairs \(missing_ids ?? []), "
                + "of them written but not read committed \(missing_written_uncommitted.map(String.init) ?? "-"); log:\n\(warnings)"
        }
    }

    static func run(_ arguments: [String]) async throws -> Report {
        let process = Process()
        process.executableURL = TestBroker.executable("join-latency")
        process.arguments = ["--bootstrap", try TestBroker.bootstrap(), "--json", "--verbose"] + arguments
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("\(TestBroker.uniqueName("join-latency")).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let logHandle = try FileHandle(forWritingTo: log)
        defer { try? logHandle.close() }
        process.standardError = logHandle
        // A file rather than a pipe: see `StreamsProcessTests.Instance.outputPath`.
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("\(TestBroker.uniqueName("join-latency")).out").path
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let outputHandle = try #require(FileHandle(forWritingAtPath: outputPath))
        defer { try? outputHandle.close() }
        process.standardOutput = outputHandle
        try process.run()
        let deadline = ContinuousClock.now + .seconds(150)
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!process.isRunning, "join-latency did not finish in 150 s")
        if process.isRunning { process.terminate() }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 0, "exit status; output: \(text)")
        let line = try #require(text.split(separator: "\n").last(where: { $0.hasPrefix("{") }), "no JSON line in: \(text)")
        var report = try JSONDecoder().decode(Report.self, from: Data(line.utf8))
        let logged = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        report.warnings = logged.split(separator: "\n").filter { [" warning ", " error ", " critical "].contains(where: $0.contains) }.suffix(40).joined(separator: "\n")
        return report
    }

    static func topics() -> [String] {
        let run = TestBroker.uniqueName("jl")
        return ["--left", "\(run)-left", "--right", "\(run)-right", "--joined", "\(run)-joined"]
    }

    @Test(arguments: ["at-least-once", "exactly-once"])
    func everyPairJoinsOnce(guarantee: String) async throws {
        // A generous wait for the last pairs: on a loaded machine one came more than 3 s after the one before it.
        let report = try await Self.run(Self.topics() + [
            "--rate", "200", "--duration", "3", "--keys", "50", "--guarantee", guarantee, "--drain-seconds", "60", "--quiet-seconds", "45",
        ])
        #expect(report.sent == 600)
        #expect(report.joined == 600, "\(report.diagnosis)")
        #expect(report.missing == 0)
        #expect(report.duplicates == 0)
        #expect(report.rate > 150)
        let (p50, p99, max) = (try #require(report.p50_ms), try #require(report.p99_ms), try #require(report.max_ms))
        #expect(0 < p50 && p50 <= p99 && p99 <= max)
        #expect(report.hop_p50_ms != nil, "the baseline hop was measured")
    }

    struct Event: Codable { var id: Int64; var ts_ns: Int64 }
    struct Joined: Codable { var id: Int64; var left_ts_ns: Int64; var right_ts_ns: Int64 }

    @Test func externalJoinIsMeasuredAsIs() async throws {
        let arguments = Self.topics()
        let (left, right, joined) = (arguments[1], arguments[3], arguments[5])
        for topic in [left, right, joined] { try await TestBroker.createTopic(topic) }
        // The process under test: a join that writes each pair twice, so duplicates must show.
        let builder = StreamsBuilder()
        builder.stream(left, key: .string, value: .json(Event.self))
            .join(builder.stream(right, key: .string, value: .json(Event.self)), windows: .ofTimeDifference(.seconds(1))) { l, r in
                Joined(id: l.id, left_ts_ns: l.ts_ns, right_ts_ns: r.ts_ns)
            }
            .flatMapValues { [$0, $0] }
            .to(joined, key: .string, value: .json(Joined.self))
        let application = StreamsApplication(
            topology: try builder.build(),
            configuration: try StreamsApplicationTests.configuration(TestBroker.uniqueName("external")),
            logger: TestBroker.logger
        )
        let running = Task { try await application.run() }
        #expect(await application.waitUntil(.running))
        let report = try await Self.run(arguments + ["--external", "--rate", "100", "--duration", "2"])
        application.shutdown()
        try await running.value
        #expect(report.sent == 200)
        #expect(report.joined == 200)
        #expect(report.duplicates == 200)
    }
}
