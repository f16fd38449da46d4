import Gateways
import Testing
@testable import StreamKit
@testable import dataflow

/// The `kafka` properties of `dataflow serve` (SASL, TLS) reach every Kafka client of every role: consumers,
/// producers and the admin clients derived from them.
///
/// This checks the properties each client is configured with. No broker on this machine requires SASL or TLS
/// (Tansu and librdkafka's mock cluster speak plaintext only), so a handshake with them is not tested here.
struct KafkaSecurityReachTests {
    static let security = [
        "security.protocol": "SASL_SSL", "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": "dataflow",
        "sasl.password": "secret", "ssl.ca.location": "/etc/kafka/ca.pem",
    ]

    static func settings() throws -> ServeCommand.Settings {
        var environment = ["DATAFLOW_BOOTSTRAP": "kafka-1:9092,kafka-2:9092"]
        for (property, value) in security {
            environment["DATAFLOW_KAFKA_" + property.uppercased().replacingOccurrences(of: ".", with: "_")] = value
        }
        return try ServeCommand.Settings(.environment(environment))
    }

    func expectSecured(_ properties: KafkaProperties, _ client: String) {
        let set = Dictionary(properties.map { ($0.key, $0.value) }) { $1 }
        for (property, value) in Self.security {
            #expect(set[property] == value, "\(client): \(property)")
        }
        #expect(set["bootstrap.servers"] == "kafka-1:9092,kafka-2:9092", "\(client)")
    }

    @Test func everyClientOfEveryRoleIsConfiguredWithTheSecurityProperties() throws {
        let settings = try Self.settings()
        #expect(settings.kafka == Self.security)

        let engine = settings.engine(instanceID: "i-1").streams
        var consumer = KafkaConsumerConfiguration(bootstrapServers: engine.bootstrapServers)
        engine.consumer(&consumer)
        var producer = KafkaProducerConfiguration(bootstrapServers: engine.bootstrapServers)
        engine.producer(&producer)
        expectSecured(consumer.properties, "engine consumers (tasks, changelog restore)")
        expectSecured(producer.properties, "engine producers")
        expectSecured(engine.adminConfiguration.properties, "engine admin")

        let modelGateway = settings.modelGateway(instanceID: "i1")
        let control = settings.control(instanceID: "i-1")
        let pipelineGateway = settings.pipelineGateway()
        for (role, consumer, producer) in [
            ("model gateway", modelGateway.consumer, modelGateway.producer),
            ("control plane", control.consumer, control.producer),
            ("pipeline gateway", pipelineGateway.consumer, pipelineGateway.producer),
        ] {
            expectSecured(consumer.properties, "\(role) consumer")
            expectSecured(producer.properties, "\(role) producer")
            expectSecured(KafkaAdminConfiguration(matching: consumer).properties, "\(role) admin")
        }
    }
}
