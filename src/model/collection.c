/*
 * Collections of a dataset: making one (obs, volumes, metadata) and registering it,
 * radi_dataset_add_collection and radi_dataset_rename_collection.
 */
#include <stdio.h>
#include <stdlib.h>

#include "model/dataset.h"
#include "model/ingest.h"
#include "model/journal.h"

/* ------------------------------------------------------------ collections -- */

/* Creates collections/<name> (obs, volumes, metadata) without registering it. */
radi_status rdi_ds_make_collection(radi_dataset *ds, const char *name, uint32_t nobs, const char *const *obs_names,
                                   const radi_datatype *obs_types)
{
    char *cu = rdi_ds_coll_uri(ds, name, NULL), *obs = rdi_ds_coll_uri(ds, name, "obs"), *vol = rdi_ds_coll_uri(ds, name, "volumes");
    radi_schema *sc = NULL;
    radi_group *g = NULL;
    radi_status s = cu && obs && vol ? radi_group_create(ds->ctx, cu) : RADI_E_NOMEM;
    if (s != RADI_OK) goto out;
    s = rdi_ds_frame_schema(nobs, obs_names, obs_types, &sc);
    if (s == RADI_OK) s = radi_array_create(ds->ctx, obs, sc);
    if (s == RADI_OK) s = radi_group_create(ds->ctx, vol);
    if (s == RADI_OK) s = radi_group_open(ds->ctx, cu, &g);
    if (s == RADI_OK) s = rdi_meta_put_i64(radi_group_meta(g), "n_volumes", 0);
    if (s == RADI_OK) s = rdi_meta_put_str(radi_group_meta(g), "name", name);
    if (s == RADI_OK) s = radi_group_add_member(g, "volumes", 1, "volumes");
    if (s == RADI_OK) s = radi_group_add_member(g, "obs", 1, "obs");
    radi_group_close(g);
    if (s != RADI_OK) rdi_ds_undo(ds->ctx, cu, s);
out:
    radi_schema_free(sc);
    free(cu);
    free(obs);
    free(vol);
    return s;
}

radi_status rdi_ds_set_root_counts(radi_dataset *ds, int64_t subjects, int64_t ncoll)
{
    radi_group *g = NULL;
    RDI_TRY(radi_group_open(ds->ctx, ds->uri, &g));
    radi_status s = rdi_meta_put_i64(radi_group_meta(g), "subject_count", subjects);
    if (s == RADI_OK) s = rdi_meta_put_i64(radi_group_meta(g), "n_collections", ncoll);
    radi_group_close(g);
    return s;
}

radi_status rdi_ds_check_new_collection(radi_dataset *ds, const char *name)
{
    if (!rdi_ds_name_ok(name))
        return rdi_error(RADI_E_INVALID, "%s: bad collection name '%s' (1-255 of A-Z a-z 0-9 _ . -)", ds->uri,
                         name);
    if (rdi_ds_coll_index(ds, name) >= 0)
        return rdi_error(RADI_E_EXISTS, "%s: collection '%s' already exists", ds->uri, name);
    char *cu = rdi_ds_coll_uri(ds, name, NULL);
    if (!cu) return RADI_E_NOMEM;
    int kind = 0;
    radi_status s = rdi_vfs_kind(ds->ctx->vfs, cu, &kind);
    if (s == RADI_OK && kind)
        s = rdi_error(RADI_E_EXISTS, "%s: something already exists at %s", ds->uri, cu);
    free(cu);
    return s;
}

/* Registers a made collection: the one change that makes it visible. */
radi_status rdi_ds_register_collection(radi_dataset *ds, const char *name)
{
    char *cl = rdi_path_join(ds->uri, "collections");
    radi_status s = cl ? rdi_ds_add_member(ds->ctx, cl, name) : RADI_E_NOMEM;
    free(cl);
    return s;
}

static radi_status rename_locked(radi_dataset *ds, const char *from, const char *to);

radi_status radi_dataset_rename_collection(radi_dataset *ds, const char *from, const char *to)
{
    if (!ds || !from || !to) return rdi_error(RADI_E_INVALID, "radi_dataset_rename_collection: NULL argument");
    RDI_TRY(rdi_ds_refuse_standalone(ds, "renaming a collection"));
    rdi_lock_hold hold;
    RDI_TRY(rdi_ds_lock(ds, &hold));
    return rdi_ds_unlock(&hold, rename_locked(ds, from, to));
}

static radi_status rename_locked(radi_dataset *ds, const char *from, const char *to)
{
    if (!ds || !from || !to) return rdi_error(RADI_E_INVALID, "radi_dataset_rename_collection: NULL argument");
    RDI_TRY(rdi_ds_refuse_standalone(ds, "renaming a collection"));
    RDI_TRY(rdi_ds_load(ds));
    int64_t fi = rdi_ds_coll_index(ds, from);
    if (fi < 0)
        return rdi_error(RADI_E_NOT_FOUND, "%s: no collection '%s' to rename", ds->uri, from);
    RDI_TRY(rdi_ds_check_new_collection(ds, to));
    /* Its groups' members must stay inside the dataset before its tree moves. */
    RDI_TRY(rdi_ds_load_collection(ds, (size_t)fi));
    char *src = rdi_ds_coll_uri(ds, from, NULL), *dst = rdi_ds_coll_uri(ds, to, NULL);
    char *cl = rdi_path_join(ds->uri, "collections");
    radi_group *g = NULL;
    radi_status s = src && dst && cl ? RADI_OK : RADI_E_NOMEM;
    /* The journal (docs/dataset.md §8.5): the groups this rename changes, then the move. */
    rdi_journal *jr = NULL;
    char *svol = s == RADI_OK ? rdi_path_join(src, "volumes") : NULL;
    if (s == RADI_OK && !svol) s = RADI_E_NOMEM;
    if (s == RADI_OK) s = rdi_journal_begin(ds->ctx, ds->uri, "rename_collection", &jr);
    if (s == RADI_OK) s = rdi_journal_keep_group(jr, cl);
    if (s == RADI_OK) s = rdi_journal_keep_group(jr, src);
    if (s == RADI_OK) s = rdi_journal_keep_group(jr, svol);
    if (s == RADI_OK) s = rdi_journal_open(jr);
    free(svol);
    /* The directory first, then the membership in one change; a failure of the latter
     * moves the directory back, so the dataset is as before. */
    if (s == RADI_OK) s = rdi_journal_move(jr, src, dst);
    if (s == RADI_OK) s = rdi_object_move(ds->ctx, src, dst);
    if (s == RADI_OK) {
        s = radi_group_open(ds->ctx, cl, &g);
        if (s == RADI_OK) s = radi_group_replace_member(g, from, to, 1, to);
        radi_group_close(g);
        g = NULL;
        if (s != RADI_OK) {
            char *why = rdi_strdup(radi_errmsg());
            rdi_object_move(ds->ctx, dst, src);
            rdi_error(s, "%s", why ? why : "rename failed");
            free(why);
        }
    }
    /* The collection's own name, and members 0.1.1 stored absolute (now stale). */
    if (s == RADI_OK) s = radi_group_open(ds->ctx, dst, &g);
    if (s == RADI_OK) s = rdi_meta_put_str(radi_group_meta(g), "name", to);
    if (s == RADI_OK) s = rdi_group_relativize(g, NULL);
    radi_group_close(g);
    g = NULL;
    char *vu = s == RADI_OK ? rdi_path_join(dst, "volumes") : NULL;
    if (vu) {
        s = radi_group_open(ds->ctx, vu, &g);
        if (s == RADI_OK) s = rdi_group_relativize(g, NULL);
        radi_group_close(g);
    }
    free(vu);
    free(src);
    free(dst);
    free(cl);
    s = rdi_journal_finish(jr, s);
    radi_status l = rdi_ds_load(ds);
    return s != RADI_OK ? s : l;
}

static radi_status add_collection_locked(radi_dataset *ds, const char *name);

radi_status radi_dataset_add_collection(radi_dataset *ds, const char *name)
{
    if (!ds || !name) return rdi_error(RADI_E_INVALID, "radi_dataset_add_collection: NULL argument");
    RDI_TRY(rdi_ds_refuse_standalone(ds, "adding a collection"));
    rdi_lock_hold hold;
    RDI_TRY(rdi_ds_lock(ds, &hold));
    return rdi_ds_unlock(&hold, add_collection_locked(ds, name));
}

radi_status rdi_ds_journal_new_collection(radi_dataset *ds, const char *name, const char *op, rdi_journal **jr)
{
    *jr = NULL;
    char *cu = rdi_ds_coll_uri(ds, name, NULL), *cl = rdi_path_join(ds->uri, "collections");
    radi_status s = cu && cl ? rdi_journal_begin(ds->ctx, ds->uri, op, jr) : RADI_E_NOMEM;
    if (s == RADI_OK) s = rdi_journal_new(*jr, cu);
    if (s == RADI_OK) s = rdi_journal_keep_group(*jr, ds->uri);
    if (s == RADI_OK) s = rdi_journal_keep_group(*jr, cl);
    if (s == RADI_OK) s = rdi_journal_open(*jr);
    free(cu);
    free(cl);
    return s;
}

static radi_status add_collection_locked(radi_dataset *ds, const char *name)
{
    if (!ds || !name) return rdi_error(RADI_E_INVALID, "radi_dataset_add_collection: NULL argument");
    RDI_TRY(rdi_ds_refuse_standalone(ds, "adding a collection"));
    RDI_TRY(rdi_ds_check_new_collection(ds, name));
    rdi_journal *jr = NULL;
    radi_status s = rdi_ds_journal_new_collection(ds, name, "add_collection", &jr);
    /* An empty collection has NIfTI's obs columns, as before any other kind existed. */
    const rdi_image_source_ops *k = &rdi_nifti_image_source;
    if (s == RADI_OK) s = rdi_ds_make_collection(ds, name, k->nobs, k->obs_names, k->obs_types);
    if (s != RADI_OK) return rdi_journal_finish(jr, s);
    meta_undo u = {0};
    s = rdi_ds_update_root_counts(ds, (int64_t)ds->collections.n + 1, &u);
    if (s == RADI_OK) s = rdi_ds_register_collection(ds, name);
    if (s != RADI_OK) {
        rdi_ds_undo_meta(ds, name, 1, &u);
        char *cu = rdi_ds_coll_uri(ds, name, NULL);
        if (cu) rdi_ds_undo(ds->ctx, cu, s);
        free(cu);
    }
    s = rdi_journal_finish(jr, s);
    radi_status l = rdi_ds_load(ds);
    return s != RADI_OK ? s : l;
}
