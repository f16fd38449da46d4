import Dataflow
import StreamKit
import Testing

/// Requests batched before one model call, and the answer split back into one per request.
@Suite struct PipelineBatchTests {
    typealias T = TestModels

    static func batched(_ batch: String) -> String {
        PipelineCompilerTests.pipeline("batched", """
            steps:
              - name: add10
                batch:
            \(batch.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n"))
            output:
              steps: [add10]
            """)
    }

    static func row(_ value: Float) -> [InferenceTensor] { [InferenceTensor(name: "INPUT", shape: [1, 2], contents: .fp32([value, value + 1]))] }

    @Test func bySizeStacksRequestsAndSplitsTheAnswer() async throws {
        let harness = try PipelineHarness(Self.batched("size: 3"))
        for (index, key) in ["a", "b", "c", "d"].enumerated() {
            try await harness.request("batched", key: key, Self.row(Float(index * 10)), headers: [KafkaHeader(key: "x-request-id", value: key)])
        }
        let requests = try harness.requests(to: "add10")
        try #require(requests.count == 1)
        #expect(requests[0].key == "c")
        #expect(requests[0].request.inputs[0].shape == [3, 2])
        #expect(requests[0].request.inputs[0].contents == .fp32([0, 1, 10, 11, 20, 21]))
        try await harness.answer("add10", key: requests[0].key, try T.map { $0 + 10 }(requests[0].request), headers: requests[0].headers)
        let outputs = try harness.outputs("batched")
        #expect(outputs.map(\.key) == ["a", "b", "c"])
        #expect(outputs.map { $0.tensors["OUTPUT"] } == [.fp32([10, 11]), .fp32([20, 21]), .fp32([30, 31])])
        #expect(outputs.map { $0.headers.string("x-request-id") } == ["a", "b", "c"])
        #expect(outputs.allSatisfy { $0.headers.string("dataflow-batch") == nil })
        await harness.close()
    }

    @Test func byWindowSendsWhatCameWithinIt() async throws {
        let harness = try PipelineHarness(Self.batched("size: 10\nwindowMs: 200"))
        try await harness.request("batched", key: "a", Self.row(1))
        try await harness.request("batched", key: "b", Self.row(2))
        #expect(try harness.requests(to: "add10").isEmpty)
        try await harness.driver.advanceWallClockTime(by: .milliseconds(300))
        let requests = try harness.requests(to: "add10")
        #expect(requests.map { $0.request.inputs[0].shape } == [[2, 2]])
        try await harness.answer("add10", key: requests[0].key, try T.map { $0 + 10 }(requests[0].request), headers: requests[0].headers)
        #expect(try harness.outputs("batched").map(\.key) == ["a", "b"])
        await harness.close()
    }

    @Test func rollingSendsEachRequestWithThoseBeforeIt() async throws {
        let harness = try PipelineHarness(Self.batched("size: 2\nrolling: true"))
        for (index, key) in ["a", "b", "c"].enumerated() {
            try await harness.request("batched", key: key, Self.row(Float(index)))
        }
        let requests = try harness.requests(to: "add10")
        #expect(requests.map(\.key) == ["a", "b", "c"])
        #expect(requests.map { $0.request.inputs[0].contents } == [.fp32([0, 1]), .fp32([0, 1, 1, 2]), .fp32([1, 2, 2, 3])])
        try await harness.serve(["add10": T.map { $0 + 10 }])
        for request in requests {
            try await harness.answer("add10", key: request.key, try T.map { $0 + 10 }(request.request), headers: request.headers)
        }
        // Each request gets the whole answer to its own rolling batch.
        let outputs = try harness.outputs("batched")
        #expect(outputs.map(\.key) == ["a", "b", "c"])
        #expect(outputs.map { $0.tensors["OUTPUT"] } == [.fp32([10, 11]), .fp32([10, 11, 11, 12]), .fp32([11, 12, 12, 13])])
        await harness.close()
    }

    @Test func anAnswerThatCannotBeSplitIsAnErrorForEachRequest() async throws {
        let harness = try PipelineHarness(Self.batched("size: 2"))
        try await harness.request("batched", key: "a", Self.row(1))
        try await harness.request("batched", key: "b", Self.row(2))
        let request = try #require(try harness.requests(to: "add10").first)
        try await harness.answer("add10", key: request.key, [T.fp32("OUTPUT", [1])], headers: request.headers)
        let outputs = try harness.outputs("batched")
        #expect(outputs.map(\.key) == ["a", "b"])
        #expect(outputs.allSatisfy { $0.error?.source == "add10" && $0.error?.reason.contains("cannot split") == true })
        await harness.close()
    }

    @Test func aModelErrorForABatchReachesEveryRequest() async throws {
        let harness = try PipelineHarness(Self.batched("size: 2"))
        try await harness.request("batched", key: "a", Self.row(1))
        try await harness.request("batched", key: "b", Self.row(2))
        let request = try #require(try harness.requests(to: "add10").first)
        try await harness.fail("add10", key: request.key, reason: "out of memory", headers: request.headers)
        let outputs = try harness.outputs("batched")
        #expect(outputs.map(\.key) == ["a", "b"])
        #expect(outputs.allSatisfy { $0.error?.source == "add10" && $0.error?.reason == "out of memory" })
        await harness.close()
    }
}
