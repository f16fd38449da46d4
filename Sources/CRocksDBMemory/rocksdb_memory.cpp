#include "rocksdb_memory.h"

#include <memory>
#include <rocksdb/cache.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_buffer_manager.h>

// The C API's handles, defined exactly as in RocksDB's c.cc (7.8); they are private there, so they are
// declared again here to reach the C++ objects they wrap.
struct rocksdb_options_t {
    rocksdb::Options rep;
};
struct rocksdb_cache_t {
    std::shared_ptr<rocksdb::Cache> rep;
};

struct streamkit_write_buffer_manager {
    std::shared_ptr<rocksdb::WriteBufferManager> rep;
};

extern "C" rocksdb_cache_t *streamkit_cache_create_lru(size_t capacity, double high_priority_ratio) {
    auto cache = new rocksdb_cache_t;
    cache->rep = rocksdb::NewLRUCache(capacity, -1, false, high_priority_ratio);
    return cache;
}

extern "C" streamkit_write_buffer_manager *streamkit_write_buffer_manager_create(size_t bytes, rocksdb_cache_t *cache) {
    auto manager = new streamkit_write_buffer_manager;
    manager->rep = std::make_shared<rocksdb::WriteBufferManager>(bytes, cache->rep);
    return manager;
}

extern "C" void streamkit_write_buffer_manager_destroy(streamkit_write_buffer_manager *manager) {
    delete manager;
}

extern "C" size_t streamkit_write_buffer_manager_memory_usage(streamkit_write_buffer_manager *manager) {
    return manager->rep->memory_usage();
}

extern "C" void streamkit_options_set_write_buffer_manager(rocksdb_options_t *options, streamkit_write_buffer_manager *manager) {
    options->rep.write_buffer_manager = manager->rep;
}

extern "C" void streamkit_options_set_bounded_table(rocksdb_options_t *options, rocksdb_cache_t *cache) {
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache->rep;
    table.cache_index_and_filter_blocks = true;
    table.cache_index_and_filter_blocks_with_high_priority = true;
    table.pin_top_level_index_and_filter = true;
    options->rep.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
}
