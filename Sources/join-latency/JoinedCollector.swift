import Foundation
import Histogram
import Synchronization
import StreamKit

/// Reads `joined` from where it ended before the run (read_committed), and keeps per pair number whether it was
/// seen and how often, and the latency from the later input's produce time to the output's consumption.
///
/// As the baseline of the same run it also reads the right stream itself: the latency of a bare produce→consume
/// hop on this cluster, which no join can beat.
final class JoinedCollector: Sendable {
    struct Tally {
        var joined: Int64 = 0
        var duplicates: Int64 = 0
        /// Outputs that name no pair of this run (older runs, or a joiner's mistake).
        var foreign: Int64 = 0
        var malformed: Int64 = 0
        /// Microseconds, three significant digits, up to an hour.
        var latency = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        var hop = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        /// The right stream copied by kafka-pipe (`--compare`): a bare consume→produce hop.
        var pipe = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        var seen: Set<Int64> = []
        /// Warm-up pairs (negative ids) seen joined, and their right records seen copied by kafka-pipe.
        var warmUpsJoined: Set<Int64> = []
        var warmUpsPiped: Set<Int64> = []
        var lastArrival = ContinuousClock.now
    }

    private let consumer: KafkaConsumer
    private let state = Mutex(Tally())
    private let stopped = Atomic(false)
    private let runStart: Int64
    private let expected: Int64
    private let baseline: String
    private let pipe: String?

    /// Assigns every partition of `topics` (the joined topic, the `baseline` topic and the `pipe` topic) at their
    /// current end.
    init(consumer: KafkaConsumer, topics: [String: Int32], baseline: String, pipe: String? = nil, runStart: Int64, expected: Int64) async throws {
        self.consumer = consumer
        self.runStart = runStart
        self.expected = expected
        self.baseline = baseline
        self.pipe = pipe
        try await consumer.assign(try await consumer.endOffsets(topics))
    }

    var tally: Tally { state.withLock { $0 } }

    /// Pairs joined so far and when the last output arrived, without copying the tally.
    var progress: (joined: Int64, lastArrival: ContinuousClock.Instant) { state.withLock { ($0.joined, $0.lastArrival) } }

    func run() async throws {
        let decoder = JSONDecoder()
        while !stopped.load(ordering: .relaxed) {
            let records = try await consumer.poll(maxRecords: 2000, timeout: .milliseconds(20))
            guard !records.isEmpty else { continue }
            let now = wallClockNanoseconds()
            state.withLock { tally in
                tally.lastArrival = .now
                for record in records {
                    if record.topic == baseline || record.topic == pipe {
                        guard let value = record.value, let event = try? decoder.decode(PairEvent.self, from: Data(value)) else { continue }
                        if event.id < 0 {
                            if record.topic == pipe { tally.warmUpsPiped.insert(event.id) }
                        } else if event.ts_ns >= runStart {
                            let micros = UInt64(max(0, now - event.ts_ns) / 1000)
                            if record.topic == baseline { tally.hop.record(micros) } else { tally.pipe.record(micros) }
                        }
                        continue
                    }
                    guard let value = record.value, let pair = try? decoder.decode(JoinedPair.self, from: Data(value)) else {
                        tally.malformed += 1
                        continue
                    }
                    if pair.id < 0 {
                        tally.warmUpsJoined.insert(pair.id)
                        continue
                    }
                    guard pair.id < expected, min(pair.left_ts_ns, pair.right_ts_ns) >= runStart else {
                        tally.foreign += 1
                        continue
                    }
                    guard tally.seen.insert(pair.id).inserted else {
                        tally.duplicates += 1
                        continue
                    }
                    tally.joined += 1
                    let later = max(pair.left_ts_ns, pair.right_ts_ns)
                    tally.latency.record(UInt64(max(0, now - later) / 1000))
                }
            }
        }
    }

    /// Warm-up pairs seen joined and seen copied by kafka-pipe.
    var warmUps: (joined: Int, piped: Int) { state.withLock { ($0.warmUpsJoined.count, $0.warmUpsPiped.count) } }

    func stop() { stopped.store(true, ordering: .relaxed) }
}

/// Delivery failures counted from the producer's callbacks.
final class FailureCount: Sendable {
    private let count = Atomic<Int64>(0)
    func increment() { count.add(1, ordering: .relaxed) }
    var value: Int64 { count.load(ordering: .relaxed) }
}

extension KafkaConsumer {
    /// Every partition of `topics` (name and partition count) at its current end.
    func endOffsets(_ topics: [String: Int32]) async throws -> [TopicPartitionOffset] {
        var offsets: [TopicPartitionOffset] = []
        for (topic, partitions) in topics.sorted(by: { $0.key < $1.key }) {
            for partition in 0..<partitions {
                let marks = try await watermarks(TopicPartition(topic: topic, partition: partition))
                offsets.append(TopicPartitionOffset(topic: topic, partition: partition, offset: marks.high))
            }
        }
        return offsets
    }
}
