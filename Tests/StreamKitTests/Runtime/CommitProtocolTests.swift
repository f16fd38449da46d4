import Logging
import StreamKit
import StreamKitTesting
import Synchronization
import Testing

@testable import StreamKit

/// What a task may commit: only offsets whose records' outputs the broker has acknowledged.
@Suite struct CommitProtocolTests {
    /// A collector whose flush can be held open while records go on finishing, and whose broker refuses the
    /// outputs of chosen input offsets (reported at the flush after they were sent, as librdkafka does).
    final class HeldCollector: RecordCollector {
        struct Sent {
            var record: KafkaProducerRecord
            var source: RecordMetadata?
        }

        struct State {
            var sent: [Sent] = []
            var acknowledged = 0
            var refusedSources: Set<Int64> = []
            var holdNextFlush = false
            var held: CheckedContinuation<Void, Never>?
            var awaitingFlush: CheckedContinuation<Void, Never>?
        }

        let state = Mutex(State())

        func send(_ record: KafkaProducerRecord, from source: RecordMetadata?, delivered: (@Sendable (Int64) -> Void)?) async throws {
            state.withLock { $0.sent.append(Sent(record: record, source: source)) }
        }

        func flush() async throws -> [FailedDelivery] {
            let (covered, hold) = state.withLock { state in
                let hold = state.holdNextFlush
                state.holdNextFlush = false
                return (state.sent.count, hold)
            }
            if hold {
                await withCheckedContinuation { (held: CheckedContinuation<Void, Never>) in
                    let waiter = state.withLock { state in
                        state.held = held
                        defer { state.awaitingFlush = nil }
                        return state.awaitingFlush
                    }
                    waiter?.resume()
                }
            }
            return state.withLock { state in
                let failed = state.sent[state.acknowledged..<covered]
                    .filter { state.refusedSources.contains($0.source?.offset ?? -1) }
                    .map { FailedDelivery(record: $0.record, source: $0.source, error: KafkaError(code: .delivery, message: "refused by the test broker")) }
                state.acknowledged = covered
                return failed
            }
        }

        func holdNextFlush() { state.withLock { $0.holdNextFlush = true } }

        func refuseOutputs(of offset: Int64) { state.withLock { _ = $0.refusedSources.insert(offset) } }

        /// Returns once a held flush has started.
        func flushStarted() async {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let started = state.withLock { state in
                    if state.held == nil { state.awaitingFlush = waiter }
                    return state.held != nil
                }
                if started { waiter.resume() }
            }
        }

        func releaseFlush() {
            let held = state.withLock { state in
                defer { state.held = nil }
                return state.held
            }
            held?.resume()
        }
    }

    func task(_ collector: HeldCollector) throws -> StreamTask {
        let builder = StreamsBuilder()
        builder.stream("in", key: .string, value: .string).mapValues { $0.uppercased() }.to("out")
        let configuration = StreamsConfiguration(applicationID: "commit", bootstrapServers: [])
        let clock = ManualClock(startingAt: 0)
        return try StreamTask(
            id: TaskID(subtopology: 0, partition: 0),
            topology: try builder.build(),
            partitions: [TopicPartition(topic: "in", partition: 0)],
            applicationID: configuration.applicationID,
            configuration: configuration,
            collector: collector,
            clock: clock,
            logger: Logger(label: "commit", factory: { _ in SwiftLogNoOpLogHandler() })
        )
    }

    func record(_ offset: Int64) -> KafkaConsumerRecord {
        KafkaConsumerRecord(topic: "in", partition: 0, offset: offset, key: Array("k\(offset)".utf8), value: Array("v\(offset)".utf8), timestamp: 0)
    }

    /// A record that finishes while a commit's flush is under way has output the flush did not wait for: its
    /// offset must wait for the next commit, whose flush then reports its refused output and fails the task.
    @Test func aRecordFinishedDuringTheFlushIsNotCommittedBeforeItsOutputIsAcknowledged() async throws {
        let collector = HeldCollector()
        let task = try task(collector)
        try await task.initialize()
        await task.enqueue([record(0)])
        await task.drain(hold: false)

        collector.holdNextFlush()
        let commit = Task { try await task.prepareCommit() }
        await collector.flushStarted()
        collector.refuseOutputs(of: 1)
        await task.enqueue([record(1)])
        await task.drain(hold: false)
        collector.releaseFlush()
        let first = try await commit.value
        #expect(first == [TopicPartitionOffset(topic: "in", partition: 0, offset: 1)], "only record 0's output was acknowledged")
        await task.committed(first)

        await #expect(throws: TaskFailure.self, "the refused output of record 1 fails the task before its offset is committed") {
            _ = try await task.prepareCommit()
        }
        _ = await task.close(clean: false)
    }
}
