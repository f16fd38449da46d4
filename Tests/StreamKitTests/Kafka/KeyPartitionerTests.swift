import CRdKafka
import StreamKit
import Testing

struct KeyPartitionerTests {
    /// librdkafka's murmur2 partitioner is the Java client's; ours must agree with it for every key.
    @Test func choosesTheSamePartitionAsLibrdkafkasMurmur2Partitioner() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<40 {
            for _ in 0..<50 {
                let key = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                for partitions in [1, 3, 4, 12] as [Int32] {
                    let expected = key.withUnsafeBytes { bytes in
                        rd_kafka_msg_partitioner_murmur2(nil, bytes.baseAddress, bytes.count, partitions, nil, nil)
                    }
                    #expect(KeyPartitioner.partition(of: key, partitions: partitions) == expected, "key \(key)")
                }
            }
        }
    }
}
