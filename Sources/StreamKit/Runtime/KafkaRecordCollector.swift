import Synchronization

/// Sends one task's output through the application's producer and keeps count of what is unacknowledged, so
/// that a commit can wait for exactly this task's records.
final class KafkaRecordCollector: RecordCollector, Sendable {
    private struct State {
        var outstanding = 0
        var failed: [FailedDelivery] = []
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let producer: KafkaProducer
    private let state = Mutex(State())

    init(producer: KafkaProducer) { self.producer = producer }

    func send(_ record: KafkaProducerRecord, from source: RecordMetadata?, delivered: (@Sendable (Int64) -> Void)?) async throws {
        state.withLock { $0.outstanding += 1 }
        do {
            try await producer.send(record) { [self] result in
                switch result {
                case .failure(let error):
                    completed(failure: FailedDelivery(record: record, source: source, error: error))
                case .success(let report):
                    delivered?(report.offset)
                    completed(failure: nil)
                }
            }
        } catch let error as KafkaError {
            completed(failure: nil)
            throw ProductionFailure(error: error, topic: record.topic)
        }
    }

    private func completed(failure: FailedDelivery?) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            if let failure { state.failed.append(failure) }
            state.outstanding -= 1
            guard state.outstanding == 0 else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func flush() async throws -> [FailedDelivery] {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state in
                if state.outstanding == 0 { return true }
                state.waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
        return state.withLock { state in
            defer { state.failed = [] }
            return state.failed
        }
    }
}

/// A record the producer refused at once (too large, unknown topic, closed); the task hands it to the
/// production error handler.
package struct ProductionFailure: Error, Sendable, CustomStringConvertible {
    package var error: KafkaError
    package var topic: String

    package var description: String { "\(error) (writing to \(topic))" }
}
