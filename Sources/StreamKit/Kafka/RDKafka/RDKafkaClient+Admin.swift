import CRdKafka

extension RDKafkaClient {
    /// Starts an admin request on a private queue and waits (off the cooperative pool) for its result event.
    ///
    /// Bounded by `timeout` on every path: librdkafka answers an admin request by its own request timeout, and
    /// the wait for the event gives up a second later, should the event be lost. (Unlike
    /// `rd_kafka_query_watermark_offsets`, which can wait for ever on a broker that went away.)
    func adminRequest<Result: Sendable>(
        _ what: String,
        timeout: Duration,
        start: @escaping @Sendable (OpaquePointer, OpaquePointer, OpaquePointer) throws -> Void,
        results: @escaping @Sendable (OpaquePointer) throws -> Result
    ) async throws -> Result {
        try await blocking.run { () throws -> Result in
            try self.withHandle { handle throws -> Result in
                let queue = rd_kafka_queue_new(handle)!
                defer { rd_kafka_queue_destroy(queue) }
                let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_ANY)!
                defer { rd_kafka_AdminOptions_destroy(options) }
                var errstr = [CChar](repeating: 0, count: 256)
                let ms = Int32(clamping: timeout.milliseconds)
                _ = rd_kafka_AdminOptions_set_request_timeout(options, ms, &errstr, errstr.count)
                _ = rd_kafka_AdminOptions_set_operation_timeout(options, ms, &errstr, errstr.count)
                try start(handle, options, queue)
                guard let event = rd_kafka_queue_poll(queue, ms + 1000) else {
                    throw KafkaError(code: .timedOut, message: "\(what): no answer within \(timeout)")
                }
                defer { rd_kafka_event_destroy(event) }
                let err = rd_kafka_event_error(event)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    let text = String(cString: rd_kafka_event_error_string(event))
                    if err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT {
                        var error = self.unreachable(err, timeout: timeout)
                        error.message = "\(what): \(error.message)"
                        throw error
                    }
                    throw KafkaError(code: KafkaError.Code(err), message: "\(what): \(text)", rdKafkaCode: err.rawValue)
                }
                return try results(event)
            }
        }
    }

    /// Which offset of a partition ``listOffsets(_:_:timeout:)`` asks for.
    enum OffsetSpec {
        /// The first offset still held (the low watermark).
        case earliest
        /// The offset the next record written gets (the high watermark).
        case latest

        var rawValue: Int64 {
            switch self {
            case .earliest: Int64(RD_KAFKA_OFFSET_SPEC_EARLIEST.rawValue)
            case .latest: Int64(RD_KAFKA_OFFSET_SPEC_LATEST.rawValue)
            }
        }
    }

    /// The earliest or latest offset of each partition, from one ListOffsets request to each leader.
    ///
    /// - Throws: the first partition's error, or ``KafkaError/Code/brokerUnreachable`` after `timeout`.
    func listOffsets(_ partitions: [TopicPartition], _ spec: OffsetSpec, timeout: Duration) async throws -> [TopicPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        let what = "list \(spec) offsets of \(partitions.count == 1 ? "\(partitions[0])" : "\(partitions.count) partitions")"
        return try await adminRequest(what, timeout: timeout) { handle, options, queue throws in
            let list = RDKafkaTopicPartitionList(partitions.map { TopicPartitionOffset($0, offset: spec.rawValue) })
            rd_kafka_ListOffsets(handle, list.pointer, options, queue)
        } results: { event throws -> [TopicPartition: Int64] in
            var count = 0
            let infos = rd_kafka_ListOffsets_result_infos(rd_kafka_event_ListOffsets_result(event), &count)
            var offsets: [TopicPartition: Int64] = [:]
            for index in 0..<count {
                guard let info = infos?[index], let element = rd_kafka_ListOffsetsResultInfo_topic_partition(info) else { continue }
                let partition = TopicPartition(topic: String(cString: element.pointee.topic), partition: element.pointee.partition)
                if element.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    throw KafkaError.rdKafka(element.pointee.err, context: "\(what): \(partition)")
                }
                offsets[partition] = element.pointee.offset
            }
            if let missing = partitions.first(where: { offsets[$0] == nil }) {
                throw KafkaError(code: .admin, message: "\(what): no answer for \(missing)")
            }
            return offsets
        }
    }
}
