import ArgumentParser
import Dataflow
import Foundation
import Gateways
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import StreamKit

/// Runs the engine, the model gateway, the pipeline gateway and the control API in one process, or the subset
/// `--role` names, against one Kafka cluster. Several processes with the same topics share the work.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the engine, the gateways and the control API."
    )

    enum Role: String, ExpressibleByArgument, CaseIterable {
        case engine
        case modelGateway = "model-gateway"
        case pipelineGateway = "pipeline-gateway"
        case control
    }

    @Option(help: "Kafka bootstrap servers, host:port[,host:port...].")
    var bootstrap: String

    @Option(name: .customLong("role"), help: "A part to run (repeatable): engine, model-gateway, pipeline-gateway, control. Default: all.")
    var roles: [Role] = []

    @Option(help: "Port of the inference API (HTTP).") var httpPort = 9000
    @Option(help: "Port of the inference API (gRPC).") var grpcPort = 9001
    @Option(help: "Port of the control API.") var controlPort = 9004
    @Option(help: "Address the APIs listen on.") var host = "127.0.0.1"
    @Option(help: "OIP REST base URL of the server for models whose resource names none.") var defaultServer: String?
    @Option(help: "Topic name prefix.") var topicPrefix = "seldon"
    @Option(help: "Topic namespace.") var namespace = "default"
    @Option(help: "Partitions of the topics created.") var partitions: Int32 = 4
    @Option(help: "Directory of the engine's state stores.") var stateDir = FileManager.default.temporaryDirectory.appendingPathComponent("dataflow-state").path
    @Option(help: "Processing guarantee: at-least-once or exactly-once.") var processingGuarantee = "at-least-once"
    @Option(help: "Bearer token the control API requires (also DATAFLOW_AUTH_TOKEN).") var authToken: String?
    @Flag(help: "Settings for a local single-node broker (short fetch waits and sessions).") var localBroker = false

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "dataflow")
        logger.logLevel = .info
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        let roles = Set(self.roles.isEmpty ? Role.allCases : self.roles)
        let servers = bootstrap.split(separator: ",").map(String.init)
        let topics = TopicNames(prefix: topicPrefix, namespace: namespace)
        guard let guarantee = StreamsConfiguration.ProcessingGuarantee(rawValue: processingGuarantee) else {
            throw ValidationError("--processing-guarantee is at-least-once or exactly-once, not '\(processingGuarantee)'")
        }

        var engine: DataflowEngine?
        if roles.contains(.engine) {
            var configuration = DataflowConfiguration(bootstrapServers: servers, topics: topics)
            configuration.partitions = partitions
            configuration.streams.stateDirectory = stateDir
            configuration.streams.processingGuarantee = guarantee
            if localBroker { configuration.streams.useLocalBrokerDefaults() }
            engine = DataflowEngine(configuration: configuration, logger: logger)
        }
        var modelGateway: ModelGateway?
        if roles.contains(.modelGateway) {
            var configuration = ModelGatewayConfiguration(bootstrapServers: servers, topics: topics)
            configuration.partitions = partitions
            if localBroker { configuration.useLocalBrokerDefaults() }
            modelGateway = ModelGateway(configuration: configuration, logger: logger)
        }
        var control = ControlConfiguration(bootstrapServers: servers, topics: topics)
        control.host = host
        control.port = controlPort
        control.authToken = authToken ?? ProcessInfo.processInfo.environment["DATAFLOW_AUTH_TOKEN"]
        if localBroker { control.useLocalBrokerDefaults() }
        let deployment = LocalDeployment(
            engine: engine,
            modelGateway: modelGateway,
            defaultServer: defaultServer.map { ModelServer(name: "default", endpoints: [$0]) }
        )
        let controlPlane = try ControlPlane(configuration: control, deployment: deployment, logger: logger)

        var services: [any Service] = [controlPlane]
        if let engine { services.append(engine) }
        if let modelGateway { services.append(modelGateway) }
        if roles.contains(.pipelineGateway) {
            guard let engine else {
                throw ValidationError("the pipeline-gateway role needs the engine role in the same process for now (pipeline status comes from it)")
            }
            var configuration = PipelineGatewayConfiguration(bootstrapServers: servers, topics: topics)
            configuration.httpHost = host
            configuration.httpPort = httpPort
            configuration.grpcPort = grpcPort
            if localBroker { configuration.useLocalBrokerDefaults() }
            services.append(try PipelineGateway(configuration: configuration, directory: engine, registry: registry, logger: logger))
        }
        if roles.contains(.control) { services.append(ControlAPI(control: controlPlane, logger: logger)) }

        logger.info("serving", metadata: ["roles": "\(roles.map(\.rawValue).sorted())", "bootstrap": "\(bootstrap)"])
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
