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
package final class TaskStateManager {
    package let task: TaskID
    package private(set) var stores: [String: any StateStore] = [:]
    private var logged: [(store: any ChangeLoggedStore, changelog: ChangeLogger, persistent: Bool)] = []
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
        checkpointFile = "\(directory.path(of: task))/.checkpoint"
        checkpoint = Checkpoint()
        do {
            if specs.contains(where: \.isPersistent) {
                lock = try directory.lock(task)
                checkpoint = try Checkpoint.read(checkpointFile)
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
        for (store, changelog, persistent) in logged {
            let partition = changelog.topicPartition
            let start = persistent ? checkpoint.offsets[partition] : nil
            let dimensions = [("application", applicationID), ("task", task.description), ("store", store.name)]
            let restored = Counter(label: "streamkit_restored_records_total", dimensions: dimensions, factory: metricsFactory)
            let remaining = Gauge(label: "streamkit_restore_remaining_records", dimensions: dimensions, factory: metricsFactory)
            let began = ContinuousClock.now
            var count = 0
            logger.info("restoring store", metadata: ["store": "\(store.name)", "changelog": "\(partition)", "from": "\(start.map(String.init) ?? "beginning")"])
            let end = try await reader.read(partition, from: start) { records, end in
                try store.restore(records.map { (key: $0.key ?? [], value: $0.value) })
                count += records.count
                restored.increment(by: records.count)
                if let last = records.last { remaining.record(max(0, end - last.offset - 1)) }
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
