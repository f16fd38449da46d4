import Foundation
import Testing
import ProjectScripts

/// The `dataflow` command as a user meets it, against the real broker and MLServer: `serve` processes, and the
/// client commands' output and exit codes.
@Suite(.enabled(if: TestModelServer.shouldRun), .serialized)
struct DataflowCLITests {
    typealias Serve = DataflowProcess.Serve

    static let models = ["add10", "mul10", "sum", "sum-b", "sum-c"].map {
        "apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata:\n  name: \($0)\n"
    }.joined(separator: "---\n")

    static let chainRequest = #"{"inputs":[{"name":"INPUT","datatype":"FP32","shape":[4],"data":[1,2,3,4]}]}"#
    static let sumRequest = #"{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,2],"data":[1,2]},{"name":"INPUT1","datatype":"INT32","shape":[1,2],"data":[3,4]}]}"#

    /// A folder with the models (served by the default server) and the `chain` and `sum-chain` topologies.
    func resources() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.uniqueName("resources"))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Self.models.write(to: folder.appendingPathComponent("0-models.yaml"), atomically: true, encoding: .utf8)
        for name in ["chain", "sum-chain"] {
            let topology = TestModelServer.root.appendingPathComponent("topologies/\(name).yaml")
            try FileManager.default.copyItem(at: topology, to: folder.appendingPathComponent("\(name).yaml"))
        }
        return folder.path
    }

    func run(_ arguments: [String], token: String? = nil, environment: [String: String] = [:]) async throws -> DataflowProcess.Outcome {
        try await DataflowProcess.run(arguments, environment: environment.merging(token.map { ["DATAFLOW_AUTH_TOKEN": $0] } ?? [:]) { $1 })
    }

    /// The data of the first output tensor of an OIP response printed with `--output json`.
    func outputData(_ outcome: DataflowProcess.Outcome, tensor: String) -> [Double]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any],
              let outputs = object["outputs"] as? [[String: Any]],
              let found = outputs.first(where: { $0["name"] as? String == tensor })
        else { return nil }
        return (found["data"] as? [Any])?.compactMap { ($0 as? NSNumber)?.doubleValue }
    }

    @Test func applyStatusInferInspectDescribeDeleteWithAToken() async throws {
        let serve = try await Serve.start(
            namespace: TestBroker.uniqueName("cli"), ["--auth-token", "s3cret", "--inference-auth", "--log-format", "json", "--log-level", "debug"]
        )
        do {
            let control = serve.controlFlags
            let refused = try await run(["get", "pipelines"] + control)
            #expect(refused.status == 1 && refused.errors.contains("bearer token") && refused.errors.contains("hint:"), "\(refused)")

            let applied = try await run(["apply", "-f", try resources()] + control, token: "s3cret")
            #expect(applied.status == 0 && applied.output.contains("pipeline chain:") && applied.output.contains("model add10: Applied"), "\(applied)")
            let ready = try await run(["status", "pipeline", "chain", "--wait", "Ready", "--timeout", "90s"] + control, token: "s3cret")
            #expect(ready.status == 0 && ready.output.hasPrefix("chain: Ready"), "\(ready)")

            let server = ["--server", serve.serverURL]
            let anonymous = try await run(["infer", "chain", Self.chainRequest] + server)
            #expect(anonymous.status == 1 && anonymous.errors.contains("token"), "\(anonymous)")
            let answered = try await run(
                ["infer", "chain", Self.chainRequest, "--output", "json", "--header", "x-client=cli", "--request-id", "cli-trace-1"] + server, token: "s3cret"
            )
            #expect(answered.status == 0 && outputData(answered, tensor: "OUTPUT") == [110, 120, 130, 140], "\(answered)")
            let lines = serve.process.standardError.split(separator: "\n")
            let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(!lines.isEmpty && objects.count == lines.count, "every log line is a JSON object: \(lines.first { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) == nil } ?? "")")
            #expect(objects.contains { $0["x-request-id"] as? String == "cli-trace-1" && $0["message"] as? String == "request answered" }, "the request's log line names it")

            // Seldon Core 2's model metrics, for its dashboards: every call to a server, per model and endpoint.
            let metrics = try await serve.metrics().split(separator: "\n")
            let called = metrics.filter { $0.hasPrefix("seldon_model_infer_total{") && $0.contains(#"model="add10""#) }
            #expect(called.count == 1 && called[0].contains(#"server="default""#) && called[0].contains(#"server_replica="0""#)
                && called[0].contains(#"method_type="rest""#) && !called[0].hasSuffix(" 0"), "\(called)")
            #expect(metrics.contains { $0.hasPrefix("seldon_model_infer_api_seconds_count{") && $0.contains(#"code="200""#) }, "latency histogram")
            #expect(metrics.contains { $0.hasPrefix("seldon_model_aggregate_infer_seconds_total{") }, "aggregate latency")
            #expect(metrics.contains { $0.hasPrefix("seldon_modelgateway_request_duration_seconds_count{") }, "our own histogram, with its unit")
            let grpc = try await run(["infer", "chain", Self.chainRequest, "--grpc", "--server", "127.0.0.1:\(serve.grpc)", "-n", "5"], token: "s3cret")
            #expect(grpc.status == 0 && grpc.output.contains("OUTPUT FP32 [4] = [110,120,130,140]") && grpc.errors.contains("5 requests in"), "\(grpc)")

            let tensor = try await run(["inspect", "chain.add10.outputs.OUTPUT", "--output", "json"] + server, token: "s3cret")
            let report = try JSONSerialization.jsonObject(with: Data(tensor.output.utf8)) as? [String: Any]
            let records = report?["records"] as? [[String: Any]] ?? []
            #expect(tensor.status == 0 && records.count == 1 && records.first?["step"] as? String == "add10", "\(tensor)")
            #expect(tensor.output.contains("11") && tensor.output.contains("14"), "\(tensor)")
            let recent = try await run(["inspect", "chain.outputs", "--offset", "1", "--verbose", "--truncate", "12"] + server, token: "s3cret")
            #expect(recent.status == 0 && recent.output.contains("x-request-id: ") && recent.output.contains("pipeline: chain"), "headers shown: \(recent)")
            #expect(recent.output.split(separator: "\n").contains { $0.hasSuffix("…") && $0.count <= 15 }, "data cut to 12 characters: \(recent)")
            let path = try await run(["inspect", "chain"] + server, token: "s3cret")
            let places = path.output.split(separator: "\n").filter { !$0.hasPrefix(" ") }.dropFirst().map { String($0.prefix { $0 != " " }) }
            #expect(places == ["chain.inputs", "add10.inputs", "add10.outputs", "mul10.inputs", "mul10.outputs", "chain.outputs"], "\(path)")

            let described = try await run(["describe", "pipeline", "chain"] + control, token: "s3cret")
            #expect(described.status == 0 && described.output.contains("inputs: [chain.inputs]") && described.output.contains("Sub-topology: 0"), "\(described)")
            let dot = try await run(["describe", "pipeline", "chain", "--dot"] + control, token: "s3cret")
            #expect(dot.output.hasPrefix("digraph topology {"), "\(dot)")
            let listed = try await run(["get", "pipelines", "--output", "json"] + control, token: "s3cret")
            #expect(listed.status == 0 && listed.output.contains("\"sum-chain\""), "\(listed)")

            for closedPipe in [["get", "pipelines"], ["status", "pipeline", "chain", "--wait", "Ready"], ["describe", "pipeline", "chain"]] {
                let piped = try await DataflowProcess.run(closedPipe + control, environment: ["DATAFLOW_AUTH_TOKEN": "s3cret"], outputReaderGone: true)
                #expect(piped.status == 141 && piped.errors.isEmpty, "`dataflow \(closedPipe.joined(separator: " "))` into a closed pipe ends quietly like a Unix tool: \(piped)")
            }

            let deleted = try await run(["delete", "pipeline", "chain"] + control, token: "s3cret")
            #expect(deleted.status == 0 && deleted.output.contains("pipeline chain deleted"), "\(deleted)")
            let gone = try await run(["status", "pipeline", "chain", "--wait", "NotFound", "--timeout", "30s"] + control, token: "s3cret")
            #expect(gone.status == 0, "\(gone)")
            let unknown = try await run(["infer", "chain", Self.chainRequest] + server, token: "s3cret")
            #expect(unknown.status == 1 && unknown.errors.contains("pipeline chain not found"), "\(unknown)")
            let waiting = try await run(["status", "pipeline", "chain", "--wait", "Ready", "--timeout", "1s"] + control, token: "s3cret")
            #expect(waiting.status == 2 && waiting.errors.contains("still NotFound after 1s"), "\(waiting)")
        } catch {
            await serve.stop()
            throw error
        }
        #expect(await serve.stop() == 0, "a clean stop on SIGTERM")
    }

    /// A self-signed certificate for 127.0.0.1 and its key, made with openssl in a new folder.
    static func certificate() throws -> (certificate: String, key: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.uniqueName("tls")).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", folder + "/key.pem", "-out", folder + "/cert.pem",
        ]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        try #require(openssl.terminationStatus == 0, "openssl made the certificate")
        return (folder + "/cert.pem", folder + "/key.pem")
    }

    @Test func everyAPIServesTLSWithAGeneratedCertificateAndOnlyTLS() async throws {
        let tls = try Self.certificate()
        let serve = try await Serve.start(namespace: TestBroker.uniqueName("tls"), tls: tls)
        do {
            let trusted = serve.controlFlags + ["--cacert", tls.certificate]
            let applied = try await run(["apply", "-f", try resources()] + trusted)
            #expect(applied.status == 0 && applied.output.contains("pipeline chain:"), "\(applied)")
            let ready = try await run(["status", "pipeline", "chain", "--wait", "Ready", "--timeout", "90s"] + trusted)
            #expect(ready.status == 0 && ready.output.hasPrefix("chain: Ready"), "\(ready)")

            let https = try await run(["infer", "chain", Self.chainRequest, "--output", "json", "--server", serve.serverURL, "--cacert", tls.certificate])
            #expect(https.status == 0 && outputData(https, tensor: "OUTPUT") == [110, 120, 130, 140], "\(https)")
            let grpcs = try await run(["infer", "chain", Self.chainRequest, "--grpc", "--server", "grpcs://127.0.0.1:\(serve.grpc)"], environment: ["DATAFLOW_CACERT": tls.certificate])
            #expect(grpcs.status == 0 && grpcs.output.contains("OUTPUT FP32 [4] = [110,120,130,140]"), "\(grpcs)")

            let untrusted = try await run(["get", "pipelines"] + serve.controlFlags)
            #expect(untrusted.status != 0 && untrusted.errors.lowercased().contains("certificate"), "a certificate the client does not trust is refused: \(untrusted)")
            let plainControl = try await run(["get", "pipelines", "--control", "http://127.0.0.1:\(serve.control)"])
            #expect(plainControl.status != 0, "no plain HTTP on the control port: \(plainControl)")
            let plainHTTP = try await run(["infer", "chain", Self.chainRequest, "--server", "http://127.0.0.1:\(serve.http)", "--timeout", "10s"])
            #expect(plainHTTP.status != 0, "no plain HTTP on the inference port: \(plainHTTP)")
            let plainGRPC = try await run(["infer", "chain", Self.chainRequest, "--grpc", "--server", "127.0.0.1:\(serve.grpc)", "--timeout", "10s"])
            #expect(plainGRPC.status != 0, "no plaintext gRPC: \(plainGRPC)")
        } catch {
            await serve.stop()
            throw error
        }
        #expect(await serve.stop() == 0, "a clean stop on SIGTERM")

        let missing = try await run(["serve", "--tls-cert", tls.certificate, "--tls-key", "/nonexistent/key.pem"])
        #expect(missing.status != 0 && missing.errors.contains("/nonexistent/key.pem"), "a key that cannot be read stops serve at once, naming it: \(missing)")
        let half = try await run(["serve", "--tls-cert", tls.certificate])
        #expect(half.status != 0 && half.errors.contains("tls-key"), "\(half)")
    }

    /// A port already in use is an error `serve` exits with at once; it used to leave the process up without its
    /// inference API, and deaf to SIGTERM.
    @Test(.timeLimit(.minutes(2))) func anInferencePortInUseEndsServeWithTheError() async throws {
        let port = DataflowProcess.freePort()
        let taken = try #require(LocalPort.occupy(port))
        defer { close(taken) }
        let state = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.uniqueName("state")).path
        let outcome = try await DataflowProcess.run([
            "serve", "--bootstrap", try TestBroker.bootstrap(), "--local-broker", "--namespace", TestBroker.uniqueName("busy"),
            "--http-port", "\(port)", "--grpc-port", "\(DataflowProcess.freePort())", "--control-port", "\(DataflowProcess.freePort())",
            "--state-dir", state,
        ])
        #expect(outcome.status == 1 && outcome.errors.contains("Address already in use"), "\(outcome)")
    }

    @Test func badYAMLNamesFileLineAndFieldAndBadCommandLinesAreUsageErrors() async throws {
        let serve = try await Serve.start(namespace: TestBroker.uniqueName("cli-bad"))
        do {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.uniqueName("broken") + ".yaml")
            try ControlPlaneTests.broken(step: "inptus: [broken.inputs]").write(to: file, atomically: true, encoding: .utf8)
            let refused = try await run(["apply", "-f", file.path] + serve.controlFlags)
            #expect(refused.status == 1, "\(refused)")
            #expect(refused.errors.contains("\(file.path):8") && refused.errors.contains("inptus"), "\(refused)")
            let listed = try await run(["get", "pipelines"] + serve.controlFlags)
            #expect(!listed.output.contains("broken"), "nothing was applied: \(listed)")

            let missing = try await run(["apply", "-f", "/nonexistent.yaml"] + serve.controlFlags)
            #expect(missing.status == 64 && missing.errors.contains("/nonexistent.yaml: no such file"), "\(missing)")
            let badRequest = try await run(["infer", "chain", "{not json", "--server", serve.serverURL])
            #expect(badRequest.status == 64 && badRequest.errors.contains("not an OIP inference request") && badRequest.errors.contains("hint:"), "\(badRequest)")
            let badDuration = try await run(["status", "pipeline", "x", "--wait", "Ready", "--timeout", "soon"])
            #expect(badDuration.status == 64, "\(badDuration)")
            let unreachable = try await run(["get", "pipelines", "--control", "http://127.0.0.1:1"])
            #expect(unreachable.status == 3 && unreachable.errors.contains("is `dataflow serve` running?"), "\(unreachable)")
        } catch {
            await serve.stop()
            throw error
        }
        await serve.stop()
    }

    /// Waits until `serve` answers `request` on `pipeline` with `expected` for `tensor`, for up to `timeout`.
    func answers(_ serve: Serve, _ pipeline: String, _ request: String, tensor: String, _ expected: [Double], timeout: Duration = .seconds(90)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let outcome = try await run(["infer", pipeline, request, "--output", "json", "--timeout", "20s", "--server", serve.serverURL])
            if outcome.status == 0, outputData(outcome, tensor: tensor) == expected { return true }
            try await Task.sleep(for: .milliseconds(500))
        }
        return false
    }

    /// The ids of the instances alive, as `dataflow get instances` lists them.
    func instances(_ serve: Serve) async throws -> [String] {
        let listed = try await run(["get", "instances", "--output", "json"] + serve.controlFlags)
        let object = (try? JSONSerialization.jsonObject(with: Data(listed.output.utf8))) as? [String: Any]
        return (object?["instances"] as? [[String: Any]] ?? []).compactMap { $0["instance"] as? String }
    }

    /// A restarted instance is the same instance: its id (the root of the engine's transactional ids, so that it
    /// fences its predecessor's open transactions) is kept in its state directory, or given.
    @Test func aRestartedInstanceKeepsItsIdAndAGivenIdIsUsed() async throws {
        let namespace = TestBroker.uniqueName("cli-id")
        let first = try await Serve.start(namespace: namespace, defaultServer: nil)
        var running = [first]
        do {
            let ids = try await instances(first)
            #expect(ids.count == 1, "\(ids)")
            let id = try #require(ids.first)
            #expect(await first.stop(SIGKILL) == 128 + SIGKILL)
            running = []

            let again = try await Serve.start(namespace: namespace, defaultServer: nil, state: first.state)
            running = [again]
            #expect(try await instances(again) == [id], "the restart reports as the instance it replaces, not beside it")
            let named = try await Serve.start(namespace: namespace, defaultServer: nil, ["--instance-id", "engine-7"])
            running.append(named)
            let deadline = ContinuousClock.now + .seconds(30)
            var listed: [String] = []
            while Set(listed) != [id, "engine-7"], ContinuousClock.now < deadline {
                listed = try await instances(again)
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(Set(listed) == [id, "engine-7"])
        } catch {
            for serve in running where serve.process.isRunning { await serve.stop(SIGKILL) }
            throw error
        }
        for serve in running { await serve.stop() }
    }

    @Test func twoInstancesShareTheWorkOneIsKilledAndRestartsRecoverThePipelines() async throws {
        let namespace = TestBroker.uniqueName("cli-two")
        let a = try await Serve.start(namespace: namespace)
        let b = try await Serve.start(namespace: namespace)
        // A pipeline gateway alone: it learns the pipelines and their status from the control topics.
        let gateway = try await Serve.start(namespace: namespace, ["--role", "pipeline-gateway", "--role", "control"])
        var restarted: [Serve] = []
        do {
            let applied = try await run(["apply", "-f", try resources()] + a.controlFlags)
            #expect(applied.status == 0, "\(applied)")
            for serve in [a, b] {
                for pipeline in ["chain", "sum-chain"] {
                    let ready = try await run(["status", "pipeline", pipeline, "--wait", "Ready", "--timeout", "90s"] + serve.controlFlags)
                    #expect(ready.status == 0, "\(ready)")
                }
            }
            let status = try await run(["status", "pipeline", "chain", "--output", "json"] + b.controlFlags)
            let engines = ((try? JSONSerialization.jsonObject(with: Data(status.output.utf8))) as? [String: Any])?["engines"] as? [Any]
            #expect(engines?.count == 2, "the status is aggregated over both instances: \(status)")
            let instances = try await run(["get", "instances"] + a.controlFlags)
            #expect(instances.output.split(separator: "\n").count == 4, "three instances alive: \(instances)")
            #expect(instances.output.contains("pipeline-gateway,control "), "\(instances)")
            for serve in [a, b, gateway] {
                #expect(try await answers(serve, "chain", Self.chainRequest, tensor: "OUTPUT", [110, 120, 130, 140]))
                #expect(try await answers(serve, "sum-chain", Self.sumRequest, tensor: "OUTPUT0", [8, 12]))
            }

            #expect(await a.stop(SIGKILL) == 128 + SIGKILL)
            #expect(try await answers(b, "chain", Self.chainRequest, tensor: "OUTPUT", [110, 120, 130, 140]), "the other instance takes over")
            #expect(try await answers(b, "sum-chain", Self.sumRequest, tensor: "OUTPUT0", [8, 12]))
            #expect(try await answers(gateway, "chain", Self.chainRequest, tensor: "OUTPUT", [110, 120, 130, 140]), "the gateway alone goes on too")
            for _ in 0..<10 {
                let outcome = try await run(["infer", "sum-chain", Self.sumRequest, "--output", "json", "--server", b.serverURL])
                #expect(outcome.status == 0 && outputData(outcome, tensor: "OUTPUT1") == [-4, -4], "\(outcome)")
            }

            #expect(await b.stop() == 0)
            #expect(await gateway.stop() == 0)
            restarted = [try await Serve.start(namespace: namespace), try await Serve.start(namespace: namespace)]
            for serve in restarted {
                let listed = try await run(["get", "pipelines"] + serve.controlFlags)
                #expect(listed.output.contains("chain") && listed.output.contains("sum-chain"), "recovered from the control topic: \(listed)")
                let ready = try await run(["status", "pipeline", "sum-chain", "--wait", "Ready", "--timeout", "90s"] + serve.controlFlags)
                #expect(ready.status == 0, "\(ready)")
                #expect(try await answers(serve, "sum-chain", Self.sumRequest, tensor: "OUTPUT0", [8, 12]))
                #expect(try await answers(serve, "chain", Self.chainRequest, tensor: "OUTPUT", [110, 120, 130, 140]))
            }
        } catch {
            for serve in [a, b, gateway] + restarted where serve.process.isRunning { await serve.stop(SIGKILL) }
            throw error
        }
        for serve in restarted { await serve.stop() }
    }
}
