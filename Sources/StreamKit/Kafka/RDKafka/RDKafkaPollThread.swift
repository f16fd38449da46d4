import CRdKafka
import Foundation
import Synchronization

/// A dedicated thread that serves a producer's callbacks (delivery reports, errors, statistics) with a
/// blocking `rd_kafka_poll`, so that delivery reports arrive as soon as librdkafka has them and no thread of
/// the cooperative pool ever blocks in librdkafka.
final class RDKafkaPollThread: Sendable {
    private let client: RDKafkaClient
    private let running = Atomic<Bool>(true)
    private let exited = DispatchSemaphore(value: 0)

    init(client: RDKafkaClient, name: String) {
        self.client = client
        let thread = Thread { [self] in self.loop() }
        thread.name = name
        thread.start()
    }

    private func loop() {
        while running.load(ordering: .relaxed) {
            client.withHandle { _ = rd_kafka_poll($0, 100) }
            client.context.queueSpace.pollRoundFinished()
        }
        exited.signal()
    }

    /// Stops the thread and waits until it has left librdkafka. Blocks for up to one poll interval: call it
    /// from a blocking executor.
    func stop() {
        guard running.exchange(false, ordering: .relaxed) else { return }
        exited.wait()
    }
}
