import AsyncHTTPClient
import Dataflow
import Foundation
import GRPCCore
import NIOCore
import NIOHTTP1
import StreamKit
import SwiftProtobuf
import Testing
@testable import Gateways

/// Malformed input, case by case, against the real services: each is answered with the status that says what
/// kind of problem it is and a message naming the problem, without waiting for any timeout, and the service
/// answers a good request right after.
///
/// A request that waited for the gateway's timeout (30 s) would be answered 504, which the status checks already
/// refuse; ``answeredAtOnce`` bounds the time besides, generously: the cases run beside the whole suite on two
/// cores, where a request the model refuses (through Kafka and MLServer) took 16 s once. Most take milliseconds.
@Suite(.enabled(if: TestBroker.shouldRun))
struct BadInputCatalogueTests {
    static let answeredAtOnce: Duration = .seconds(20)

    /// One malformed request over REST.
    struct RESTCase: Sendable, CustomTestStringConvertible {
        var name: String
        var path = "/v2/pipelines/adder/infer"
        var body: [UInt8]
        var headers: [(String, String)] = []
        var status: Int
        /// Text the error message must contain.
        var says: String

        var testDescription: String { name }

        init(_ name: String, path: String = "/v2/pipelines/adder/infer", _ body: String, headers: [(String, String)] = [], status: Int = 400, says: String) {
            self.init(name, path: path, bytes: Array(body.utf8), headers: headers, status: status, says: says)
        }

        init(_ name: String, path: String = "/v2/pipelines/adder/infer", bytes: [UInt8], headers: [(String, String)] = [], status: Int = 400, says: String) {
            self.name = name
            self.path = path
            self.body = bytes
            self.headers = headers
            self.status = status
            self.says = says
        }
    }

    static func tensor(_ fields: String) -> String { #"{"inputs":[{"#.appending(fields).appending("}]}") }
    static let int32 = #""name":"INPUT0","datatype":"INT32""#

    static let rest: [RESTCase] = [
        RESTCase("not JSON", #"{"inputs": [{"name": "INPUT0", "#, says: "not valid JSON"),
        RESTCase("an empty body", "", says: "invalid request"),
        RESTCase("a JSON array", "[]", says: "invalid request"),
        RESTCase("a JSON string", #""inputs""#, says: "invalid request"),
        RESTCase("no inputs field", "{}", says: "inputs"),
        RESTCase("empty inputs", #"{"inputs":[]}"#, says: "the request has no inputs"),
        RESTCase("inputs not a list", #"{"inputs":5}"#, says: "inputs"),
        RESTCase("a tensor not an object", #"{"inputs":[5]}"#, says: "inputs[0]"),
        RESTCase("a tensor without a name", tensor(#""datatype":"INT32","shape":[1],"data":[1]"#), says: "name"),
        RESTCase("a tensor without a shape", tensor(#"\#(int32),"data":[1]"#), says: "missing field 'shape' in inputs[0]"),
        RESTCase("a tensor without a datatype", tensor(#""name":"INPUT0","shape":[1],"data":[1]"#), says: "datatype"),
        RESTCase("a tensor without data", tensor(#"\#(int32),"shape":[1]"#), says: "data"),
        RESTCase("an unknown datatype", tensor(#""name":"INPUT0","datatype":"INT33","shape":[1],"data":[1]"#), says: "unknown datatype 'INT33'"),
        RESTCase("a lowercase datatype", tensor(#""name":"INPUT0","datatype":"int32","shape":[1],"data":[1]"#), says: "unknown datatype 'int32'"),
        RESTCase("fewer elements than the shape", tensor(#"\#(int32),"shape":[1,3],"data":[1,2]"#), says: "shape [1, 3] needs 3 INT32 elements, found 2"),
        RESTCase("more elements than the shape", tensor(#"\#(int32),"shape":[1],"data":[1,2]"#), says: "INPUT0"),
        RESTCase("a negative dimension", tensor(#"\#(int32),"shape":[-1],"data":[1]"#), says: "INPUT0"),
        RESTCase("an overflowing shape", tensor(#"\#(int32),"shape":[9223372036854775807,4],"data":[1]"#), says: "INPUT0"),
        RESTCase("a shape of strings", tensor(#"\#(int32),"shape":["1"],"data":[1]"#), says: "shape"),
        RESTCase("text in INT32 data", tensor(#"\#(int32),"shape":[1],"data":["x"]"#), says: "INPUT0"),
        RESTCase("a fraction in INT32 data", tensor(#"\#(int32),"shape":[1],"data":[1.5]"#), says: "INPUT0"),
        RESTCase("INT32 out of range", tensor(#"\#(int32),"shape":[1],"data":[30000000000]"#), says: "INPUT0"),
        RESTCase("a number in BOOL data", tensor(#""name":"INPUT0","datatype":"BOOL","shape":[1],"data":[2]"#), says: "INPUT0"),
        RESTCase("a number in BYTES data", tensor(#""name":"INPUT0","datatype":"BYTES","shape":[1],"data":[7]"#), says: "INPUT0"),
        RESTCase("null data", tensor(#"\#(int32),"shape":[1],"data":null"#), says: "data"),
        RESTCase("deep nesting", #"{"inputs":"# + String(repeating: "[", count: 100_000), says: "invalid request"),
        RESTCase("not UTF-8", bytes: Array(#"{"inputs":[{"name":""#.utf8) + [0xFF, 0xFE] + Array(#"","datatype":"INT32","shape":[1],"data":[1]}]}"#.utf8), says: "invalid request"),
        RESTCase("two tensors with one name",
                 #"{"inputs":[{\#(int32),"shape":[1],"data":[1]},{\#(int32),"shape":[1],"data":[2]}]}"#, says: "INPUT0"),
        RESTCase("an id that is a number", #"{"id":5,"inputs":[{\#(int32),"shape":[1],"data":[1]}]}"#, says: "id"),
        RESTCase("parameters that are a list", #"{"parameters":[1],"inputs":[{\#(int32),"shape":[1],"data":[1]}]}"#, says: "parameters"),
        RESTCase("a parameter that is an object", #"{"parameters":{"a":{"b":1}},"inputs":[{\#(int32),"shape":[1],"data":[1]}]}"#, says: "parameters"),
        RESTCase("none of the tensors a step names", path: "/v2/pipelines/pipeline-inputs/infer",
                 #"{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[4],"data":[1,2,3,4]}]}"#,
                 says: "step add10 reads pipeline-inputs.inputs.INPUT1 but the request has none of it"),
        RESTCase("an unknown pipeline", path: "/v2/pipelines/no-such-pipeline/infer", #"{"inputs":[{\#(int32),"shape":[1],"data":[1]}]}"#,
                 status: 404, says: "pipeline no-such-pipeline not found"),
        RESTCase("an unknown pipeline by a model path", path: "/v2/models/no-such-pipeline/infer", #"{"inputs":[{\#(int32),"shape":[1],"data":[1]}]}"#,
                 status: 404, says: "pipeline no-such-pipeline not found"),
        RESTCase("an unknown model", path: "/v2/models/no-such-model.model/infer", #"{"inputs":[{\#(int32),"shape":[1],"data":[1]}]}"#,
                 status: 404, says: "model no-such-model not found"),
        RESTCase("an unknown model by header", path: "/v2/models/x/infer", #"{"inputs":[{\#(int32),"shape":[1],"data":[1]}]}"#,
                 headers: [("seldon-model", "no-such-model")], status: 404, says: "model no-such-model not found"),
        RESTCase("a body over the limit", bytes: Array(repeating: UInt8(ascii: " "), count: (1 << 20) + 1), status: 413, says: "larger than 1048576 bytes"),
        RESTCase("a request the model refuses",
                 #"{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,2],"data":[1,2]},{"name":"INPUT1","datatype":"FP32","shape":[1,2],"data":[3,4]}]}"#,
                 says: "sum : INPUT0 and INPUT1 must be INT32, got float32 and float32"),
        RESTCase("a request missing a tensor the model needs", #"{"inputs":[{\#(int32),"shape":[1,2],"data":[1,2]}]}"#, says: "sum : "),
    ]

    static let good = SumRequests.request(1)

    @Test(arguments: rest) func overREST(_ bad: RESTCase) async throws {
        let client = try await GatewayFixture.shared.value.client
        let started = ContinuousClock.now
        let reply = try await client.post(bad.path, bad.body, headers: bad.headers)
        let took = ContinuousClock.now - started
        #expect(reply.status == bad.status, "\(bad.name): \(reply.text)")
        #expect(reply.error?.contains(bad.says) == true, "\(bad.name): '\(reply.error ?? reply.text)' should say '\(bad.says)'")
        #expect(took < Self.answeredAtOnce, "\(bad.name): answered after \(took)")
        if bad.status == 413 { #expect(reply.headers.first(name: "connection") == "close", "\(bad.name): \(reply.headers)") }
        #expect(try await client.infer("adder", Self.good).status == 200, "a good request after \(bad.name)")
    }

    /// One malformed `ModelInfer` call over gRPC.
    struct GRPCCase: Sendable, CustomTestStringConvertible {
        var name: String
        var request: Inference_ModelInferRequest
        var code: RPCError.Code
        var says: String

        var testDescription: String { name }
    }

    static func grpcCase(_ name: String, code: RPCError.Code = .invalidArgument, says: String, _ change: (inout Inference_ModelInferRequest) -> Void) -> GRPCCase {
        var request = SumRequests.request(1).protobuf()
        request.modelName = "adder"
        change(&request)
        return GRPCCase(name: name, request: request, code: code, says: says)
    }

    static let grpc: [GRPCCase] = [
        grpcCase("no inputs", says: "the request has no inputs") { $0.inputs = [] },
        grpcCase("an unknown pipeline", code: .notFound, says: "pipeline no-such-pipeline not found") { $0.modelName = "no-such-pipeline" },
        grpcCase("no target", code: .notFound, says: "not found") { $0.modelName = "" },
        grpcCase("an unknown model", code: .notFound, says: "model no-such-model not found") { $0.modelName = "no-such-model.model" },
        grpcCase("fewer elements than the shape", says: "shape [1, 3] needs 3 INT32 elements, found 2") { $0.inputs[0].shape = [1, 3] },
        grpcCase("a negative dimension", says: "INPUT0") { $0.inputs[0].shape = [-1, 2] },
        grpcCase("an overflowing shape", says: "INPUT0") { $0.inputs[0].shape = [Int64.max, 4] },
        grpcCase("an unknown datatype", says: "INT33") { $0.inputs[0].datatype = "INT33" },
        grpcCase("contents of another datatype", says: "INPUT0") { $0.inputs[0].datatype = "FP32" },
        grpcCase("raw contents for one of two tensors", says: "raw") { $0.rawInputContents = [Data([1, 0, 0, 0])] },
        grpcCase("raw contents of the wrong length", says: "INPUT0") { request in
            for index in request.inputs.indices { request.inputs[index].contents = Inference_InferTensorContents() }
            request.rawInputContents = [Data([1, 0, 0]), Data([1, 0, 0, 0, 2, 0, 0, 0])]
        },
        grpcCase("two tensors with one name", says: "INPUT0") { $0.inputs[1].name = "INPUT0" },
        grpcCase("a request the model refuses", says: "sum : ") { request in
            request.inputs[1] = request.inputs[0]
            request.inputs[1].name = "OTHER"
        },
    ]

    @Test(arguments: grpc) func overGRPC(_ bad: GRPCCase) async throws {
        let client = try await GatewayFixture.shared.value.client
        let started = ContinuousClock.now
        let error = try #require(try await client.grpcInfer(bad.request).failure, "\(bad.name) was answered")
        let took = ContinuousClock.now - started
        #expect(error.code == bad.code, "\(bad.name): \(error)")
        #expect(error.message.contains(bad.says), "\(bad.name): '\(error.message)' should say '\(bad.says)'")
        #expect(took < Self.answeredAtOnce, "\(bad.name): answered after \(took)")
        var good = Self.good.protobuf()
        good.modelName = "adder"
        #expect(try await client.grpcInfer(good).failure == nil, "a good request after \(bad.name)")
    }

    @Test func aGRPCMessageOverTheLimitIsRefused() async throws {
        let fixture = try await GatewayFixture.shared.value
        var large = Self.good.protobuf()
        large.modelName = "adder"
        large.parameters["padding"] = .with { $0.stringParam = String(repeating: "p", count: fixture.gateway.configuration.maxRequestBytes) }
        // grpc-swift resets the stream of a message over its limit (the client sees UNAVAILABLE), where grpc-go
        // answers RESOURCE_EXHAUSTED; either way the call fails at once and the server goes on.
        let started = ContinuousClock.now
        let error = try #require(try await fixture.client.grpcInfer(large).failure, "a message over the limit was answered")
        #expect([.resourceExhausted, .unavailable].contains(error.code), "\(error)")
        #expect(ContinuousClock.now - started < Self.answeredAtOnce)
        var good = Self.good.protobuf()
        good.modelName = "adder"
        #expect(try await fixture.client.grpcInfer(good).failure == nil, "a good request afterwards")
    }

    /// One malformed request to the control API.
    struct ControlCase: Sendable, CustomTestStringConvertible {
        var name: String
        var method: HTTPMethod = .POST
        var path = "/v1/resources?file=bad.yaml"
        var body: String?
        var status = 400
        var says: String

        var testDescription: String { name }
    }

    static func resource(_ kind: String, _ name: String, _ spec: String = "") -> String {
        "apiVersion: mlops.seldon.io/v1alpha1\nkind: \(kind)\nmetadata:\n  name: \(name)\n" + (spec.isEmpty ? "" : "spec:\n\(spec)")
    }

    static let control: [ControlCase] = [
        ControlCase(name: "YAML that does not parse", body: "kind: Model\nmetadata: [name\n", says: "bad.yaml:3:1: not valid YAML"),
        ControlCase(name: "an empty file", body: "", says: "bad.yaml"),
        ControlCase(name: "no kind", body: "apiVersion: mlops.seldon.io/v1alpha1\nmetadata:\n  name: m\n", says: "kind"),
        ControlCase(name: "an unknown kind", body: resource("Widget", "w"), says: "Widget"),
        ControlCase(name: "no name", body: "apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata: {}\nspec:\n  storageUri: x\n", says: "name"),
        ControlCase(name: "a name of two dots", body: resource("Model", "'..'", "  storageUri: x\n"), says: "'..' is not a valid"),
        ControlCase(name: "a name climbing folders", body: resource("Model", "a/../../b", "  storageUri: x\n"), says: "'a/../../b' is not a valid"),
        ControlCase(name: "an upper-case name", body: resource("Pipeline", "Chain", "  steps: [{name: sum}]\n"), says: "'Chain' is not a valid"),
        ControlCase(name: "a name too long", body: resource("Model", String(repeating: "a", count: 64), "  storageUri: x\n"), says: "is not a valid"),
        ControlCase(name: "steps that are not a list", body: resource("Pipeline", "p", "  steps: 5\n"), says: "bad.yaml:6"),
        ControlCase(name: "a step without a name", body: resource("Pipeline", "p", "  steps:\n    - inputs: [a]\n"), says: "name"),
        ControlCase(name: "a step reading an unknown step", body: resource("Pipeline", "p", "  steps:\n    - name: a\n      inputs: [nowhere]\n"), says: "nowhere"),
        ControlCase(name: "a join type that does not exist", body: resource("Pipeline", "p", "  steps:\n    - name: a\n      inputsJoinType: sideways\n"), says: "sideways"),
        ControlCase(name: "a negative join window", body: resource("Pipeline", "p", "  steps:\n    - name: a\n      joinWindowMs: -5\n"), says: "joinWindowMs"),
        ControlCase(name: "replicas that are text", body: resource("Model", "m", "  storageUri: x\n  replicas: many\n"), says: "replicas"),
        ControlCase(name: "a YAML alias bomb",
                    body: "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
                    says: "bad.yaml"),
        ControlCase(name: "deep nesting", body: String(repeating: "[", count: 10_000), says: "bad.yaml"),
        ControlCase(name: "a file over the limit", body: "a: " + String(repeating: "x", count: 5 << 20), status: 413, says: "larger than 4194304 bytes"),
        ControlCase(name: "deleting an unknown pipeline", method: .DELETE, path: "/v1/pipelines/no-such-pipeline", status: 404, says: "no-such-pipeline"),
        ControlCase(name: "an unknown pipeline", method: .GET, path: "/v1/pipelines/no-such-pipeline", status: 404, says: "pipeline no-such-pipeline not found"),
    ]

    static let controlInstance = Task<ControlPlaneTests.Instance, any Error> {
        let instance = try await ControlPlaneTests().instance()
        for task in instance.tasks { SuiteLifetime.own(task) }
        return instance
    }

    @Test(arguments: control) func toTheControlAPI(_ bad: ControlCase) async throws {
        let instance = try await Self.controlInstance.value
        let api = ControlPlaneTests()
        let started = ContinuousClock.now
        let reply = try await api.send(bad.method, instance.url + bad.path, body: bad.body)
        let took = ContinuousClock.now - started
        let error = (try? JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any])?["error"] as? String
        #expect(reply.status == bad.status, "\(bad.name): \(reply.body.prefix(500))")
        #expect(error?.contains(bad.says) == true, "\(bad.name): '\(error ?? reply.body)' should say '\(bad.says)'")
        #expect(took < Self.answeredAtOnce, "\(bad.name): answered after \(took)")
        #expect(try await api.send(.GET, instance.url + "/v1/pipelines").status == 200, "the API answers after \(bad.name)")
    }

    /// One record written straight to the `adder` pipeline's inputs topic.
    struct KafkaCase: Sendable, CustomTestStringConvertible {
        var name: String
        var value: [UInt8]?
        var headers = true
        var key: [UInt8]?
        /// Text the error record must contain, or `nil` for a record that is answered.
        var says: String?

        var testDescription: String { name }
    }

    static var goodBytes: [UInt8] { (try? SumRequests.request(1).serializedBytes()) ?? [] }

    static let kafka: [KafkaCase] = [
        KafkaCase(name: "not protobuf", value: [0xFF, 0x01, 0x02], says: "not a protobuf ModelInferRequest"),
        KafkaCase(name: "truncated protobuf", value: Array(goodBytes.dropLast(3)), says: "not a protobuf ModelInferRequest"),
        KafkaCase(name: "no value", value: nil, says: "the record has no value"),
        KafkaCase(name: "an empty request", value: [], says: "the request has no inputs"),
        KafkaCase(name: "a shape its data does not fill", value: {
            var request = SumRequests.request(1).protobuf()
            request.inputs[0].shape = [1, 3]
            return (try? request.serializedBytes()) ?? []
        }(), says: "invalid ModelInferRequest"),
        KafkaCase(name: "raw contents of the wrong length", value: {
            var request = SumRequests.request(1).protobuf()
            for index in request.inputs.indices { request.inputs[index].contents = Inference_InferTensorContents() }
            request.rawInputContents = [Data([1, 0, 0]), Data([1, 0, 0, 0, 2, 0, 0, 0])]
            return (try? request.serializedBytes()) ?? []
        }(), says: "invalid ModelInferRequest"),
        KafkaCase(name: "a good request without headers", value: goodBytes, headers: false, says: nil),
        KafkaCase(name: "a good request with a binary key", value: goodBytes, key: [0xFF, 0x00, 0xFE], says: nil),
    ]

    @Test(arguments: kafka) func onAPipelinesInputsTopic(_ bad: KafkaCase) async throws {
        let fixture = try await PipelineFixture.shared.value
        let producer = try TestBroker.producer()
        let key = bad.key ?? Array(TestBroker.uniqueName("poison").utf8)
        let headers = bad.headers ? [KafkaHeader(key: "pipeline", value: "adder"), KafkaHeader(key: "x-request-id", value: TestBroker.uniqueName("poison"))] : []
        _ = try await producer.send(KafkaProducerRecord(topic: fixture.topics.pipelineInputs("adder"), key: key, value: bad.value, headers: headers))
        await producer.close()
        let answers = try await Self.records(on: fixture.topics.pipelineOutputs("adder"), key: key)
        let answer = try #require(answers.first, "\(bad.name): nothing on the pipeline's outputs")
        let error = answer.headers.string("seldon-pipeline-errors")
        if let says = bad.says {
            let reason = String(decoding: answer.value ?? [], as: UTF8.self)
            #expect(error != nil, "\(bad.name): answered instead of an error record")
            #expect(reason.contains(says), "\(bad.name): '\(reason)' should say '\(says)'")
        } else {
            #expect(error == nil, "\(bad.name): \(String(decoding: answer.value ?? [], as: UTF8.self))")
            #expect(try InferenceResponse(serializedBytes: answer.value ?? []).outputs.count == 2)
        }
        let good = try await fixture.request("adder", SumRequests.request(2).inputs, count: 1)
        #expect(try await fixture.outputs("adder", keys: good).first?.error == nil, "a good request after \(bad.name)")
    }

    @Test func aPoisonRecordOnAModelsInputsGoesToTheErrorsTopicWithItsReason() async throws {
        let fixture = try await PipelineFixture.shared.value
        let producer = try TestBroker.producer()
        let key = Array(TestBroker.uniqueName("poison").utf8)
        _ = try await producer.send(KafkaProducerRecord(topic: fixture.topics.modelInputs("sum"), key: key, value: [0xFF, 0x01]))
        await producer.close()
        let failed = try #require(try await Self.records(on: fixture.topics.errors, key: key).first)
        #expect(failed.headers.string("seldon-pipeline-errors") == "sum")
        #expect(String(decoding: failed.value ?? [], as: UTF8.self).hasPrefix("the request is not a binary ModelInferRequest"))
    }

    /// The records with `key` on `topic`, once there is one or 60 s passed.
    static func records(on topic: String, key: [UInt8]) async throws -> [KafkaConsumerRecord] {
        let consumer = try TestBroker.consumer()
        defer { Task { await consumer.close() } }
        try await consumer.assign(TestBroker.partitions(topic, count: 4).map { TopicPartitionOffset($0, offset: KafkaConsumer.beginning) })
        let deadline = ContinuousClock.now + .seconds(60)
        var found: [KafkaConsumerRecord] = []
        while found.isEmpty, ContinuousClock.now < deadline {
            found += try await consumer.poll(maxRecords: 500, timeout: .milliseconds(100)).filter { $0.key == key }
        }
        return found
    }

    /// One bad command line: it ends at once with a non-zero status and says what is wrong, before touching a broker.
    struct CommandCase: Sendable, CustomTestStringConvertible {
        var arguments: [String]
        var says: String

        var testDescription: String { arguments.joined(separator: " ") }
    }

    static let commands: [CommandCase] = [
        CommandCase(arguments: ["serve", "--partitions", "0"], says: "'partitions' must be 1 or more"),
        CommandCase(arguments: ["serve", "--model-calls", "sideways"], says: "not 'sideways'"),
        CommandCase(arguments: ["serve", "--processing-guarantee", "twice"], says: "not 'twice'"),
        CommandCase(arguments: ["serve", "--idle-timeout", "0"], says: "'idle-timeout' must be 1 or more"),
        CommandCase(arguments: ["serve", "--max-connections", "0"], says: "'max-connections' must be 1 or more"),
        CommandCase(arguments: ["serve", "--role", "cook"], says: "The value 'cook' is invalid for '--role <role>'"),
        CommandCase(arguments: ["serve", "--log-level", "loud"], says: "not 'loud'"),
        CommandCase(arguments: ["serve", "--inference-auth"], says: "inference-auth needs a token"),
        CommandCase(arguments: ["serve", "--tls-key", "/nonexistent.key"], says: "needs its certificate"),
        CommandCase(arguments: ["serve", "--config", "/nonexistent.yaml"], says: "/nonexistent.yaml"),
        CommandCase(arguments: ["serve", "--http-port", "many"], says: "many"),
        CommandCase(arguments: ["apply", "-f", "/nonexistent.yaml"], says: "/nonexistent.yaml: no such file"),
        CommandCase(arguments: ["infer", "chain", "{not json"], says: "not an OIP inference request"),
        CommandCase(arguments: ["status", "pipeline", "x", "--wait", "Ready", "--timeout", "soon"], says: "soon"),
        CommandCase(arguments: ["launch"], says: "launch"),
    ]

    @Test(.enabled(if: TestModelServer.shouldRun), arguments: commands) func onTheCommandLine(_ bad: CommandCase) async throws {
        let started = ContinuousClock.now
        let outcome = try await DataflowProcess.run(bad.arguments, environment: [:])
        let took = ContinuousClock.now - started
        #expect(outcome.status != 0, "\(bad.testDescription): \(outcome)")
        #expect(outcome.errors.contains(bad.says), "\(bad.testDescription): '\(outcome.errors)' should say '\(bad.says)'")
        #expect(took < Self.answeredAtOnce, "\(bad.testDescription): ended after \(took)")
    }
}
