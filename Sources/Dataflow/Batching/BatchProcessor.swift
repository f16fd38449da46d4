import Foundation
import StreamKit

/// Gathers a step's requests into batches before the model call (`batch` of a step): `size` requests, or what
/// came within `windowMs` of the first, stacked along the first dimension into one request. A `rolling` batch
/// goes out at every request, holding it and the up to `size - 1` before it (within `windowMs`, if given).
///
/// The batch goes out under the key and headers of its newest request, with a ``DataflowHeaders/batch`` header;
/// its members are remembered in the ledger store so that the response is split back into one per request.
/// Requests whose tensors cannot be stacked on the open batch (other names, datatypes or shapes) start a new one.
/// The open batch lives in a store with its members' arrival times, so after a restart it goes out when its window
/// ends, as it would have.
final class BatchProcessor: Processor {
    typealias InKey = [UInt8]?
    typealias InValue = TensorMessage
    typealias OutKey = [UInt8]?
    typealias OutValue = TensorMessage

    private static let openKey = Array("open".utf8)
    private let batch: Pipeline.Batch
    private let openStoreName: String
    private let ledgerStoreName: String
    private var context: ProcessorContext<[UInt8]?, TensorMessage>!
    private var open: KeyValueStore<[UInt8], [BatchMember]>!
    private var ledger: KeyValueStore<[UInt8], BatchEntry>!

    init(batch: Pipeline.Batch, openStore: String, ledgerStore: String) {
        self.batch = batch
        self.openStoreName = openStore
        self.ledgerStoreName = ledgerStore
    }

    /// How long a batch waits for its answer in the ledger before it is forgotten (its model never answered).
    static let ledgerExpiry: Int64 = 600_000

    /// The store holding the open batch.
    static func openStore(_ name: String) -> StoreBuilder {
        Stores.persistentKeyValue(name, key: .bytes, value: .json([BatchMember].self))
    }

    /// The store remembering batches sent until their answers are split.
    static func ledgerStore(_ name: String) -> StoreBuilder {
        Stores.persistentKeyValue(name, key: .bytes, value: BatchEntry.serde)
    }

    func initialize(context: ProcessorContext<[UInt8]?, TensorMessage>) throws {
        self.context = context
        open = try context.keyValueStore(named: openStoreName)
        ledger = try context.keyValueStore(named: ledgerStoreName)
        if let windowMs = batch.windowMs, !batch.rolling {
            let tick = Duration.milliseconds(max(1, min(windowMs / 4, 100)))
            context.schedule(every: tick, on: .wallClockTime) { [unowned self] now in try await self.closeIfDue(now: now) }
        }
        context.schedule(every: .seconds(60), on: .wallClockTime) { [unowned self] now in try await self.forgetUnanswered(now: now) }
    }

    private func forgetUnanswered(now: Int64) async throws {
        for (id, entry) in try ledger.all() where entry.created + Self.ledgerExpiry <= now {
            _ = try await ledger.delete(id)
            context.logger.warning("batch never answered; forgotten", metadata: ["batch": "\(String(decoding: id, as: UTF8.self))"])
        }
    }

    func process(_ record: Record<[UInt8]?, TensorMessage>) async throws {
        let now = context.wallClockTime
        var members = try open.get(Self.openKey) ?? []
        let member = try BatchMember(record: record, arrival: now)
        // A request read again after a restart (its key and timestamp already in the open batch) waits once.
        if !batch.rolling, members.contains(where: { $0.key == member.key && $0.timestamp == member.timestamp }) { return }
        if let last = members.last, member.stacking == nil || last.stacking != member.stacking {
            if !batch.rolling { try await send(members, rolling: false) }
            members = []
        }
        members.append(member)
        if batch.rolling {
            if let windowMs = batch.windowMs { members.removeAll { $0.arrival + windowMs < now } }
            if let size = batch.size, members.count > Int(size) { members.removeFirst(members.count - Int(size)) }
            try await open.put(Self.openKey, members)
            try await send(members, rolling: true)
        } else if let size = batch.size, members.count >= Int(size) {
            _ = try await open.delete(Self.openKey)
            try await send(members, rolling: false)
        } else {
            try await open.put(Self.openKey, members)
        }
    }

    private func closeIfDue(now: Int64) async throws {
        guard let windowMs = batch.windowMs, let members = try open.get(Self.openKey), let first = members.first,
              first.arrival + windowMs <= now else { return }
        _ = try await open.delete(Self.openKey)
        try await send(members, rolling: false)
    }

    /// Sends one request stacking `members`, and files them in the ledger under a new batch id.
    private func send(_ members: [BatchMember], rolling: Bool) async throws {
        guard let newest = members.last else { return }
        let messages = try members.map { try $0.tensors() }
        var stacked = messages.last!
        stacked.tensors = try messages[0].tensors.indices.map { index in
            var tensor = messages[0].tensors[index]
            for message in messages.dropFirst() {
                guard index < message.tensors.count, let contents = tensor.contents.appending(message.tensors[index].contents) else {
                    throw TensorError(tensor: tensor.name, problem: "the requests of a batch cannot be stacked (other datatypes or tensors)")
                }
                tensor.contents = contents
                tensor.shape[0] += message.tensors[index].rows
            }
            return tensor
        }
        stacked.raw = messages.contains { $0.raw }
        let id = UUID().uuidString
        var filed = members
        for index in filed.indices { filed[index].message = nil }
        try await ledger.put(Array(id.utf8), BatchEntry(members: filed, rolling: rolling, created: context.wallClockTime))
        try await context.forward(Record(
            key: newest.kafkaKey,
            value: stacked,
            timestamp: newest.timestamp,
            headers: newest.kafkaHeaders.setting(DataflowHeaders.batch, to: id)
        ))
    }
}
