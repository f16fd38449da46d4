/// The records of a left, outer or multi-way outer join still waiting for a partner, kept in a key-value store
/// so that they survive a restart: one entry per key, input and time, holding that instant's values.
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

    let store: KeyValueStore<[UInt8], [[UInt8]?]>

    func values(_ entry: Entry) throws -> [[UInt8]?]? { try store.get(entry.bytes) }

    func append(_ value: [UInt8]?, to entry: Entry) async throws {
        try await store.put(entry.bytes, (try values(entry) ?? []) + [value])
    }

    /// Removes the entry, returning its values if it was there.
    func take(_ entry: Entry) async throws -> [[UInt8]?]? { try await store.delete(entry.bytes) }

    func all() throws -> [Entry] { try store.all().map { try Entry(bytes: $0.key) } }
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
