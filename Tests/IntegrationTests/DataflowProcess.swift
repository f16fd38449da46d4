import AsyncHTTPClient
import Foundation
import Gateways
import ProjectScripts
import Testing

/// The `dataflow` executable run as the user runs it: `serve` processes the tests kill and restart, and client
/// commands whose output and exit status they check.
enum DataflowProcess {
    static let binary = TestBroker.executable("dataflow").path

    /// A command's exit status and what it wrote.
    struct Outcome: CustomStringConvertible {
        var status: Int32
        var output: String
        var errors: String
        var description: String { "exit \(status)\nstdout: \(output)\nstderr: \(errors)" }
    }

    /// Runs `dataflow <arguments>` to its end.
    /// With `outputReaderGone`, its standard output is a pipe whose reader has exited (`| head -1`).
    static func run(_ arguments: [String], environment: [String: String] = [:], outputReaderGone: Bool = false) async throws -> Outcome {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.uniqueName("cli")).path
        let process = try ChildProcess.start(binary, arguments, output: base + ".out", errors: base + ".err", environment: environment, outputReaderGone: outputReaderGone)
        let status = await process.wait()
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        return Outcome(status: status, output: process.standardOutput, errors: process.standardError)
    }

    static func freePort() -> Int { LocalPort.free() }

    /// One `dataflow serve` with all roles on ports of its own.
    struct Serve {
        let process: ChildProcess
        let http: Int
        let grpc: Int
        let control: Int
        /// Its state directory.
        let state: String
        /// `https` when it serves TLS.
        var scheme = "http"
        var controlURL: String { "\(scheme)://127.0.0.1:\(control)" }
        var serverURL: String { "\(scheme)://127.0.0.1:\(http)" }
        /// The flags that point a client command at this instance.
        var controlFlags: [String] { ["--control", controlURL] }

        /// Starts it against the test broker in `namespace`, with the test MLServer as the default server unless
        /// told otherwise, and waits until its control API answers.
        /// A new state directory unless `state` names one (to restart an instance where it left off).
        /// With `tls` (a certificate and its key) its APIs serve TLS only; it is trusted for the health checks.
        static func start(
            namespace: String, defaultServer: String? = TestModelServer.rest, state: String? = nil,
            tls: (certificate: String, key: String)? = nil, _ extra: [String] = []
        ) async throws -> Serve {
            let (http, grpc, control) = (freePort(), freePort(), freePort())
            let log = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.uniqueName("serve-\(namespace)")).path
            let state = state ?? FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.uniqueName("state")).path
            let process = try ChildProcess.start(binary, [
                "serve", "--bootstrap", try TestBroker.bootstrap(), "--local-broker", "--namespace", namespace,
                "--http-port", "\(http)", "--grpc-port", "\(grpc)", "--control-port", "\(control)",
                "--state-dir", state,
            ] + (defaultServer.map { ["--default-server", $0] } ?? []) + (tls.map { ["--tls-cert", $0.certificate, "--tls-key", $0.key] } ?? []) + extra,
            output: log + ".out", errors: log + ".log")
            let serve = Serve(process: process, http: http, grpc: grpc, control: control, state: state, scheme: tls == nil ? "http" : "https")
            let client = ClientTLS(trustedCertificates: tls?.certificate).httpClient
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                try #require(process.isRunning, "dataflow serve exited: \(process.standardError.suffix(3000))")
                let request = HTTPClientRequest(url: serve.controlURL + "/v1/health")
                if let response = try? await client.execute(request, timeout: .seconds(2)), response.status == .ok { return serve }
                try await Task.sleep(for: .milliseconds(200))
            }
            Issue.record("dataflow serve did not become healthy in 60 s: \(process.standardError.suffix(3000))")
            return serve
        }

        /// What its `/metrics` shows (Prometheus text).
        func metrics() async throws -> String {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: serverURL + "/metrics"), timeout: .seconds(10))
            return String(buffer: try await response.body.collect(upTo: 16 << 20))
        }

        /// Stops it with `signal` and waits until it has exited.
        @discardableResult
        func stop(_ signal: Int32 = SIGTERM) async -> Int32 {
            process.send(signal)
            return await process.wait()
        }
    }
}
