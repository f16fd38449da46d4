import DequeModule
import HeapModule

/// Decides which of a task's buffered records may start: one record per key at a time, in arrival order per key,
/// and at most `maxInFlight` at once; among the records that may start, the one that arrived first. A key's
/// later records thus never overtake other keys' earlier ones, which would move stream time ahead of them (and
/// a join would drop them as late). Tracks, per partition, the offset below which every record is finished,
/// which is the offset a commit may name.
///
/// A plain state machine with no I/O; the task actor drives it.
package struct TaskScheduler {
    package struct Item: Comparable {
        package let record: KafkaConsumerRecord
        fileprivate let key: [UInt8]?
        fileprivate let sequence: Int
        /// The order of arrival among all the task's records.
        fileprivate let arrival: Int

        package static func < (lhs: Item, rhs: Item) -> Bool { lhs.arrival < rhs.arrival }
        package static func == (lhs: Item, rhs: Item) -> Bool { lhs.arrival == rhs.arrival }
    }

    private struct PartitionProgress {
        /// Offsets of records not yet finished (or finished after an older unfinished one), in arrival order.
        var slots: Deque<(offset: Int64, done: Bool)> = []
        /// The sequence number of `slots.first`.
        var head = 0
        var nextSequence = 0
        /// The offset after the last record that left `slots` finished.
        var finishedUpTo: Int64?
        var lastCommitted: Int64?
        var queued = 0

        /// Notes a record's arrival; returns its sequence number.
        mutating func arrived(_ offset: Int64) -> Int {
            slots.append((offset, false))
            queued += 1
            defer { nextSequence += 1 }
            return nextSequence
        }

        mutating func finished(_ sequence: Int) {
            let index = sequence - head
            if index >= 0, index < slots.count { slots[index].done = true }
            while let first = slots.first, first.done {
                slots.removeFirst()
                head += 1
                finishedUpTo = first.offset + 1
            }
        }
    }

    package let maxInFlight: Int
    private var ready = Heap<Item>()
    private var arrivals = 0
    private var blocked: [[UInt8]?: Deque<Item>] = [:]
    /// Keys with a record in `ready` or in flight; their later records wait in `blocked`.
    private var active: Set<[UInt8]?> = []
    private var progress: [TopicPartition: PartitionProgress] = [:]
    package private(set) var inFlight = 0
    package private(set) var buffered = 0

    package init(maxInFlight: Int) {
        precondition(maxInFlight >= 1, "maxInFlight must be at least 1")
        self.maxInFlight = maxInFlight
    }

    // Progress and queues are mutated in place (never copied out and written back): a copy of a deque that is
    // still referenced from the dictionary would be duplicated whole on every record.

    /// Adds a record at the back of the queue of its key.
    package mutating func enqueue(_ record: KafkaConsumerRecord) {
        let sequence = progress[record.topicPartition, default: PartitionProgress()].arrived(record.offset)
        let item = Item(record: record, key: record.key, sequence: sequence, arrival: arrivals)
        arrivals += 1
        buffered += 1
        if active.insert(record.key).inserted {
            ready.insert(item)
        } else {
            blocked[record.key, default: []].append(item)
        }
    }

    /// Whether a record could start now.
    package var canStart: Bool { inFlight < maxInFlight && !ready.isEmpty }

    /// The next record that may start, or `nil` when none may.
    package mutating func start() -> Item? {
        guard inFlight < maxInFlight, let item = ready.popMin() else { return nil }
        inFlight += 1
        buffered -= 1
        progress[item.record.topicPartition]?.queued -= 1
        return item
    }

    /// Marks a started record finished; the next record of its key becomes ready.
    package mutating func finish(_ item: Item) {
        inFlight -= 1
        progress[item.record.topicPartition]?.finished(item.sequence)
        if let next = takeBlocked(item.key) {
            ready.insert(next)
        } else {
            active.remove(item.key)
        }
    }

    /// The next waiting record of `key`, if any.
    private mutating func takeBlocked(_ key: [UInt8]?) -> Item? {
        guard let next = blocked[key]?.popFirst() else { return nil }
        if blocked[key]?.isEmpty == true { blocked[key] = nil }
        return next
    }

    /// Records of `partition` waiting to start.
    package func queued(_ partition: TopicPartition) -> Int { progress[partition]?.queued ?? 0 }

    /// Per partition, the offset below which every record has finished, where that moved since the last call
    /// to ``markCommitted(_:)`` — or, `includingUnchanged`, wherever it is known.
    package func committableOffsets(includingUnchanged: Bool = false) -> [TopicPartitionOffset] {
        progress.compactMap { partition, state in
            let offset = state.slots.first?.offset ?? state.finishedUpTo ?? (includingUnchanged ? state.lastCommitted : nil)
            guard let offset, includingUnchanged || offset != state.lastCommitted else { return nil }
            return TopicPartitionOffset(partition, offset: offset)
        }
    }

    /// Records `offsets` as committed; returns whether any of them moved.
    @discardableResult
    package mutating func markCommitted(_ offsets: [TopicPartitionOffset]) -> Bool {
        var moved = false
        for offset in offsets {
            guard let last = progress[offset.topicPartition].map(\.lastCommitted) else { continue }
            if last != offset.offset { moved = true }
            progress[offset.topicPartition]?.lastCommitted = offset.offset
        }
        return moved
    }

    /// Drops every record of `partitions` that has not started, and forgets their progress once nothing of
    /// theirs is in flight.
    package mutating func drop(_ partitions: Set<TopicPartition>) {
        func keep(_ item: Item) -> Bool { !partitions.contains(item.record.topicPartition) }
        let droppedReady = ready.unordered.filter { !keep($0) }
        ready = Heap(ready.unordered.filter(keep))
        for item in droppedReady { active.remove(item.key) }
        for (key, queue) in blocked {
            let kept = queue.filter(keep)
            blocked[key] = kept.isEmpty ? nil : Deque(kept)
        }
        // Keys whose ready record was dropped but which still have blocked records: promote the next one.
        for item in droppedReady {
            if let next = takeBlocked(item.key) {
                active.insert(item.key)
                ready.insert(next)
            }
        }
        for partition in partitions {
            if let state = progress[partition] { buffered -= state.queued }
            progress[partition] = nil
        }
    }
}
