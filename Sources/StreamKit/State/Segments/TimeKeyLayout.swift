/// How window and session stores lay out their byte keys: `[key length: u32][key][time: 8 bytes][suffix]`, so
/// that one key's entries are contiguous and ordered by time, and no key is a prefix of another's range.
///
/// Times are stored big-endian with the sign bit flipped, so that byte order is numeric order for negative
/// times too. Window stores append a sequence number (duplicates kept apart); session stores append the
/// session's start, with the end as the time.
package enum TimeKeyLayout {
    package static func encode(key: [UInt8], time: Int64, suffix: [UInt8] = []) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4 + key.count + 8 + suffix.count)
        append(UInt32(key.count), to: &bytes)
        bytes += key
        append(time: time, to: &bytes)
        bytes += suffix
        return bytes
    }

    /// The first possible layout key of `key` at `time` or later.
    package static func lowerBound(key: [UInt8], time: Int64) -> [UInt8] { encode(key: key, time: time) }

    /// Just past every layout key of `key` at `time` or earlier.
    package static func upperBound(key: [UInt8], time: Int64) -> [UInt8] {
        time == .max ? encode(key: key, time: time) + [UInt8](repeating: 0xFF, count: 16) : encode(key: key, time: time + 1)
    }

    package struct Decoded {
        package var key: [UInt8]
        package var time: Int64
        package var suffix: ArraySlice<UInt8>
    }

    package static func decode(_ bytes: [UInt8]) throws -> Decoded {
        guard bytes.count >= 12 else { throw malformed(bytes) }
        let length = Int(readUInt32(bytes, at: 0))
        guard bytes.count >= 4 + length + 8 else { throw malformed(bytes) }
        let key = Array(bytes[4..<(4 + length)])
        let time = readTime(bytes, at: 4 + length)
        return Decoded(key: key, time: time, suffix: bytes[(4 + length + 8)...])
    }

    package static func append(_ value: UInt32, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { bytes += $0 }
    }

    package static func append(time: Int64, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: (UInt64(bitPattern: time) ^ (1 << 63)).bigEndian) { bytes += $0 }
    }

    package static func readUInt32<C: Collection<UInt8>>(_ bytes: C, at offset: Int) -> UInt32 where C.Index == Int {
        (offset..<(offset + 4)).reduce(UInt32(0)) { $0 << 8 | UInt32(bytes[$1]) }
    }

    package static func readTime<C: Collection<UInt8>>(_ bytes: C, at offset: Int) -> Int64 where C.Index == Int {
        let raw = (offset..<(offset + 8)).reduce(UInt64(0)) { $0 << 8 | UInt64(bytes[$1]) }
        return Int64(bitPattern: raw ^ (1 << 63))
    }

    private static func malformed(_ bytes: [UInt8]) -> StateStoreError {
        StateStoreError(store: "(layout)", reason: "malformed time key of \(bytes.count) bytes")
    }
}
