import Dataflow
import Foundation
import Gateways
import StreamKit
import Synchronization
import Testing

/// Pipelines as named topologies: deploying, updating and deleting pipelines leaves the others running, and
/// pipelines whose topics have other partition counts live side by side. Real broker, real MLServer models
/// behind the model gateway.
@Suite(.enabled(if: TestModelServer.shouldRun), .serialized, .timeLimit(.minutes(8)))
struct PipelineIsolationTests {
    /// The engine and model gateway of one test, serving `add10` and `mul10` from the test MLServer.
    struct Deployment {
        let topics = TopicNames(prefix: "seldon", namespace: TestBroker.uniqueName("isolation"))
        let engine: DataflowEngine
        let gateway: ModelGateway
        let producer: KafkaProducer
        let tasks: [Task<Void, any Error>]

        /// `prepare` runs before the model gateway creates the models' topics.
        init(prepare: (TopicNames) async throws -> Void = { _ in }) async throws {
            try await prepare(topics)
            engine = try DataflowEngineTests.engine(topics)
            var configuration = ModelGatewayConfiguration(bootstrapServers: [try TestBroker.bootstrap()], groupID: TestBroker.uniqueName("modelgateway"), topics: topics)
            configuration.useLocalBrokerDefaults()
            configuration.commitInterval = .milliseconds(200)
            gateway = ModelGateway(configuration: configuration, logger: TestBroker.logger)
            let server = ModelServer(name: "mlserver", endpoints: [try TestModelServer.address()])
            try await gateway.serve(["add10": server, "mul10": server])
            producer = try TestBroker.producer()
            let engine = engine
            let gateway = gateway
            tasks = [Task { try await engine.run() }, Task { try await gateway.run() }]
        }

        func stop() async {
            await producer.close()
            for task in tasks { task.cancel() }
            for task in tasks { _ = try? await task.value }
        }

        /// Applies the pipelines and waits until they are Ready.
        func deploy(_ yaml: String) async throws -> [PipelineState] {
            let applied = try await engine.apply(try DataflowEngineTests.resources(yaml))
            return await engine.waitUntilSettled(applied.map(\.name), timeout: .seconds(120))
        }

        /// Writes one request to `pipeline`'s inputs and returns its key.
        func request(_ pipeline: String, _ values: [Float] = [1, 2, 3, 4]) async throws -> String {
            let key = TestBroker.uniqueName(pipeline)
            let request = InferenceRequest(id: key, inputs: [InferenceTensor(name: "INPUT", shape: [4], contents: .fp32(values))])
            try await producer.send(KafkaProducerRecord(
                topic: topics.pipelineInputs(pipeline), key: Array(key.utf8), value: try request.serializedBytes(),
                headers: [KafkaHeader(key: "pipeline", value: pipeline), KafkaHeader(key: "x-request-id", value: key)]
            )) { _ in }
            return key
        }
    }

    static func step(_ pipeline: String, _ model: String) -> String {
        DataflowEngineTests.pipeline(pipeline, "steps:\n  - name: \(model)\noutput:\n  steps: [\(model)]")
    }

    /// Follows every partition of a pipeline's outputs from the beginning and notes when each answer arrived.
    final class AnswerLog: Sendable {
        typealias Answer = (at: ContinuousClock.Instant, values: TensorContents?)
        private final class Arrivals: Sendable {
            let answers = Mutex<[String: Answer]>([:])
            func withLock<T>(_ body: (inout [String: Answer]) -> T) -> T { answers.withLock { body(&$0) } }
        }
        private let arrivals = Arrivals()
        private let stop = StopFlag()
        private let reading: Task<Void, any Error>

        init(_ topic: String, partitions: Int32 = 4) throws {
            let consumer = try TestBroker.consumer()
            let arrivals = self.arrivals
            let stop = self.stop
            reading = Task {
                try await consumer.assign(TestBroker.partitions(topic, count: partitions).map { TopicPartitionOffset($0, offset: KafkaConsumer.beginning) })
                while !stop.isSet {
                    for record in try await consumer.poll(maxRecords: 500, timeout: .milliseconds(20)) {
                        let now = ContinuousClock.now
                        let values = try? InferenceResponse(serializedBytes: record.value ?? []).outputs.first?.contents
                        arrivals.withLock { $0[String(decoding: record.key ?? [], as: UTF8.self)] = (now, values) }
                    }
                }
                await consumer.close()
            }
        }

        /// Waits until every key in `keys` was answered or `timeout` passed; returns the answered ones.
        func wait(for keys: [String], timeout: Duration = .seconds(60)) async throws -> [String: (at: ContinuousClock.Instant, values: TensorContents?)] {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                let found = arrivals.withLock { arrivals in keys.compactMap { key in arrivals[key].map { (key, $0) } } }
                if found.count == keys.count { return Dictionary(found) { first, _ in first } }
                try await Task.sleep(for: .milliseconds(50))
            }
            return arrivals.withLock { arrivals in Dictionary(keys.compactMap { key in arrivals[key].map { (key, $0) } }) { first, _ in first } }
        }

        func close() async {
            stop.set()
            _ = try? await reading.value
        }
    }

    /// A steady pipeline receiving 40 requests a second while 20 other pipelines are applied, each asked once
    /// right after it is Ready, updated and deleted: every request of each is answered, and the steady
    /// pipeline's answers never pause for more than a second.
    @Test func aSteadyPipelineIsUndisturbedWhileTwentyOthersAreAppliedUpdatedAndDeleted() async throws {
        let deployment = try await Deployment()
        let steady = try await deployment.deploy(Self.step("steady", "add10"))
        try #require(steady.map(\.status) == [.ready], "\(steady)")
        let steadyAnswers = try AnswerLog(deployment.topics.pipelineOutputs("steady"))

        let load = Task {
            var sent: [(key: String, at: ContinuousClock.Instant)] = []
            let stop = ContinuousClock.now + .seconds(600)
            while !Task.isCancelled, ContinuousClock.now < stop {
                let at = ContinuousClock.now
                sent.append((try await deployment.request("steady"), at))
                try? await Task.sleep(for: .milliseconds(25))
            }
            return sent
        }

        var churnLog: [String: AnswerLog] = [:]
        // What the churn did when, to tell which step a pause of the steady pipeline came with.
        var timeline: [(at: ContinuousClock.Instant, what: String)] = []
        for index in 0..<20 {
            let name = "churn\(index)"
            let log = try AnswerLog(deployment.topics.pipelineOutputs(name))
            churnLog[name] = log
            timeline.append((.now, "deploy \(name)"))
            let states = try await deployment.deploy(Self.step(name, index.isMultiple(of: 2) ? "add10" : "mul10"))
            timeline.append((.now, "\(name) ready"))
            try #require(states.map(\.status) == [.ready], "\(states)")
            let key = try await deployment.request(name)
            let answer = try await log.wait(for: [key])[key]
            #expect(answer != nil, "\(name): the first request after Ready is answered")
            #expect(answer?.values == (index.isMultiple(of: 2) ? .fp32([11, 12, 13, 14]) : .fp32([10, 20, 30, 40])), "\(name)")
            if index >= 1 {
                // The previous one now calls the other model.
                let previous = "churn\(index - 1)"
                timeline.append((.now, "update \(previous)"))
                let updated = try await deployment.deploy(Self.step(previous, index.isMultiple(of: 2) ? "add10" : "mul10"))
                #expect(updated.map(\.version) == [2], "\(updated)")
                let key = try await deployment.request(previous)
                #expect(try await churnLog[previous]!.wait(for: [key])[key]?.values == (index.isMultiple(of: 2) ? .fp32([11, 12, 13, 14]) : .fp32([10, 20, 30, 40])), "\(previous) after its update")
            }
            if index >= 2 {
                let gone = "churn\(index - 2)"
                timeline.append((.now, "delete \(gone)"))
                #expect(await deployment.engine.delete(gone)?.status == .terminated)
                timeline.append((.now, "\(gone) deleted"))
                await churnLog.removeValue(forKey: gone)?.close()
            }
        }
        load.cancel()
        let sent = try await load.value
        let keys = sent.map(\.key)
        #expect(Set(keys).count == keys.count, "every request has a key of its own")
        let answers = try await steadyAnswers.wait(for: keys, timeout: .seconds(60))
        #expect(keys.count > 400, "the load ran through the churn: \(keys.count) requests")
        #expect(answers.count == keys.count, "\(keys.count - answers.count) of \(keys.count) steady requests unanswered")
        #expect(answers.values.allSatisfy { $0.values == .fp32([11, 12, 13, 14]) })
        let pause = Self.longestPause(sent: sent, answered: answers.mapValues(\.at))
        let longestPause = pause.map { $0.upperBound - $0.lowerBound } ?? .zero
        let during = pause.map { pause in
            timeline.filter { $0.at >= pause.lowerBound - .seconds(2) && $0.at <= pause.upperBound }
                .map { "\($0.what) at \($0.at - pause.lowerBound)" }
        } ?? []
        print("churn: \(keys.count) steady requests, \(answers.count) answered, longest pause with a request waiting \(longestPause); churn steps from 2 s before it to its end, relative to its start: \(during)")
        #expect(longestPause <= .seconds(1), "the steady pipeline had a request waiting and gave no answer for \(longestPause); churn steps around it: \(during)")

        for log in churnLog.values { await log.close() }
        await steadyAnswers.close()
        await deployment.stop()
    }

    /// When the pipeline gave no answer for longest while a request of it was waiting: between two answers, from
    /// the later of the first answer and the oldest request still unanswered then. A pause of the sender itself
    /// (no request waiting) does not count.
    static func longestPause(
        sent: [(key: String, at: ContinuousClock.Instant)], answered: [String: ContinuousClock.Instant]
    ) -> ClosedRange<ContinuousClock.Instant>? {
        let events = sent.compactMap { request in answered[request.key].map { (sent: request.at, answered: $0) } }
            .sorted { $0.answered < $1.answered }
        // oldestFrom[i]: the oldest request among those answered i-th or later.
        var oldestFrom = events.map(\.sent)
        for index in oldestFrom.indices.reversed().dropFirst() { oldestFrom[index] = min(oldestFrom[index], oldestFrom[index + 1]) }
        var longest: ClosedRange<ContinuousClock.Instant>?
        for index in events.indices.dropFirst() {
            let pause = max(events[index - 1].answered, oldestFrom[index])...events[index].answered
            if longest.map({ pause.upperBound - pause.lowerBound > $0.upperBound - $0.lowerBound }) ?? true { longest = pause }
        }
        return longest
    }

    /// A pipeline whose topics have two partitions runs beside one whose topics have four: co-partitioning is a
    /// matter of each pipeline's own topics.
    @Test func pipelinesWithOtherPartitionCountsRunSideBySide() async throws {
        let deployment = try await Deployment { topics in
            for topic in [topics.pipelineInputs("two"), topics.pipelineOutputs("two"), topics.modelInputs("mul10"), topics.modelOutputs("mul10")] {
                try await TestBroker.createTopic(topic, partitions: 2)
            }
        }
        let states = try await deployment.deploy(Self.step("two", "mul10") + Self.step("four", "add10"))
        try #require(states.count == 2 && states.allSatisfy { $0.status == .ready }, "\(states)")
        let two = try AnswerLog(deployment.topics.pipelineOutputs("two"), partitions: 2)
        let four = try AnswerLog(deployment.topics.pipelineOutputs("four"))
        var twoKeys: [String] = []
        var fourKeys: [String] = []
        for _ in 0..<10 {
            twoKeys.append(try await deployment.request("two"))
            fourKeys.append(try await deployment.request("four"))
        }
        let twoAnswers = try await two.wait(for: twoKeys)
        let fourAnswers = try await four.wait(for: fourKeys)
        #expect(twoAnswers.count == 10 && twoAnswers.values.allSatisfy { $0.values == .fp32([10, 20, 30, 40]) })
        #expect(fourAnswers.count == 10 && fourAnswers.values.allSatisfy { $0.values == .fp32([11, 12, 13, 14]) })
        await two.close()
        await four.close()
        await deployment.stop()
    }
}
