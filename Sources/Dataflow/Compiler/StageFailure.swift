import StreamKit

/// Why a request leaves its pipeline as an error record instead of going on: the record goes to the pipeline's
/// outputs with the header ``DataflowHeaders/error`` naming `source` and the reason as its value.
struct StageFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// The step (model) or pipeline at fault.
    var source: String
    var reason: String

    var description: String { "\(source): \(reason)" }
}

/// How often a request has entered each step, carried in the ``DataflowHeaders/visits`` header.
struct StepVisits: Sendable, Hashable {
    var counts: [String: Int64]

    init(header: String?) {
        counts = [:]
        for pair in header?.split(separator: ",") ?? [] {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, let count = Int64(parts[1]) { counts[String(parts[0])] = count }
        }
    }

    var header: String { counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") }

    /// The record entering `step` once more, or the failure when that is more than `maxRevisits` revisits.
    static func enter<V>(_ record: Record<[UInt8]?, V>, step: String, maxRevisits: Int64) -> Record<[UInt8]?, Result<V, StageFailure>> {
        var visits = StepVisits(header: record.headers.string(DataflowHeaders.visits))
        let before = visits.counts[step, default: 0]
        guard before <= maxRevisits else {
            let failure = StageFailure(
                source: step,
                reason: "the request entered step \(step) \(before + 1) times; the pipeline allows \(maxRevisits) revisits (maxStepRevisits)"
            )
            return record.withValue(.failure(failure))
        }
        visits.counts[step] = before + 1
        return record.withValue(Result<V, StageFailure>.success(record.value))
            .withHeaders(record.headers.setting(DataflowHeaders.visits, to: visits.header))
    }
}
