import Dataflow
import StreamKit
import Testing

/// Triggers gate a step without feeding it; absent tensors keep a step from running (conditional routing).
@Suite struct PipelineTriggerTests {
    typealias T = TestModels
    static let pipeline = PipelineCompilerTests.pipeline

    @Test func oneTriggerGatesTheStepAndIsNotPassedOn() async throws {
        let harness = try PipelineHarness(Self.pipeline("gated", """
            steps:
              - name: add10
              - name: mul10
                triggers: [add10]
            output:
              steps: [mul10]
            """))
        try await harness.request("gated", key: "g", [T.fp32("INPUT", [1])])
        #expect(try harness.requests(to: "mul10").isEmpty)
        try await harness.serve(["add10": T.map { $0 + 10 }])
        let gated = try harness.requests(to: "mul10")
        try #require(gated.count == 1)
        // The pipeline's input, not add10's output: trigger data is not passed to the model.
        #expect(gated[0].request.inputs.map(\.contents) == [.fp32([1])])
        await harness.close()
    }

    static func triggers(_ type: String) -> String {
        pipeline("gates", """
            steps:
              - name: add10
              - name: mul10
              - name: identity
                triggers: [add10, mul10]
                triggersJoinType: \(type)
                joinWindowMs: 500
            output:
              steps: [identity]
            """)
    }

    @Test func innerTriggersNeedEveryTrigger() async throws {
        let harness = try PipelineHarness(Self.triggers("inner"))
        try await harness.request("gates", key: "a", [T.fp32("INPUT", [1])])
        try await harness.serve(["add10": T.map { $0 + 10 }])
        _ = try harness.requests(to: "mul10")
        try await harness.driver.advanceWallClockTime(by: .seconds(1))
        #expect(try harness.requests(to: "identity").isEmpty)

        try await harness.request("gates", key: "b", [T.fp32("INPUT", [2])])
        let calls = try await harness.serve(["add10": T.map { $0 + 10 }, "mul10": T.map { $0 * 10 }, "identity": T.identity])
        #expect(calls["identity"] == 1)
        #expect(try harness.outputs("gates").map(\.key) == ["b"])
        await harness.close()
    }

    @Test func anyTriggersRunTheStepOnceOnTheFirst() async throws {
        let harness = try PipelineHarness(Self.triggers("any"))
        try await harness.request("gates", key: "a", [T.fp32("INPUT", [1])])
        try await harness.serve(["add10": T.map { $0 + 10 }])
        #expect(try harness.requests(to: "identity").map(\.key) == ["a"])
        try await harness.serve(["mul10": T.map { $0 * 10 }])
        #expect(try harness.requests(to: "identity").isEmpty)
        await harness.close()
    }

    @Test func outerTriggersRunTheStepWithSomeTriggersWhenTheWindowExpires() async throws {
        let harness = try PipelineHarness(Self.triggers("outer"))
        try await harness.request("gates", key: "a", [T.fp32("INPUT", [1])])
        try await harness.serve(["add10": T.map { $0 + 10 }])
        _ = try harness.requests(to: "mul10")
        #expect(try harness.requests(to: "identity").isEmpty)
        try await harness.driver.advanceWallClockTime(by: .milliseconds(700))
        #expect(try harness.requests(to: "identity").map(\.key) == ["a"])

        try await harness.request("gates", key: "b", [T.fp32("INPUT", [2])])
        try await harness.serve(["add10": T.map { $0 + 10 }, "mul10": T.map { $0 * 10 }])
        #expect(try harness.requests(to: "identity").map(\.key) == ["b"])
        try await harness.driver.advanceWallClockTime(by: .milliseconds(700))
        #expect(try harness.requests(to: "identity").isEmpty)
        await harness.close()
    }

    /// The router answers with OUTPUT0 or OUTPUT1; the step reading the absent one does not run.
    @Test func conditionalRoutingThroughAbsentTensors() async throws {
        let harness = try PipelineHarness(Self.pipeline("route", """
            steps:
              - name: router
              - name: add10
                inputs: [router.outputs.OUTPUT0]
                tensorMap:
                  router.outputs.OUTPUT0: INPUT
              - name: mul10
                inputs: [route.inputs.INPUT]
                triggers: [router.outputs.OUTPUT1]
            output:
              steps: [add10, mul10]
              stepsJoin: any
            """))
        try await harness.request("route", key: "zero", [T.int32("CHOICE", [0]), T.fp32("INPUT", [1])])
        try await harness.request("route", key: "one", [T.int32("CHOICE", [1]), T.fp32("INPUT", [2])])
        let calls = try await harness.serve(["router": T.router, "add10": T.map { $0 + 10 }, "mul10": T.map { $0 * 10 }])
        #expect(calls == ["router": 2, "add10": 1, "mul10": 1])
        let outputs = Dictionary(uniqueKeysWithValues: try harness.outputs("route").map { ($0.key, $0.tensors) })
        #expect(outputs == ["zero": ["OUTPUT": .fp32([11])], "one": ["OUTPUT": .fp32([20])]])
        await harness.close()
    }
}
