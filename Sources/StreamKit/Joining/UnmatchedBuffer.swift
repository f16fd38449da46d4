/// The records of a left, outer or multi-way outer join still waiting for a partner, kept in a key-value store
/// so that they survive a restart: one entry per key, input and time, holding that instant's values, the
/// headers of its first record (a result that goes out unmatched carries them) and its wall-clock deadline (so
/// that after a restart it goes out when it would have).
///
/// Records of one input with the same key and time have the same window, so they find partners together and
/// leave the buffer together.
struct UnmatchedBuffer {
    struct Entry: Hashable {
        var key: [UInt8]
        var time: Int64
        var input: Int

        var bytes: [UInt8] { TimeKeyLayout.encode(key: key, time: time, suffix: [UInt8(input)]) }

        init(key: [UInt8], time: Int64, input: Int) {
            self.key = key
            self.time = time
            self.input = input
        }

        init(bytes: [UInt8]) throws {
            let layout = try TimeKeyLayout.decode(bytes)
            guard let input = layout.suffix.first else {
                throw StateStoreError(store: "(join buffer)", reason: "entry key without its input")
            }
            self.init(key: layout.key, time: layout.time, input: Int(input))
        }
    }

    /// What an entry holds.
    struct Waiting {
        var headers: [KafkaHeader]
        var values: [[UInt8]?]
    }

    /// Per entry: the encoded headers, the deadline (milliseconds since 1970, big-endian), then the values.
    let store: KeyValueStore<[UInt8], [[UInt8]?]>

    /// Adds `value` to the entry; a new entry keeps `headers` and `deadline`, an existing one its own.
    func append(_ value: [UInt8]?, to entry: Entry, headers: [KafkaHeader], deadline: Int64) async throws {
        let stored = try store.get(entry.bytes) ?? [try Self.encode(headers), Self.encode(deadline)]
        try await store.put(entry.bytes, stored + [value])
    }

    /// Removes the entry, returning what it held if it was there.
    func take(_ entry: Entry) async throws -> Waiting? {
        guard let stored = try await store.delete(entry.bytes), stored.count >= 2 else { return nil }
        return Waiting(headers: try Self.decode(stored[0]), values: Array(stored.dropFirst(2)))
    }

    private static func encode(_ deadline: Int64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: deadline) >> (56 - 8 * $0)) }
    }

    private static func decodeDeadline(_ bytes: [UInt8]?) -> Int64? {
        guard let bytes, bytes.count == 8 else { return nil }
        return Int64(bitPattern: bytes.reduce(0) { $0 << 8 | UInt64($1) })
    }

    private static func encode(_ headers: [KafkaHeader]) throws -> [UInt8] {
        try Serde.byteList.serialize(headers.flatMap { [Array($0.key.utf8), $0.value] }) ?? []
    }

    private static func decode(_ bytes: [UInt8]?) throws -> [KafkaHeader] {
        let list = try Serde.byteList.deserialize(bytes ?? [])
        return stride(from: 0, to: list.count - 1, by: 2).map { KafkaHeader(key: String(decoding: list[$0] ?? [], as: UTF8.self), value: list[$0 + 1]) }
    }

    /// Every entry waiting, with its deadline.
    func all() throws -> [(entry: Entry, deadline: Int64?)] {
        try store.all().map { (try Entry(bytes: $0.key), $0.value.count >= 2 ? Self.decodeDeadline($0.value[1]) : nil) }
    }
}

extension Serde where Value == [[UInt8]?] {
    /// A list of possibly absent byte strings: per element a presence byte, a big-endian u32 length and the bytes.
    static var byteList: Serde<[[UInt8]?]> {
        Serde(name: "byte-list", serialize: { list in
            var bytes: [UInt8] = []
            for element in list {
                bytes.append(element == nil ? 0 : 1)
                TimeKeyLayout.append(UInt32(element?.count ?? 0), to: &bytes)
                bytes += element ?? []
            }
            return bytes
        }, deserializePresent: { bytes in
            var list: [[UInt8]?] = []
            var offset = 0
            while offset < bytes.count {
                guard offset + 5 <= bytes.count else { throw SerdeError(serde: "byte-list", reason: "truncated at \(offset)") }
                let present = bytes[offset] == 1
                let length = Int(TimeKeyLayout.readUInt32(bytes, at: offset + 1))
                offset += 5
                guard offset + length <= bytes.count else { throw SerdeError(serde: "byte-list", reason: "truncated at \(offset)") }
                list.append(present ? Array(bytes[offset..<(offset + length)]) : nil)
                offset += length
            }
            return list
        })
    }
}
