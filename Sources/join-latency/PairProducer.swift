import HeapModule
import StreamKit

/// Produces pairs at a steady rate: pair `n`'s left record at `n / rate` seconds into the run, its right record
/// 0–5 ms later (uniformly at random), both keyed by `n` modulo the key count.
struct PairProducer {
    let producer: KafkaProducer
    let left: String
    let right: String
    let keys: Int
    let rate: Int
    let duration: Duration

    struct Outcome {
        var sent: Int64
        var failed: Int64
        var elapsed: Duration
    }

    private struct PendingRight: Comparable {
        var due: ContinuousClock.Instant
        var id: Int64
        static func < (a: Self, b: Self) -> Bool { a.due < b.due }
    }

    func run() async throws -> Outcome {
        let total = Int64(rate) * Int64(duration.components.seconds)
        let interval = Duration.seconds(1) / rate
        let failures = FailureCount()
        var rights = Heap<PendingRight>()
        var next: Int64 = 0
        let begin = ContinuousClock.now
        while next < total || !rights.isEmpty {
            let now = ContinuousClock.now
            while next < total, begin + interval * Int(next) <= now {
                try await send(left, id: next, failures)
                rights.insert(PendingRight(due: now + .microseconds(Int64.random(in: 0...5_000)), id: next))
                next += 1
            }
            while let first = rights.min, first.due <= now {
                rights.removeMin()
                try await send(right, id: first.id, failures)
            }
            let nextLeft = next < total ? begin + interval * Int(next) : nil
            guard let wake = [nextLeft, rights.min?.due].compactMap({ $0 }).min() else { break }
            if wake > ContinuousClock.now { try await Task.sleep(until: wake, tolerance: .microseconds(100), clock: .continuous) }
        }
        let elapsed = ContinuousClock.now - begin
        try await producer.flush()
        return Outcome(sent: total, failed: failures.value, elapsed: elapsed)
    }

    /// Sends `count` warm-up pairs (ids -1, -2, …, keys of their own, enough to reach every partition but by a rare chance) that the
    /// collector counts apart: the run starts once the join and the hop have passed them on.
    func warmUp(count: Int) async throws {
        let failures = FailureCount()
        for index in 1...count {
            let id = -Int64(index)
            try await send(left, id: id, failures)
            try await send(right, id: id, failures)
        }
        try await producer.flush()
        guard failures.value == 0 else { throw HarnessError("\(failures.value) warm-up record(s) could not be sent") }
    }

    private func send(_ topic: String, id: Int64, _ failures: FailureCount) async throws {
        let event = PairEvent(id: id, ts_ns: wallClockNanoseconds())
        let key = id < 0 ? "warm-up\(-id)" : "k\(id % Int64(keys))"
        let record = KafkaProducerRecord(topic: topic, key: Array(key.utf8), value: event.bytes)
        try await producer.send(record) { result in
            if case .failure = result { failures.increment() }
        }
    }
}
