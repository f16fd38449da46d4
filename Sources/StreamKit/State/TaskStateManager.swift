import Foundation
import Logging
import Metrics

/// A task's stores and what keeps them consistent with their changelogs: the lock on the task's state
/// directory, the checkpoint file, and restoration (Kafka Streams' ProcessorStateManager).
///
/// Persistent stores restore from their checkpointed offset; in-memory stores (and persistent ones without a
/// checkpoint) from the beginning of the changelog. Under exactly-once a store's files may hold writes of an
/// aborted transaction unless the task closed cleanly, so the checkpoint is deleted once the task runs and
/// written again only after a clean close's commit; a persistent store without one is wiped and restored in
/// full.
///
/// A checkpoint that cannot be read, or that points outside its changelog, is treated as Kafka Streams treats
/// a corrupted task: the stores it covers are wiped and restored from the beginning of their changelogs, with
/// one warning in the log.
package final class TaskStateManager {
    package let task: TaskID
    package private(set) var stores: [String: any StateStore] = [:]
    private var logged: [(store: any ChangeLoggedStore, changelog: ChangeLogger, persistent: Bool)] = []
    /// Opens each store again (after it was wiped).
    private var reopen: [String: () throws -> any StateStore] = [:]
    private let directory: StateDirectory
    private let checkpointFile: String
    private var checkpoint: Checkpoint
    private let exactlyOnce: Bool
    private var lock: TaskDirectoryLock?
    private let logger: Logger
    private let metricsFactory: any MetricsFactory
    private let applicationID: String

    package init(
        task: TaskID,
        specs: [StoreSpec],
        applicationID: String,
        configuration: StreamsConfiguration,
        collector: any RecordCollector,
        streamTime: @escaping () -> Int64,
        logger: Logger
    ) throws {
        self.task = task
        self.applicationID = applicationID
        self.logger = logger
        self.exactlyOnce = configuration.processingGuarantee == .exactlyOnce
        self.metricsFactory = configuration.metricsFactory ?? MetricsSystem.factory
        let directory = StateDirectory(root: configuration.stateDirectory, applicationID: applicationID)
        self.directory = directory
        checkpointFile = "\(directory.path(of: task))/.checkpoint"
        checkpoint = Checkpoint()
        do {
            if specs.contains(where: \.isPersistent) {
                lock = try directory.lock(task)
                do {
                    checkpoint = try Checkpoint.read(checkpointFile)
                } catch {
                    logger.warning("checkpoint unreadable; the task's stores are wiped and restored from their changelogs", metadata: [
                        "task": "\(task)", "error": "\(error)",
                    ])
                    Checkpoint.delete(checkpointFile)
                    for spec in specs where spec.isPersistent && spec.isLogged {
                        try? FileManager.default.removeItem(atPath: directory.path(of: spec.name, in: task))
                    }
                }
                // Under exactly-once, a store without a checkpoint may hold writes of an aborted transaction:
                // it starts over from the changelog.
                for spec in specs where exactlyOnce && spec.isPersistent && spec.isLogged
                    && checkpoint.offsets[changelogPartition(spec)] == nil {
                    try? FileManager.default.removeItem(atPath: directory.path(of: spec.name, in: task))
                }
            }
            try open(specs, directory: directory, configuration: configuration, collector: collector, streamTime: streamTime)
        } catch {
            close()
            throw error
        }
    }

    private func changelogPartition(_ spec: StoreSpec) -> TopicPartition {
        TopicPartition(topic: spec.changelogTopic.resolved(applicationID: applicationID), partition: task.partition)
    }

    private func open(
        _ specs: [StoreSpec],
        directory: StateDirectory,
        configuration: StreamsConfiguration,
        collector: any RecordCollector,
        streamTime: @escaping () -> Int64
    ) throws {
        for spec in specs {
            let partition = changelogPartition(spec)
            let changelog = spec.isLogged
                ? ChangeLogger(topic: partition.topic, partition: partition.partition, collector: collector, timestamp: streamTime)
                : nil
            let context = StoreContext(
                task: task,
                directory: directory.path(of: spec.name, in: task),
                rocksDB: configuration.rocksDB,
                changelog: changelog
            )
            let store = try spec.make(context)
            stores[spec.name] = store
            reopen[spec.name] = { try spec.make(context) }
            if let changelog {
                guard let loggedStore = store as? any ChangeLoggedStore else {
                    throw StateStoreError(store: spec.name, reason: "a \(type(of: store)) cannot be restored from a changelog")
                }
                logged.append((loggedStore, changelog, spec.isPersistent))
            }
        }
    }

    /// Fills the logged stores from their changelogs, each from its checkpoint (persistent) or the beginning.
    package func restore(from reader: any ChangelogReader) async throws {
        for index in logged.indices {
            let (changelog, persistent) = (logged[index].changelog, logged[index].persistent)
            var store = logged[index].store
            let partition = changelog.topicPartition
            let start = persistent ? checkpoint.offsets[partition] : nil
            let dimensions = [("application", applicationID), ("task", task.description), ("store", store.name)]
            let restored = Counter(label: "streamkit_restored_records_total", dimensions: dimensions, factory: metricsFactory)
            let remaining = Gauge(label: "streamkit_restore_remaining_records", dimensions: dimensions, factory: metricsFactory)
            let began = ContinuousClock.now
            var count = 0
            func fill(_ store: any ChangeLoggedStore, from start: Int64?) async throws -> Int64 {
                try await reader.read(partition, from: start) { records, end in
                    try store.restore(records.map { (key: $0.key ?? [], value: $0.value) })
                    count += records.count
                    restored.increment(by: records.count)
                    if let last = records.last { remaining.record(max(0, end - last.offset - 1)) }
                }
            }
            logger.info("restoring store", metadata: ["store": "\(store.name)", "changelog": "\(partition)", "from": "\(start.map(String.init) ?? "beginning")"])
            let end: Int64
            do {
                end = try await fill(store, from: start)
            } catch let outOfRange as ChangelogOffsetOutOfRange where start != nil {
                logger.warning("checkpoint outside the changelog; the store is wiped and restored from the beginning", metadata: [
                    "store": "\(store.name)", "reason": "\(outOfRange)",
                ])
                store = try wipe(store)
                logged[index].store = store
                end = try await fill(store, from: nil)
            }
            remaining.record(0)
            checkpoint.offsets[partition] = end
            Metrics.Timer(label: "streamkit_restore_duration_seconds", dimensions: dimensions, factory: metricsFactory)
                .recordNanoseconds((ContinuousClock.now - began).nanoseconds)
            logger.info("store restored", metadata: [
                "store": "\(store.name)", "records": "\(count)", "to": "\(end)", "took": "\(ContinuousClock.now - began)",
            ])
        }
        if exactlyOnce, lock != nil { Checkpoint.delete(checkpointFile) }
    }

    /// Closes `store`, deletes its files and opens it again, empty.
    private func wipe(_ store: any ChangeLoggedStore) throws -> any ChangeLoggedStore {
        store.close()
        try? FileManager.default.removeItem(atPath: directory.path(of: store.name, in: task))
        guard let reopened = try reopen[store.name]?() as? any ChangeLoggedStore else {
            throw StateStoreError(store: store.name, reason: "cannot be opened again after it was wiped")
        }
        stores[store.name] = reopened
        return reopened
    }

    package func flush() throws {
        for store in stores.values { try store.flush() }
    }

    /// Records how far the persistent stores reflect their changelogs; call once everything sent is delivered
    /// and the stores are flushed.
    package func writeCheckpoint() throws {
        guard lock != nil else { return }
        for (_, changelog, persistent) in logged where persistent {
            if let offset = changelog.checkpointOffset { checkpoint.offsets[changelog.topicPartition] = offset }
        }
        try checkpoint.write(checkpointFile)
    }

    /// Closes the stores; the directory stays locked until ``release()``.
    package func closeStores() {
        for store in stores.values { store.close() }
    }

    /// Closes the stores and unlocks the task's directory.
    package func close() {
        closeStores()
        release()
    }

    package func release() {
        lock?.release()
        lock = nil
    }
}
