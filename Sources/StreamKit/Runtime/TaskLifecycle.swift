/// The tasks of one topology in one instance, from assignment to close, and when the runtime commits,
/// punctuates, restarts and measures: a plain state machine with no I/O. Each event returns the actions the
/// runtime carries out, in order; the runtime reports back how starting a task went.
///
/// A task is assigned (its partitions came from the group), then starting (stores restoring, processors
/// initializing), then running; a failed task backs off and starts again from its committed offsets. The
/// topology is ready once the group has assigned this member its share and every task of that share runs.
package struct TaskLifecycle {
    package enum Phase: Hashable, Sendable {
        case starting
        case running
        /// Closed after a failure, waiting to start again at `due`.
        case backingOff(due: ContinuousClock.Instant)
    }

    package enum Action: Hashable, Sendable {
        /// Commit what every running task finished; close the tasks in `closing` cleanly first.
        case commit(closing: Set<TaskID>)
        /// Close tasks without committing (their partitions moved away, or they failed).
        case closeDirty(Set<TaskID>)
        /// Start a task on its partitions; with `seek`, first move them back to their committed offsets (records
        /// read into an earlier instance of the task may not have been processed).
        case start(TaskID, partitions: Set<TopicPartition>, seek: Bool)
        /// Exactly-once: throw away the open transaction; every task closed by it starts again when due.
        case abortTransaction
        /// Subscribe to the topology's source topics (they changed).
        case subscribe([String])
        case punctuateWallClock
        case measureLag
        /// Stop the topology with this failure (``StreamsConfiguration/TaskFailurePolicy/stopApplication``).
        case stop(TaskFailure)
    }

    /// What a commit does once its tasks have prepared it (outputs acknowledged, offsets taken).
    package enum CommitOutcome: Hashable, Sendable {
        /// Commit the offsets the tasks returned (under exactly-once, with the open transaction).
        case commit
        /// Commit nothing; carry out these actions instead.
        case abort([Action])
    }

    package struct Timing: Sendable {
        package var commitInterval: Duration
        package var wallClockResolution: Duration
        package var lagInterval: Duration
        package var failurePolicy: StreamsConfiguration.TaskFailurePolicy
        package var exactlyOnce: Bool

        package init(_ configuration: StreamsConfiguration) {
            commitInterval = configuration.effectiveCommitInterval
            wallClockResolution = configuration.wallClockResolution
            lagInterval = configuration.lagInterval
            failurePolicy = configuration.taskFailure
            exactlyOnce = configuration.processingGuarantee == .exactlyOnce
        }
    }

    package let topologyName: String
    package let timing: Timing
    /// The sub-topology reading each source topic.
    private var subtopologyOfTopic: [String: Int]
    /// Partitions assigned to this member, per task, including tasks backing off.
    package private(set) var assigned: [TaskID: Set<TopicPartition>] = [:]
    package private(set) var phases: [TaskID: Phase] = [:]
    private var consecutiveFailures: [TaskID: Int] = [:]
    /// Whether the group has given this member its share since the last subscription.
    package private(set) var hasAssignment = false
    private var lastCommit: ContinuousClock.Instant
    private var lastPunctuation: ContinuousClock.Instant
    private var lastLag: ContinuousClock.Instant

    package init(topologyName: String, subtopologyOfTopic: [String: Int], timing: Timing, now: ContinuousClock.Instant) {
        self.topologyName = topologyName
        self.subtopologyOfTopic = subtopologyOfTopic
        self.timing = timing
        lastCommit = now
        lastPunctuation = now
        lastLag = now
    }

    /// Tasks that exist now (starting or running), which a commit covers.
    package var live: Set<TaskID> { Set(phases.filter { !$0.value.isBackingOff }.keys) }

    /// Whether every task of this member's share runs, once the group has given it one.
    package var isReady: Bool { hasAssignment && assigned.keys.allSatisfy { phases[$0] == .running } }

    /// Why the topology is not ready here, when it is not.
    package var notReadyReason: String? {
        guard hasAssignment else { return "waiting for the group to assign partitions" }
        let waiting = assigned.keys.filter { phases[$0] != .running }.sorted()
        guard let first = waiting.first else { return nil }
        switch phases[first] {
        case .backingOff: return "task \(first) failed and restarts after a backoff"
        default: return "task \(first) is starting" + (waiting.count > 1 ? " (and \(waiting.count - 1) more)" : "")
        }
    }

    /// The task that reads `partition`, if the topology reads its topic.
    package func task(of partition: TopicPartition) -> TaskID? {
        subtopologyOfTopic[partition.topic].map { TaskID(topology: topologyName, subtopology: $0, partition: partition.partition) }
    }

    // MARK: Events

    /// The group assigned `partitions` to this member (in addition to any it holds).
    package mutating func partitionsAssigned(_ partitions: [TopicPartition]) -> [Action] {
        hasAssignment = true
        var byTask: [TaskID: Set<TopicPartition>] = [:]
        for partition in partitions {
            guard let id = task(of: partition) else { continue }
            byTask[id, default: []].insert(partition)
        }
        var actions: [Action] = []
        for (id, added) in byTask.sorted(by: { $0.key < $1.key }) {
            assigned[id, default: []].formUnion(added)
            // A co-partitioned task gaining a partition later: commit and close it, start it with all of them.
            if phases[id] != nil, !phases[id]!.isBackingOff { actions.append(.commit(closing: [id])) }
            phases[id] = .starting
            actions.append(.start(id, partitions: assigned[id]!, seek: false))
        }
        return actions
    }

    /// The group took `partitions` away; `lost` when another member owns them already (nothing may be
    /// committed for them).
    package mutating func partitionsRevoked(_ partitions: [TopicPartition], lost: Bool, now: ContinuousClock.Instant) -> [Action] {
        let ids = Set(partitions.compactMap(task(of:)))
        let closing = ids.intersection(live)
        var actions: [Action] = []
        if !lost, !closing.isEmpty { actions.append(.commit(closing: closing)) }
        if !ids.isEmpty { actions.append(.closeDirty(ids)) }
        for id in ids { forget(id) }
        // Exactly-once: the open transaction holds what the lost tasks wrote since the last commit; committed
        // later (even with no offsets at all, once every task is gone), it would repeat the new owner's output.
        if lost, timing.exactlyOnce { actions += live.isEmpty ? [.abortTransaction] : abortAll(failed: [], now: now) }
        return actions
    }

    /// Starting task `id` succeeded.
    package mutating func started(_ id: TaskID) {
        guard phases[id] == .starting else { return }
        phases[id] = .running
    }

    /// Tasks failed (while running or while starting).
    package mutating func failed(_ ids: Set<TaskID>, failure: TaskFailure, now: ContinuousClock.Instant) -> [Action] {
        let ids = ids.filter { assigned[$0] != nil }
        guard !ids.isEmpty else { return [] }
        if timing.failurePolicy == .stopApplication { return [.stop(failure)] }
        if timing.exactlyOnce { return abortAll(failed: Set(ids), now: now) }
        for id in ids { backOff(id, failed: true, now: now) }
        return [.closeDirty(Set(ids))]
    }

    /// The tasks of a commit prepared it, and those of `failures` could not. At-least-once commits the offsets of
    /// the others (the failed ones restart through ``failed(_:failure:now:)``). Exactly-once commits nothing: the
    /// open transaction holds the failed tasks' partial output, so it is aborted and every task starts again from
    /// the committed offsets.
    package mutating func commitPrepared(failures: [TaskFailure], now: ContinuousClock.Instant) -> CommitOutcome {
        guard timing.exactlyOnce, let first = failures.first else { return .commit }
        let actions = failed(Set(failures.map(\.task)), failure: first, now: now)
        return .abort(actions.isEmpty ? transactionFailed(now: now) : actions)
    }

    /// Exactly-once: the transaction could not commit; every task starts again from the committed offsets.
    package mutating func transactionFailed(now: ContinuousClock.Instant) -> [Action] {
        abortAll(failed: [], now: now)
    }

    /// Offsets of `ids` were committed: their failures are behind them.
    package mutating func committed(progressOf ids: some Sequence<TaskID>) {
        for id in ids { consecutiveFailures[id] = nil }
    }

    /// The topology was replaced: every task commits and closes, and the new topology's tasks start on the
    /// partitions it still reads, from the committed offsets. With other source topics, the group is joined
    /// again under the new subscription.
    package mutating func replaced(subtopologyOfTopic new: [String: Int], sourceTopicsChanged: Bool, topics: [String]) -> [Action] {
        var actions: [Action] = [.commit(closing: live)]
        let partitions = assigned.values.flatMap { $0 }
        assigned = [:]
        phases = [:]
        consecutiveFailures = [:]
        subtopologyOfTopic = new
        var byTask: [TaskID: Set<TopicPartition>] = [:]
        for partition in partitions {
            guard let id = task(of: partition) else { continue }
            byTask[id, default: []].insert(partition)
        }
        for (id, kept) in byTask.sorted(by: { $0.key < $1.key }) {
            assigned[id] = kept
            phases[id] = .starting
            actions.append(.start(id, partitions: kept, seek: true))
        }
        if sourceTopicsChanged {
            hasAssignment = topics.isEmpty
            actions.append(.subscribe(topics))
        }
        return actions
    }

    /// What is due at `now`: restarts, wall-clock punctuation, the periodic commit and lag measurement.
    package mutating func tick(now: ContinuousClock.Instant) -> [Action] {
        var actions: [Action] = []
        for (id, phase) in phases.sorted(by: { $0.key < $1.key }) {
            guard case .backingOff(let due) = phase, due <= now, let partitions = assigned[id] else { continue }
            phases[id] = .starting
            actions.append(.start(id, partitions: partitions, seek: true))
        }
        if now - lastPunctuation >= timing.wallClockResolution {
            lastPunctuation = now
            actions.append(.punctuateWallClock)
        }
        if now - lastCommit >= timing.commitInterval {
            lastCommit = now
            actions.append(.commit(closing: []))
        }
        if now - lastLag >= timing.lagInterval {
            lastLag = now
            actions.append(.measureLag)
        }
        return actions
    }

    /// A commit ran (periodic or not): the next periodic one is an interval away.
    package mutating func commitRan(at now: ContinuousClock.Instant) { lastCommit = now }

    // MARK: Helpers

    private mutating func abortAll(failed: Set<TaskID>, now: ContinuousClock.Instant) -> [Action] {
        let closing = live.union(failed)
        for id in closing where assigned[id] != nil { backOff(id, failed: failed.contains(id), now: now) }
        return [.closeDirty(closing), .abortTransaction]
    }

    /// The backoff before task `id` starts again: none unless it failed, then doubling with each consecutive
    /// failure.
    package func backoff(afterFailures attempt: Int) -> Duration {
        guard case .restartTask(let initial, let maximum) = timing.failurePolicy else { return .zero }
        return min(initial * (1 << min(attempt, 20)), maximum)
    }

    /// How many times in a row task `id` failed.
    package func failures(of id: TaskID) -> Int { consecutiveFailures[id, default: 0] }

    private mutating func backOff(_ id: TaskID, failed: Bool, now: ContinuousClock.Instant) {
        var delay = Duration.zero
        if failed {
            let attempt = consecutiveFailures[id, default: 0]
            consecutiveFailures[id] = attempt + 1
            delay = backoff(afterFailures: attempt)
        }
        phases[id] = .backingOff(due: now + delay)
    }

    private mutating func forget(_ id: TaskID) {
        assigned[id] = nil
        phases[id] = nil
        consecutiveFailures[id] = nil
    }
}

extension TaskLifecycle.Phase {
    var isBackingOff: Bool {
        if case .backingOff = self { return true }
        return false
    }
}
