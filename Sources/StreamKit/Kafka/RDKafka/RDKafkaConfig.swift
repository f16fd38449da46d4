import CRdKafka

/// Builds an `rd_kafka_conf_t` from properties, failing on the first unknown or invalid one.
enum RDKafkaConfig {
    /// - Returns: a new `rd_kafka_conf_t` the caller owns.
    /// - Throws: ``KafkaError/Code/invalidConfiguration`` naming the property.
    static func make(_ properties: KafkaProperties) throws(KafkaError) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        for (key, value) in properties {
            do {
                try set(conf, key, value)
            } catch {
                rd_kafka_conf_destroy(conf)
                throw error
            }
        }
        return conf
    }

    static func set(_ conf: OpaquePointer, _ key: String, _ value: String) throws(KafkaError) {
        var errstr = [CChar](repeating: 0, count: 512)
        let result = rd_kafka_conf_set(conf, key, value, &errstr, errstr.count)
        guard result != RD_KAFKA_CONF_OK else { return }
        let detail = String(cBuffer: errstr)
        let kind = result == RD_KAFKA_CONF_UNKNOWN ? "unknown configuration property" : "invalid value for"
        throw KafkaError(
            code: .invalidConfiguration,
            message: "\(kind) '\(key)'\(result == RD_KAFKA_CONF_UNKNOWN ? "" : " ('\(value)')"): \(detail)",
            property: key
        )
    }
}
