/* Context lifecycle and configuration defaults. Every context gets an S3 backend,
 * configured from its options and, for what they leave unset, the AWS environment. */
#include <stdlib.h>

#include "ctx/ctx.h"
#include "ctx/options.h"
#include "vfs/s3/s3.h"

void radi_config_init(radi_config *c)
{
    c->memory_budget = (uint64_t)1 << 30;
    c->concurrency = 4;
    c->format_version = 21;
}

radi_status rdi_config_check(const radi_config *c)
{
    if (c->concurrency < 1 || c->concurrency > 256)
        return rdi_error(RADI_E_INVALID, "concurrency must be 1..256, got %u", c->concurrency);
    if (c->format_version < 20 || c->format_version > 22)
        return rdi_error(RADI_E_INVALID, "format_version must be 20, 21 or 22, got %u", c->format_version);
    if (c->memory_budget < ((uint64_t)1 << 20))
        return rdi_error(RADI_E_INVALID, "memory_budget must be at least 1 MiB, got %llu bytes",
                         (unsigned long long)c->memory_budget);
    return RADI_OK;
}

/* Builds the S3 backend. Unusable settings do not fail here: resolution records them
 * in deferred_error and the backend reports them on its first call. */
static radi_status install_s3(rdi_vfs *vfs, const radi_options *opts)
{
    rdi_s3_config s3;
    rdi_s3_config_init(&s3);
    radi_status s = rdi_options_apply_s3(opts, &s3);
    /* The shared files are read through the POSIX backend, never fopen. */
    if (s == RADI_OK) s = rdi_s3_config_resolve(&s3, &rdi_vfs_posix_ops, NULL);
    void *self = NULL;
    if (s == RADI_OK) s = rdi_s3_create(&s3, &self);
    rdi_s3_config_free(&s3);
    if (s == RADI_OK) s = rdi_vfs_set_s3(vfs, &rdi_vfs_s3_ops, self);
    return s;
}

radi_status radi_ctx_create_with_options(const radi_config *config, const radi_options *opts,
                                         radi_ctx **out)
{
    if (!out) return rdi_error(RADI_E_INVALID, "radi_ctx_create: out is NULL");
    radi_config c;
    if (config) c = *config;
    else radi_config_init(&c);
    RDI_TRY(rdi_options_apply_config(opts, &c));
    RDI_TRY(rdi_config_check(&c));
    radi_ctx *ctx = rdi_calloc(1, sizeof *ctx);
    if (!ctx) return RADI_E_NOMEM;
    ctx->config = c;
    ctx->pid = getpid();
    radi_status s = rdi_options_ms(opts, "dataset.lock_wait_ms", 30000, &ctx->lock_wait_ms);
    int sync = 1;
    if (s == RADI_OK) s = rdi_options_bool(opts, "vfs.posix.sync", 1, &sync);
    uint64_t cache = 0;
    if (s == RADI_OK) s = rdi_options_bytes(opts, "tile_cache_size", RDI_TILE_CACHE_DEFAULT, &cache);
    if (s == RADI_OK && cache) s = rdi_tile_cache_create(cache, &ctx->tile_cache);
    if (s == RADI_OK) s = rdi_vfs_create(&ctx->vfs);
    /* Durable by default; vfs.posix.sync=false trades power-cut durability for speed. */
    static const rdi_posix_settings no_sync = {0};
    if (s == RADI_OK && !sync) s = rdi_vfs_set_local(ctx->vfs, &rdi_vfs_posix_ops, (void *)&no_sync);
    if (s == RADI_OK) s = rdi_pool_create(c.concurrency, &ctx->pool);
    if (s == RADI_OK) s = install_s3(ctx->vfs, opts);
    if (s != RADI_OK) {
        radi_ctx_free(ctx);
        return s;
    }
    *out = ctx;
    return RADI_OK;
}

radi_status radi_ctx_create(const radi_config *config, radi_ctx **out)
{
    return radi_ctx_create_with_options(config, NULL, out);
}

void radi_ctx_free(radi_ctx *ctx)
{
    if (!ctx) return;
    if (getpid() != ctx->pid) return; /* fork()ed child: nothing of it is ours to release */
    rdi_pool_free(ctx->pool);
    rdi_vfs_free(ctx->vfs);
    rdi_tile_cache_free(ctx->tile_cache);
    free(ctx);
}

const radi_config *radi_ctx_config(const radi_ctx *ctx) { return &ctx->config; }
