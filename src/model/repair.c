/*
 * radi_dataset_repair: what the next writer does first (lock.c), on demand — take the
 * writer lock and roll back the write an interrupted process left (its intent journal,
 * journal.c). It needs no readable dataset: a creation or a rename killed half-way can
 * leave one that radi_dataset_open refuses, and this is how it becomes whole again.
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
    radi_status s = rdi_vfs_kind(ctx->vfs, root, &kind);
    if (s == RADI_OK && kind != 2) s = rdi_error(RADI_E_NOT_FOUND, "%s: no dataset there", root);
    char *lock = s == RADI_OK ? rdi_path_join(root, RDI_DS_LOCK_NAME) : NULL;
    if (s == RADI_OK && !lock) s = RADI_E_NOMEM;
    rdi_lock_hold hold = {0};
    if (s == RADI_OK) {
        s = rdi_vfs_lock(ctx->vfs, lock, 0 /* the backend's lease (vfs.s3.lock_lease_ms) */, ctx->lock_wait_ms, &hold);
        if (s == RADI_E_BUSY)
            s = rdi_error(s, "%s: another writer is changing this dataset (waited %.1f s); it will finish or "
                             "roll back its own write",
                          root, ctx->lock_wait_ms / 1000.0);
        if (s == RADI_OK) s = rdi_ds_unlock(&hold, rdi_journal_recover(ctx, root, op));
    }
    free(lock);
    free(root);
    return s;
}
