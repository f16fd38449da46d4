import Dataflow
import Gateways
import StreamKit

/// The configuration of each role `dataflow serve` runs, from its settings: every Kafka client of every role
/// gets the `kafka` properties (SASL, TLS, …) and the local-broker defaults when asked for.
extension ServeCommand.Settings {
    var servers: [String] { (bootstrap ?? "").split(separator: ",").map(String.init) }

    func engine(instanceID: String) -> DataflowConfiguration {
        var configuration = DataflowConfiguration(bootstrapServers: servers, applicationID: group("dataflow-engine"), topics: topics)
        configuration.partitions = partitions
        configuration.streams.stateDirectory = stateDir
        configuration.streams.instanceID = instanceID
        configuration.streams.processingGuarantee = guarantee
        configuration.streams.commitInterval = commitInterval
        configuration.streams.topicCreation = topicCreation
        if localBroker { configuration.useLocalBrokerDefaults() }
        let kafka = kafka
        if !kafka.isEmpty {
            let (consumer, producer) = (configuration.streams.consumer, configuration.streams.producer)
            configuration.streams.consumer = { consumer(&$0); $0.additionalProperties.merge(kafka) { $1 } }
            configuration.streams.producer = { producer(&$0); $0.additionalProperties.merge(kafka) { $1 } }
        }
        return configuration
    }

    func modelGateway(instanceID: String) -> ModelGatewayConfiguration {
        var configuration = ModelGatewayConfiguration(bootstrapServers: servers, groupID: group("modelgateway"), topics: topics)
        configuration.partitions = partitions
        configuration.topicCreation = topicCreation
        if guarantee == .exactlyOnce { configuration.transactionalID = "\(group("modelgateway"))-\(instanceID)" }
        configuration.commitInterval = commitInterval
        clients(&configuration)
        return configuration
    }

    func control(instanceID: String) -> ControlConfiguration {
        var configuration = ControlConfiguration(bootstrapServers: servers, topics: topics)
        configuration.host = host
        configuration.port = controlPort
        configuration.httpLimits = httpLimits
        configuration.authToken = authToken
        configuration.topicCreation = topicCreation
        configuration.modelRoots = modelRoots
        configuration.inferenceURL = inferenceURL
        configuration.tls = tls
        configuration.instanceID = instanceID
        configuration.roles = ServeCommand.Role.allCases.filter(roles.contains).map(\.rawValue)
        clients(&configuration)
        return configuration
    }

    func pipelineGateway() -> PipelineGatewayConfiguration {
        var configuration = PipelineGatewayConfiguration(bootstrapServers: servers, topics: topics)
        configuration.httpHost = host
        configuration.httpPort = httpPort
        configuration.grpcPort = grpcPort
        configuration.maxRequestsInFlight = maxRequestsInFlight
        configuration.httpLimits = httpLimits
        configuration.callsModelsDirectly = callsModelsDirectly
        configuration.tls = tls
        if inferenceAuth { configuration.authToken = authToken }
        clients(&configuration)
        return configuration
    }

    private func clients<Configuration: GatewayKafkaClients>(_ configuration: inout Configuration) {
        if localBroker { configuration.useLocalBrokerDefaults() }
        configuration.consumer.additionalProperties.merge(kafka) { $1 }
        configuration.producer.additionalProperties.merge(kafka) { $1 }
    }
}
