import Testing

@testable import StreamKit

/// The task lifecycle of one topology, driven by events alone: no broker, no tasks.
@Suite struct TaskLifecycleTests {
    static let start = ContinuousClock.now

    static func lifecycle(
        _ name: String = "p",
        topics: [String: Int] = ["in": 0, "other": 0],
        policy: StreamsConfiguration.TaskFailurePolicy = .restartTask(initialBackoff: .seconds(1), maximumBackoff: .seconds(8)),
        exactlyOnce: Bool = false
    ) -> TaskLifecycle {
        var configuration = StreamsConfiguration(applicationID: "app", bootstrapServers: [])
        configuration.taskFailure = policy
        configuration.processingGuarantee = exactlyOnce ? .exactlyOnce : .atLeastOnce
        configuration.commitInterval = .seconds(30)
        configuration.lagInterval = .seconds(10)
        configuration.wallClockResolution = .milliseconds(50)
        return TaskLifecycle(topologyName: name, subtopologyOfTopic: topics, timing: .init(configuration), now: start)
    }

    static func partitions(_ topic: String, _ numbers: Int32...) -> [TopicPartition] {
        numbers.map { TopicPartition(topic: topic, partition: $0) }
    }

    static func task(_ partition: Int32, _ name: String = "p", subtopology: Int = 0) -> TaskID {
        TaskID(topology: name, subtopology: subtopology, partition: partition)
    }

    static func failure(_ id: TaskID) -> TaskFailure { TaskFailure(task: id, stage: .processing, source: nil, reason: "boom") }

    @Test func notReadyUntilTheGroupAssignedAndEveryTaskRuns() {
        var lifecycle = Self.lifecycle()
        #expect(!lifecycle.isReady)
        #expect(lifecycle.notReadyReason == "waiting for the group to assign partitions")
        let actions = lifecycle.partitionsAssigned(Self.partitions("in", 0, 1) + Self.partitions("other", 0, 1))
        // Co-partitioned sources make one task per partition number, named after the topology.
        #expect(actions == [
            .start(Self.task(0), partitions: Set([TopicPartition(topic: "in", partition: 0), TopicPartition(topic: "other", partition: 0)]), seek: false),
            .start(Self.task(1), partitions: Set([TopicPartition(topic: "in", partition: 1), TopicPartition(topic: "other", partition: 1)]), seek: false),
        ])
        #expect(Self.task(1).description == "p__0_1")
        lifecycle.started(Self.task(0))
        #expect(!lifecycle.isReady)
        #expect(lifecycle.notReadyReason == "task p__0_1 is starting")
        lifecycle.started(Self.task(1))
        #expect(lifecycle.isReady)
    }

    @Test func anEmptyShareIsReadyOnceAssigned() {
        var lifecycle = Self.lifecycle()
        #expect(lifecycle.partitionsAssigned([]).isEmpty)
        #expect(lifecycle.isReady)
    }

    @Test func revocationCommitsAndClosesOnlyTheRevokedTasks() {
        var lifecycle = Self.lifecycle()
        _ = lifecycle.partitionsAssigned(Self.partitions("in", 0, 1, 2))
        for partition in Int32(0)...2 { lifecycle.started(Self.task(partition)) }
        let actions = lifecycle.partitionsRevoked(Self.partitions("in", 1), lost: false, now: Self.start)
        #expect(actions == [.commit(closing: [Self.task(1)]), .closeDirty([Self.task(1)])])
        #expect(lifecycle.live == [Self.task(0), Self.task(2)])
        #expect(lifecycle.isReady)
    }

    @Test func lostPartitionsAreNotCommitted() {
        var lifecycle = Self.lifecycle()
        _ = lifecycle.partitionsAssigned(Self.partitions("in", 0))
        lifecycle.started(Self.task(0))
        #expect(lifecycle.partitionsRevoked(Self.partitions("in", 0), lost: true, now: Self.start) == [.closeDirty([Self.task(0)])])
    }

    @Test func lostPartitionsUnderExactlyOnceAbortTheTransactionForTheOthers() {
        var lifecycle = Self.lifecycle(exactlyOnce: true)
        _ = lifecycle.partitionsAssigned(Self.partitions("in", 0, 1))
        lifecycle.started(Self.task(0))
        lifecycle.started(Self.task(1))
        let actions = lifecycle.partitionsRevoked(Self.partitions("in", 0), lost: true, now: Self.start)
        #expect(actions == [.closeDirty([Self.task(0)]), .closeDirty([Self.task(1)]), .abortTransaction])
        // The survivor starts again from its committed offsets at the next tick, without a backoff.
        #expect(lifecycle.tick(now: Self.start).contains(.start(Self.task(1), partitions: Set(Self.partitions("in", 1)), seek: true)))
    }

    /// A member stopped past its session loses every task at once: the transaction it had open still holds their
    /// output, and must not be committed by the next commit (which would have no offsets to send with it).
    @Test func losingEveryTaskUnderExactlyOnceAbortsTheTransaction() {
        var lifecycle = Self.lifecycle(exactlyOnce: true)
        _ = lifecycle.partitionsAssigned(Self.partitions("in", 0, 1))
        lifecycle.started(Self.task(0))
        lifecycle.started(Self.task(1))
        let actions = lifecycle.partitionsRevoked(Self.partitions("in", 0, 1), lost: true, now: Self.start)
        #expect(actions == [.closeDirty([Self.task(0), Self.task(1)]), .abortTransaction])
        #expect(lifecycle.live.isEmpty)
    }

    @Test func aTaskGainingAPartitionCommitsClosesAndStartsWithAll() {
        var lifecycle = Self.lifecycle()
        _ = lifecycle.partitionsAssigned(Self.partitions("in", 0))
        lifecycle.started(Self.task(0))
        let actions = lifecycle.partitionsAssigned(Self.partitions("other", 0))
        #expect(actions == [
            .commit(closing: [Self.task(0)]),
            .start(Self.task(0), partitions: Set(Self.partitions("in", 0) + Self.partitions("other", 0)), seek: false),
        ])
    }

    @Test func aFailedTaskBacksOffDoublingThenRestartsFromItsCommittedOffsets() {
        var lifecycle = Self.lifecycle()
        _ = lifecycle.partitionsAssigned(Self.partitions("in", 0, 1))
        lifecycle.started(Self.task(0))
        lifecycle.started(Self.task(1))
        #expect(lifecycle.failed([Self.task(0)], failure: Self.failure(Self.task(0)), now: Self.start) == [.closeDirty([Self.task(0)])])
        #expect(!lifecycle.isReady)
        #expect(lifecycle.notReadyReason == "task p__0_0 failed and restarts after a backoff")
        #expect(lifecycle.live == [Self.task(1)])
        #expect(!lifecycle.tick(now: Self.start + .milliseconds(999)).contains { if case .start = $0 { true } else { false } })
        let restart = Action.start(Self.task(0), partitions: Set(Self.partitions("in", 0)), seek: true)
        #expect(lifecycle.tick(now: Self.start + .seconds(1)).contains(restart))
        // Failing again at once doubles the backoff; a commit with progress resets it.
        _ = lifecycle.failed([Self.task(0)], failure: Self.failure(Self.task(0)), now: Self.start + .seconds(1))
        #expect(!lifecycle.tick(now: Self.start + .seconds(2)).contains(restart))
        #expect(lifecycle.tick(now: Self.start + .seconds(3)).contains(restart))
        lifecycle.started(Self.task(0))
        #expect(lifecycle.failures(of: Self.task(0)) == 2)
        lifecycle.committed(progressOf: [Self.task(0)])
        #expect(lifecycle.failures(of: Self.task(0)) == 0)
        #expect(lifecycle.backoff(afterFailures: 10) == .seconds(8))
    }

    @Test func aFailureStopsTheTopologyWhenThePolicySaysSo() {
        var lifecycle = Self.lifecycle(policy: .stopApplication)
        _ = lifecycle.partitionsAssigned(Self.partitions("in", 0))
        let failure = Self.failure(Self.task(0))
        #expect(lifecycle.failed([Self.task(0)], failure: failure, now: Self.start) == [.stop(failure)])
    }

    @Test func aFailureUnderExactlyOnceAbortsAndRestartsEveryTask() {
        var lifecycle = Self.lifecycle(exactlyOnce: true)
        _ = lifecycle.partitionsAssigned(Self.partitions("in", 0, 1))
        lifecycle.started(Self.task(0))
        lifecycle.started(Self.task(1))
        let actions = lifecycle.failed([Self.task(1)], failure: Self.failure(Self.task(1)), now: Self.start)
        #expect(actions == [.closeDirty([Self.task(0), Self.task(1)]), .abortTransaction])
        let due = lifecycle.tick(now: Self.start)
        #expect(due.contains(.start(Self.task(0), partitions: Set(Self.partitions("in", 0)), seek: true)))
        #expect(!due.contains(.start(Self.task(1), partitions: Set(Self.partitions("in", 1)), seek: true)), "the failed one backs off")
        #expect(lifecycle.tick(now: Self.start + .seconds(1)).contains(.start(Self.task(1), partitions: Set(Self.partitions("in", 1)), seek: true)))
    }

    @Test func aTaskFailingWhileACommitIsPreparedLetsTheOthersCommitUnderAtLeastOnce() {
        var lifecycle = Self.lifecycle()
        _ = lifecycle.partitionsAssigned(Self.partitions("in", 0, 1))
        lifecycle.started(Self.task(0))
        lifecycle.started(Self.task(1))
        #expect(lifecycle.commitPrepared(failures: [], now: Self.start) == .commit)
        #expect(lifecycle.commitPrepared(failures: [Self.failure(Self.task(1))], now: Self.start) == .commit)
    }

    @Test func aTaskFailingWhileACommitIsPreparedAbortsTheTransactionUnderExactlyOnce() {
        var lifecycle = Self.lifecycle(exactlyOnce: true)
        _ = lifecycle.partitionsAssigned(Self.partitions("in", 0, 1))
        lifecycle.started(Self.task(0))
        lifecycle.started(Self.task(1))
        #expect(lifecycle.commitPrepared(failures: [], now: Self.start) == .commit)
        let outcome = lifecycle.commitPrepared(failures: [Self.failure(Self.task(1))], now: Self.start)
        #expect(outcome == .abort([.closeDirty([Self.task(0), Self.task(1)]), .abortTransaction]))
        #expect(lifecycle.failures(of: Self.task(1)) == 1)

        // A task that failed while it closed (its partitions were revoked) is no longer assigned: the others
        // still start again, for the transaction that held its output is gone.
        var revoking = Self.lifecycle(exactlyOnce: true)
        _ = revoking.partitionsAssigned(Self.partitions("in", 0, 1))
        revoking.started(Self.task(0))
        revoking.started(Self.task(1))
        _ = revoking.partitionsRevoked(Self.partitions("in", 1), lost: false, now: Self.start)
        #expect(revoking.commitPrepared(failures: [Self.failure(Self.task(1))], now: Self.start) == .abort([.closeDirty([Self.task(0)]), .abortTransaction]))
    }

    @Test func failuresOfTasksNoLongerAssignedAreIgnored() {
        var lifecycle = Self.lifecycle()
        _ = lifecycle.partitionsAssigned(Self.partitions("in", 0))
        _ = lifecycle.partitionsRevoked(Self.partitions("in", 0), lost: false, now: Self.start)
        #expect(lifecycle.failed([Self.task(0)], failure: Self.failure(Self.task(0)), now: Self.start).isEmpty)
    }

    @Test func replacingKeepsThePartitionsOfTopicsStillReadAndResubscribesOnlyWhenTopicsChange() {
        var lifecycle = Self.lifecycle(topics: ["in": 0, "other": 1])
        _ = lifecycle.partitionsAssigned(Self.partitions("in", 0) + Self.partitions("other", 0))
        lifecycle.started(Self.task(0))
        lifecycle.started(Self.task(0, subtopology: 1))
        let same = lifecycle.replaced(subtopologyOfTopic: ["in": 0, "other": 1], sourceTopicsChanged: false, topics: ["in", "other"])
        #expect(same == [
            .commit(closing: [Self.task(0), Self.task(0, subtopology: 1)]),
            .start(Self.task(0), partitions: Set(Self.partitions("in", 0)), seek: true),
            .start(Self.task(0, subtopology: 1), partitions: Set(Self.partitions("other", 0)), seek: true),
        ])
        #expect(lifecycle.hasAssignment)
        lifecycle.started(Self.task(0))
        lifecycle.started(Self.task(0, subtopology: 1))
        let fewer = lifecycle.replaced(subtopologyOfTopic: ["in": 0], sourceTopicsChanged: true, topics: ["in"])
        #expect(fewer == [
            .commit(closing: [Self.task(0), Self.task(0, subtopology: 1)]),
            .start(Self.task(0), partitions: Set(Self.partitions("in", 0)), seek: true),
            .subscribe(["in"]),
        ])
        #expect(!lifecycle.isReady, "a new subscription waits for the group's assignment")
    }

    @Test func replacingWhileATaskBacksOffStartsItWithTheNewTopologyAndForgetsItsFailures() {
        var lifecycle = Self.lifecycle()
        _ = lifecycle.partitionsAssigned(Self.partitions("in", 0))
        _ = lifecycle.failed([Self.task(0)], failure: Self.failure(Self.task(0)), now: Self.start)
        let actions = lifecycle.replaced(subtopologyOfTopic: ["in": 0], sourceTopicsChanged: false, topics: ["in"])
        #expect(actions == [.commit(closing: []), .start(Self.task(0), partitions: Set(Self.partitions("in", 0)), seek: true)])
        #expect(lifecycle.failures(of: Self.task(0)) == 0)
    }

    @Test func timersComeDueOnTheirIntervals() {
        var lifecycle = Self.lifecycle()
        #expect(lifecycle.tick(now: Self.start + .milliseconds(10)).isEmpty)
        #expect(lifecycle.tick(now: Self.start + .milliseconds(50)) == [.punctuateWallClock])
        #expect(lifecycle.tick(now: Self.start + .seconds(10)) == [.punctuateWallClock, .measureLag])
        lifecycle.commitRan(at: Self.start + .seconds(20))
        #expect(!lifecycle.tick(now: Self.start + .seconds(30)).contains(.commit(closing: [])), "a commit in between moves the next one")
        #expect(lifecycle.tick(now: Self.start + .seconds(50)).contains(.commit(closing: [])))
    }

    @Test func tasksOfTopicsTheTopologyDoesNotReadAreIgnored() {
        var lifecycle = Self.lifecycle()
        #expect(lifecycle.partitionsAssigned(Self.partitions("unknown", 0)).isEmpty)
        #expect(lifecycle.task(of: TopicPartition(topic: "unknown", partition: 0)) == nil)
    }

    typealias Action = TaskLifecycle.Action
}
