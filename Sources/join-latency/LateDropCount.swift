import Metrics
import Synchronization

/// Counts the records the join dropped as late (every window they could join had closed by stream time): the
/// one reason an inner join loses a pair whose two records were both delivered. Every other metric is dropped.
final class LateDropCount: MetricsFactory, Sendable {
    private final class Handler: CounterHandler, Sendable {
        let count = Atomic<Int64>(0)
        func increment(by amount: Int64) { count.add(amount, ordering: .relaxed) }
        func reset() { count.store(0, ordering: .relaxed) }
    }

    private let handler = Handler()
    private let none = NOOPMetricsHandler.instance

    var value: Int64 { handler.count.load(ordering: .relaxed) }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        label == "streamkit_late_records_dropped_total" ? handler : none
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler { none }
    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler { none }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler { none }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { none }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}
