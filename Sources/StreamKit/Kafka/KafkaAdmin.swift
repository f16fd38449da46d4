import CRdKafka
import Logging

/// Creates, describes, lists and deletes topics.
///
/// Every operation is bounded by ``KafkaAdminConfiguration/requestTimeout`` and runs its blocking wait off the
/// cooperative pool. Call ``close()`` when done.
public final class KafkaAdmin: Sendable {
    private let client: RDKafkaClient
    private let configuration: KafkaAdminConfiguration

    /// - Throws: ``KafkaError/Code/invalidConfiguration`` naming the property librdkafka rejects.
    public init(configuration: KafkaAdminConfiguration, logger: Logger) throws {
        self.client = try RDKafkaClient(
            kind: .producer,
            properties: configuration.properties,
            logger: logger,
            statistics: nil
        )
        self.configuration = configuration
    }

    /// Creates topics.
    ///
    /// - Parameter ifNotExists: treat topics that exist already as created.
    /// - Throws: ``KafkaError/Code/topicAlreadyExists`` (unless `ifNotExists`), or the first topic's error.
    public func createTopics(_ topics: [KafkaNewTopic], ifNotExists: Bool = false) async throws {
        try client.checkUsable("admin client")
        let errors = try await perform("create topics \(topics.map(\.name))") { handle, options, queue throws in
            var newTopics: [OpaquePointer?] = []
            defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
            for topic in topics {
                var errstr = [CChar](repeating: 0, count: 512)
                guard let newTopic = rd_kafka_NewTopic_new(topic.name, topic.partitions, topic.replicationFactor, &errstr, errstr.count) else {
                    throw KafkaError(code: .admin, message: "topic \(topic.name): \(String(cBuffer: errstr))")
                }
                newTopics.append(newTopic)
                for (key, value) in topic.configs.sorted(by: { $0.key < $1.key }) {
                    let err = rd_kafka_NewTopic_set_config(newTopic, key, value)
                    if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.rdKafka(err, context: "topic \(topic.name) config \(key)") }
                }
            }
            rd_kafka_CreateTopics(handle, &newTopics, newTopics.count, options, queue)
        } results: { event in
            var count = 0
            let results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count)
            return topicResults(results, count: count)
        }
        for (topic, error) in errors {
            if ifNotExists && error.code == .topicAlreadyExists { continue }
            throw KafkaError(code: error.code, message: "create topic \(topic): \(error.message)", rdKafkaCode: error.rdKafkaCode)
        }
    }

    /// Creates those of `topics` that do not exist, as `creation` says, and waits until each has a leader for
    /// every partition.
    ///
    /// - Throws: ``KafkaError/Code/invalidConfiguration`` when a topic the broker created has another partition
    ///   count than asked; ``KafkaError/Code/timedOut`` when the topics are not ready in time.
    public func ensureTopics(_ topics: [KafkaNewTopic], creation: KafkaTopicCreation) async throws {
        guard !topics.isEmpty else { return }
        let names = topics.map(\.name)
        switch creation.mode {
        case .adminAPI:
            try await createTopics(topics.map(creation.applied(to:)), ifNotExists: true)
            try await waitUntilReady(names)
        case .brokerAutoCreation:
            try await waitUntilReady(names, naming: true)
            let described = try await describeTopics(names)
            for (topic, description) in zip(topics, described) where description.partitions.count != Int(topic.partitions) {
                throw KafkaError(
                    code: .invalidConfiguration,
                    message: "topic \(topic.name) has \(description.partitions.count) partitions, \(topic.partitions) needed: "
                        + "the broker created it with its default; create it with \(topic.partitions) partitions"
                )
            }
        }
    }

    /// Deletes topics.
    public func deleteTopics(_ names: [String]) async throws {
        try client.checkUsable("admin client")
        let errors = try await perform("delete topics \(names)") { handle, options, queue throws in
            var deletions: [OpaquePointer?] = names.map { rd_kafka_DeleteTopic_new($0) }
            defer { for deletion in deletions { rd_kafka_DeleteTopic_destroy(deletion) } }
            rd_kafka_DeleteTopics(handle, &deletions, deletions.count, options, queue)
        } results: { event in
            var count = 0
            let results = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(event), &count)
            return topicResults(results, count: count)
        }
        if let (topic, error) = errors.first {
            throw KafkaError(code: error.code, message: "delete topic \(topic): \(error.message)", rdKafkaCode: error.rdKafkaCode)
        }
    }

    /// The partitions, leaders and replicas of each named topic, from the cluster's metadata.
    ///
    /// - Throws: ``KafkaError/Code/unknownTopic`` if a topic does not exist.
    public func describeTopics(_ names: [String]) async throws -> [KafkaTopicDescription] {
        let all = try await metadata()
        return try names.map { name in
            guard let topic = all.first(where: { $0.name == name }) else {
                throw KafkaError(code: .unknownTopic, message: "topic \(name) does not exist")
            }
            return topic
        }
    }

    /// The partitions, leaders and replicas of those named topics that exist, from one metadata request.
    public func describeExistingTopics(_ names: [String]) async throws -> [KafkaTopicDescription] {
        let wanted = Set(names)
        return try await metadata().filter { wanted.contains($0.name) }
    }

    /// The names of all topics in the cluster.
    public func listTopics() async throws -> [String] {
        try await metadata().map(\.name).sorted()
    }

    /// The configs of a topic as the broker reports them (brokers may leave out defaults).
    public func describeConfigs(topic: String) async throws -> [String: String] {
        try client.checkUsable("admin client")
        let configs = try await perform("describe configs of \(topic)") { handle, options, queue throws in
            var resource: OpaquePointer? = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic)
            defer { rd_kafka_ConfigResource_destroy(resource) }
            rd_kafka_DescribeConfigs(handle, &resource, 1, options, queue)
        } results: { event -> [String: String] in
            var count = 0
            let resources = rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(event), &count)
            var result: [String: String] = [:]
            for index in 0..<count {
                guard let resource = resources?[index] else { continue }
                var entryCount = 0
                let entries = rd_kafka_ConfigResource_configs(resource, &entryCount)
                for entryIndex in 0..<entryCount {
                    guard let entry = entries?[entryIndex], let value = rd_kafka_ConfigEntry_value(entry) else { continue }
                    result[String(cString: rd_kafka_ConfigEntry_name(entry))] = String(cString: value)
                }
            }
            return result
        }
        return configs
    }

    /// Waits until every named topic exists and each of its partitions has a leader.
    ///
    /// - Throws: ``KafkaError/Code/timedOut`` naming the topics still not ready after `timeout`.
    ///
    /// - Parameter naming: ask for the topics by name, which makes a broker that auto-creates topics create them.
    public func waitUntilReady(_ names: [String], timeout: Duration? = nil, naming: Bool = false) async throws {
        let timeout = timeout ?? configuration.requestTimeout
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            let topics = try await naming ? metadata(of: names) : metadata()
            let notReady = names.filter { name in !(topics.first { $0.name == name }?.isReady ?? false) }
            if notReady.isEmpty { return }
            if clock.now >= deadline {
                throw KafkaError(code: .timedOut, message: "topics \(notReady) not ready after \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Releases the native handle. Safe to call more than once.
    public func close() async {
        await client.destroy()
    }

    // MARK: Helpers

    private func metadata() async throws -> [KafkaTopicDescription] {
        try client.checkUsable("admin client")
        let client = self.client
        let timeout = configuration.requestTimeout
        return try await client.blocking.run { () throws in
            try Self.describe(client, topic: nil, timeout: timeout)
        }
    }

    /// The named topics that exist, each asked for by name (a request that makes an auto-creating broker create it).
    private func metadata(of names: [String]) async throws -> [KafkaTopicDescription] {
        try client.checkUsable("admin client")
        let client = self.client
        let timeout = configuration.requestTimeout
        return try await client.blocking.run { () throws in
            try names.flatMap { name in
                try client.withHandle { handle in
                    guard let topic = rd_kafka_topic_new(handle, name, nil) else {
                        throw KafkaError(code: .invalidConfiguration, message: "topic \(name): \(String(cString: rd_kafka_err2str(rd_kafka_last_error())))")
                    }
                    defer { rd_kafka_topic_destroy(topic) }
                    return try Self.describe(client, topic: topic, timeout: timeout).filter { $0.name == name }
                }
            }
        }
    }

    /// One metadata request: for every topic, or for `topic` alone. Call on a blocking thread.
    private static func describe(_ client: RDKafkaClient, topic: OpaquePointer?, timeout: Duration) throws -> [KafkaTopicDescription] {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = try client.withHandle { rd_kafka_metadata($0, topic == nil ? 1 : 0, topic, &metadata, Int32(clamping: timeout.milliseconds)) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { throw client.unreachable(err, timeout: timeout) }
        defer { rd_kafka_metadata_destroy(metadata) }
        let md = metadata.pointee
        return (0..<Int(md.topic_cnt)).compactMap { index in
            let topic = md.topics[index]
            guard topic.err == RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
            let partitions = (0..<Int(topic.partition_cnt)).map { partitionIndex in
                let partition = topic.partitions[partitionIndex]
                return KafkaTopicDescription.Partition(
                    id: partition.id,
                    leader: partition.leader,
                    replicas: Array(UnsafeBufferPointer(start: partition.replicas, count: Int(partition.replica_cnt))),
                    inSyncReplicas: Array(UnsafeBufferPointer(start: partition.isrs, count: Int(partition.isr_cnt)))
                )
            }
            return KafkaTopicDescription(name: String(cString: topic.topic), partitions: partitions.sorted { $0.id < $1.id })
        }
    }

    private func perform<Result: Sendable>(
        _ what: String,
        start: @escaping @Sendable (OpaquePointer, OpaquePointer, OpaquePointer) throws -> Void,
        results: @escaping @Sendable (OpaquePointer) -> Result
    ) async throws -> Result {
        try await client.adminRequest(what, timeout: configuration.requestTimeout, start: start, results: results)
    }
}

private func topicResults(_ results: UnsafeMutablePointer<OpaquePointer?>?, count: Int) -> [(String, KafkaError)] {
    (0..<count).compactMap { index in
        guard let result = results?[index] else { return nil }
        let err = rd_kafka_topic_result_error(result)
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        let name = String(cString: rd_kafka_topic_result_name(result))
        let text = rd_kafka_topic_result_error_string(result).map { String(cString: $0) } ?? String(cString: rd_kafka_err2str(err))
        return (name, KafkaError(code: KafkaError.Code(err), message: text, rdKafkaCode: err.rawValue))
    }
}
