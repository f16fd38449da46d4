import Foundation
import Logging
import StreamKit
import Testing

/// Runs `streamkit-test-app` instances as separate processes: killed with SIGKILL, stopped with SIGTERM.
@Suite(.enabled(if: TestBroker.shouldRun), .serialized)
struct StreamsProcessTests {
    /// One running instance of the test application.
    final class Instance: Sendable {
        let process: Process
        /// Where its standard output and standard error go. Files rather than pipes: a pipe read through
        /// `readabilityHandler` arms a Dispatch source per read, and libdispatch on Linux crashes when sources of
        /// several pipes come and go at once (swift-corelibs-libdispatch#949; seen in a `make test` run).
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("streamkit-test-app-\(UUID().uuidString.prefix(8)).out").path
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("streamkit-test-app-\(UUID().uuidString.prefix(8)).log").path

        init(_ arguments: [String]) throws {
            let binary = TestBroker.executable("streamkit-test-app")
            process = Process()
            process.executableURL = binary
            process.arguments = arguments
            _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
            _ = FileManager.default.createFile(atPath: errors, contents: nil)
            process.standardOutput = FileHandle(forWritingAtPath: outputPath)
            process.standardError = FileHandle(forWritingAtPath: errors)
            try process.run()
        }

        var states: [String] { lines(prefix: "STATE ") }

        /// Lines of standard output that start with `prefix`, without it.
        func lines(prefix: String) -> [String] {
            ((try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
        }

        func waitFor(state: String, timeout: Duration = .seconds(30)) async throws {
            let deadline = ContinuousClock.now + timeout
            while !states.contains(state) {
                guard ContinuousClock.now < deadline, process.isRunning else {
                    Issue.record("instance never reached \(state); states: \(states)")
                    return
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }

        /// Kills it with SIGKILL and returns once it has ended.
        func kill() {
            Foundation.kill(process.processIdentifier, SIGKILL)
            let deadline = ContinuousClock.now + .seconds(30)
            while process.isRunning, ContinuousClock.now < deadline { usleep(10_000) }
        }
        func terminate() { process.terminate() }

        func waitForExit(timeout: Duration = .seconds(90)) async throws -> Int32? {
            let deadline = ContinuousClock.now + timeout
            while process.isRunning {
                guard ContinuousClock.now < deadline else { return nil }
                try await Task.sleep(for: .milliseconds(50))
            }
            return process.terminationStatus
        }

        /// How it ended (or that it has not) and the end of its standard error.
        var exitReport: String {
            let ending = process.isRunning ? "still running"
                : "\(process.terminationReason == .uncaughtSignal ? "signal" : "exit status") \(process.terminationStatus)"
            let log = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
            return "\(ending); states \(states); standard error ends: \(log.suffix(3000))"
        }
    }

    static func arguments(app: String, input: String, output: String, extra: [String] = []) throws -> [String] {
        ["--bootstrap", try TestBroker.bootstrap(), "--application-id", app, "--input", input, "--output", output] + extra
    }

    /// Records in `topic` (read_committed), read until `expected` distinct values are there and nothing new
    /// arrives for a while (so that duplicates would show), or `timeout`.
    static func settledRecords(_ topic: String, expected: Int, timeout: Duration = .seconds(60)) async throws -> [KafkaConsumerRecord] {
        let consumer = try TestBroker.consumer()
        try await consumer.assign(TestBroker.partitions(topic, count: 4).map { TopicPartitionOffset($0, offset: KafkaConsumer.beginning) })
        var records: [KafkaConsumerRecord] = []
        var values: Set<String> = []
        let deadline = ContinuousClock.now + timeout
        var quietSince = ContinuousClock.now
        while ContinuousClock.now < deadline {
            let batch = try await consumer.poll(maxRecords: 1000, timeout: .milliseconds(100))
            if !batch.isEmpty { quietSince = ContinuousClock.now }
            records += batch
            values.formUnion(batch.map { $0.value!.string })
            if values.count >= expected, ContinuousClock.now - quietSince > .seconds(3) { break }
        }
        await consumer.close()
        return records
    }

    static func inputs(_ count: Int) -> [(String, String)] { (0..<count).map { ("k\($0 % 50)", "v\($0)") } }

    /// Fresh input and output topics (4 partitions), `count` inputs produced, and a fresh application id.
    static func prepare(inputs count: Int) async throws -> (input: String, output: String, app: String) {
        let (input, output, app) = try await StreamsApplicationTests.freshTopics()
        try await StreamsApplicationTests.produce(input, inputs(count))
        return (input, output, app)
    }

    @Test func atLeastOnceSurvivesAnInstanceKilledMidStream() async throws {
        let count = 2000
        let (input, output, app) = try await Self.prepare(inputs: count)
        let args = try Self.arguments(app: app, input: input, output: output, extra: ["--delay-ms", "2", "--commit-interval-ms", "500"])
        let first = try Instance(args)
        let second = try Instance(args)
        defer { first.kill(); second.kill() }
        try await first.waitFor(state: "running")
        try await second.waitFor(state: "running")
        // Let both process part of the input, then kill one without warning.
        let partial = try await StreamsApplicationTests.read(output, count: 300, timeout: .seconds(30))
        #expect(partial.count == 300)
        second.kill()

        let values = try await Self.settledRecords(output, expected: count).map { $0.value!.string }
        let expected = Set(Self.inputs(count).map { $0.1.uppercased() })
        let missing = expected.subtracting(values)
        #expect(missing.isEmpty, "\(missing.count) inputs never reached the output, e.g. \(missing.prefix(5))")
        #expect(values.count >= count)
        first.terminate()
        #expect(try await first.waitForExit() == 0, "\(first.exitReport)")
    }

    /// Tansu does not filter records of *aborted* transactions from read_committed readers (it does hold them at
    /// the last stable offset while a transaction is open): a probe that aborts a transaction, and one that leaves
    /// a transaction open and fences it with a new producer of the same id, both read the aborted records back.
    /// So the reader does that filtering here, from the broker's own account: the offsets the group had committed
    /// when the instance died. Each output record says which run wrote it and which input it came from; the
    /// killed run's records for inputs at or above those offsets belong to its unfinished transaction, which the
    /// restart's fencing aborts. Everything else the broker shows must be each input exactly once: the committed
    /// transactions of the killed run, then the restarted run from exactly the committed offsets on.
    /// What stays unverified locally: that a read_committed reader of a real Kafka broker does not see the
    /// aborted records (that filtering is the broker's, from the abort markers the fencing writes).
    @Test func exactlyOnceAfterAKillLeavesEachInputOnceInTheCommittedOutput() async throws {
        let count = 1500
        let (input, output, app) = try await Self.prepare(inputs: count)
        let args = try Self.arguments(
            app: app, input: input, output: output,
            // 150 ms a record, 50 keys one record at a time each: 1,500 inputs take 4.5 s, so the kill after 200
            // outputs lands with most of them unprocessed (at 20 ms they took 0.6 s, and in one run of make test
            // all were committed before the kill).
            extra: ["--guarantee", "exactly-once", "--instance-id", "eos-1", "--delay-ms", "150"]
        )
        let first = try Instance(args)
        try await first.waitFor(state: "running")
        let partial = try await StreamsApplicationTests.read(output, count: 200, timeout: .seconds(30))
        #expect(partial.count == 200)
        first.kill()

        let inputRecords = try await StreamsApplicationTests.read(input, count: count)
        let committedAtKill = try await Self.committedOffsets(group: app, topic: input)
        let committedInputs = inputRecords.filter { $0.offset < committedAtKill[$0.partition, default: 0] }.count
        #expect(committedInputs < count, "the kill landed after everything was committed; the test proves nothing")

        // The same instance id again: its transactional id fences the dead one's open transaction at once.
        let second = try Instance(args)
        defer { second.kill() }
        let records = try await Self.settledRecords(output, expected: count)
        let killedRun = try #require(partial.first.flatMap { Self.header("test.run", of: $0) })

        var visible: [String] = []
        var aborted = 0
        for record in records {
            let run = Self.header("test.run", of: record)
            let source = Self.header("test.source", of: record)?.split(separator: ":").compactMap { Int64($0) } ?? []
            try #require(run != nil && source.count == 2, "output record without its test headers: \(record)")
            let (partition, offset) = (Int32(source[0]), source[1])
            if run == killedRun, offset >= committedAtKill[partition, default: 0] {
                aborted += 1
            } else {
                if run != killedRun {
                    #expect(offset >= committedAtKill[partition, default: 0], "the restart re-processed committed input \(partition):\(offset)")
                }
                visible.append(record.value!.string)
            }
        }
        let expected = Set(Self.inputs(count).map { $0.1.uppercased() })
        let missing = expected.subtracting(visible)
        #expect(missing.isEmpty, "\(missing.count) inputs missing from the committed output, e.g. \(missing.prefix(5))")
        var seen: [String: Int] = [:]
        for value in visible { seen[value, default: 0] += 1 }
        let duplicated = seen.filter { $0.value > 1 }
        #expect(duplicated.isEmpty, "\(duplicated.count) inputs appear more than once, e.g. \(duplicated.prefix(5).map(\.key))")
        #expect(visible.count == count)
        print("exactly-once after a kill: \(committedInputs) inputs committed at the kill, \(aborted) records of its aborted transaction")
    }

    static func header(_ key: String, of record: KafkaConsumerRecord) -> String? {
        record.headers.first { $0.key == key }?.value.map { String(decoding: $0, as: UTF8.self) }
    }

    /// The offsets `group` has committed on the 4 partitions of `topic`, by partition.
    static func committedOffsets(group: String, topic: String) async throws -> [Int32: Int64] {
        let consumer = try TestBroker.consumer(group: group)
        let committed = try await consumer.committed(TestBroker.partitions(topic, count: 4))
        await consumer.close()
        return Dictionary(uniqueKeysWithValues: committed.map { ($0.partition, max($0.offset, 0)) })
    }

    @Test func sigtermCommitsAndLeavesTheGroup() async throws {
        let (input, output, app) = try await Self.prepare(inputs: 300)
        // A long commit interval: only the shutdown commit can make the offsets durable.
        let instance = try Instance(try Self.arguments(app: app, input: input, output: output, extra: ["--commit-interval-ms", "600000"]))
        defer { instance.kill() }
        try await instance.waitFor(state: "running")
        let out = try await StreamsApplicationTests.read(output, count: 300)
        #expect(out.count == 300)
        instance.terminate()
        #expect(try await instance.waitForExit() == 0, "\(instance.exitReport)")
        #expect(instance.states.suffix(2) == ["pendingShutdown", "notRunning"])

        let inputRecords = try await StreamsApplicationTests.read(input, count: 300)
        let committed = try await Self.committedOffsets(group: app, topic: input)
        for partition in Int32(0)..<4 {
            #expect(committed[partition] == Int64(inputRecords.filter { $0.partition == partition }.count))
        }
    }
}
