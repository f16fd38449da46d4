import Logging
import StreamKit

/// The model gateway's transactional producer under exactly-once: answers are written only inside transactions,
/// and each transaction commits the offsets of exactly the requests whose answers it holds.
///
/// Every producer call goes through one loop, in the order it was asked for, so a commit always follows the
/// answers released before it and precedes those released after. The gateway's state changes in *epochs*: when
/// a transaction is aborted, its epoch's answers still on their way here are thrown away, and the gateway
/// fetches the requests again from the committed offsets under the next epoch.
final class AnswerTransactions: Sendable {
    /// What became of a commit or an abort.
    enum Outcome: Sendable {
        case committed
        /// The transaction was aborted: its answers are gone, and the requests must be answered again.
        case aborted(reason: String)
        /// An earlier failure of the same epoch aborted the transaction already.
        case discarded
    }

    private enum Step: Sendable {
        case write([KafkaProducerRecord], epoch: Int)
        case commit([TopicPartitionOffset], epoch: Int, CheckedContinuation<Outcome, Never>)
        case abort(reason: String, epoch: Int, CheckedContinuation<Outcome, Never>)
    }

    private let configuration: KafkaProducerConfiguration
    /// How long an abort may take before the producer is replaced instead (a new producer's start aborts the
    /// transaction as well).
    static let abortTimeout: Duration = .seconds(10)
    private let logger: Logger
    private let steps: AsyncStream<Step>
    private let continuation: AsyncStream<Step>.Continuation

    /// - Parameter configuration: the producer's, with a `transactionalID` that stays the same across restarts of
    ///   the instance, so that starting fences the transaction its predecessor left open.
    init(configuration: KafkaProducerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        (steps, continuation) = AsyncStream.makeStream()
    }

    /// A producer with its transactions initialized (fencing any predecessor with the same id) and one begun.
    func makeProducer() async throws -> KafkaProducer {
        try await KafkaProducer.transactional(configuration: configuration, logger: logger)
    }

    /// Adds answers to the open transaction (they are thrown away if `epoch` was aborted meanwhile).
    func write(_ records: [KafkaProducerRecord], epoch: Int) {
        continuation.yield(.write(records, epoch: epoch))
    }

    /// Asks, before any step asked for after this call, to commit the open transaction with `offsets` (the
    /// consumer group's, checked against the consumer's generation) and begin the next one; `done` gets the
    /// outcome, ``Outcome/discarded`` after ``finish()``.
    ///
    /// Not `async`, so that a caller on an actor asks in the same step in which it took the offsets: offsets taken
    /// before a revocation, asked to be committed after it, would commit partitions another member owns by then.
    func commit(_ offsets: [TopicPartitionOffset], epoch: Int, done: CheckedContinuation<Outcome, Never>) {
        if case .terminated = continuation.yield(.commit(offsets, epoch: epoch, done)) { done.resume(returning: .discarded) }
    }

    /// Asks to abort the open transaction and begin the next one; `done` gets the outcome, ``Outcome/discarded``
    /// after ``finish()``.
    func abort(reason: String, epoch: Int, done: CheckedContinuation<Outcome, Never>) {
        if case .terminated = continuation.yield(.abort(reason: reason, epoch: epoch, done)) { done.resume(returning: .discarded) }
    }

    /// Ends ``run(producer:consumer:isStopping:)`` once the steps asked for are done.
    func finish() {
        continuation.finish()
    }

    /// Carries out the steps until ``finish()``; closes the producer (and any that replaced it) at the end.
    func run(producer first: KafkaProducer, consumer: KafkaConsumer, isStopping: @escaping @Sendable () async -> Bool) async {
        var producer: KafkaProducer? = first
        var discardedThrough = -1
        var failure: (any Error)?
        // Whether the open transaction holds writes: one left open at the end is aborted, since a broker keeps it
        // (and every reader of its partitions waiting) until its timeout.
        var written = false
        for await step in steps {
            switch step {
            case .write(let records, let epoch):
                guard epoch > discardedThrough, failure == nil, let producer else { continue }
                written = true
                for record in records {
                    do {
                        _ = try await producer.enqueue(record)
                    } catch {
                        failure = error
                        break
                    }
                }
            case .commit(let offsets, let epoch, let done):
                guard epoch > discardedThrough else {
                    done.resume(returning: .discarded)
                    continue
                }
                do {
                    guard let producer else { throw KafkaError(code: .closed, message: "no transactional producer") }
                    if let failure { throw failure }
                    if !offsets.isEmpty {
                        try await producer.sendOffsetsToTransaction(offsets, groupMetadata: try consumer.groupMetadata())
                    }
                    try await producer.commitTransaction()
                    written = false
                    try producer.beginTransaction()
                    done.resume(returning: .committed)
                } catch {
                    written = false
                    producer = await abortOrReplace(producer, isStopping: isStopping)
                    discardedThrough = epoch
                    failure = nil
                    done.resume(returning: .aborted(reason: "\(error)"))
                }
            case .abort(let reason, let epoch, let done):
                guard epoch > discardedThrough else {
                    done.resume(returning: .discarded)
                    continue
                }
                written = false
                producer = await abortOrReplace(producer, isStopping: isStopping)
                discardedThrough = epoch
                failure = nil
                done.resume(returning: .aborted(reason: reason))
            }
        }
        if written, let producer {
            do {
                try await producer.abortTransaction(timeout: Self.abortTimeout)
            } catch {
                logger.warning("the last transaction could not be aborted; the broker ends it at its timeout", metadata: ["error": "\(error)"])
            }
        }
        await producer?.close()
    }

    /// Aborts the open transaction and begins the next; a producer that cannot (fenced, or in a fatal state) is
    /// closed and replaced by a new one, tried until it works or the gateway stops (`nil` then).
    private func abortOrReplace(_ producer: KafkaProducer?, isStopping: @Sendable () async -> Bool) async -> KafkaProducer? {
        if let producer {
            do {
                try await producer.abortTransaction(timeout: Self.abortTimeout)
                try producer.beginTransaction()
                return producer
            } catch {
                logger.warning("the transaction could not be aborted; replacing the producer", metadata: ["error": "\(error)"])
                await producer.close()
            }
        }
        var attempt = 0
        while await !isStopping() {
            do {
                return try await makeProducer()
            } catch {
                attempt += 1
                logger.error("no transactional producer", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
                try? await Task.sleep(for: .milliseconds(min(200 * attempt, 5000)))
            }
        }
        return nil
    }
}
