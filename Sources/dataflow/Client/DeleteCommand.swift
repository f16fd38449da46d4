import ArgumentParser
import Gateways

/// `dataflow delete pipeline|model|server|experiment NAME`.
struct DeleteCommand: ClientCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a pipeline, model, server or experiment.")

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case pipeline, model, server, experiment
    }

    @Argument(help: "pipeline, model, server or experiment.") var kind: Kind
    @Argument(help: "Its name.") var name: String
    @OptionGroup var options: ControlOptions

    func execute() async throws(CLIFailure) {
        do {
            try await options.client.delete(kind.rawValue, name)
        } catch {
            throw options.failure(error)
        }
        if options.output == .json {
            Terminal.output(Terminal.json(["deleted": "\(kind.rawValue) \(name)"]))
        } else {
            Terminal.output("\(kind.rawValue) \(name) deleted")
        }
    }
}
