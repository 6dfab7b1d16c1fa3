/*
 * radi_dataset_repair: what the next writer does first (lock.c), on demand — take the
 * writer lock and roll back the write an interrupted process left (its intent journal,
 * journal.c). It needs no readable dataset: a creation or a rename killed half-way can
 * leave one that radi_dataset_open refuses, and this is how it becomes whole again.
 * Then it removes the staging objects dead streaming writers left beside it
 * (staging.c): a streaming write killed before it published leaves nothing at uri, only
 * such a sibling, so uri itself need not exist.
 */
#include <stdlib.h>

#include "model/dataset.h"
#include "model/journal.h"


radi_status radi_dataset_repair(radi_ctx *ctx, const char *uri, char **op)
{
    if (op) *op = NULL;
    if (!ctx || !uri) return rdi_error(RADI_E_INVALID, "radi_dataset_repair: NULL argument");
    char *root = rdi_uri_normalize(uri);
    if (!root) return RADI_E_NOMEM;
    int kind = 0;
    char *rolled = NULL;
    radi_status s = rdi_vfs_kind(ctx->vfs, root, &kind);
    if (s == RADI_OK && kind == 2) {
        char *lock = rdi_path_join(root, RDI_DS_LOCK_NAME);
        rdi_lock_hold hold = {0};
        s = lock ? rdi_vfs_lock(ctx->vfs, lock, 0 /* the backend's lease (vfs.s3.lock_lease_ms) */,
                                ctx->lock_wait_ms, &hold)
                 : RADI_E_NOMEM;
        if (s == RADI_E_BUSY)
            s = rdi_error(s, "%s: another writer is changing this dataset (waited %.1f s); it will finish or "
                             "roll back its own write",
                          root, ctx->lock_wait_ms / 1000.0);
        if (s == RADI_OK) s = rdi_ds_unlock(&hold, rdi_journal_recover(ctx, root, &rolled));
        free(lock);
    }
    size_t staged = 0;
    if (s == RADI_OK) s = rdi_remove_dead_stagings(ctx, root, NULL, &staged);
    if (s == RADI_OK && kind != 2 && !staged)
        s = rdi_error(RADI_E_NOT_FOUND, "%s: no dataset there, and no staging object of a dead streaming "
                                        "write beside it", root);
    if (s == RADI_OK && !rolled && staged) {
        rolled = rdi_strdup("streaming_write");
        if (!rolled) s = RADI_E_NOMEM;
    }
    if (s == RADI_OK && op) *op = rolled;
    else free(rolled);
    free(root);
    return s;
}
