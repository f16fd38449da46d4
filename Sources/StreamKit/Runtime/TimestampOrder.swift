/// The order in which a task processes records of several partitions, as Kafka Streams' partition group does:
/// each step takes, among the partitions' next records, the one with the smallest timestamp, and each partition
/// keeps its own order.
///
/// Without it a join read a backlog partition by partition: one input's records of the last seconds went first,
/// stream time ran ahead, and the other input's older records came later than the join's window and grace
/// allow and were dropped as late (seen after an exactly-once restart re-read seconds of both inputs).
package enum TimestampOrder {
    /// `lanes`, each the records of one partition in its order, merged by timestamp; among equal timestamps the
    /// earlier lane wins.
    package static func merged(_ lanes: [[KafkaConsumerRecord]]) -> [KafkaConsumerRecord] {
        let lanes = lanes.filter { !$0.isEmpty }
        guard lanes.count > 1 else { return lanes.first ?? [] }
        let total = lanes.reduce(0) { $0 + $1.count }
        var next = [Int](repeating: 0, count: lanes.count)
        var merged: [KafkaConsumerRecord] = []
        merged.reserveCapacity(total)
        while merged.count < total {
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
