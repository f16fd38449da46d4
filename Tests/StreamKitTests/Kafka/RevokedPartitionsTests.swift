import Testing

@testable import StreamKit

/// What a poll keeps of the records it collected when a rebalance callback revokes partitions during it.
struct RevokedPartitionsTests {
    private func record(_ partition: Int32, _ offset: Int64) -> KafkaConsumerRecord {
        KafkaConsumerRecord(topic: "in", partition: partition, offset: offset, key: nil, value: nil, timestamp: 0)
    }

    @Test func recordsCollectedBeforeARevocationOfTheirPartitionAreDropped() {
        let revoked = RevokedPartitions()
        var records = [record(0, 10), record(1, 20), record(0, 11)]
        revoked.revoked([TopicPartition(topic: "in", partition: 0)])
        revoked.dropRevoked(from: &records)
        #expect(records.map(\.offset) == [20])
    }

    @Test func aRevocationIsAppliedOnceSoRecordsOfTheNextAssignmentStay() {
        let revoked = RevokedPartitions()
        var records = [record(0, 10)]
        revoked.revoked([TopicPartition(topic: "in", partition: 0)])
        revoked.dropRevoked(from: &records)
        // The partition assigned again: what the poll returns after the callback is of the new assignment.
        records.append(record(0, 5))
        revoked.dropRevoked(from: &records)
        #expect(records.map(\.offset) == [5])
    }
}
