import ArgumentParser

@main
struct DataflowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataflow",
        abstract: "swift-dataflow: stream processing and ML inference pipelines over Kafka.",
        discussion: "Exit codes: 0 success, 1 refused or failed, 2 timed out, 3 API unreachable, 64 usage error.",
        subcommands: [
            ServeCommand.self, ApplyCommand.self, DeleteCommand.self, GetCommand.self, StatusCommand.self,
            InferCommand.self, InspectCommand.self, DescribeCommand.self, SoakCommand.self,
        ],
        defaultSubcommand: ServeCommand.self
    )
}
