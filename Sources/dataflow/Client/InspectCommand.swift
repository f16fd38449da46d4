import ArgumentParser
import Foundation
import Gateways

/// `dataflow inspect PIPELINE[.step[.inputs|outputs[.tensor]]] [--request-id ID]`: where one request went through
/// the pipeline — every record it left on the pipeline's topics, in order — or, without an id, its latest
/// request; a path narrows it to the pipeline's or one step's inputs or outputs, or one tensor. With `--offset N`,
/// the last N records of each topic instead, as `seldon pipeline inspect` shows them; `--verbose` adds headers,
/// `--truncate` cuts long data.
struct InspectCommand: ClientCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show the records a request left on a pipeline's topics (its latest request by default)."
    )

    @Argument(help: "PIPELINE[.inputs|outputs], or PIPELINE.STEP[.inputs|outputs[.TENSOR]].") var path: String
    @Option(help: "The request's id (x-request-id). Default: the pipeline's latest request.") var requestId: String?
    @Option(help: "The pipeline gateway's REST URL (also DATAFLOW_SERVER).")
    var server = ProcessInfo.processInfo.environment["DATAFLOW_SERVER"] ?? "http://127.0.0.1:9000"
    @Option(help: "Bearer token of the inference API (also DATAFLOW_AUTH_TOKEN).")
    var authToken: String?

    /// The token given, else DATAFLOW_AUTH_TOKEN.
    var token: String? { authToken ?? ProcessInfo.processInfo.environment["DATAFLOW_AUTH_TOKEN"] }
    @Option(help: "Output: text or json.") var output: OutputFormat = .text
    @Option(help: "Show the last N records of the pipeline on each of its topics (as `seldon pipeline inspect --offset`) instead of one request's path; with --request-id, only that request's among them.")
    var offset: Int?
    @Flag(help: "Also show each record's headers.") var verbose = false
    @Option(help: "Cut each line of tensor data to this many characters.") var truncate: Int?
    @OptionGroup var trust: TrustOptions

    /// What the path names.
    struct Selection: Equatable {
        var pipeline: String
        /// `nil`: the pipeline's own inputs or outputs, or everything when `side` is nil too.
        var step: String?
        var side: String?
        var tensor: String?

        init(_ path: String) throws(CLIFailure) {
            let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard let first = parts.first, !first.isEmpty, parts.allSatisfy({ !$0.isEmpty }), parts.count <= 4 else {
                throw CLIFailure("'\(path)' is not PIPELINE[.STEP[.inputs|outputs[.TENSOR]]]", code: ExitCodes.usage)
            }
            pipeline = first
            var rest = parts.dropFirst()
            if let next = rest.first, next != "inputs", next != "outputs" {
                step = next
                rest = rest.dropFirst()
            }
            if let next = rest.first {
                guard next == "inputs" || next == "outputs" else {
                    throw CLIFailure("'\(path)': expected inputs or outputs after the step, found '\(next)'", code: ExitCodes.usage)
                }
                side = next
                rest = rest.dropFirst()
            }
            if let next = rest.first {
                guard step != nil || side != nil else { throw CLIFailure("'\(path)': a tensor needs inputs or outputs before it", code: ExitCodes.usage) }
                tensor = next
                rest = rest.dropFirst()
            }
            guard rest.isEmpty else { throw CLIFailure("'\(path)' is not PIPELINE[.STEP[.inputs|outputs[.TENSOR]]]", code: ExitCodes.usage) }
        }

        /// Whether a record (as inspect reports it) is of what the path names; errors always are.
        func selects(_ record: [String: Any]) -> Bool {
            let recordSide = record["side"] as? String
            if recordSide == "errors" { return true }
            if let step { return record["step"] as? String == step && (side == nil || recordSide == side) }
            guard let side else { return true }
            return record["step"] == nil && recordSide == side
        }

        /// The record with only the tensor the path names.
        func narrowed(_ record: [String: Any]) -> [String: Any] {
            guard let tensor else { return record }
            var record = record
            for (message, field) in [("request", "inputs"), ("response", "outputs")] {
                guard var body = record[message] as? [String: Any], let tensors = body[field] as? [[String: Any]] else { continue }
                body[field] = tensors.filter { $0["name"] as? String == tensor }
                record[message] = body
            }
            return record
        }
    }

    func validate() throws {
        if let offset, !(1...1000).contains(offset) { throw ValidationError("--offset must be from 1 to 1000") }
        if let truncate, truncate < 1 { throw ValidationError("--truncate must be 1 or more") }
    }

    func execute() async throws(CLIFailure) {
        let selection = try Selection(path)
        let body: [UInt8]
        do {
            if let offset {
                body = try await InferenceClient.recentMessages(server: server, token: token, tls: trust.tls, pipeline: selection.pipeline, count: offset)
            } else {
                body = try await InferenceClient.inspect(server: server, token: token, tls: trust.tls, pipeline: selection.pipeline, requestID: requestId)
            }
        } catch {
            throw CLIFailure(error, server: server)
        }
        guard var report = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
              let records = report["records"] as? [[String: Any]]
        else {
            throw CLIFailure("the gateway's inspect answer is not a report")
        }
        let ofRequest = { (record: [String: Any]) in
            offset == nil || requestId == nil || (record["headers"] as? [String: String])?["x-request-id"] == requestId
        }
        let selected = records.filter { selection.selects($0) && ofRequest($0) }.map(selection.narrowed)
        report["records"] = selected
        if output == .json {
            let data = (try? JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .withoutEscapingSlashes])) ?? Data()
            Terminal.output(String(decoding: data, as: UTF8.self))
            return
        }
        if let offset {
            Terminal.output("pipeline \(selection.pipeline): the last \(offset) record(s) of each topic: \(selected.count) record(s)")
        } else {
            Terminal.output("request \(report["request_id"] as? String ?? "?") of pipeline \(selection.pipeline): \(selected.count) record(s)")
        }
        for record in selected { Terminal.output(Self.text(record, pipeline: selection.pipeline, headers: verbose, truncate: truncate)) }
    }

    /// One record as a heading line, a line per header with `headers`, and a line per tensor (cut to `truncate`
    /// characters).
    static func text(_ record: [String: Any], pipeline: String, headers: Bool = false, truncate: Int? = nil) -> String {
        let side = record["side"] as? String ?? "?"
        let place = (record["step"] as? String).map { "\($0).\(side)" } ?? (side == "errors" ? "errors" : "\(pipeline).\(side)")
        let timestamp = (record["timestamp"] as? NSNumber).map { Date(timeIntervalSince1970: $0.doubleValue / 1000) }
        let when = timestamp.map { ISO8601DateFormatter.string(from: $0, timeZone: .gmt, formatOptions: [.withInternetDateTime, .withFractionalSeconds]) } ?? ""
        var lines = ["\(place)  \(record["topic"] as? String ?? "")[\(record["partition"] ?? "?")]@\(record["offset"] ?? "?")  \(when)"]
        if let error = record["error"] as? [String: Any] {
            lines.append("  error from \(error["source"] as? String ?? "?"): \(error["reason"] as? String ?? "")")
        }
        if headers, let fields = record["headers"] as? [String: String] {
            lines += fields.sorted { $0.key < $1.key }.map { "  \($0.key): \($0.value)" }
        }
        for (message, field) in [("request", "inputs"), ("response", "outputs")] {
            lines += Terminal.tensors((record[message] as? [String: Any])?[field]).map { line in
                guard let truncate, line.count > truncate else { return "  " + line }
                return "  " + line.prefix(truncate) + "…"
            }
        }
        if let undecodable = record["undecodable"] as? String { lines.append("  (undecodable: \(undecodable))") }
        return lines.joined(separator: "\n")
    }
}
