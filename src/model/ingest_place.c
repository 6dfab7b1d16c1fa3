/*
 * Ingest, placing: the moves of an append that renumbers (staging, apply_moves,
 * revert_moves), the volumes members, the collection and root metadata an ingest
 * rewrites, and their undo (rdi_ingest_undo_append, rdi_ds_undo_meta).
 */
#include <stdio.h>
#include <stdlib.h>

#include "model/dataset.h"
#include "model/ingest.h"
#include "model/journal.h"

/* ------------------------------------------------------ append placement -- */

#define SPARE_SLOT UINT64_MAX

static char *slot_uri(const char *vol_dir, const char *spare, uint64_t slot)
{
    if (slot == SPARE_SLOT) return rdi_strdup(spare);
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long)slot);
    return rdi_path_join(vol_dir, num);
}

/* Moves one volume tree, recorded in the write's journal first (so a crash during the
 * move is found and undone by the next writer). */
static radi_status journaled_move(radi_dataset *ds, const char *from, const char *to)
{
    RDI_TRY(rdi_journal_move(ds->journal, from, to));
    return rdi_object_move(ds->ctx, from, to);
}

static radi_status move_slot(radi_dataset *ds, const char *vol_dir, const char *spare, uint64_t from, uint64_t to)
{
    char *f = slot_uri(vol_dir, spare, from), *t = slot_uri(vol_dir, spare, to);
    radi_status s = f && t ? journaled_move(ds, f, t) : RADI_E_NOMEM;
    free(f);
    free(t);
    return s;
}

/* Applies the moves without ever overwriting: a volume moves once its target slot is
 * free (slots 0..nslots-1; the appended volumes' slots start free); a cycle, possible
 * only in a dataset 0.1.1 wrote unsorted, goes through the spare name. `done` receives
 * each move made, in order, for revert_moves. mv is consumed. */
static radi_status apply_moves(radi_dataset *ds, const char *vol_dir, const char *spare, vol_move *mv, size_t nm,
                               uint64_t base, uint64_t nslots, vol_move *done, size_t *ndone)
{
    uint8_t *busy = rdi_calloc((size_t)nslots + nm, 1), *moved = busy ? busy + nslots : NULL;
    if (!busy) return RADI_E_NOMEM;
    memset(busy, 1, (size_t)base);
    size_t left = nm, nd = 0;
    radi_status s = RADI_OK;
    while (left && s == RADI_OK) {
        int progress = 0;
        /* From the end: in a sorted collection every target is then already free. */
        for (size_t i = nm; i-- > 0 && s == RADI_OK;) {
            if (moved[i] || busy[mv[i].to]) continue;
            s = move_slot(ds, vol_dir, spare, mv[i].from, mv[i].to);
            if (s != RADI_OK) break;
            done[nd++] = mv[i];
            if (mv[i].from != SPARE_SLOT) busy[mv[i].from] = 0;
            busy[mv[i].to] = 1;
            moved[i] = 1;
            left--;
            progress = 1;
        }
        if (s == RADI_OK && left && !progress) {
            /* A cycle: park one of its volumes under the spare name. */
            size_t i = 0;
            while (moved[i]) i++;
            s = move_slot(ds, vol_dir, spare, mv[i].from, SPARE_SLOT);
            if (s == RADI_OK) {
                done[nd++] = (vol_move){mv[i].from, SPARE_SLOT};
                busy[mv[i].from] = 0;
                mv[i].from = SPARE_SLOT;
            }
        }
    }
    free(busy);
    *ndone = nd;
    return s;
}

/* Undoes apply_moves (the slots the moves emptied must be free again). */
static void revert_moves(radi_dataset *ds, const char *vol_dir, const char *spare, const vol_move *done, size_t nd)
{
    while (nd--) move_slot(ds, vol_dir, spare, done[nd].to, done[nd].from);
}

/* Undoes an append into vol_dir: the members it added, the first `placed` new volumes
 * (those in their slots), then the moves. */
void rdi_ingest_undo_append(radi_dataset *ds, const char *vol_dir, ingest_job *j, size_t placed, int members_added,
                        const char *spare, const vol_move *done, size_t ndone, radi_status st)
{
    char *why = rdi_strdup(radi_errmsg());
    radi_group *g = NULL;
    if (members_added && radi_group_open(ds->ctx, vol_dir, &g) == RADI_OK) {
        for (size_t i = 0; i < placed; i++) {
            char num[24];
            snprintf(num, sizeof num, "%llu", (unsigned long long)(j->base + i));
            radi_group_remove_member(g, num);
        }
        radi_group_close(g);
    }
    for (size_t i = 0; i < placed; i++) {
        char *u = slot_uri(vol_dir, spare, j->order[i]->k);
        radi_object_type t = RADI_OBJECT_INVALID;
        if (u && radi_object_type_of(ds->ctx, u, &t) == RADI_OK && t != RADI_OBJECT_INVALID)
            radi_object_remove(ds->ctx, u);
        free(u);
    }
    revert_moves(ds, vol_dir, spare, done, ndone);
    rdi_error(st, "%s", why ? why : "ingest failed");
    free(why);
}

/* Adds volumes/<base..base+n-1> as members in one change. */
static radi_status add_volume_members(radi_dataset *ds, const char *vol_dir, uint64_t base, size_t n)
{
    char **names = rdi_calloc(n ? n : 1, sizeof *names);
    radi_status s = names ? RADI_OK : RADI_E_NOMEM;
    for (size_t i = 0; i < n && s == RADI_OK; i++)
        if (!(names[i] = rdi_asprintf("%llu", (unsigned long long)(base + i)))) s = RADI_E_NOMEM;
    radi_group *g = NULL;
    if (s == RADI_OK) s = radi_group_open(ds->ctx, vol_dir, &g);
    if (s == RADI_OK)
        s = radi_group_add_members(g, n, (const char *const *)names, 1, (const char *const *)names);
    radi_group_close(g);
    for (size_t i = 0; names && i < n; i++) free(names[i]);
    free(names);
    return s;
}

/* Renumbering appends write their new volumes to a staging directory first, so existing
 * volumes move only once every new one is written. */
radi_status rdi_ingest_name_staging(coll_job *c)
{
    if (!c->nmoves || c->staging) return RADI_OK;
    char label[33];
    RDI_TRY(rdi_random_label(label));
    if (!(c->staging = rdi_asprintf("%s/__radi_staging_%s", c->vol_dir, label)) ||
        !(c->spare = rdi_path_join(c->staging, "spare")) || !(c->done = rdi_calloc(2 * c->nmoves, sizeof *c->done)))
        return RADI_E_NOMEM;
    return RADI_OK;
}

radi_status rdi_ingest_prepare_staging(radi_dataset *ds, coll_job *c)
{
    c->j.vol_dir = c->vol_dir;
    /* Without moves the new volumes are written in their slots (undo removes them). */
    c->placed = c->nmoves ? 0 : c->j.n;
    if (!c->nmoves) return RADI_OK;
    RDI_TRY(rdi_ingest_name_staging(c));
    RDI_TRY(rdi_vfs_mkdir(ds->ctx->vfs, c->staging));
    c->j.vol_dir = c->staging;
    return RADI_OK;
}

/* Existing volumes to their new numbers, new volumes into their slots, their members. */
radi_status rdi_ingest_place_volumes(radi_dataset *ds, coll_job *c)
{
    c->j.vol_dir = c->vol_dir;
    c->placed = c->staging ? 0 : c->j.n;
    radi_status s = RADI_OK;
    if (c->nmoves)
        s = apply_moves(ds, c->vol_dir, c->spare, c->moves, c->nmoves, c->j.base, c->j.base + c->j.n, c->done,
                        &c->ndone);
    for (size_t i = 0; c->staging && s == RADI_OK && i < c->j.n; i++) {
        char *from = slot_uri(c->staging, NULL, c->j.order[i]->k), *to = slot_uri(c->vol_dir, NULL, c->j.order[i]->k);
        s = from && to ? journaled_move(ds, from, to) : RADI_E_NOMEM;
        if (s == RADI_OK) c->placed++;
        free(from);
        free(to);
    }
    if (s == RADI_OK) s = add_volume_members(ds, c->vol_dir, c->j.base, c->j.n);
    c->members_added = s == RADI_OK;
    return s;
}

static const char *const dim_keys[3] = {"x_dim", "y_dim", "z_dim"};

/* The collection's metadata after an ingest: n_volumes, and x/y/z_dim only while every
 * volume shares one spatial shape; one metadata file. */
radi_status rdi_ingest_update_collection_meta(radi_dataset *ds, const char *collection, ingest_job *j, size_t n,
                                          uint64_t base, meta_undo *u)
{
    char *cu = rdi_ds_coll_uri(ds, collection, NULL);
    radi_group *g = NULL;
    radi_status s = cu ? radi_group_open(ds->ctx, cu, &g) : RADI_E_NOMEM;
    free(cu);
    RDI_TRY(s);
    radi_meta *m = radi_group_meta(g);
    int uniform = 1, had = 1;
    int64_t old[3];
    for (int d = 0; d < 3; d++) had &= rdi_meta_get_i64(m, dim_keys[d], &old[d]);
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < 3; d++) {
            uniform &= j->items[i].hdr.shape[d] == j->items[0].hdr.shape[d];
            if (base) uniform &= had && (int64_t)j->items[i].hdr.shape[d] == old[d];
        }
    u->had_dims = had;
    memcpy(u->old_dims, old, sizeof old);
    if (!rdi_meta_get_i64(m, "n_volumes", &u->old_nvol)) u->old_nvol = (int64_t)base;
    int64_t v[4] = {(int64_t)(base + n), (int64_t)j->items[0].hdr.shape[0], (int64_t)j->items[0].hdr.shape[1],
                    (int64_t)j->items[0].hdr.shape[2]};
    radi_meta_item items[4] = {{"n_volumes", RADI_INT64, 1, &v[0]}, {"x_dim", RADI_INT64, 1, &v[1]},
                               {"y_dim", RADI_INT64, 1, &v[2]}, {"z_dim", RADI_INT64, 1, &v[3]}};
    s = radi_meta_put_many(m, uniform && !(had && base) ? 4 : 1, items);
    for (int d = 0; d < 3 && s == RADI_OK && !uniform && had; d++) s = radi_meta_delete(m, dim_keys[d]);
    u->coll_set = 1;
    radi_group_close(g);
    return s;
}

/* Root counts after an ingest: subjects as obs_meta now lists them. */
radi_status rdi_ds_update_root_counts(radi_dataset *ds, int64_t ncoll, meta_undo *u)
{
    radi_group *g = NULL;
    RDI_TRY(rdi_ds_load(ds));
    RDI_TRY(radi_group_open(ds->ctx, ds->uri, &g));
    radi_meta *m = radi_group_meta(g);
    if (!rdi_meta_get_i64(m, "subject_count", &u->old_counts[0])) u->old_counts[0] = 0;
    if (!rdi_meta_get_i64(m, "n_collections", &u->old_counts[1])) u->old_counts[1] = 0;
    int64_t v[2] = {(int64_t)ds->subjects.n, ncoll};
    radi_meta_item items[2] = {{"subject_count", RADI_INT64, 1, &v[0]}, {"n_collections", RADI_INT64, 1, &v[1]}};
    radi_status s = radi_meta_put_many(m, 2, items);
    u->counts_set = 1;
    radi_group_close(g);
    return s;
}

/* Puts back what rdi_ingest_update_collection_meta, rdi_ingest_write_obs_meta and rdi_ds_update_root_counts wrote
 * (best effort: it runs after a failure, whose message it keeps). */
void rdi_ds_undo_meta(radi_dataset *ds, const char *collection, int new_collection, meta_undo *u)
{
    char *why = rdi_strdup(radi_errmsg());
    radi_status st = RADI_E_IO;
    radi_group *g = NULL;
    if (u->counts_set && radi_group_open(ds->ctx, ds->uri, &g) == RADI_OK) {
        radi_meta_item items[2] = {{"subject_count", RADI_INT64, 1, &u->old_counts[0]},
                                   {"n_collections", RADI_INT64, 1, &u->old_counts[1]}};
        radi_meta_put_many(radi_group_meta(g), 2, items);
        radi_group_close(g);
        g = NULL;
    }
    char *om = rdi_path_join(ds->uri, "obs_meta");
    if (u->obs_meta_frag && om) rdi_fragment_discard(ds->ctx, om, u->obs_meta_frag);
    free(om);
    char *cu = u->coll_set && !new_collection ? rdi_ds_coll_uri(ds, collection, NULL) : NULL;
    if (cu && radi_group_open(ds->ctx, cu, &g) == RADI_OK) {
        radi_meta *m = radi_group_meta(g);
        radi_meta_item items[4] = {{"n_volumes", RADI_INT64, 1, &u->old_nvol},
                                   {"x_dim", RADI_INT64, 1, &u->old_dims[0]},
                                   {"y_dim", RADI_INT64, 1, &u->old_dims[1]},
                                   {"z_dim", RADI_INT64, 1, &u->old_dims[2]}};
        radi_meta_put_many(m, u->had_dims ? 4 : 1, items);
        for (int d = 0; d < 3 && !u->had_dims; d++)
            if (radi_meta_get(m, dim_keys[d], &(radi_datatype){0}, &(uint32_t){0}, &(const void *){0}) == RADI_OK)
                radi_meta_delete(m, dim_keys[d]);
        radi_group_close(g);
    }
    free(cu);
    rdi_error(st, "%s", why ? why : "ingest failed");
    free(why);
}
