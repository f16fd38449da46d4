@testable import Gateways
import StreamKit
import Testing

struct PartitionFlowTests {
    func record(_ offset: Int64) -> KafkaConsumerRecord {
        KafkaConsumerRecord(topic: "t", partition: 0, offset: offset, key: nil, value: nil, timestamp: 0)
    }

    @Test func startsUpToTheLimitAndTheRestAsEarlierOnesFinish() {
        var flow = PartitionFlow(limit: 2)
        #expect(flow.arrive(record(0)).map(\.offset) == [0])
        #expect(flow.arrive(record(1)).map(\.offset) == [1])
        #expect(flow.arrive(record(2)).isEmpty)
        #expect(flow.isFull)
        #expect(flow.finish(1).start.map(\.offset) == [2])
        #expect(flow.inFlight == 2)
        #expect(flow.isFull)
    }

    @Test func commitsOnlyBelowTheOldestUnfinishedRequest() {
        var flow = PartitionFlow(limit: 10)
        for offset in [5, 6, 8] as [Int64] { _ = flow.arrive(record(offset)) }
        #expect(flow.commitOffset == 5)
        _ = flow.finish(6)
        _ = flow.finish(8)
        #expect(flow.commitOffset == 5)
        flow.markCommitted(5)
        #expect(flow.commitOffset == nil, "nothing new to commit")
        _ = flow.finish(5)
        #expect(flow.commitOffset == 9)
        #expect(flow.isIdle)
    }

    @Test func waitingRecordsHoldTheCommitBackAndAHeldFlowStartsNothing() {
        var flow = PartitionFlow(limit: 1)
        _ = flow.arrive(record(0))
        _ = flow.arrive(record(1))
        flow.hold()
        #expect(flow.finish(0).start.isEmpty)
        #expect(flow.isDrained)
        #expect(!flow.isIdle)
        #expect(flow.commitOffset == 1, "the waiting record is left to the partition's next owner")
    }

    @Test func finishingTwiceOrAnUnknownOffsetChangesNothing() {
        var flow = PartitionFlow(limit: 4)
        _ = flow.arrive(record(3))
        _ = flow.finish(3)
        _ = flow.finish(3)
        _ = flow.finish(7)
        #expect(flow.inFlight == 0)
        #expect(flow.commitOffset == 4)
    }

    @Test func anAbandonedRequestIsNoLongerInFlightAndHoldsItsOffsetBackForGood() {
        var flow = PartitionFlow(limit: 4)
        for offset in [0, 1, 2] as [Int64] { _ = flow.arrive(record(offset)) }
        _ = flow.finish(0)
        flow.abandon(1)
        flow.abandon(1)
        #expect(flow.inFlight == 1, "abandoning twice counts once")
        _ = flow.finish(2)
        #expect(flow.isDrained)
        #expect(flow.commitOffset == 1, "the abandoned request is left to the partition's next owner")
        #expect(flow.finish(1, answers: [answer(1)]).released.isEmpty, "an abandoned request is not finished later")
        #expect(flow.commitOffset == 1)
    }

    func answer(_ offset: Int64) -> KafkaProducerRecord {
        KafkaProducerRecord(topic: "out", key: nil, value: Array("\(offset)".utf8))
    }

    func offsets(_ released: [KafkaProducerRecord]) -> [Int64] {
        released.map { Int64(String(decoding: $0.value ?? [], as: UTF8.self))! }
    }

    @Test func answersAreReleasedInOffsetOrderOnceEveryEarlierRequestIsAnswered() {
        var flow = PartitionFlow(limit: 10)
        for offset in [5, 6, 8, 9] as [Int64] { _ = flow.arrive(record(offset)) }
        #expect(flow.finish(6, answers: [answer(6)]).released.isEmpty, "5 is still unanswered")
        #expect(flow.finish(9, answers: [answer(9)]).released.isEmpty)
        #expect(flow.commitOffset == 5)
        #expect(offsets(flow.finish(5, answers: [answer(5)]).released) == [5, 6])
        #expect(flow.commitOffset == 8, "the offset committed with a transaction covers exactly the answers released")
        #expect(offsets(flow.finish(8, answers: [answer(8)]).released) == [8, 9])
        #expect(flow.commitOffset == 10)
    }

    @Test func heldAnswersBoundHowManyRequestsStartBehindAnUnansweredOne() {
        var flow = PartitionFlow(limit: 2, window: 3)
        for offset in 0..<5 as Range<Int64> { _ = flow.arrive(record(offset)) }
        #expect(flow.inFlight == 2)
        let progress = flow.finish(1, answers: [answer(1)])
        #expect(progress.start.map(\.offset) == [2], "0 is unanswered: 0, 1 and 2 fill the window")
        #expect(flow.finish(2, answers: [answer(2)]).start.isEmpty, "the window is full though one request is in flight")
        #expect(flow.isFull)
        let after = flow.finish(0, answers: [answer(0)])
        #expect(offsets(after.released) == [0, 1, 2])
        #expect(after.start.map(\.offset) == [3, 4])
    }
}
