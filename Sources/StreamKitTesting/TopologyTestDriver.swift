import Foundation
import Logging
import StreamKit

/// Runs a topology in-process, with no broker: pipe records into its input topics, read its output topics,
/// advance the wall clock, and look into its stores.
///
/// Every topic has one partition, so each sub-topology runs as one task. Each `pipe` returns once the record and
/// everything it caused (including records passing through repartition topics) has been processed, which makes
/// runs deterministic. Failures that the configured error handling answers with `.fail` are thrown from `pipe`.
///
/// ```swift
/// let driver = try TopologyTestDriver(topology)
/// let input = driver.inputTopic("words", key: .string, value: .string)
/// let output = driver.outputTopic("lengths", key: .string, value: Serde<Int64>.bigEndian)
/// try await input.pipe(key: "a", value: "hello")
/// #expect(output.readValues() == [5])
/// ```
public final class TopologyTestDriver {
    public let topology: Topology
    public let configuration: StreamsConfiguration
    /// The wall clock the tasks see; starts at `startTime` and moves only through ``advanceWallClockTime(by:)``.
    public let clock: ManualClock
    let topics = InMemoryTopics()
    private var tasks: [Int: StreamTask] = [:]
    /// How far each task has read each topic it consumes.
    private var positions: [String: Int] = [:]

    /// - Parameters:
    ///   - configuration: error handling, in-flight bound and application id are used; Kafka settings are not.
    ///   - startTime: the wall-clock time at the start, in milliseconds since the epoch.
    public init(
        _ topology: Topology,
        configuration: StreamsConfiguration = StreamsConfiguration(applicationID: "test-driver", bootstrapServers: []),
        startTime: Int64 = 0,
        logger: Logger = Logger(label: "streamkit.test-driver", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws {
        var configuration = configuration
        configuration.stateDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("streamkit-test-driver-\(UUID().uuidString)").path
        self.topology = topology
        self.configuration = configuration
        self.clock = ManualClock(startingAt: startTime)
        let collector = InMemoryRecordCollector(topics: topics, clock: clock)
        for subtopology in topology.subtopologies {
            let id = TaskID(subtopology: subtopology.id, partition: 0)
            let partitions = Set(
                topology.sourceTopics(of: subtopology.id, applicationID: configuration.applicationID).map {
                    TopicPartition(topic: $0, partition: 0)
                }
            )
            tasks[subtopology.id] = try StreamTask(
                id: id,
                topology: topology,
                partitions: partitions,
                applicationID: configuration.applicationID,
                configuration: configuration,
                collector: collector,
                clock: clock,
                logger: logger
            )
        }
    }

    private var initialized = false

    private func ensureInitialized() async throws {
        guard !initialized else { return }
        initialized = true
        for id in tasks.keys.sorted() { try await tasks[id]!.initialize() }
    }

    /// Appends a record to `topic` and processes everything it causes.
    public func pipe(_ record: KafkaProducerRecord) async throws {
        try await ensureInitialized()
        _ = topics.append(record, timestamp: clock.now())
        try await processPending()
    }

    /// Appends several records to their topics at once and processes them together: records of different keys
    /// may then be in flight at the same time, as they would be when a fetch returns a batch.
    public func pipe(batch records: [KafkaProducerRecord]) async throws {
        try await ensureInitialized()
        for record in records { _ = topics.append(record, timestamp: clock.now()) }
        try await processPending()
    }

    /// Moves the wall clock forward and fires the wall-clock punctuators that came due.
    public func advanceWallClockTime(by duration: Duration) async throws {
        try await ensureInitialized()
        clock.advance(by: duration)
        for id in tasks.keys.sorted() {
            let task = tasks[id]!
            await task.punctuateWallClock()
            if let failure = await task.failure { throw failure }
        }
        try await processPending()
    }

    /// Feeds every topic a task reads with what was appended since, until nothing new appears.
    private func processPending() async throws {
        var progressed = true
        while progressed {
            progressed = false
            for id in tasks.keys.sorted() {
                let task = tasks[id]!
                for topic in topology.sourceTopics(of: id, applicationID: configuration.applicationID) {
                    let records = topics.records(topic, from: positions[topic] ?? 0)
                    guard !records.isEmpty else { continue }
                    positions[topic, default: 0] += records.count
                    progressed = true
                    await task.enqueue(records)
                    await task.drain(hold: false)
                    if let failure = await task.failure { throw failure }
                    _ = try await task.prepareCommit()
                }
            }
        }
    }

    /// Every record written to `topic` so far, raw.
    public func records(in topic: String) -> [KafkaConsumerRecord] { topics.records(topic, from: 0) }

    /// A typed way to write to `topic`.
    public func inputTopic<K, V>(_ topic: String, key: Serde<K>, value: Serde<V>) -> TestInputTopic<K, V> {
        TestInputTopic(driver: self, topic: topic, keySerde: key, valueSerde: value)
    }

    /// A typed way to read what the topology wrote to `topic`.
    public func outputTopic<K, V>(_ topic: String, key: Serde<K>, value: Serde<V>) -> TestOutputTopic<K, V> {
        TestOutputTopic(driver: self, topic: topic, keySerde: key, valueSerde: value)
    }

    /// The stream time of the task running `subtopology`.
    public func streamTime(subtopology: Int = 0) async -> Int64 { await tasks[subtopology]!.streamTime }

    /// The contents of the key-value store `name`, in key order.
    public func keyValueStore<K: Sendable, V: Sendable>(_ name: String, key: K.Type = K.self, value: V.Type = V.self) async throws -> [(key: K, value: V)] {
        guard let subtopology = topology.subtopologies.first(where: { $0.stores.contains(name) }) else {
            throw TopologyError(node: name, reason: "no sub-topology uses a store with this name")
        }
        return try await tasks[subtopology.id]!.readStore(name, key: K.self, value: V.self)
    }

    /// Closes every task (processors and stores) and removes the state directory of its persistent stores.
    public func close() async {
        for id in tasks.keys.sorted() {
            _ = await tasks[id]!.close(clean: true)
            await tasks[id]!.finishClose(committed: true)
        }
        try? FileManager.default.removeItem(atPath: configuration.stateDirectory)
    }
}
