/* What is stored at a URI (research/tiledb-format.md §1.2), and removing it. */
#include <stdlib.h>

#include "tdb/tdb.h"

/* Whether <uri>/<child> exists with the given kind (1 file, 2 directory). */
static radi_status probe(radi_ctx *ctx, const char *uri, const char *child, int want, int *hit)
{
    char *p = rdi_path_join(uri, child);
    if (!p) return RADI_E_NOMEM;
    int kind = 0;
    radi_status s = rdi_vfs_kind(ctx->vfs, p, &kind);
    free(p);
    *hit = s == RADI_OK && kind == want;
    return s;
}

radi_status radi_object_type_of(radi_ctx *ctx, const char *uri, radi_object_type *out)
{
    if (!ctx || !uri || !out) return rdi_error(RADI_E_INVALID, "radi_object_type_of: NULL argument");
    int hit = 0;
    /* TileDB's order: array markers first, then group markers. */
    RDI_TRY(probe(ctx, uri, "__schema", 2, &hit));
    if (!hit) RDI_TRY(probe(ctx, uri, "__array_schema.tdb", 1, &hit));
    if (hit) {
        *out = RADI_OBJECT_ARRAY;
        return RADI_OK;
    }
    RDI_TRY(probe(ctx, uri, "__group", 2, &hit));
    if (!hit) RDI_TRY(probe(ctx, uri, "__tiledb_group.tdb", 1, &hit));
    *out = hit ? RADI_OBJECT_GROUP : RADI_OBJECT_INVALID;
    return RADI_OK;
}

radi_status radi_object_remove(radi_ctx *ctx, const char *uri)
{
    radi_object_type t;
    RDI_TRY(radi_object_type_of(ctx, uri, &t));
    /* Refuse plain directories: removing arbitrary trees by mistake is not recoverable. */
    if (t == RADI_OBJECT_INVALID)
        return rdi_error(RADI_E_NOT_FOUND, "%s: no array or group to remove", uri);
    return rdi_vfs_remove_dir(ctx->vfs, uri);
}
