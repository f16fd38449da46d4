import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization
import Testing

/// An experiment applied to a running `dataflow serve` over real MLServer models: an 80/20 split over 1,000
/// requests within statistical bounds, every answer from the route its header names, sticky routes, and a
/// mirror that gets a copy of every request while clients never see its answers.
@Suite(.enabled(if: TestModelServer.shouldRun), .serialized)
struct ExperimentTests {
    final class Tally: Sendable {
        let counts = Mutex<[String: Int]>([:])
    }

    static let body = #"{"inputs":[{"name":"INPUT","datatype":"FP32","shape":[4],"data":[1,2,3,4]}]}"#

    func infer(_ serve: DataflowProcess.Serve, route: String? = nil) async throws -> (status: Int, route: String?, body: String) {
        var request = HTTPClientRequest(url: serve.serverURL + "/v2/models/add10/infer")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "seldon-model", value: "add10")
        if let route { request.headers.add(name: "x-seldon-route", value: route) }
        request.body = .bytes(ByteBuffer(string: Self.body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        return (Int(response.status.code), response.headers.first(name: "x-seldon-route"), String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    @Test func aWeightedSplitStickyRoutesAndAMirrorTheClientNeverSees() async throws {
        let serve = try await DataflowProcess.Serve.start(namespace: TestBroker.uniqueName("experiment"))
        do {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.uniqueName("experiment") + ".yaml")
            try (["add10", "mul10", "identity"].map { "apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata:\n  name: \($0)\n" } + ["""
                apiVersion: mlops.seldon.io/v1alpha1
                kind: Experiment
                metadata:
                  name: add-or-multiply
                spec:
                  default: add10
                  candidates:
                    - name: add10
                      weight: 80
                    - name: mul10
                      weight: 20
                  mirror:
                    name: identity
                    percent: 100
                """]).joined(separator: "---\n").write(to: file, atomically: true, encoding: .utf8)
            let applied = try await DataflowProcess.run(["apply", "-f", file.path] + serve.controlFlags)
            #expect(applied.status == 0, "\(applied)")

            let tally = Tally()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<20 {
                    group.addTask {
                        for _ in 0..<50 {
                            let answer = try await infer(serve)
                            let route = answer.route ?? "none"
                            let consistent = (route == ":add10:" && answer.body.contains("[11,12,13,14]"))
                                || (route == ":mul10:" && answer.body.contains("[10,20,30,40]"))
                            #expect(answer.status == 200 && consistent, "worker \(worker): \(answer)")
                            tally.counts.withLock { $0[route, default: 0] += 1 }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let split = tally.counts.withLock { $0 }
            // 1,000 draws at 0.8: mean 800, standard deviation 12.6; five of them either side.
            #expect((737...863).contains(split[":add10:"] ?? 0) && (split[":add10:"] ?? 0) + (split[":mul10:"] ?? 0) == 1000, "\(split)")

            for _ in 0..<30 {
                let sticky = try await infer(serve, route: ":mul10:")
                #expect(sticky.route == ":mul10:" && sticky.body.contains("[10,20,30,40]"), "\(sticky)")
            }

            // Every request was copied to the mirror; its answers are counted, and none reached a client above.
            let deadline = ContinuousClock.now + .seconds(60)
            var mirrored = 0.0
            while mirrored < 1030, ContinuousClock.now < deadline {
                mirrored = try await metric(serve, #"seldon_pipelinegateway_mirrored_total{target="model",name="identity",code="200"}"#) ?? 0
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(mirrored == 1030, "mirror copies answered: \(mirrored)")

            let deleted = try await DataflowProcess.run(["delete", "experiment", "add-or-multiply"] + serve.controlFlags)
            #expect(deleted.status == 0, "\(deleted)")
            let direct = try await infer(serve)
            #expect(direct.route == nil && direct.body.contains("[11,12,13,14]"), "no experiment any more: \(direct)")
        } catch {
            await serve.stop()
            throw error
        }
        await serve.stop()
    }

    func metric(_ serve: DataflowProcess.Serve, _ sample: String) async throws -> Double? {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: serve.serverURL + "/metrics"), timeout: .seconds(10))
        let text = String(buffer: try await response.body.collect(upTo: 8 << 20))
        return text.split(separator: "\n").first { $0.hasPrefix(sample + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test func anExperimentOverPipelines() async throws {
        let serve = try await DataflowProcess.Serve.start(namespace: TestBroker.uniqueName("experiment-pipelines"))
        do {
            let pipelines = [("adding", "add10"), ("multiplying", "mul10")].map { pipeline, model in
                "apiVersion: mlops.seldon.io/v1alpha1\nkind: Pipeline\nmetadata:\n  name: \(pipeline)\nspec:\n  steps:\n    - name: \(model)\n  output:\n    steps: [\(model)]\n"
            }
            let file = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.uniqueName("experiment") + ".yaml")
            try (["add10", "mul10"].map { "apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata:\n  name: \($0)\n" } + pipelines + ["""
                apiVersion: mlops.seldon.io/v1alpha1
                kind: Experiment
                metadata:
                  name: which-pipeline
                spec:
                  default: adding
                  resourceType: pipeline
                  candidates:
                    - name: adding
                      weight: 50
                    - name: multiplying
                      weight: 50
                """]).joined(separator: "---\n").write(to: file, atomically: true, encoding: .utf8)
            let applied = try await DataflowProcess.run(["apply", "-f", file.path] + serve.controlFlags)
            #expect(applied.status == 0, "\(applied)")
            for pipeline in ["adding", "multiplying"] {
                let ready = try await DataflowProcess.run(["status", "pipeline", pipeline, "--wait", "Ready", "--timeout", "60s"] + serve.controlFlags)
                #expect(ready.status == 0, "\(ready)")
            }
            var routes: [String: Int] = [:]
            for _ in 0..<100 {
                let answer = try await DataflowProcess.run(["infer", "adding", Self.body, "--output", "json", "--show-headers", "--server", serve.serverURL])
                let route = answer.errors.split(separator: "\n").first { $0.hasPrefix("x-seldon-route: ") }.map { String($0.dropFirst("x-seldon-route: ".count)) } ?? "none"
                let consistent = (route == ":adding:" && answer.output.contains("[11,12,13,14]")) || (route == ":multiplying:" && answer.output.contains("[10,20,30,40]"))
                #expect(answer.status == 0 && consistent, "\(answer)")
                routes[route, default: 0] += 1
            }
            // 100 draws at 0.5: standard deviation 5; five of them either side.
            #expect((25...75).contains(routes[":adding:"] ?? 0) && (routes[":adding:"] ?? 0) + (routes[":multiplying:"] ?? 0) == 100, "\(routes)")
            let sticky = try await DataflowProcess.run(["infer", "adding", Self.body, "--header", "x-seldon-route=:multiplying:", "--show-headers", "--server", serve.serverURL])
            #expect(sticky.output.contains("[10,20,30,40]") && sticky.errors.contains("x-seldon-route: :multiplying:"), "\(sticky)")
        } catch {
            await serve.stop()
            throw error
        }
        await serve.stop()
    }
}
