import CRdKafka
import Synchronization

/// A consumer's partition queues, when ``KafkaConsumerConfiguration/separatePartitionQueues`` is on: every
/// assigned partition's records wait in a queue of their own instead of the consumer's shared one.
///
/// A caller then reads each partition only when it has room for its records; a partition nobody reads fills
/// its queue up to ``KafkaConsumerConfiguration/prefetchedRecordsPerPartition`` and librdkafka stops fetching
/// it, while the others go on. That is backpressure without pausing: librdkafka empties the prefetched records
/// of a paused partition, and starts fetching a resumed one only when its broker thread next wakes (up to a
/// second later).
///
/// Records arriving in an empty queue, and events arriving in the consumer's queue, signal
/// ``RDKafkaCallbackContext/arrivals``.
final class RDKafkaPartitionQueues: Sendable {
    private struct Queue: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    private struct State {
        var partitions: [TopicPartition: Queue] = [:]
        var consumerQueue: Queue?
    }

    private let state = Mutex(State())

    /// Starts signalling arrivals for events in the consumer's own queue (rebalances, errors).
    func watchConsumerQueue(_ handle: OpaquePointer) {
        guard let queue = rd_kafka_queue_get_consumer(handle) else { return }
        rd_kafka_queue_cb_event_enable(queue, signalArrival, rd_kafka_opaque(handle))
        state.withLock { $0.consumerQueue = Queue(pointer: queue) }
    }

    /// Gives each of `partitions` a queue of its own; call before the partitions are assigned so that none of
    /// their records goes to the consumer's queue.
    func open(_ handle: OpaquePointer, _ partitions: [TopicPartition]) {
        let opaque = rd_kafka_opaque(handle)
        state.withLock { state in
            for partition in partitions where state.partitions[partition] == nil {
                guard let queue = rd_kafka_queue_get_partition(handle, partition.topic, partition.partition) else { continue }
                rd_kafka_queue_forward(queue, nil)
                rd_kafka_queue_cb_event_enable(queue, signalArrival, opaque)
                state.partitions[partition] = Queue(pointer: queue)
            }
        }
    }

    /// Drops the queues of partitions no longer assigned (and whatever they still hold).
    func close(_ partitions: [TopicPartition]) {
        let queues = state.withLock { state in partitions.compactMap { state.partitions.removeValue(forKey: $0) } }
        for queue in queues { Self.release(queue) }
    }

    /// Drops every queue; the handle cannot be destroyed while any is held.
    func closeAll() {
        let queues = state.withLock { state in
            defer {
                state.partitions = [:]
                state.consumerQueue = nil
            }
            return Array(state.partitions.values) + (state.consumerQueue.map { [$0] } ?? [])
        }
        for queue in queues { Self.release(queue) }
    }

    private static func release(_ queue: Queue) {
        rd_kafka_queue_cb_event_enable(queue.pointer, nil, nil)
        rd_kafka_queue_destroy(queue.pointer)
    }

    /// Takes up to `maxRecords` messages waiting in `partition`'s queue without blocking and hands each to
    /// `body`, which must not keep it. A partition without a queue (not assigned) has none.
    func read(
        _ partition: TopicPartition,
        maxRecords: Int,
        _ body: (UnsafeMutablePointer<rd_kafka_message_t>) throws -> Void
    ) rethrows {
        guard maxRecords > 0 else { return }
        let messages = UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>.allocate(capacity: maxRecords)
        defer { messages.deallocate() }
        // The lock keeps the queue alive while it is read; the read itself never waits.
        let count = state.withLock { state -> Int in
            guard let queue = state.partitions[partition] else { return 0 }
            return max(0, rd_kafka_consume_batch_queue(queue.pointer, 0, messages, maxRecords))
        }
        var index = 0
        // Whatever `body` did not get to (it threw) is destroyed here.
        defer {
            while index < count {
                if let message = messages[index] { rd_kafka_message_destroy(message) }
                index += 1
            }
        }
        while index < count {
            let message = messages[index]
            index += 1
            guard let message else { continue }
            defer { rd_kafka_message_destroy(message) }
            try body(message)
        }
    }
}

private func signalArrival(_ handle: OpaquePointer?, _ opaque: UnsafeMutableRawPointer?) {
    guard let opaque else { return }
    Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue().arrivals.signal()
}
