import ArgumentParser
import Foundation
import Gateways

/// A command's failure as the user sees it: one line saying what went wrong, a hint saying what to do, and the
/// exit code (see ``ExitCodes``).
struct CLIFailure: Error {
    var message: String
    var hint: String?
    var code: Int32

    init(_ message: String, hint: String? = nil, code: Int32 = ExitCodes.refused) {
        self.message = message
        self.hint = hint
        self.code = code
    }

    /// A control API failure, with a hint fitting its kind.
    init(_ error: ControlClientError) {
        switch error {
        case .unreachable(let url, _):
            self.init(error.description, hint: "is `dataflow serve` running? Point at it with --control (now \(url)) or DATAFLOW_CONTROL.", code: ExitCodes.unreachable)
        case .refused(401, let message):
            self.init(message, hint: "pass the token with --auth-token or DATAFLOW_AUTH_TOKEN.")
        case .refused(let status, let message):
            self.init(message, hint: status == 404 ? "`dataflow get pipelines` lists what is applied." : nil)
        }
    }

    /// An inference API failure.
    init(_ error: InferenceClientError, server: String) {
        switch error.status {
        case nil:
            self.init(error.message, hint: "is `dataflow serve` running? Point at it with --server (now \(server)).", code: ExitCodes.unreachable)
        case 401?:
            self.init(error.message, hint: "the inference API wants a token: pass it with --auth-token or DATAFLOW_AUTH_TOKEN.")
        case 404?:
            self.init(error.message, hint: "`dataflow get pipelines` lists the pipelines applied.")
        case 503?:
            self.init(error.message, hint: "`dataflow status pipeline NAME --wait Ready` waits until it is.")
        case 504?:
            self.init(error.message, code: ExitCodes.timedOut)
        default:
            self.init(error.description)
        }
    }
}

/// The exit codes of every command (documented in docs/cli.md).
enum ExitCodes {
    static let success: Int32 = 0
    /// The request was refused or failed: invalid resources, an unknown name, a pipeline that Failed.
    static let refused: Int32 = 1
    /// What was waited for did not happen in time (`status --wait`, an inference answer).
    static let timedOut: Int32 = 2
    /// The API could not be reached.
    static let unreachable: Int32 = 3
    /// The command line is wrong (swift-argument-parser's validation failure).
    static let usage: Int32 = 64
}

/// A command that talks to a running `dataflow serve`: its failures print as one line plus a hint on standard
/// error, and end the process with their exit code.
protocol ClientCommand: AsyncParsableCommand {
    func execute() async throws(CLIFailure)
}

extension ClientCommand {
    func run() async throws {
        do {
            try await execute()
        } catch {
            Terminal.error("error: \(error.message)")
            if let hint = error.hint { Terminal.error("hint: \(hint)") }
            throw ExitCode(error.code)
        }
    }
}

/// Where commands write: answers to standard output, progress and errors to standard error.
enum Terminal {
    static func error(_ line: String) {
        StandardStream.error.write(line + "\n")
    }

    static func output(_ text: String) {
        StandardStream.output.write(text.hasSuffix("\n") ? text : text + "\n")
    }

    /// JSON bytes re-indented for reading.
    static func pretty(_ json: [UInt8]) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json)),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .withoutEscapingSlashes])
        else { return String(decoding: json, as: UTF8.self) }
        return String(decoding: data, as: UTF8.self)
    }

    /// One line per tensor of an OIP `inputs` or `outputs` array: `NAME DATATYPE [shape] = data`.
    static func tensors(_ list: Any?) -> [String] {
        (list as? [[String: Any]] ?? []).map { tensor in
            let data = (try? JSONSerialization.data(withJSONObject: tensor["data"] ?? [], options: [.withoutEscapingSlashes]))
                .map { String(decoding: $0, as: UTF8.self) } ?? ""
            let shape = (tensor["shape"] as? [Any])?.map { "\($0)" }.joined(separator: ", ") ?? ""
            return "\(tensor["name"] as? String ?? "?") \(tensor["datatype"] as? String ?? "") [\(shape)] = \(data)"
        }
    }

    /// `value` as indented JSON.
    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Rows as columns aligned under their headings.
    static func table(_ headings: [String], _ rows: [[String]]) -> String {
        let all = [headings] + rows
        let widths = headings.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { $0.offset == row.count - 1 ? $0.element : $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "   ")
        }.joined(separator: "\n")
    }
}
