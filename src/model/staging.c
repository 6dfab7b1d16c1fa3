/*
 * Staging objects of streaming writes (docs/dataset.md §8.7). A streaming writer builds
 * the new object at <target>.radi-tmp-<hex>, beside the target, and publishes it with
 * radi_dataset_move. While it works it holds the writer lock <staging>.lock (the kernel's
 * lock locally, a renewed lease on S3: both end with the writer's process), so a staging
 * object whose lock can be taken belongs to a dead writer: radi repair and the next
 * streaming writer to the same target remove it. The lock is beside the staging object,
 * not inside: the dataset operations inside the staging object take its own
 * __radi_lock, and a move must not carry the lock along.
 */
#include <stdlib.h>
#include <string.h>

#include "model/dataset.h"

#define STAGING_MARK ".radi-tmp-"
#define LOCK_SUFFIX ".lock"

struct radi_staging {
    radi_ctx *ctx;
    char *uri;
    char *lock;
    rdi_lock_hold hold;
};

/* Length of the <hex> label when name is <base>.radi-tmp-<hex>[.lock], else 0. */
static size_t staging_label(const char *name, const char *base, int *is_lock)
{
    size_t nb = strlen(base), nm = strlen(STAGING_MARK);
    if (strncmp(name, base, nb) || strncmp(name + nb, STAGING_MARK, nm)) return 0;
    const char *p = name + nb + nm;
    size_t n = strspn(p, "0123456789abcdef");
    *is_lock = !strcmp(p + n, LOCK_SUFFIX);
    return n && n <= 64 && (!p[n] || *is_lock) ? n : 0;
}

/* Splits uri (normalized) into its parent and last component (both malloc'd). */
static radi_status split_uri(const char *uri, char **parent, char **base)
{
    *parent = *base = NULL;
    const char *slash = strrchr(uri, '/');
    if (!slash || !slash[1] || (slash > uri && slash[-1] == '/'))
        return rdi_error(RADI_E_INVALID, "%s: needs a parent directory or bucket to stage beside", uri);
    *parent = slash == uri ? rdi_strdup("/") : rdi_asprintf("%.*s", (int)(slash - uri), uri);
    *base = rdi_strdup(slash + 1);
    return *parent && *base ? RADI_OK : RADI_E_NOMEM;
}

radi_status radi_staging_begin(radi_ctx *ctx, const char *target_uri, radi_staging **out)
{
    if (out) *out = NULL;
    if (!ctx || !target_uri || !out) return rdi_error(RADI_E_INVALID, "radi_staging_begin: NULL argument");
    char *root = rdi_uri_normalize(target_uri);
    if (!root) return RADI_E_NOMEM;
    radi_staging *st = calloc(1, sizeof *st);
    radi_status s = st ? RADI_OK : RADI_E_NOMEM;
    /* A repairer may remove a free lock object between our open and our lock (POSIX):
     * the lock we then hold is on a removed file. Holding it, check it is still there;
     * a fresh name otherwise. */
    for (int attempt = 0; s == RADI_OK && attempt < 8 && !st->hold.token; attempt++) {
        char label[33];
        s = rdi_random_label(label);
        if (s != RADI_OK) break;
        free(st->uri);
        free(st->lock);
        st->uri = rdi_asprintf("%s" STAGING_MARK "%.12s", root, label);
        st->lock = rdi_asprintf("%s" STAGING_MARK "%.12s" LOCK_SUFFIX, root, label);
        if (!st->uri || !st->lock) {
            s = RADI_E_NOMEM;
            break;
        }
        s = rdi_vfs_lock(ctx->vfs, st->lock, 0 /* the backend's lease */, 0, &st->hold);
        int kind = 0;
        if (s == RADI_OK) s = rdi_vfs_kind(ctx->vfs, st->lock, &kind);
        if (s == RADI_OK && kind != 1) {
            rdi_vfs_unlock(&st->hold);
            memset(&st->hold, 0, sizeof st->hold);
        }
        if (s == RADI_E_BUSY) { /* a fresh name is never busy; another try */
            rdi_error_clear();
            s = RADI_OK;
        }
    }
    if (s == RADI_OK && !st->hold.token)
        s = rdi_error(RADI_E_IO, "%s: could not take the lock of a staging object beside it", root);
    if (s == RADI_OK) {
        st->ctx = ctx;
        *out = st;
    } else if (st) {
        free(st->uri);
        free(st->lock);
        free(st);
    }
    free(root);
    return s;
}

const char *radi_staging_uri(const radi_staging *st)
{
    return st ? st->uri : NULL;
}

/* Removes the staging object at uri and its lock object; the caller holds the lock. */
static radi_status remove_staging(rdi_vfs *vfs, const char *uri, const char *lock)
{
    int kind = 0;
    radi_status s = rdi_vfs_kind(vfs, uri, &kind);
    if (s == RADI_OK && kind == 2) s = rdi_vfs_remove_dir(vfs, uri);
    else if (s == RADI_OK && kind == 1) s = rdi_vfs_remove_file(vfs, uri);
    /* The lock object goes last and while held: whoever finds a staging object finds
     * its lock object beside it. */
    if (s == RADI_OK) s = rdi_vfs_remove_file(vfs, lock);
    return s;
}

radi_status radi_staging_end(radi_staging *st)
{
    if (!st) return RADI_OK;
    radi_status s = remove_staging(st->ctx->vfs, st->uri, st->lock);
    s = rdi_ds_unlock(&st->hold, s);
    free(st->uri);
    free(st->lock);
    free(st);
    return s;
}

/* One sibling: take its lock without waiting; free means its writer is dead. *removed
 * is set when a staging object was removed. */
static radi_status reap(rdi_vfs *vfs, const char *parent, const char *name, size_t name_len, int *removed)
{
    *removed = 0;
    char *uri = rdi_asprintf("%s/%.*s", parent, (int)name_len, name);
    char *lock = rdi_asprintf("%s/%.*s" LOCK_SUFFIX, parent, (int)name_len, name);
    radi_status s = uri && lock ? RADI_OK : RADI_E_NOMEM;
    rdi_lock_hold hold = {0};
    if (s == RADI_OK) s = rdi_vfs_lock(vfs, lock, 0, 0, &hold);
    if (s == RADI_E_BUSY) { /* a live writer's */
        rdi_error_clear();
        s = RADI_OK;
    } else if (s == RADI_OK) {
        int kind = 0;
        s = rdi_vfs_kind(vfs, uri, &kind);
        if (s == RADI_OK) {
            *removed = kind != 0;
            s = remove_staging(vfs, uri, lock);
        }
        s = rdi_ds_unlock(&hold, s);
    }
    free(uri);
    free(lock);
    return s;
}

radi_status rdi_remove_dead_stagings(radi_ctx *ctx, const char *root, char **removed, size_t *count)
{
    if (removed) *removed = NULL;
    *count = 0;
    char *parent = NULL, *base = NULL;
    radi_status s = split_uri(root, &parent, &base);
    rdi_dirlist l = {0};
    if (s == RADI_OK) s = rdi_vfs_ls(ctx->vfs, parent, &l);
    char *list = NULL;
    for (size_t i = 0; s == RADI_OK && i < l.n; i++) {
        const char *name = l.items[i].name;
        int is_lock = 0;
        size_t n = staging_label(name, base, &is_lock);
        if (!n) continue;
        size_t name_len = strlen(base) + strlen(STAGING_MARK) + n;
        /* A lock object with its staging object listed is handled with that one. */
        if (is_lock && i > 0 && strlen(l.items[i - 1].name) == name_len &&
            !strncmp(l.items[i - 1].name, name, name_len))
            continue;
        int gone = 0;
        s = reap(ctx->vfs, parent, name, name_len, &gone);
        if (s == RADI_OK && gone) {
            char *more = rdi_asprintf("%s%s%s/%.*s", list ? list : "", list ? "\n" : "", parent,
                                      (int)name_len, name);
            free(list);
            list = more;
            if (!list) s = RADI_E_NOMEM;
            (*count)++;
        }
    }
    rdi_dirlist_free(&l);
    free(parent);
    free(base);
    if (s == RADI_OK && removed) *removed = list;
    else free(list);
    return s;
}

radi_status radi_dataset_remove_dead_stagings(radi_ctx *ctx, const char *target_uri, char **removed)
{
    if (removed) *removed = NULL;
    if (!ctx || !target_uri) return rdi_error(RADI_E_INVALID, "radi_dataset_remove_dead_stagings: NULL argument");
    char *root = rdi_uri_normalize(target_uri);
    if (!root) return RADI_E_NOMEM;
    size_t n = 0;
    radi_status s = rdi_remove_dead_stagings(ctx, root, removed, &n);
    free(root);
    return s;
}
