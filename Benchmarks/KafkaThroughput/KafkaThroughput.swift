import ArgumentParser
import Foundation
import Logging
import StreamKit
import Synchronization

/// Producer and consumer throughput of StreamKit's Kafka client, reported as one JSON line per run so that
/// `scripts/bench` can set it beside librdkafka's `rdkafka_performance` on the same broker.
@main
struct KafkaThroughput: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka-throughput",
        abstract: "Measure StreamKit's Kafka producer and consumer throughput.",
        subcommands: [Produce.self, Consume.self]
    )
}

struct CommonOptions: ParsableArguments {
    @Option(help: "Bootstrap servers.") var bootstrap: String
    @Option(help: "Topic.") var topic: String
    @Option(help: "Number of messages.") var count: Int = 1_000_000
    @Option(help: "librdkafka property key=value (repeatable).") var property: [String] = []

    var properties: [String: String] {
        Dictionary(property.compactMap { entry in
            entry.firstIndex(of: "=").map { (String(entry[..<$0]), String(entry[entry.index(after: $0)...])) }
        }, uniquingKeysWith: { $1 })
    }

    var logger: Logger {
        var logger = Logger(label: "kafka-throughput")
        logger.logLevel = .warning
        return logger
    }
}

func report(_ mode: String, messages: Int, bytes: Int, elapsed: Duration) {
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let line: [String: Any] = [
        "client": "swift", "mode": mode, "messages": messages, "bytes": bytes,
        "seconds": seconds, "msgs_per_sec": Double(messages) / seconds, "mb_per_sec": Double(bytes) / seconds / 1e6,
    ]
    let data = try! JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

struct Produce: AsyncParsableCommand {
    @OptionGroup var options: CommonOptions
    @Option(help: "Value size in bytes.") var size: Int = 100

    func run() async throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [options.bootstrap])
        configuration.additionalProperties = options.properties
        let outcomes = DeliveryCounter()
        // Like rdkafka_performance's delivery report callback, one handler counts every record's outcome.
        let producer = try KafkaProducer(configuration: configuration, logger: options.logger) { _, outcome in outcomes.record(outcome) }
        let count = options.count
        // Like rdkafka_performance, every message carries the same payload.
        let record = KafkaProducerRecord(topic: options.topic, value: [UInt8](repeating: UInt8(ascii: "x"), count: size))
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<count {
            _ = try await producer.enqueue(record)
        }
        try await producer.flush(timeout: .seconds(120))
        let elapsed = clock.now - start
        await producer.close()
        precondition(outcomes.delivered == count, "not every record was reported")
        guard outcomes.failures == 0 else { throw ValidationError("\(outcomes.failures) records failed") }
        report("produce", messages: count, bytes: count * size, elapsed: elapsed)
    }
}

struct Consume: AsyncParsableCommand {
    @OptionGroup var options: CommonOptions
    @Option(help: "Partitions of the topic.") var partitions: Int32 = 4

    func run() async throws {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: [options.bootstrap])
        configuration.additionalProperties = options.properties
        let consumer = try KafkaConsumer(configuration: configuration, logger: options.logger)
        try await consumer.assign((0..<partitions).map {
            TopicPartitionOffset(topic: options.topic, partition: $0, offset: KafkaConsumer.beginning)
        })
        let count = options.count
        let clock = ContinuousClock()
        var start: ContinuousClock.Instant?
        var messages = 0
        var bytes = 0
        var polls = 0
        let deadline = clock.now + .seconds(300)
        while messages < count, clock.now < deadline {
            let records = try await consumer.poll(maxRecords: 10_000, timeout: .milliseconds(100))
            if start == nil, !records.isEmpty { start = clock.now }
            messages += records.count
            polls += 1
            for record in records { bytes += record.value?.count ?? 0 }
        }
        let elapsed = clock.now - (start ?? clock.now)
        await consumer.close()
        FileHandle.standardError.write(Data("polls: \(polls), records per poll: \(messages / max(polls, 1))\n".utf8))
        guard messages >= count else { throw ValidationError("consumed only \(messages) of \(count)") }
        report("consume", messages: messages, bytes: bytes, elapsed: elapsed)
    }
}

final class DeliveryCounter: Sendable {
    private let deliveredCount = Atomic<Int>(0)
    private let failureCount = Atomic<Int>(0)

    func record(_ result: Result<KafkaDeliveryReport, KafkaError>) {
        if case .failure = result { failureCount.add(1, ordering: .relaxed) }
        deliveredCount.add(1, ordering: .relaxed)
    }

    var delivered: Int { deliveredCount.load(ordering: .relaxed) }
    var failures: Int { failureCount.load(ordering: .relaxed) }
}
