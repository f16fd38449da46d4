/// A store of byte keys and values ordered by key: the layer stores share, whatever holds the bytes.
package protocol BytesStore: AnyObject {
    func get(_ key: [UInt8]) throws -> [UInt8]?
    func put(_ key: [UInt8], _ value: [UInt8]) throws
    func delete(_ key: [UInt8]) throws
    /// Entries with `from <= key < to` (either bound may be absent), in key order.
    func range(from: [UInt8]?, to: [UInt8]?) throws -> [(key: [UInt8], value: [UInt8])]
    var approximateCount: Int { get }
    func flush() throws
    func close()
}

/// Bytes in memory. Point reads and writes are hash lookups; ordered scans sort the keys they return.
package final class InMemoryBytesStore: BytesStore {
    private var entries: [[UInt8]: [UInt8]] = [:]

    package init() {}

    package func get(_ key: [UInt8]) -> [UInt8]? { entries[key] }
    package func put(_ key: [UInt8], _ value: [UInt8]) { entries[key] = value }
    package func delete(_ key: [UInt8]) { entries[key] = nil }

    package func range(from: [UInt8]?, to: [UInt8]?) -> [(key: [UInt8], value: [UInt8])] {
        entries
            .filter { key, _ in
                (from.map { !key.lexicographicallyPrecedes($0) } ?? true) && (to.map { key.lexicographicallyPrecedes($0) } ?? true)
            }
            .sorted { $0.key.lexicographicallyPrecedes($1.key) }
            .map { (key: $0.key, value: $0.value) }
    }

    package var approximateCount: Int { entries.count }
    package func flush() {}
    package func close() { entries = [:] }
}
