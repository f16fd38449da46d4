import HeapModule

/// Windows (or join records) waiting for their final moment: each closes when stream time reaches its close
/// time or the wall clock its deadline, whichever is first.
struct ClosingSchedule<ID: Hashable> {
    private struct Entry: Comparable {
        var time: Int64
        var order: Int
        var id: ID

        static func < (a: Entry, b: Entry) -> Bool { (a.time, a.order) < (b.time, b.order) }
        static func == (a: Entry, b: Entry) -> Bool { a.time == b.time && a.order == b.order }
    }

    private var byStreamTime = Heap<Entry>()
    private var byWallClock = Heap<Entry>()
    private var pending: [ID: (closesAt: Int64, deadline: Int64)] = [:]
    private var order = 0

    var isEmpty: Bool { pending.isEmpty }
    var count: Int { pending.count }

    func contains(_ id: ID) -> Bool { pending[id] != nil }

    /// Adds `id` unless it waits already (its first deadline stands).
    mutating func add(_ id: ID, closesAt: Int64, deadline: Int64) {
        guard pending[id] == nil else { return }
        pending[id] = (closesAt, deadline)
        order += 1
        byStreamTime.insert(Entry(time: closesAt, order: order, id: id))
        if deadline != .max { byWallClock.insert(Entry(time: deadline, order: order, id: id)) }
    }

    mutating func remove(_ id: ID) { pending[id] = nil }

    /// Removes and returns what closes at `streamTime` or `now`, ordered by close time; `byDeadline` says
    /// whether it closed by the wall clock before stream time reached it.
    mutating func takeDue(streamTime: Int64, now: Int64) -> [(id: ID, closesAt: Int64, byDeadline: Bool)] {
        var due: [(id: ID, closesAt: Int64, byDeadline: Bool)] = []
        while let first = byStreamTime.min, first.time <= streamTime {
            byStreamTime.removeMin()
            guard let times = pending[first.id], times.closesAt == first.time else { continue }
            pending[first.id] = nil
            due.append((first.id, times.closesAt, false))
        }
        while let first = byWallClock.min, first.time <= now {
            byWallClock.removeMin()
            guard let times = pending[first.id], times.deadline == first.time else { continue }
            pending[first.id] = nil
            due.append((first.id, times.closesAt, true))
        }
        // Entries taken from one heap stay in the other until they surface there and are skipped.
        return due.sorted { $0.closesAt < $1.closesAt }
    }
}

/// The windows of a final-results operation: those waiting to close, and those closed by their deadline before
/// stream time closed them (so that a record for one of them now counts as late).
struct WindowCloser<ID: Hashable> {
    private var pending = ClosingSchedule<ID>()
    private var closedEarly = ClosingSchedule<ID>()
    let deadline: Int64

    init(deadline: Int64) { self.deadline = deadline }

    /// Whether `id` closed by its deadline while stream time has not passed it yet.
    func isClosed(_ id: ID) -> Bool { closedEarly.contains(id) }

    /// Schedules `id` (unless scheduled already), with its deadline counted from `now`.
    mutating func open(_ id: ID, closesAt: Int64, now: Int64) { open(id, closesAt: closesAt, deadline: now + deadline) }

    /// Schedules `id` (unless scheduled already) with a wall-clock deadline of its own.
    mutating func open(_ id: ID, closesAt: Int64, deadline: Int64) { pending.add(id, closesAt: closesAt, deadline: deadline) }

    mutating func forget(_ id: ID) { pending.remove(id) }

    /// Closes `id` now, before stream time reaches `closesAt`: until then ``isClosed(_:)`` says so.
    mutating func close(_ id: ID, closesAt: Int64) {
        pending.remove(id)
        closedEarly.add(id, closesAt: closesAt, deadline: .max)
    }

    /// The windows that close now, ordered by close time.
    mutating func takeClosed(streamTime: Int64, now: Int64) -> [ID] {
        _ = closedEarly.takeDue(streamTime: streamTime, now: .min)
        return pending.takeDue(streamTime: streamTime, now: now).map { due in
            if due.byDeadline { closedEarly.add(due.id, closesAt: due.closesAt, deadline: .max) }
            return due.id
        }
    }
}
