import CRocksDB
import Foundation
import Testing

@testable import StreamKit

/// The native layer links and has what the design relies on: RocksDB with LZ4, librdkafka >= 2.1 with LZ4.
@Suite struct NativeLibraryTests {
    @Test func rocksDBOpensWithLZ4Compression() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rocksdb-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let options = rocksdb_options_create()
        defer { rocksdb_options_destroy(options) }
        rocksdb_options_set_create_if_missing(options, 1)
        rocksdb_options_set_compression(options, Int32(rocksdb_lz4_compression))
        var error: UnsafeMutablePointer<CChar>?
        let db = rocksdb_open(options, directory.path, &error)
        if let error {
            Issue.record("rocksdb_open failed: \(String(cString: error))")
            rocksdb_free(error)
            return
        }
        defer { rocksdb_close(db) }
        let writeOptions = rocksdb_writeoptions_create()
        defer { rocksdb_writeoptions_destroy(writeOptions) }
        let value = String(repeating: "compressible ", count: 100)
        rocksdb_put(db, writeOptions, "k", 1, value, value.utf8.count, &error)
        #expect(error == nil)
        let flushOptions = rocksdb_flushoptions_create()
        defer { rocksdb_flushoptions_destroy(flushOptions) }
        rocksdb_flush(db, flushOptions, &error)
        #expect(error == nil)
        // RocksDB refuses to open or flush with a codec it was built without, so reaching here proves LZ4.
        let readOptions = rocksdb_readoptions_create()
        defer { rocksdb_readoptions_destroy(readOptions) }
        var length = 0
        let read = rocksdb_get(db, readOptions, "k", 1, &length, &error)
        defer { rocksdb_free(read) }
        #expect(read.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self) } == value)
    }

    @Test func librdkafkaIsNewEnoughAndHasLZ4() throws {
        let version = KafkaLibrary.version
        let parts = version.split(separator: ".").compactMap { Int($0) }
        #expect(parts.count >= 2)
        #expect(parts[0] > 2 || (parts[0] == 2 && parts[1] >= 1), "librdkafka \(version) is older than 2.1")
        #expect(KafkaLibrary.builtinFeatures.contains("lz4"))
    }
}
