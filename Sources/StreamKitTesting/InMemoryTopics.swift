import StreamKit
import Synchronization

/// The test driver's topics: every record a task writes, appended with an offset, readable by anyone.
package final class InMemoryTopics: Sendable {
    private let topics = Mutex<[String: [KafkaConsumerRecord]]>([:])

    package init() {}

    func append(_ record: KafkaProducerRecord, timestamp fallback: Int64) -> KafkaConsumerRecord {
        topics.withLock { topics in
            let offset = Int64(topics[record.topic]?.count ?? 0)
            let stored = KafkaConsumerRecord(
                topic: record.topic,
                partition: record.partition ?? 0,
                offset: offset,
                key: record.key,
                value: record.value,
                headers: record.headers,
                timestamp: record.timestamp ?? fallback
            )
            topics[record.topic, default: []].append(stored)
            return stored
        }
    }

    package func records(_ topic: String, from offset: Int) -> [KafkaConsumerRecord] {
        topics.withLock { topics in
            let all = topics[topic] ?? []
            return offset < all.count ? Array(all[offset...]) : []
        }
    }

    var names: [String] { topics.withLock { Array($0.keys) } }
}

/// Collects a task's output into ``InMemoryTopics`` at once; nothing can fail to deliver.
package final class InMemoryRecordCollector: RecordCollector, Sendable {
    private let topics: InMemoryTopics
    private let clock: any WallClock

    package init(topics: InMemoryTopics, clock: any WallClock) {
        self.topics = topics
        self.clock = clock
    }

    package func send(_ record: KafkaProducerRecord, from source: RecordMetadata?, delivered: (@Sendable (Int64) -> Void)?) async throws {
        let stored = topics.append(record, timestamp: clock.now())
        delivered?(stored.offset)
    }

    package func flush() async throws -> [FailedDelivery] { [] }
}
