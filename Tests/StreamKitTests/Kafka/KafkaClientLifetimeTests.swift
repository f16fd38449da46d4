import CRdKafka
import Dispatch
import Logging
import Synchronization
import Testing

@testable import StreamKit

/// A client's handle outlives every call that uses it: closing a consumer or producer while another thread is
/// inside librdkafka with its handle (a poll, a commit, an offsets request) must neither free the handle under
/// that call nor let a later call reach it.
@Suite(.timeLimit(.minutes(1)))
struct KafkaClientLifetimeTests {
    static var quietLogger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    @Test func destroyWaitsForTheCallUsingTheHandleAndRefusesNewCalls() async throws {
        let configuration = KafkaProducerConfiguration(bootstrapServers: ["127.0.0.1:1"])
        let client = try RDKafkaClient(kind: .producer, properties: configuration.properties, logger: Self.quietLogger, statistics: nil)
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let events = EventLog()
        let blocking = BlockingExecutor(label: "test.lease")
        let call = Task {
            try await blocking.run { () throws in
                try client.withHandle { handle in
                    entered.signal()
                    release.wait()
                    _ = rd_kafka_outq_len(handle)
                    events.append("call returned")
                }
            }
        }
        await blocking.run { entered.wait() }
        let destroy = Task {
            await client.destroy()
            events.append("destroyed")
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while !client.isDestroyed, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(client.isDestroyed)

        let refused = #expect(throws: KafkaError.self) { try client.withHandle { _ in } }
        #expect(refused?.code == .closed)

        release.signal()
        try await call.value
        await destroy.value
        #expect(events.all == ["call returned", "destroyed"])
    }

    @Test func aConsumerClosedWhilePollingInALoopEndsTheLoopWithClosed() async throws {
        for round in 0..<3 {
            let configuration = KafkaConsumerConfiguration(bootstrapServers: ["127.0.0.1:1"], groupID: "lifetime-\(round)")
            let consumer = try KafkaConsumer(configuration: configuration, logger: Self.quietLogger)
            let polling = Task {
                var polls = 0
                while true {
                    do { _ = try await consumer.poll(timeout: .milliseconds(20)) } catch { return (polls, error) }
                    polls += 1
                }
            }
            try await Task.sleep(for: .milliseconds(30))
            await consumer.close()
            let (polls, error) = await polling.value
            #expect((error as? KafkaError)?.code == .closed, "round \(round), after \(polls) polls: \(error)")
        }
    }
}

final class EventLog: Sendable {
    private let events = Mutex<[String]>([])
    func append(_ event: String) { events.withLock { $0.append(event) } }
    var all: [String] { events.withLock { $0 } }
}
