import ArgumentParser
import Gateways

/// `dataflow status pipeline NAME [--wait STATUS] [--timeout 60s]`: a pipeline's status aggregated over the
/// instances alive; with `--wait`, follows it (progress on standard error) until it is reached (exit 0), it
/// Failed while something else was awaited (exit 1), or the timeout passed (exit 2, with the last status).
struct StatusCommand: ClientCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a pipeline's status, or wait until it reaches one."
    )

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case pipeline
    }

    @Argument(help: "pipeline.") var kind: Kind
    @Argument(help: "Its name.") var name: String
    @Option(help: "Wait until the status is this one: Ready, Creating, Failed, Terminating or NotFound.") var wait: String?
    @Option(help: "How long --wait waits: 90s, 2m or seconds.") var timeout = DurationArgument(seconds: 60)
    @OptionGroup var options: ControlOptions

    /// What a status is called when the pipeline is not (or no longer) applied.
    static let notFound = "NotFound"

    func execute() async throws(CLIFailure) {
        var (summary, status) = try await current()
        guard let wanted = wait else {
            guard let summary else { throw CLIFailure("pipeline \(name) not found", hint: "`dataflow get pipelines` lists what is applied.") }
            show(summary, status)
            return
        }
        let deadline = ContinuousClock.now + timeout.duration
        var shown = ""
        while !Self.matches(status, wanted) {
            let line = "\(name): \(status)" + (summary?.reason.map { " (\($0))" } ?? "")
            if options.output == .text, line != shown {
                Terminal.error(line)
                shown = line
            }
            if status.hasPrefix("Failed"), !Self.matches("Failed", wanted) {
                throw CLIFailure("pipeline \(name) \(status)", hint: "fix the resource and apply it again; `dataflow describe pipeline \(name)` shows what runs.")
            }
            guard ContinuousClock.now < deadline else {
                throw CLIFailure("pipeline \(name) is still \(status) after \(timeout)" + (summary?.reason.map { " (\($0))" } ?? ""), code: ExitCodes.timedOut)
            }
            do {
                try await Task.sleep(for: .milliseconds(250))
            } catch {
                throw CLIFailure("interrupted")
            }
            (summary, status) = try await current()
        }
        if let summary { show(summary, status) } else if options.output == .text { Terminal.output("\(name): \(status)") }
    }

    static func matches(_ status: String, _ wanted: String) -> Bool {
        status.lowercased() == wanted.lowercased() || status.lowercased().hasPrefix(wanted.lowercased() + ":")
    }

    private func show(_ summary: PipelineSummary, _ status: String) {
        guard options.output == .text else {
            Terminal.output(Terminal.json(summary))
            return
        }
        Terminal.output("\(name): \(status)" + (summary.reason.map { " (\($0))" } ?? ""))
        for engine in summary.engines { Terminal.output("  engine \(engine.instance): \(engine.status)") }
        for instance in summary.answeredBy { Terminal.output("  answered by \(instance)") }
    }

    private func current() async throws(CLIFailure) -> (PipelineSummary?, String) {
        do {
            let summary = try await options.client.pipeline(name)
            return (summary, summary.status)
        } catch .refused(404, _) {
            return (nil, Self.notFound)
        } catch {
            throw options.failure(error)
        }
    }
}
