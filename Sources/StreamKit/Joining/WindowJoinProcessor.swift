/// Joins the records of several inputs on their key within time windows: the operator behind two-way inner,
/// left and outer joins and multi-way inner and outer joins.
///
/// Every accepted record is filed in one window store (duplicates kept) and looks there for the other inputs'
/// records in its window; with a record from each it forwards every combination, in input order. Inputs that
/// emit unmatched records park them in an ``UnmatchedBuffer`` until a combination takes them or their window
/// closes — by stream time or by the wall-clock deadline — and then go out with whatever else of their key
/// waits in that window. Once an unmatched record went out, it joins nothing more. A record older than the
/// store keeps (its window and every window it could join closed) is dropped as late.
///
/// A record identical to one filed already (same key, timestamp, input and value) is not filed again: under
/// at-least-once, records after the last commit are read again when a task restarts, and the state restored
/// from the changelog holds them already, so a waiting record must not wait twice (and go out twice).
final class WindowJoinProcessor<Key: Sendable, Output: Sendable>: Processor {
    typealias InKey = Key
    typealias InValue = JoinArrival
    typealias OutKey = Key
    typealias OutValue = Output
    typealias Joiner = @Sendable (Key, [(any Sendable)?]) async throws -> Output

    private let shape: JoinShape
    private let codecs: [JoinInputCodec]
    private let joiner: Joiner
    private let storeName: String
    private let bufferName: String?
    private let keySerde: Serde<Key>
    private var context: ProcessorContext<Key, Output>!
    private var store: WindowStore<Key, [UInt8]>!
    private var buffer: UnmatchedBuffer?
    private var closing: WindowCloser<UnmatchedBuffer.Entry>

    init(shape: JoinShape, codecs: [JoinInputCodec], storeName: String, bufferName: String?, keySerde: Serde<Key>, joiner: @escaping Joiner) {
        self.shape = shape
        self.codecs = codecs
        self.joiner = joiner
        self.storeName = storeName
        self.bufferName = bufferName
        self.keySerde = keySerde
        self.closing = WindowCloser(deadline: 0)
    }

    func initialize(context: ProcessorContext<Key, Output>) throws {
        self.context = context
        store = try context.windowStore(named: storeName)
        guard let bufferName else { return }
        let buffer = UnmatchedBuffer(store: try context.keyValueStore(named: bufferName))
        self.buffer = buffer
        // Records restored from the changelog still wait: they close by stream time or by the deadline they had.
        let now = context.wallClockTime
        for (entry, deadline) in try buffer.all() {
            closing.open(entry, closesAt: shape.closeTime(input: entry.input, time: entry.time), deadline: deadline ?? now + shape.deadline(input: entry.input))
        }
        context.schedule(every: .milliseconds(100), on: .wallClockTime) { [unowned self] _ in try await self.emitClosed() }
    }

    func process(_ record: Record<Key, JoinArrival>) async throws {
        if buffer != nil { try await emitClosed() }
        let input = record.value.input
        let time = record.timestamp
        let streamTime = context.streamTime
        let keyBytes = try keySerde.storeKey(record.key, store: storeName)
        guard time + shape.retention > streamTime else {
            context.recordLateDrop(record.metadata)
            return
        }
        let own = UnmatchedBuffer.Entry(key: keyBytes, time: time, input: input)
        let closed = shape.closeTime(input: input, time: time) <= streamTime || closing.isClosed(own)
        let stored = Self.stored(input: input, record.value.bytes)
        var (partners, filed) = try partners(keyBytes: keyBytes, input: input, time: time, streamTime: streamTime, stored: stored)
        if !filed { try await store.put(keyBytes: keyBytes, stored, at: time) }
        partners[input] = [(time, record.value.value)]
        if partners.allSatisfy({ !$0.isEmpty }) {
            try await forwardCombinations(of: record.key, partners, headers: record.headers)
            for (other, records) in partners.enumerated() where other != input && shape.emitsUnmatched[other] {
                for time in Set(records.map(\.time)) {
                    let entry = UnmatchedBuffer.Entry(key: keyBytes, time: time, input: other)
                    if try await buffer?.take(entry) != nil { closing.forget(entry) }
                }
            }
        } else if shape.emitsUnmatched[input], let buffer {
            if closed {
                // Out of order past its own window: nothing more can join it, so it goes out now.
                try await forwardCombinations(of: record.key, partners, headers: record.headers)
            } else if !filed {
                let deadline = context.wallClockTime + shape.deadline(input: input)
                try await buffer.append(record.value.bytes, to: own, headers: record.headers, deadline: deadline)
                closing.open(own, closesAt: shape.closeTime(input: input, time: time), deadline: deadline)
            }
        }
    }

    /// The other inputs' records in the window of `input`'s record at `time`, per input (unmatched records
    /// whose own window closed are no longer partners), and whether the record, `stored`, was filed already.
    private func partners(
        keyBytes: [UInt8],
        input: Int,
        time: Int64,
        streamTime: Int64,
        stored: [UInt8]
    ) throws -> (partners: [[(time: Int64, value: any Sendable)]], filed: Bool) {
        var partners = [[(time: Int64, value: any Sendable)]](repeating: [], count: shape.inputs)
        var filed = false
        let reach = shape.reach[input]
        for entry in try store.fetch(keyBytes: keyBytes, from: time - reach.before, to: time + reach.after) {
            let other = Int(entry.value[0])
            guard other != input else {
                if entry.time == time, entry.value == stored { filed = true }
                continue
            }
            if shape.emitsUnmatched[other] {
                let closed = shape.closeTime(input: other, time: entry.time) <= streamTime
                guard !closed, !closing.isClosed(UnmatchedBuffer.Entry(key: keyBytes, time: entry.time, input: other)) else { continue }
            }
            partners[other].append((entry.time, try decode(input: other, entry.value)))
        }
        return (partners, filed)
    }

    /// Forwards every combination of one record per input (`nil` where an input has none), in input order,
    /// stamped with the latest of its records' times.
    private func forwardCombinations(of key: Key, _ records: [[(time: Int64, value: any Sendable)]], headers: [KafkaHeader]) async throws {
        var combination: [(any Sendable)?] = []
        func walk(_ input: Int, _ latest: Int64) async throws {
            guard input < records.count else {
                let output = try await joiner(key, combination)
                try await context.forward(Record(key: key, value: output, timestamp: latest, headers: headers))
                return
            }
            if records[input].isEmpty {
                combination.append(nil)
                try await walk(input + 1, latest)
                combination.removeLast()
                return
            }
            for record in records[input] {
                combination.append(record.value)
                try await walk(input + 1, max(latest, record.time))
                combination.removeLast()
            }
        }
        try await walk(0, .min)
    }

    /// Forwards every buffered record whose window closed, by stream time or by its deadline, together with the
    /// other unmatched records of its key in that window.
    private func emitClosed() async throws {
        guard let buffer else { return }
        for entry in closing.takeClosed(streamTime: context.streamTime, now: context.wallClockTime) {
            guard let waiting = try await buffer.take(entry) else { continue }
            let key = try keySerde.deserialize(entry.key)
            var records = [[(time: Int64, value: any Sendable)]](repeating: [], count: shape.inputs)
            records[entry.input] = try waiting.values.map { (entry.time, try codecs[entry.input].decode($0)) }
            let reach = shape.reach[entry.input]
            var seen: Set<UnmatchedBuffer.Entry> = []
            for stored in try store.fetch(keyBytes: entry.key, from: entry.time - reach.before, to: entry.time + reach.after) {
                let other = UnmatchedBuffer.Entry(key: entry.key, time: stored.time, input: Int(stored.value[0]))
                guard other.input != entry.input, seen.insert(other).inserted, let partner = try await buffer.take(other) else { continue }
                closing.close(other, closesAt: shape.closeTime(input: other.input, time: other.time))
                records[other.input] += try partner.values.map { (other.time, try codecs[other.input].decode($0)) }
            }
            try await forwardCombinations(of: key, records, headers: waiting.headers)
        }
    }

    private func decode(input: Int, _ stored: [UInt8]) throws -> any Sendable {
        try codecs[input].decode(stored[1] == 0 ? nil : Array(stored[2...]))
    }

    /// The join store's value: the input, whether the value is present, and its bytes.
    private static func stored(input: Int, _ bytes: [UInt8]?) -> [UInt8] {
        [UInt8(input), bytes == nil ? 0 : 1] + (bytes ?? [])
    }
}
