import Dataflow
import Foundation
import StreamKit
import Testing

/// What a pipeline holds in flight survives a SIGKILL of the process: rebuilt from its stores' changelogs when
/// its tasks start again in a new process, so a partial result still goes out, once.
@Suite(.enabled(if: TestModelServer.shouldRun), .serialized, .timeLimit(.minutes(5)))
struct CrashRecoveryTests {
    typealias Serve = DataflowProcess.Serve

    static let models = ["router", "add10", "mul10", "identity"].map {
        "apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata:\n  name: \($0)\n"
    }.joined(separator: "---\n")

    /// `join-outer` of topologies/ with a window long enough to kill the process inside it.
    static let pipeline = """
        ---
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Pipeline
        metadata:
          name: survivor
        spec:
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
        """

    /// Records of `topic` (every partition, from the beginning) whose key contains `key`, once `until` holds for
    /// them or `timeout` passed.
    static func records(
        _ topic: String,
        containing key: String,
        timeout: Duration = .seconds(60),
        until: ([KafkaConsumerRecord]) -> Bool
    ) async throws -> [KafkaConsumerRecord] {
        let consumer = try TestBroker.consumer()
        try await consumer.assign(TestBroker.partitions(topic, count: 4).map { TopicPartitionOffset($0, offset: KafkaConsumer.beginning) })
        var found: [KafkaConsumerRecord] = []
        let deadline = ContinuousClock.now + timeout
        while !until(found), ContinuousClock.now < deadline {
            found += try await consumer.poll(maxRecords: 500, timeout: .milliseconds(100)).filter {
                ($0.key ?? []).string.contains(key)
            }
        }
        await consumer.close()
        return found
    }

    @Test func anOuterJoinPartialResultGoesOutOnceAfterTheProcessIsKilledInsideItsWindow() async throws {
        let namespace = TestBroker.uniqueName("crash")
        let topics = TopicNames(prefix: "seldon", namespace: namespace)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.uniqueName("survivor") + ".yaml").path
        try (Self.models + Self.pipeline).write(toFile: file, atomically: true, encoding: .utf8)

        let first = try await Serve.start(namespace: namespace)
        let key = TestBroker.uniqueName("crash-request")
        do {
            let applied = try await DataflowProcess.run(["apply", "-f", file] + first.controlFlags)
            try #require(applied.status == 0, "\(applied)")
            let ready = try await DataflowProcess.run(["status", "pipeline", "survivor", "--wait", "Ready", "--timeout", "120s"] + first.controlFlags)
            try #require(ready.status == 0, "\(ready)")

            let producer = try TestBroker.producer()
            let request = InferenceRequest(id: key, inputs: [
                InferenceTensor(name: "CHOICE", shape: [1, 1], contents: .int32([0])),
                InferenceTensor(name: "INPUT", shape: [4], contents: .fp32([1, 2, 3, 4])),
            ])
            _ = try await producer.send(KafkaProducerRecord(
                topic: topics.pipelineInputs("survivor"), key: key.bytes, value: try request.serializedBytes(),
                headers: [KafkaHeader(key: "pipeline", value: "survivor"), KafkaHeader(key: "x-request-id", value: key)]
            ))
            await producer.close()

            // The add10 answer waits in the join's buffer once its change is on the buffer's changelog.
            let admin = try TestBroker.admin()
            var changelog: String?
            let deadline = ContinuousClock.now + .seconds(60)
            while changelog == nil, ContinuousClock.now < deadline {
                changelog = try await admin.listTopics().first { $0.hasSuffix("survivor.identity.inputs-unmatched-store-changelog") }
                if changelog == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            await admin.close()
            let buffered = try await Self.records(try #require(changelog), containing: key) { !$0.isEmpty }
            try #require(!buffered.isEmpty, "the partial join reached the buffer's changelog")
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
            #expect(response.outputs.map(\.name) == ["ADDED"])
            #expect(response.outputs.first?.contents == .fp32([11, 12, 13, 14]))
            print("outer join partial result \(ContinuousClock.now - killedAt) after the SIGKILL")
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
