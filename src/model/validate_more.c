/*
 * validate's structural checks, beyond the consistency of counts and obs_ids
 * (dataset_validate.c): metadata that cannot be read, and directories that hold TileDB
 * objects but are not members, which is what an interrupted write leaves behind (a
 * collection made but never registered, a volume written but never added, an append's
 * __radi_staging_* directory). Each problem is one line naming the path; nothing is
 * changed. Members outside the dataset are reported by confine.c in lenient mode.
 */
#include <stdlib.h>

#include "model/dataset.h"
#include "model/journal.h"

int rdi_ds_meta_unreadable(radi_dataset *ds, const char *uri, rdi_strlist *msgs)
{
    radi_meta m;
    radi_status s = rdi_meta_load(ds->ctx, uri, 0, UINT64_MAX, ds->ctx->config.format_version, &m);
    if (s == RADI_OK) {
        rdi_meta_clear(&m);
        return 0;
    }
    if (msgs) rdi_strlist_push_owned(msgs, rdi_asprintf("%s: metadata cannot be read: %s", uri, radi_errmsg()));
    return 1;
}

/* TileDB's own directories inside a group. */
static int tiledb_dir(const char *n)
{
    return strcmp(n, "__group") == 0 || strcmp(n, "__meta") == 0 || strcmp(n, "__schema") == 0;
}

/* Directories under dir_uri (a group) that are not among its members' names. */
static radi_status leftovers(radi_dataset *ds, const char *dir_uri, const char *what, rdi_strlist *msgs)
{
    radi_group *g = NULL;
    if (radi_group_open(ds->ctx, dir_uri, &g) != RADI_OK) {
        /* Reported elsewhere (an unreadable or missing group). */
        rdi_error_clear();
        return RADI_OK;
    }
    rdi_strlist names = RDI_STRLIST_INIT;
    radi_status s = RADI_OK;
    for (uint64_t i = 0; s == RADI_OK && i < radi_group_member_count(g); i++) {
        radi_group_member m;
        s = radi_group_member_at(g, i, &m);
        if (s != RADI_OK) break;
        char *nm = rdi_member_segment(&m);
        s = nm ? rdi_strlist_push_owned(&names, nm) : RADI_E_NOMEM;
    }
    radi_group_close(g);
    rdi_strlist_sort(&names);
    rdi_dirlist ls = {NULL, 0};
    if (s == RADI_OK) s = rdi_vfs_ls(ds->ctx->vfs, dir_uri, &ls);
    for (size_t i = 0; s == RADI_OK && i < ls.n; i++) {
        const char *n = ls.items[i].name;
        if (!ls.items[i].is_dir || tiledb_dir(n) || rdi_strlist_has_sorted(&names, n, strlen(n))) continue;
        char *p = rdi_path_join(dir_uri, n);
        if (!p) { s = RADI_E_NOMEM; break; }
        if (strncmp(n, "__radi_staging_", 15) == 0)
            s = rdi_strlist_push_owned(msgs, rdi_asprintf("%s: staging directory left by an interrupted append "
                                                          "(not a member; safe to remove)", p));
        else
            s = rdi_strlist_push_owned(msgs, rdi_asprintf("%s: not a member of %s (left by an interrupted "
                                                          "write?)", p, what));
        free(p);
    }
    rdi_dirlist_free(&ls);
    rdi_strlist_free(&names);
    return s;
}

radi_status rdi_ds_validate_structure(radi_dataset *ds, rdi_strlist *msgs)
{
    radi_status s = RADI_OK;
    char *cl = ds->standalone ? NULL : rdi_path_join(ds->uri, "collections");
    char *om = ds->standalone ? NULL : rdi_path_join(ds->uri, "obs_meta");
    if (!ds->standalone && (!cl || !om)) s = RADI_E_NOMEM;
    if (s == RADI_OK) {
        /* An interrupted write explains the other lines: it goes first (a stand-alone
         * collection's appends journal at its root too: docs/dataset.md §8.8). */
        char *line = NULL;
        s = rdi_journal_describe(ds->ctx, ds->uri, &line);
        if (s == RADI_OK && line) s = rdi_strlist_push_owned(msgs, line);
    }
    if (s == RADI_OK && !ds->standalone) {
        rdi_ds_meta_unreadable(ds, ds->uri, msgs);
        rdi_ds_meta_unreadable(ds, cl, msgs);
        rdi_ds_meta_unreadable(ds, om, msgs);
        s = leftovers(ds, cl, "collections", msgs);
    }
    for (size_t c = 0; s == RADI_OK && c < ds->collections.n; c++) {
        const char *name = ds->collections.items[c];
        char *cu = rdi_ds_coll_uri(ds, name, NULL), *obs = rdi_ds_coll_uri(ds, name, "obs"),
             *vu = rdi_ds_coll_uri(ds, name, "volumes");
        if (!cu || !obs || !vu) s = RADI_E_NOMEM;
        if (s == RADI_OK) {
            rdi_ds_meta_unreadable(ds, cu, msgs);
            rdi_ds_meta_unreadable(ds, obs, msgs);
            rdi_ds_meta_unreadable(ds, vu, msgs);
            s = leftovers(ds, vu, "volumes", msgs);
        }
        free(cu);
        free(obs);
        free(vu);
    }
    free(cl);
    free(om);
    return s;
}

typedef struct line_ref {
    const char *s;
    size_t i;
} line_ref;

static int cmp_line(const void *a, const void *b)
{
    const line_ref *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c ? c : (x->i < y->i ? -1 : x->i > y->i);
}

void rdi_ds_unique_lines(rdi_strlist *l)
{
    if (l->n < 2) return;
    line_ref *r = rdi_calloc(l->n, sizeof *r);
    if (!r) {
        rdi_error_clear();
        return;   /* duplicates stay: harmless */
    }
    for (size_t i = 0; i < l->n; i++) r[i] = (line_ref){l->items[i], i};
    qsort(r, l->n, sizeof *r, cmp_line);
    /* The same line found by two checks (a volume's metadata is read twice) once, at
     * its first place. */
    const char *first = r[0].s;   /* of the current run of equal lines: kept */
    for (size_t k = 1; k < l->n; k++) {
        if (strcmp(r[k].s, first) != 0) {
            first = r[k].s;
            continue;
        }
        free(l->items[r[k].i]);
        l->items[r[k].i] = NULL;
    }
    free(r);
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->items[i]) l->items[w++] = l->items[i];
    l->n = w;
}

radi_status radi_dataset_validate_uri(radi_ctx *ctx, const char *uri, char ***messages, size_t *count)
{
    if (!ctx || !uri || !messages || !count)
        return rdi_error(RADI_E_INVALID, "radi_dataset_validate_uri: NULL argument");
    radi_dataset_kind kind;
    RDI_TRY(radi_dataset_kind_of(ctx, uri, &kind));
    if (kind == RADI_DATASET_NONE) {
        /* A dataset whose creation was interrupted is not one yet; its journal says so. */
        char *root = rdi_uri_normalize(uri), *line = NULL;
        radi_status s = root ? rdi_journal_describe(ctx, root, &line) : RADI_E_NOMEM;
        free(root);
        if (s == RADI_OK && line) {
            s = rdi_error(RADI_E_NOT_FOUND, "%s", line);
            free(line);
            return s;
        }
        return rdi_error(RADI_E_NOT_FOUND, "%s: not a RadiObject dataset or collection", uri);
    }
    radi_dataset *ds = rdi_calloc(1, sizeof *ds);
    if (!ds) return RADI_E_NOMEM;
    ds->ctx = ctx;
    ds->standalone = kind == RADI_DATASET_COLLECTION;
    /* The open is lenient too (its lines are found again by the validation). */
    rdi_strlist open_notes = RDI_STRLIST_INIT;
    ds->notes = &open_notes;
    radi_status s = (ds->uri = rdi_uri_normalize(uri)) ? rdi_ds_load(ds) : RADI_E_NOMEM;
    ds->notes = NULL;
    rdi_strlist_free(&open_notes);
    if (s == RADI_OK) s = radi_dataset_validate(ds, messages, count);
    radi_dataset_close(ds);
    return s;
}
