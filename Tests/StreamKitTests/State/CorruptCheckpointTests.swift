import Foundation
import Logging
import StreamKit
import StreamKitTesting
import Testing

/// A task whose checkpoint cannot be trusted starts anyway, as Kafka Streams does with a corrupted task: the
/// stores are wiped and restored from the beginning of their changelogs.
@Suite struct CorruptCheckpointTests {
    /// A changelog partition held in memory, offsets from 0.
    final class ListReader: ChangelogReader {
        let records: [KafkaConsumerRecord]

        init(_ entries: [(String, String)]) {
            records = entries.enumerated().map { index, entry in
                KafkaConsumerRecord(topic: "changelog", partition: 0, offset: Int64(index), key: Array(entry.0.utf8), value: Array(entry.1.utf8), timestamp: 0)
            }
        }

        func read(_ partition: TopicPartition, from offset: Int64?, apply: ([KafkaConsumerRecord], Int64) throws -> Void) async throws -> Int64 {
            let end = Int64(records.count)
            try ChangelogOffsetOutOfRange.check(partition, offset: offset, first: 0, end: end)
            let start = Int(offset ?? 0)
            if start < records.count { try apply(Array(records[start...]), end) }
            return end
        }
    }

    static let task = TaskID(subtopology: 0, partition: 0)
    static let spec = Stores.persistentKeyValue("counts", key: .string, value: .string).spec

    let root = FileManager.default.temporaryDirectory.appendingPathComponent("corrupt-checkpoint-\(UInt32.random(in: 0...UInt32.max))").path

    var checkpointFile: String { StateDirectory(root: root, applicationID: "app").path(of: Self.task) + "/.checkpoint" }

    func manager() throws -> TaskStateManager {
        var configuration = StreamsConfiguration(applicationID: "app", bootstrapServers: [])
        configuration.stateDirectory = root
        return try TaskStateManager(
            task: Self.task,
            specs: [Self.spec],
            applicationID: "app",
            configuration: configuration,
            collector: InMemoryRecordCollector(topics: InMemoryTopics(), clock: ManualClock(startingAt: 0)),
            streamTime: { 0 },
            logger: Logger(label: "corrupt", factory: { _ in SwiftLogNoOpLogHandler() })
        )
    }

    func store(_ manager: TaskStateManager) throws -> KeyValueStore<String, String> {
        try #require(manager.stores["counts"] as? KeyValueStore<String, String>)
    }

    /// Restores from `changelog`, then writes a key the changelog does not have (as a store that drifted from
    /// its changelog would hold) and closes.
    func restoreAndDrift(_ changelog: ListReader) async throws {
        let manager = try manager()
        try await manager.restore(from: changelog)
        try await store(manager).put("stale", "x")
        try manager.flush()
        manager.close()
    }

    @Test func anUnreadableCheckpointWipesTheStoreAndRestoresItInFull() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let changelog = ListReader([("a", "1"), ("b", "2")])
        try await restoreAndDrift(changelog)
        try "not a checkpoint".write(toFile: checkpointFile, atomically: true, encoding: .utf8)

        let manager = try manager()
        try await manager.restore(from: changelog)
        let store = try store(manager)
        #expect(try store.get("stale") == nil)
        #expect(try store.all().map(\.value) == ["1", "2"])
        manager.close()
    }

    @Test func aCheckpointBeyondTheChangelogsEndWipesTheStoreAndRestoresItInFull() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let changelog = ListReader([("a", "1"), ("b", "2")])
        try await restoreAndDrift(changelog)
        let topic = Self.spec.changelogTopic.resolved(applicationID: "app")
        try "\(topic) 0 100\n".write(toFile: checkpointFile, atomically: true, encoding: .utf8)

        let manager = try manager()
        try await manager.restore(from: changelog)
        let store = try store(manager)
        #expect(try store.get("stale") == nil)
        #expect(try store.all().map(\.value) == ["1", "2"])
        manager.close()
    }

    @Test func aCheckpointWithinTheChangelogRestoresOnlyWhatFollowsIt() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await restoreAndDrift(ListReader([("a", "1")]))
        let topic = Self.spec.changelogTopic.resolved(applicationID: "app")
        try "\(topic) 0 1\n".write(toFile: checkpointFile, atomically: true, encoding: .utf8)

        let manager = try manager()
        try await manager.restore(from: ListReader([("a", "1"), ("b", "2")]))
        let store = try store(manager)
        #expect(try store.get("stale") == "x", "a trusted checkpoint keeps the store's files")
        #expect(try store.get("b") == "2")
        manager.close()
    }
}
