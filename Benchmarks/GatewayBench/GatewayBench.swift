import ArgumentParser
import AsyncHTTPClient
import Dataflow
import Foundation
import Gateways
import Histogram
import Logging
import NIOCore
import StreamKit
import Synchronization

/// The model gateway against calling MLServer directly, in one run with the same model (add/subtract), request
/// and number of requests in flight: latency percentiles, throughput, and what the Kafka hops add.
///
/// - `direct`: clients POST OIP JSON to MLServer (`/v2/models/sum/infer`) over keep-alive connections.
/// - `model gateway`: clients write `ModelInferRequest`s to the model's input topic and read its output topic;
///   the gateway (in this process) calls the same MLServer.
@main
struct GatewayBench: AsyncParsableCommand {
    @Option var bootstrap: String
    @Option(help: "MLServer's REST base URL.") var mlserver: String
    @Option(help: "Requests per run.") var requests = 3_000
    @Option(help: "Requests in flight at once.") var concurrency = 32

    var logger: Logger {
        var logger = Logger(label: "gateway-bench")
        logger.logLevel = .error
        return logger
    }

    struct Figures {
        var latency = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        var seconds = 0.0
        var rate: Double { Double(latency.totalCount) / seconds }
        func ms(_ percentile: Double) -> Double { Double(latency.valueAtPercentile(percentile)) / 1000 }
    }

    static let body: [UInt8] = {
        let request = InferenceRequest(id: "", inputs: [
            InferenceTensor(name: "INPUT0", shape: [1, 16], contents: .int32(Array(0..<16))),
            InferenceTensor(name: "INPUT1", shape: [1, 16], contents: .int32(Array(repeating: 1, count: 16))),
        ])
        return try! request.serializedBytes()
    }()

    func run() async throws {
        let direct = try await runDirect()
        let gateway = try await runModelGateway()
        for (name, figures) in [("MLServer direct", direct), ("model gateway", gateway)] {
            print(String(format: "%@ %5d requests, %d in flight: p50 %.2f  p90 %.2f  p99 %.2f ms   %.0f req/s",
                         name.padding(toLength: 16, withPad: " ", startingAt: 0), figures.latency.totalCount, concurrency,
                         figures.ms(50), figures.ms(90), figures.ms(99), figures.rate))
        }
        print(String(format: "model gateway: +%.2f ms at p50, +%.2f ms at p99 (two Kafka hops); throughput %.2f of MLServer's own",
                     gateway.ms(50) - direct.ms(50), gateway.ms(99) - direct.ms(99), gateway.rate / direct.rate))
    }

    private func runDirect() async throws -> Figures {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let json = try InferenceRequest(serializedBytes: Self.body).json()
        let url = "\(mlserver)/v2/models/sum/infer"
        let call: @Sendable () async throws -> Void = {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(json)
            let response = try await client.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .ok else { throw BenchError("MLServer answered \(response.status)") }
        }
        _ = try await closedLoop(count: min(200, requests), call)
        let figures = try await closedLoop(count: requests, call)
        try await client.shutdown()
        return figures
    }

    /// Runs `count` calls with `concurrency` in flight, timing each.
    private func closedLoop(count: Int, _ call: @escaping @Sendable () async throws -> Void) async throws -> Figures {
        let next = Counter()
        let started = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var mine: [UInt64] = []
                    while next.next() < count {
                        let start = ContinuousClock.now
                        try await call()
                        mine.append(UInt64((ContinuousClock.now - start).nanoseconds / 1000))
                    }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        var figures = Figures()
        for latency in latencies { figures.latency.record(latency) }
        figures.seconds = Double((ContinuousClock.now - started).nanoseconds) / 1e9
        return figures
    }

    private func runModelGateway() async throws -> Figures {
        let topics = TopicNames(prefix: "bench", namespace: "gw\(UInt32.random(in: 0...UInt32.max))")
        var configuration = ModelGatewayConfiguration(bootstrapServers: [bootstrap], topics: topics)
        configuration.useLocalBrokerDefaults()
        configuration.maxInFlightPerPartition = concurrency
        let gateway = ModelGateway(configuration: configuration, logger: logger)
        try await gateway.serve(["sum": ModelServer(name: "mlserver", endpoints: [mlserver])])
        let running = Task { try await gateway.run() }

        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: [bootstrap])
        producerConfiguration.useLocalBrokerDefaults()
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        var consumerConfiguration = KafkaConsumerConfiguration(bootstrapServers: [bootstrap])
        consumerConfiguration.useLocalBrokerDefaults()
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
        try await consumer.assign((0..<configuration.partitions).map {
            TopicPartitionOffset(TopicPartition(topic: topics.modelOutputs("sum"), partition: $0), offset: KafkaConsumer.end)
        })
        let waiting = Mutex<[String: CheckedContinuation<Void, Never>]>([:])
        let reader = Task {
            while !Task.isCancelled {
                for record in (try? await consumer.poll(maxRecords: 1000, timeout: .milliseconds(50))) ?? [] {
                    let key = String(decoding: record.key ?? [], as: UTF8.self)
                    waiting.withLock { $0.removeValue(forKey: key) }?.resume()
                }
            }
        }
        let sequence = Counter()
        let call: @Sendable () async throws -> Void = {
            let key = "r\(sequence.next())"
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                waiting.withLock { $0[key] = continuation }
                Task {
                    try await producer.send(KafkaProducerRecord(topic: topics.modelInputs("sum"), key: Array(key.utf8), value: Self.body)) { _ in }
                }
            }
        }
        _ = try await closedLoop(count: min(200, requests), call)
        let figures = try await closedLoop(count: requests, call)
        reader.cancel()
        _ = await reader.result
        await consumer.close()
        await producer.close()
        running.cancel()
        _ = try? await running.value
        return figures
    }
}

/// A shared counter for the concurrent callers.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func next() -> Int { value.add(1, ordering: .relaxed).oldValue }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
