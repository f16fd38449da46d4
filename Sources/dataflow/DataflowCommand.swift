import ArgumentParser

@main
struct DataflowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataflow",
        abstract: "swift-dataflow: stream processing and ML inference pipelines over Kafka.",
        subcommands: [ServeCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}
