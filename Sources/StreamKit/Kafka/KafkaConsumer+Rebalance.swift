import CRdKafka
import Dispatch
import Logging

/// Applies rebalance events on the consumer's poll thread: assignments first, then the listener; for
/// revocations the listener first, then the unassignment, so that the listener can commit in time.
struct KafkaConsumerRebalancer: RDKafkaRebalanceHandler {
    let listener: (any KafkaRebalanceListener)?
    /// Set with separate partition queues: opened before partitions are assigned, closed once unassigned.
    let partitionQueues: RDKafkaPartitionQueues?
    /// The application's pauses, lifted when their partitions are revoked or lost: librdkafka would keep them
    /// into the next assignment of the same partitions, which would then never be fetched.
    let paused: PausedPartitions
    /// Where revoked and lost partitions are noted for the poll the callback runs in.
    let revoked: RevokedPartitions
    /// Whether the configured assignor is cooperative: what to go by when librdkafka cannot say which protocol
    /// the group uses (it answers nothing while the consumer is closing).
    let configuredCooperative: Bool
    let logger: Logger

    func rebalance(
        _ handle: OpaquePointer,
        _ event: rd_kafka_resp_err_t,
        _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    ) {
        let list = RDKafkaTopicPartitionList(borrowing: partitions)
        let changed = list.partitions
        let cooperative = rd_kafka_rebalance_protocol(handle).map { String(cString: $0) == "COOPERATIVE" } ?? configuredCooperative

        switch event {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            logger.info("partitions assigned", metadata: ["partitions": "\(changed)", "cooperative": "\(cooperative)"])
            partitionQueues?.open(handle, changed)
            if cooperative {
                report(rd_kafka_incremental_assign(handle, partitions), "incremental assign")
            } else {
                report(rd_kafka_assign(handle, partitions), "assign")
            }
            if let listener { waitFor { await listener.partitionsAssigned(changed) } }

        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let lost = rd_kafka_assignment_lost(handle) != 0
            revoked.revoked(changed)
            logger.info(
                lost ? "partitions lost" : "partitions revoked",
                metadata: ["partitions": "\(changed)", "cooperative": "\(cooperative)"]
            )
            if let listener {
                waitFor {
                    if lost { await listener.partitionsLost(changed) } else { await listener.partitionsRevoked(changed) }
                }
            }
            resumePaused(handle, changed)
            if cooperative {
                report(rd_kafka_incremental_unassign(handle, partitions), "incremental unassign")
            } else {
                report(rd_kafka_assign(handle, nil), "unassign")
            }
            partitionQueues?.close(changed)

        default:
            logger.error("rebalance failed", metadata: ["error": "\(String(cString: rd_kafka_err2str(event)))"])
            revoked.revoked(changed)
            resumePaused(handle, changed)
            if cooperative {
                report(rd_kafka_incremental_unassign(handle, partitions), "incremental unassign")
            } else {
                report(rd_kafka_assign(handle, nil), "unassign")
            }
            partitionQueues?.close(changed)
        }
    }

    /// Lifts the application's pause of those of `partitions` it paused, before they are unassigned.
    private func resumePaused(_ handle: OpaquePointer, _ partitions: [TopicPartition]) {
        let lifted = paused.take(partitions)
        guard !lifted.isEmpty else { return }
        let list = RDKafkaTopicPartitionList(lifted)
        report(rd_kafka_resume_partitions(handle, list.pointer), "resume")
    }

    /// Blocks the poll thread (a Dispatch thread, never a cooperative one) until the listener is done.
    private func waitFor(_ body: @escaping @Sendable () async -> Void) {
        let done = DispatchSemaphore(value: 0)
        Task {
            await body()
            done.signal()
        }
        done.wait()
    }

    private func report(_ error: OpaquePointer?, _ what: String) {
        if let error { logger.error("\(what) failed", metadata: ["error": "\(KafkaError.consuming(error))"]) }
    }

    private func report(_ err: rd_kafka_resp_err_t, _ what: String) {
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.error("\(what) failed", metadata: ["error": "\(String(cString: rd_kafka_err2str(err)))"])
        }
    }
}
