import Foundation
import Testing

/// Ready means ready, as a user checks it with the `dataflow` command: the first request sent after
/// `status --wait Ready` is answered, for pipelines applied to a running instance and after the instance starts
/// again from the recovered desired state.
@Suite(.enabled(if: TestModelServer.shouldRun), .serialized, .timeLimit(.minutes(10)))
struct ReadyTests {
    typealias Serve = DataflowProcess.Serve

    static let request = #"{"inputs":[{"name":"INPUT","datatype":"FP32","shape":[4],"data":[1,2,3,4]}]}"#

    static func pipeline(_ name: String, _ model: String) -> String {
        """
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Model
        metadata: {name: \(model)}
        ---
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Pipeline
        metadata: {name: \(name)}
        spec:
          steps: [{name: \(model)}]
          output: {steps: [\(model)]}
        """
    }

    static func file(_ yaml: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.uniqueName("ready") + ".yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `apply`, `status --wait Ready`, `infer`: the answer comes (the CLI's own timeout is the gateway's, 30 s).
    static func applyWaitAndAsk(_ serve: Serve, _ name: String, model: String) async throws -> DataflowProcess.Outcome {
        let applied = try await DataflowProcess.run(["apply", "-f", try file(pipeline(name, model))] + serve.controlFlags)
        #expect(applied.status == 0, "\(applied)")
        return try await waitAndAsk(serve, name)
    }

    static func waitAndAsk(_ serve: Serve, _ name: String) async throws -> DataflowProcess.Outcome {
        let ready = try await DataflowProcess.run(["status", "pipeline", name, "--wait", "Ready", "--timeout", "120s"] + serve.controlFlags)
        #expect(ready.status == 0 && ready.output.hasPrefix("\(name): Ready"), "\(ready)")
        return try await DataflowProcess.run(["infer", name, request, "--server", serve.serverURL])
    }

    @Test func theFirstRequestAfterReadyIsAnsweredTwentyTimesAndAfterARestart() async throws {
        let namespace = TestBroker.uniqueName("ready")
        let serve = try await Serve.start(namespace: namespace)
        do {
            for index in 0..<20 {
                let model = index.isMultiple(of: 2) ? "add10" : "mul10"
                let answer = try await Self.applyWaitAndAsk(serve, "ready\(index)", model: model)
                let expected = index.isMultiple(of: 2) ? "[11,12,13,14]" : "[10,20,30,40]"
                #expect(answer.status == 0 && answer.output.contains("OUTPUT FP32 [4] = \(expected)"), "ready\(index): \(answer)")
            }
        } catch {
            await serve.stop()
            throw error
        }
        #expect(await serve.stop() == 0)

        // A cold start: the desired state comes back from the control topic, and each pipeline's group forms again.
        let started = ContinuousClock.now
        let restarted = try await Serve.start(namespace: namespace)
        do {
            let answer = try await Self.waitAndAsk(restarted, "ready19")
            #expect(answer.status == 0 && answer.output.contains("OUTPUT FP32 [4] = [10,20,30,40]"), "after the restart: \(answer)")
            print("cold start with 20 pipelines recovered: first answer \(ContinuousClock.now - started) after the process started")
            for index in [0, 7] {
                let again = try await Self.waitAndAsk(restarted, "ready\(index)")
                #expect(again.status == 0, "ready\(index) after the restart: \(again)")
            }
        } catch {
            await restarted.stop()
            throw error
        }
        #expect(await restarted.stop() == 0)
    }
}
