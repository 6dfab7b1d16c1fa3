/*
 * Copies of datasets and collections (materialize): volumes copied file by file, so
 * voxels, tiling, compression, fragments and every metadata key (affine, orientation,
 * NIfTI header keys) survive exactly; obs and obs_meta rows copied with all their
 * columns. 0.1.1's copies rewrite voxels through from_numpy and drop the geometry
 * (radiobject-0.1.1.md §5.2); these do not.
 */
#include <stdio.h>
#include <stdlib.h>

#include "model/dataset.h"
#include "model/ingest.h"
#include "model/journal.h"

/* Sorted copies of a selection's string list; *out stays empty (match all) for NULL. */
static radi_status sorted_list(size_t n, const char *const *items, rdi_strlist *out, int *all)
{
    *all = items == NULL;
    for (size_t i = 0; i < n && items; i++) RDI_TRY(rdi_strlist_push(out, items[i]));
    rdi_strlist_sort(out);
    return RADI_OK;
}

static int wanted(const rdi_strlist *l, int all, const char *s) { return all || rdi_strlist_has_sorted(l, s, strlen(s)); }

/* The selection, normalized: sorted lists plus "all" flags. */
typedef struct picks {
    rdi_strlist subjects, obs_ids;
    int all_subjects, all_obs_ids;
} picks;

static void picks_free(picks *p)
{
    rdi_strlist_free(&p->subjects);
    rdi_strlist_free(&p->obs_ids);
}

static radi_status picks_make(const radi_dataset *ds, const radi_selection *sel, picks *p)
{
    memset(p, 0, sizeof *p);
    radi_selection none = {0, NULL, 0, NULL, 0, NULL};
    if (!sel) sel = &none;
    radi_status s = sorted_list(sel->n_subjects, sel->subjects, &p->subjects, &p->all_subjects);
    if (s == RADI_OK) s = sorted_list(sel->n_obs_ids, sel->obs_ids, &p->obs_ids, &p->all_obs_ids);
    for (size_t i = 0; s == RADI_OK && !p->all_subjects && i < p->subjects.n; i++)
        if (!rdi_strlist_has_sorted(&ds->subjects, p->subjects.items[i], strlen(p->subjects.items[i])))
            s = rdi_error(RADI_E_NOT_FOUND, "%s: no subject '%s' to copy", ds->uri, p->subjects.items[i]);
    if (s != RADI_OK) picks_free(p);
    return s;
}

/* ------------------------------------------------------------- row copies -- */

/* Copies column c's cells of the kept rows into fresh buffers for a sparse write. */
typedef struct col_copy {
    rdi_buf data;
    uint64_t *offsets;
    uint8_t *validity;
} col_copy;

static radi_status copy_column(const radi_sparse_column *c, uint64_t rows, const uint8_t *keep, uint64_t nkeep,
                               col_copy *out)
{
    if (c->validity && !(out->validity = rdi_malloc(nkeep ? (size_t)nkeep : 1))) return RADI_E_NOMEM;
    if (c->offsets && !(out->offsets = rdi_malloc(nkeep ? (size_t)nkeep * 8 : 8))) return RADI_E_NOMEM;
    size_t cell = c->offsets ? 0 : radi_datatype_size(c->type) * c->cell_val_num;
    uint64_t k = 0;
    for (uint64_t r = 0; r < rows; r++) {
        if (!keep[r]) continue;
        const uint8_t *p;
        size_t len;
        if (c->offsets) {
            uint64_t lo = c->offsets[r], hi = r + 1 < rows ? c->offsets[r + 1] : c->data_size;
            if (lo > hi || hi > c->data_size)
                return rdi_error(RADI_E_CORRUPT, "column '%s': bad offsets at row %llu", c->name,
                                 (unsigned long long)r);
            p = (const uint8_t *)c->data + lo;
            len = (size_t)(hi - lo);
            out->offsets[k] = out->data.len;
        } else {
            p = (const uint8_t *)c->data + r * cell;
            len = cell;
        }
        if (c->validity) out->validity[k] = c->validity[r];
        RDI_TRY(rdi_buf_append(&out->data, p, len));
        k++;
    }
    return RADI_OK;
}

/* Every array metadata key of src written to dst as one file. */
static radi_status copy_meta(radi_array *src, radi_array *dst)
{
    const radi_meta *m = radi_array_meta(src);
    uint64_t n = radi_meta_count(m);
    if (!n) return RADI_OK;
    radi_meta_item *items = rdi_calloc((size_t)n, sizeof *items);
    if (!items) return RADI_E_NOMEM;
    radi_status s = RADI_OK;
    for (uint64_t i = 0; i < n && s == RADI_OK; i++)
        s = radi_meta_at(m, i, &items[i].key, &items[i].type, &items[i].count, &items[i].value);
    if (s == RADI_OK) s = radi_meta_put_many(radi_array_meta(dst), (uint32_t)n, items);
    free(items);
    return s;
}

/* Creates dst with src's schema and metadata and writes the rows of src whose
 * obs_subject_id and obs_id are picked. *kept (may be NULL) gets the row count. */
static radi_status copy_rows(radi_ctx *ctx, const char *src, const char *dst, const picks *p, uint64_t *kept)
{
    radi_array *a = NULL, *b = NULL;
    radi_sparse_query *q = NULL;
    RDI_TRY(radi_array_open(ctx, src, 0, 0, &a));
    radi_status s = radi_array_create(ctx, dst, radi_array_schema(a));
    if (s == RADI_OK) s = radi_sparse_query_create(a, &q);
    if (s == RADI_OK) s = radi_sparse_query_submit(q, NULL);
    uint64_t rows = s == RADI_OK ? radi_sparse_query_rows(q) : 0;
    uint32_t ncols = s == RADI_OK ? radi_sparse_query_ncolumns(q) : 0;
    radi_sparse_column *cols = ncols ? rdi_calloc(ncols, sizeof *cols) : NULL;
    col_copy *cc = ncols ? rdi_calloc(ncols, sizeof *cc) : NULL;
    radi_sparse_buffer *bufs = ncols ? rdi_calloc(ncols, sizeof *bufs) : NULL;
    uint8_t *keep = rdi_calloc(rows ? (size_t)rows : 1, 1);
    if (s == RADI_OK && (!keep || (ncols && (!cols || !cc || !bufs)))) s = RADI_E_NOMEM;
    int sid = -1, oid = -1;
    for (uint32_t i = 0; i < ncols && s == RADI_OK; i++) {
        s = radi_sparse_query_column(q, i, &cols[i]);
        /* Key columns are var-size; an empty result (no rows) has no offsets to show it. */
        int keyed = cols[i].offsets || (rows == 0 && cols[i].cell_val_num == RADI_VAR_NUM);
        if (s == RADI_OK && strcmp(cols[i].name, K_SID) == 0 && keyed) sid = (int)i;
        if (s == RADI_OK && strcmp(cols[i].name, K_OID) == 0 && keyed) oid = (int)i;
    }
    if (s == RADI_OK && (sid < 0 || oid < 0))
        s = rdi_error(RADI_E_CORRUPT, "%s: not a dataframe keyed by " K_SID ", " K_OID, src);
    uint64_t nkeep = 0;
    for (uint64_t r = 0; r < rows && s == RADI_OK; r++) {
        char key[2][256];
        for (int k = 0; k < 2; k++) {
            const radi_sparse_column *c = &cols[k ? oid : sid];
            uint64_t lo = c->offsets[r], hi = r + 1 < rows ? c->offsets[r + 1] : c->data_size;
            size_t len = lo <= hi && hi <= c->data_size ? (size_t)(hi - lo) : sizeof key[k];
            if (len >= sizeof key[k]) {
                s = rdi_error(RADI_E_CORRUPT, "%s: row %llu: bad or over-long key", src, (unsigned long long)r);
                break;
            }
            memcpy(key[k], (const char *)c->data + lo, len);
            key[k][len] = '\0';
        }
        if (s == RADI_OK && wanted(&p->subjects, p->all_subjects, key[0]) && wanted(&p->obs_ids, p->all_obs_ids, key[1])) {
            keep[r] = 1;
            nkeep++;
        }
    }
    for (uint32_t i = 0; i < ncols && s == RADI_OK; i++) {
        s = copy_column(&cols[i], rows, keep, nkeep, &cc[i]);
        bufs[i] = (radi_sparse_buffer){cols[i].name, cc[i].data.data ? (const void *)cc[i].data.data : (const void *)"",
                                       cc[i].data.len, cc[i].offsets, cc[i].validity};
    }
    if (s == RADI_OK) s = radi_array_open(ctx, dst, 0, 0, &b);
    if (s == RADI_OK) s = copy_meta(a, b);
    if (s == RADI_OK && nkeep) s = radi_array_write_sparse(b, ncols, bufs, nkeep, 0);
    if (s != RADI_OK) rdi_error_wrap(s, "copying %s", src);
    if (s == RADI_OK && kept) *kept = nkeep;
    for (uint32_t i = 0; cc && i < ncols; i++) {
        rdi_buf_free(&cc[i].data);
        free(cc[i].offsets);
        free(cc[i].validity);
    }
    free(cc);
    free(cols);
    free(bufs);
    free(keep);
    radi_sparse_query_free(q);
    radi_array_close(a);
    radi_array_close(b);
    return s;
}

/* ---------------------------------------------------------- volume copies -- */

typedef struct vol_copy_job {
    radi_ctx *ctx;
    const radi_volume_entry *const *rows; /* the kept rows, in obs order */
    const char *dst_volumes;
    uint64_t (*shapes)[3];                /* spatial shape of each copy */
    int move;                             /* move the volumes (radi_dataset_move*) */
} vol_copy_job;

/* Copies one volume's files to volumes/<i>; a volume that lacked its obs_id key (0.1.1
 * resolves by position) gets it, since the copy's positions differ. */
static radi_status vol_copy_task(void *arg, size_t i, unsigned worker)
{
    RDI_UNUSED(worker);
    const vol_copy_job *j = arg;
    char num[24];
    snprintf(num, sizeof num, "%zu", i);
    char *dst = rdi_path_join(j->dst_volumes, num);
    if (!dst) return RADI_E_NOMEM;
    radi_status s = j->move ? rdi_vfs_move(j->ctx->vfs, j->rows[i]->volume_uri, dst)
                            : rdi_vfs_copy_tree(j->ctx->vfs, j->rows[i]->volume_uri, dst);
    radi_volume *v = NULL;
    if (s == RADI_OK) s = radi_volume_open(j->ctx, dst, &v);
    if (s == RADI_OK) {
        radi_meta *m = radi_array_meta(radi_volume_array(v));
        radi_datatype t;
        uint32_t n;
        const void *val;
        if (radi_meta_get(m, K_OID, &t, &n, &val) != RADI_OK) s = rdi_meta_put_str(m, K_OID, j->rows[i]->obs_id);
        memcpy(j->shapes[i], radi_volume_shape(v), sizeof j->shapes[i]);
    }
    radi_volume_close(v);
    if (s != RADI_OK) rdi_error_wrap(s, "copying volume '%s'", j->rows[i]->obs_id);
    free(dst);
    return s;
}

/* The x/y/z_dim a collection's group declares: *has 1 and dims[0..2] set when all three
 * are there, else *has 0. */
static radi_status declared_dims(const radi_dataset *ds, const char *cname, int64_t *dims, int *has)
{
    char *uri = rdi_ds_coll_uri(ds, cname, NULL);
    if (!uri) return RADI_E_NOMEM;
    radi_group *g = NULL;
    radi_status s = radi_group_open(ds->ctx, uri, &g);
    free(uri);
    if (s != RADI_OK) return s;
    const radi_meta *m = radi_group_meta(g);
    *has = rdi_meta_get_i64(m, "x_dim", &dims[0]) && rdi_meta_get_i64(m, "y_dim", &dims[1]) &&
           rdi_meta_get_i64(m, "z_dim", &dims[2]);
    radi_group_close(g);
    return RADI_OK;
}

/* Writes collection ci (the picked rows) as a collection group at dst named `name`.
 * *nkept gets the number of volumes. standalone_root: dst is a new root the caller
 * holds (rdi_new_root_begin). move: the volumes are moved, not copied. */
static radi_status copy_collection_to(radi_dataset *ds, size_t ci, const picks *p, const char *dst, const char *name,
                                      uint64_t *nkept, int standalone_root, int move)
{
    RDI_TRY(rdi_ds_load_collection(ds, ci));
    const coll_cache *c = &ds->cache[ci];
    const char *cname = ds->collections.items[ci];
    const radi_volume_entry **rows = rdi_calloc(c->n ? (size_t)c->n : 1, sizeof *rows);
    if (!rows) return RADI_E_NOMEM;
    size_t n = 0;
    radi_status s = RADI_OK;
    for (uint64_t r = 0; r < c->n && s == RADI_OK; r++) {
        const radi_volume_entry *e = &c->entries[r];
        if (!wanted(&p->subjects, p->all_subjects, e->obs_subject_id) || !wanted(&p->obs_ids, p->all_obs_ids, e->obs_id))
            continue;
        if (!e->volume_uri)
            s = rdi_error(RADI_E_CORRUPT, "%s: collection '%s': obs row '%s' has no volume; run validate", ds->uri,
                          cname, e->obs_id);
        rows[n++] = e;
    }
    char *obs = rdi_path_join(dst, "obs"), *vols = rdi_path_join(dst, "volumes"),
         *src_obs = rdi_ds_coll_uri(ds, cname, "obs");
    uint64_t (*shapes)[3] = rdi_calloc(n ? n : 1, sizeof *shapes);
    if (s == RADI_OK && (!obs || !vols || !src_obs || !shapes)) s = RADI_E_NOMEM;
    /* A stand-alone copy's root is the caller's new root (it holds the lock and journal). */
    if (s == RADI_OK) s = standalone_root ? rdi_group_create_over(ds->ctx, dst) : radi_group_create(ds->ctx, dst);
    uint64_t nrows = 0;
    if (s == RADI_OK) s = copy_rows(ds->ctx, src_obs, obs, p, &nrows);
    if (s == RADI_OK && nrows != n)
        s = rdi_error(RADI_E_CORRUPT, "%s: collection '%s' changed during the copy", ds->uri, cname);
    if (s == RADI_OK) s = radi_group_create(ds->ctx, vols);
    vol_copy_job job = {ds->ctx, rows, vols, shapes, move};
    if (s == RADI_OK) s = rdi_pool_for(ds->ctx->pool, n, vol_copy_task, &job);
    radi_group *g = NULL;
    char **names = rdi_calloc(n ? n : 1, sizeof *names);
    if (s == RADI_OK && !names) s = RADI_E_NOMEM;
    for (size_t i = 0; i < n && s == RADI_OK; i++)
        if (!(names[i] = rdi_asprintf("%zu", i))) s = RADI_E_NOMEM;
    if (s == RADI_OK) s = radi_group_open(ds->ctx, vols, &g);
    if (s == RADI_OK) s = radi_group_add_members(g, n, (const char *const *)names, 1, (const char *const *)names);
    radi_group_close(g);
    g = NULL;
    /* Group metadata as 0.1.1 writes it: x/y/z_dim only when every volume agrees. A copy
     * without volumes keeps the dims its source declares (an empty collection created
     * with a shape, or an empty view of a uniform one), so appends still check them. */
    int uniform = n > 0;
    for (size_t i = 1; i < n; i++) uniform &= memcmp(shapes[i], shapes[0], sizeof shapes[0]) == 0;
    int64_t dims[4] = {(int64_t)n, uniform ? (int64_t)shapes[0][0] : 0, uniform ? (int64_t)shapes[0][1] : 0,
                       uniform ? (int64_t)shapes[0][2] : 0};
    if (s == RADI_OK && n == 0) s = declared_dims(ds, cname, &dims[1], &uniform);
    if (s == RADI_OK) s = radi_group_open(ds->ctx, dst, &g);
    if (s == RADI_OK) {
        radi_meta *m = radi_group_meta(g);
        radi_meta_item items[5] = {{"n_volumes", RADI_INT64, 1, &dims[0]},
                                   {"name", RADI_STRING_UTF8, (uint32_t)strlen(name), name},
                                   {"x_dim", RADI_INT64, 1, &dims[1]},
                                   {"y_dim", RADI_INT64, 1, &dims[2]},
                                   {"z_dim", RADI_INT64, 1, &dims[3]}};
        s = radi_meta_put_many(m, uniform ? 5 : 2, items);
    }
    const char *members[2] = {"volumes", "obs"};
    if (s == RADI_OK) s = radi_group_add_members(g, 2, members, 1, members);
    radi_group_close(g);
    for (size_t i = 0; names && i < n; i++) free(names[i]);
    free(names);
    free(shapes);
    free(rows);
    free(obs);
    free(vols);
    free(src_obs);
    if (s == RADI_OK && nkept) *nkept = n;
    return s;
}

/* ------------------------------------------------------------- public API -- */


static radi_status collection_to(radi_dataset *ds, const char *collection, const radi_selection *sel,
                                 const char *dst_uri, const char *name, int move)
{
    const char *op = move ? "move_collection" : "copy_collection";
    if (!ds || !collection || !dst_uri) return rdi_error(RADI_E_INVALID, "radi_dataset_%s: NULL argument", op);
    int64_t ci = rdi_ds_coll_index(ds, collection);
    if (ci < 0) return rdi_error(RADI_E_NOT_FOUND, "%s: no collection '%s'", ds->uri, collection);
    if (!name) name = collection;
    if (!rdi_ds_name_ok(name))
        return rdi_error(RADI_E_INVALID, "bad collection name '%s' (1-255 of A-Z a-z 0-9 _ . -)", name);
    rdi_new_root nr;
    RDI_TRY(rdi_new_root_begin(ds->ctx, dst_uri, op, 0, &nr));
    picks p;
    radi_status s = picks_make(ds, sel, &p);
    if (s == RADI_OK) {
        s = copy_collection_to(ds, (size_t)ci, &p, nr.root, name, NULL, 1, move);
        picks_free(&p);
    }
    return rdi_new_root_end(&nr, s);
}

radi_status radi_dataset_copy_collection(radi_dataset *ds, const char *collection, const radi_selection *sel,
                                         const char *dst_uri, const char *name)
{
    return collection_to(ds, collection, sel, dst_uri, name, 0);
}

radi_status radi_dataset_move_collection(radi_dataset *ds, const char *collection, const char *dst_uri,
                                         const char *name)
{
    return collection_to(ds, collection, NULL, dst_uri, name, 1);
}

static radi_status dataset_to(radi_dataset *ds, const char *dst_uri, const radi_selection *sel, int move)
{
    const char *op = move ? "move" : "materialize";
    if (!ds || !dst_uri) return rdi_error(RADI_E_INVALID, "radi_dataset_%s: NULL argument", op);
    if (ds->standalone)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: a stand-alone collection copies with radi_dataset_copy_collection",
                         ds->uri);
    RDI_TRY(rdi_ds_load(ds));
    for (size_t i = 0; sel && sel->collections && i < sel->n_collections; i++)
        if (rdi_ds_coll_index(ds, sel->collections[i]) < 0)
            return rdi_error(RADI_E_NOT_FOUND, "%s: no collection '%s' to copy", ds->uri, sel->collections[i]);
    picks p;
    RDI_TRY(picks_make(ds, sel, &p));
    /* The new dataset is made under its own lock and journal (create.c). */
    rdi_new_root nr;
    radi_status s = rdi_new_root_begin(ds->ctx, dst_uri, op, 0, &nr);
    if (s != RADI_OK) {
        picks_free(&p);
        return s;
    }
    const char *dst = nr.root;
    /* obs_meta keeps the picked subjects (all columns); obs_ids pick volumes only. */
    picks subjects_only = p;
    subjects_only.all_obs_ids = 1;
    char *src_om = rdi_path_join(ds->uri, "obs_meta"), *om = rdi_path_join(dst, "obs_meta"),
         *cl = rdi_path_join(dst, "collections");
    rdi_strlist names = RDI_STRLIST_INIT;
    s = src_om && om && cl ? rdi_group_create_over(ds->ctx, dst) : RADI_E_NOMEM;
    uint64_t nsub = 0;
    if (s == RADI_OK) s = copy_rows(ds->ctx, src_om, om, &subjects_only, NULL);
    if (s == RADI_OK) s = radi_group_create(ds->ctx, cl);
    for (size_t i = 0; i < ds->collections.n && s == RADI_OK; i++) {
        const char *name = ds->collections.items[i];
        int take = !sel || !sel->collections;
        for (size_t k = 0; !take && k < sel->n_collections; k++) take = strcmp(sel->collections[k], name) == 0;
        if (!take) continue;
        char *cu = rdi_path_join(cl, name);
        s = cu ? copy_collection_to(ds, i, &p, cu, name, NULL, 0, move) : RADI_E_NOMEM;
        if (s == RADI_OK) s = rdi_strlist_push(&names, name);
        free(cu);
    }
    radi_group *g = NULL;
    if (s == RADI_OK) s = radi_group_open(ds->ctx, cl, &g);
    if (s == RADI_OK)
        s = radi_group_add_members(g, names.n, (const char *const *)names.items, 1,
                                   (const char *const *)names.items);
    radi_group_close(g);
    g = NULL;
    /* subject_count as 0.1.1 keeps it: the distinct subjects of obs_meta. */
    if (s == RADI_OK) nsub = p.all_subjects ? ds->subjects.n : p.subjects.n;
    if (s == RADI_OK) s = rdi_ds_write_root(ds->ctx, dst, (int64_t)nsub, (int64_t)names.n);
    rdi_strlist_free(&names);
    picks_free(&p);
    free(src_om);
    free(om);
    free(cl);
    return rdi_new_root_end(&nr, s);
}

radi_status radi_dataset_materialize(radi_dataset *ds, const char *dst_uri, const radi_selection *sel)
{
    return dataset_to(ds, dst_uri, sel, 0);
}

radi_status radi_dataset_move(radi_dataset *ds, const char *dst_uri)
{
    return dataset_to(ds, dst_uri, NULL, 1);
}

/* What an import checks before it writes: a new name, and an obs_meta row here for
 * every subject of the copy (validate's foreign key). */
static radi_status import_check(radi_dataset *ds, radi_dataset *src, size_t ci, const picks *p, const char *name)
{
    RDI_TRY(rdi_ds_load(ds));
    RDI_TRY(rdi_ds_check_new_collection(ds, name));
    const coll_cache *c = &src->cache[ci];
    for (uint64_t r = 0; r < c->n; r++) {
        const radi_volume_entry *e = &c->entries[r];
        if (!wanted(&p->subjects, p->all_subjects, e->obs_subject_id) || !wanted(&p->obs_ids, p->all_obs_ids, e->obs_id))
            continue;
        if (!rdi_strlist_has_sorted(&ds->subjects, e->obs_subject_id, strlen(e->obs_subject_id)))
            return rdi_error(RADI_E_INVALID, "%s: subject '%s' of collection '%s' (%s) has no obs_meta row here; "
                             "write its row first", ds->uri, e->obs_subject_id, src->collections.items[ci], src->uri);
    }
    return RADI_OK;
}

/* The writes of an import, inside the caller's journal: the copy, then the root counts,
 * then the registration (the change that makes it visible). *u records the counts. */
static radi_status import_write(radi_dataset *ds, radi_dataset *src, size_t ci, const picks *p, const char *name,
                                const char *cu, meta_undo *u)
{
    RDI_TRY(copy_collection_to(src, ci, p, cu, name, NULL, 0, 0));
    RDI_TRY(rdi_ds_update_root_counts(ds, (int64_t)ds->collections.n + 1, u));
    return rdi_ds_register_collection(ds, name);
}

/* Adds a copy of src's collection to ds (locked), under its own journal. */
static radi_status import_locked(radi_dataset *ds, radi_dataset *src, size_t ci, const picks *p, const char *name)
{
    RDI_TRY(import_check(ds, src, ci, p, name));
    rdi_journal *jr = NULL;
    char *cu = rdi_ds_coll_uri(ds, name, NULL);
    radi_status s = cu ? rdi_ds_journal_new_collection(ds, name, "import_collection", &jr) : RADI_E_NOMEM;
    if (s == RADI_OK) {
        meta_undo u = {0};
        s = import_write(ds, src, ci, p, name, cu, &u);
        if (s != RADI_OK) {
            rdi_ds_undo_meta(ds, name, 1, &u);
            rdi_ds_undo(ds->ctx, cu, s);
        }
    }
    free(cu);
    s = rdi_journal_finish(jr, s);
    radi_status l = rdi_ds_load(ds);
    return s != RADI_OK ? s : l;
}

/* src's collection, loaded, and the selection normalized: what every import starts from. */
static radi_status import_source(radi_dataset *src, const char *collection, const radi_selection *sel, size_t *ci,
                                 picks *p)
{
    RDI_TRY(rdi_ds_load(src));
    int64_t i = rdi_ds_coll_index(src, collection);
    if (i < 0) return rdi_error(RADI_E_NOT_FOUND, "%s: no collection '%s'", src->uri, collection);
    RDI_TRY(rdi_ds_load_collection(src, (size_t)i));
    *ci = (size_t)i;
    return picks_make(src, sel, p);
}

radi_status rdi_ds_import_journaled(radi_dataset *ds, radi_dataset *src, const char *collection,
                                    const radi_selection *sel, const char *name)
{
    size_t ci;
    picks p;
    RDI_TRY(import_source(src, collection, sel, &ci, &p));
    if (!name) name = collection;
    radi_status s = import_check(ds, src, ci, &p, name);
    char *cu = s == RADI_OK ? rdi_ds_coll_uri(ds, name, NULL) : NULL;
    if (s == RADI_OK && !cu) s = RADI_E_NOMEM;
    meta_undo u = {0};
    if (s == RADI_OK) s = import_write(ds, src, ci, &p, name, cu, &u);
    free(cu);
    picks_free(&p);
    return s == RADI_OK ? rdi_ds_load(ds) : s;
}

radi_status rdi_ds_copy_subjects(radi_dataset *src, const char *collection, const radi_selection *sel,
                                 rdi_strlist *out)
{
    size_t ci;
    picks p;
    RDI_TRY(import_source(src, collection, sel, &ci, &p));
    const coll_cache *c = &src->cache[ci];
    radi_status s = RADI_OK;
    for (uint64_t r = 0; r < c->n && s == RADI_OK; r++) {
        const radi_volume_entry *e = &c->entries[r];
        if (wanted(&p.subjects, p.all_subjects, e->obs_subject_id) && wanted(&p.obs_ids, p.all_obs_ids, e->obs_id))
            s = rdi_strlist_push(out, e->obs_subject_id);
    }
    picks_free(&p);
    return s;
}

radi_status radi_dataset_import_collection(radi_dataset *ds, radi_dataset *src, const char *collection,
                                           const radi_selection *sel, const char *name)
{
    if (!ds || !src || !collection) return rdi_error(RADI_E_INVALID, "radi_dataset_import_collection: NULL argument");
    if (ds == src) return rdi_error(RADI_E_INVALID, "%s: import from the dataset itself", ds->uri);
    RDI_TRY(rdi_ds_refuse_standalone(ds, "importing a collection"));
    size_t ci;
    picks p;
    RDI_TRY(import_source(src, collection, sel, &ci, &p));
    rdi_lock_hold hold;
    radi_status s = rdi_ds_lock(ds, &hold);
    if (s == RADI_OK) s = rdi_ds_unlock(&hold, import_locked(ds, src, ci, &p, name ? name : collection));
    picks_free(&p);
    return s;
}
