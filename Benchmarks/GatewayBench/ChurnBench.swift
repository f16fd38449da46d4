import ArgumentParser
import AsyncHTTPClient
import Dataflow
import Foundation
import Gateways
import Histogram
import Logging
import NIOCore
import StreamKit

/// Pipelines deployed while another serves: one steady one-step pipeline receives requests at a fixed rate
/// through the pipeline gateway, first for a quiet phase, then while other pipelines are applied, updated and
/// deleted every two seconds. Then many pipelines are applied at once.
///
/// Reported per phase: requests answered and failed (no 200 within the timeout), latency percentiles, the longest
/// stretch without an answer; during churn, the time from apply to Ready. For the burst: the time until every
/// pipeline is Ready and the process's resident memory before and after.
struct ChurnBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "churn")

    @Option var bootstrap: String
    @Option(help: "MLServer's REST base URL (serving the add10 and mul10 test models).") var mlserver: String
    @Option(help: "Requests per second to the steady pipeline.") var rate = 40
    @Option(help: "Seconds of the quiet phase.") var quiet = 20
    @Option(help: "Seconds of the churn phase.") var churn = 60
    @Option(help: "Seconds between two changes during churn.") var every = 2.0
    @Option(help: "Pipelines applied at once at the end.") var burst = 50
    @Option(help: "Seconds a request may take before it counts as failed.") var timeout = 10

    /// What one request did: when it was answered (or failed) and how long it took.
    struct Outcome: Sendable {
        var sent: ContinuousClock.Instant
        var answered: ContinuousClock.Instant?
        var latency: Duration
    }

    func run() async throws {
        let topics = TopicNames(prefix: "bench", namespace: "churn\(UInt32.random(in: 0...UInt32.max))")
        var engineConfiguration = DataflowConfiguration(bootstrapServers: [bootstrap], applicationID: "bench-engine-\(topics.namespace)", topics: topics)
        engineConfiguration.useLocalBrokerDefaults()
        engineConfiguration.streams.stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(topics.namespace)").path
        let engine = DataflowEngine(configuration: engineConfiguration, logger: logger)
        var models = ModelGatewayConfiguration(bootstrapServers: [bootstrap], groupID: "bench-modelgateway-\(topics.namespace)", topics: topics)
        models.useLocalBrokerDefaults()
        let modelGateway = ModelGateway(configuration: models, logger: logger)
        let server = ModelServer(name: "mlserver", endpoints: [mlserver])
        try await modelGateway.serve(["add10": server, "mul10": server])
        var pipelines = PipelineGatewayConfiguration(bootstrapServers: [bootstrap], topics: topics)
        pipelines.useLocalBrokerDefaults()
        pipelines.httpPort = 0
        pipelines.grpcPort = nil
        let pipelineGateway = try PipelineGateway(configuration: pipelines, directory: engine, logger: logger)
        let running = [Task { try await engine.run() }, Task { try await modelGateway.run() }, Task { try await pipelineGateway.run() }]

        _ = try await applyAndWait(engine, [Self.pipeline("steady", "add10")])
        let port = await pipelineGateway.listeningPorts().http
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        let url = "http://127.0.0.1:\(port)/v2/pipelines/steady/infer"
        let json = try InferenceRequest(id: "", inputs: [InferenceTensor(name: "INPUT", shape: [4], contents: .fp32([1, 2, 3, 4]))]).json()
        // Warm up until the gateway answers.
        for _ in 0..<50 { if (try? await call(client, url, json)) != nil { break }; try await Task.sleep(for: .milliseconds(200)) }

        let quietOutcomes = try await load(client, url, json, seconds: quiet)
        let changes = Task { try await self.churnChanges(engine) }
        let churnOutcomes = try await load(client, url, json, seconds: churn)
        changes.cancel()
        let readyTimes = try await changes.value

        print("phase   requests  answered  failed   p50 ms   p99 ms   max ms  longest gap ms")
        report("quiet", quietOutcomes)
        report("churn", churnOutcomes)
        var ready = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        for time in readyTimes { ready.record(UInt64(time.nanoseconds / 1000)) }
        print(String(format: "apply -> Ready during churn (%d pipelines): p50 %.0f ms, p99 %.0f ms, max %.0f ms",
                     readyTimes.count, ms(ready.valueAtPercentile(50)), ms(ready.valueAtPercentile(99)), ms(ready.max)))
        let quietP99 = percentile(quietOutcomes, 99)
        let churnP99 = percentile(churnOutcomes, 99)
        print(String(format: "churn p99 / quiet p99: %.2f", churnP99 / max(quietP99, 0.001)))

        let rssBefore = Self.residentMegabytes()
        let burstStart = ContinuousClock.now
        let names = (0..<burst).map { "burst\($0)" }
        _ = try await applyAndWait(engine, names.enumerated().map { Self.pipeline($1, $0.isMultiple(of: 2) ? "add10" : "mul10") })
        let burstTime = ContinuousClock.now - burstStart
        let rssAfter = Self.residentMegabytes()
        print(String(format: "%d pipelines applied at once: all Ready after %.1f s; RSS %.0f MB before, %.0f MB after (%d pipelines running)",
                     burst, Double(burstTime.nanoseconds) / 1e9, rssBefore, rssAfter, await engine.pipelines().filter { $0.status == .ready }.count))

        try await client.shutdown()
        for task in running.reversed() {
            task.cancel()
            _ = try? await task.value
        }
    }

    private func ms(_ microseconds: UInt64) -> Double { Double(microseconds) / 1000 }

    private func percentile(_ outcomes: [Outcome], _ p: Double) -> Double {
        let latencies = outcomes.filter { $0.answered != nil }.map { Double($0.latency.nanoseconds) / 1e6 }.sorted()
        guard !latencies.isEmpty else { return 0 }
        return latencies[min(latencies.count - 1, Int(Double(latencies.count) * p / 100))]
    }

    private func report(_ phase: String, _ outcomes: [Outcome]) {
        let answered = outcomes.filter { $0.answered != nil }
        let times = answered.compactMap(\.answered).sorted()
        let gap = zip(times, times.dropFirst()).map { $1 - $0 }.max() ?? .zero
        let max = answered.map { Double($0.latency.nanoseconds) / 1e6 }.max() ?? 0
        print(String(format: "%@ %9d %9d %7d %8.1f %8.1f %8.1f %15.0f", phase.padding(toLength: 6, withPad: " ", startingAt: 0),
                     outcomes.count, answered.count, outcomes.count - answered.count,
                     percentile(outcomes, 50), percentile(outcomes, 99), max, Double(gap.nanoseconds) / 1e6))
    }

    /// Sends requests at the fixed rate for `seconds` (open loop: each at its time, whatever the others do).
    private func load(_ client: HTTPClient, _ url: String, _ json: [UInt8], seconds: Int) async throws -> [Outcome] {
        let start = ContinuousClock.now
        let interval = Duration.seconds(1) / rate
        return await withTaskGroup(of: Outcome.self) { group in
            for index in 0..<(rate * seconds) {
                let due = start + interval * index
                try? await Task.sleep(until: due, clock: .continuous)
                group.addTask {
                    let sent = ContinuousClock.now
                    let ok = (try? await call(client, url, json)) != nil
                    let now = ContinuousClock.now
                    return Outcome(sent: sent, answered: ok ? now : nil, latency: now - sent)
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
    }

    private func call(_ client: HTTPClient, _ url: String, _ json: [UInt8]) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(json)
        let response = try await client.execute(request, timeout: .seconds(Int64(timeout)))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else { throw BenchError("\(response.status): \(String(buffer: body))") }
    }

    /// Every `every` seconds: applies a new pipeline, updates the one before and deletes the one three before;
    /// returns each new pipeline's time from apply to Ready.
    private func churnChanges(_ engine: DataflowEngine) async throws -> [Duration] {
        var readyTimes: [Duration] = []
        var index = 0
        var waits: [Task<Duration?, Never>] = []
        while !Task.isCancelled {
            let tick = ContinuousClock.now
            let name = "churn\(index)"
            let applied = ContinuousClock.now
            _ = try? await engine.apply(try Resource.load(yaml: Self.pipeline(name, index.isMultiple(of: 2) ? "add10" : "mul10"), file: "churn.yaml"))
            let wait = Task<Duration?, Never> {
                let states = await engine.waitUntilSettled([name], timeout: .seconds(60))
                return states.first?.status == .ready ? ContinuousClock.now - applied : nil
            }
            waits.append(wait)
            if index >= 1 {
                _ = try? await engine.apply(try Resource.load(yaml: Self.pipeline("churn\(index - 1)", index.isMultiple(of: 2) ? "add10" : "mul10"), file: "churn.yaml"))
            }
            if index >= 3 { await engine.delete("churn\(index - 3)") }
            index += 1
            try? await Task.sleep(until: tick + .seconds(every), clock: .continuous)
        }
        for wait in waits { if let time = await wait.value { readyTimes.append(time) } }
        return readyTimes
    }

    private func applyAndWait(_ engine: DataflowEngine, _ yamls: [String]) async throws -> [PipelineState] {
        let applied = try await engine.apply(try Resource.load(yaml: yamls.joined(separator: "\n---\n"), file: "churn.yaml"))
        let states = await engine.waitUntilSettled(applied.map(\.name), timeout: .seconds(300))
        guard states.allSatisfy({ $0.status == .ready }) else { throw BenchError("pipelines not ready: \(states.filter { $0.status != .ready })") }
        return states
    }

    static func pipeline(_ name: String, _ model: String) -> String {
        """
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Model
        metadata: {name: \(model)}
        ---
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Pipeline
        metadata: {name: \(name)}
        spec:
          steps: [{name: \(model)}]
          output: {steps: [\(model)]}
        """
    }

    static func residentMegabytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kilobytes / 1024
    }
}
