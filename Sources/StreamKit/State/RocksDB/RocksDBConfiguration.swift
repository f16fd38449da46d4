import CRocksDB
import CRocksDBMemory

/// One memory budget for every RocksDB store of the process, and the format they share.
///
/// Everything RocksDB keeps in memory is charged to one LRU cache of ``memoryBytes``: data blocks, index and
/// filter blocks (in its high-priority part), and the memtables of all stores, which may take at most
/// ``writeBufferBytes`` of it together; when they reach that, the largest is flushed to disk. So the process
/// holds about ``memoryBytes`` of RocksDB memory however many stores and tasks it runs (a little more while
/// an iterator pins blocks). Data is compressed with LZ4.
///
/// Window and session stores on disk also keep their newest entries in memory, up to ``recentEntryBytes`` for
/// all of them together, so that fetching one key's recent entries (what joins and session merges do for each
/// record) needs no RocksDB iterator.
///
/// The default budget, ``shared``, is 64 MiB of which memtables may use 16 MiB, and 32 MiB of recent entries;
/// give an application its own with ``StreamsConfiguration/rocksDB``.
///
/// `@unchecked Sendable`: the cache and the write-buffer manager are thread-safe inside RocksDB and never
/// change after creation.
public final class RocksDBConfiguration: @unchecked Sendable {
    /// 64 MiB in all, memtables at most 16 MiB of it.
    public static let shared = RocksDBConfiguration()

    /// The cap on RocksDB memory for every store opened with this configuration.
    public let memoryBytes: Int
    /// The part of ``memoryBytes`` memtables may use together.
    public let writeBufferBytes: Int
    /// The size of one store's memtable before it is flushed (each store has up to two).
    public let memtableBytes: Int
    /// The memory window and session stores may use together for copies of their newest entries.
    public var recentEntryBytes: Int { recentEntries.limit }
    let recentEntries: RecentEntriesBudget
    private let cache: OpaquePointer
    private let writeBufferManager: OpaquePointer

    /// - Parameters:
    ///   - memoryBytes: the cap on RocksDB memory for every store opened with this configuration.
    ///   - writeBufferBytes: how much of it memtables may use together.
    ///   - memtableBytes: one store's memtable size.
    ///   - recentEntryBytes: the memory window and session stores may use together for their newest entries
    ///     (beside `memoryBytes`); 0 keeps none.
    public init(memoryBytes: Int = 64 << 20, writeBufferBytes: Int = 16 << 20, memtableBytes: Int = 4 << 20, recentEntryBytes: Int = 32 << 20) {
        precondition(writeBufferBytes <= memoryBytes, "the write buffers are part of the memory budget")
        self.memoryBytes = memoryBytes
        self.writeBufferBytes = writeBufferBytes
        self.memtableBytes = memtableBytes
        self.recentEntries = RecentEntriesBudget(limit: recentEntryBytes)
        cache = streamkit_cache_create_lru(memoryBytes, 0.1)
        writeBufferManager = streamkit_write_buffer_manager_create(writeBufferBytes, cache)
    }

    deinit {
        streamkit_write_buffer_manager_destroy(writeBufferManager)
        rocksdb_cache_destroy(cache)
    }

    /// Bytes charged to the shared cache now: blocks read, index and filter blocks, and memtables.
    public var memoryUsage: Int { rocksdb_cache_get_usage(cache) }

    /// Bytes of recent entries held in memory across the window and session stores.
    public var recentEntryUsage: Int { recentEntries.usage }

    /// Bytes of memtables across the stores.
    public var writeBufferUsage: Int { streamkit_write_buffer_manager_memory_usage(writeBufferManager) }

    /// Options for one database; the caller destroys them.
    func makeOptions() -> OpaquePointer {
        let options = rocksdb_options_create()!
        rocksdb_options_set_create_if_missing(options, 1)
        rocksdb_options_set_compression(options, Int32(rocksdb_lz4_compression))
        rocksdb_options_set_write_buffer_size(options, memtableBytes)
        rocksdb_options_set_max_write_buffer_number(options, 2)
        streamkit_options_set_bounded_table(options, cache)
        streamkit_options_set_write_buffer_manager(options, writeBufferManager)
        return options
    }
}
