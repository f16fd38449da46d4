import Logging

/// Before an application joins its group: checks that source topics exist, works out and creates repartition
/// topics, and checks that the sources of each sub-topology are co-partitioned.
struct TopicPreparation {
    let topology: Topology
    let configuration: StreamsConfiguration
    let logger: Logger

    func run() async throws {
        let admin = try KafkaAdmin(configuration: configuration.adminConfiguration, logger: logger)
        do {
            try await prepare(admin)
            await admin.close()
        } catch {
            await admin.close()
            throw error
        }
    }

    private func prepare(_ admin: KafkaAdmin) async throws {
        let applicationID = configuration.applicationID
        let external = topology.subtopologies.flatMap(\.sourceTopics).filter { !$0.isInternal }.map { $0.resolved(applicationID: applicationID) }
        let existing = Set(try await admin.listTopics())
        let missing = external.filter { !existing.contains($0) }
        guard missing.isEmpty else {
            throw TopologyError(node: "(sources)", reason: "source topics \(missing.sorted()) do not exist; create them first")
        }
        var partitions: [TopicName: Int32] = [:]
        for description in try await admin.describeTopics(external) {
            partitions[.external(description.name)] = Int32(description.partitions.count)
        }
        // A repartition topic gets the partition count asked for, or the largest among the sources of the
        // sub-topology writing it (resolved in declaration order, which is upstream first).
        for (topic, asked) in topology.repartitionTopics {
            let writer = topology.subtopologies.first { $0.sinkTopics.contains(topic) }
            let upstream = writer?.sourceTopics.compactMap { partitions[$0] }.max()
            let count = asked ?? configuration.repartitionPartitions ?? upstream ?? 1
            partitions[topic] = count
            let name = topic.resolved(applicationID: applicationID)
            if let current = existing.contains(name) ? try await admin.describeTopics([name]).first : nil {
                partitions[topic] = Int32(current.partitions.count)
                continue
            }
            logger.info("creating repartition topic", metadata: ["topic": "\(name)", "partitions": "\(count)"])
            try await admin.ensureTopics([KafkaNewTopic(name: name, partitions: count)], creation: configuration.topicCreation)
        }
        try await createChangelogTopics(admin, partitions: partitions, existing: existing)
        for subtopology in topology.subtopologies where subtopology.sourceTopics.count > 1 {
            let counts = subtopology.sourceTopics.map { ($0.resolved(applicationID: applicationID), partitions[$0] ?? 0) }
            if Set(counts.map(\.1)).count > 1 {
                throw TopologyError(
                    node: "sub-topology \(subtopology.id)",
                    reason: "sources are not co-partitioned: "
                        + counts.map { "\($0.0) has \($0.1) partitions" }.joined(separator: ", ")
                        + "; topics read by one sub-topology need the same partition count"
                )
            }
        }
    }

    /// Each logged store's changelog gets as many partitions as its sub-topology has tasks; an existing one
    /// with fewer could not hold every task's changes.
    private func createChangelogTopics(_ admin: KafkaAdmin, partitions: [TopicName: Int32], existing: Set<String>) async throws {
        let applicationID = configuration.applicationID
        for subtopology in topology.subtopologies {
            let count = subtopology.sourceTopics.compactMap { partitions[$0] }.max() ?? 1
            for spec in subtopology.stores.compactMap({ topology.stores[$0] }) where spec.isLogged {
                let name = spec.changelogTopic.resolved(applicationID: applicationID)
                if existing.contains(name) {
                    let current = try await admin.describeTopics([name]).first?.partitions.count ?? 0
                    guard current >= count else {
                        throw TopologyError(
                            node: spec.name,
                            reason: "changelog topic \(name) has \(current) partitions but the store's sub-topology has \(count) tasks"
                        )
                    }
                    continue
                }
                logger.info("creating changelog topic", metadata: ["topic": "\(name)", "partitions": "\(count)"])
                try await admin.ensureTopics(
                    [KafkaNewTopic(name: name, partitions: count, configs: spec.changelogConfigs)],
                    creation: configuration.topicCreation
                )
            }
        }
    }
}
