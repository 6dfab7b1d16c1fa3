/* The context: configuration, storage backends and the shared thread pool. */
#ifndef RDI_CTX_H
#define RDI_CTX_H

#include "core/core.h"
#include "core/pool.h"
#include "core/tile_cache.h"
#include "vfs/vfs.h"

/* Bytes of decoded tiles a context keeps by default (option tile_cache_size, radi.h):
 * 512 int16 tiles of 64^3, all the tiles of ~10 BraTS-sized volumes. A bound: memory is
 * taken only as tiles are decoded. */
#define RDI_TILE_CACHE_DEFAULT ((uint64_t)256 << 20)

/* Immutable once radi_ctx_create_with_options returns, so threads share it freely (the
 * tile cache locks inside). */
struct radi_ctx {
    radi_config config;
    rdi_vfs *vfs;     /* local backend, plus the S3 backend built from the options */
    rdi_pool *pool;   /* config.concurrency threads; used for I/O and (de)compression */
    uint32_t lock_wait_ms; /* how long a dataset writer waits for the lock (option
                            * dataset.lock_wait_ms, default 30 s) */
    pid_t pid;             /* the creating process; elsewhere (after fork) calls fail */
    /* Decoded tiles kept between radi_read_patches calls (option tile_cache_size,
     * default RDI_TILE_CACHE_DEFAULT); NULL when the option is 0. */
    rdi_tile_cache *tile_cache;
};

/* RADI_E_FORKED unless the calling process created ctx (radi.h, "Fork"). */
static inline radi_status rdi_ctx_check(const radi_ctx *ctx)
{
    return getpid() == ctx->pid ? RADI_OK : rdi_forked_error((long)ctx->pid);
}

/* RADI_E_INVALID, naming the field, unless every field of c is in range. */
radi_status rdi_config_check(const radi_config *c);

#endif
