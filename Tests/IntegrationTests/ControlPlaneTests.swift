import AsyncHTTPClient
import Dataflow
import Foundation
import NIOCore
import NIOHTTP1
import StreamKit
import Testing
@testable import Gateways

/// The control plane on the real broker: resources applied through one instance's API reach every instance's
/// engine through the control topic, a new instance recovers them, deletions spread, bad YAML is refused with
/// file, line and field, and a configured token is required.
@Suite(.enabled(if: TestBroker.shouldRun), .serialized)
struct ControlPlaneTests {
    let topics = TopicNames(prefix: "seldon", namespace: TestBroker.uniqueName("control"))
    let applicationID = TestBroker.uniqueName("engine")

    /// One instance: an engine and its control plane and API.
    struct Instance {
        var engine: DataflowEngine
        var control: ControlPlane
        var url: String
        var tasks: [Task<Void, any Error>]

        func stop() async {
            for task in tasks.reversed() {
                task.cancel()
                _ = try? await task.value
            }
        }
    }

    func instance(token: String? = nil) async throws -> Instance {
        var engineConfiguration = DataflowConfiguration(bootstrapServers: [try TestBroker.bootstrap()], applicationID: applicationID, topics: topics)
        engineConfiguration.useLocalBrokerDefaults()
        engineConfiguration.streams.stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.uniqueName("state")).path
        let engine = DataflowEngine(configuration: engineConfiguration, logger: TestBroker.logger)
        var configuration = ControlConfiguration(bootstrapServers: [try TestBroker.bootstrap()], topics: topics)
        configuration.useLocalBrokerDefaults()
        configuration.port = 0
        configuration.authToken = token
        let control = try ControlPlane(configuration: configuration, deployment: LocalDeployment(engine: engine, modelGateway: nil), logger: TestBroker.logger)
        let api = ControlAPI(control: control, logger: TestBroker.logger)
        let tasks = [Task { try await engine.run() }, Task { try await control.run() }, Task { try await api.run() }]
        let url = "http://127.0.0.1:\(await api.listeningPort())"
        let deadline = ContinuousClock.now + .seconds(30)
        while await !control.isRecovered, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        return Instance(engine: engine, control: control, url: url, tasks: tasks)
    }

    func send(_ method: HTTPMethod, _ url: String, body: String? = nil, token: String? = nil) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        if let token { request.headers.add(name: "authorization", value: "Bearer \(token)") }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(90))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    static let chain = """
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Model
        metadata:
          name: sum

        """ + DataflowEngineTests.chain

    /// A pipeline `broken` with one step `sum` whose second line (line 8 of the document) is `stepLine`.
    static func broken(step stepLine: String) -> String {
        """
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Pipeline
        metadata:
          name: broken
        spec:
          steps:
            - name: sum
              \(stepLine)
          output:
            steps: [sum]
        """
    }

    func waitFor(_ engine: DataflowEngine, _ pipeline: String, _ status: PipelineStatus?) async throws -> PipelineStatus? {
        let deadline = ContinuousClock.now + .seconds(60)
        while await engine.state(of: pipeline)?.status != status, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        return await engine.state(of: pipeline)?.status
    }

    @Test func appliedResourcesReachEveryInstanceAndANewOneRecoversThem() async throws {
        let a = try await instance()
        let b = try await instance()
        let applied = try await send(.POST, a.url + "/v1/resources?file=chain.yaml", body: Self.chain)
        #expect(applied.status == 200, "\(applied.body)")
        #expect(applied.body.contains(#""name":"chain""#), "\(applied.body)")
        #expect(try await waitFor(b.engine, "chain", .ready) == .ready, "the other instance deploys it too")
        let client = ControlClient(baseURL: a.url, token: nil)
        let deadline = ContinuousClock.now + .seconds(30)
        var summary = try await client.pipeline("chain")
        while summary.status != "Ready" || summary.engines.count < 2, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            summary = try await client.pipeline("chain")
        }
        #expect(summary.status == "Ready" && summary.engines.count == 2, "aggregated over both engines: \(summary)")
        #expect(summary.engines.allSatisfy { $0.status == "Ready" }, "\(summary.engines)")
        let description = try await client.describe("chain")
        #expect(description.spec.contains("inputs: [chain.inputs]") && description.topology.contains("Sub-topology") && description.dot.hasPrefix("digraph"), "\(description)")
        #expect(await b.engine.hasModel(named: "sum"))

        let listed = try await send(.GET, b.url + "/v1/pipelines")
        #expect(listed.status == 200 && listed.body.contains(#""name":"chain""#), "\(listed.body)")

        await b.stop()
        let c = try await instance()
        #expect(try await waitFor(c.engine, "chain", .ready) == .ready, "a new instance recovers the pipelines from the control topic")

        let deleted = try await send(.DELETE, a.url + "/v1/pipelines/chain")
        #expect(deleted.status == 200, "\(deleted.body)")
        #expect(try await waitFor(c.engine, "chain", .terminated) == .terminated)
        #expect(try await send(.DELETE, a.url + "/v1/pipelines/chain").status == 404)
        await a.stop()
        await c.stop()
    }

    /// Ten aliases of ten aliases, nine levels deep: 10^9 nodes once expanded, from 1 KB of text.
    static let laughs = "a0: &a0 [lol]\n" + (1...9).map { level in
        "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
    }.joined()

    @Test func badYAMLIsRefusedWithFileLineAndFieldAndNothingIsWritten() async throws {
        let a = try await instance()
        let broken = try await send(.POST, a.url + "/v1/resources?file=broken.yaml", body: Self.broken(step: "inputs: [nowhere]"))
        #expect(broken.status == 400)
        #expect(broken.body.contains("broken.yaml:8"), "\(broken.body)")
        #expect(broken.body.contains("inputs"), "\(broken.body)")
        let syntax = try await send(.POST, a.url + "/v1/resources?file=syntax.yaml", body: "kind: [unclosed\n")
        #expect(syntax.status == 400 && syntax.body.contains("syntax.yaml:"), "\(syntax.body)")
        let laughs = try await send(.POST, a.url + "/v1/resources?file=laughs.yaml", body: Self.laughs)
        #expect(laughs.status == 400 && laughs.body.contains("laughs.yaml:") && laughs.body.contains("aliases"), "\(laughs.body)")
        let deep = try await send(.POST, a.url + "/v1/resources?file=deep.yaml", body: "kind: " + String(repeating: "[", count: 1 << 20))
        #expect(deep.status == 400 && deep.body.contains("deep.yaml:1:"), "\(deep.body)")
        let outside = try await send(.POST, a.url + "/v1/resources?file=outside.yaml", body: """
            apiVersion: mlops.seldon.io/v1alpha1
            kind: Model
            metadata:
              name: secrets
            spec:
              storageUri: file:///etc
            """)
        #expect(outside.status == 400 && outside.body.contains("outside.yaml:6") && outside.body.contains("outside the model roots"), "\(outside.body)")
        #expect(await a.control.desired.entries.isEmpty)
        await a.stop()
    }

    @Test func aConfiguredTokenIsRequired() async throws {
        let a = try await instance(token: "s3cret")
        #expect(try await send(.GET, a.url + "/v1/pipelines").status == 401)
        #expect(try await send(.GET, a.url + "/v1/pipelines", token: "wrong").status == 401)
        #expect(try await send(.GET, a.url + "/v1/pipelines", token: "s3cret").status == 200)
        await a.stop()
    }
}
