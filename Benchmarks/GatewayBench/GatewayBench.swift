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

/// `gateway-bench [latency]` and `gateway-bench churn`.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway-bench",
        abstract: "The gateways against MLServer direct (default), or pipelines deployed while another serves (churn).",
        subcommands: [GatewayBench.self, ChurnBench.self],
        defaultSubcommand: GatewayBench.self
    )
}

extension AsyncParsableCommand {
    /// Errors only: the benchmarks print their figures.
    var logger: Logger {
        var logger = Logger(label: "gateway-bench")
        logger.logLevel = .error
        return logger
    }
}

/// The gateways against calling MLServer directly, in one run with the same model (add/subtract), request and
/// number of requests in flight: latency percentiles, throughput, and what the Kafka hops add.
///
/// - `direct`: clients POST OIP JSON to MLServer (`/v2/models/sum/infer`) over keep-alive connections.
/// - `model gateway`: clients write `ModelInferRequest`s to the model's input topic and read its output topic;
///   the gateway (in this process) calls the same MLServer. Two Kafka hops.
/// - `gateway -> model`: clients POST OIP JSON to the pipeline gateway's `/v2/models/sum/infer`, which calls
///   MLServer itself (as Seldon's Envoy routes a model request): no Kafka hop, one more HTTP hop.
/// - `pipeline 1 step` / `pipeline 3 steps`: clients POST OIP JSON to the pipeline gateway for a pipeline of one
///   add/subtract step (four hops: pipeline inputs, model inputs, model outputs, pipeline outputs) and of three
///   (eight hops); the engine, the model gateway and the pipeline gateway all run in this process.
struct GatewayBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "latency")

    @Option var bootstrap: String
    @Option(help: "MLServer's REST base URL.") var mlserver: String
    @Option(help: "Requests per run.") var requests = 3_000
    @Option(help: "Requests in flight at once.") var concurrency = 32

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
        let (model, oneStep, threeSteps) = try await runPipelineGateway()
        let runs = [
            ("MLServer direct", direct, 0), ("gateway -> model", model, 0), ("model gateway", gateway, 2),
            ("pipeline 1 step", oneStep, 4), ("pipeline 3 steps", threeSteps, 8),
        ]
        for (name, figures, _) in runs {
            print(String(format: "%@ %5d requests, %d in flight: p50 %.2f  p90 %.2f  p99 %.2f ms   %.0f req/s",
                         name.padding(toLength: 16, withPad: " ", startingAt: 0), figures.latency.totalCount, concurrency,
                         figures.ms(50), figures.ms(90), figures.ms(99), figures.rate))
        }
        print(String(format: "gateway -> model: +%.2f ms at p50, +%.2f ms at p99 over direct (no Kafka hop); p50 %.2fx, p99 %.2fx, throughput %.2f of MLServer's own",
                     model.ms(50) - direct.ms(50), model.ms(99) - direct.ms(99), model.ms(50) / direct.ms(50), model.ms(99) / direct.ms(99), model.rate / direct.rate))
        for (name, figures, hops) in runs.dropFirst(2) {
            print(String(format: "%@: +%.2f ms at p50, +%.2f ms at p99 over direct (%d Kafka hops, %.2f ms each at p50); throughput %.2f of MLServer's own",
                         name, figures.ms(50) - direct.ms(50), figures.ms(99) - direct.ms(99), hops,
                         (figures.ms(50) - direct.ms(50)) / Double(hops), figures.rate / direct.rate))
        }
        print(String(format: "two more steps (four hops): +%.2f ms at p50, %.2f ms per hop",
                     threeSteps.ms(50) - oneStep.ms(50), (threeSteps.ms(50) - oneStep.ms(50)) / 4))
    }

    /// An HTTP client for `concurrency` callers, and a call POSTing `json` to `url` that fails unless answered 200.
    private func httpCaller(url: String, json: [UInt8], headers: [(String, String)] = []) -> (HTTPClient, @Sendable () async throws -> Void) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        return (client, {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            request.body = .bytes(json)
            let response = try await client.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .ok else { throw BenchError("\(url) answered \(response.status): \(String(buffer: body))") }
        })
    }

    private func runDirect() async throws -> Figures {
        let (client, call) = httpCaller(url: "\(mlserver)/v2/models/sum/infer", json: try InferenceRequest(serializedBytes: Self.body).json())
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

extension GatewayBench {
    /// The engine, the model gateway and the pipeline gateway, with the add/subtract model called by name and in
    /// a one-step and a three-step pipeline: the figures of each.
    func runPipelineGateway() async throws -> (model: Figures, oneStep: Figures, threeSteps: Figures) {
        let topics = TopicNames(prefix: "bench", namespace: "pg\(UInt32.random(in: 0...UInt32.max))")
        var engineConfiguration = DataflowConfiguration(bootstrapServers: [bootstrap], applicationID: "bench-engine-\(topics.namespace)", topics: topics)
        engineConfiguration.useLocalBrokerDefaults()
        engineConfiguration.streams.stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(topics.namespace)").path
        let engine = DataflowEngine(configuration: engineConfiguration, logger: logger)

        var models = ModelGatewayConfiguration(bootstrapServers: [bootstrap], groupID: "bench-modelgateway-\(topics.namespace)", topics: topics)
        models.useLocalBrokerDefaults()
        models.maxInFlightPerPartition = concurrency
        let modelGateway = ModelGateway(configuration: models, logger: logger)
        let server = ModelServer(name: "mlserver", endpoints: [mlserver])
        try await modelGateway.serve(["sum": server, "sum-b": server, "sum-c": server])

        var pipelines = PipelineGatewayConfiguration(bootstrapServers: [bootstrap], topics: topics)
        pipelines.useLocalBrokerDefaults()
        pipelines.httpPort = 0
        pipelines.grpcPort = nil
        let pipelineGateway = try PipelineGateway(configuration: pipelines, directory: engine, logger: logger)

        let running = [
            Task { try await engine.run() },
            Task { try await modelGateway.run() },
            Task { try await pipelineGateway.run() },
        ]
        let resources = try Resource.load(yaml: Self.pipelines(mlserver: mlserver), file: "gateway-bench.yaml")
        let applied = try await engine.apply(resources)
        let states = await engine.waitUntilSettled(applied.map(\.name))
        guard states.allSatisfy({ $0.status == .ready }) else { throw BenchError("pipelines not ready: \(states)") }
        let port = await pipelineGateway.listeningPorts().http
        let json = try InferenceRequest(serializedBytes: Self.body).json()

        var figures: [Figures] = []
        for (path, headers) in [("models/sum", [("seldon-model", "sum")]), ("pipelines/adder", []), ("pipelines/sum-chain", [])] {
            let (client, call) = httpCaller(url: "http://127.0.0.1:\(port)/v2/\(path)/infer", json: json, headers: headers)
            _ = try await closedLoop(count: min(200, requests), call)
            figures.append(try await closedLoop(count: requests, call))
            try await client.shutdown()
        }
        for task in running.reversed() {
            task.cancel()
            _ = try? await task.value
        }
        return (figures[0], figures[1], figures[2])
    }

    static func pipelines(mlserver: String) -> String { """
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Server
        metadata: {name: mlserver}
        spec: {endpoint: \(mlserver)}
        ---
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Model
        metadata: {name: sum}
        spec: {server: mlserver}
        ---
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Model
        metadata: {name: sum-b}
        spec: {server: mlserver}
        ---
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Model
        metadata: {name: sum-c}
        spec: {server: mlserver}
        ---
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Pipeline
        metadata: {name: adder}
        spec:
          steps: [{name: sum}]
          output: {steps: [sum]}
        ---
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Pipeline
        metadata: {name: sum-chain}
        spec:
          steps:
            - name: sum
            - name: sum-b
              inputs: [sum]
              tensorMap: {sum.outputs.OUTPUT0: INPUT0, sum.outputs.OUTPUT1: INPUT1}
            - name: sum-c
              inputs: [sum-b]
              tensorMap: {sum-b.outputs.OUTPUT0: INPUT0, sum-b.outputs.OUTPUT1: INPUT1}
          output: {steps: [sum-c]}
        """
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
