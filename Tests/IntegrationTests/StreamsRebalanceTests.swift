import Foundation
import StreamKit
import Synchronization
import Testing

/// Rebalancing on the real broker: a second instance joining takes over some partitions, and the first
/// instance's tasks for the partitions it keeps are never closed (cooperative rebalancing).
@Suite(.enabled(if: TestBroker.shouldRun), .serialized, .timeLimit(.minutes(2)))
struct StreamsRebalanceTests {
    /// What the processors of one instance did: task starts and closes, in order.
    final class TaskLog: Sendable {
        private let events = Mutex<[(event: String, task: TaskID)]>([])
        func record(_ event: String, _ task: TaskID) { events.withLock { $0.append((event, task)) } }
        func tasks(_ event: String) -> [TaskID] { events.withLock { $0.filter { $0.event == event }.map(\.task) } }
    }

    func application(_ app: String, input: String, output: String, log: TaskLog, instance: String) throws -> StreamsApplication {
        let builder = StreamsBuilder()
        builder.stream(input, key: .string, value: .string)
            .process(named: "pass") {
                UpperCasing(onStart: { log.record("start", $0.taskID) }, onClose: { log.record("close", $0) })
            }
            .to(output, key: .string, value: .string)
        var configuration = try StreamsApplicationTests.configuration(app)
        configuration.instanceID = instance
        return StreamsApplication(topology: try builder.build(), configuration: configuration, logger: TestBroker.logger)
    }

    @Test func aJoiningInstanceTakesPartitionsWhileTheOthersKeepTheirTasksRunning() async throws {
        let (input, output, app) = try await StreamsApplicationTests.freshTopics()
        let first = (0..<200).map { ("key-\($0 % 23)", "a-\($0)") }
        try await StreamsApplicationTests.produce(input, first)

        let logA = TaskLog()
        let a = try application(app, input: input, output: output, log: logA, instance: "a")
        let runningA = Task { try await a.run() }
        #expect(try await StreamsApplicationTests.read(output, count: 200).count == 200)
        #expect(Set(logA.tasks("start")).count == 4)

        let logB = TaskLog()
        let b = try application(app, input: input, output: output, log: logB, instance: "b")
        let runningB = Task { try await b.run() }
        let deadline = ContinuousClock.now + .seconds(60)
        while logB.tasks("start").count < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }

        let second = (0..<200).map { ("key-\($0 % 23)", "b-\($0)") }
        try await StreamsApplicationTests.produce(input, second)
        let records = try await StreamsApplicationTests.read(output, count: 400)
        #expect(Set(records.map { $0.value!.string }) == Set((first + second).map { $0.1.uppercased() }))

        a.shutdown()
        b.shutdown()
        try await runningA.value
        try await runningB.value

        // Before the shutdown: B started the tasks A closed, and A closed nothing else and restarted nothing.
        let startedByB = Set(logB.tasks("start"))
        let closedByA = logA.tasks("close")
        #expect(startedByB.count == 2, "B started \(startedByB)")
        #expect(Array(closedByA.prefix(2)).sorted() == startedByB.sorted(), "A closed \(closedByA) before shutting down; B started \(startedByB)")
        let keptByA = Set(logA.tasks("start")).subtracting(startedByB)
        #expect(keptByA.count == 2)
        #expect(logA.tasks("start").count == 4, "A started tasks again: \(logA.tasks("start"))")
        #expect(Array(closedByA.dropFirst(2)).sorted() == keptByA.sorted(), "A's kept tasks closed only at shutdown")
    }
}
