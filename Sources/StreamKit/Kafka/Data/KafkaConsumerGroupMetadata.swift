import CRdKafka

/// A consumer's group membership (group, generation, member), which a transactional producer sends along with
/// consumed offsets so that the broker can fence zombie members.
///
/// `@unchecked Sendable`: the wrapped `rd_kafka_consumer_group_metadata_t` is immutable once created.
public final class KafkaConsumerGroupMetadata: @unchecked Sendable {
    let pointer: OpaquePointer

    init(pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        rd_kafka_consumer_group_metadata_destroy(pointer)
    }
}
