import Dataflow
import Foundation
import StreamKit
import Testing

/// The outer-join examples of `topologies/` in the test driver, with models answering some time after the request.
struct ExampleOuterJoinTests {
    typealias T = TestModels

    static func example(_ file: String) throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("topologies/\(file)"), encoding: .utf8)
    }

    @Test func joinOuterGoesOutWithTheBranchThatRanWhenTheWindowExpires() async throws {
        let harness = try PipelineHarness(try Self.example("join-outer.yaml"))
        try await harness.request("join-outer", key: "a", [T.int32("CHOICE", [0]), T.fp32("INPUT", [1, 2])], headers: [KafkaHeader(key: "x-request-id", value: "a")])
        try await harness.driver.advanceWallClockTime(by: .milliseconds(50))
        try await harness.serve(["router": T.router, "add10": T.map { $0 + 10 }, "mul10": T.map { $0 * 10 }])
        try await harness.driver.advanceWallClockTime(by: .milliseconds(1000))
        #expect(try harness.requests(to: "identity").isEmpty, "the window is still open")
        try await harness.driver.advanceWallClockTime(by: .milliseconds(1500))
        let requests = try harness.requests(to: "identity")
        #expect(requests.map(\.request.inputs) == [[T.fp32("ADDED", [11, 12])]])
        #expect(requests.first?.headers.string("x-request-id") == "a", "a partial result keeps the request's headers")
        await harness.close()
    }

    @Test(arguments: ["triggers", "triggers-outer"])
    func severalTriggersLetTheStepRunOnceBothAnswered(_ pipeline: String) async throws {
        let harness = try PipelineHarness(try Self.example("triggers.yaml"))
        try await harness.request(pipeline, key: "a", [T.fp32("INPUT", [1]), TestModels.int64("INPUT0", [2]), TestModels.int64("INPUT1", [3])])
        try await harness.driver.advanceWallClockTime(by: .milliseconds(50))
        try await harness.serve(["add10": T.map { $0 + 10 }])
        try await harness.driver.advanceWallClockTime(by: .milliseconds(50))
        try await harness.serve(["sum64": { _ in [InferenceTensor(name: "OUTPUT", shape: [1], contents: .int64([5]))] }])
        #expect(try harness.requests(to: "mul10").map(\.key) == ["a"])
        try await harness.driver.advanceWallClockTime(by: .milliseconds(3000))
        #expect(try harness.requests(to: "mul10").isEmpty)
        await harness.close()
    }
}
