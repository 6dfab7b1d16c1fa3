/* What is stored at a URI (docs/format.md §1), removing it, and moving it. */
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

/* On a remote backend every probe is a round trip: one listing of the URI answers all. */
static radi_status type_from_listing(radi_ctx *ctx, const char *uri, radi_object_type *out)
{
    rdi_dirlist ls = {NULL, 0};
    RDI_TRY(rdi_vfs_ls(ctx->vfs, uri, &ls));
    int schema_dir = 0, schema_file = 0, group_dir = 0, group_file = 0;
    for (size_t i = 0; i < ls.n; i++) {
        const rdi_dirent *e = &ls.items[i];
        if (e->is_dir && strcmp(e->name, SCHEMA_DIR) == 0) schema_dir = 1;
        else if (!e->is_dir && strcmp(e->name, "__array_schema.tdb") == 0) schema_file = 1;
        else if (e->is_dir && strcmp(e->name, "__group") == 0) group_dir = 1;
        else if (!e->is_dir && strcmp(e->name, "__tiledb_group.tdb") == 0) group_file = 1;
    }
    rdi_dirlist_free(&ls);
    *out = schema_dir || schema_file ? RADI_OBJECT_ARRAY
         : group_dir || group_file   ? RADI_OBJECT_GROUP
                                     : RADI_OBJECT_INVALID;
    return RADI_OK;
}

radi_status radi_object_type_of(radi_ctx *ctx, const char *uri, radi_object_type *out)
{
    if (!ctx || !uri || !out) return rdi_error(RADI_E_INVALID, "radi_object_type_of: NULL argument");
    if (rdi_vfs_flags(ctx->vfs, uri) & RDI_VFS_REMOTE) return type_from_listing(ctx, uri, out);
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

/* ---------------------------------------------------------------------- moves -- */

/* 1 for an object that publishes others (written last, removed first), else 0. */
static int publishes(const char *rel)
{
    static const char *const dirs[] = {COMMITS_DIR, META_DIR, "__group", SCHEMA_DIR};
    for (const char *p = rel; p && *p;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (!slash) return (n == 18 && memcmp(p, "__tiledb_group.tdb", 18) == 0) ||
                           (n == 18 && memcmp(p, "__array_schema.tdb", 18) == 0);
        for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
            if (strlen(dirs[i]) == n && memcmp(p, dirs[i], n) == 0) return 1;
        p = slash + 1;
    }
    return 0;
}

typedef struct move_job {
    radi_ctx *ctx;
    const char *from, *to;
    const rdi_dirlist *ls;
    const size_t *order;   /* indexes into ls, in the order of the current phase */
    int remove;            /* 0: copy from -> to; 1: remove at `from`; 2: remove at `to` */
} move_job;

static radi_status move_task(void *arg, size_t i, unsigned worker)
{
    RDI_UNUSED(worker);
    move_job *j = arg;
    const rdi_dirent *e = &j->ls->items[j->order[i]];
    const char *rel = e->name;
    char *f = rdi_path_join(j->from, rel), *t = rdi_path_join(j->to, rel);
    /* The listing's size spares S3 a HEAD per object (it picks CopyObject or a multipart copy). */
    radi_status s = !f || !t         ? RADI_E_NOMEM
                  : j->remove == 0  ? rdi_vfs_copy_sized(j->ctx->vfs, f, t, e->size)
                  : j->remove == 1  ? rdi_vfs_remove_file(j->ctx->vfs, f)
                                    : rdi_vfs_remove_file(j->ctx->vfs, t);
    free(f);
    free(t);
    return s;
}

/* Runs one phase over the objects of one rank (publishing or not), in parallel. */
static radi_status move_phase(move_job *j, int rank, size_t *order, int remove)
{
    size_t n = 0;
    for (size_t i = 0; i < j->ls->n; i++)
        if (publishes(j->ls->items[i].name) == rank) order[n++] = i;
    j->order = order;
    j->remove = remove;
    return rdi_pool_for(j->ctx->pool, n, move_task, j);
}

/* resume: `to` may already hold part of the tree (a move interrupted half-way, either
 * way): every object still at `from` is copied over it, then `from` is removed. Because
 * copies publish last and removals unpublish first, the two halves together always hold
 * the whole tree, each object identical on both sides, so finishing forward is right. */
static radi_status move_tree(radi_ctx *ctx, const char *from, const char *to, int resume)
{
    if (!(rdi_vfs_flags(ctx->vfs, from) & RDI_VFS_NO_RENAME)) return rdi_vfs_move(ctx->vfs, from, to);
    rdi_dirlist src = {NULL, 0}, dst = {NULL, 0};
    size_t *order = NULL;
    int kind = 0;
    radi_status s = RADI_OK;
    if (!resume) {
        RDI_TRY(rdi_vfs_ls_recursive(ctx->vfs, to, &dst));
        s = dst.n ? RADI_E_EXISTS : rdi_vfs_kind(ctx->vfs, to, &kind);
        if (s == RADI_OK && kind == 1) s = RADI_E_EXISTS;
        if (s == RADI_E_EXISTS) s = rdi_error(s, "%s: cannot move %s there: it already exists", to, from);
    }
    if (s == RADI_OK) s = rdi_vfs_ls_recursive(ctx->vfs, from, &src);
    if (s == RADI_OK && src.n == 0) {
        /* A single object, or nothing. */
        s = rdi_vfs_kind(ctx->vfs, from, &kind);
        if (s == RADI_OK && kind != 1) s = rdi_error(RADI_E_NOT_FOUND, "%s: nothing to move", from);
        if (s == RADI_OK) s = rdi_vfs_copy(ctx->vfs, from, to);
        if (s == RADI_OK) s = rdi_vfs_remove_file(ctx->vfs, from);
        goto out;
    }
    if (s == RADI_OK && !(order = rdi_calloc(src.n, sizeof *order))) s = RADI_E_NOMEM;
    if (s != RADI_OK) goto out;
    move_job j = {ctx, from, to, &src, NULL, 0};
    s = move_phase(&j, 0, order, 0);
    if (s == RADI_OK) s = move_phase(&j, 1, order, 0);
    if (s != RADI_OK && resume) goto out; /* the two halves are still whole together */
    if (s != RADI_OK) {
        /* Take the copies back, publishing ones first; the source was never touched. */
        char *why = rdi_strdup(radi_errmsg());
        move_phase(&j, 1, order, 2);
        move_phase(&j, 0, order, 2);
        if (why) rdi_error(s, "%s", why);
        free(why);
        goto out;
    }
    /* The target is whole: unpublish the source first, then remove its data. */
    s = move_phase(&j, 1, order, 1);
    if (s == RADI_OK) s = move_phase(&j, 0, order, 1);
    if (s != RADI_OK) s = rdi_error_wrap(s, "%s: moved to %s, but removing the original failed", from, to);
out:
    free(order);
    rdi_dirlist_free(&src);
    rdi_dirlist_free(&dst);
    return s;
}

radi_status rdi_object_move(radi_ctx *ctx, const char *from, const char *to)
{
    return move_tree(ctx, from, to, 0);
}

radi_status rdi_object_move_resume(radi_ctx *ctx, const char *from, const char *to)
{
    return move_tree(ctx, from, to, 1);
}
