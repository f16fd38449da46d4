import Dataflow
import StreamKit
import Testing

/// Pipelines fed by other pipelines, pipelines sharing models, errors on their way to the client, and cycles.
@Suite struct PipelineCompositionTests {
    typealias T = TestModels
    static let pipeline = PipelineCompilerTests.pipeline
    static let pair = PipelineCompilerTests.pair
    static let first = pipeline("first", """
        steps:
          - name: sum
        output:
          steps: [sum]
        """)

    static func second(_ input: String) -> String {
        pipeline("second", """
            input:
            \(input.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
            steps:
              - name: sum2
            output:
              steps: [sum2]
            """)
    }

    @Test func fromAnotherPipelinesOutputs() async throws {
        let harness = try PipelineHarness(Self.first + Self.second("""
            externalInputs: [first.outputs]
            tensorMap:
              first.outputs.OUTPUT0: INPUT0
              first.outputs.OUTPUT1: INPUT1
            """))
        try await harness.request("first", key: "k", Self.pair)
        try await harness.serve(["sum": T.sum, "sum2": T.sum])
        #expect(try harness.outputs("first").map { $0.tensors["OUTPUT0"] } == [.int32([11, 22, 33])])
        let second = try harness.outputs("second")
        #expect(second.map(\.key) == ["k"])
        #expect(second.map { $0.tensors["OUTPUT0"] } == [.int32([2, 4, 6])])
        #expect(second.first?.headers.string("pipeline") == "second")
        await harness.close()
    }

    @Test func fromAnotherPipelinesInputs() async throws {
        let harness = try PipelineHarness(Self.first + Self.second("externalInputs: [first.inputs]"))
        try await harness.request("first", key: "k", Self.pair)
        let calls = try await harness.serve(["sum": T.sum, "sum2": T.sum])
        #expect(calls == ["sum": 1, "sum2": 1])
        #expect(try harness.outputs("second").map { $0.tensors["OUTPUT0"] } == [.int32([11, 22, 33])])
        await harness.close()
    }

    @Test func fromAnotherPipelinesStepOutputs() async throws {
        let harness = try PipelineHarness(Self.first + Self.second("""
            externalInputs: [first.step.sum.outputs.OUTPUT1]
            tensorMap:
              first.step.sum.outputs.OUTPUT1: INPUT0
            """).replacingOccurrences(of: "- name: sum2", with: "- name: identity").replacingOccurrences(of: "[sum2]", with: "[identity]"))
        try await harness.request("first", key: "k", Self.pair)
        try await harness.serve(["sum": T.sum, "identity": T.identity])
        let second = try harness.outputs("second")
        #expect(second.map(\.names) == [["INPUT0"]])
        #expect(second.first?.tensors["INPUT0"] == .int32([-9, -18, -27]))
        await harness.close()
    }

    @Test func triggeredByAnotherPipeline() async throws {
        let harness = try PipelineHarness(Self.first + Self.pipeline("second", """
            input:
              externalInputs: [first.inputs]
              externalTriggers: [first.outputs]
            steps:
              - name: sum2
            output:
              steps: [sum2]
            """))
        try await harness.request("first", key: "k", Self.pair)
        #expect(try harness.requests(to: "sum2").isEmpty)
        let calls = try await harness.serve(["sum": T.sum, "sum2": T.sum])
        #expect(calls == ["sum": 1, "sum2": 1])
        #expect(try harness.outputs("second").map { $0.tensors["OUTPUT0"] } == [.int32([11, 22, 33])])
        await harness.close()
    }

    @Test func pipelinesSharingAModelEachSeeOnlyTheirOwnRecords() async throws {
        let harness = try PipelineHarness(
            Self.pipeline("plus", "steps:\n  - name: add10\noutput:\n  steps: [add10]")
                + Self.pipeline("plustimes", "steps:\n  - name: add10\n  - name: mul10\n    inputs: [add10]\n    tensorMap:\n      add10.outputs.OUTPUT: INPUT\noutput:\n  steps: [mul10]")
        )
        try await harness.request("plus", key: "same", [T.fp32("INPUT", [1])])
        try await harness.request("plustimes", key: "same", [T.fp32("INPUT", [2])])
        let calls = try await harness.serve(["add10": T.map { $0 + 10 }, "mul10": T.map { $0 * 10 }])
        #expect(calls == ["add10": 2, "mul10": 1])
        #expect(try harness.outputs("plus").map { $0.tensors["OUTPUT"] } == [.fp32([11])])
        #expect(try harness.outputs("plustimes").map { $0.tensors["OUTPUT"] } == [.fp32([120])])
        await harness.close()
    }

    @Test func modelErrorsReachThePipelinesOutputs() async throws {
        let harness = try PipelineHarness(Self.first)
        try await harness.request("first", key: "bad", Self.pair, headers: [KafkaHeader(key: "x-request-id", value: "bad")])
        let request = try #require(try harness.requests(to: "sum").first)
        try await harness.fail("sum", key: "bad", reason: "rpc error: shape mismatch", headers: request.headers)
        let outputs = try harness.outputs("first")
        try #require(outputs.count == 1)
        #expect(outputs[0].error?.source == "sum")
        #expect(outputs[0].error?.reason == "rpc error: shape mismatch")
        #expect(outputs[0].headers.string("x-request-id") == "bad")
        await harness.close()
    }

    @Test func aMalformedRequestBecomesAnErrorAndTheStreamGoesOn() async throws {
        let harness = try PipelineHarness(Self.first)
        try await harness.driver.pipe(KafkaProducerRecord(
            topic: harness.topics.pipelineInputs("first"), key: Array("junk".utf8), value: [0xFF, 0x01, 0x02],
            headers: [KafkaHeader(key: "pipeline", value: "first")], timestamp: harness.driver.clock.now()
        ))
        try await harness.request("first", key: "good", Self.pair)
        try await harness.serve(["sum": T.sum])
        let outputs = try harness.outputs("first")
        #expect(outputs.map(\.key) == ["junk", "good"])
        #expect(outputs[0].error?.source == "first")
        #expect(outputs[0].error?.reason.contains("not a protobuf ModelInferRequest") == true)
        #expect(outputs[1].response != nil)
        await harness.close()
    }

    @Test func aCycleStopsWithAnErrorAfterMaxStepRevisits() async throws {
        let harness = try PipelineHarness(Self.pipeline("loop", """
            allowCycles: true
            maxStepRevisits: 2
            steps:
              - name: add10
                inputs: [loop.inputs.INPUT, mul10.outputs.OUTPUT]
                inputsJoinType: any
                tensorMap:
                  mul10.outputs.OUTPUT: INPUT
              - name: mul10
                inputs: [add10]
                tensorMap:
                  add10.outputs.OUTPUT: INPUT
            output:
              steps: [mul10]
            """))
        try await harness.request("loop", key: "k", [T.fp32("INPUT", [0])])
        let calls = try await harness.serve(["add10": T.map { $0 + 10 }, "mul10": T.map { $0 * 10 }])
        #expect(calls == ["add10": 3, "mul10": 3])
        let outputs = try harness.outputs("loop")
        #expect(outputs.compactMap { $0.tensors["OUTPUT"] } == [.fp32([100]), .fp32([1100]), .fp32([11100])])
        #expect(outputs.compactMap(\.error).map(\.source) == ["add10"])
        #expect(outputs.compactMap(\.error).first?.reason.contains("maxStepRevisits") == true)
        #expect(outputs.allSatisfy { $0.headers.string("dataflow-visits") == nil })
        await harness.close()
    }
}
