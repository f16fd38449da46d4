import Dataflow
import Foundation
import GRPCCore
import StreamKit
import Testing
@testable import Gateways

/// The pipeline gateway over the engine, the model gateway and real MLServer models (every example of
/// `topologies/` deployed by ``PipelineFixture``): synchronous HTTP and gRPC requests through pipelines and
/// models, bad input, readiness, metrics and inspect.
@Suite(.enabled(if: TestModelServer.shouldRun))
struct PipelineGatewayTests {
    typealias Sum = SumRequests

    @Test func restThroughOneStepAndThreeStepPipelinesKeepsRequestIDsAndClientHeaders() async throws {
        let client = try await GatewayFixture.shared.value.client
        let one = try await client.infer("adder", Sum.request(5), headers: [("x-request-id", "gw-rest-1"), ("x-client", "abc")])
        #expect(one.status == 200, "\(one.text)")
        #expect(one.requestID == "gw-rest-1")
        #expect(one.headers.first(name: "x-client") == "abc", "client x-* headers come back")
        let response = try one.response()
        #expect(response.id == "gw-rest-1")
        #expect(Sum.outputs(response) == ["OUTPUT0": .int32([15, 3]), "OUTPUT1": .int32([-5, -1])])

        // Seldon's form, and no request id: one is made up and returned.
        let three = try await client.post(
            "/v2/models/sum-chain/infer", try Sum.request(1, 3).json(), headers: [("seldon-model", "sum-chain.pipeline")]
        )
        #expect(three.status == 200, "\(three.text)")
        #expect(Int(three.headers.first(name: "x-pipeline-version") ?? "") ?? 0 >= 1, "the pipeline's version comes back, as from Seldon")
        let meshInternal = try await client.post(
            "/v2/models/sum-chain/infer", try Sum.request(1, 3).json(), headers: [("seldon-internal-model", "sum-chain.pipeline")]
        )
        #expect(meshInternal.status == 200, "Seldon's mesh-internal header names the target too: \(meshInternal.text)")
        let id = try #require(three.requestID)
        #expect(!id.isEmpty)
        #expect(try three.response().id == id)
        #expect(Sum.outputs(try three.response()) == ["OUTPUT0": .int32([8, 6]), "OUTPUT1": .int32([-4, -2])])
    }

    @Test func aModelIsCalledOnItsServerDirectlyNotThroughItsTopics() async throws {
        let client = try await GatewayFixture.shared.value.client
        let id = TestBroker.uniqueName("direct")
        let reply = try await client.post("/v2/models/sum/infer", try Sum.request(7).json(), headers: [("seldon-model", "sum"), ("x-request-id", id)])
        #expect(reply.status == 200, "\(reply.text)")
        #expect(reply.requestID == id)
        #expect(Sum.outputs(try reply.response()) == ["OUTPUT0": .int32([17, 3]), "OUTPUT1": .int32([-3, -1])])
        var message = Sum.request(8).protobuf()
        message.modelName = "sum.model"
        let grpc = try await client.grpcInfer(message).get()
        #expect(Sum.outputs(try InferenceResponse(protobuf: grpc.0)) == ["OUTPUT0": .int32([18, 3]), "OUTPUT1": .int32([-2, -1])])
        let failed = try await client.post("/v2/models/sum/infer", try Self.floats().json(), headers: [("seldon-model", "sum")])
        #expect(failed.status == 400, "the server's refusal comes back as it: \(failed.text)")
        #expect(failed.error?.hasPrefix("sum : ") == true, "\(failed.text)")
        let topics = try await PipelineFixture.shared.value.topics
        #expect(try await Self.requestIDs(on: topics.modelInputs("sum")).contains(id) == false, "the direct call went through Kafka")
    }

    @Test func withModelCallsThroughKafkaAModelIsReachedThroughItsTopics() async throws {
        let fixture = try await GatewayFixture.shared.value
        let (client, running) = try await fixture.extraGateway { $0.callsModelsDirectly = false }
        let id = TestBroker.uniqueName("through-kafka")
        let reply = try await client.post("/v2/models/sum/infer", try Sum.request(7).json(), headers: [("seldon-model", "sum"), ("x-request-id", id)])
        #expect(reply.status == 200, "\(reply.text)")
        #expect(Sum.outputs(try reply.response()) == ["OUTPUT0": .int32([17, 3]), "OUTPUT1": .int32([-3, -1])])
        let failed = try await client.post("/v2/models/sum/infer", try Self.floats().json(), headers: [("seldon-model", "sum")])
        #expect(failed.status == 400)
        #expect(failed.error?.hasPrefix("sum : ") == true, "\(failed.text)")
        let topics = try await PipelineFixture.shared.value.topics
        #expect(try await Self.requestIDs(on: topics.modelInputs("sum")).contains(id), "the request went through the model's topic")
        running.cancel()
        try? await running.value
    }

    /// The `x-request-id` of every record on `topic` so far.
    static func requestIDs(on topic: String) async throws -> Set<String> {
        let consumer = try TestBroker.consumer()
        var ids: Set<String> = []
        do {
            let partitions = TestBroker.partitions(topic, count: 4)
            let ends = try await consumer.watermarks(partitions)
            try await consumer.assign(partitions.map { TopicPartitionOffset($0, offset: KafkaConsumer.beginning) })
            var remaining = Set(partitions.filter { (ends[$0]?.high ?? 0) > 0 })
            let deadline = ContinuousClock.now + .seconds(30)
            while !remaining.isEmpty, ContinuousClock.now < deadline {
                for record in try await consumer.poll(maxRecords: 1000, timeout: .milliseconds(100)) {
                    if let id = record.headers.string("x-request-id") { ids.insert(id) }
                    if record.offset + 1 >= ends[record.topicPartition]?.high ?? 0 { remaining.remove(record.topicPartition) }
                }
            }
            #expect(remaining.isEmpty, "\(topic) read to its end")
        } catch {
            await consumer.close()
            throw error
        }
        await consumer.close()
        return ids
    }

    @Test func grpcThroughOneStepAndThreeStepPipelines() async throws {
        let client = try await GatewayFixture.shared.value.client
        var request = Sum.request(5).protobuf()
        request.modelName = "adder"
        let one = try await client.grpcInfer(request, metadata: ["x-request-id": "gw-grpc-1", "x-client": "abc"]).get()
        #expect(one.1[stringValues: "x-request-id"].map { $0 } == ["gw-grpc-1"])
        #expect(one.1[stringValues: "x-client"].map { $0 } == ["abc"])
        #expect(Sum.outputs(try InferenceResponse(protobuf: one.0)) == ["OUTPUT0": .int32([15, 3]), "OUTPUT1": .int32([-5, -1])])

        request = Sum.request(1, 3).protobuf()
        request.modelName = "sum-chain.pipeline"
        let three = try await client.grpcInfer(request).get()
        #expect(!(three.1[stringValues: "x-request-id"].map { $0 }.first ?? "").isEmpty)
        #expect(Sum.outputs(try InferenceResponse(protobuf: three.0)) == ["OUTPUT0": .int32([8, 6]), "OUTPUT1": .int32([-4, -2])])

        // Readiness and metadata.
        #expect(try await client.service.serverLive(Inference_ServerLiveRequest()).live)
        #expect(try await client.service.serverReady(Inference_ServerReadyRequest()).ready)
        var ready = Inference_ModelReadyRequest()
        ready.name = "adder"
        #expect(try await client.service.modelReady(ready).ready)
        var metadata = Inference_ModelMetadataRequest()
        metadata.name = "sum-chain.pipeline"
        let described = try await client.service.modelMetadata(metadata)
        #expect(described.name == "sum-chain" && described.versions == ["1"])
        #expect(try await client.service.serverMetadata(Inference_ServerMetadataRequest()).name == "swift-dataflow")
    }

    @Test func grpcFailuresCarryTheMatchingStatus() async throws {
        let client = try await GatewayFixture.shared.value.client
        var unknown = Sum.request(1).protobuf()
        unknown.modelName = "no-such-pipeline"
        let missing = try #require(try await client.grpcInfer(unknown).failure)
        #expect(missing.code == .notFound && missing.message == "pipeline no-such-pipeline not found")

        var badShape = Sum.request(1).protobuf()
        badShape.modelName = "adder"
        badShape.inputs[0].shape = [1, 3]
        let invalid = try #require(try await client.grpcInfer(badShape).failure)
        #expect(invalid.code == .invalidArgument)
        #expect(invalid.message.contains("shape [1, 3] needs 3 INT32 elements, found 2"), "\(invalid.message)")

        var modelError = Self.floats().protobuf()
        modelError.modelName = "adder"
        let refused = try #require(try await client.grpcInfer(modelError, metadata: ["x-request-id": "gw-grpc-err"]).failure)
        #expect(refused.code == .invalidArgument && refused.message.hasPrefix("sum : "), "\(refused)")
        #expect(refused.metadata[stringValues: "x-request-id"].map { $0 } == ["gw-grpc-err"])

        var notThere = Inference_ModelReadyRequest()
        notThere.name = "no-such-pipeline"
        await #expect(throws: RPCError.self) { try await client.service.modelReady(notThere) }
    }

    @Test func twoHundredConcurrentRequestsAreEachAnsweredWithTheirOwnResult() async throws {
        let client = try await GatewayFixture.shared.value.client
        let replies = try await withThrowingTaskGroup(of: (Int32, GatewayClient.Reply).self) { group in
            for value in Int32(0)..<200 {
                group.addTask {
                    let target = value.isMultiple(of: 2) ? "adder" : "sum-chain"
                    return (value, try await client.infer(target, Sum.request(value), headers: [("x-request-id", "gw-many-\(value)")]))
                }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(replies.count == 200)
        for (value, reply) in replies.sorted(by: { $0.key < $1.key }) {
            #expect(reply.status == 200, "\(value): \(reply.text)")
            #expect(reply.requestID == "gw-many-\(value)")
            let expected: [String: TensorContents] = value.isMultiple(of: 2)
                ? ["OUTPUT0": .int32([value + 10, 3]), "OUTPUT1": .int32([value - 10, -1])]
                : ["OUTPUT0": .int32([2 * value + 20, 6]), "OUTPUT1": .int32([2 * value - 20, -2])]
            #expect(Sum.outputs(try reply.response()) == expected, "\(value)")
        }
    }

    @Test func badRequestsGetTheirStatusAndSayWhatIsWrong() async throws {
        let fixture = try await GatewayFixture.shared.value
        let client = fixture.client
        let badJSON = try await client.post("/v2/pipelines/adder/infer", Array(#"{"inputs": [{"name": "INPUT0", "#.utf8))
        #expect(badJSON.status == 400)
        #expect(badJSON.error?.hasPrefix("invalid request: not valid JSON") == true, "\(badJSON.text)")

        let missingField = try await client.post("/v2/pipelines/adder/infer", Array(#"{"inputs": [{"name": "INPUT0", "datatype": "INT32", "data": [1]}]}"#.utf8))
        #expect(missingField.status == 400)
        #expect(missingField.error == "invalid request: missing field 'shape' in inputs[0]", "\(missingField.text)")

        let badShape = try await client.post(
            "/v2/pipelines/adder/infer", Array(#"{"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 3], "data": [1, 2]}]}"#.utf8)
        )
        #expect(badShape.status == 400)
        #expect(badShape.error == "invalid request: tensor 'INPUT0': shape [1, 3] needs 3 INT32 elements, found 2", "\(badShape.text)")

        let badDatatype = try await client.post(
            "/v2/pipelines/adder/infer", Array(#"{"inputs": [{"name": "INPUT0", "datatype": "INT33", "shape": [1], "data": [1]}]}"#.utf8)
        )
        #expect(badDatatype.status == 400)
        #expect(badDatatype.error?.hasPrefix("invalid request: tensor 'INPUT0': unknown datatype 'INT33'") == true, "\(badDatatype.text)")

        let wrongData = try await client.post(
            "/v2/pipelines/adder/infer", Array(#"{"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1], "data": ["x"]}]}"#.utf8)
        )
        #expect(wrongData.status == 400)
        #expect(wrongData.error?.contains("INPUT0") == true, "\(wrongData.text)")

        let unknown = try await client.infer("no-such-pipeline", Sum.request(1))
        #expect(unknown.status == 404)
        #expect(unknown.error == "pipeline no-such-pipeline not found")

        let unknownModel = try await client.post("/v2/models/x/infer", try Sum.request(1).json(), headers: [("seldon-model", "no-such-model")])
        #expect(unknownModel.status == 404)
        #expect(unknownModel.error == "model no-such-model not found")

        let limit = fixture.gateway.configuration.maxRequestBytes
        let large = InferenceRequest(inputs: [InferenceTensor(name: "INPUT0", shape: [Int64(limit)], contents: .int32(Array(repeating: 1, count: limit)))])
        let oversized = try await client.infer("adder", large, headers: [("x-request-id", "gw-large")])
        #expect(oversized.status == 413)
        #expect(oversized.error == "the request body is larger than \(limit) bytes", "\(oversized.text)")
        #expect(oversized.requestID == "gw-large")

        let modelError = try await client.infer("adder", Self.floats(), headers: [("x-request-id", "gw-model-error")])
        #expect(modelError.status == 400)
        #expect(modelError.requestID == "gw-model-error")
        #expect(modelError.error == "sum : INPUT0 and INPUT1 must be INT32, got float32 and float32", "\(modelError.text)")
    }

    @Test func readinessPerPipelineAndServer() async throws {
        let fixture = try await GatewayFixture.shared.value
        let client = fixture.client
        let ready = try await client.get("/v2/pipelines/adder/ready")
        #expect(ready.status == 200, "\(ready.text)")
        #expect(try await client.get("/v2/pipelines/no-such-pipeline/ready").status == 404)
        #expect(try await client.get("/v2/health/live").status == 200)
        #expect(try await client.get("/v2/health/ready").status == 200)

        // A pipeline whose input topic has another partition count than the rest cannot run: it is Failed.
        let broken = "broken-\(UUID().uuidString.prefix(6).lowercased())"
        try await TestBroker.createTopic(fixture.topics.pipelineInputs(broken), partitions: 2)
        _ = try await fixture.engine.apply(try DataflowEngineTests.resources(DataflowEngineTests.pipeline(broken, """
              steps:
                - name: add10
              output:
                steps: [add10]
            """)))
        let notReady = try await client.get("/v2/pipelines/\(broken)/ready")
        #expect(notReady.status == 503, "\(notReady.text)")
        #expect(notReady.text.contains("Failed"), "\(notReady.text)")
        let refused = try await client.infer(broken, Sum.request(1))
        #expect(refused.status == 503)
        #expect(refused.error?.hasPrefix("pipeline \(broken) is not ready: Failed") == true, "\(refused.text)")
    }

    @Test func metricsCountRequestsLatenciesAndErrors() async throws {
        let client = try await GatewayFixture.shared.value.client
        _ = try await client.infer("join-inner", InferenceRequest(inputs: [InferenceTensor(name: "INPUT", shape: [4], contents: .fp32([1, 2, 3, 4]))]))
        _ = try await client.infer("join-inner", InferenceRequest(inputs: [InferenceTensor(name: "INPUT", shape: [4], contents: .fp32([1, 2, 3, 4]))]))
        _ = try await client.infer("no-such-metrics-pipeline", Sum.request(1))
        let ok = try await client.metric("seldon_pipelinegateway_requests_total", ["name": "join-inner", "code": "200", "target": "pipeline"])
        #expect(ok == 2)
        let latencies = try await client.metric("seldon_pipelinegateway_request_duration_seconds_count", ["name": "join-inner"])
        #expect(latencies == 2)
        #expect(try await client.metric("seldon_pipelinegateway_errors_total", ["name": "no-such-metrics-pipeline", "code": "404"]) == 1)
        #expect(try await client.metric("seldon_pipelinegateway_requests_in_flight") != nil)

        // Seldon Core 2's names and labels, for its dashboards.
        var message = InferenceRequest(inputs: [InferenceTensor(name: "INPUT", shape: [4], contents: .fp32([1, 2, 3, 4]))]).protobuf()
        message.modelName = "join-inner.pipeline"
        _ = try await client.grpcInfer(message).get()
        let seldon = ["server": "pipeline-gateway", "pipeline": "join-inner", "code": "200"]
        #expect(try await client.metric("seldon_pipeline_infer_total", seldon.merging(["method_type": "rest"]) { $1 }) == 2)
        #expect(try await client.metric("seldon_pipeline_infer_total", seldon.merging(["method_type": "grpc"]) { $1 }) == 1)
        #expect(try await client.metric("seldon_pipeline_infer_seconds_total", seldon.merging(["method_type": "rest"]) { $1 }) ?? 0 > 0)
        #expect(try await client.metric("seldon_pipeline_infer_total", ["pipeline": "no-such-metrics-pipeline", "code": "404"]) == 1)
        #expect(try await client.metric("seldon_pipeline_aggregate_infer_total", ["server": "pipeline-gateway", "method_type": "grpc"]) ?? 0 >= 1)
        #expect(try await client.metric("seldon_pipeline_infer_api_seconds_count", ["method": "rest", "code": "200"]) ?? 0 >= 2)
    }

    /// Seldon's `pipeline-inputs` sample: both steps answer `OUTPUT`, and the answer holds both in step order.
    @Test func sameNamedOutputsOfTwoStepsAreBothAnsweredOverRESTAndGRPC() async throws {
        let client = try await GatewayFixture.shared.value.client
        let request = InferenceRequest(inputs: [
            InferenceTensor(name: "INPUT0", shape: [4], contents: .fp32([1, 2, 3, 4])),
            InferenceTensor(name: "INPUT1", shape: [4], contents: .fp32([1, 2, 3, 4])),
        ])
        let reply = try await client.infer("pipeline-inputs", request)
        #expect(reply.status == 200, "\(reply.text)")
        let outputs = try reply.response().outputs
        #expect(outputs.map(\.name) == ["OUTPUT", "OUTPUT"] && outputs.map(\.contents) == [.fp32([10, 20, 30, 40]), .fp32([11, 12, 13, 14])], "\(reply.text)")
        var message = request.protobuf()
        message.modelName = "pipeline-inputs.pipeline"
        let grpc = try InferenceResponse(protobuf: try await client.grpcInfer(message).get().0)
        #expect(grpc.outputs.map(\.contents) == [.fp32([10, 20, 30, 40]), .fp32([11, 12, 13, 14])])
    }

    /// `chain-detector` has no output: its step runs on chain's requests, and nobody can wait for its answer.
    @Test func aPipelineWithoutOutputRunsOnItsSourceAndRefusesSynchronousRequests() async throws {
        let client = try await GatewayFixture.shared.value.client
        let input = InferenceRequest(inputs: [InferenceTensor(name: "INPUT", shape: [4], contents: .fp32([1, 2, 3, 4]))])
        let refused = try await client.infer("chain-detector", input)
        #expect(refused.status == 400 && refused.error?.contains("has no output") == true, "\(refused.text)")
        #expect(try await client.get("/v2/pipelines/chain-detector/ready").status == 200, "Ready: its step runs")

        #expect(try await client.infer("chain", input, headers: [("x-request-id", "gw-detector-1")]).status == 200)
        var places: [String] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while !places.contains("identity.outputs"), ContinuousClock.now < deadline {
            let report = try await client.get("/v2/pipelines/chain-detector/requests/gw-detector-1")
            let records = (try? JSONSerialization.jsonObject(with: Data(report.body)) as? [String: Any])?["records"] as? [[String: Any]] ?? []
            places = records.map { "\($0["step"] as? String ?? "chain-detector").\($0["side"] as? String ?? "?")" }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(places == ["chain-detector.inputs", "identity.inputs", "identity.outputs"], "its step answered chain's request")
    }

    /// As `seldon pipeline inspect --offset N`: the last N records of the pipeline on each of its topics.
    @Test func theLastRecordsOfEachTopicOfAPipeline() async throws {
        let fixture = try await GatewayFixture.shared.value
        let client = fixture.client
        // A pipeline of its own: the shared ones take other tests' requests meanwhile.
        let name = "recent-\(UUID().uuidString.prefix(6).lowercased())"
        let states = await fixture.engine.waitUntilSettled(try await fixture.engine.apply(try DataflowEngineTests.resources(
            DataflowEngineTests.pipeline(name, "steps:\n  - name: add10\noutput:\n  steps: [add10]")
        )).map(\.name))
        #expect(states.map(\.status) == [.ready])
        let input = InferenceRequest(inputs: [InferenceTensor(name: "INPUT", shape: [4], contents: .fp32([1, 2, 3, 4]))])
        var answered = try await client.infer(name, input, headers: [("x-request-id", "gw-recent-1")])
        let deadline = ContinuousClock.now + .seconds(60)
        while answered.status == 503, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            answered = try await client.infer(name, input, headers: [("x-request-id", "gw-recent-1")])
        }
        #expect(answered.status == 200, "\(answered.text)")
        for id in ["gw-recent-2", "gw-recent-3"] {
            #expect(try await client.infer(name, input, headers: [("x-request-id", id)]).status == 200)
        }
        let reply = try await client.get("/v2/pipelines/\(name)/messages?last=2")
        #expect(reply.status == 200, "\(reply.text)")
        let records = (try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any])?["records"] as? [[String: Any]] ?? []
        let places = records.map { "\($0["step"] as? String ?? name).\($0["side"] as? String ?? "?")" }
        #expect(places == ["\(name).inputs", "\(name).inputs", "add10.inputs", "add10.inputs", "add10.outputs", "add10.outputs",
                           "\(name).outputs", "\(name).outputs"], "\(places)")
        let ids = records.compactMap { ($0["headers"] as? [String: String])?["x-request-id"] }
        #expect(ids == Array(repeating: ["gw-recent-2", "gw-recent-3"], count: 4).flatMap { $0 }, "the latest two on each topic, in order: \(ids)")
        #expect(records.allSatisfy { ($0["headers"] as? [String: String])?["pipeline"] == name }, "other pipelines' records on the shared model topics are left out")
        #expect(try await client.get("/v2/pipelines/\(name)/messages?last=0").status == 400)
        #expect(try await client.get("/v2/pipelines/no-such/messages").status == 404)
    }

    @Test func inspectShowsEveryRecordOfARequestInOrder() async throws {
        let client = try await GatewayFixture.shared.value.client
        let input = InferenceRequest(inputs: [InferenceTensor(name: "INPUT", shape: [4], contents: .fp32([1, 2, 3, 4]))])
        let trace = [("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), ("tracestate", "vendor=abc")]
        let reply = try await client.infer("chain", input, headers: [("x-request-id", "gw-inspect-1")] + trace)
        #expect(reply.status == 200, "\(reply.text)")
        let report = try await client.get("/v2/pipelines/chain/requests/gw-inspect-1")
        #expect(report.status == 200, "\(report.text)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.body)) as? [String: Any])
        let records = try #require(json["records"] as? [[String: Any]])
        let places = records.map { "\($0["step"] as? String ?? "chain").\($0["side"] as? String ?? "?")" }
        #expect(places == ["chain.inputs", "add10.inputs", "add10.outputs", "mul10.inputs", "mul10.outputs", "chain.outputs"], "\(report.text)")
        for record in records {
            let headers = record["headers"] as? [String: String] ?? [:]
            #expect(trace.allSatisfy { headers[$0.0] == $0.1 }, "the W3C trace context travels on every topic: \(record)")
        }
        let last = try #require(records.last?["response"] as? [String: Any])
        let outputs = try #require(last["outputs"] as? [[String: Any]])
        #expect(outputs.first?["data"] as? [Double] == [110, 120, 130, 140])
        #expect(try await client.get("/v2/pipelines/no-such-pipeline/requests/x").status == 404)
    }

    @Test func aShorterTimeoutAnswers504WithTheRequestIDAndTheLateAnswerIsDiscarded() async throws {
        let fixture = try await GatewayFixture.shared.value
        let (client, running) = try await fixture.extraGateway { $0.timeout = .milliseconds(800) }
        // join-outer answers only when its 2 s window closes.
        let request = InferenceRequest(inputs: [
            InferenceTensor(name: "CHOICE", shape: [1, 1], contents: .int32([0])),
            InferenceTensor(name: "INPUT", shape: [4], contents: .fp32([1, 2, 3, 4])),
        ])
        let started = ContinuousClock.now
        let reply = try await client.infer("join-outer", request, headers: [("x-request-id", "gw-timeout-1")])
        #expect(reply.status == 504, "\(reply.text)")
        #expect(reply.requestID == "gw-timeout-1")
        #expect(reply.error == "no answer within 800ms")
        // The 800 ms timeout answered, not a later one; on two loaded cores its timer fired 5.3 s late once.
        #expect(ContinuousClock.now - started < .seconds(20))
        var late: Double?
        let deadline = ContinuousClock.now + .seconds(30)
        while late != 1, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            late = try await client.metric("seldon_pipelinegateway_late_answers_total")
        }
        #expect(late == 1, "the answer came after the timeout and was discarded")
        #expect(try await client.metric("seldon_pipelinegateway_timeouts_total", ["name": "join-outer"]) == 1)
        // The gateway goes on: a next request is answered (on a loaded machine a try may itself take over 800 ms,
        // for a minute on end once).
        var after = try await client.infer("adder", Sum.request(2))
        let goesOn = ContinuousClock.now + .seconds(180)
        while after.status == 504, ContinuousClock.now < goesOn { after = try await client.infer("adder", Sum.request(2)) }
        #expect(after.status == 200, "the gateway goes on: \(after.text)")
        running.cancel()
        try? await running.value
    }

    @Test func requestsBeyondTheInFlightBoundGet429WithRetryAfterUntilOneIsAnswered() async throws {
        let fixture = try await GatewayFixture.shared.value
        let (client, running) = try await fixture.extraGateway { $0.maxRequestsInFlight = 1 }
        // join-outer answers only when its 2 s window closes: the first request stays in flight meanwhile.
        let request = InferenceRequest(inputs: [
            InferenceTensor(name: "CHOICE", shape: [1, 1], contents: .int32([0])),
            InferenceTensor(name: "INPUT", shape: [4], contents: .fp32([1, 2, 3, 4])),
        ])
        // On a loaded machine the first may be answered before the second is sent: then try again.
        var refused: GatewayClient.Reply?
        for _ in 0..<5 where refused?.status != 429 {
            let waiting = Task { try await client.infer("join-outer", request) }
            let deadline = ContinuousClock.now + .seconds(30)
            while try await client.metric("seldon_pipelinegateway_requests_in_flight") != 1, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            refused = try await client.infer("adder", Sum.request(2))
            #expect(try await waiting.value.status == 200)
        }
        #expect(refused?.status == 429, "\(refused?.text ?? "")")
        #expect(refused?.headers.first(name: "retry-after") == "1")
        #expect(refused?.error?.contains("1 requests are waiting") == true, "\(refused?.text ?? "")")
        #expect(try await client.infer("adder", Sum.request(2)).status == 200, "the bound is released with the answer")
        #expect(try await client.metric("seldon_pipelinegateway_requests_total", ["name": "adder", "code": "429"]) == 1)
        running.cancel()
        try? await running.value
    }

    static func floats() -> InferenceRequest {
        InferenceRequest(inputs: [
            InferenceTensor(name: "INPUT0", shape: [1, 2], contents: .fp32([1, 2])),
            InferenceTensor(name: "INPUT1", shape: [1, 2], contents: .fp32([3, 4])),
        ])
    }
}

/// One pipeline gateway over ``PipelineFixture`` for the whole suite.
final class GatewayFixture: Sendable {
    static let shared = Task<GatewayFixture, any Error> { try await GatewayFixture() }

    let pipelines: PipelineFixture
    let gateway: PipelineGateway
    let client: GatewayClient

    var engine: DataflowEngine { pipelines.engine }
    var topics: TopicNames { pipelines.topics }

    private init() async throws {
        pipelines = try await PipelineFixture.shared.value
        gateway = try Self.gateway(pipelines) { $0.maxRequestBytes = 1 << 20 }
        let running: Task<Void, any Error>
        (client, running) = try await GatewayClient.start(gateway)
        SuiteLifetime.own(running)
    }

    static func gateway(_ pipelines: PipelineFixture, _ configure: (inout PipelineGatewayConfiguration) -> Void = { _ in }) throws -> PipelineGateway {
        var configuration = PipelineGatewayConfiguration(
            bootstrapServers: [try TestBroker.bootstrap()], topics: pipelines.topics
        )
        configuration.useLocalBrokerDefaults()
        configuration.httpPort = 0
        configuration.grpcPort = 0
        configure(&configuration)
        return try PipelineGateway(configuration: configuration, directory: pipelines.engine, logger: TestBroker.logger)
    }

    /// Another gateway instance over the same engine, in a group of its own.
    func extraGateway(_ configure: (inout PipelineGatewayConfiguration) -> Void) async throws -> (GatewayClient, Task<Void, any Error>) {
        try await GatewayClient.start(try Self.gateway(pipelines, configure))
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
