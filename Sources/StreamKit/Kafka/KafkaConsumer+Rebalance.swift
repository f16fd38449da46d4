import CRdKafka
import Dispatch
import Logging

/// Applies rebalance events on the consumer's poll thread: assignments first, then the listener; for
/// revocations the listener first, then the unassignment, so that the listener can commit in time.
struct KafkaConsumerRebalancer: RDKafkaRebalanceHandler {
    let listener: (any KafkaRebalanceListener)?
    /// Set with separate partition queues: opened before partitions are assigned, closed once unassigned.
    let partitionQueues: RDKafkaPartitionQueues?
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
            // librdkafka keeps a partition's pause across assignments; a new assignment starts fetching, as in
            // Kafka's own consumer, or a partition paused before a rebalance would never be read again.
            report(rd_kafka_resume_partitions(handle, partitions), "resume")
            if let listener { waitFor { await listener.partitionsAssigned(changed) } }

        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let lost = rd_kafka_assignment_lost(handle) != 0
            logger.info(
                lost ? "partitions lost" : "partitions revoked",
                metadata: ["partitions": "\(changed)", "cooperative": "\(cooperative)"]
            )
            if let listener {
                waitFor {
                    if lost { await listener.partitionsLost(changed) } else { await listener.partitionsRevoked(changed) }
                }
            }
            if cooperative {
                report(rd_kafka_incremental_unassign(handle, partitions), "incremental unassign")
            } else {
                report(rd_kafka_assign(handle, nil), "unassign")
            }
            partitionQueues?.close(changed)

        default:
            logger.error("rebalance failed", metadata: ["error": "\(String(cString: rd_kafka_err2str(event)))"])
            if cooperative {
                report(rd_kafka_incremental_unassign(handle, partitions), "incremental unassign")
            } else {
                report(rd_kafka_assign(handle, nil), "unassign")
            }
            partitionQueues?.close(changed)
        }
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
