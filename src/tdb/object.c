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
    RDI_TRY(probe(ctx, uri, SCHEMA_DIR, 2, &hit));
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

radi_status rdi_fragment_discard(radi_ctx *ctx, const char *array_uri, const char *name)
{
    char *wrt = rdi_asprintf("%s/" COMMITS_DIR "/%s.wrt", array_uri, name);
    char *dir = rdi_asprintf("%s/" FRAGMENTS_DIR "/%s", array_uri, name);
    radi_status s = wrt && dir ? rdi_vfs_remove_file(ctx->vfs, wrt) : RADI_E_NOMEM;
    if (s == RADI_OK) s = rdi_vfs_remove_dir(ctx->vfs, dir);
    free(wrt);
    free(dir);
    return s;
}

void rdi_uncreate(radi_ctx *ctx, const char *root, int whole, const char *const *children, size_t n)
{
    char *why = rdi_strdup(radi_errmsg());
    radi_status st = RADI_E_IO;
    if (whole) {
        rdi_vfs_remove_dir(ctx->vfs, root);
    } else {
        for (size_t i = 0; i < n; i++) {
            /* The first path component: "__schema/__enumerations" was made as "__schema". */
            const char *slash = strchr(children[i], '/');
            char *top = slash ? rdi_strndup(children[i], (size_t)(slash - children[i])) : rdi_strdup(children[i]);
            char *p = top ? rdi_path_join(root, top) : NULL;
            if (p) rdi_vfs_remove_dir(ctx->vfs, p);
            free(p);
            free(top);
        }
    }
    if (why) rdi_error(st, "%s", why);
    free(why);
}
