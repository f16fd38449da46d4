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
    private let onServed: @Sendable () -> Void

    /// - Parameter onServed: called on the poll thread after a poll that served at least one event.
    init(client: RDKafkaClient, name: String, onServed: @escaping @Sendable () -> Void) {
        self.client = client
        self.onServed = onServed
        let thread = Thread { [self] in self.loop() }
        thread.name = name
        thread.start()
    }

    private func loop() {
        while running.load(ordering: .relaxed) {
            let served = client.withHandle { rd_kafka_poll($0, 100) }
            if served > 0 { onServed() }
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
