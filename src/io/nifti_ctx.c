/* The context entry points of NIfTI I/O: the context's VFS serves the URI, so a source
 * or an export target may be anything a backend of the context handles (s3:// too). */
#include "ctx/ctx.h"
#include "io/nifti.h"

radi_status radi_nifti_open_ctx(radi_ctx *ctx, const char *uri, radi_nifti **out)
{
    if (!ctx || !uri || !out) return rdi_error(RADI_E_INVALID, "radi_nifti_open_ctx: NULL argument");
    return rdi_nifti_open_vfs(ctx->vfs, uri, out);
}

radi_status radi_nifti_write_ctx(radi_ctx *ctx, const char *uri, const radi_nifti_header *hdr, const void *data)
{
    if (!ctx || !uri || !hdr || !data) return rdi_error(RADI_E_INVALID, "radi_nifti_write_ctx: NULL argument");
    return rdi_nifti_write_vfs(ctx->vfs, uri, hdr, data);
}
