/// The order in which a task processes records of several partitions, as Kafka Streams' partition group does:
/// each step takes, among the partitions' next records, the one with the smallest timestamp, and each partition
/// keeps its own order.
///
/// Without it a join read a backlog partition by partition: one input's records of the last seconds went first,
/// stream time ran ahead, and the other input's older records came later than the join's window and grace
/// allow and were dropped as late (seen after an exactly-once restart re-read seconds of both inputs).
package enum TimestampOrder {
    /// `records`, of any partitions, merged by timestamp; among equal timestamps the partition seen first wins.
    package static func merged(_ records: [KafkaConsumerRecord]) -> [KafkaConsumerRecord] {
        guard let first = records.first, records.contains(where: { $0.partition != first.partition || $0.topic != first.topic }) else {
            return records
        }
        var lanes: [[KafkaConsumerRecord]] = []
        var laneOf: [TopicPartition: Int] = [:]
        for record in records {
            let partition = record.topicPartition
            if let lane = laneOf[partition] {
                lanes[lane].append(record)
            } else {
                laneOf[partition] = lanes.count
                lanes.append([record])
            }
        }
        var next = [Int](repeating: 0, count: lanes.count)
        var merged: [KafkaConsumerRecord] = []
        merged.reserveCapacity(records.count)
        while merged.count < records.count {
            var chosen = -1
            for lane in lanes.indices where next[lane] < lanes[lane].count {
                if chosen < 0 || lanes[lane][next[lane]].timestamp < lanes[chosen][next[chosen]].timestamp { chosen = lane }
            }
            merged.append(lanes[chosen][next[chosen]])
            next[chosen] += 1
        }
        return merged
    }
}
