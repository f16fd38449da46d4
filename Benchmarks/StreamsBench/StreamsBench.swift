import ArgumentParser
import Foundation
import Histogram
import Logging
import StreamKit

/// StreamKit runtime benchmarks on a local broker, each beside its floor measured in the same run:
///
/// - `passthrough`: a map topology vs. `kafka-pipe` (a plain librdkafka consume→produce loop in C): records/s
///   over a backlog, and end-to-end latency percentiles at a fixed rate.
/// - `async`: a processor awaiting a 5 ms sleep per record, with 1, 8 and 64 keys in flight per task.
@main
struct StreamsBench: AsyncParsableCommand {
    @Option var bootstrap: String
    @Option(help: "Records in the backlog of the throughput run.") var records = 200_000
    @Option(help: "Records/s of the latency run.") var rate = 5_000
    @Option(help: "Seconds of the latency run.") var seconds = 10
    @Option(help: "Directory with kafka-pipe.") var tools = ".deps/bin"
    @Flag var json = false

    var logger: Logger {
        var logger = Logger(label: "streams-bench")
        logger.logLevel = .error
        return logger
    }

    enum Scenario: String, ExpressibleByArgument, CaseIterable {
        case throughput, latency, async
    }

    @Option(help: "Scenarios to run: throughput, latency, async (default: all).") var scenario: [Scenario] = Scenario.allCases

    func run() async throws {
        var figures: [String: Double] = [:]
        if scenario.contains(.throughput) {
            let floor = try await backlog(label: "kafka-pipe (C floor)", runner: .pipe)
            let swift = try await backlog(label: "StreamKit map", runner: .streamKit(maxInFlight: 16, delay: nil))
            print(String(format: "throughput  C %9.0f rec/s   StreamKit %9.0f rec/s   ratio %.2f", floor, swift, swift / floor))
            figures["c_rate"] = floor
            figures["swift_rate"] = swift
            figures["ratio"] = swift / floor
        }
        if scenario.contains(.latency) {
            let floor = try await latency(runner: .pipe)
            let swift = try await latency(runner: .streamKit(maxInFlight: 16, delay: nil))
            for (name, stats) in [("C floor", floor), ("StreamKit", swift)] {
                print(String(format: "latency %@ at %d rec/s: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f ms (%d records)",
                             name.padding(toLength: 9, withPad: " ", startingAt: 0), rate, stats.p50, stats.p90, stats.p99, stats.p999, stats.max, stats.count))
            }
            print(String(format: "latency ratio StreamKit/C: p50 %.2f  p99 %.2f", swift.p50 / floor.p50, swift.p99 / floor.p99))
            figures["c_p50_ms"] = floor.p50
            figures["c_p99_ms"] = floor.p99
            figures["swift_p50_ms"] = swift.p50
            figures["swift_p99_ms"] = swift.p99
        }
        if scenario.contains(.async) {
            for inFlight in [1, 8, 64] {
                let count = inFlight == 1 ? 2_000 : inFlight == 8 ? 10_000 : 60_000
                let rate = try await backlog(
                    label: "async 5 ms, \(inFlight) in flight",
                    runner: .streamKit(maxInFlight: inFlight, delay: .milliseconds(5)),
                    count: count,
                    keys: 10_000
                )
                let bound = Double(4 * inFlight) * 200
                print(String(format: "async 5 ms sleep, %2d keys in flight per task (4 tasks): %8.0f rec/s  (%.2f of the bound %.0f)",
                             inFlight, rate, rate / bound, bound))
                figures["async_\(inFlight)"] = rate
            }
        }
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys]), as: UTF8.self))
        }
    }

    enum Runner {
        case pipe
        case streamKit(maxInFlight: Int, delay: Duration?)
    }

    /// Stops a running pass-through: the C pipe process or a StreamKit application in this process.
    typealias Stop = () async throws -> Void

    func start(_ runner: Runner, input: String, output: String, group: String) throws -> Stop {
        switch runner {
        case .pipe:
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "\(tools)/kafka-pipe")
            process.arguments = [bootstrap, input, output, group, String(Int.max)]
            process.standardOutput = FileHandle.nullDevice
            let exited = AsyncStream<Void>.makeStream()
            process.terminationHandler = { _ in exited.continuation.finish() }
            try process.run()
            return {
                process.terminate()
                for await _ in exited.stream {}
            }
        case .streamKit(let maxInFlight, let delay):
            let builder = StreamsBuilder()
            builder.stream([input], key: .rawBytes, value: .rawBytes)
                .process(named: "copy") { CopyProcessor(delay: delay) }
                .to(output, key: .rawBytes, value: .rawBytes)
            var configuration = StreamsConfiguration(applicationID: group, bootstrapServers: [bootstrap])
            configuration.useLocalBrokerDefaults()
            configuration.maxInFlightPerTask = maxInFlight
            configuration.commitInterval = .milliseconds(100)
            let application = StreamsApplication(topology: try builder.build(), configuration: configuration, logger: logger)
            let task = Task { try await application.run() }
            return {
                application.shutdown()
                try await task.value
            }
        }
    }

    func makeTopics() async throws -> (String, String) {
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let (input, output) = ("bench-in-\(suffix)", "bench-out-\(suffix)")
        let producer = try producer()
        for topic in [input, output] { _ = try await producer.send(KafkaProducerRecord(topic: topic, partition: 0, value: nil)) }
        await producer.close()
        return (input, output)
    }

    func producer() throws -> KafkaProducer {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [bootstrap])
        configuration.useLocalBrokerDefaults()
        return try KafkaProducer(configuration: configuration, logger: logger)
    }

    func outputConsumer(_ topic: String) async throws -> KafkaConsumer {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: [bootstrap])
        configuration.useLocalBrokerDefaults()
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        try await consumer.assign((0..<4).map { TopicPartitionOffset(topic: topic, partition: $0, offset: KafkaConsumer.beginning) })
        return consumer
    }

    /// Fills the input with `count` records, then measures how fast the runner copies them.
    func backlog(label: String, runner: Runner, count: Int? = nil, keys: Int = 1_000) async throws -> Double {
        let count = count ?? records
        let (input, output) = try await makeTopics()
        let producer = try producer()
        // 100-byte values that start with the record's number, so that duplicates show.
        let padding = [UInt8](repeating: 0x61, count: 100)
        for i in 0..<count {
            var value = Array(String(i).utf8)
            value += padding.prefix(100 - value.count)
            try await producer.send(KafkaProducerRecord(topic: input, key: Array("key-\(i % keys)".utf8), value: value)) { _ in }
        }
        try await producer.flush()
        await producer.close()
        let consumer = try await outputConsumer(output)
        let began = ContinuousClock.now
        let stop = try start(runner, input: input, output: output, group: "bench-\(input)")
        // Copies carry the time they were made: the rate is read from those between the first and the last tenth,
        // so that neither joining the group nor delays in reading the copies count.
        var stamps: [Int64] = []
        stamps.reserveCapacity(count)
        var distinct = Set<Int>()
        var reported = ContinuousClock.now
        while stamps.count < count {
            // The topics' first (empty) records are not counted.
            for record in try await consumer.poll(maxRecords: 5000, timeout: .milliseconds(100)) {
                guard let value = record.value else { continue }
                stamps.append(record.timestamp)
                if let number = Int(String(decoding: value.prefix { $0 != 0x61 }, as: UTF8.self)) { distinct.insert(number) }
            }
            if ContinuousClock.now - reported > .seconds(5) {
                reported = ContinuousClock.now
                FileHandle.standardError.write(Data("\(label): \(stamps.count) of \(count) copied\n".utf8))
            }
            if ContinuousClock.now - began > .seconds(300) { break }
        }
        try await stop()
        await consumer.close()
        if distinct.count != stamps.count {
            FileHandle.standardError.write(Data("\(label): \(stamps.count) copies of \(distinct.count) distinct records\n".utf8))
        }
        stamps.sort()
        let (low, high) = (stamps.count / 10, stamps.count - 1 - stamps.count / 10)
        guard high > low, stamps[high] > stamps[low] else { return .nan }
        return Double(high - low) / (Double(stamps[high] - stamps[low]) / 1000)
    }

    struct Latency {
        var p50, p90, p99, p999, max: Double
        var count: Int
    }

    /// Sends `rate` records/s for `seconds` through a running runner (warmed up first) and measures each record's
    /// time from send to consumption of its copy.
    func latency(runner: Runner) async throws -> Latency {
        let (input, output) = try await makeTopics()
        let stop = try start(runner, input: input, output: output, group: "bench-lat-\(input)")
        let consumer = try await outputConsumer(output)
        let producer = try producer()
        // Warm up until a record makes it through (group joined, partitions assigned).
        while true {
            _ = try await producer.send(KafkaProducerRecord(topic: input, key: Array("warm".utf8), value: Array("warm".utf8)))
            let batch = try await consumer.poll(maxRecords: 100, timeout: .milliseconds(500))
            if batch.contains(where: { $0.value == Array("warm".utf8) }) { break }
        }
        let total = rate * seconds
        let interval = Duration.seconds(1) / rate
        let sender = Task {
            let begin = ContinuousClock.now
            for i in 0..<total {
                let due = begin + interval * i
                if due > ContinuousClock.now { try await Task.sleep(until: due, clock: .continuous) }
                let now = Int64(Date().timeIntervalSince1970 * 1e9)
                try await producer.send(KafkaProducerRecord(topic: input, key: Array("k\(i % 1000)".utf8), value: Array(String(now).utf8))) { _ in }
            }
        }
        // Microseconds, 3 significant digits, up to an hour.
        var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        let deadline = ContinuousClock.now + .seconds(seconds + 30)
        while histogram.totalCount < total, ContinuousClock.now < deadline {
            for record in try await consumer.poll(maxRecords: 1000, timeout: .milliseconds(20)) {
                guard let value = record.value, let sent = Int64(String(decoding: value, as: UTF8.self)) else { continue }
                histogram.record(UInt64(max(0, Int64(Date().timeIntervalSince1970 * 1e9) - sent) / 1000))
            }
        }
        try await sender.value
        await producer.close()
        await consumer.close()
        try await stop()
        func milliseconds(_ percentile: Double) -> Double { Double(histogram.valueAtPercentile(percentile)) / 1000 }
        return Latency(
            p50: milliseconds(50), p90: milliseconds(90), p99: milliseconds(99), p999: milliseconds(99.9),
            max: Double(histogram.max) / 1000, count: Int(histogram.totalCount)
        )
    }
}
