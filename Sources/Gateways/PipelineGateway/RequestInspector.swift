import Dataflow
import Logging
import StreamKit

/// Finds every record of one request on the topics of a pipeline — its inputs, each step's inputs and outputs,
/// its outputs, and the errors topic — so that one can follow a request through the graph (data lineage).
///
/// Reads the last ``PipelineGatewayConfiguration/inspectRecordsPerPartition`` records of each partition, with a
/// consumer of its own outside any group.
public struct RequestInspector: Sendable {
    let configuration: PipelineGatewayConfiguration
    let logger: Logger

    /// What inspect shows for one request.
    public struct Report: Encodable, Sendable {
        var pipeline: String
        var requestID: String
        var records: [Entry]

        enum CodingKeys: String, CodingKey {
            case pipeline, records
            case requestID = "request_id"
        }
    }

    /// One record of the request, where it was, and what it held.
    public struct Entry: Encodable, Sendable {
        var topic: String
        /// The step whose topic it is, `nil` for the pipeline's own inputs and outputs and for errors.
        var step: String?
        /// `inputs`, `outputs` or `errors`.
        var side: String
        var partition: Int32
        var offset: Int64
        var timestamp: Int64
        var key: String
        var headers: [String: String]
        var request: InferenceRequest?
        var response: InferenceResponse?
        /// For an error record: the model or step at fault and the reason.
        var error: ErrorRecord?
        /// A value that could not be read as what its topic carries.
        var undecodable: String?
    }

    public struct ErrorRecord: Encodable, Sendable {
        var source: String
        var reason: String
    }

    /// The latest records of a pipeline on each of its topics, as `seldon pipeline inspect` shows them.
    public struct Recent: Encodable, Sendable {
        var pipeline: String
        var records: [Entry]
    }

    /// A topic a request of the pipeline can leave records on.
    struct Place {
        var step: String?
        var side: String
        /// Where the request passes it, from 0 (the pipeline's inputs).
        var order: Int
    }

    /// Where a request of `pipeline` can leave records, by topic.
    func places(of pipeline: Pipeline) -> [String: Place] {
        let topics = configuration.topics
        var list: [(String, String?, String)] = [(topics.pipelineInputs(pipeline.name), nil, "inputs")]
        for step in pipeline.steps {
            list.append((topics.modelInputs(step.name), step.name, "inputs"))
            list.append((topics.modelOutputs(step.name), step.name, "outputs"))
        }
        list.append((topics.pipelineOutputs(pipeline.name), nil, "outputs"))
        list.append((topics.errors, nil, "errors"))
        var places: [String: Place] = [:]
        for (order, (topic, step, side)) in list.enumerated() where places[topic] == nil {
            places[topic] = Place(step: step, side: side, order: order)
        }
        return places
    }

    /// The id of the request last written to the pipeline's inputs, `nil` when there is none.
    func latestRequestID(of pipeline: Pipeline) async throws -> String? {
        var latest: (timestamp: Int64, id: String)?
        try await scan(try await existingTopics([configuration.topics.pipelineInputs(pipeline.name)]), lastRecords: 100) { record in
            guard record.headers.string(DataflowHeaders.pipeline) == pipeline.name,
                  let id = record.headers.string(DataflowHeaders.requestID),
                  record.timestamp >= latest?.timestamp ?? .min
            else { return }
            latest = (record.timestamp, id)
        }
        return latest?.id
    }

    func inspect(_ pipeline: Pipeline, requestID: String) async throws -> Report {
        let places = places(of: pipeline)
        var entries: [Entry] = []
        try await scan(try await existingTopics(Array(places.keys)), lastRecords: configuration.inspectRecordsPerPartition) { record in
            if let entry = entry(record, pipeline: pipeline.name, requestID: requestID, places: places) { entries.append(entry) }
        }
        entries.sort { ($0.timestamp, places[$0.topic]?.order ?? 0, $0.offset) < ($1.timestamp, places[$1.topic]?.order ?? 0, $1.offset) }
        return Report(pipeline: pipeline.name, requestID: requestID, records: entries)
    }

    /// The last `count` records of the pipeline on each of its topics (those of other pipelines left out of the
    /// shared model and error topics), each topic's in the order they were written, topics in the pipeline's order.
    func recent(_ pipeline: Pipeline, count: Int) async throws -> Recent {
        let places = places(of: pipeline)
        var byTopic: [String: [Entry]] = [:]
        try await scan(try await existingTopics(Array(places.keys)), lastRecords: count * 16) { record in
            guard record.headers.string(DataflowHeaders.pipeline) == pipeline.name, let entry = entry(record, places: places) else { return }
            byTopic[record.topic, default: []].append(entry)
        }
        var records: [Entry] = []
        for topic in byTopic.keys.sorted(by: { (places[$0]?.order ?? 0, $0) < (places[$1]?.order ?? 0, $1) }) {
            let entries = byTopic[topic, default: []].sorted { ($0.timestamp, $0.partition, $0.offset) < ($1.timestamp, $1.partition, $1.offset) }
            records += entries.suffix(count)
        }
        return Recent(pipeline: pipeline.name, records: records)
    }

    private func existingTopics(_ names: [String]) async throws -> [KafkaTopicDescription] {
        let admin = try KafkaAdmin(configuration: KafkaAdminConfiguration(matching: configuration.consumer), logger: logger)
        do {
            let existing = try await admin.describeExistingTopics(names)
            await admin.close()
            return existing
        } catch {
            await admin.close()
            throw error
        }
    }

    /// Reads the last `lastRecords` records of every partition of `topics`, at least up to where each ended when
    /// the scan began, with a consumer of its own outside any group.
    private func scan(
        _ topics: [KafkaTopicDescription],
        lastRecords: Int,
        timeout: Duration = .seconds(10),
        _ visit: (KafkaConsumerRecord) -> Void
    ) async throws {
        var reader = configuration.consumer
        reader.groupID = nil
        let consumer = try KafkaConsumer(configuration: reader, logger: logger)
        do {
            let partitions = topics.flatMap { description in
                description.partitions.map { TopicPartition(topic: description.name, partition: $0.id) }
            }
            var ends: [TopicPartition: Int64] = [:]
            var starts: [TopicPartitionOffset] = []
            for (partition, marks) in try await consumer.watermarks(partitions) where marks.high > marks.low {
                ends[partition] = marks.high
                starts.append(TopicPartitionOffset(partition, offset: max(marks.low, marks.high - Int64(lastRecords))))
            }
            if !starts.isEmpty { try await consumer.assign(starts) }
            let deadline = ContinuousClock.now + timeout
            var limits = ends
            var rechecked = false
            while true {
                try await read(consumer, until: &ends, limits: limits, deadline: deadline, visit)
                // A record written just before the scan began may not be counted in the ends yet: once at the ends,
                // read on to the ends as they are now, so that a request answered before the scan is complete.
                guard ends.isEmpty, !rechecked, !limits.isEmpty else { break }
                rechecked = true
                let now = try await consumer.endOffsets(Array(limits.keys))
                let moved = now.filter { $0.value > limits[$0.key]! }
                guard !moved.isEmpty else { break }
                (ends, limits) = (moved, moved)
            }
            if !ends.isEmpty {
                logger.warning("inspect stopped before the end of some partitions", metadata: ["partitions": "\(ends.keys.sorted { "\($0)" < "\($1)" })"])
            }
            await consumer.close()
        } catch {
            await consumer.close()
            throw error
        }
    }

    /// Polls, visiting every record, until each partition of `ends` has had its records before its limit handed
    /// over; or, when the last offset holds no record (a transaction marker), until the read position has passed it
    /// and a further poll brought nothing of it.
    private func read(
        _ consumer: KafkaConsumer,
        until ends: inout [TopicPartition: Int64],
        limits: [TopicPartition: Int64],
        deadline: ContinuousClock.Instant,
        _ visit: (KafkaConsumerRecord) -> Void
    ) async throws {
        var passed: Set<TopicPartition> = []
        while !ends.isEmpty, ContinuousClock.now < deadline {
            var polled: Set<TopicPartition> = []
            for record in try await consumer.poll(maxRecords: 5000, timeout: .milliseconds(100)) {
                let partition = TopicPartition(topic: record.topic, partition: record.partition)
                visit(record)
                polled.insert(partition)
                if let limit = limits[partition], record.offset >= limit - 1 { ends[partition] = nil }
            }
            for position in try consumer.position(Array(ends.keys)) where position.offset >= ends[position.topicPartition]! {
                if passed.contains(position.topicPartition), !polled.contains(position.topicPartition) {
                    ends[position.topicPartition] = nil
                } else {
                    passed.insert(position.topicPartition)
                }
            }
        }
    }

    private func entry(
        _ record: KafkaConsumerRecord,
        pipeline: String,
        requestID: String,
        places: [String: Place]
    ) -> Entry? {
        guard record.headers.string(DataflowHeaders.requestID) == requestID, record.headers.string(DataflowHeaders.pipeline) == pipeline else {
            return nil
        }
        return entry(record, places: places)
    }

    /// What inspect shows of `record`; `nil` for a topic that is not one of `places`.
    private func entry(_ record: KafkaConsumerRecord, places: [String: Place]) -> Entry? {
        guard let place = places[record.topic] else { return nil }
        var headers: [String: String] = [:]
        for header in record.headers { headers[header.key] = header.value.map { String(decoding: $0, as: UTF8.self) } ?? "" }
        var entry = Entry(
            topic: record.topic, step: place.step, side: place.side, partition: record.partition, offset: record.offset,
            timestamp: record.timestamp, key: String(decoding: record.key ?? [], as: UTF8.self), headers: headers
        )
        let value = record.value ?? []
        if let source = record.headers.string(DataflowHeaders.error) {
            entry.error = ErrorRecord(source: source, reason: String(decoding: value, as: UTF8.self))
        } else {
            do {
                if place.side == "inputs" {
                    entry.request = try InferenceRequest(serializedBytes: value)
                } else {
                    entry.response = try InferenceResponse(serializedBytes: value)
                }
            } catch {
                entry.undecodable = "\(error)"
            }
        }
        return entry
    }
}
