/*
 * A bounded cache of decoded tiles shared by the threads of one context (the batch patch
 * reader's, include/radi/patches.h). Entries are keyed by the data file a tile was
 * filtered into and its index there: a fragment's files are never rewritten (a new
 * write or a consolidation makes a new fragment with a new name), so an entry stays
 * true for as long as the file exists and needs no invalidation. A tile enters on its
 * second use within a recent window (a doorkeeper, rdi_tile_cache_admit). Least recently used
 * entries are evicted once the bytes held exceed the capacity; an entry a reader has
 * pinned is unlinked at once but freed only when its last pin is released.
 */
#ifndef RDI_CORE_TILE_CACHE_H
#define RDI_CORE_TILE_CACHE_H

#include "core/core.h"

typedef struct rdi_tile_cache rdi_tile_cache;
typedef struct rdi_tile_entry rdi_tile_entry;

/* capacity: bytes of decoded tiles held at most (pinned, evicted entries aside). */
radi_status rdi_tile_cache_create(uint64_t capacity, rdi_tile_cache **out);
/* Frees every entry; no pin may be outstanding. c may be NULL. */
void rdi_tile_cache_free(rdi_tile_cache *c);
/* Whether a tile of `size` bytes may be cached at all (size <= capacity). */
int rdi_tile_cache_fits(const rdi_tile_cache *c, uint64_t size);

/* Admission, for a tile of `size` bytes not in the cache: 1 when (file, index) was
 * offered recently (since about 2 * capacity / size other offers), and the caller should
 * decode it whole and put it; else 0, and the key is remembered. A tile used once, as
 * in random patches over a dataset much larger than the cache, is so never decoded
 * whole for nothing (decoding only the chunks a box needs is about half the work).
 * Thread-safe. */
int rdi_tile_cache_admit(rdi_tile_cache *c, const char *file, uint64_t index, uint64_t size);
/* The entry of (file, index) of exactly `size` bytes, pinned and made most recent, or
 * NULL. Thread-safe. */
rdi_tile_entry *rdi_tile_cache_get(rdi_tile_cache *c, const char *file, uint64_t index, uint64_t size);
/* Inserts the decoded tile `data` (malloc'd, size bytes; ownership passes to the cache
 * in every case) under (file, index) and returns it pinned; when another thread
 * inserted that key first, data is freed and that entry is returned instead. NULL only
 * when out of memory (data freed). Thread-safe. */
rdi_tile_entry *rdi_tile_cache_put(rdi_tile_cache *c, const char *file, uint64_t index, uint8_t *data,
                                   uint64_t size);
/* The decoded bytes of a pinned entry (valid until its release). */
const uint8_t *rdi_tile_entry_data(const rdi_tile_entry *e);
/* Drops one pin (e may be NULL). Thread-safe. */
void rdi_tile_cache_release(rdi_tile_cache *c, rdi_tile_entry *e);

#endif
