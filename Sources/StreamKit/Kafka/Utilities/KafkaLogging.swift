import Logging

/// Metadata keys StreamKit's Kafka clients attach to their log lines.
enum KafkaLoggingKeys {
    static let client = "kafka.client"
    static let facility = "kafka.facility"
}

extension Logger.Level {
    /// Maps librdkafka's syslog levels onto swift-log's.
    init(syslogLevel: Int32) {
        switch syslogLevel {
        case ...2: self = .critical
        case 3: self = .error
        case 4: self = .warning
        case 5: self = .notice
        case 6: self = .info
        default: self = .debug
        }
    }
}
