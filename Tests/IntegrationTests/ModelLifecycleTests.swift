import Dataflow
import Foundation
import Testing
@testable import Gateways

/// Models placed on real MLServers by `dataflow serve`: a model with a local `storageUri` on a server that
/// declares its repository is copied there, loaded, Available and answering through a pipeline, which is Ready
/// only then; deleting it unloads it and removes the copy.
@Suite(.enabled(if: TestModelServer.shouldRun), .serialized)
struct ModelLifecycleTests {
    func run(_ arguments: [String]) async throws -> DataflowProcess.Outcome { try await DataflowProcess.run(arguments) }

    @Test func aModelWithAStorageUriIsLoadedAvailableAnsweringAndUnloadedOnDelete() async throws {
        let name = TestBroker.uniqueName("placed")
        try await TestModelServer.with(name) { address in
            let folder = TestModelServer.root.appendingPathComponent(".run/\(name)-models").path
            let storage = "file://" + TestModelServer.root.appendingPathComponent("Tests/Models/add10").path
            let resources = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.uniqueName("placed") + ".yaml")
            let pipeline = """
                apiVersion: mlops.seldon.io/v1alpha1
                kind: Pipeline
                metadata:
                  name: placed
                spec:
                  steps:
                    - name: placed-add10
                  output:
                    steps: [placed-add10]
                """
            try [Self.placed(model: "placed-add10", from: storage, on: "repo-server", at: address, repository: folder, "memory: 10Mi"), pipeline]
                .joined(separator: "\n---\n").write(to: resources, atomically: true, encoding: .utf8)

            let namespace = TestBroker.uniqueName("lifecycle")
            let serve = try await DataflowProcess.Serve.start(namespace: namespace, defaultServer: nil)
            do {
                let control = serve.controlFlags
                let applied = try await run(["apply", "-f", resources.path] + control)
                #expect(applied.status == 0, "\(applied)")
                let available = try await run(["status", "model", "placed-add10", "--wait", "Available", "--timeout", "90s"] + control)
                #expect(available.status == 0 && available.output.contains("on server repo-server"), "\(available)")
                #expect(FileManager.default.fileExists(atPath: folder + "/placed-add10/model-settings.json"), "copied into the server's repository")
                let ready = try await run(["status", "pipeline", "placed", "--wait", "Ready", "--timeout", "60s"] + control)
                #expect(ready.status == 0, "\(ready)")
                let answered = try await run(["infer", "placed", #"{"inputs":[{"name":"INPUT","datatype":"FP32","shape":[4],"data":[1,2,3,4]}]}"#, "--server", serve.serverURL])
                #expect(answered.status == 0 && answered.output.contains("OUTPUT FP32 [4] = [11,12,13,14]"), "\(answered)")
                let id = TestBroker.uniqueName("direct")
                let direct = try await run([
                    "infer", "placed-add10", "--model", #"{"inputs":[{"name":"INPUT","datatype":"FP32","shape":[4],"data":[1,2,3,4]}]}"#,
                    "--request-id", id, "--server", serve.serverURL,
                ])
                #expect(direct.status == 0 && direct.output.contains("OUTPUT FP32 [4] = [11,12,13,14]"), "\(direct)")
                let modelInputs = TopicNames(prefix: "seldon", namespace: namespace).modelInputs("placed-add10")
                #expect(try await !PipelineGatewayTests.requestIDs(on: modelInputs).contains(id), "called on the server it was placed on, not through Kafka")
                let models = try await run(["get", "models"] + control)
                #expect(models.output.contains("placed-add10") && models.output.contains("Available"), "\(models)")

                let deleted = try await run(["delete", "model", "placed-add10"] + control)
                #expect(deleted.status == 0, "\(deleted)")
                let repository = ModelRepository(server: "repo-server", folder: folder, endpoint: address)
                let deadline = ContinuousClock.now + .seconds(30)
                while try await repository.ready().contains("placed-add10"), ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(200))
                }
                #expect(try await !repository.ready().contains("placed-add10"), "unloaded")
                #expect(!FileManager.default.fileExists(atPath: folder + "/placed-add10"), "its copy removed")
            } catch {
                await serve.stop()
                throw error
            }
            await serve.stop()
        }
    }

    /// Explainers placed like models: each is told, in its `model-settings.json`, the inference URL of the model
    /// or pipeline it explains, and calls it there (an explainer-shaped runtime that answers with what it got).
    @Test func anExplainerIsPlacedAndCallsTheModelOrPipelineItExplains() async throws {
        let name = TestBroker.uniqueName("explainers")
        try await TestModelServer.with(name) { address in
            let folder = TestModelServer.root.appendingPathComponent(".run/\(name)-models").path
            let explainer = "file://" + TestModelServer.root.appendingPathComponent("Tests/Explainers/echo").path
            let resources = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.uniqueName("explainers") + ".yaml")
            try [
                Self.placed(model: "explained-add10", from: storage("add10"), on: "explainer-server", at: address, repository: folder),
                """
                apiVersion: mlops.seldon.io/v1alpha1
                kind: Pipeline
                metadata:
                  name: explained
                spec:
                  steps:
                    - name: explained-add10
                  output:
                    steps: [explained-add10]
                """,
                Self.explainer("add10-explainer", from: explainer, "modelRef: explained-add10"),
                Self.explainer("pipeline-explainer", from: explainer, "pipelineRef: explained"),
            ].joined(separator: "\n---\n").write(to: resources, atomically: true, encoding: .utf8)

            let serve = try await DataflowProcess.Serve.start(namespace: TestBroker.uniqueName("explainers"), defaultServer: nil)
            do {
                let control = serve.controlFlags
                let applied = try await run(["apply", "-f", resources.path] + control)
                #expect(applied.status == 0, "\(applied)")
                for model in ["explained-add10", "add10-explainer", "pipeline-explainer"] {
                    let available = try await run(["status", "model", model, "--wait", "Available", "--timeout", "90s"] + control)
                    #expect(available.status == 0 && available.output.contains("on server explainer-server"), "\(available)")
                }
                #expect(try await run(["status", "pipeline", "explained", "--wait", "Ready", "--timeout", "60s"] + control).status == 0)
                let settings = try String(contentsOfFile: folder + "/add10-explainer/model-settings.json", encoding: .utf8)
                #expect(settings.contains(#""explainer_type" : "anchor_tabular""#), "\(settings)")

                for (model, uri) in [
                    ("add10-explainer", "\(serve.serverURL)/v2/models/explained-add10.model/infer"),
                    ("pipeline-explainer", "\(serve.serverURL)/v2/pipelines/explained/infer"),
                ] {
                    let explained = try await run(["infer", model, "--model", Self.request, "--output", "json", "--server", serve.serverURL])
                    #expect(explained.status == 0, "\(explained)")
                    let answer = try JSONSerialization.jsonObject(with: Data(explained.output.utf8)) as? [String: Any]
                    let parameters = answer?["parameters"] as? [String: Any]
                    #expect(parameters?["infer_uri"] as? String == uri, "\(explained.output)")
                    #expect(parameters?["explainer_type"] as? String == "anchor_tabular")
                    let outputs = answer?["outputs"] as? [[String: Any]]
                    #expect(outputs?.first?["data"] as? [Double] == [11, 12, 13, 14], "what it explains answered through that URL: \(explained.output)")
                }
            } catch {
                await serve.stop()
                throw error
            }
            await serve.stop()
        }
    }

    static func explainer(_ name: String, from storageUri: String, _ reference: String) -> String {
        """
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Model
        metadata:
          name: \(name)
        spec:
          storageUri: \(storageUri)
          explainer:
            type: anchor_tabular
            \(reference)
        """
    }

    @Test func aDeletedModelIsUnloadingUntilItsServerHasUnloadedItThenNotFound() async throws {
        let name = TestBroker.uniqueName("unloading")
        try await TestModelServer.with(name) { address in
            let storage = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.uniqueName("slow-unload"))
            try FileManager.default.createDirectory(at: storage, withIntermediateDirectories: true)
            try #"{"name": "slow-unload", "implementation": "runtimes.SlowUnload"}"#
                .write(to: storage.appendingPathComponent("model-settings.json"), atomically: true, encoding: .utf8)
            let folder = TestModelServer.root.appendingPathComponent(".run/\(name)-models").path
            let resources = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.uniqueName("unloading") + ".yaml")
            try Self.placed(model: "slow", from: "file://" + storage.path, on: "slow-server", at: address, repository: folder)
                .write(to: resources, atomically: true, encoding: .utf8)

            let serve = try await DataflowProcess.Serve.start(
                namespace: TestBroker.uniqueName("unloading"), defaultServer: nil, ["--model-roots", "\(TestModelServer.root.path),\(storage.path)"]
            )
            do {
                let control = serve.controlFlags
                #expect(try await run(["apply", "-f", resources.path] + control).status == 0)
                let available = try await run(["status", "model", "slow", "--wait", "Available", "--timeout", "90s"] + control)
                #expect(available.status == 0, "\(available)")

                let deleted = try await run(["delete", "model", "slow"] + control)
                #expect(deleted.status == 0, "\(deleted)")
                // Its server takes 3 s to unload it: meanwhile it is shown, Unloading, where it still is.
                let unloading = try await run(["status", "model", "slow"] + control)
                #expect(unloading.status == 0 && unloading.output.contains("slow: Unloading") && unloading.output.contains("on server slow-server"), "\(unloading)")
                let listed = try await run(["get", "models"] + control)
                #expect(listed.output.contains("Unloading"), "\(listed)")
                let shown = try await run(["get", "model", "slow"] + control)
                #expect(shown.status == 1, "no longer applied: \(shown)")

                let gone = try await run(["status", "model", "slow", "--wait", "NotFound", "--timeout", "30s"] + control)
                #expect(gone.status == 0, "\(gone)")
                let repository = ModelRepository(server: "slow-server", folder: folder, endpoint: address)
                #expect(try await !repository.ready().contains("slow"), "unloaded before NotFound")
                #expect(!FileManager.default.fileExists(atPath: folder + "/slow"), "its copy removed")
                #expect(try await run(["status", "model", "slow"] + control).status == 1)
            } catch {
                await serve.stop()
                throw error
            }
            await serve.stop()
        }
    }

    /// A server with a model repository and a model placed on it, as YAML; `extra` adds a line to the model's spec.
    static func placed(model: String, from storageUri: String, on server: String, at endpoint: String, repository: String, _ extra: String? = nil) -> String {
        """
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Server
        metadata:
          name: \(server)
        spec:
          endpoint: \(endpoint)
          repository: \(repository)
        ---
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Model
        metadata:
          name: \(model)
        spec:
          storageUri: \(storageUri)
        """ + (extra.map { "\n  \($0)" } ?? "")
    }

    static let request = #"{"inputs":[{"name":"INPUT","datatype":"FP32","shape":[4],"data":[1,2,3,4]}]}"#

    func storage(_ model: String) -> String { "file://" + TestModelServer.root.appendingPathComponent("Tests/Models/\(model)").path }

    func resources(servers: [(name: String, address: String)], model storageUri: String, replicas: Int) throws -> URL {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.uniqueName("replicas") + ".yaml")
        var documents = servers.map { server in
            """
            apiVersion: mlops.seldon.io/v1alpha1
            kind: Server
            metadata:
              name: \(server.name)
            spec:
              endpoint: \(server.address)
              repository: \(TestModelServer.root.appendingPathComponent(".run/\(server.name)-models").path)
            """
        }
        documents.append("""
            apiVersion: mlops.seldon.io/v1alpha1
            kind: Model
            metadata:
              name: twice
            spec:
              storageUri: \(storageUri)
              replicas: \(replicas)
            """)
        documents.append("""
            apiVersion: mlops.seldon.io/v1alpha1
            kind: Pipeline
            metadata:
              name: doubled
            spec:
              steps:
                - name: twice
              output:
                steps: [twice]
            """)
        try documents.joined(separator: "\n---\n").write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test func twoReplicasOnTwoServersOneServerKilledRequestsStillAnsweredAnUpdateRollsOutAndTheServerGetsItsReplicaBack() async throws {
        let (first, second) = (TestBroker.uniqueName("replica-a"), TestBroker.uniqueName("replica-b"))
        try await TestModelServer.with(first) { firstAddress in
            try await TestModelServer.with(second) { secondAddress in
                let servers = [(first, firstAddress), (second, secondAddress)]
                let serve = try await DataflowProcess.Serve.start(namespace: TestBroker.uniqueName("replicas"), defaultServer: nil)
                do {
                    let control = serve.controlFlags
                    let applied = try await run(["apply", "-f", try resources(servers: servers, model: storage("add10"), replicas: 2).path] + control)
                    #expect(applied.status == 0, "\(applied)")
                    let available = try await run(["status", "model", "twice", "--wait", "Available", "--timeout", "90s"] + control)
                    #expect(available.output.contains("on server \(first)") && available.output.contains("on server \(second)"), "two replicas: \(available)")
                    let ready = try await run(["status", "pipeline", "doubled", "--wait", "Ready", "--timeout", "60s"] + control)
                    #expect(ready.status == 0, "\(ready)")

                    try await TestModelServer.stop(first)
                    for _ in 0..<20 {
                        let answered = try await run(["infer", "doubled", Self.request, "--server", serve.serverURL, "--timeout", "60s"])
                        #expect(answered.status == 0 && answered.output.contains("[11,12,13,14]"), "answered by the replica left: \(answered)")
                    }

                    // A new version (another model's artifacts) rolls out on the server left; the old one answers
                    // until the new one is loaded, and nothing fails meanwhile.
                    let updated = try await run(["apply", "-f", try resources(servers: servers, model: storage("mul10"), replicas: 2).path] + control)
                    #expect(updated.status == 0, "\(updated)")
                    var answers: Set<String> = []
                    let deadline = ContinuousClock.now + .seconds(90)
                    while !answers.contains("[10,20,30,40]"), ContinuousClock.now < deadline {
                        let answered = try await run(["infer", "doubled", Self.request, "--server", serve.serverURL, "--timeout", "60s"])
                        #expect(answered.status == 0, "\(answered)")
                        for data in ["[11,12,13,14]", "[10,20,30,40]"] where answered.output.contains(data) { answers.insert(data) }
                    }
                    #expect(answers.contains("[10,20,30,40]"), "the new version answers: \(answers)")
                    let status = try await run(["status", "model", "twice"] + control)
                    #expect(status.output.hasPrefix("twice: Available") && status.output.contains("on server \(second)"), "\(status)")

                    // The stopped server comes back on its port: the model, one replica short, is loaded on it again.
                    let port = try #require(Int(firstAddress.split(separator: ":").last ?? ""))
                    try await TestModelServer.start(first, httpPort: port)
                    let both = ContinuousClock.now + .seconds(60)
                    var placed = try await run(["status", "model", "twice"] + control)
                    while !placed.output.contains("on server \(first)"), ContinuousClock.now < both {
                        try await Task.sleep(for: .milliseconds(500))
                        placed = try await run(["status", "model", "twice"] + control)
                    }
                    #expect(placed.output.contains("on server \(first)") && placed.output.contains("on server \(second)"), "loaded again: \(placed)")
                    #expect(FileManager.default.fileExists(atPath: TestModelServer.root.appendingPathComponent(".run/\(first)-models/twice").path))
                } catch {
                    await serve.stop()
                    throw error
                }
                await serve.stop()
            }
        }
    }
}
