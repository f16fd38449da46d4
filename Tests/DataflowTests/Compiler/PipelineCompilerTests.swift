import Dataflow
import StreamKit
import Testing

/// Each pipeline semantic, compiled and run in the topology test driver with Swift stand-ins for the models.
@Suite struct PipelineCompilerTests {
    typealias T = TestModels

    static func pipeline(_ name: String, _ spec: String) -> String {
        "---\napiVersion: mlops.seldon.io/v1alpha1\nkind: Pipeline\nmetadata:\n  name: \(name)\nspec:\n"
            + spec.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n") + "\n"
    }

    static let pair = [T.int32("INPUT0", [1, 2, 3]), T.int32("INPUT1", [10, 20, 30])]

    @Test func chainWithTensorMap() async throws {
        let harness = try PipelineHarness(Self.pipeline("chain", """
            steps:
              - name: sum
              - name: sum2
                inputs: [sum]
                tensorMap:
                  sum.outputs.OUTPUT0: INPUT0
                  sum.outputs.OUTPUT1: INPUT1
            output:
              steps: [sum2]
            """))
        try await harness.request("chain", key: "r1", Self.pair, headers: [KafkaHeader(key: "x-request-id", value: "r1"), KafkaHeader(key: "x-user", value: "u")])
        let calls = try await harness.serve(["sum": T.sum, "sum2": T.sum])
        #expect(calls == ["sum": 1, "sum2": 1])
        let outputs = try harness.outputs("chain")
        try #require(outputs.count == 1)
        #expect(outputs[0].key == "r1")
        // (a+b)+(a-b) = 2a, (a+b)-(a-b) = 2b
        #expect(outputs[0].tensors == ["OUTPUT0": .int32([2, 4, 6]), "OUTPUT1": .int32([20, 40, 60])])
        #expect(outputs[0].headers.string("pipeline") == "chain")
        #expect(outputs[0].headers.string("x-request-id") == "r1")
        #expect(outputs[0].headers.string("x-user") == "u")
        await harness.close()
    }

    @Test func aPipelineWithoutOutputRunsItsStepsAndAnswersNothing() async throws {
        let harness = try PipelineHarness(Self.pipeline("detector", "steps:\n  - name: sum\n"))
        try await harness.request("detector", key: "r1", Self.pair)
        #expect(try await harness.serve(["sum": T.sum]) == ["sum": 1])
        #expect(try harness.outputs("detector").isEmpty)
        await harness.close()
    }

    @Test func modelRequestsCarryThePipelineHeaderAndOnlyTheSelectedTensors() async throws {
        let harness = try PipelineHarness(Self.pipeline("pick", """
            steps:
              - name: add10
                inputs: [pick.inputs.B]
                tensorMap:
                  pick.inputs.B: INPUT
            output:
              steps: [add10]
            """))
        try await harness.request("pick", key: "k", [T.fp32("A", [1]), T.fp32("B", [2, 3])])
        let requests = try harness.requests(to: "add10")
        try #require(requests.count == 1)
        #expect(requests[0].request.inputs.map(\.name) == ["INPUT"])
        #expect(requests[0].request.inputs[0].contents == .fp32([2, 3]))
        #expect(requests[0].headers.string("pipeline") == "pick")
        await harness.close()
    }

    @Test func innerJoinWaitsForEverySourceAndKeepsSourceOrder() async throws {
        let harness = try PipelineHarness(Self.pipeline("join", """
            steps:
              - name: add10
              - name: mul10
              - name: identity
                inputs: [mul10.outputs.OUTPUT, add10.outputs.OUTPUT]
                tensorMap:
                  mul10.outputs.OUTPUT: M
                  add10.outputs.OUTPUT: A
            output:
              steps: [identity]
            """))
        try await harness.request("join", key: "j", [T.fp32("INPUT", [1, 2])])
        try await harness.serve(["add10": T.map { $0 + 10 }])
        #expect(try harness.requests(to: "identity").isEmpty)
        try await harness.serve(["mul10": T.map { $0 * 10 }, "identity": T.identity])
        let outputs = try harness.outputs("join")
        try #require(outputs.count == 1)
        #expect(outputs[0].names == ["M", "A"])
        #expect(outputs[0].tensors == ["M": .fp32([10, 20]), "A": .fp32([11, 12])])
        await harness.close()
    }

    /// After a failover, or behind a backlog, one source of a join comes long after the other, and after records
    /// of later requests have moved the task's stream time far ahead: the late source still joins.
    @Test func aJoinSourceArrivingAfterLaterRequestsStillJoins() async throws {
        let harness = try PipelineHarness(Self.pipeline("join", """
            steps:
              - name: add10
              - name: mul10
              - name: identity
                inputs: [add10, mul10]
                joinWindowMs: 500
                tensorMap:
                  add10.outputs.OUTPUT: A
                  mul10.outputs.OUTPUT: M
            output:
              steps: [identity]
            """))
        let requested = harness.driver.clock.now()
        try await harness.request("join", key: "late", [T.fp32("INPUT", [1])])
        try await harness.serve(["add10": T.map { $0 + 10 }])
        let waiting = try #require(try harness.requests(to: "mul10").first)

        try await harness.driver.advanceWallClockTime(by: .seconds(60))
        try await harness.request("join", key: "later", [T.fp32("INPUT", [2])])
        try await harness.serve(["add10": T.map { $0 + 10 }, "mul10": T.map { $0 * 10 }, "identity": T.identity])
        #expect(try harness.outputs("join").map(\.key) == ["later"])

        // mul10's answer to the first request, stamped with that request's time (as the model gateway does).
        try await harness.driver.pipe(KafkaProducerRecord(
            topic: harness.topics.modelOutputs("mul10"), key: Array("late".utf8),
            value: try InferenceResponse(modelName: "mul10", id: "late", outputs: [T.fp32("OUTPUT", [10])]).serializedBytes(),
            headers: waiting.headers, timestamp: requested
        ))
        try await harness.serve(["identity": T.identity])
        #expect(try harness.outputs("join").map(\.key) == ["late"])
        await harness.close()
    }

    @Test func outerJoinSendsWhatArrivedWhenTheWindowExpiresByTheClock() async throws {
        let harness = try PipelineHarness(Self.pipeline("outer", """
            steps:
              - name: add10
              - name: mul10
              - name: identity
                inputs: [add10, mul10]
                inputsJoinType: outer
                joinWindowMs: 500
                tensorMap:
                  add10.outputs.OUTPUT: A
                  mul10.outputs.OUTPUT: M
            output:
              steps: [identity]
            """))
        try await harness.request("outer", key: "full", [T.fp32("INPUT", [1])])
        try await harness.serve(["add10": T.map { $0 + 10 }, "mul10": T.map { $0 * 10 }])
        let full = try harness.requests(to: "identity")
        #expect(full.map { $0.request.inputs.map(\.name) } == [["A", "M"]])

        try await harness.request("outer", key: "half", [T.fp32("INPUT", [2])])
        try await harness.serve(["add10": T.map { $0 + 10 }])
        _ = try harness.requests(to: "mul10")  // mul10 never answers
        #expect(try harness.requests(to: "identity").isEmpty)
        try await harness.driver.advanceWallClockTime(by: .milliseconds(700))
        let partial = try harness.requests(to: "identity")
        #expect(partial.map(\.key) == ["half"])
        #expect(partial.first?.request.inputs.map(\.name) == ["A"])
        await harness.close()
    }

    @Test func anyJoinRunsTheStepForEachArrival() async throws {
        let harness = try PipelineHarness(Self.pipeline("anyjoin", """
            steps:
              - name: add10
              - name: mul10
              - name: identity
                inputs: [add10, mul10]
                inputsJoinType: any
            output:
              steps: [identity]
            """))
        try await harness.request("anyjoin", key: "a", [T.fp32("INPUT", [1])])
        let calls = try await harness.serve(["add10": T.map { $0 + 10 }, "mul10": T.map { $0 * 10 }, "identity": T.identity])
        #expect(calls["identity"] == 2)
        let outputs = try harness.outputs("anyjoin")
        #expect(Set(outputs.map { $0.tensors["OUTPUT"] }) == [.fp32([11]), .fp32([10])])
        await harness.close()
    }
}
