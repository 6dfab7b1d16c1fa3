/* Context lifecycle and configuration defaults. */
#include <stdlib.h>

#include "ctx/ctx.h"

void radi_config_init(radi_config *c)
{
    c->memory_budget = (uint64_t)1 << 30;
    c->concurrency = 4;
    c->format_version = 21;
}

radi_status radi_ctx_create(const radi_config *config, radi_ctx **out)
{
    if (!out) return rdi_error(RADI_E_INVALID, "radi_ctx_create: out is NULL");
    radi_config c;
    if (config) c = *config;
    else radi_config_init(&c);
    if (c.concurrency < 1 || c.concurrency > 256)
        return rdi_error(RADI_E_INVALID, "concurrency must be 1..256, got %u", c.concurrency);
    if (c.format_version < 20 || c.format_version > 22)
        return rdi_error(RADI_E_INVALID, "format_version must be 20, 21 or 22, got %u", c.format_version);
    if (c.memory_budget < ((uint64_t)1 << 20))
        return rdi_error(RADI_E_INVALID, "memory_budget must be at least 1 MiB, got %llu bytes",
                         (unsigned long long)c.memory_budget);
    radi_ctx *ctx = rdi_calloc(1, sizeof *ctx);
    if (!ctx) return RADI_E_NOMEM;
    ctx->config = c;
    radi_status s = rdi_vfs_create(&ctx->vfs);
    if (s == RADI_OK) s = rdi_pool_create(c.concurrency, &ctx->pool);
    if (s != RADI_OK) {
        radi_ctx_free(ctx);
        return s;
    }
    *out = ctx;
    return RADI_OK;
}

void radi_ctx_free(radi_ctx *ctx)
{
    if (!ctx) return;
    rdi_pool_free(ctx->pool);
    rdi_vfs_free(ctx->vfs);
    free(ctx);
}

const radi_config *radi_ctx_config(const radi_ctx *ctx) { return &ctx->config; }
