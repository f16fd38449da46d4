// What RocksDB's C API (7.8) lacks for a process-wide memory bound: a write-buffer manager that charges every
// store's memtables to the shared block cache, as Kafka Streams' BoundedMemoryRocksDBConfig does.
#ifndef STREAMKIT_ROCKSDB_MEMORY_H
#define STREAMKIT_ROCKSDB_MEMORY_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rocksdb_options_t;
struct rocksdb_cache_t;
typedef struct streamkit_write_buffer_manager streamkit_write_buffer_manager;

/// An LRU cache of `capacity` bytes whose high-priority pool (index and filter blocks) may use
/// `high_priority_ratio` of it. Destroy it with `rocksdb_cache_destroy`.
struct rocksdb_cache_t *streamkit_cache_create_lru(size_t capacity, double high_priority_ratio);

/// A manager that lets all memtables together use at most `bytes`, charged to `cache` (so that the cache's
/// capacity bounds memtables, data, index and filter blocks together).
streamkit_write_buffer_manager *streamkit_write_buffer_manager_create(size_t bytes, struct rocksdb_cache_t *cache);
void streamkit_write_buffer_manager_destroy(streamkit_write_buffer_manager *manager);
/// Bytes of memtable memory in use across every database sharing the manager.
size_t streamkit_write_buffer_manager_memory_usage(streamkit_write_buffer_manager *manager);
/// Makes a database opened with `options` share the manager.
void streamkit_options_set_write_buffer_manager(struct rocksdb_options_t *options, streamkit_write_buffer_manager *manager);
/// Keeps index and filter blocks in the cache's high-priority pool and pins the top level of partitioned ones.
void streamkit_options_set_bounded_table(struct rocksdb_options_t *options, struct rocksdb_cache_t *cache);

#ifdef __cplusplus
}
#endif

#endif
