import Dataflow
import Foundation
import StreamKit
import Testing

/// What a pipeline holds in flight survives a SIGKILL of the process — an outer join's waiting record, an outer
/// trigger join's, an open batch — rebuilt from its stores' changelogs when its tasks start again in a new
/// process, so it still goes out when its window ends, once.
@Suite(.enabled(if: TestModelServer.shouldRun), .serialized, .timeLimit(.minutes(5)))
struct CrashRecoveryTests {
    typealias Serve = DataflowProcess.Serve

    static let models = ["router", "add10", "mul10", "identity", "sum64"].map {
        "apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata:\n  name: \($0)\n"
    }.joined(separator: "---\n")

    /// One thing a pipeline holds in flight: the pipeline (named `survivor`), the store whose changelog shows it
    /// waiting, the request, and the one answer that must come after the restart.
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var pipeline: String
        var store: String
        var request: [InferenceTensor]
        var answer: [String: TensorContents]
        /// Whether the store's records are keyed by request (the open batch is one record under a key of its own).
        var keyedByRequest = true
        var testDescription: String { name }
    }

    static let cases = [
        // `join-outer` of topologies/ with a window long enough to kill the process inside it.
        Case(name: "outer join", pipeline: """
            steps:
              - name: router
              - name: add10
                inputs: [router.outputs.OUTPUT0]
                tensorMap: {router.outputs.OUTPUT0: INPUT}
              - name: mul10
                inputs: [router.outputs.OUTPUT1]
                tensorMap: {router.outputs.OUTPUT1: INPUT}
              - name: identity
                inputs: [add10.outputs.OUTPUT, mul10.outputs.OUTPUT]
                inputsJoinType: outer
                joinWindowMs: 20000
                tensorMap: {add10.outputs.OUTPUT: ADDED, mul10.outputs.OUTPUT: MULTIPLIED}
            output:
              steps: [identity]
            """, store: "survivor.identity.inputs-unmatched-store",
            request: [InferenceTensor(name: "CHOICE", shape: [1, 1], contents: .int32([0])), InferenceTensor(name: "INPUT", shape: [4], contents: .fp32([1, 2, 3, 4]))],
            answer: ["ADDED": .fp32([11, 12, 13, 14])]),
        // `triggers-outer` of topologies/: sum64 never runs (no INPUT0/INPUT1), so mul10 waits for the window.
        Case(name: "outer trigger join", pipeline: """
            steps:
              - name: add10
                inputs: [survivor.inputs.INPUT]
              - name: sum64
                inputs: [survivor.inputs.INPUT0, survivor.inputs.INPUT1]
              - name: mul10
                inputs: [survivor.inputs.INPUT]
                triggers: [add10, sum64]
                triggersJoinType: outer
                joinWindowMs: 20000
            output:
              steps: [mul10]
            """, store: "survivor.mul10.triggers-unmatched-store",
            request: [InferenceTensor(name: "INPUT", shape: [4], contents: .fp32([1, 2, 3, 4]))],
            answer: ["OUTPUT": .fp32([10, 20, 30, 40])]),
        // A batch of up to 8 requests or 20 s: a lone request waits in the open batch.
        Case(name: "open batch", pipeline: """
            steps:
              - name: add10
                batch: {size: 8, windowMs: 20000}
            output:
              steps: [add10]
            """, store: "survivor.add10.batch-open",
            request: [InferenceTensor(name: "INPUT", shape: [1, 4], contents: .fp32([1, 2, 3, 4]))],
            answer: ["OUTPUT": .fp32([11, 12, 13, 14])], keyedByRequest: false),
    ]

    /// Records of `topic` (every partition, from the beginning) whose key contains `key` (any, when `nil`), once `until` holds for
    /// them or `timeout` passed.
    static func records(
        _ topic: String,
        containing key: String?,
        timeout: Duration = .seconds(60),
        until: ([KafkaConsumerRecord]) -> Bool
    ) async throws -> [KafkaConsumerRecord] {
        let consumer = try TestBroker.consumer()
        try await consumer.assign(TestBroker.partitions(topic, count: 4).map { TopicPartitionOffset($0, offset: KafkaConsumer.beginning) })
        var found: [KafkaConsumerRecord] = []
        let deadline = ContinuousClock.now + timeout
        while !until(found), ContinuousClock.now < deadline {
            found += try await consumer.poll(maxRecords: 500, timeout: .milliseconds(100)).filter { record in
                guard let key else { return true }
                return (record.key ?? []).string.contains(key)
            }
        }
        await consumer.close()
        return found
    }

    @Test(arguments: cases)
    func whatWaitsGoesOutOnceAfterTheProcessIsKilledInsideItsWindow(_ example: Case) async throws {
        let namespace = TestBroker.uniqueName("crash")
        let topics = TopicNames(prefix: "seldon", namespace: namespace)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.uniqueName("survivor") + ".yaml").path
        try (Self.models + DataflowEngineTests.pipeline("survivor", example.pipeline)).write(toFile: file, atomically: true, encoding: .utf8)

        let first = try await Serve.start(namespace: namespace)
        let key = TestBroker.uniqueName("crash-request")
        do {
            let applied = try await DataflowProcess.run(["apply", "-f", file] + first.controlFlags)
            try #require(applied.status == 0, "\(applied)")
            let ready = try await DataflowProcess.run(["status", "pipeline", "survivor", "--wait", "Ready", "--timeout", "120s"] + first.controlFlags)
            try #require(ready.status == 0, "\(ready)")

            let producer = try TestBroker.producer()
            let request = InferenceRequest(id: key, inputs: example.request)
            _ = try await producer.send(KafkaProducerRecord(
                topic: topics.pipelineInputs("survivor"), key: key.bytes, value: try request.serializedBytes(),
                headers: [KafkaHeader(key: "pipeline", value: "survivor"), KafkaHeader(key: "x-request-id", value: key)]
            ))
            await producer.close()

            // It waits once its change is on the store's changelog.
            let admin = try TestBroker.admin()
            var changelog: String?
            let deadline = ContinuousClock.now + .seconds(60)
            while changelog == nil, ContinuousClock.now < deadline {
                changelog = try await admin.listTopics().first { $0.hasSuffix("\(example.store)-changelog") }
                if changelog == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            await admin.close()
            let buffered = try await Self.records(try #require(changelog), containing: example.keyedByRequest ? key : nil) { !$0.isEmpty }
            try #require(!buffered.isEmpty, "\(example.name): it reached the store's changelog")
        } catch {
            await first.stop(SIGKILL)
            throw error
        }
        let killedAt = ContinuousClock.now
        #expect(await first.stop(SIGKILL) == 128 + SIGKILL)
        let answersBeforeRestart = try await Self.records(topics.pipelineOutputs("survivor"), containing: key, timeout: .seconds(1)) { _ in false }
        #expect(answersBeforeRestart.isEmpty, "the window had not expired when the process was killed")

        let second = try await Serve.start(namespace: namespace)
        do {
            let answers = try await Self.records(topics.pipelineOutputs("survivor"), containing: key, timeout: .seconds(90)) { !$0.isEmpty }
            try #require(answers.count == 1, "the partial result came out after the restart: \(answers.count)")
            let response = try InferenceResponse(serializedBytes: answers[0].value ?? [])
            #expect(Dictionary(uniqueKeysWithValues: response.outputs.map { ($0.name, $0.contents) }) == example.answer, "\(example.name)")
            print("\(example.name): answered \(ContinuousClock.now - killedAt) after the SIGKILL")
            // Whatever would repeat it is written beside it: read on a little and count again.
            let all = try await Self.records(topics.pipelineOutputs("survivor"), containing: key, timeout: .seconds(3)) { _ in false }
            if all.count != 1 {
                for topic in [topics.modelOutputs("add10"), topics.modelInputs("identity"), topics.modelOutputs("identity")] {
                    let seen = try await Self.records(topic, containing: key, timeout: .seconds(2)) { _ in false }
                    print("diagnosis: \(topic): \(seen.map { "\($0.partition)@\($0.offset) t=\($0.timestamp)" })")
                }
            }
            #expect(all.count == 1, "the partial result went out once, not \(all.count) times: \(all.map { record in "\(record.partition)@\(record.offset) \(record.headers.map { "\($0.key)=\(($0.value ?? []).string)" }) \((try? InferenceResponse(serializedBytes: record.value ?? []).outputs.map { "\($0.name)=\($0.contents)" }) ?? [(record.value ?? []).string])" })")
        } catch {
            await second.stop()
            throw error
        }
        await second.stop()
    }
}
