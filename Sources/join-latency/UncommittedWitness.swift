import Foundation
import Synchronization
import StreamKit

/// Reads the joined topic read_uncommitted beside the collector, so that a pair missing from the committed output
/// can be told apart: written in a transaction that did not commit (or that a reader did not see committed), or
/// never written at all.
final class UncommittedWitness: Sendable {
    private let consumer: KafkaConsumer
    private let seen = Mutex(Set<Int64>())
    private let stopped = Atomic(false)

    init(consumer: KafkaConsumer, topic: String, partitions: Int32) async throws {
        self.consumer = consumer
        try await consumer.assign(try await consumer.endOffsets([topic: partitions]))
    }

    func run() async throws {
        let decoder = JSONDecoder()
        while !stopped.load(ordering: .relaxed) {
            let records = try await consumer.poll(maxRecords: 2000, timeout: .milliseconds(20))
            let ids = records.compactMap { record in record.value.flatMap { try? decoder.decode(JoinedPair.self, from: Data($0)).id } }
            if !ids.isEmpty { seen.withLock { $0.formUnion(ids) } }
        }
    }

    func stop() { stopped.store(true, ordering: .relaxed) }

    /// Which of `ids` were written to the joined topic, committed or not.
    func written(_ ids: [Int64]) -> [Int64] { seen.withLock { seen in ids.filter { seen.contains($0) } } }
}
