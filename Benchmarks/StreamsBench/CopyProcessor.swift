import Foundation
import StreamKit

/// The benchmark's map step: forwards each record unchanged, after an optional `await`ed delay, stamped with
/// the time it was processed (as `kafka-pipe` stamps its copies), so that throughput can be read from the
/// copies' timestamps whatever delays the consumer that counts them.
final class CopyProcessor: Processor {
    let delay: Duration?
    private var context: ProcessorContext<[UInt8]?, [UInt8]?>?

    init(delay: Duration?) { self.delay = delay }

    func initialize(context: ProcessorContext<[UInt8]?, [UInt8]?>) throws { self.context = context }

    func process(_ record: Record<[UInt8]?, [UInt8]?>) async throws {
        if let delay { try await Task.sleep(for: delay) }
        try await context?.forward(record.withTimestamp(Int64(Date().timeIntervalSince1970 * 1000)))
    }
}
