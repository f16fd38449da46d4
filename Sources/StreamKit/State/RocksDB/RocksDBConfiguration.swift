import CRocksDB

/// Memory and format settings shared by RocksDB stores: one block cache for all of them, LZ4 compression, and
/// the memtable size of each store.
///
/// `@unchecked Sendable`: the cache is thread-safe inside RocksDB and never changes after creation.
public final class RocksDBConfiguration: @unchecked Sendable {
    /// The default for a process: a 64 MiB block cache, and two 8 MiB memtables per store.
    public static let shared = RocksDBConfiguration()

    public let blockCacheBytes: Int
    public let writeBufferBytes: Int
    private let cache: OpaquePointer

    public init(blockCacheBytes: Int = 64 << 20, writeBufferBytes: Int = 8 << 20) {
        self.blockCacheBytes = blockCacheBytes
        self.writeBufferBytes = writeBufferBytes
        cache = rocksdb_cache_create_lru(blockCacheBytes)
    }

    deinit { rocksdb_cache_destroy(cache) }

    /// Options for one database; the caller destroys them.
    func makeOptions() -> OpaquePointer {
        let options = rocksdb_options_create()!
        rocksdb_options_set_create_if_missing(options, 1)
        rocksdb_options_set_compression(options, Int32(rocksdb_lz4_compression))
        rocksdb_options_set_write_buffer_size(options, writeBufferBytes)
        rocksdb_options_set_max_write_buffer_number(options, 2)
        let table = rocksdb_block_based_options_create()
        rocksdb_block_based_options_set_block_cache(table, cache)
        rocksdb_block_based_options_set_cache_index_and_filter_blocks(table, 1)
        rocksdb_options_set_block_based_table_factory(options, table)
        rocksdb_block_based_options_destroy(table)
        return options
    }
}
