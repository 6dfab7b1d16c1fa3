/*
 * Whole-dataset maintenance (radi_dataset_consolidate / radi_dataset_vacuum) and the
 * kind of object at a URI (dataset root, stand-alone collection). The objects of a
 * dataset are enumerated from its groups by member name, as every reader does, after the
 * members are confined to the dataset (confine.c), so maintenance never writes or
 * deletes outside it. Each object is consolidated on its own and stays readable at every
 * step (tdb/consolidate.c, tdb/vacuum.c), so the objects run in parallel and a failure leaves the
 * ones done consolidated and the rest as they were.
 */
#include <pthread.h>
#include <stdlib.h>

#include "model/dataset.h"

radi_status radi_dataset_kind_of(radi_ctx *ctx, const char *uri, radi_dataset_kind *out)
{
    if (!ctx || !uri || !out) return rdi_error(RADI_E_INVALID, "radi_dataset_kind_of: NULL argument");
    radi_object_type t;
    RDI_TRY(radi_object_type_of(ctx, uri, &t));
    if (t != RADI_OBJECT_GROUP) {
        *out = RADI_DATASET_NONE;
        return RADI_OK;
    }
    radi_group *g = NULL;
    RDI_TRY(radi_group_open(ctx, uri, &g));
    int has[4] = {0, 0, 0, 0};
    static const char *const names[4] = {"obs_meta", "collections", "obs", "volumes"};
    for (uint64_t i = 0; i < radi_group_member_count(g); i++) {
        radi_group_member m;
        if (radi_group_member_at(g, i, &m) != RADI_OK) break;
        size_t bl;
        const char *b = m.name ? m.name : rdi_path_basename(m.uri, &bl);
        if (m.name) bl = strlen(b);
        for (int k = 0; k < 4; k++)
            if (strlen(names[k]) == bl && strncmp(b, names[k], bl) == 0) has[k] = 1;
    }
    radi_group_close(g);
    *out = has[0] && has[1] ? RADI_DATASET_ROOT : has[2] && has[3] ? RADI_DATASET_COLLECTION : RADI_DATASET_NONE;
    return RADI_OK;
}

/* ------------------------------------------------------------ the objects -- */

typedef struct maint_job {
    radi_ctx *ctx;
    radi_consolidation_mode mode;
    int vacuum;
    rdi_strlist uris;
    uint8_t *is_group;         /* per uri */
    radi_progress_fn progress;
    void *user;
    pthread_mutex_t lock;
    uint64_t done;
} maint_job;

static radi_status add(maint_job *j, char *uri, int group, size_t *cap)
{
    if (!uri) return RADI_E_NOMEM;
    if (j->uris.n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        uint8_t *g = realloc(j->is_group, nc);
        if (!g) {
            free(uri);
            return rdi_nomem();
        }
        j->is_group = g;
        *cap = nc;
    }
    j->is_group[j->uris.n] = (uint8_t)group;
    return rdi_strlist_push_owned(&j->uris, uri);
}

/* Every volume of one collection (members of its volumes group, confined), its obs,
 * and with metadata mode its two groups. */
static radi_status collect_collection(radi_dataset *ds, const char *name, maint_job *j, size_t *cap)
{
    int groups = j->mode == RADI_CONSOLIDATE_ARRAY_META;
    RDI_TRY(rdi_ds_confine_collection(ds, name));
    char *vu = rdi_ds_coll_uri(ds, name, "volumes");
    if (!vu) return RADI_E_NOMEM;
    radi_group *g = NULL;
    radi_status s = radi_group_open(ds->ctx, vu, &g);
    if (s == RADI_OK) s = rdi_ds_confine_group(ds, g, vu, NULL);
    for (uint64_t i = 0; s == RADI_OK && i < radi_group_member_count(g); i++) {
        radi_group_member m;
        s = radi_group_member_at(g, i, &m);
        if (s != RADI_OK) break;
        char *seg = rdi_member_segment(&m);
        s = seg ? add(j, rdi_path_join(vu, seg), 0, cap) : RADI_E_NOMEM;
        free(seg);
    }
    radi_group_close(g);
    if (s == RADI_OK) s = add(j, rdi_ds_coll_uri(ds, name, "obs"), 0, cap);
    if (s == RADI_OK && groups) s = add(j, rdi_strdup(vu), 1, cap);
    if (s == RADI_OK && groups) s = add(j, rdi_ds_coll_uri(ds, name, NULL), 1, cap);
    free(vu);
    return s;
}

static radi_status collect(radi_dataset *ds, maint_job *j)
{
    size_t cap = 0;
    /* Re-read (and confine) the root and the collections list: another process may
     * have written since the handle was opened. */
    RDI_TRY(rdi_ds_load(ds));
    radi_status s = RADI_OK;
    for (size_t c = 0; s == RADI_OK && c < ds->collections.n; c++)
        s = collect_collection(ds, ds->collections.items[c], j, &cap);
    if (s == RADI_OK && !ds->standalone) {
        s = add(j, rdi_path_join(ds->uri, "obs_meta"), 0, &cap);
        if (s == RADI_OK && j->mode == RADI_CONSOLIDATE_ARRAY_META) {
            s = add(j, rdi_path_join(ds->uri, "collections"), 1, &cap);
            if (s == RADI_OK) s = add(j, rdi_strdup(ds->uri), 1, &cap);
        }
    }
    return s;
}

static radi_status maint_task(void *arg, size_t i, unsigned worker)
{
    maint_job *j = arg;
    const char *u = j->uris.items[i];
    radi_status s;
    if (j->is_group[i])
        s = j->vacuum ? rdi_group_meta_vacuum(j->ctx, u) : rdi_group_meta_consolidate(j->ctx, u);
    else
        s = j->vacuum ? radi_vacuum(j->ctx, u, j->mode) : radi_consolidate(j->ctx, u, j->mode);
    if (s != RADI_OK) return rdi_error_wrap(s, "%s %s", j->vacuum ? "vacuuming" : "consolidating", u);
    if (j->progress) {
        pthread_mutex_lock(&j->lock);
        uint64_t done = ++j->done;
        j->progress(j->user, done, j->uris.n, u);
        pthread_mutex_unlock(&j->lock);
    }
    return RADI_OK;
}

static radi_status run(radi_dataset *ds, radi_consolidation_mode mode, int vacuum, radi_progress_fn progress,
                       void *user)
{
    const char *fn = vacuum ? "radi_dataset_vacuum" : "radi_dataset_consolidate";
    if (!ds) return rdi_error(RADI_E_INVALID, "%s: NULL dataset", fn);
    if (mode < RADI_CONSOLIDATE_FRAGMENTS || mode > RADI_CONSOLIDATE_ARRAY_META)
        return rdi_error(RADI_E_INVALID, "%s: unknown mode %d", fn, (int)mode);
    maint_job j;
    memset(&j, 0, sizeof j);
    j.ctx = ds->ctx;
    j.mode = mode;
    j.vacuum = vacuum;
    j.progress = progress;
    j.user = user;
    /* One writer at a time: an append's commit and a consolidation never interleave. */
    rdi_lock_hold hold;
    RDI_TRY(rdi_ds_lock(ds, &hold));
    radi_status s = collect(ds, &j);
    if (s == RADI_OK) {
        pthread_mutex_init(&j.lock, NULL);
        s = rdi_pool_for(ds->ctx->pool, j.uris.n, maint_task, &j);
        pthread_mutex_destroy(&j.lock);
    }
    rdi_strlist_free(&j.uris);
    free(j.is_group);
    /* The handle's cached lists name objects, not fragments: they stay valid. */
    return rdi_ds_unlock(&hold, s);
}

radi_status radi_dataset_consolidate(radi_dataset *ds, radi_consolidation_mode mode, radi_progress_fn progress,
                                     void *user)
{
    return run(ds, mode, 0, progress, user);
}

radi_status radi_dataset_vacuum(radi_dataset *ds, radi_consolidation_mode mode, radi_progress_fn progress,
                                void *user)
{
    return run(ds, mode, 1, progress, user);
}
