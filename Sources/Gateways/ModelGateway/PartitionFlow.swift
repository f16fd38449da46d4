import DequeModule
import StreamKit

/// One partition's requests between the consumer and the model servers: how many are in flight, which wait
/// their turn, and how far offsets may be committed.
///
/// Requests finish out of order; the committable offset stays below the oldest unfinished one, so a restart
/// answers again at most the requests that were in flight, and never skips one. Under exactly-once a request's
/// answer is handed in with its completion and *released* only once every earlier request's is: a transaction
/// then holds exactly the answers of the offsets it commits. Kept apart from I/O: the gateway feeds it arrivals
/// and completions and acts on what it returns.
struct PartitionFlow {
    /// The most requests in flight at once.
    let limit: Int
    /// The most requests started and not yet committable (finished ones waiting for an earlier one included):
    /// how far answers held for release may pile up behind a slow request.
    let window: Int
    /// Records fetched while the partition was full: they start, in order, as earlier ones finish.
    private var backlog: Deque<KafkaConsumerRecord> = []
    /// Requests started and not yet committable, in order.
    private var started: Deque<Started> = []
    /// The offset after the last record that arrived.
    private var position: Int64?
    private var committed: Int64?
    /// Set when the partition is being handed over: nothing more starts, what is in flight finishes.
    private var holding = false

    private struct Started {
        var offset: Int64
        var finished = false
        /// Given up without an answer (its call was cancelled): no longer in flight, never committable.
        var abandoned = false
        /// The records answering it, held until every earlier request is finished.
        var answers: [KafkaProducerRecord] = []
    }

    /// What a completion changes: the waiting records that may start now, and the answers released (those of the
    /// requests that are no longer behind an unfinished one, in offset order).
    struct Progress {
        var start: [KafkaConsumerRecord] = []
        var released: [KafkaProducerRecord] = []
    }

    /// - Parameters:
    ///   - limit: the most requests in flight at once.
    ///   - window: the most requests started and not yet committable; at least `limit`. Default: no bound
    ///     beyond `limit` in flight.
    init(limit: Int, window: Int = .max) {
        precondition(limit > 0, "at least one request in flight")
        self.limit = limit
        self.window = max(window, limit)
    }

    /// The requests started and not finished.
    private(set) var inFlight = 0

    /// Whether fetching should stop: the partition is full or has records waiting.
    var isFull: Bool { !hasRoom || !backlog.isEmpty }

    private var hasRoom: Bool { inFlight < limit && started.count < window }

    /// Whether nothing is in flight or waiting.
    var isIdle: Bool { inFlight == 0 && backlog.isEmpty }

    /// Takes a fetched record; returns the records to start now (it, or none when the partition is full).
    mutating func arrive(_ record: KafkaConsumerRecord) -> [KafkaConsumerRecord] {
        position = record.offset + 1
        backlog.append(record)
        return startable()
    }

    /// Marks the request at `offset` finished, answered by `answers` (none when they were written already).
    mutating func finish(_ offset: Int64, answers: [KafkaProducerRecord] = []) -> Progress {
        guard let index = index(of: offset), !started[index].finished, !started[index].abandoned else { return Progress() }
        started[index].finished = true
        started[index].answers = answers
        inFlight -= 1
        var progress = Progress()
        while let first = started.first, first.finished {
            progress.released += first.answers
            started.removeFirst()
        }
        progress.start = startable()
        return progress
    }

    /// Counts the request at `offset` out of the requests in flight without finishing it (its call was cancelled
    /// as the gateway stops): draining does not wait for it, and no offset at or after it is committed here.
    mutating func abandon(_ offset: Int64) {
        guard let index = index(of: offset), !started[index].finished, !started[index].abandoned else { return }
        started[index].abandoned = true
        inFlight -= 1
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
        while !holding, hasRoom, let record = backlog.popFirst() {
            started.append(Started(offset: record.offset))
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
