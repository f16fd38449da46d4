import StreamKit

/// Gives each request of a batch its share of what came back for the batch: placed after a reader of a batching
/// step's outputs (rows split per request) and of the errors topic (the error copied to every request).
/// Records without a ``DataflowHeaders/batch`` header pass unchanged.
final class Unbatcher<Value: Sendable>: Processor {
    typealias InKey = [UInt8]?
    typealias InValue = Value
    typealias OutKey = [UInt8]?
    typealias OutValue = Value
    /// The values for the batch's members (all of them, or the newest alone for a rolling batch), in order.
    typealias Split = @Sendable (Value, BatchEntry) -> [Value]

    private let ledgerStoreName: String
    private let applies: @Sendable (Record<[UInt8]?, Value>) -> Bool
    private let split: Split
    private var context: ProcessorContext<[UInt8]?, Value>!
    private var ledger: KeyValueStore<[UInt8], BatchEntry>!

    /// - Parameter applies: which batched records are this ledger's (the others pass unchanged).
    init(ledgerStore: String, applies: @escaping @Sendable (Record<[UInt8]?, Value>) -> Bool = { _ in true }, split: @escaping Split) {
        self.ledgerStoreName = ledgerStore
        self.applies = applies
        self.split = split
    }

    func initialize(context: ProcessorContext<[UInt8]?, Value>) throws {
        self.context = context
        ledger = try context.keyValueStore(named: ledgerStoreName)
    }

    func process(_ record: Record<[UInt8]?, Value>) async throws {
        guard let id = record.headers.string(DataflowHeaders.batch), applies(record) else {
            try await context.forward(record)
            return
        }
        guard let entry = try await ledger.delete(Array(id.utf8)) else {
            context.logger.warning("answer to an unknown batch dropped (answered already, or forgotten)", metadata: ["batch": "\(id)"])
            return
        }
        let members = entry.rolling ? Array(entry.members.suffix(1)) : entry.members
        for (member, value) in zip(members, split(record.value, entry)) {
            // The request's own headers, and those the answer added (such as the error header).
            let own = member.kafkaHeaders
            let added = record.headers.filter { header in header.key != DataflowHeaders.batch && !own.contains { $0.key == header.key } }
            try await context.forward(Record(key: member.kafkaKey, value: value, timestamp: record.timestamp, headers: own + added))
        }
    }
}

extension BatchEntry {
    /// A batched response split by rows: each member's rows of every tensor, or, when a tensor does not have
    /// one row per request row, the same error for every member.
    func split(_ response: TensorMessage, step: String) -> [Result<TensorMessage, StageFailure>] {
        if rolling { return [.success(response)] }
        let total = members.reduce(0) { $0 + $1.rows }
        if let odd = response.tensors.first(where: { $0.shape.isEmpty || $0.rows != total }) {
            let failure = StageFailure(
                source: step,
                reason: "the model answered a batch of \(members.count) requests (\(total) rows) with \(odd.shape.first ?? 0) rows in \(odd.name); cannot split it back"
            )
            return members.map { _ in .failure(failure) }
        }
        var start: Int64 = 0
        return members.map { member in
            defer { start += member.rows }
            var part = response
            part.tensors = response.tensors.map { $0.rows(start..<(start + member.rows)) }
            return .success(part)
        }
    }
}
