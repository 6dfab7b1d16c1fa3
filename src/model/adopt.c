/*
 * radi_dataset_create_adopting: a new dataset around stand-alone collections a caller
 * already wrote at <uri>/collections/<name> (radiobject 0.1.1's from_collections "in
 * place"). Unlike the creations of create.c the root is not new: it holds the caller's
 * collections, which must survive every outcome byte for byte. So the journal records
 * no tree as new; it keeps the root and `collections` (and that group's __group and
 * __meta) with the names they held, and roll-back removes only what this call added
 * there (docs/dataset.md §8.6). The adopted collections themselves are never written.
 */
#include <stdlib.h>
#include <string.h>

#include "model/dataset.h"
#include "model/ingest.h"
#include "model/journal.h"

#define GROUP_MARKER "__tiledb_group.tdb"

/* What the tree at the root looked like when checked. */
typedef struct adopt_tree {
    int coll_is_group;       /* collections has its group marker */
    int has_group_dir, has_meta_dir;
    rdi_strlist registered;  /* adopted names already members of collections (sorted) */
} adopt_tree;

static int listed(size_t n, const char *const *names, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], s)) return 1;
    return 0;
}

static int group_file(const char *s)
{
    return !strcmp(s, GROUP_MARKER) || !strcmp(s, "__group") || !strcmp(s, "__meta");
}

/* The members of the existing collections group: each must be an adopted collection at
 * its own place (a plain segment name naming a member at that segment). */
static radi_status check_members(radi_ctx *ctx, const char *root, const char *cl, size_t n,
                                 const char *const *adopt, adopt_tree *t)
{
    radi_group *g = NULL;
    RDI_TRY(radi_group_open(ctx, cl, &g));
    radi_status s = RADI_OK;
    for (uint64_t i = 0; i < radi_group_member_count(g) && s == RADI_OK; i++) {
        radi_group_member m;
        s = radi_group_member_at(g, i, &m);
        char *seg = s == RADI_OK ? rdi_member_segment(&m) : NULL;
        if (s == RADI_OK && !seg) s = RADI_E_NOMEM;
        if (s == RADI_OK && (!listed(n, adopt, seg) || (m.name && strcmp(m.name, seg))))
            s = rdi_error(RADI_E_EXISTS, "%s: cannot create a dataset there: its collections group already has "
                          "the member '%s' (%s), which is not a collection to adopt", root, m.name ? m.name : "",
                          m.uri);
        if (s == RADI_OK) s = rdi_strlist_push(&t->registered, seg);
        free(seg);
    }
    radi_group_close(g);
    rdi_strlist_sort(&t->registered);
    return s;
}

/* uri holds collections/ with the adopted collections, the lock and the journal, and
 * nothing else; *journal says whether a journal is there (then only the lock is
 * checked for: an interrupted call's leftovers are rolled back first). */
static radi_status check_tree(radi_ctx *ctx, const char *root, size_t n, const char *const *adopt, adopt_tree *t,
                              int *journal)
{
    rdi_strlist_free(&t->registered);
    memset(t, 0, sizeof *t);
    *journal = 0;
    int kind = 0;
    RDI_TRY(rdi_vfs_kind(ctx->vfs, root, &kind));
    if (kind != 2)
        return rdi_error(kind ? RADI_E_EXISTS : RADI_E_NOT_FOUND, "%s: no directory with the collections to adopt "
                         "(%s)", root, kind ? "it is a file" : "nothing is there");
    rdi_dirlist l = {NULL, 0};
    RDI_TRY(rdi_vfs_ls(ctx->vfs, root, &l));
    radi_status s = RADI_OK;
    for (size_t i = 0; i < l.n; i++) *journal |= !strcmp(l.items[i].name, RDI_DS_JOURNAL_NAME);
    for (size_t i = 0; i < l.n && s == RADI_OK && !*journal; i++) {
        const char *e = l.items[i].name;
        if ((!strcmp(e, "collections") && l.items[i].is_dir) || !strcmp(e, RDI_DS_LOCK_NAME)) continue;
        s = rdi_error(RADI_E_EXISTS, "%s: cannot create a dataset there: '%s' is already there (only collections/ "
                      "with the collections to adopt may be)", root, e);
    }
    rdi_dirlist_free(&l);
    if (s != RADI_OK || *journal) return s;
    char *cl = rdi_path_join(root, "collections");
    if (!cl) return RADI_E_NOMEM;
    s = rdi_vfs_ls(ctx->vfs, cl, &l);
    if (s == RADI_E_NOT_FOUND) s = rdi_error(s, "%s: no collections/ directory with the collections to adopt", root);
    for (size_t i = 0; i < l.n && s == RADI_OK; i++) {
        const char *e = l.items[i].name;
        t->coll_is_group |= !strcmp(e, GROUP_MARKER);
        t->has_group_dir |= !strcmp(e, "__group") && l.items[i].is_dir;
        t->has_meta_dir |= !strcmp(e, "__meta") && l.items[i].is_dir;
        if (group_file(e) || (l.items[i].is_dir && listed(n, adopt, e))) continue;
        s = rdi_error(RADI_E_EXISTS, "%s: cannot create a dataset there: collections/%s is not a collection to "
                      "adopt", root, e);
    }
    for (size_t k = 0; k < n && s == RADI_OK; k++) {
        int found = 0;
        for (size_t i = 0; i < l.n; i++) found |= l.items[i].is_dir && !strcmp(l.items[i].name, adopt[k]);
        if (!found) s = rdi_error(RADI_E_NOT_FOUND, "%s: no collection at collections/%s to adopt", root, adopt[k]);
    }
    rdi_dirlist_free(&l);
    if (s == RADI_OK && t->coll_is_group) s = check_members(ctx, root, cl, n, adopt, t);
    free(cl);
    return s;
}

/* Opens adopted collection `name` stand-alone and checks it is valid and so named. */
static radi_status open_adopted(radi_ctx *ctx, const char *root, const char *name, radi_dataset **out)
{
    *out = NULL;
    char *cu = rdi_path_join(root, "collections");
    char *u = cu ? rdi_path_join(cu, name) : NULL;
    free(cu);
    if (!u) return RADI_E_NOMEM;
    radi_dataset_kind k = RADI_DATASET_NONE;
    radi_status s = radi_dataset_kind_of(ctx, u, &k);
    if (s == RADI_OK && k != RADI_DATASET_COLLECTION)
        s = rdi_error(RADI_E_INVALID, "%s: cannot adopt it: not a collection (a group with members obs and "
                      "volumes)", u);
    radi_dataset *c = NULL;
    if (s == RADI_OK) s = radi_collection_open(ctx, u, &c);
    if (s == RADI_OK && (c->collections.n != 1 || strcmp(c->collections.items[0], name)))
        s = rdi_error(RADI_E_INVALID, "%s: cannot adopt it as '%s': the collection is named '%s'", u, name,
                      c->collections.n ? c->collections.items[0] : "");
    char **msgs = NULL;
    size_t nmsg = 0;
    if (s == RADI_OK) s = radi_dataset_validate(c, &msgs, &nmsg);
    if (s == RADI_OK && nmsg)
        s = rdi_error(RADI_E_INVALID, "%s: cannot adopt it: not a valid collection: %s%s", u, msgs[0],
                      nmsg > 1 ? " (and more: radi validate)" : "");
    radi_messages_free(msgs, nmsg);
    if (s != RADI_OK) {
        if (s != RADI_E_NOMEM && s != RADI_E_IO && s != RADI_E_INVALID)
            s = rdi_error_wrap(RADI_E_INVALID, "%s: cannot adopt it", u);
        radi_dataset_close(c);
        c = NULL;
    }
    free(u);
    *out = c;
    return s;
}

/* The journal: the root and collections keep what they hold (the adopted collections,
 * the lock); nothing is new, so roll-back never removes a tree that was there. */
static radi_status begin_journal(radi_ctx *ctx, const char *root, const adopt_tree *t, rdi_journal **jr)
{
    RDI_TRY(rdi_journal_begin(ctx, root, "adopt", jr));
    radi_status s = rdi_journal_keep_dir(*jr, ".");
    if (s == RADI_OK && t->has_group_dir) s = rdi_journal_keep_dir(*jr, "collections/__group");
    if (s == RADI_OK && t->has_meta_dir) s = rdi_journal_keep_dir(*jr, "collections/__meta");
    if (s == RADI_OK) s = rdi_journal_keep_dir(*jr, "collections");
    if (s == RADI_OK) s = rdi_journal_open(*jr);
    return s;
}

/* The dataset's frame around the adopted collections: obs_meta, the collections group
 * with them as members, the root group (marker last, as radi_dataset_create). */
static radi_status write_frame(radi_ctx *ctx, const char *root, size_t n, const char *const *adopt,
                               const adopt_tree *t, const radi_schema *obs_meta)
{
    char *om = rdi_path_join(root, "obs_meta"), *cl = rdi_path_join(root, "collections");
    radi_schema *sc = NULL;
    radi_group *g = NULL;
    const char **add = rdi_calloc(n, sizeof *add);
    radi_status s = om && cl && add ? RADI_OK : RADI_E_NOMEM;
    if (s == RADI_OK && !obs_meta) s = rdi_ds_frame_schema(0, NULL, NULL, &sc);
    if (s == RADI_OK) s = radi_array_create(ctx, om, obs_meta ? obs_meta : sc);
    if (s == RADI_OK && !t->coll_is_group) s = rdi_group_create_over(ctx, cl);
    size_t nadd = 0;
    for (size_t i = 0; i < n && add; i++)
        if (!rdi_strlist_has_sorted(&t->registered, adopt[i], strlen(adopt[i]))) add[nadd++] = adopt[i];
    if (s == RADI_OK && nadd) s = radi_group_open(ctx, cl, &g);
    if (s == RADI_OK && nadd) s = radi_group_add_members(g, nadd, add, 1, add);
    radi_group_close(g);
    g = NULL;
    if (s == RADI_OK) s = rdi_group_create_over(ctx, root);
    if (s == RADI_OK) s = rdi_ds_write_root(ctx, root, 0, (int64_t)n);
    radi_schema_free(sc);
    free(add);
    free(om);
    free(cl);
    return s;
}

/* Sorted, each once. */
static void sort_unique(rdi_strlist *l)
{
    rdi_strlist_sort(l);
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (k && !strcmp(l->items[k - 1], l->items[i])) {
            free(l->items[i]);
            continue;
        }
        l->items[k++] = l->items[i];
    }
    l->n = k;
}

/* An obs_id in two collections is refused (readers find volumes by it). Each key is
 * "<obs_id>\0<collection>": strcmp sorts and compares by the obs_id alone, and the
 * collection after it names the two collections in the error. */
static radi_status check_obs_ids(radi_dataset *ds)
{
    rdi_strlist all = RDI_STRLIST_INIT;
    radi_status s = RADI_OK;
    for (size_t c = 0; c < ds->collections.n && s == RADI_OK; c++) {
        s = rdi_ds_load_collection(ds, c);
        for (uint64_t r = 0; s == RADI_OK && r < ds->cache[c].n; r++) {
            char *key = rdi_asprintf("%s%c%s", ds->cache[c].entries[r].obs_id, 0, ds->collections.items[c]);
            s = key ? rdi_strlist_push_owned(&all, key) : RADI_E_NOMEM;
        }
    }
    rdi_strlist_sort(&all);
    for (size_t i = 1; i < all.n && s == RADI_OK; i++)
        if (!strcmp(all.items[i - 1], all.items[i]))
            s = rdi_error(RADI_E_INVALID, "%s: obs_id '%s' is in collections '%s' and '%s'", ds->uri, all.items[i],
                          all.items[i - 1] + strlen(all.items[i - 1]) + 1, all.items[i] + strlen(all.items[i]) + 1);
    rdi_strlist_free(&all);
    return s;
}

/* Everything after the frame: obs_meta rows for every subject, the counts, the copies,
 * then the cross-collection check. */
static radi_status fill(radi_ctx *ctx, const char *root, radi_dataset *const *adopted, size_t n_adopt,
                        size_t n_copies, const radi_collection_copy *copies, const radi_obs_meta_rows *obs_meta)
{
    radi_dataset *ds = NULL;
    RDI_TRY(radi_dataset_open(ctx, root, &ds));
    rdi_strlist subjects = RDI_STRLIST_INIT;
    radi_status s = RADI_OK;
    for (size_t i = 0; i < n_adopt && s == RADI_OK; i++)
        for (size_t k = 0; k < adopted[i]->subjects.n && s == RADI_OK; k++)
            s = rdi_strlist_push(&subjects, adopted[i]->subjects.items[k]);
    for (size_t i = 0; i < n_copies && s == RADI_OK; i++)
        s = rdi_ds_copy_subjects(copies[i].src, copies[i].collection, copies[i].sel, &subjects);
    sort_unique(&subjects);
    radi_ingest_options opt;
    radi_ingest_options_init(&opt);
    if (obs_meta && obs_meta->rows) {
        opt.obs_meta_nbuffers = obs_meta->nbuffers;
        opt.obs_meta_buffers = obs_meta->buffers;
        opt.obs_meta_rows = obs_meta->rows;
    }
    if (s == RADI_OK && subjects.n) s = rdi_ingest_check_obs_meta_rows(ds, &opt, &subjects);
    if (s == RADI_OK) s = rdi_ingest_write_obs_meta(ds, &opt, &subjects, NULL);
    meta_undo u = {0};
    if (s == RADI_OK) s = rdi_ds_update_root_counts(ds, (int64_t)n_adopt, &u);
    for (size_t i = 0; i < n_copies && s == RADI_OK; i++)
        s = rdi_ds_import_journaled(ds, copies[i].src, copies[i].collection, copies[i].sel, copies[i].name);
    if (s == RADI_OK) s = rdi_ds_load(ds);
    if (s == RADI_OK) s = check_obs_ids(ds);
    rdi_strlist_free(&subjects);
    radi_dataset_close(ds);
    return s;
}

static radi_status check_args(const char *root, size_t n_adopt, const char *const *adopt, size_t n_copies,
                              const radi_collection_copy *copies)
{
    if (!n_adopt || !adopt || (n_copies && !copies))
        return rdi_error(RADI_E_INVALID, "radi_dataset_create_adopting: no collection to adopt at %s (n_adopt 0 "
                         "or NULL lists)", root);
    rdi_strlist names = RDI_STRLIST_INIT;
    radi_status s = RADI_OK;
    for (size_t i = 0; i < n_adopt + n_copies && s == RADI_OK; i++) {
        const radi_collection_copy *c = i >= n_adopt ? &copies[i - n_adopt] : NULL;
        const char *nm = c ? (c->name ? c->name : c->collection) : adopt[i];
        if (c && (!c->src || !c->collection)) s = rdi_error(RADI_E_INVALID, "%s: a copy without its source", root);
        else if (!nm || !rdi_ds_name_ok(nm))
            s = rdi_error(RADI_E_INVALID, "%s: bad collection name '%s' (1-255 of A-Z a-z 0-9 _ . -)", root,
                          nm ? nm : "(null)");
        else s = rdi_strlist_push(&names, nm);
    }
    rdi_strlist_sort(&names);
    for (size_t i = 1; i < names.n && s == RADI_OK; i++)
        if (!strcmp(names.items[i - 1], names.items[i]))
            s = rdi_error(RADI_E_INVALID, "%s: collection '%s' is given twice", root, names.items[i]);
    rdi_strlist_free(&names);
    return s;
}

static radi_status adopt_all(radi_ctx *ctx, const char *root, size_t n, const char *const *adopt,
                             radi_dataset **adopted)
{
    for (size_t i = 0; i < n; i++) RDI_TRY(open_adopted(ctx, root, adopt[i], &adopted[i]));
    return RADI_OK;
}

radi_status radi_dataset_create_adopting(radi_ctx *ctx, const char *uri, size_t n_adopt, const char *const *adopt,
                                         size_t n_copies, const radi_collection_copy *copies,
                                         const radi_obs_meta_rows *obs_meta)
{
    if (!ctx || !uri) return rdi_error(RADI_E_INVALID, "radi_dataset_create_adopting: NULL argument");
    char *root = rdi_uri_normalize(uri), *lock = root ? rdi_path_join(root, RDI_DS_LOCK_NAME) : NULL;
    radi_dataset **adopted = rdi_calloc(n_adopt ? n_adopt : 1, sizeof *adopted);
    adopt_tree t = {0};
    int journal = 0, locked = 0, lock_existed = 0;
    rdi_lock_hold hold;
    rdi_journal *jr = NULL;
    radi_status s = root && lock && adopted ? check_args(root, n_adopt, adopt, n_copies, copies) : RADI_E_NOMEM;
    if (s == RADI_OK && obs_meta && obs_meta->schema) {
        /* the same rule as radi_dataset_create_with_obs_meta, by the same check */
        radi_schema_info si;
        s = radi_schema_get_info(obs_meta->schema, &si);
        if (s == RADI_OK && (si.type != RADI_SPARSE || si.ndim != 2))
            s = rdi_error(RADI_E_INVALID, "%s: obs_meta schema must be sparse with dimensions obs_subject_id, "
                          "obs_id", root);
    }
    /* Refused before anything is written: nothing foreign there, every collection valid. */
    if (s == RADI_OK) s = check_tree(ctx, root, n_adopt, adopt, &t, &journal);
    if (s == RADI_OK && !journal) s = adopt_all(ctx, root, n_adopt, adopt, adopted);
    int kind = 0;
    if (s == RADI_OK) s = rdi_vfs_kind(ctx->vfs, lock, &kind);
    lock_existed = kind != 0;
    if (s == RADI_OK) {
        s = rdi_vfs_lock(ctx->vfs, lock, 0 /* the backend's lease */, ctx->lock_wait_ms, &hold);
        if (s == RADI_E_BUSY)
            s = rdi_error(s, "%s: another writer is creating or changing a dataset here (waited %.1f s)", root,
                          ctx->lock_wait_ms / 1000.0);
        locked = s == RADI_OK;
    }
    /* Under the lock: an interrupted call's leftovers go, then the tree is checked again
     * (a journal found before means the collections were not checked yet). */
    if (s == RADI_OK) s = rdi_journal_recover(ctx, root, NULL);
    if (s == RADI_OK) s = check_tree(ctx, root, n_adopt, adopt, &t, &journal);
    if (s == RADI_OK && !adopted[0]) s = adopt_all(ctx, root, n_adopt, adopt, adopted);
    if (s == RADI_OK) s = begin_journal(ctx, root, &t, &jr);
    if (s == RADI_OK) s = write_frame(ctx, root, n_adopt, adopt, &t, obs_meta ? obs_meta->schema : NULL);
    if (s == RADI_OK) s = fill(ctx, root, adopted, n_adopt, n_copies, copies, obs_meta);
    /* Failed: the journal's roll-back removes what this call added, and the lock object
     * goes too when this call made it (nothing else stays). */
    s = rdi_journal_finish(jr, s);
    if (s != RADI_OK && locked && !lock_existed) {
        char *why = rdi_strdup(radi_errmsg());
        char *jn = rdi_path_join(root, RDI_DS_JOURNAL_NAME);
        int jkind = 1;
        if (jn && rdi_vfs_kind(ctx->vfs, jn, &jkind) == RADI_OK && jkind == 0) rdi_vfs_remove_file(ctx->vfs, lock);
        free(jn);
        if (why) rdi_error(s, "%s", why);
        free(why);
    }
    if (locked) s = rdi_ds_unlock(&hold, s);
    for (size_t i = 0; adopted && i < n_adopt; i++) radi_dataset_close(adopted[i]);
    free(adopted);
    rdi_strlist_free(&t.registered);
    free(lock);
    free(root);
    return s;
}
