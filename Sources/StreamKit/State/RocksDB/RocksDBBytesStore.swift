import CRocksDB
import Foundation

/// Bytes in a RocksDB database of its own, ordered by key (bytewise).
///
/// Writes skip RocksDB's write-ahead log: a store's changelog topic is what makes it durable, as in Kafka
/// Streams. Every native handle is released by ``close()`` (and by `deinit` when a store is dropped unclosed).
package final class RocksDBBytesStore: BytesStore {
    package let path: String
    private var db: OpaquePointer?
    private let options: OpaquePointer
    private let readOptions: OpaquePointer
    private let writeOptions: OpaquePointer
    private let flushOptions: OpaquePointer

    /// Opens (or creates) the database in the directory `path`.
    ///
    /// - Throws: ``StateStoreError`` with RocksDB's reason, e.g. when another process holds the database.
    package init(path: String, configuration: RocksDBConfiguration = .shared) throws {
        self.path = path
        options = configuration.makeOptions()
        readOptions = rocksdb_readoptions_create()
        writeOptions = rocksdb_writeoptions_create()
        rocksdb_writeoptions_disable_WAL(writeOptions, 1)
        flushOptions = rocksdb_flushoptions_create()
        rocksdb_flushoptions_set_wait(flushOptions, 1)
        var error: UnsafeMutablePointer<CChar>?
        db = Self.oneAtATime { rocksdb_open(options, path, &error) }
        if let failure = Self.take(error) {
            releaseOptions()
            throw StateStoreError(store: path, reason: "cannot open RocksDB: \(failure)")
        }
    }

    deinit { close() }

    package func get(_ key: [UInt8]) throws -> [UInt8]? {
        let db = try open()
        var length = 0
        var error: UnsafeMutablePointer<CChar>?
        let value = key.withUnsafeBufferPointer { key in
            key.withMemoryRebound(to: CChar.self) { rocksdb_get(db, readOptions, $0.baseAddress, $0.count, &length, &error) }
        }
        if let failure = Self.take(error) { throw StateStoreError(store: path, reason: "get: \(failure)") }
        guard let value else { return nil }
        defer { rocksdb_free(value) }
        return Array(UnsafeRawBufferPointer(start: value, count: length))
    }

    package func put(_ key: [UInt8], _ value: [UInt8]) throws {
        let db = try open()
        var error: UnsafeMutablePointer<CChar>?
        key.withUnsafeBufferPointer { key in
            value.withUnsafeBufferPointer { value in
                key.withMemoryRebound(to: CChar.self) { key in
                    value.withMemoryRebound(to: CChar.self) { value in
                        rocksdb_put(db, writeOptions, key.baseAddress, key.count, value.baseAddress, value.count, &error)
                    }
                }
            }
        }
        if let failure = Self.take(error) { throw StateStoreError(store: path, reason: "put: \(failure)") }
    }

    package func delete(_ key: [UInt8]) throws {
        let db = try open()
        var error: UnsafeMutablePointer<CChar>?
        key.withUnsafeBufferPointer { key in
            key.withMemoryRebound(to: CChar.self) { rocksdb_delete(db, writeOptions, $0.baseAddress, $0.count, &error) }
        }
        if let failure = Self.take(error) { throw StateStoreError(store: path, reason: "delete: \(failure)") }
    }

    package func write(_ batch: [(key: [UInt8], value: [UInt8]?)]) throws {
        let db = try open()
        let writeBatch = rocksdb_writebatch_create()
        defer { rocksdb_writebatch_destroy(writeBatch) }
        for (key, value) in batch {
            key.withUnsafeBufferPointer { key in
                key.withMemoryRebound(to: CChar.self) { key in
                    if let value {
                        value.withUnsafeBufferPointer { value in
                            value.withMemoryRebound(to: CChar.self) { value in
                                rocksdb_writebatch_put(writeBatch, key.baseAddress, key.count, value.baseAddress, value.count)
                            }
                        }
                    } else {
                        rocksdb_writebatch_delete(writeBatch, key.baseAddress, key.count)
                    }
                }
            }
        }
        var error: UnsafeMutablePointer<CChar>?
        rocksdb_write(db, writeOptions, writeBatch, &error)
        if let failure = Self.take(error) { throw StateStoreError(store: path, reason: "write: \(failure)") }
    }

    package func range(from: [UInt8]?, to: [UInt8]?) throws -> [(key: [UInt8], value: [UInt8])] {
        let db = try open()
        guard let iterator = rocksdb_create_iterator(db, readOptions) else {
            throw StateStoreError(store: path, reason: "cannot create an iterator")
        }
        defer { rocksdb_iter_destroy(iterator) }
        if let from {
            from.withUnsafeBufferPointer { from in
                from.withMemoryRebound(to: CChar.self) { rocksdb_iter_seek(iterator, $0.baseAddress, $0.count) }
            }
        } else {
            rocksdb_iter_seek_to_first(iterator)
        }
        var entries: [(key: [UInt8], value: [UInt8])] = []
        while rocksdb_iter_valid(iterator) != 0 {
            var keyLength = 0
            var valueLength = 0
            let key = Array(UnsafeRawBufferPointer(start: rocksdb_iter_key(iterator, &keyLength), count: keyLength))
            if let to, !key.lexicographicallyPrecedes(to) { break }
            let value = Array(UnsafeRawBufferPointer(start: rocksdb_iter_value(iterator, &valueLength), count: valueLength))
            entries.append((key, value))
            rocksdb_iter_next(iterator)
        }
        var error: UnsafeMutablePointer<CChar>?
        rocksdb_iter_get_error(iterator, &error)
        if let failure = Self.take(error) { throw StateStoreError(store: path, reason: "range: \(failure)") }
        return entries
    }

    package var approximateCount: Int {
        guard let db, let text = rocksdb_property_value(db, "rocksdb.estimate-num-keys") else { return 0 }
        defer { rocksdb_free(text) }
        return Int(String(cString: text)) ?? 0
    }

    /// Writes the memtables to disk, so that what a checkpoint names is on disk.
    package func flush() throws {
        let db = try open()
        var error: UnsafeMutablePointer<CChar>?
        Self.oneAtATime { rocksdb_flush(db, flushOptions, &error) }
        if let failure = Self.take(error) { throw StateStoreError(store: path, reason: "flush: \(failure)") }
    }

    /// Opening, flushing and closing of every store in the process, one at a time. Stores share one cache and
    /// one write-buffer manager; with topologies running side by side, a flush of one store ran while another
    /// closed and RocksDB 7.8 crashed inside the flush (seen once in the churn test). These calls are rare
    /// (task start, commit, task close), so holding them apart costs little.
    private static let lifecycle = NSLock()

    private static func oneAtATime<T>(_ body: () -> T) -> T {
        lifecycle.lock()
        defer { lifecycle.unlock() }
        return body()
    }

    /// Closes the database and releases its handles; safe to call more than once.
    package func close() {
        guard let db else { return }
        Self.oneAtATime { rocksdb_close(db) }
        self.db = nil
        releaseOptions()
    }

    private func releaseOptions() {
        rocksdb_flushoptions_destroy(flushOptions)
        rocksdb_writeoptions_destroy(writeOptions)
        rocksdb_readoptions_destroy(readOptions)
        rocksdb_options_destroy(options)
    }

    private func open() throws -> OpaquePointer {
        guard let db else { throw StateStoreError(store: path, reason: "store is closed") }
        return db
    }

    /// RocksDB's error text, freed.
    private static func take(_ error: UnsafeMutablePointer<CChar>?) -> String? {
        guard let error else { return nil }
        defer { rocksdb_free(error) }
        return String(cString: error)
    }
}
