/* The storage calls of radi.h: plain files through the context's VFS, for callers (the
 * CLI, bindings) that must not touch a filesystem themselves. */
#include <stdlib.h>

#include "ctx/ctx.h"

radi_status radi_uri_kind_of(radi_ctx *ctx, const char *uri, radi_uri_kind *out)
{
    if (!ctx || !uri || !out) return rdi_error(RADI_E_INVALID, "radi_uri_kind_of: NULL argument");
    int kind = 0;
    RDI_TRY(rdi_vfs_kind(ctx->vfs, uri, &kind));
    *out = kind == 1 ? RADI_URI_FILE : kind == 2 ? RADI_URI_DIR : RADI_URI_NONE;
    return RADI_OK;
}

radi_status radi_read_file(radi_ctx *ctx, const char *uri, uint64_t max_size, void **data, uint64_t *size)
{
    if (!ctx || !uri || !data || !size) return rdi_error(RADI_E_INVALID, "radi_read_file: NULL argument");
    uint64_t n;
    RDI_TRY(rdi_vfs_size(ctx->vfs, uri, &n));
    if ((max_size && n > max_size) || n >= SIZE_MAX)
        return rdi_error(RADI_E_INVALID, "%s: %llu bytes, more than the %llu allowed", uri, (unsigned long long)n,
                         (unsigned long long)(max_size ? max_size : SIZE_MAX - 1));
    uint8_t *p = rdi_malloc((size_t)n + 1);
    if (!p) return RADI_E_NOMEM;
    radi_status s = n ? rdi_vfs_read(ctx->vfs, uri, 0, p, n) : RADI_OK;
    if (s != RADI_OK) {
        free(p);
        return s;
    }
    p[n] = 0;
    *data = p;
    *size = n;
    return RADI_OK;
}

radi_status radi_write_file(radi_ctx *ctx, const char *uri, const void *data, uint64_t size)
{
    if (!ctx || !uri || (!data && size)) return rdi_error(RADI_E_INVALID, "radi_write_file: NULL argument");
    return rdi_vfs_write(ctx->vfs, uri, data ? data : "", size);
}

void radi_free(void *p) { free(p); }
