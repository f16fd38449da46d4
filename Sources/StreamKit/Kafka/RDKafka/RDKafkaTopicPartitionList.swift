import CRdKafka

/// Owns an `rd_kafka_topic_partition_list_t`, or borrows one that librdkafka owns (in callbacks).
///
/// `@unchecked Sendable` is not claimed: a list has a single owner that creates it, fills it, passes it to
/// one C call and reads it back.
final class RDKafkaTopicPartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    private let owned: Bool

    init(capacity: Int = 1) {
        pointer = rd_kafka_topic_partition_list_new(Int32(max(capacity, 1)))
        owned = true
    }

    /// Wraps a list owned by librdkafka; it is not destroyed with this object.
    init(borrowing pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        self.pointer = pointer
        owned = false
    }

    convenience init(_ partitions: [TopicPartition]) {
        self.init(capacity: partitions.count)
        for partition in partitions { add(partition) }
    }

    convenience init(_ offsets: [TopicPartitionOffset]) {
        self.init(capacity: offsets.count)
        for offset in offsets { add(offset.topicPartition).pointee.offset = offset.offset }
    }

    deinit {
        if owned { rd_kafka_topic_partition_list_destroy(pointer) }
    }

    @discardableResult
    func add(_ partition: TopicPartition) -> UnsafeMutablePointer<rd_kafka_topic_partition_t> {
        rd_kafka_topic_partition_list_add(pointer, partition.topic, partition.partition)
    }

    var count: Int { Int(pointer.pointee.cnt) }

    /// Every element, with librdkafka's per-element error.
    var elements: [(offset: TopicPartitionOffset, error: rd_kafka_resp_err_t)] {
        (0..<count).map { index in
            let element = pointer.pointee.elems[index]
            let offset = TopicPartitionOffset(
                topic: String(cString: element.topic),
                partition: element.partition,
                offset: element.offset
            )
            return (offset, element.err)
        }
    }

    var partitions: [TopicPartition] { elements.map(\.offset.topicPartition) }

    /// The offsets, or the first per-partition error.
    func offsets(context: String) throws(KafkaError) -> [TopicPartitionOffset] {
        var result: [TopicPartitionOffset] = []
        for element in elements {
            if element.error != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw KafkaError.rdKafka(element.error, context: "\(context) \(element.offset.topicPartition)")
            }
            result.append(element.offset)
        }
        return result
    }
}
