import Dataflow
import Foundation
import Gateways
import Logging
import StreamKit
import Testing

/// Every example of `topologies/` deployed in one engine, with the model gateway calling the real MLServer
/// models of `Tests/Models`: each pipeline semantic end to end on the real broker.
@Suite(.enabled(if: TestModelServer.shouldRun))
struct PipelineSemanticsTests {
    typealias T = InferenceTensor

    static func fp32(_ name: String, _ values: [Float]) -> T { T(name: name, shape: [Int64(values.count)], contents: .fp32(values)) }
    static func int32(_ name: String, _ values: [Int32]) -> T { T(name: name, shape: [1, Int64(values.count)], contents: .int32(values)) }
    static func int64(_ name: String, _ values: [Int64]) -> T { T(name: name, shape: [Int64(values.count)], contents: .int64(values)) }
    static let input: [Float] = [1, 2, 3, 4]

    @Test func chainWithTensorMap() async throws {
        let fixture = try await PipelineFixture.shared.value
        let keys = try await fixture.request("chain", [Self.fp32("INPUT", Self.input)], count: 3)
        let outputs = try await fixture.outputs("chain", keys: keys)
        #expect(outputs.count == 3)
        #expect(outputs.allSatisfy { $0.tensors == ["OUTPUT": .fp32([110, 120, 130, 140])] })
    }

    @Test func innerJoinOfTwoSteps() async throws {
        let fixture = try await PipelineFixture.shared.value
        let keys = try await fixture.request("join-inner", [Self.fp32("INPUT", Self.input)], count: 2)
        let outputs = try await fixture.outputs("join-inner", keys: keys)
        #expect(outputs.count == 2)
        #expect(outputs.allSatisfy { $0.tensors == ["A": .fp32([11, 12, 13, 14]), "M": .fp32([10, 20, 30, 40])] })
    }

    @Test func outerJoinGoesOutWhenItsWindowExpiresByTheClock() async throws {
        let fixture = try await PipelineFixture.shared.value
        let started = ContinuousClock.now
        let keys = try await fixture.request("join-outer", [Self.int32("CHOICE", [0]), Self.fp32("INPUT", Self.input)], count: 1)
        let outputs = try await fixture.outputs("join-outer", keys: keys)
        #expect(ContinuousClock.now - started >= .milliseconds(1900), "the partial result waits for the 2 s window")
        #expect(outputs.map(\.tensors) == [["ADDED": .fp32([11, 12, 13, 14])]])
    }

    @Test func anyJoinForwardsEachArrival() async throws {
        let fixture = try await PipelineFixture.shared.value
        let keys = try await fixture.request("join-any", [Self.fp32("INPUT", Self.input)], count: 1)
        let outputs = try await fixture.outputs("join-any", keys: keys, count: 2)
        #expect(Set(outputs.compactMap { $0.tensors["OUTPUT"] }) == [.fp32([11, 12, 13, 14]), .fp32([10, 20, 30, 40])])
    }

    @Test func oneTrigger() async throws {
        let fixture = try await PipelineFixture.shared.value
        let keys = try await fixture.request("triggers-one", [Self.fp32("INPUT", Self.input)], count: 2)
        let outputs = try await fixture.outputs("triggers-one", keys: keys)
        #expect(outputs.count == 2)
        #expect(outputs.allSatisfy { $0.tensors == ["OUTPUT": .fp32([10, 20, 30, 40])] }, "trigger data is not passed on")
    }

    @Test(arguments: ["triggers", "triggers-any", "triggers-outer"])
    func severalTriggers(_ pipeline: String) async throws {
        let fixture = try await PipelineFixture.shared.value
        let request = [Self.fp32("INPUT", Self.input), Self.int64("INPUT0", [2]), Self.int64("INPUT1", [3])]
        let keys = try await fixture.request(pipeline, request, count: 2)
        let outputs = try await fixture.outputs(pipeline, keys: keys)
        #expect(outputs.count == 2)
        #expect(outputs.allSatisfy { $0.tensors == ["OUTPUT": .fp32([10, 20, 30, 40])] })
        // Extra answers would show up here: `any` runs the step once, not once per trigger.
        let all = try await fixture.outputs(pipeline, keys: keys, count: 3, timeout: .seconds(1))
        #expect(all.count == 2, "\(all.map { ($0.key, $0.tensors, $0.error?.reason ?? "") })")
    }

    @Test func triggersJoinTypesDifferWhenATriggerNeverComes() async throws {
        let fixture = try await PipelineFixture.shared.value
        // Without INPUT0/INPUT1, sum64 never runs: only add10 triggers.
        let anyKeys = try await fixture.request("triggers-any", [Self.fp32("INPUT", Self.input)], count: 1)
        let outerKeys = try await fixture.request("triggers-outer", [Self.fp32("INPUT", Self.input)], count: 1)
        let innerKeys = try await fixture.request("triggers", [Self.fp32("INPUT", Self.input)], count: 1)
        #expect(try await fixture.outputs("triggers-any", keys: anyKeys).count == 1)
        #expect(try await fixture.outputs("triggers-outer", keys: outerKeys).count == 1, "once the window expires")
        #expect(try await fixture.outputs("triggers", keys: innerKeys, timeout: .seconds(4)).isEmpty, "inner waits for both")
    }

    @Test func conditionalRoutingThroughAbsentTensors() async throws {
        let fixture = try await PipelineFixture.shared.value
        let first = try await fixture.request("conditional", [Self.int32("CHOICE", [0]), Self.fp32("INPUT", Self.input)], count: 2)
        let second = try await fixture.request("conditional", [Self.int32("CHOICE", [1]), Self.fp32("INPUT", Self.input)], count: 2)
        let outputs = try await fixture.outputs("conditional", keys: first + second)
        #expect(outputs.count == 4)
        for output in outputs {
            let expected: [Float] = first.contains(output.key) ? [11, 12, 13, 14] : [10, 20, 30, 40]
            #expect(output.tensors == ["OUTPUT": .fp32(expected)], "\(output.key)")
        }
    }

    /// One test for both, one after the other: requests of two tests running at once would share batches.
    @Test func batchByWindowThenBySize() async throws {
        let fixture = try await PipelineFixture.shared.value
        // A lone request goes out when the 50 ms window ends.
        let lone = try await fixture.request("batch-size", [Self.fp32("INPUT", Self.input)], count: 1)
        #expect(try await fixture.outputs("batch-size", keys: lone).map(\.tensors) == [["OUTPUT": .fp32([11, 12, 13, 14])]])

        // Requests sent together share calls (those of one partition), and each gets its own answer.
        let keys = try await fixture.request("batch-size", (0..<4).map { [Self.fp32("INPUT", [Float($0), 0, 0, 0])] })
        let outputs = try await fixture.outputs("batch-size", keys: keys)
        #expect(outputs.count == 4)
        for output in outputs {
            let index = Float(try #require(keys.firstIndex(of: output.key)))
            #expect(output.tensors == ["OUTPUT": .fp32([index + 10, 10, 10, 10])])
        }
        let calls = try await fixture.modelRequests("add10", pipeline: "batch-size", keys: Set(keys))
        #expect(calls.map(\.rows).reduce(0, +) == 4, "every request is in exactly one call")
        let partitions = Set(outputs.map(\.partition)).count
        #expect(calls.count == partitions, "the requests of one partition share a call")
    }

    @Test func rollingBatchAnswersEachRequestWithTheWholeBatch() async throws {
        let fixture = try await PipelineFixture.shared.value
        let requests = (1...3).map { [Self.fp32("INPUT", [Float($0), 0, 0, 0])] }
        let keys = try await fixture.request("batch-rolling", requests, oneByOne: true)
        let outputs = try await fixture.outputs("batch-rolling", keys: keys)
        #expect(outputs.count == 3)
        for output in outputs {
            let own = Float(try #require(keys.firstIndex(of: output.key)) + 1) * 10
            guard case .fp32(let values)? = output.tensors["OUTPUT"] else {
                Issue.record("no OUTPUT for \(output.key)")
                continue
            }
            #expect(values.count % 4 == 0 && (4...16).contains(values.count), "whole rows of the rolling batch")
            #expect(Array(values.suffix(4)) == [own, 0, 0, 0], "the request's own row comes last")
        }
    }

    @Test func pipelineToPipelineOutputsInputsStepOutputsAndTriggers() async throws {
        let fixture = try await PipelineFixture.shared.value
        let request = [Self.int32("INPUT0", [1, 2]), Self.int32("INPUT1", [10, 20])]
        let keys = try await fixture.request("adder", request, count: 2)
        let adder = try await fixture.outputs("adder", keys: keys)
        #expect(adder.allSatisfy { $0.tensors == ["OUTPUT0": .int32([11, 22]), "OUTPUT1": .int32([-9, -18])] })
        // doubler reads adder's outputs.
        let doubler = try await fixture.outputs("doubler", keys: keys)
        #expect(doubler.count == 2)
        #expect(doubler.allSatisfy { $0.tensors == ["OUTPUT0": .int32([2, 4]), "OUTPUT1": .int32([20, 40])] })
        // gated-copy reads adder's inputs once adder's step sum has answered.
        let copies = try await fixture.outputs("gated-copy", keys: keys)
        #expect(copies.count == 2)
        #expect(copies.allSatisfy { $0.tensors == ["INPUT0": .int32([1, 2]), "INPUT1": .int32([10, 20])] })
    }

    @Test func aModelErrorReachesThePipelinesOutputs() async throws {
        let fixture = try await PipelineFixture.shared.value
        let keys = try await fixture.request("adder", [Self.int32("INPUT0", [1, 2])], count: 1)
        let outputs = try await fixture.outputs("adder", keys: keys)
        #expect(outputs.count == 1)
        #expect(outputs.first?.error?.source == "sum")
        #expect(outputs.first?.error?.reason == "input INPUT1 is missing; the request has ['INPUT0']")
        #expect(try await fixture.outputs("doubler", keys: keys, timeout: .seconds(2)).isEmpty, "an error is not data")
    }

    @Test func aCycleStopsWithAnErrorAfterMaxStepRevisits() async throws {
        let fixture = try await PipelineFixture.shared.value
        let keys = try await fixture.request("cycle", [Self.fp32("INPUT", [0])], count: 1)
        let outputs = try await fixture.outputs("cycle", keys: keys, count: 4)
        #expect(outputs.compactMap { $0.tensors["OUTPUT"] } == [.fp32([100]), .fp32([1100]), .fp32([11100])])
        #expect(outputs.compactMap(\.error).map(\.source) == ["add10"])
        #expect(outputs.compactMap(\.error).first?.reason.contains("maxStepRevisits") == true)
    }

    @Test func twoPipelinesSharingAModelEachGetTheirOwnAnswers() async throws {
        let fixture = try await PipelineFixture.shared.value
        async let chain = fixture.request("chain", [Self.fp32("INPUT", Self.input)], count: 20)
        async let conditional = fixture.request("conditional", [Self.int32("CHOICE", [0]), Self.fp32("INPUT", [5, 5, 5, 5])], count: 20)
        let (chainKeys, conditionalKeys) = try await (chain, conditional)
        let chainOutputs = try await fixture.outputs("chain", keys: chainKeys)
        let conditionalOutputs = try await fixture.outputs("conditional", keys: conditionalKeys)
        #expect(chainOutputs.count == 20)
        #expect(chainOutputs.allSatisfy { $0.tensors == ["OUTPUT": .fp32([110, 120, 130, 140])] })
        #expect(conditionalOutputs.count == 20)
        #expect(conditionalOutputs.allSatisfy { $0.tensors == ["OUTPUT": .fp32([15, 15, 15, 15])] })
    }

    @Test func outputStepsAnsweringTheSameTensorNameAreBothAnsweredInStepOrder() async throws {
        let fixture = try await PipelineFixture.shared.value
        let keys = try await fixture.request("pipeline-inputs", [Self.fp32("INPUT0", Self.input), Self.fp32("INPUT1", Self.input)], count: 2)
        let outputs = try await fixture.outputs("pipeline-inputs", keys: keys)
        #expect(outputs.count == 2)
        for output in outputs {
            #expect(output.ordered.map(\.name) == ["OUTPUT", "OUTPUT"], "\(output)")
            #expect(output.ordered.map(\.contents) == [.fp32([10, 20, 30, 40]), .fp32([11, 12, 13, 14])], "mul10's, then add10's")
        }
    }

    @Test func irisClassifierTrainedAtSetUp() async throws {
        let fixture = try await PipelineFixture.shared.value
        let flowers = T(name: "predict", shape: [2, 4], contents: .fp32([5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3]))
        let keys = try await fixture.request("iris-classifier", [flowers], count: 1)
        let outputs = try await fixture.outputs("iris-classifier", keys: keys)
        #expect(outputs.first?.tensors["predict"] == .int64([0, 2]), "setosa and virginica")
    }
}

/// One engine and one model gateway for the whole suite, with every example of `topologies/` deployed.
final class PipelineFixture: Sendable {
    static let shared = Task<PipelineFixture, any Error> { try await PipelineFixture() }

    let topics = TopicNames(prefix: "seldon", namespace: TestBroker.uniqueName("semantics"))
    let engine: DataflowEngine
    let gateway: ModelGateway
    private let producer: KafkaProducer

    /// A pipeline's answer to one request: its tensors, or the error that replaced them.
    struct Output: Sendable {
        var key: String
        var partition: Int32
        var tensors: [String: TensorContents] = [:]
        /// The tensors in the order of the answer (names may repeat).
        var ordered: [InferenceTensor] = []
        var error: (source: String, reason: String)?
    }

    private init() async throws {
        engine = try DataflowEngineTests.engine(topics)
        let address = try TestModelServer.address()
        var resources: [Resource] = []
        let directory = TestModelServer.root.appendingPathComponent("topologies")
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() where file.hasSuffix(".yaml") {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            resources += try Resource.load(yaml: text.replacingOccurrences(of: "http://127.0.0.1:9500", with: address), file: file)
        }
        let models = resources.compactMap { if case .model(let model) = $0 { model } else { nil } }
        let servers = resources.compactMap { if case .server(let server) = $0 { server } else { nil } }
        let assigned = ModelServer.assign(models: models, servers: servers, defaultServer: nil)
        #expect(assigned.unserved.isEmpty)

        var configuration = ModelGatewayConfiguration(bootstrapServers: [try TestBroker.bootstrap()], groupID: TestBroker.uniqueName("modelgateway"), topics: topics)
        configuration.useLocalBrokerDefaults()
        configuration.commitInterval = .milliseconds(200)
        gateway = ModelGateway(configuration: configuration, logger: TestBroker.logger)
        try await gateway.serve(assigned.served)
        producer = try TestBroker.producer()

        let engine = engine
        let gateway = gateway
        let running = [Task { try await engine.run() }, Task { try await gateway.run() }]
        let states = await engine.waitUntilSettled(try await engine.apply(resources).map(\.name))
        try #require(states.allSatisfy { $0.status == .ready }, "\(states.filter { $0.status != .ready })")
        // Once a request went through, the engine and the gateway have their partitions: tests that depend on
        // answers coming within a join window do not wait for consumer groups to form.
        let warmUp = try await request("chain", [PipelineSemanticsTests.fp32("INPUT", [0, 0, 0, 0])], count: 4)
        try #require(try await outputs("chain", keys: warmUp).count == 4, "the warm-up requests were answered")
        for task in running { SuiteLifetime.own(task) }
    }

    /// Writes `count` copies of a request to the pipeline's inputs and returns their keys.
    func request(_ pipeline: String, _ tensors: [InferenceTensor], count: Int) async throws -> [String] {
        try await request(pipeline, Array(repeating: tensors, count: count))
    }

    /// Writes one request per element to the pipeline's inputs (all at once, or each after the one before is
    /// stored) and returns their keys, in order.
    func request(_ pipeline: String, _ requests: [[InferenceTensor]], oneByOne: Bool = false) async throws -> [String] {
        var keys: [String] = []
        for tensors in requests {
            let key = TestBroker.uniqueName(pipeline)
            let record = KafkaProducerRecord(
                topic: topics.pipelineInputs(pipeline), key: key.bytes, value: try InferenceRequest(id: key, inputs: tensors).serializedBytes(),
                headers: [KafkaHeader(key: "pipeline", value: pipeline), KafkaHeader(key: "x-request-id", value: key)]
            )
            if oneByOne { _ = try await producer.send(record) } else { try await producer.send(record) { _ in } }
            keys.append(key)
        }
        try await producer.flush()
        return keys
    }

    /// The records of the pipeline's outputs with one of `keys`, once `count` (default: one per key) arrived or
    /// `timeout` passed.
    func outputs(_ pipeline: String, keys: [String], count: Int? = nil, timeout: Duration = .seconds(60)) async throws -> [Output] {
        let records = try await read(topics.pipelineOutputs(pipeline), keys: Set(keys), count: count ?? keys.count, timeout: timeout)
        return try records.map { record in
            var output = Output(key: record.key?.string ?? "", partition: record.partition)
            if let source = record.headers.string("seldon-pipeline-errors") {
                output.error = (source, record.value?.string ?? "")
            } else {
                output.ordered = try InferenceResponse(serializedBytes: record.value ?? []).outputs
                for tensor in output.ordered { output.tensors[tensor.name] = tensor.contents }
            }
            return output
        }
    }

    /// The calls the engine made to `model` for `pipeline`'s requests among `keys`, with how many requests of four
    /// elements each held.
    func modelRequests(_ model: String, pipeline: String, keys: Set<String>) async throws -> [(key: String, rows: Int)] {
        let records = try await read(topics.modelInputs(model), keys: keys, count: keys.count, timeout: .seconds(3))
        return try records.filter { $0.headers.string("pipeline") == pipeline }.map { record in
            let request = try InferenceRequest(serializedBytes: record.value ?? [])
            return (record.key?.string ?? "", (request.inputs.first?.contents.count ?? 0) / 4)
        }
    }

    private func read(_ topic: String, keys: Set<String>, count: Int, timeout: Duration) async throws -> [KafkaConsumerRecord] {
        let consumer = try TestBroker.consumer()
        try await consumer.assign(TestBroker.partitions(topic, count: 4).map { TopicPartitionOffset($0, offset: KafkaConsumer.beginning) })
        var records: [KafkaConsumerRecord] = []
        let deadline = ContinuousClock.now + timeout
        while records.count < count, ContinuousClock.now < deadline {
            records += try await consumer.poll(maxRecords: 500, timeout: .milliseconds(100)).filter { keys.contains($0.key?.string ?? "") }
        }
        await consumer.close()
        return records
    }
}
