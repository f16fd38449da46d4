import Logging
import StreamKit

/// Creates the pipeline and model topics that do not exist yet, all with the same partition count (requests
/// are joined by key across them).
public struct TopicProvisioner: Sendable {
    public var admin: KafkaAdminConfiguration
    public var partitions: Int32
    public var creation: KafkaTopicCreation

    public init(admin: KafkaAdminConfiguration, partitions: Int32, creation: KafkaTopicCreation) {
        self.admin = admin
        self.partitions = partitions
        self.creation = creation
    }

    /// Creates those of `names` that are missing and waits until the broker serves them.
    public func ensure(_ names: some Sequence<String>, logger: Logger) async throws {
        let names = Set(names).sorted()
        guard !names.isEmpty else { return }
        let client = try KafkaAdmin(configuration: admin, logger: logger)
        do {
            let existing = Set(try await client.listTopics())
            let missing = names.filter { !existing.contains($0) }
            if !missing.isEmpty {
                logger.info("creating topics", metadata: ["topics": "\(missing)", "partitions": "\(partitions)"])
                try await client.ensureTopics(missing.map { KafkaNewTopic(name: $0, partitions: partitions) }, creation: creation)
            }
            await client.close()
        } catch {
            await client.close()
            throw error
        }
    }
}
