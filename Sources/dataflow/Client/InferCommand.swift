import ArgumentParser
import Dataflow
import Foundation
import Gateways
import StreamKit

/// `dataflow infer PIPELINE '<json>'|@file|- [--grpc] [--header k=v] [-n N]`: sends an OIP request through a
/// pipeline (or with `--model` to one model over Kafka) by the pipeline gateway and prints the answer; with
/// `-n`, sends it N times one after another and reports the latencies. Text output is a line per output tensor;
/// `--output json` the OIP response.
struct InferCommand: ClientCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Send an inference request through a pipeline and print the answer."
    )

    @Argument(help: "The pipeline (or, with --model, the model).") var name: String
    @Argument(help: "The OIP request: JSON, @file, or - for standard input.") var data: String
    @Flag(help: "Send to a model (straight to a server holding it) instead of a pipeline.") var model = false
    @Flag(help: "Use the gRPC API (default: REST).") var grpc = false
    @Option(help: "The inference API: a URL for REST, host:port for gRPC, grpcs://host:port over TLS (also DATAFLOW_SERVER). Default: http://127.0.0.1:9000 or 127.0.0.1:9001.")
    var server: String?
    @Option(name: .customLong("header"), help: "A header to send, k=v (repeatable).") var headers: [String] = []
    @Option(help: "The request id (x-request-id); made up by the gateway when absent.") var requestId: String?
    @Option(name: .shortAndLong, help: "Send the request this many times, one after another.") var n = 1
    @Option(help: "How long to wait for each answer: 90s, 2m or seconds.") var timeout = DurationArgument(seconds: 60)
    @Flag(help: "Also print the answer's headers.") var showHeaders = false
    @Option(help: "Bearer token of the inference API (also DATAFLOW_AUTH_TOKEN).")
    var authToken: String?

    /// The token given, else DATAFLOW_AUTH_TOKEN.
    var token: String? { authToken ?? ProcessInfo.processInfo.environment["DATAFLOW_AUTH_TOKEN"] }
    @Option(help: "Output: text (a line per output tensor) or json (the OIP response).") var output: OutputFormat = .text
    @OptionGroup var trust: TrustOptions

    func validate() throws {
        guard n >= 1 else { throw ValidationError("-n must be 1 or more") }
        for header in headers where !header.contains("=") { throw ValidationError("--header \(header): expected name=value") }
    }

    func execute() async throws(CLIFailure) {
        let request = try readRequest()
        let address = server ?? ProcessInfo.processInfo.environment["DATAFLOW_SERVER"] ?? (grpc ? "127.0.0.1:9001" : "http://127.0.0.1:9000")
        let client: InferenceClient
        do {
            client = try InferenceClient(server: address, grpc: grpc, tls: trust.tls)
        } catch {
            throw CLIFailure("--server \(address): \(error)", code: ExitCodes.usage)
        }
        defer { client.shutdown() }
        var sent = headers.map { header -> (name: String, value: String) in
            let parts = header.split(separator: "=", maxSplits: 1)
            return (String(parts[0]).lowercased(), parts.count > 1 ? String(parts[1]) : "")
        }
        if let requestId { sent.append(("x-request-id", requestId)) }
        if let token { sent.append(("authorization", "Bearer \(token)")) }
        let target: InferenceTarget = model ? .model(name) : .pipeline(name)

        var latencies: [Duration] = []
        var answer: InferenceClient.Answer?
        let start = ContinuousClock.now
        for _ in 0..<n {
            let sentAt = ContinuousClock.now
            do {
                answer = try await client.infer(target, request, headers: sent, timeout: timeout.duration)
            } catch {
                throw CLIFailure(error, server: address)
            }
            latencies.append(ContinuousClock.now - sentAt)
        }
        let elapsed = ContinuousClock.now - start
        guard let answer else { return }
        let json = (try? answer.response.json()) ?? []
        if output == .json {
            Terminal.output(String(decoding: json, as: UTF8.self))
        } else {
            let object = (try? JSONSerialization.jsonObject(with: Data(json))) as? [String: Any]
            Terminal.output((["id: \(answer.response.id)"] + Terminal.tensors(object?["outputs"])).joined(separator: "\n"))
        }
        if showHeaders {
            for header in answer.headers { Terminal.error("\(header.name): \(header.value)") }
        }
        if n > 1 { Terminal.error(Self.summary(latencies, elapsed: elapsed)) }
    }

    private func readRequest() throws(CLIFailure) -> InferenceRequest {
        let bytes: [UInt8]
        if data == "-" {
            bytes = Array(FileHandle.standardInput.readDataToEndOfFile())
        } else if data.hasPrefix("@") {
            let path = String(data.dropFirst())
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw CLIFailure("\(path): cannot be read", code: ExitCodes.usage)
            }
            bytes = Array(contents)
        } else {
            bytes = Array(data.utf8)
        }
        do {
            return try InferenceRequest(json: bytes)
        } catch {
            throw CLIFailure("the request is not an OIP inference request: \(error)",
                             hint: #"for example '{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,3],"data":[1,2,3]}]}'"#,
                             code: ExitCodes.usage)
        }
    }

    /// `N requests in Xs (R req/s): p50 …, p90 …, p99 …, max …`.
    static func summary(_ latencies: [Duration], elapsed: Duration) -> String {
        let sorted = latencies.sorted()
        func percentile(_ p: Double) -> String {
            let index = min(sorted.count - 1, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1)
            return milliseconds(sorted[max(0, index)])
        }
        func milliseconds(_ duration: Duration) -> String {
            String(format: "%.2f ms", Double(duration.nanoseconds) / 1e6)
        }
        let seconds = Double(elapsed.nanoseconds) / 1e9
        return String(format: "%d requests in %.2f s (%.1f req/s): ", sorted.count, seconds, Double(sorted.count) / max(seconds, 1e-9))
            + "p50 \(percentile(50)), p90 \(percentile(90)), p99 \(percentile(99)), max \(milliseconds(sorted.last!))"
    }
}
