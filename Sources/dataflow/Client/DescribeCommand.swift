import ArgumentParser
import Gateways

/// `dataflow describe pipeline NAME [--dot]`: the pipeline as it runs (every reference canonical, defaults
/// written out) and the topology compiled for it; `--dot` prints only the Graphviz graph (`| dot -Tsvg`).
struct DescribeCommand: ClientCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Show a pipeline's normalised spec and its compiled topology."
    )

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case pipeline
    }

    @Argument(help: "pipeline.") var kind: Kind
    @Argument(help: "Its name.") var name: String
    @Flag(help: "Print only the topology as a Graphviz graph.") var dot = false
    @OptionGroup var options: ControlOptions

    func execute() async throws(CLIFailure) {
        let description: PipelineDescription
        do {
            description = try await options.client.describe(name)
        } catch {
            throw options.failure(error)
        }
        if dot {
            Terminal.output(description.dot)
        } else if options.output == .json {
            Terminal.output(Terminal.json(description))
        } else {
            Terminal.output("# pipeline \(name), normalised\n\(description.spec)\n# compiled topology\n\(description.topology)")
        }
    }
}
