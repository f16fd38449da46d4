import Dataflow
import Foundation
import Logging
import StreamKit
import Testing

/// The engine on the real broker: pipelines deployed, updated and deleted live in one running application, with
/// the test answering for the models through their topics as a model gateway would.
@Suite(.enabled(if: TestBroker.shouldRun), .serialized)
struct DataflowEngineTests {
    static func engine(_ topics: TopicNames) throws -> DataflowEngine {
        var configuration = DataflowConfiguration(bootstrapServers: [try TestBroker.bootstrap()], applicationID: TestBroker.uniqueName("engine"), topics: topics)
        configuration.useLocalBrokerDefaults()
        configuration.streams.commitInterval = .milliseconds(200)
        configuration.streams.stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.uniqueName("state")).path
        return DataflowEngine(configuration: configuration, logger: TestBroker.logger)
    }

    static func resources(_ yaml: String) throws -> [Resource] { try Resource.load(yaml: yaml, file: "engine-test.yaml") }

    static func pipeline(_ name: String, _ spec: String) -> String {
        "---\napiVersion: mlops.seldon.io/v1alpha1\nkind: Pipeline\nmetadata:\n  name: \(name)\nspec:\n"
            + spec.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
    }

    static let chain = pipeline("chain", """
        steps:
          - name: sum
          - name: sum2
            inputs: [sum]
            tensorMap:
              sum.outputs.OUTPUT0: INPUT0
              sum.outputs.OUTPUT1: INPUT1
        output:
          steps: [sum2]
        """)

    /// Sums and differences of INPUT0 and INPUT1, as the add/subtract test model answers.
    static func sum(_ request: InferenceRequest) -> [InferenceTensor] {
        guard request.inputs.count == 2, case .int32(let a) = request.inputs[0].contents, case .int32(let b) = request.inputs[1].contents else { return [] }
        return [
            InferenceTensor(name: "OUTPUT0", shape: request.inputs[0].shape, contents: .int32(zip(a, b).map(+))),
            InferenceTensor(name: "OUTPUT1", shape: request.inputs[0].shape, contents: .int32(zip(a, b).map(-))),
        ]
    }

    /// Answers every request reaching `models` until stopped, copying the request's headers as the model gateway does.
    static func serveModels(_ models: [String], topics: TopicNames, until stop: StopFlag) async throws {
        let consumer = try TestBroker.consumer(group: TestBroker.uniqueName("models"))
        let producer = try TestBroker.producer()
        try await consumer.subscribe(topics: models.map(topics.modelInputs))
        while !stop.isSet {
            for record in try await consumer.poll(maxRecords: 100, timeout: .milliseconds(100)) {
                let model = models.first { topics.modelInputs($0) == record.topic }!
                let request = try InferenceRequest(serializedBytes: record.value ?? [])
                let response = InferenceResponse(modelName: model, id: request.id, outputs: sum(request))
                _ = try await producer.send(KafkaProducerRecord(
                    topic: topics.modelOutputs(model), key: record.key, value: try response.serializedBytes(), headers: record.headers
                ))
            }
        }
        await consumer.close()
        await producer.close()
    }

    static func request(_ pipeline: String, keys: [String], topics: TopicNames) async throws {
        let producer = try TestBroker.producer()
        for (index, key) in keys.enumerated() {
            let value = Int32(index)
            let request = InferenceRequest(id: key, inputs: [
                InferenceTensor(name: "INPUT0", shape: [1, 2], contents: .int32([value, 1])),
                InferenceTensor(name: "INPUT1", shape: [1, 2], contents: .int32([10, 2])),
            ])
            _ = try await producer.send(KafkaProducerRecord(
                topic: topics.pipelineInputs(pipeline), key: key.bytes, value: try request.serializedBytes(),
                headers: [KafkaHeader(key: "pipeline", value: pipeline), KafkaHeader(key: "x-request-id", value: key)]
            ))
        }
        await producer.close()
    }

    static func outputs(_ consumer: KafkaConsumer, count: Int, timeout: Duration = .seconds(45)) async throws -> [String: InferenceResponse] {
        var responses: [String: InferenceResponse] = [:]
        for record in try await TestBroker.consume(consumer, count: count, timeout: timeout) {
            responses[record.key?.string ?? ""] = try InferenceResponse(serializedBytes: record.value ?? [])
        }
        return responses
    }

    @Test func pipelinesAreDeployedUpdatedAndDeletedWhileTheEngineRuns() async throws {
        let topics = TopicNames(prefix: "seldon", namespace: TestBroker.uniqueName("ns"))
        let engine = try Self.engine(topics)
        let running = Task { try await engine.run() }
        let stop = StopFlag()

        let first = await engine.waitUntilSettled(try await engine.apply(try Self.resources(Self.chain)).map(\.name))
        #expect(first.map(\.status) == [.ready])
        #expect(first.map(\.version) == [1])
        let models = Task { try await Self.serveModels(["sum", "sum2"], topics: topics, until: stop) }
        let chainOutputs = try TestBroker.consumer(group: TestBroker.uniqueName("client"))
        try await chainOutputs.subscribe(topics: [topics.pipelineOutputs("chain")])

        try await Self.request("chain", keys: ["a", "b"], topics: topics)
        let answers = try await Self.outputs(chainOutputs, count: 2)
        // sum2(sum(x, y)) = (2x, 2y)
        #expect(answers["a"]?.outputs.map(\.contents) == [.int32([0, 2]), .int32([20, 4])])
        #expect(answers["b"]?.outputs.map(\.contents) == [.int32([2, 2]), .int32([20, 4])])

        // A second pipeline sharing the model `sum`, and a new version of `chain` answering after one step.
        let second = await engine.waitUntilSettled(try await engine.apply(try Self.resources(
            Self.pipeline("single", "steps:\n  - name: sum\noutput:\n  steps: [sum]")
                + Self.chain.replacingOccurrences(of: "steps: [sum2]", with: "steps: [sum]")
        )).map(\.name))
        #expect(Set(second.map(\.name)) == ["single", "chain"])
        #expect(second.allSatisfy { $0.status == .ready })
        #expect(await engine.state(of: "chain")?.version == 2)
        let singleOutputs = try TestBroker.consumer(group: TestBroker.uniqueName("client"))
        try await singleOutputs.subscribe(topics: [topics.pipelineOutputs("single")])
        try await Self.request("single", keys: ["s"], topics: topics)
        try await Self.request("chain", keys: ["c"], topics: topics)
        #expect(try await Self.outputs(singleOutputs, count: 1)["s"]?.outputs.map(\.contents) == [.int32([10, 3]), .int32([-10, -1])])
        #expect(try await Self.outputs(chainOutputs, count: 1)["c"]?.outputs.map(\.contents) == [.int32([10, 3]), .int32([-10, -1])])

        let removed = await engine.delete("single")
        #expect(removed?.status == .terminated)
        try await Self.request("single", keys: ["gone"], topics: topics)
        try await Self.request("chain", keys: ["d"], topics: topics)
        #expect(try await Self.outputs(chainOutputs, count: 1)["d"] != nil)
        #expect(try await Self.outputs(singleOutputs, count: 1, timeout: .seconds(3)).isEmpty)
        #expect(await engine.pipelines().map(\.status) == [.ready, .terminated])

        stop.set()
        try await models.value
        await chainOutputs.close()
        await singleOutputs.close()
        running.cancel()
        _ = try? await running.value
    }

    /// Seldon's `spec.dataflow.cleanTopicsOnDelete`: deleting the pipeline deletes its inputs and outputs topics;
    /// without it they stay, and the shared model topics stay either way.
    @Test func cleanTopicsOnDeleteDeletesThePipelinesOwnTopics() async throws {
        let topics = TopicNames(prefix: "seldon", namespace: TestBroker.uniqueName("ns"))
        let engine = try Self.engine(topics)
        let running = Task { try await engine.run() }
        let applied = await engine.waitUntilSettled(try await engine.apply(try Self.resources(
            Self.pipeline("cleaned", "steps:\n  - name: sum\noutput:\n  steps: [sum]\ndataflow:\n  cleanTopicsOnDelete: true")
                + Self.pipeline("kept", "steps:\n  - name: sum\noutput:\n  steps: [sum]")
        )).map(\.name))
        #expect(applied.allSatisfy { $0.status == .ready })
        let admin = try KafkaAdmin(configuration: KafkaAdminConfiguration(bootstrapServers: [try TestBroker.bootstrap()]), logger: TestBroker.logger)
        let own = ["cleaned", "kept"].flatMap { [topics.pipelineInputs($0), topics.pipelineOutputs($0)] }
        #expect(Set(try await admin.listTopics()).isSuperset(of: own + [topics.modelInputs("sum")]))

        #expect(await engine.delete("cleaned")?.status == .terminated)
        #expect(await engine.delete("kept")?.status == .terminated)
        var listed = Set(try await admin.listTopics())
        let deadline = ContinuousClock.now + .seconds(30)
        while listed.contains(topics.pipelineInputs("cleaned")), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            listed = Set(try await admin.listTopics())
        }
        #expect(!listed.contains(topics.pipelineInputs("cleaned")) && !listed.contains(topics.pipelineOutputs("cleaned")), "deleted with the pipeline")
        #expect(listed.isSuperset(of: [topics.pipelineInputs("kept"), topics.pipelineOutputs("kept"), topics.modelInputs("sum"), topics.modelOutputs("sum")]))
        await admin.close()
        running.cancel()
        _ = try? await running.value
    }

    /// A pipeline whose topics cannot be joined (a model topic created elsewhere with another partition count)
    /// fails with the reason, and the pipelines running go on.
    @Test func aPipelineThatCannotRunFailsWithTheReasonAndTheOthersGoOn() async throws {
        let topics = TopicNames(prefix: "seldon", namespace: TestBroker.uniqueName("ns"))
        try await TestBroker.createTopic(topics.modelOutputs("sum"), partitions: 2)
        let engine = try Self.engine(topics)
        let running = Task { try await engine.run() }
        let single = await engine.waitUntilSettled(try await engine.apply(try Self.resources(Self.pipeline("single", "steps:\n  - name: sum2\noutput:\n  steps: [sum2]"))).map(\.name))
        #expect(single.map(\.status) == [.ready])

        let failed = try await engine.apply(try Self.resources(Self.chain))
        guard case .failed(let reason) = failed.first?.status else {
            Issue.record("expected a failure, got \(failed)")
            return
        }
        #expect(reason.contains("co-partitioned"))
        #expect(reason.contains(topics.modelOutputs("sum")))

        let stop = StopFlag()
        let models = Task { try await Self.serveModels(["sum2"], topics: topics, until: stop) }
        let outputs = try TestBroker.consumer(group: TestBroker.uniqueName("client"))
        try await outputs.subscribe(topics: [topics.pipelineOutputs("single")])
        try await Self.request("single", keys: ["still"], topics: topics)
        #expect(try await Self.outputs(outputs, count: 1)["still"] != nil)
        stop.set()
        try await models.value
        await outputs.close()
        running.cancel()
        _ = try? await running.value
    }

    @Test func anInvalidPipelineChangesNothing() async throws {
        let topics = TopicNames(prefix: "seldon", namespace: TestBroker.uniqueName("ns"))
        let engine = try Self.engine(topics)
        await #expect(throws: ResourceErrors.self) {
            try await engine.apply(try Self.resources(Self.pipeline("broken", "steps:\n  - name: sum\n    inputs: [nowhere]\noutput:\n  steps: [sum]")))
        }
        #expect(await engine.pipelines().isEmpty)
    }
}
