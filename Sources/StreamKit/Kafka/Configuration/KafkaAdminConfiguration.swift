/// Configuration of a ``KafkaAdmin`` client.
public struct KafkaAdminConfiguration: Sendable {
    /// `host:port` addresses of one or more brokers to start from.
    public var bootstrapServers: [String]
    /// Default: `"streamkit-admin"`.
    public var clientID: String = "streamkit-admin"
    /// How long an admin operation may take, broker look-up included; after it the call throws. Default: 30 s.
    public var requestTimeout: Duration = .seconds(30)
    /// Any further librdkafka property, applied last.
    public var additionalProperties: [String: String] = [:]

    public init(bootstrapServers: [String]) {
        self.bootstrapServers = bootstrapServers
    }

    /// Reaches the same brokers as `consumer`, with its security settings (`security.*`, `sasl.*`, `ssl.*`) and
    /// request timeout.
    public init(matching consumer: KafkaConsumerConfiguration) {
        self.init(bootstrapServers: consumer.bootstrapServers)
        additionalProperties = consumer.additionalProperties.filter {
            $0.key.hasPrefix("security.") || $0.key.hasPrefix("sasl.") || $0.key.hasPrefix("ssl.")
        }
        requestTimeout = consumer.requestTimeout
    }

    var properties: KafkaProperties {
        var p = KafkaProperties()
        p.set("bootstrap.servers", bootstrapServers.joined(separator: ","))
        p.set("client.id", clientID)
        p.set("socket.nagle.disable", true)
        p.merge(additionalProperties)
        return p
    }
}
