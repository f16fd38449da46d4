import Glibc

/// A store of byte keys and values ordered by key (bytewise): the layer stores share, whatever holds the bytes.
package protocol BytesStore: AnyObject {
    func get(_ key: [UInt8]) throws -> [UInt8]?
    func put(_ key: [UInt8], _ value: [UInt8]) throws
    func delete(_ key: [UInt8]) throws
    /// Applies puts (a value) and deletes (`nil`) in order; a restoration writes its batches this way.
    func write(_ batch: [(key: [UInt8], value: [UInt8]?)]) throws
    /// Entries with `from <= key < to` (either bound may be absent), in key order.
    func range(from: [UInt8]?, to: [UInt8]?) throws -> [(key: [UInt8], value: [UInt8])]
    var approximateCount: Int { get }
    func flush() throws
    func close()
}

extension BytesStore {
    package func write(_ batch: [(key: [UInt8], value: [UInt8]?)]) throws {
        for (key, value) in batch {
            if let value { try put(key, value) } else { try delete(key) }
        }
    }
}

/// Bytewise order of byte strings (as RocksDB's default comparator), with `memcmp`.
@inline(__always)
package func compareBytes(_ a: [UInt8], _ b: [UInt8]) -> Int {
    a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            let common = min(a.count, b.count)
            if common > 0, let pa = a.baseAddress, let pb = b.baseAddress {
                let result = memcmp(pa, pb, common)
                if result != 0 { return Int(result) }
            }
            return a.count - b.count
        }
    }
}
