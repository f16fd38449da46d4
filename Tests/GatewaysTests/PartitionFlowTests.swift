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
        #expect(flow.finish(1).map(\.offset) == [2])
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
        #expect(flow.finish(0).isEmpty)
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
}
