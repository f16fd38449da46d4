import CRdKafka
import Foundation
import Synchronization

/// Serves a producer's callbacks (delivery reports, errors, statistics) so that delivery reports arrive as soon
/// as librdkafka has them and no thread of the cooperative pool ever blocks in librdkafka.
///
/// A dedicated thread waits in a blocking `rd_kafka_poll`. While records are being queued fast, the queueing
/// thread serves waiting callbacks itself with a non-blocking poll (``pollInline(after:)``), as librdkafka's own tools
/// do: librdkafka then frees each record on the thread that allocated it, instead of two threads contending for
/// the allocator's locks; the dedicated thread steps back meanwhile and takes over again once the queueing
/// stops.
final class RDKafkaPollThread: Sendable {
    private let client: RDKafkaClient
    private let running = Atomic<Bool>(true)
    private let inlinePolls = Atomic<UInt64>(0)
    private let exited = DispatchSemaphore(value: 0)
    /// How long the dedicated thread steps back at a time while a queueing thread polls.
    private static let backOffMicroseconds: UInt32 = 500
    /// How many steps without a poll of a queueing thread before the dedicated thread waits in librdkafka again:
    /// a queueing thread briefly descheduled does not make two threads serve (and free) records at once.
    private static let quietSteps = 4

    init(client: RDKafkaClient, name: String) {
        self.client = client
        let thread = Thread { [self] in self.loop() }
        thread.name = name
        thread.start()
    }

    private func loop() {
        var seen: UInt64 = 0
        var quiet = Self.quietSteps
        while running.load(ordering: .relaxed) {
            let polls = inlinePolls.load(ordering: .relaxed)
            if polls != seen {
                seen = polls
                quiet = 0
            }
            if quiet < Self.quietSteps {
                quiet += 1
                usleep(Self.backOffMicroseconds)
                continue
            }
            guard (try? client.withHandle { _ = rd_kafka_poll($0, 100) }) != nil else { break }
            client.context.queueSpace.pollRoundFinished()
        }
        exited.signal()
    }

    /// Serves the callbacks waiting now, without blocking, on the calling thread, which has just queued the
    /// record numbered `sequence` (a number that changes from one call to the next).
    func pollInline(after sequence: UInt64) {
        try? client.withHandle { _ = rd_kafka_poll($0, 0) }
        inlinePolls.store(sequence, ordering: .relaxed)
    }

    /// Stops the thread and waits until it has left librdkafka. Blocks for up to one poll interval: call it
    /// from a blocking executor.
    func stop() {
        guard running.exchange(false, ordering: .relaxed) else { return }
        exited.wait()
    }
}
