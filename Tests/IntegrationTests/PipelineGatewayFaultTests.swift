import Dataflow
import Foundation
import StreamKit
import Testing
@testable import Gateways

/// The pipeline gateway while the model server is killed mid-load and restarted: with a long timeout every
/// request is answered once the server is back; with a short one each gets 504 with its request id, and the
/// answers that come later are discarded without harm.
@Suite(.enabled(if: TestModelServer.shouldRun), .serialized)
struct PipelineGatewayFaultTests {
    typealias Sum = SumRequests

    @Test func aModelServerKilledMidLoadAndRestarted() async throws {
        let server = TestBroker.uniqueName("mlserver-pg")
        try await TestModelServer.with(server) { address in try await killAndRestart(server, address) }
    }

    func killAndRestart(_ server: String, _ address: String) async throws {
        let port = try #require(URL(string: address)?.port)
        let topics = TopicNames(prefix: "seldon", namespace: TestBroker.uniqueName("pgfault"))

        let engine = try DataflowEngineTests.engine(topics)
        let engineRun = Task { try await engine.run() }
        var models = ModelGatewayConfiguration(bootstrapServers: [try TestBroker.bootstrap()], groupID: TestBroker.uniqueName("modelgateway"), topics: topics)
        models.useLocalBrokerDefaults()
        models.commitInterval = .milliseconds(100)
        models.calls.healthCheckInterval = .milliseconds(100)
        let modelGateway = ModelGateway(configuration: models, logger: TestBroker.logger)
        try await modelGateway.serve(["sum": ModelServer(name: server, endpoints: [address])])
        let modelGatewayRun = Task { try await modelGateway.run() }
        let states = try await engine.apply(try DataflowEngineTests.resources("""
            apiVersion: mlops.seldon.io/v1alpha1
            kind: Model
            metadata:
              name: sum

            """ + DataflowEngineTests.pipeline("adder", """
            steps:
              - name: sum
            output:
              steps: [sum]
            """)))
        try #require(await engine.waitUntilSettled(states.map(\.name)).allSatisfy { $0.status == .ready })

        func gateway(timeout: Duration) async throws -> (GatewayClient, Task<Void, any Error>) {
            var configuration = PipelineGatewayConfiguration(
                bootstrapServers: [try TestBroker.bootstrap()], topics: topics
            )
            configuration.useLocalBrokerDefaults()
            configuration.httpPort = 0
            configuration.grpcPort = nil
            configuration.timeout = timeout
            return try await GatewayClient.start(try PipelineGateway(configuration: configuration, directory: engine, logger: TestBroker.logger))
        }
        let (patient, patientRun) = try await gateway(timeout: .seconds(120))
        let (impatient, impatientRun) = try await gateway(timeout: .seconds(2))
        #expect(try await patient.infer("adder", Sum.request(1)).status == 200)
        // A new gateway's first answer may take over 2 s on a loaded machine: warm it up, then count from there.
        var warm = try await impatient.infer("adder", Sum.request(1))
        for _ in 0..<10 where warm.status == 504 { warm = try await impatient.infer("adder", Sum.request(1)) }
        #expect(warm.status == 200, "\(warm.text)")
        func count(_ metric: String, _ labels: [String: String] = [:]) async throws -> Double {
            try await impatient.metric(metric, labels) ?? 0
        }
        // Every warm-up that timed out is answered late before the count starts.
        let settled = ContinuousClock.now + .seconds(60)
        while try await count("seldon_pipelinegateway_late_answers_total") < count("seldon_pipelinegateway_timeouts_total", ["name": "adder"]),
              ContinuousClock.now < settled {
            try await Task.sleep(for: .milliseconds(200))
        }
        let lateBefore = try await count("seldon_pipelinegateway_late_answers_total")
        let timeoutsBefore = try await count("seldon_pipelinegateway_timeouts_total", ["name": "adder"])

        try await TestModelServer.stop(server)
        func load(_ client: GatewayClient, _ prefix: String) -> Task<[String: GatewayClient.Reply], any Error> {
            Task {
                try await withThrowingTaskGroup(of: (String, GatewayClient.Reply).self) { group in
                    for value in Int32(0)..<50 {
                        group.addTask { ("\(prefix)-\(value)", try await client.infer("adder", Sum.request(value), headers: [("x-request-id", "\(prefix)-\(value)")])) }
                    }
                    return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
                }
            }
        }
        let patientLoad = load(patient, "patient")
        let impatientReplies = try await load(impatient, "impatient").value
        #expect(impatientReplies.count == 50)
        for (id, reply) in impatientReplies {
            #expect(reply.status == 504, "\(id): \(reply.text)")
            #expect(reply.requestID == id)
        }

        try await TestModelServer.start(server, httpPort: port)
        let patientReplies = try await patientLoad.value
        #expect(patientReplies.count == 50)
        for (id, reply) in patientReplies {
            let value = try #require(Int32(id.split(separator: "-").last ?? ""))
            #expect(reply.status == 200, "\(id): \(reply.text)")
            #expect(reply.requestID == id)
            if reply.status == 200 {
                #expect(Sum.outputs(try reply.response()) == ["OUTPUT0": .int32([value + 10, 3]), "OUTPUT1": .int32([value - 10, -1])])
            }
        }

        // The impatient gateway's requests were answered too, after their clients got 504: it drops those answers.
        var late: Double = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while late != 50, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            late = try await count("seldon_pipelinegateway_late_answers_total") - lateBefore
        }
        #expect(late == 50)
        #expect(try await count("seldon_pipelinegateway_timeouts_total", ["name": "adder"]) - timeoutsBefore == 50)
        let after = try await impatient.infer("adder", Sum.request(3))
        #expect(after.status == 200, "\(after.text)")
        #expect(try await impatient.metric("seldon_pipelinegateway_requests_in_flight") == 0)

        for task in [patientRun, impatientRun, modelGatewayRun, engineRun] {
            task.cancel()
            try? await task.value
        }
    }
}
