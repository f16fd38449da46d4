import ArgumentParser
import Foundation
import Gateways

/// How management commands reach the control API.
struct ControlOptions: ParsableArguments {
    @Option(help: "The control API (also DATAFLOW_CONTROL).")
    var control = ProcessInfo.processInfo.environment["DATAFLOW_CONTROL"] ?? "http://127.0.0.1:9004"

    @Option(help: "Bearer token of the API (also DATAFLOW_AUTH_TOKEN).")
    var authToken: String?

    /// The token given, else DATAFLOW_AUTH_TOKEN.
    var token: String? { authToken ?? ProcessInfo.processInfo.environment["DATAFLOW_AUTH_TOKEN"] }

    @Option(help: "Output: text or json.")
    var output: OutputFormat = .text

    @OptionGroup var trust: TrustOptions

    var client: ControlClient { ControlClient(baseURL: control, token: token, tls: trust.tls) }

    func failure(_ error: ControlClientError) -> CLIFailure { CLIFailure(error) }
}

/// Which servers the CLI trusts over TLS.
struct TrustOptions: ParsableArguments {
    @Option(help: "A PEM file of the certificates to trust for https:// and grpcs:// servers (also DATAFLOW_CACERT). Default: the system's.")
    var cacert: String?

    var tls: ClientTLS { ClientTLS(trustedCertificates: cacert ?? ProcessInfo.processInfo.environment["DATAFLOW_CACERT"]) }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// A length of time on the command line: `90s`, `2m`, `500ms`, `1h`, or plain seconds (`30`, `1.5`).
struct DurationArgument: ExpressibleByArgument, CustomStringConvertible {
    var duration: Duration
    var description: String

    init?(argument: String) {
        let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = Substring(argument)
        var scale = 1.0
        for unit in units where argument.hasSuffix(unit.suffix) {
            number = argument.dropLast(unit.suffix.count)
            scale = unit.seconds
            break
        }
        guard let value = Double(number), value >= 0, value.isFinite else { return nil }
        duration = .milliseconds(Int64((value * scale * 1000).rounded()))
        description = argument
    }

    init(seconds: Int) {
        duration = .seconds(seconds)
        description = "\(seconds)s"
    }
}
