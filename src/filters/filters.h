/*
 * Filters (codecs) and TileDB's chunked tile format.
 *
 * A filtered tile is `u64 nchunks` then per chunk `u32 orig_len | u32 filtered_len |
 * u32 meta_len | meta | data` (docs/format.md §4). A pipeline runs its
 * filters first to last on each chunk when writing and last to first when reading; each
 * filter maps (metadata, data) parts to new (metadata, data) parts.
 *
 * Reads are the hot path: rdi_tile_unfilter decodes straight into the caller's buffer and
 * uses the per-thread scratch (codec contexts, temporaries) it is given, so a reader can
 * decode many tiles in parallel with one scratch per worker and no allocation per chunk.
 */
#ifndef RDI_FILTERS_H
#define RDI_FILTERS_H

#include "core/core.h"

/* Per-thread reusable state: codec contexts and temporary buffers. Not thread-safe;
 * one per worker. */
typedef struct rdi_scratch rdi_scratch;
radi_status rdi_scratch_create(rdi_scratch **out);
void rdi_scratch_free(rdi_scratch *s);

/* Serialized pipeline: `u32 max_chunk_size | u32 nfilters | (u8 type | u32 len | opts)*`.
 * version: the array format version (options differ: DELTA reinterpret byte from v19,
 * DOUBLE_DELTA from v20). Unknown filter types are RADI_E_UNSUPPORTED naming the type. */
radi_status rdi_pipeline_write(const radi_filter_list *fl, uint32_t version, rdi_buf *out);
radi_status rdi_pipeline_read(rdi_rd *r, uint32_t version, radi_filter_list *out);
/* Whether the pipeline can be applied by radi (every filter implemented). */
radi_status rdi_pipeline_check(const radi_filter_list *fl, radi_datatype type, const char *what);

/* Filters a tile of fixed-size cells (cell_size bytes each; chunks hold whole cells) and
 * appends the chunked tile to out. `type` is the tile's datatype (delta filters and
 * shuffles need it). scratch may be NULL. */
radi_status rdi_tile_filter(const radi_filter_list *fl, radi_datatype type, uint32_t cell_size,
                            const void *data, uint64_t len, rdi_scratch *scratch, rdi_buf *out);

/* Filters a var-size data tile: cells never straddle chunks (TileDB's rule, format.md §4).
 * offsets: ncells u64 start offsets of the cells within data. */
radi_status rdi_tile_filter_var(const radi_filter_list *fl, radi_datatype type, const void *data,
                                uint64_t len, const uint64_t *offsets, uint64_t ncells,
                                rdi_scratch *scratch, rdi_buf *out);

/* Sum of the chunks' orig_len (the unfiltered tile size), validating the chunk headers
 * against in_len. `what` names the tile in errors (e.g. "…/a0.tdb tile 3"). */
radi_status rdi_tile_unfiltered_size(const void *in, uint64_t in_len, const char *what,
                                     uint64_t *out);

/* Unfilters a chunked tile into out, which must be exactly out_len bytes, the unfiltered
 * size. Any inconsistency (chunk sizes, codec failure, sizes not summing to out_len) is
 * RADI_E_CORRUPT or RADI_E_CODEC with `what` in the message. */
radi_status rdi_tile_unfilter(const radi_filter_list *fl, radi_datatype type, uint32_t cell_size,
                              const void *in, uint64_t in_len, void *out, uint64_t out_len,
                              rdi_scratch *scratch, const char *what);

#endif
