import DequeModule
import StreamKit

/// The response router's bookkeeping, apart from its I/O: which partitions of the answer topics this instance
/// owns, which keys it waits for, and which answers came too late.
///
/// A request's key decides the partition of its answer (the key stays the same along the whole pipeline), so a
/// key is chosen that lands in owned partitions of every topic the answer may come on.
struct AnswerBook {
    /// Partitions this instance owns and reads, per topic, once their read position is fixed.
    private(set) var owned: [String: Set<Int32>] = [:]
    /// Partition counts of the answer topics.
    var partitionCounts: [String: Int32] = [:]
    private var pending: [String: Pending] = [:]
    /// Deadlines in the order they were given; with one timeout for every request that is also their order.
    private var deadlines: Deque<(key: String, serial: UInt64, deadline: ContinuousClock.Instant)> = []
    private var serial: UInt64 = 0
    /// Keys given up recently with the topics their answers come on, so that those answers are counted as late
    /// rather than unknown.
    private var expired: [String: Set<String>] = [:]
    private var expiredOrder: Deque<String> = []
    private let expiredLimit: Int

    init(expiredLimit: Int = 100_000) {
        self.expiredLimit = expiredLimit
    }

    struct Pending {
        var serial: UInt64
        var topics: Set<String>
        var waiter: CheckedContinuation<KafkaConsumerRecord, any Error>?
        var answer: KafkaConsumerRecord?
    }

    /// What became of a record read from an answer topic.
    enum Arrival: Equatable {
        /// It answers a request waiting here.
        case answered
        /// It answers a request that timed out.
        case late
        /// Nobody here asked for it (another instance's, or an answer already taken).
        case unknown
    }

    var waiting: Int { pending.count }

    // MARK: Partitions

    mutating func own(_ partitions: [TopicPartition]) {
        for partition in partitions { owned[partition.topic, default: []].insert(partition.partition) }
    }

    mutating func release(_ partitions: [TopicPartition]) {
        for partition in partitions { owned[partition.topic]?.remove(partition.partition) }
    }

    /// A key made from `id` whose records land in owned partitions of every one of `topics`, or `nil` when
    /// no owned partition of some topic is known yet. A key waited for, or given up recently, is not used again:
    /// a late answer to an earlier request with the same id must not answer this one.
    func key(for id: String, answeredOn topics: [String]) -> String? {
        var targets: [(partitions: Int32, owned: Set<Int32>)] = []
        for topic in topics {
            guard let count = partitionCounts[topic], let owned = owned[topic], !owned.isEmpty else { return nil }
            targets.append((count, owned))
        }
        let fraction = targets.reduce(1.0) { $0 * Double($1.owned.count) / Double($1.partitions) }
        // Enough candidates that missing them all is vanishingly unlikely.
        let attempts = max(64, Int(64 / fraction))
        for attempt in 0..<attempts {
            let key = attempt == 0 ? id : "\(id).\(attempt)"
            guard pending[key] == nil, expired[key] == nil else { continue }
            let bytes = Array(key.utf8)
            if targets.allSatisfy({ $0.owned.contains(KeyPartitioner.partition(of: bytes, partitions: $0.partitions)) }) {
                return key
            }
        }
        return nil
    }

    // MARK: Requests

    /// Starts waiting for an answer to `key` on one of `topics`, until `deadline`.
    mutating func expect(_ key: String, on topics: [String], until deadline: ContinuousClock.Instant) {
        serial += 1
        pending[key] = Pending(serial: serial, topics: Set(topics))
        deadlines.append((key, serial, deadline))
    }

    /// Attaches the caller waiting for `key`'s answer; hands back the answer at once if it is there already.
    mutating func wait(_ key: String, _ waiter: CheckedContinuation<KafkaConsumerRecord, any Error>) -> WaitOutcome {
        guard var entry = pending[key] else { return .gone }
        if let answer = entry.answer {
            pending[key] = nil
            return .answered(answer)
        }
        entry.waiter = waiter
        pending[key] = entry
        return .waiting
    }

    enum WaitOutcome {
        case waiting
        case answered(KafkaConsumerRecord)
        /// Given up already (timed out or cancelled).
        case gone
    }

    /// Takes in a record read from an answer topic; returns who waits for it, if anyone.
    mutating func arrive(_ record: KafkaConsumerRecord) -> (Arrival, CheckedContinuation<KafkaConsumerRecord, any Error>?) {
        let key = String(decoding: record.key ?? [], as: UTF8.self)
        guard var entry = pending[key], entry.topics.contains(record.topic), entry.answer == nil else {
            return (expired[key]?.contains(record.topic) == true ? .late : .unknown, nil)
        }
        if let waiter = entry.waiter {
            pending[key] = nil
            return (.answered, waiter)
        }
        entry.answer = record
        pending[key] = entry
        return (.answered, nil)
    }

    /// Gives up on `key`; returns its waiter, if one is attached, to be resumed with the reason.
    mutating func abandon(_ key: String) -> CheckedContinuation<KafkaConsumerRecord, any Error>? {
        guard let entry = pending.removeValue(forKey: key) else { return nil }
        remember(key, entry.topics)
        return entry.waiter
    }

    /// Gives up on every key whose deadline is before `now`; returns them with their waiters.
    mutating func expire(before now: ContinuousClock.Instant) -> [(key: String, waiter: CheckedContinuation<KafkaConsumerRecord, any Error>?)] {
        var gone: [(String, CheckedContinuation<KafkaConsumerRecord, any Error>?)] = []
        while let first = deadlines.first, first.deadline <= now {
            deadlines.removeFirst()
            if let entry = pending[first.key], entry.serial == first.serial {
                pending[first.key] = nil
                remember(first.key, entry.topics)
                gone.append((first.key, entry.waiter))
            }
        }
        // Keys answered long ago leave their deadlines behind; drop those too when they pile up.
        if deadlines.count > 4 * max(pending.count, 1024) {
            deadlines.removeAll { pending[$0.key]?.serial != $0.serial }
        }
        return gone
    }

    private mutating func remember(_ key: String, _ topics: Set<String>) {
        guard expired.updateValue(topics, forKey: key) == nil else { return }
        expiredOrder.append(key)
        if expiredOrder.count > expiredLimit, let oldest = expiredOrder.popFirst() { expired[oldest] = nil }
    }
}

extension AnswerBook {
    /// Gives up on every request; returns the waiters attached.
    mutating func abandonAll() -> [CheckedContinuation<KafkaConsumerRecord, any Error>] {
        let waiters = pending.values.compactMap(\.waiter)
        for (key, entry) in pending { remember(key, entry.topics) }
        pending.removeAll()
        deadlines.removeAll()
        return waiters
    }
}
