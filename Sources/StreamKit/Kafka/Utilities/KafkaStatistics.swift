import Foundation
import Metrics

/// Exports librdkafka's periodic statistics (`statistics.interval.ms`) to swift-metrics as gauges named
/// `kafka_client_<field>` with a `client` dimension, plus `kafka_consumer_lag` per topic partition.
struct KafkaStatistics: Sendable {
    private static let clientFields = [
        "msg_cnt", "msg_size", "tx", "tx_bytes", "rx", "rx_bytes", "txmsgs", "txmsg_bytes", "rxmsgs",
        "rxmsg_bytes", "replyq",
    ]

    let client: String
    let factory: any MetricsFactory

    func record(json: UnsafeBufferPointer<UInt8>) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] else { return }
        let dimensions = [("client", client)]
        for field in Self.clientFields {
            if let value = (object[field] as? NSNumber)?.doubleValue {
                Gauge(label: "kafka_client_\(field)", dimensions: dimensions, factory: factory).record(value)
            }
        }
        guard let topics = object["topics"] as? [String: Any] else { return }
        for (topic, topicStats) in topics {
            guard let partitions = (topicStats as? [String: Any])?["partitions"] as? [String: Any] else { continue }
            for (partition, partitionStats) in partitions where partition != "-1" {
                guard let lag = ((partitionStats as? [String: Any])?["consumer_lag"] as? NSNumber)?.doubleValue,
                    lag >= 0
                else { continue }
                Gauge(
                    label: "kafka_consumer_lag",
                    dimensions: dimensions + [("topic", topic), ("partition", partition)],
                    factory: factory
                ).record(lag)
            }
        }
    }
}
