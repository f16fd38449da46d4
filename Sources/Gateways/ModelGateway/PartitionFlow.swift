import DequeModule
import StreamKit

/// One partition's requests between the consumer and the model servers: how many are in flight, which wait
/// their turn, and how far offsets may be committed.
///
/// Requests finish out of order; the committable offset stays below the oldest unfinished one, so a restart
/// answers again at most the requests that were in flight, and never skips one. Kept apart from I/O: the
/// gateway feeds it arrivals and completions and acts on what it returns.
struct PartitionFlow {
    /// The most requests in flight at once.
    let limit: Int
    /// Records fetched while the partition was full: they start, in order, as earlier ones finish.
    private var backlog: Deque<KafkaConsumerRecord> = []
    /// Offsets started and not yet committable, in order, with whether each has finished.
    private var started: Deque<(offset: Int64, finished: Bool)> = []
    /// The offset after the last record that arrived.
    private var position: Int64?
    private var committed: Int64?
    /// Set when the partition is being handed over: nothing more starts, what is in flight finishes.
    private var holding = false

    init(limit: Int) {
        precondition(limit > 0, "at least one request in flight")
        self.limit = limit
    }

    /// The requests started and not finished.
    private(set) var inFlight = 0

    /// Whether fetching should stop: the partition is full or has records waiting.
    var isFull: Bool { inFlight >= limit || !backlog.isEmpty }

    /// Whether nothing is in flight or waiting.
    var isIdle: Bool { inFlight == 0 && backlog.isEmpty }

    /// Takes a fetched record; returns the records to start now (it, or none when the partition is full).
    mutating func arrive(_ record: KafkaConsumerRecord) -> [KafkaConsumerRecord] {
        position = record.offset + 1
        backlog.append(record)
        return startable()
    }

    /// Marks the request at `offset` finished; returns the waiting records that may start now.
    mutating func finish(_ offset: Int64) -> [KafkaConsumerRecord] {
        guard let index = index(of: offset), !started[index].finished else { return [] }
        started[index].finished = true
        inFlight -= 1
        while let first = started.first, first.finished { started.removeFirst() }
        return startable()
    }

    /// The offset to commit, when it moved since ``markCommitted(_:)``: the oldest unfinished request's, or
    /// the one after the last record when all are finished.
    var commitOffset: Int64? {
        guard let offset = started.first?.offset ?? backlog.first?.offset ?? position, offset != committed else { return nil }
        return offset
    }

    mutating func markCommitted(_ offset: Int64) { committed = offset }

    /// Starts nothing more: the records waiting stay uncommitted for the partition's next owner.
    mutating func hold() { holding = true }

    /// Whether nothing is in flight any more (records may still wait, held).
    var isDrained: Bool { inFlight == 0 }

    private mutating func startable() -> [KafkaConsumerRecord] {
        var records: [KafkaConsumerRecord] = []
        while !holding, inFlight < limit, let record = backlog.popFirst() {
            started.append((record.offset, false))
            inFlight += 1
            records.append(record)
        }
        return records
    }

    /// Offsets are started in increasing order: a binary search finds one.
    private func index(of offset: Int64) -> Int? {
        var low = 0
        var high = started.count
        while low < high {
            let middle = (low + high) / 2
            if started[middle].offset < offset { low = middle + 1 } else { high = middle }
        }
        return low < started.count && started[low].offset == offset ? low : nil
    }
}
