/*
 * radi_dataset_validate: the consistency checks of a dataset (counts, obs rows against
 * volumes, obs_ids, positions, shapes); the structural ones are in validate_more.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "model/dataset.h"

/* -------------------------------------------------------------- validate -- */

static radi_status note(rdi_strlist *l, char *msg)
{
    return msg ? rdi_strlist_push_owned(l, msg) : RADI_E_NOMEM;
}

static radi_status validate_collection(radi_dataset *ds, size_t ci, rdi_strlist *msgs, rdi_strlist *all_oids)
{
    const char *name = ds->collections.items[ci];
    RDI_TRY(rdi_ds_load_collection(ds, ci));
    const coll_cache *c = &ds->cache[ci];
    vol_member *v = NULL;
    size_t nv = 0;
    RDI_TRY(rdi_ds_list_volumes(ds, name, &v, &nv));
    char *cu = rdi_ds_coll_uri(ds, name, NULL);
    radi_group *g = NULL;
    /* Unreadable group metadata is already a line (validate_more.c): skip its checks. */
    radi_status s = cu ? RADI_OK : RADI_E_NOMEM;
    if (s == RADI_OK && !rdi_ds_meta_unreadable(ds, cu, NULL)) s = radi_group_open(ds->ctx, cu, &g);
    rdi_error_clear();
    int64_t nvol = -1, dims[3] = {0, 0, 0};
    int has_dims = 0;
    if (s == RADI_OK && g) {
        if (!rdi_meta_get_i64(radi_group_meta(g), "n_volumes", &nvol))
            s = note(msgs, rdi_asprintf("collection '%s': metadata n_volumes is missing", name));
        has_dims = rdi_meta_get_i64(radi_group_meta(g), "x_dim", &dims[0]) && rdi_meta_get_i64(radi_group_meta(g), "y_dim", &dims[1]) &&
                   rdi_meta_get_i64(radi_group_meta(g), "z_dim", &dims[2]);
    }
    radi_group_close(g);
    if (s == RADI_OK && nvol >= 0 && (uint64_t)nvol != nv)
        s = note(msgs, rdi_asprintf("collection '%s': n_volumes is %lld but the volumes group has %zu members", name,
                                    (long long)nvol, nv));
    if (s == RADI_OK && nv != c->n)
        s = note(msgs, rdi_asprintf("collection '%s': %zu volumes but %llu obs rows", name, nv,
                                    (unsigned long long)c->n));
    for (uint64_t r = 0; r < c->n && s == RADI_OK; r++) {
        const radi_volume_entry *e = &c->entries[r];
        if (!e->volume_uri)
            s = note(msgs, rdi_asprintf("collection '%s': obs row '%s' has no volume", name, e->obs_id));
        if (s == RADI_OK && rdi_strlist_has_sorted(all_oids, e->obs_id, strlen(e->obs_id)))
            s = note(msgs, rdi_asprintf("collection '%s': obs_id '%s' is also used by another collection", name,
                                        e->obs_id));
        if (s == RADI_OK && !ds->subjects_unread &&
            !rdi_strlist_has_sorted(&ds->subjects, e->obs_subject_id, strlen(e->obs_subject_id)))
            s = note(msgs, rdi_asprintf("collection '%s': subject '%s' of obs_id '%s' is not in obs_meta", name,
                                        e->obs_subject_id, e->obs_id));
    }
    for (size_t k = 0; k < nv && s == RADI_OK; k++) {
        if (!v[k].obs_id) {
            if (!v[k].meta_bad)
                s = note(msgs, rdi_asprintf("collection '%s': volume '%s' has no obs_id metadata", name, v[k].name));
            continue;
        }
        int found = 0;
        for (uint64_t r = 0; r < c->n && !found; r++) found = strcmp(c->entries[r].obs_id, v[k].obs_id) == 0;
        for (size_t q = 0; q < k && s == RADI_OK; q++)
            if (v[q].obs_id && strcmp(v[q].obs_id, v[k].obs_id) == 0)
                s = note(msgs, rdi_asprintf("collection '%s': volumes '%s' and '%s' both hold obs_id '%s'", name,
                                            v[q].name, v[k].name, v[k].obs_id));
        if (s == RADI_OK && !found)
            s = note(msgs, rdi_asprintf("collection '%s': orphan volume '%s' (obs_id '%s' is not in obs)", name,
                                        v[k].name, v[k].obs_id));
        int64_t p = rdi_ds_member_pos(v[k].name);
        if (s == RADI_OK && found && p >= 0 && (uint64_t)p < c->n && strcmp(c->entries[p].obs_id, v[k].obs_id) != 0)
            s = note(msgs, rdi_asprintf("collection '%s': volume '%s' holds obs_id '%s' but obs row %lld is '%s' "
                                        "(position mismatch: radiobject 0.1.1 reads the wrong volume)",
                                        name, v[k].name, v[k].obs_id, (long long)p, c->entries[p].obs_id));
    }
    /* Shapes against x/y/z_dim. */
    for (uint64_t r = 0; r < c->n && s == RADI_OK && has_dims; r++) {
        if (!c->entries[r].volume_uri) continue;
        radi_volume *vol = NULL;
        s = radi_volume_open(ds->ctx, c->entries[r].volume_uri, &vol);
        if (s != RADI_OK) {
            s = note(msgs, rdi_asprintf("collection '%s': volume of '%s' does not open: %s", name,
                                        c->entries[r].obs_id, radi_errmsg()));
            continue;
        }
        const uint64_t *sh = radi_volume_shape(vol);
        if ((int64_t)sh[0] != dims[0] || (int64_t)sh[1] != dims[1] || (int64_t)sh[2] != dims[2])
            s = note(msgs, rdi_asprintf("collection '%s': volume of '%s' is %llux%llux%llu but x/y/z_dim say "
                                        "%lldx%lldx%lld", name, c->entries[r].obs_id, (unsigned long long)sh[0],
                                        (unsigned long long)sh[1], (unsigned long long)sh[2], (long long)dims[0],
                                        (long long)dims[1], (long long)dims[2]));
        radi_volume_close(vol);
    }
    rdi_ds_free_members(v, nv);
    free(cu);
    return s;
}

radi_status radi_dataset_validate(radi_dataset *ds, char ***messages, size_t *count)
{
    if (!ds || !messages || !count) return rdi_error(RADI_E_INVALID, "radi_dataset_validate: NULL argument");
    rdi_strlist msgs = RDI_STRLIST_INIT;
    radi_group *g = NULL;
    /* Lenient for the call: members leaving the dataset, unreadable metadata and
     * unreadable collections become lines, and what they name is not followed. */
    rdi_strlist *was = ds->notes;
    ds->notes = &msgs;
    radi_status s = rdi_ds_load(ds);
    if (s == RADI_OK) s = rdi_ds_validate_structure(ds, &msgs);
    if (s == RADI_OK && !ds->standalone && !rdi_ds_meta_unreadable(ds, ds->uri, NULL))
        s = radi_group_open(ds->ctx, ds->uri, &g);
    rdi_error_clear();
    int64_t v;
    if (s == RADI_OK && g && !ds->subjects_unread) {
        if (!rdi_meta_get_i64(radi_group_meta(g), "subject_count", &v))
            s = note(&msgs, rdi_asprintf("metadata subject_count is missing"));
        else if ((uint64_t)v != ds->subjects.n)
            s = note(&msgs, rdi_asprintf("subject_count is %lld but obs_meta has %zu subjects", (long long)v,
                                         ds->subjects.n));
    }
    if (s == RADI_OK && g) {
        if (!rdi_meta_get_i64(radi_group_meta(g), "n_collections", &v))
            s = note(&msgs, rdi_asprintf("metadata n_collections is missing"));
        else if ((uint64_t)v != ds->collections.n)
            s = note(&msgs, rdi_asprintf("n_collections is %lld but the collections group has %zu members",
                                         (long long)v, ds->collections.n));
    }
    radi_group_close(g);
    /* Each collection is checked against the obs_ids of the ones before it. */
    rdi_strlist seen = RDI_STRLIST_INIT;
    for (size_t c = 0; c < ds->collections.n && s == RADI_OK; c++) {
        s = validate_collection(ds, c, &msgs, &seen);
        if (s != RADI_OK && s != RADI_E_NOMEM && s != RADI_E_IO) {
            /* A collection that cannot be read is a problem of the dataset, not of the
             * call; the storage failing (IO) still is the call's. */
            s = note(&msgs, rdi_asprintf("collection '%s': cannot be read: %s", ds->collections.items[c],
                                         radi_errmsg()));
            continue;
        }
        for (uint64_t r = 0; s == RADI_OK && r < ds->cache[c].n; r++)
            s = rdi_strlist_push(&seen, ds->cache[c].entries[r].obs_id);
        rdi_strlist_sort(&seen);
    }
    rdi_strlist_free(&seen);
    ds->notes = was;
    /* What the lenient pass skipped must not stay cached as read: reload as the handle
     * was opened. A dataset that now refuses leaves the handle empty, never partial. */
    if (s == RADI_OK && rdi_ds_load(ds) != RADI_OK) {
        rdi_ds_clear_lists(ds);
        rdi_error_clear();
    }
    if (s != RADI_OK) {
        rdi_strlist_free(&msgs);
        return s;
    }
    rdi_ds_unique_lines(&msgs);
    *messages = msgs.items;
    *count = msgs.n;
    return RADI_OK;
}

void radi_messages_free(char **messages, size_t count)
{
    for (size_t i = 0; messages && i < count; i++) free(messages[i]);
    free(messages);
}
