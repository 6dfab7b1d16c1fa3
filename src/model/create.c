/*
 * Writes that make a new dataset (radi_dataset_create*, materialize and collection
 * copies): the new-root protocol of docs/dataset.md §8.5. The root directory is made
 * first and locked; an interrupted earlier creation found there (its journal) is rolled
 * back; the journal then records the whole root as new, so a creation killed at any
 * point is removed by the next one (or by `radi repair`) and the same call succeeds.
 */
#include <stdlib.h>
#include <string.h>

#include "model/dataset.h"
#include "model/journal.h"


/* Whether root holds a dataset with no collection and no subject: what a first ingest
 * that was interrupted (and rolled back) leaves behind. */
static int empty_dataset(radi_ctx *ctx, const char *root)
{
    radi_dataset *ds = NULL;
    if (radi_dataset_open(ctx, root, &ds) != RADI_OK) {
        rdi_error_clear();
        return 0;
    }
    int empty = !ds->standalone && ds->collections.n == 0 && ds->subjects.n == 0;
    radi_dataset_close(ds);
    return empty;
}

/* The names at root other than the lock (the journal is gone after recovery). */
static radi_status foreign_entries(radi_ctx *ctx, const char *root, size_t *n)
{
    rdi_dirlist l = {NULL, 0};
    RDI_TRY(rdi_vfs_ls(ctx->vfs, root, &l));
    *n = 0;
    for (size_t i = 0; i < l.n; i++) *n += strcmp(l.items[i].name, RDI_DS_LOCK_NAME) != 0;
    rdi_dirlist_free(&l);
    return RADI_OK;
}

radi_status rdi_new_root_begin(radi_ctx *ctx, const char *uri, const char *op, int replace_empty, rdi_new_root *r)
{
    memset(r, 0, sizeof *r);
    r->ctx = ctx;
    int kind = 0;
    radi_status s = (r->root = rdi_uri_normalize(uri)) ? rdi_vfs_kind(ctx->vfs, r->root, &kind) : RADI_E_NOMEM;
    if (s == RADI_OK && kind == 1) s = rdi_error(RADI_E_EXISTS, "%s: cannot create a dataset there: it is a file", r->root);
    /* Refused before anything is written (not even a lock file) when something is there
     * that this call may not take over: no journal of an interrupted creation, and not an
     * empty dataset this call may replace. Checked again under the lock. */
    if (s == RADI_OK && kind == 2) {
        size_t n = 0;
        char *jn = rdi_path_join(r->root, RDI_DS_JOURNAL_NAME);
        int jkind = 0;
        s = jn ? rdi_vfs_kind(ctx->vfs, jn, &jkind) : RADI_E_NOMEM;
        free(jn);
        if (s == RADI_OK && jkind == 0) s = foreign_entries(ctx, r->root, &n);
        if (s == RADI_OK && n && !(replace_empty && empty_dataset(ctx, r->root)))
            s = rdi_error(RADI_E_EXISTS, "%s: cannot create a dataset there: something already exists", r->root);
        if (s != RADI_OK) {
            free(r->root);
            r->root = NULL;
            return s;
        }
    }
    r->made_dir = kind == 0;
    char *lock = s == RADI_OK ? rdi_path_join(r->root, RDI_DS_LOCK_NAME) : NULL;
    if (s == RADI_OK && !lock) s = RADI_E_NOMEM;
    if (s == RADI_OK) s = rdi_vfs_mkdir(ctx->vfs, r->root);
    if (s == RADI_OK) {
        s = rdi_vfs_lock(ctx->vfs, lock, 0 /* the backend's lease (vfs.s3.lock_lease_ms) */, ctx->lock_wait_ms, &r->hold);
        if (s == RADI_E_BUSY)
            s = rdi_error(s, "%s: another writer is creating or changing a dataset here (waited %.1f s)", r->root,
                          ctx->lock_wait_ms / 1000.0);
        r->locked = s == RADI_OK;
    }
    free(lock);
    /* What an interrupted creation left goes first. */
    if (s == RADI_OK) s = rdi_journal_recover(ctx, r->root, NULL);
    size_t n = 0;
    if (s == RADI_OK) s = foreign_entries(ctx, r->root, &n);
    int replace = 0;
    if (s == RADI_OK && n) {
        replace = replace_empty && empty_dataset(ctx, r->root);
        if (!replace) s = rdi_error(RADI_E_EXISTS, "%s: cannot create a dataset there: something already exists", r->root);
    }
    if (s == RADI_OK) s = rdi_journal_begin(ctx, r->root, op, &r->journal);
    if (s == RADI_OK) s = rdi_journal_new(r->journal, r->root);
    if (s == RADI_OK) s = rdi_journal_open(r->journal);
    r->journaled = s == RADI_OK;
    /* An empty dataset is replaced under the journal: a crash leaves nothing or the new one. */
    if (s == RADI_OK && replace) {
        rdi_dirlist l = {NULL, 0};
        s = rdi_vfs_ls(ctx->vfs, r->root, &l);
        for (size_t i = 0; i < l.n && s == RADI_OK; i++) {
            const char *e = l.items[i].name;
            if (!strcmp(e, RDI_DS_LOCK_NAME) || !strcmp(e, RDI_DS_JOURNAL_NAME)) continue;
            char *p = rdi_path_join(r->root, e);
            s = !p ? RADI_E_NOMEM : l.items[i].is_dir ? rdi_vfs_remove_dir(ctx->vfs, p) : rdi_vfs_remove_file(ctx->vfs, p);
            free(p);
        }
        rdi_dirlist_free(&l);
    }
    if (s != RADI_OK) s = rdi_new_root_end(r, s);
    return s;
}

radi_status rdi_new_root_end(rdi_new_root *r, radi_status st)
{
    radi_ctx *ctx = r->ctx;
    /* Failed: the journal's roll-back removes everything but the lock. */
    st = rdi_journal_finish(r->journal, st);
    r->journal = NULL;
    /* Only what this call made goes: a root it created, or one it journaled. */
    int rolled_back = r->made_dir || r->journaled;
    if (st != RADI_OK && r->root && rolled_back) {
        char *jn = rdi_path_join(r->root, RDI_DS_JOURNAL_NAME);
        int kind = 0;
        rolled_back = jn && rdi_vfs_kind(ctx->vfs, jn, &kind) == RADI_OK && kind == 0;
        free(jn);
    }
    if (st != RADI_OK && r->locked && rolled_back) {
        /* Nothing of the failed creation stays, the lock and the directory included. */
        char *why = rdi_strdup(radi_errmsg());
        char *lock = rdi_path_join(r->root, RDI_DS_LOCK_NAME);
        if (lock) rdi_vfs_remove_file(ctx->vfs, lock);
        free(lock);
        rdi_vfs_unlock(&r->hold);
        r->locked = 0;
        size_t n = 1;
        if (r->made_dir && foreign_entries(ctx, r->root, &n) == RADI_OK && n == 0) rdi_vfs_remove_dir(ctx->vfs, r->root);
        if (why) rdi_error(st, "%s", why);
        free(why);
    }
    if (r->locked) st = rdi_ds_unlock(&r->hold, st);
    free(r->root);
    r->root = NULL;
    return st;
}

/* A caller's obs_meta schema must be sparse and keyed by exactly the two ASCII dims. */
static radi_status check_obs_meta_schema(const char *uri, const radi_schema *sc)
{
    radi_schema_info si;
    RDI_TRY(radi_schema_get_info(sc, &si));
    const char *want[2] = {K_SID, K_OID};
    int ok = si.type == RADI_SPARSE && si.ndim == 2;
    for (uint32_t d = 0; ok && d < 2; d++) {
        radi_dim_info di;
        RDI_TRY(radi_schema_get_dim(sc, d, &di));
        ok = strcmp(di.name, want[d]) == 0 && di.type == RADI_STRING_ASCII;
    }
    if (!ok)
        return rdi_error(RADI_E_INVALID, "%s: obs_meta schema must be sparse with dimensions obs_subject_id, obs_id "
                         "(STRING_ASCII) in that order", uri);
    return RADI_OK;
}

radi_status radi_dataset_create(radi_ctx *ctx, const char *uri)
{
    return radi_dataset_create_with_obs_meta(ctx, uri, NULL);
}

radi_status radi_dataset_create_with_obs_meta(radi_ctx *ctx, const char *uri, const radi_schema *obs_meta)
{
    if (!ctx || !uri) return rdi_error(RADI_E_INVALID, "radi_dataset_create: NULL argument");
    if (obs_meta) RDI_TRY(check_obs_meta_schema(uri, obs_meta));
    rdi_new_root nr;
    RDI_TRY(rdi_new_root_begin(ctx, uri, "create", 1, &nr));
    const char *root = nr.root;
    char *om = rdi_path_join(root, "obs_meta"), *cl = rdi_path_join(root, "collections");
    radi_schema *sc = NULL;
    /* The root's marker comes after its members exist, so 0.1.1 never opens a dataset
     * without them. */
    radi_status s = om && cl ? RADI_OK : RADI_E_NOMEM;
    if (s == RADI_OK && !obs_meta) s = rdi_ds_frame_schema(0, NULL, NULL, &sc);
    if (s == RADI_OK) s = radi_array_create(ctx, om, obs_meta ? obs_meta : sc);
    if (s == RADI_OK) s = radi_group_create(ctx, cl);
    if (s == RADI_OK) s = rdi_group_create_over(ctx, root);
    if (s == RADI_OK) s = rdi_ds_write_root(ctx, root, 0, 0);
    radi_schema_free(sc);
    free(om);
    free(cl);
    return rdi_new_root_end(&nr, s);
}
