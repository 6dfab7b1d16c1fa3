/*
 * One writer at a time per dataset (docs/dataset.md §8.5): every dataset write takes the
 * lock object <root>/__radi_lock first (a kernel file lock locally, a conditional-PUT
 * lease on S3; both released when a crashed writer's process or lease ends) and re-reads
 * the dataset under it, so a second writer works on the first one's result instead of a
 * stale view, and a rollback can only ever touch the rolling-back writer's own objects.
 * Readers never take it.
 */
#include <stdlib.h>

#include "model/dataset.h"
#include "model/journal.h"


radi_status rdi_ds_lock(radi_dataset *ds, rdi_lock_hold *out)
{
    char *u = rdi_path_join(ds->uri, RDI_DS_LOCK_NAME);
    if (!u) return RADI_E_NOMEM;
    /* How long to wait for another writer to finish: option dataset.lock_wait_ms. */
    uint32_t wait = ds->ctx->lock_wait_ms;
    radi_status s = rdi_vfs_lock(ds->ctx->vfs, u, 0 /* the backend's lease (vfs.s3.lock_lease_ms) */, wait, out);
    if (s == RADI_E_BUSY)
        s = rdi_error(s, "%s: another writer is changing this dataset (waited %.1f s for %s); try again when "
                         "it has finished",
                      ds->uri, wait / 1000.0, RDI_DS_LOCK_NAME);
    free(u);
    if (s != RADI_OK) return s;
    /* A writer killed half-way left its journal: take its write back first (holding the
     * lock, this writer is the only one that can), so every write starts from a whole
     * dataset. */
    s = rdi_journal_recover(ds->ctx, ds->uri, NULL);
    /* What the previous writer committed is the state this one starts from. */
    if (s == RADI_OK) s = rdi_ds_load(ds);
    if (s != RADI_OK) rdi_ds_unlock(out, s);
    return s;
}

radi_status rdi_ds_unlock(rdi_lock_hold *hold, radi_status st)
{
    char *why = st != RADI_OK ? rdi_strdup(radi_errmsg()) : NULL;
    radi_status u = rdi_vfs_unlock(hold);
    if (st != RADI_OK) {
        if (why) rdi_error(st, "%s", why);
        free(why);
        return st;
    }
    return u;
}
