import ArgumentParser
import Gateways

/// `dataflow status pipeline|model NAME [--wait STATUS] [--timeout 60s]`: a pipeline's status aggregated over the
/// instances alive, or a model's; with `--wait`, follows it (progress on standard error) until it is reached
/// (exit 0), it Failed while something else was awaited (exit 1), or the timeout passed (exit 2, with the last
/// status).
struct StatusCommand: ClientCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a pipeline's or model's status, or wait until it reaches one."
    )

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case pipeline, model
    }

    @Argument(help: "pipeline or model.") var kind: Kind
    @Argument(help: "Its name.") var name: String
    @Option(help: "Wait until the status is this one: Ready (pipelines), Available, Loading or Unloading (models), Creating, Failed, Terminating or NotFound.")
    var wait: String?
    @Option(help: "How long --wait waits: 90s, 2m or seconds.") var timeout = DurationArgument(seconds: 60)
    @OptionGroup var options: ControlOptions

    /// What a status is called when the resource is not (or no longer) applied.
    static let notFound = "NotFound"

    /// A status as shown: the status, why, lines of detail, and the whole answer for `--output json`.
    struct Shown {
        var status: String
        var reason: String?
        var details: [String] = []
        var json: String?
    }

    func execute() async throws(CLIFailure) {
        var shown = try await current()
        guard let wanted = wait else {
            guard shown.status != Self.notFound else {
                throw CLIFailure("\(kind.rawValue) \(name) not found", hint: "`dataflow get \(kind.rawValue)s` lists what is applied.")
            }
            show(shown)
            return
        }
        let deadline = ContinuousClock.now + timeout.duration
        var last = ""
        while !Self.matches(shown.status, wanted) {
            let line = "\(name): \(shown.status)" + (shown.reason.map { " (\($0))" } ?? "")
            if options.output == .text, line != last {
                Terminal.error(line)
                last = line
            }
            if shown.status.hasPrefix("Failed"), !Self.matches("Failed", wanted) {
                throw CLIFailure("\(kind.rawValue) \(name) \(shown.status)", hint: "fix the resource and apply it again; `dataflow get \(kind.rawValue)s` shows what is applied.")
            }
            guard ContinuousClock.now < deadline else {
                throw CLIFailure("\(kind.rawValue) \(name) is still \(shown.status) after \(timeout)" + (shown.reason.map { " (\($0))" } ?? ""), code: ExitCodes.timedOut)
            }
            do {
                try await Task.sleep(for: .milliseconds(250))
            } catch {
                throw CLIFailure("interrupted")
            }
            shown = try await current()
        }
        show(shown)
    }

    static func matches(_ status: String, _ wanted: String) -> Bool {
        status.lowercased() == wanted.lowercased() || status.lowercased().hasPrefix(wanted.lowercased() + ":")
    }

    private func show(_ shown: Shown) {
        if options.output == .json, let json = shown.json {
            Terminal.output(json)
            return
        }
        Terminal.output("\(name): \(shown.status)" + (shown.reason.map { " (\($0))" } ?? ""))
        for line in shown.details { Terminal.output("  " + line) }
    }

    private func current() async throws(CLIFailure) -> Shown {
        do {
            switch kind {
            case .pipeline:
                let summary = try await options.client.pipeline(name)
                return Shown(
                    status: summary.status, reason: summary.reason,
                    details: summary.engines.map { "engine \($0.instance): \($0.status)" } + summary.answeredBy.map { "answered by \($0)" },
                    json: Terminal.json(summary)
                )
            case .model:
                let summary = try await options.client.model(name)
                return Shown(status: summary.status, details: summary.servers.map { "on server \($0)" }, json: Terminal.json(summary))
            }
        } catch .refused(404, _) {
            return Shown(status: Self.notFound)
        } catch {
            throw options.failure(error)
        }
    }
}
