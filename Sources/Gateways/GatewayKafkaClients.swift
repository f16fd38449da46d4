import StreamKit

/// A gateway's Kafka clients: a consumer in the gateway's group and a producer, configured together.
public protocol GatewayKafkaClients {
    var consumer: KafkaConsumerConfiguration { get set }
    var producer: KafkaProducerConfiguration { get set }
}

extension GatewayKafkaClients {
    /// Settings that suit a local single-node broker; see ``KafkaConsumerConfiguration/useLocalBrokerDefaults()``.
    public mutating func useLocalBrokerDefaults() {
        consumer.useLocalBrokerDefaults()
        producer.useLocalBrokerDefaults()
    }

    /// A consumer in `groupID` and a producer, both named `clientID`.
    static func clients(bootstrapServers: [String], groupID: String, clientID: String) -> (KafkaConsumerConfiguration, KafkaProducerConfiguration) {
        var consumer = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers, groupID: groupID)
        consumer.clientID = clientID
        var producer = KafkaProducerConfiguration(bootstrapServers: bootstrapServers)
        producer.clientID = clientID
        return (consumer, producer)
    }
}
