import ArgumentParser
import Foundation
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

    func run() async throws {
        let floor = try await backlog(label: "kafka-pipe (C floor)", runner: .pipe)
        let swift = try await backlog(label: "StreamKit map", runner: .streamKit(maxInFlight: 16, delay: nil))
        print(String(format: "throughput  C %9.0f rec/s   StreamKit %9.0f rec/s   ratio %.2f", floor, swift, swift / floor))

        let floorLatency = try await latency(runner: .pipe)
        let swiftLatency = try await latency(runner: .streamKit(maxInFlight: 16, delay: nil))
        for (name, stats) in [("C floor", floorLatency), ("StreamKit", swiftLatency)] {
            print(String(format: "latency %@ at %d rec/s: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f ms (%d records)",
                         name.padding(toLength: 9, withPad: " ", startingAt: 0), rate, stats.p50, stats.p90, stats.p99, stats.p999, stats.max, stats.count))
        }
        print(String(format: "latency ratio StreamKit/C: p50 %.2f  p99 %.2f", swiftLatency.p50 / floorLatency.p50, swiftLatency.p99 / floorLatency.p99))

        var asyncRates: [Int: Double] = [:]
        for inFlight in [1, 8, 64] {
            let count = inFlight == 1 ? 2_000 : inFlight == 8 ? 10_000 : 40_000
            asyncRates[inFlight] = try await backlog(
                label: "async 5 ms, \(inFlight) in flight",
                runner: .streamKit(maxInFlight: inFlight, delay: .milliseconds(5)),
                count: count,
                keys: 10_000
            )
            print(String(format: "async 5 ms sleep, %2d keys in flight per task (4 tasks): %8.0f rec/s  (bound %6.0f)",
                         inFlight, asyncRates[inFlight]!, Double(4 * inFlight) * 200))
        }
        if json {
            let line: [String: Double] = [
                "c_rate": floor, "swift_rate": swift, "ratio": swift / floor,
                "c_p50_ms": floorLatency.p50, "c_p99_ms": floorLatency.p99,
                "swift_p50_ms": swiftLatency.p50, "swift_p99_ms": swiftLatency.p99,
                "async_1": asyncRates[1]!, "async_8": asyncRates[8]!, "async_64": asyncRates[64]!,
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]), as: UTF8.self))
        }
    }

    enum Runner {
        case pipe
        case streamKit(maxInFlight: Int, delay: Duration?)
    }

    /// A running pass-through: the C pipe process or a StreamKit application in this process.
    final class Running {
        let stop: () async throws -> Void
        init(stop: @escaping () async throws -> Void) { self.stop = stop }
    }

    func start(_ runner: Runner, input: String, output: String, group: String) throws -> Running {
        switch runner {
        case .pipe:
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "\(tools)/kafka-pipe")
            process.arguments = [bootstrap, input, output, group, String(Int.max)]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            return Running {
                process.terminate()
                process.waitUntilExit()
            }
        case .streamKit(let maxInFlight, let delay):
            let builder = StreamsBuilder()
            builder.stream([input], key: .rawBytes, value: .rawBytes)
                .mapValues { value in
                    if let delay { try await Task.sleep(for: delay) }
                    return value
                }
                .to(output, key: .rawBytes, value: .rawBytes)
            var configuration = StreamsConfiguration(applicationID: group, bootstrapServers: [bootstrap])
            configuration.useLocalBrokerDefaults()
            configuration.maxInFlightPerTask = maxInFlight
            configuration.commitInterval = .milliseconds(100)
            let application = StreamsApplication(topology: try builder.build(), configuration: configuration, logger: logger)
            let task = Task { try await application.run() }
            return Running {
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

    /// Fills the input with `count` records, then measures how fast the runner copies all of them.
    func backlog(label: String, runner: Runner, count: Int? = nil, keys: Int = 1_000) async throws -> Double {
        let count = count ?? records
        let (input, output) = try await makeTopics()
        let producer = try producer()
        let value = [UInt8](repeating: 0x61, count: 100)
        for i in 0..<count {
            try await producer.send(KafkaProducerRecord(topic: input, key: Array("key-\(i % keys)".utf8), value: value)) { _ in }
        }
        try await producer.flush()
        await producer.close()
        let consumer = try await outputConsumer(output)
        let began = ContinuousClock.now
        let running = try start(runner, input: input, output: output, group: "bench-\(input)")
        var seen = 0
        // The topics' first (empty) records are not counted.
        while seen < count {
            let batch = try await consumer.poll(maxRecords: 5000, timeout: .milliseconds(100))
            seen += batch.filter { $0.value != nil }.count
            if ContinuousClock.now - began > .seconds(300) { break }
        }
        let elapsed = ContinuousClock.now - began
        try await running.stop()
        await consumer.close()
        return Double(seen) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    struct Latency {
        var p50, p90, p99, p999, max: Double
        var count: Int
    }

    /// Sends `rate` records/s for `seconds` through a running runner (warmed up first) and measures each record's
    /// time from send to consumption of its copy.
    func latency(runner: Runner) async throws -> Latency {
        let (input, output) = try await makeTopics()
        let running = try start(runner, input: input, output: output, group: "bench-lat-\(input)")
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
        var samples: [Double] = []
        samples.reserveCapacity(total)
        let deadline = ContinuousClock.now + .seconds(seconds + 30)
        while samples.count < total, ContinuousClock.now < deadline {
            for record in try await consumer.poll(maxRecords: 1000, timeout: .milliseconds(20)) {
                guard let value = record.value, let sent = Int64(String(decoding: value, as: UTF8.self)) else { continue }
                samples.append(Double(Int64(Date().timeIntervalSince1970 * 1e9) - sent) / 1e6)
            }
        }
        try await sender.value
        await producer.close()
        await consumer.close()
        try await running.stop()
        samples.sort()
        func percentile(_ p: Double) -> Double {
            samples.isEmpty ? .nan : samples[min(samples.count - 1, Int(Double(samples.count) * p))]
        }
        return Latency(p50: percentile(0.5), p90: percentile(0.9), p99: percentile(0.99), p999: percentile(0.999), max: samples.last ?? .nan, count: samples.count)
    }
}
