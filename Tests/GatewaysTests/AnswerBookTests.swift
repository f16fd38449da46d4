@testable import Gateways
import Dataflow
import StreamKit
import Testing

struct AnswerBookTests {
    func record(_ topic: String, key: String) -> KafkaConsumerRecord {
        KafkaConsumerRecord(topic: topic, partition: 0, offset: 0, key: Array(key.utf8), value: nil, timestamp: 0)
    }

    func book(owning owned: [String: [Int32]], of partitions: Int32 = 4) -> AnswerBook {
        var book = AnswerBook()
        for (topic, ids) in owned {
            book.partitionCounts[topic] = partitions
            book.own(ids.map { TopicPartition(topic: topic, partition: $0) })
        }
        return book
    }

    @Test func keysLandInOwnedPartitionsOfEveryAnswerTopic() throws {
        var book = book(owning: ["outputs": [1]])
        book.partitionCounts["errors"] = 8
        book.own([TopicPartition(topic: "errors", partition: 1), TopicPartition(topic: "errors", partition: 2)])
        var plain = 0
        for index in 0..<200 {
            let text = try #require(book.key(for: "request-\(index)", answeredOn: ["outputs", "errors"]))
            let key = Array(text.utf8)
            #expect(KeyPartitioner.partition(of: key, partitions: 4) == 1)
            #expect([1, 2].contains(KeyPartitioner.partition(of: key, partitions: 8)))
            #expect(text == "request-\(index)" || text.hasPrefix("request-\(index)."), "keys are made from the request id")
            if text == "request-\(index)" { plain += 1 }
        }
        #expect(plain < 200, "most ids do not land in partition 1 as they are")
    }

    @Test func noKeyWhenTheOwnedPartitionsCannotAllBeHit() {
        // murmur2 % 8 == 2 implies murmur2 % 4 == 2: no key lands in partition 1 of one and 2 of the other.
        var book = book(owning: ["outputs": [1]])
        book.partitionCounts["errors"] = 8
        book.own([TopicPartition(topic: "errors", partition: 2)])
        #expect(book.key(for: "x", answeredOn: ["outputs", "errors"]) == nil)
    }

    @Test func noKeyWhileATopicHasNoOwnedPartition() {
        var book = book(owning: ["outputs": [0, 1]])
        book.partitionCounts["errors"] = 4
        #expect(book.key(for: "r", answeredOn: ["outputs", "errors"]) == nil)
        #expect(book.key(for: "r", answeredOn: ["unknown"]) == nil)
        book.release([TopicPartition(topic: "outputs", partition: 0), TopicPartition(topic: "outputs", partition: 1)])
        #expect(book.key(for: "r", answeredOn: ["outputs"]) == nil)
    }

    @Test func aKeyWaitedForOrGivenUpIsNotUsedAgain() throws {
        var book = book(owning: ["outputs": [0, 1, 2, 3]])
        let first = try #require(book.key(for: "same-id", answeredOn: ["outputs"]))
        #expect(first == "same-id")
        book.expect("same-id", on: ["outputs"], until: .now + .seconds(1))
        let second = try #require(book.key(for: "same-id", answeredOn: ["outputs"]))
        #expect(second != first)
        _ = book.abandon("same-id")
        #expect(book.key(for: "same-id", answeredOn: ["outputs"]) != first, "a late answer to the first must not answer a new one")
    }

    @Test func anAnswerArrivingBeforeItsWaiterIsKept() async throws {
        var book = book(owning: ["outputs": [0, 1, 2, 3]])
        book.expect("k", on: ["outputs"], until: .now + .seconds(5))
        #expect(book.arrive(record("other-topic", key: "k")).0 == .unknown, "only the answer topics count")
        #expect(book.arrive(record("outputs", key: "k")).0 == .answered)
        let answer = try await withCheckedThrowingContinuation { waiter in
            switch book.wait("k", waiter) {
            case .answered(let record): waiter.resume(returning: record)
            default: waiter.resume(throwing: CancellationError())
            }
        }
        #expect(answer.topic == "outputs")
        #expect(book.waiting == 0)
        #expect(book.arrive(record("outputs", key: "k")).0 == .unknown, "a second answer finds nobody")
    }

    @Test func expiredRequestsGiveUpInDeadlineOrderAndTheirAnswersCountAsLate() async throws {
        var book = book(owning: ["outputs": [0, 1, 2, 3]])
        let now = ContinuousClock.now
        book.expect("a", on: ["outputs"], until: now + .milliseconds(10))
        book.expect("b", on: ["outputs"], until: now + .milliseconds(20))
        book.expect("c", on: ["outputs"], until: now + .seconds(60))
        #expect(book.expire(before: now).isEmpty)
        #expect(book.expire(before: now + .milliseconds(25)).map(\.key) == ["a", "b"])
        #expect(book.waiting == 1)
        #expect(book.arrive(record("outputs", key: "a")).0 == .late)
        #expect(book.arrive(record("model.x.outputs", key: "a")).0 == .unknown, "other topics' records with the key are not its answer")
        #expect(book.arrive(record("outputs", key: "c")).0 == .answered)
        _ = try await withCheckedThrowingContinuation { waiter in
            if case .answered(let record) = book.wait("c", waiter) { waiter.resume(returning: record) } else { waiter.resume(throwing: CancellationError()) }
        }
        #expect(book.expire(before: now + .seconds(61)).isEmpty, "c was answered")
    }
}

struct InferenceTargetTests {
    @Test func seldonModelHeaderChoosesPipelineOrModel() {
        #expect(InferenceTarget(modelPath: "x", seldonModel: "chain.pipeline") == .pipeline("chain"))
        #expect(InferenceTarget(modelPath: "x", seldonModel: "sum") == .model("sum"))
        #expect(InferenceTarget(modelPath: "chain", seldonModel: nil) == .pipeline("chain"))
        #expect(InferenceTarget(grpcName: "chain.pipeline", seldonModel: nil) == .pipeline("chain"))
        #expect(InferenceTarget(grpcName: "chain", seldonModel: nil) == .pipeline("chain"))
        #expect(InferenceTarget(grpcName: "chain", seldonModel: "sum") == .model("sum"))
        #expect(InferenceTarget(modelPath: "x", seldonModel: "sum.model") == .model("sum"), "the explicit model suffix")
        #expect(InferenceTarget(grpcName: "sum.model", seldonModel: nil) == .model("sum"))
        #expect(InferenceTarget(modelPath: "sum.model", seldonModel: nil) == .model("sum"), "a path names a model with the suffix, as an explainer's infer_uri does")
        #expect(InferenceTarget(modelPath: "chain.pipeline", seldonModel: nil) == .pipeline("chain"))
        #expect(InferenceTarget.headers == ["seldon-model", "seldon-internal-model"])
    }

    @Test func answersOfAModelComeOnItsOutputsOrTheErrorsTopic() {
        let topics = TopicNames()
        #expect(InferenceTarget.pipeline("p").answers(topics) == ["seldon.default.pipeline.p.outputs"])
        #expect(InferenceTarget.model("m").answers(topics) == ["seldon.default.model.m.outputs", "seldon.default.errors.errors"])
        #expect(InferenceTarget.model("m").inputs(topics) == "seldon.default.model.m.inputs")
    }
}
