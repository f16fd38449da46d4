import CRdKafka

/// Facts about the librdkafka this process runs with.
public enum KafkaLibrary {
    /// librdkafka's version, e.g. `"2.8.0"`.
    public static var version: String { String(cString: rd_kafka_version_str()) }

    /// The optional features librdkafka was built with (e.g. `lz4`, `zstd`, `ssl`, `sasl`).
    public static var builtinFeatures: Set<String> {
        guard let conf = rd_kafka_conf_new() else { return [] }
        defer { rd_kafka_conf_destroy(conf) }
        var buffer = [CChar](repeating: 0, count: 1024)
        var size = buffer.count
        guard rd_kafka_conf_get(conf, "builtin.features", &buffer, &size) == RD_KAFKA_CONF_OK else { return [] }
        return Set(String(cBuffer: buffer).split(separator: ",").map(String.init))
    }
}
