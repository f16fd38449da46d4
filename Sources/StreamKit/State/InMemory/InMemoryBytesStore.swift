/// Bytes in memory, ordered by key: sorted chunks of at most a thousand entries, so that a write moves a few
/// kilobytes at most and a range scan starts with two binary searches.
package final class InMemoryBytesStore: BytesStore {
    private struct Entry {
        var key: [UInt8]
        var value: [UInt8]
    }

    private let maximumChunk: Int
    /// Non-empty, each sorted, in key order.
    private var chunks: [[Entry]] = []
    private var count = 0

    /// - Parameter chunkCapacity: entries a chunk holds before it splits in two.
    package init(chunkCapacity: Int = 1024) {
        precondition(chunkCapacity >= 2)
        maximumChunk = chunkCapacity
    }

    package func get(_ key: [UInt8]) -> [UInt8]? {
        guard let (chunk, index) = find(key) else { return nil }
        return chunks[chunk][index].value
    }

    package func put(_ key: [UInt8], _ value: [UInt8]) {
        guard !chunks.isEmpty else {
            chunks = [[Entry(key: key, value: value)]]
            count = 1
            return
        }
        let chunk = min(chunkIndex(for: key), chunks.count - 1)
        let index = lowerBound(key, in: chunks[chunk])
        if index < chunks[chunk].count, compareBytes(chunks[chunk][index].key, key) == 0 {
            chunks[chunk][index].value = value
            return
        }
        chunks[chunk].insert(Entry(key: key, value: value), at: index)
        count += 1
        if chunks[chunk].count > maximumChunk {
            let upper = Array(chunks[chunk][(maximumChunk / 2)...])
            chunks[chunk].removeSubrange((maximumChunk / 2)...)
            chunks.insert(upper, at: chunk + 1)
        }
    }

    package func delete(_ key: [UInt8]) {
        guard let (chunk, index) = find(key) else { return }
        chunks[chunk].remove(at: index)
        count -= 1
        if chunks[chunk].isEmpty { chunks.remove(at: chunk) }
    }

    package func range(from: [UInt8]?, to: [UInt8]?) -> [(key: [UInt8], value: [UInt8])] {
        var chunk = from.map(chunkIndex(for:)) ?? 0
        var index = from.map { chunk < chunks.count ? lowerBound($0, in: chunks[chunk]) : 0 } ?? 0
        var entries: [(key: [UInt8], value: [UInt8])] = []
        while chunk < chunks.count {
            let entry = chunks[chunk][index]
            if let to, compareBytes(entry.key, to) >= 0 { break }
            entries.append((entry.key, entry.value))
            index += 1
            if index == chunks[chunk].count {
                chunk += 1
                index = 0
            }
        }
        return entries
    }

    package var approximateCount: Int { count }
    package func flush() {}

    package func close() {
        chunks = []
        count = 0
    }

    /// The first chunk whose last key is not below `key` (`chunks.count` when every key is below it).
    private func chunkIndex(for key: [UInt8]) -> Int {
        var low = 0
        var high = chunks.count
        while low < high {
            let middle = (low + high) / 2
            if compareBytes(chunks[middle][chunks[middle].count - 1].key, key) < 0 { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private func lowerBound(_ key: [UInt8], in chunk: [Entry]) -> Int {
        var low = 0
        var high = chunk.count
        while low < high {
            let middle = (low + high) / 2
            if compareBytes(chunk[middle].key, key) < 0 { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private func find(_ key: [UInt8]) -> (chunk: Int, index: Int)? {
        let chunk = chunkIndex(for: key)
        guard chunk < chunks.count else { return nil }
        let index = lowerBound(key, in: chunks[chunk])
        guard index < chunks[chunk].count, compareBytes(chunks[chunk][index].key, key) == 0 else { return nil }
        return (chunk, index)
    }
}
