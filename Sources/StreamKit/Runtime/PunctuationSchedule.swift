import Synchronization

/// The punctuators of one task, on both clocks.
package final class PunctuationSchedule {
    package final class Entry {
        let node: String
        let type: PunctuationType
        let interval: Int64
        var due: Int64
        let punctuator: (Int64) async throws -> Void
        let cancelled = CancelFlag()

        init(node: String, type: PunctuationType, interval: Int64, due: Int64, punctuator: @escaping (Int64) async throws -> Void) {
            self.node = node
            self.type = type
            self.interval = interval
            self.due = due
            self.punctuator = punctuator
        }
    }

    final class CancelFlag: Sendable {
        let value = Atomic<Bool>(false)
    }

    package private(set) var entries: [Entry] = []

    package func schedule(
        every interval: Duration,
        on type: PunctuationType,
        node: String,
        now: Int64,
        _ punctuator: @escaping (Int64) async throws -> Void
    ) -> Cancellable {
        let step = Int64(max(1, interval.milliseconds))
        // A stream-time punctuator scheduled before any record is due at the first record's time.
        let due = now == Int64.min ? Int64.min : now + step
        let entry = Entry(node: node, type: type, interval: step, due: due, punctuator: punctuator)
        entries.append(entry)
        let flag = entry.cancelled
        return Cancellable { flag.value.store(true, ordering: .relaxed) }
    }

    /// The punctuators of `type` due at `time`, each advanced to its next due time after `time`.
    package func takeDue(_ type: PunctuationType, at time: Int64) -> [(entry: Entry, time: Int64)] {
        guard !entries.isEmpty else { return [] }
        entries.removeAll { $0.cancelled.value.load(ordering: .relaxed) }
        var due: [(Entry, Int64)] = []
        for entry in entries where entry.type == type && time != Int64.min {
            if entry.due == Int64.min {
                entry.due = time + entry.interval
                continue
            }
            guard time >= entry.due else { continue }
            due.append((entry, time))
            let missed = (time - entry.due) / entry.interval
            entry.due += (missed + 1) * entry.interval
        }
        return due.map { (entry: $0.0, time: $0.1) }
    }

    /// Whether a punctuator of `type` is due at `time` (checked without advancing anything).
    package func isDue(_ type: PunctuationType, at time: Int64) -> Bool {
        entries.contains { $0.type == type && $0.due != Int64.min && time >= $0.due && !$0.cancelled.value.load(ordering: .relaxed) }
    }

    package var isEmpty: Bool { entries.isEmpty }
}
