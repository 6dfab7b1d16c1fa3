/*
 * Datasets in RadiObject 0.1.1's layout (docs/dataset.md): groups, obs and
 * obs_meta dataframes, volumes resolved by their obs_id metadata, NIfTI ingest, validation.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "radi/nifti.h"
#include "io/nifti.h"
#include "model/dataset.h"

/* ------------------------------------------------------------ small helpers -- */

radi_status rdi_meta_put_str(radi_meta *m, const char *key, const char *v)
{
    return radi_meta_put(m, key, RADI_STRING_UTF8, (uint32_t)strlen(v), v);
}

radi_status rdi_meta_put_i64(radi_meta *m, const char *key, int64_t v)
{
    return radi_meta_put(m, key, RADI_INT64, 1, &v);
}

int rdi_meta_get_i64(const radi_meta *m, const char *key, int64_t *v)
{
    radi_datatype t;
    uint32_t n;
    const void *p;
    if (radi_meta_get(m, key, &t, &n, &p) != RADI_OK || n != 1) return 0;
    if (t == RADI_INT64 || t == RADI_UINT64) memcpy(v, p, 8);
    else if (t == RADI_INT32) { int32_t x; memcpy(&x, p, 4); *v = x; }
    else return 0;
    return 1;
}

/* A string key's value as a fresh string, NULL if absent or not a string. */
char *rdi_meta_get_str(const radi_meta *m, const char *key)
{
    radi_datatype t;
    uint32_t n;
    const void *p;
    if (radi_meta_get(m, key, &t, &n, &p) != RADI_OK) return NULL;
    if (t != RADI_STRING_UTF8 && t != RADI_STRING_ASCII && t != RADI_CHAR) return NULL;
    return rdi_strndup(p, n);
}

int rdi_ds_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 255 || s[0] == '.') return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* Identifiers are STRING_ASCII dimension values: printable ASCII, non-empty. */
static int id_ok(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) return 0;
    return 1;
}

/* A var-size column under construction (bytes plus start offsets). */
typedef struct varcol {
    rdi_buf data;
    uint64_t *off;
} varcol;

static radi_status varcol_push(varcol *c, uint64_t i, const char *s)
{
    c->off[i] = c->data.len;
    return rdi_buf_append(&c->data, s, strlen(s));
}

/* Every row's values of the string columns `cols` (ncols of them) of a sparse array,
 * in global order, appended to lists[k]. */
radi_status rdi_ds_read_str_cols(radi_ctx *ctx, const char *uri, uint32_t ncols,
                                 const char *const *cols, rdi_strlist *lists)
{
    radi_array *a = NULL;
    radi_sparse_query *q = NULL;
    RDI_TRY(radi_array_open(ctx, uri, 0, 0, &a));
    radi_status s = radi_sparse_query_create(a, &q);
    if (s == RADI_OK) s = radi_sparse_query_set_columns(q, ncols, cols);
    if (s == RADI_OK) s = radi_sparse_query_submit(q, NULL);
    uint64_t rows = s == RADI_OK ? radi_sparse_query_rows(q) : 0;
    for (uint32_t k = 0; k < ncols && s == RADI_OK; k++) {
        radi_sparse_column c;
        s = radi_sparse_query_column(q, k, &c);
        if (s == RADI_OK && rows && !c.offsets)
            s = rdi_error(RADI_E_CORRUPT, "%s: column '%s' is not a string column", uri, cols[k]);
        for (uint64_t r = 0; r < rows && s == RADI_OK; r++) {
            uint64_t b = c.offsets[r], e = r + 1 < rows ? c.offsets[r + 1] : c.data_size;
            if (b > e || e > c.data_size) {
                s = rdi_error(RADI_E_CORRUPT, "%s: bad offsets in column '%s'", uri, cols[k]);
                break;
            }
            char *str = rdi_strndup((const char *)c.data + b, (size_t)(e - b));
            s = str ? rdi_strlist_push_owned(&lists[k], str) : RADI_E_NOMEM;
        }
    }
    radi_sparse_query_free(q);
    radi_array_close(a);
    return s;
}

static radi_status read_keys(radi_ctx *ctx, const char *uri, rdi_strlist *sids, rdi_strlist *oids)
{
    const char *cols[2] = {K_SID, K_OID};
    rdi_strlist l[2] = {RDI_STRLIST_INIT, RDI_STRLIST_INIT};
    radi_status s = rdi_ds_read_str_cols(ctx, uri, 2, cols, l);
    if (s != RADI_OK) {
        rdi_strlist_free(&l[0]);
        rdi_strlist_free(&l[1]);
        return s;
    }
    *sids = l[0];
    *oids = l[1];
    return RADI_OK;
}

/* A sparse dataframe schema with the two ASCII key dimensions and the given attributes. */
static radi_status frame_schema(uint32_t nattr, const char *const *names, const radi_datatype *types,
                                radi_schema **out)
{
    radi_schema *s = NULL;
    RDI_TRY(radi_schema_create(RADI_SPARSE, &s));
    radi_filter_list fl;
    radi_filter_list_init(&fl);
    radi_status st = radi_filter_list_add(&fl, RADI_FILTER_ZSTD, 3);
    if (st == RADI_OK) st = radi_schema_add_dim(s, K_SID, RADI_STRING_ASCII, NULL, NULL, NULL, NULL);
    if (st == RADI_OK) st = radi_schema_add_dim(s, K_OID, RADI_STRING_ASCII, NULL, NULL, NULL, NULL);
    for (uint32_t i = 0; i < nattr && st == RADI_OK; i++) {
        int var = types[i] == RADI_STRING_UTF8;
        st = radi_schema_add_attr(s, names[i], types[i], var ? RADI_VAR_NUM : 1, 0, &fl, NULL, 0);
    }
    if (st != RADI_OK) {
        radi_schema_free(s);
        return st;
    }
    *out = s;
    return RADI_OK;
}

/* Opens group `uri`, adds the relative member `name`, closes. */
radi_status rdi_ds_add_member(radi_ctx *ctx, const char *uri, const char *name)
{
    radi_group *g = NULL;
    RDI_TRY(radi_group_open(ctx, uri, &g));
    radi_status s = radi_group_add_member(g, name, 1, name);
    radi_group_close(g);
    return s;
}

/* Removes what a failed operation created, keeping the original message. */
radi_status rdi_ds_undo(radi_ctx *ctx, const char *uri, radi_status st)
{
    char *why = rdi_strdup(radi_errmsg());
    radi_object_remove(ctx, uri);
    rdi_error(st, "%s", why ? why : "failed");
    free(why);
    return st;
}

/* ---------------------------------------------------------------- create -- */

/* A caller's obs_meta schema must be sparse and keyed by exactly the two ASCII dims. */
static radi_status check_obs_meta_schema(const char *uri, const radi_schema *sc)
{
    radi_schema_info si;
    RDI_TRY(radi_schema_get_info(sc, &si));
    const char *want[2] = {K_SID, K_OID};
    int ok = si.type == RADI_SPARSE && si.ndim == 2;
    for (uint32_t d = 0; ok && d < 2; d++) {
        radi_dim_info di;
        RDI_TRY(radi_schema_get_dim(sc, d, &di));
        ok = strcmp(di.name, want[d]) == 0 && di.type == RADI_STRING_ASCII;
    }
    if (!ok)
        return rdi_error(RADI_E_INVALID, "%s: obs_meta schema must be sparse with dimensions obs_subject_id, obs_id "
                         "(STRING_ASCII) in that order", uri);
    return RADI_OK;
}

radi_status radi_dataset_create(radi_ctx *ctx, const char *uri)
{
    return radi_dataset_create_with_obs_meta(ctx, uri, NULL);
}

radi_status radi_dataset_create_with_obs_meta(radi_ctx *ctx, const char *uri, const radi_schema *obs_meta)
{
    if (!ctx || !uri) return rdi_error(RADI_E_INVALID, "radi_dataset_create: NULL argument");
    if (obs_meta) RDI_TRY(check_obs_meta_schema(uri, obs_meta));
    char *root = rdi_uri_normalize(uri);
    if (!root) return RADI_E_NOMEM;
    char *om = rdi_path_join(root, "obs_meta"), *cl = rdi_path_join(root, "collections");
    radi_schema *sc = NULL;
    radi_group *g = NULL;
    radi_status s = om && cl ? radi_group_create(ctx, root) : RADI_E_NOMEM;
    if (s != RADI_OK) goto out;
    if (!obs_meta) s = frame_schema(0, NULL, NULL, &sc);
    if (s == RADI_OK) s = radi_array_create(ctx, om, obs_meta ? obs_meta : sc);
    if (s == RADI_OK) s = radi_group_create(ctx, cl);
    if (s == RADI_OK) s = radi_group_open(ctx, root, &g);
    if (s == RADI_OK) s = rdi_meta_put_i64(radi_group_meta(g), "subject_count", 0);
    if (s == RADI_OK) s = rdi_meta_put_i64(radi_group_meta(g), "n_collections", 0);
    if (s == RADI_OK) s = radi_group_add_member(g, "obs_meta", 1, "obs_meta");
    if (s == RADI_OK) s = radi_group_add_member(g, "collections", 1, "collections");
    radi_group_close(g);
    if (s != RADI_OK) rdi_ds_undo(ctx, root, s);
out:
    radi_schema_free(sc);
    free(om);
    free(cl);
    free(root);
    return s;
}

/* ------------------------------------------------------------------ open -- */

static void cache_clear(coll_cache *c)
{
    free(c->entries);
    rdi_strlist_free(&c->strs);
    memset(c, 0, sizeof *c);
}

static void ds_clear_lists(radi_dataset *ds)
{
    for (size_t i = 0; ds->cache && i < ds->collections.n; i++) cache_clear(&ds->cache[i]);
    free(ds->cache);
    ds->cache = NULL;
    rdi_strlist_free(&ds->collections);
    rdi_strlist_free(&ds->subjects);
}

char *rdi_ds_coll_uri(const radi_dataset *ds, const char *name, const char *child)
{
    char *c = ds->standalone ? rdi_strdup(ds->uri) : rdi_asprintf("%s/collections/%s", ds->uri, name);
    if (!c || !child) return c;
    char *r = rdi_path_join(c, child);
    free(c);
    return r;
}

/* A stand-alone collection: its name (metadata `name`, else the URI's last component)
 * and the distinct subjects of its obs. */
static radi_status load_standalone(radi_dataset *ds)
{
    radi_group *g = NULL;
    RDI_TRY(radi_group_open(ds->ctx, ds->uri, &g));
    radi_status cs = rdi_ds_confine_group(ds, g, ds->uri, NULL);
    char *name = cs == RADI_OK ? rdi_meta_get_str(radi_group_meta(g), "name") : NULL;
    radi_group_close(g);
    if (cs != RADI_OK) return cs;
    if (!name) {
        size_t bl;
        const char *b = rdi_path_basename(ds->uri, &bl);
        if (!(name = rdi_strndup(b, bl))) return RADI_E_NOMEM;
    }
    radi_status s = rdi_strlist_push_owned(&ds->collections, name);
    if (s == RADI_OK && !(ds->cache = rdi_calloc(1, sizeof *ds->cache))) s = RADI_E_NOMEM;
    if (s == RADI_OK) s = rdi_ds_load_collection(ds, 0);
    rdi_strlist sids = RDI_STRLIST_INIT;
    for (uint64_t r = 0; s == RADI_OK && r < ds->cache[0].n; r++)
        s = rdi_strlist_push(&sids, ds->cache[0].entries[r].obs_subject_id);
    /* obs is in (subject, obs_id) order, so a subject's rows are adjacent. */
    for (size_t i = 0; s == RADI_OK && i < sids.n; i++)
        if (i == 0 || strcmp(sids.items[i], sids.items[i - 1]) != 0) s = rdi_strlist_push(&ds->subjects, sids.items[i]);
    rdi_strlist_free(&sids);
    return s;
}

/* (Re)reads collection names and subject ids. */
radi_status rdi_ds_load(radi_dataset *ds)
{
    ds_clear_lists(ds);
    ds->subjects_unread = 0;
    if (ds->standalone) return load_standalone(ds);
    char *cl = rdi_path_join(ds->uri, "collections"), *om = rdi_path_join(ds->uri, "obs_meta");
    radi_group *g = NULL;
    uint8_t *bad = NULL;
    /* The root's members (obs_meta, collections) and the collections themselves must
     * stay inside the dataset (confine.c) before anything is read through them. */
    radi_status s = cl && om ? rdi_ds_confine_uri(ds, ds->uri) : RADI_E_NOMEM;
    if (s == RADI_OK) {
        s = radi_group_open(ds->ctx, cl, &g);
        /* A storage failure (an S3 server gone, say) says nothing about what is there:
         * only what was read and found wanting makes the URI "not a dataset". */
        if (s == RADI_E_IO) s = rdi_error_wrap(s, "%s: cannot read the dataset", ds->uri);
        else if (s != RADI_OK && s != RADI_E_NOMEM) s = rdi_error_wrap(s, "%s: not a RadiObject dataset", ds->uri);
    }
    uint64_t nmem = s == RADI_OK ? radi_group_member_count(g) : 0;
    if (nmem && !(bad = rdi_calloc((size_t)nmem, 1))) s = RADI_E_NOMEM;
    if (s == RADI_OK) s = rdi_ds_confine_group(ds, g, cl, bad);
    for (uint64_t i = 0; s == RADI_OK && i < nmem; i++) {
        radi_group_member m;
        if (bad[i]) continue;
        s = radi_group_member_at(g, i, &m);
        if (s != RADI_OK) break;
        size_t bl;
        const char *nm = m.name;
        char *tmp = NULL;
        if (!nm) {
            const char *b = rdi_path_basename(m.uri, &bl);
            nm = tmp = rdi_strndup(b, bl);
        }
        s = nm ? rdi_strlist_push(&ds->collections, nm) : RADI_E_NOMEM;
        free(tmp);
    }
    free(bad);
    radi_group_close(g);
    if (s == RADI_OK && ds->collections.n &&
        !(ds->cache = rdi_calloc(ds->collections.n, sizeof *ds->cache)))
        s = RADI_E_NOMEM;
    if (s == RADI_OK) {
        const char *col = K_SID;
        rdi_strlist sids = RDI_STRLIST_INIT;
        s = rdi_ds_read_str_cols(ds->ctx, om, 1, &col, &sids);
        if (s != RADI_OK && s != RADI_E_NOMEM && ds->notes) {
            /* validate: reported, and its subject checks skipped */
            s = rdi_strlist_push_owned(ds->notes, rdi_asprintf("%s: cannot be read: %s", om, radi_errmsg()));
            ds->subjects_unread = 1;
        }
        /* Global order sorts by subject first, so duplicates are adjacent. */
        for (size_t i = 0; s == RADI_OK && i < sids.n; i++)
            if (i == 0 || strcmp(sids.items[i], sids.items[i - 1]) != 0)
                s = rdi_strlist_push(&ds->subjects, sids.items[i]);
        rdi_strlist_free(&sids);
    }
    free(cl);
    free(om);
    return s;
}

static radi_status open_as(radi_ctx *ctx, const char *uri, int standalone, radi_dataset **out)
{
    radi_object_type t;
    RDI_TRY(radi_object_type_of(ctx, uri, &t));
    if (t != RADI_OBJECT_GROUP)
        return rdi_error(RADI_E_NOT_FOUND, "%s: no %s (not a TileDB group)", uri, standalone ? "collection" : "dataset");
    radi_dataset *ds = rdi_calloc(1, sizeof *ds);
    if (!ds) return RADI_E_NOMEM;
    ds->ctx = ctx;
    ds->standalone = standalone;
    radi_status s = (ds->uri = rdi_uri_normalize(uri)) ? rdi_ds_load(ds) : RADI_E_NOMEM;
    if (s != RADI_OK) {
        radi_dataset_close(ds);
        return s;
    }
    *out = ds;
    return RADI_OK;
}

radi_status radi_dataset_open(radi_ctx *ctx, const char *uri, radi_dataset **out)
{
    if (!ctx || !uri || !out) return rdi_error(RADI_E_INVALID, "radi_dataset_open: NULL argument");
    return open_as(ctx, uri, 0, out);
}

radi_status radi_collection_open(radi_ctx *ctx, const char *uri, radi_dataset **out)
{
    if (!ctx || !uri || !out) return rdi_error(RADI_E_INVALID, "radi_collection_open: NULL argument");
    return open_as(ctx, uri, 1, out);
}

int radi_dataset_is_collection(const radi_dataset *ds) { return ds ? ds->standalone : 0; }

/* Writes go through a dataset: a stand-alone collection has no root to keep consistent. */
static radi_status refuse_standalone(const radi_dataset *ds, const char *what)
{
    if (!ds->standalone) return RADI_OK;
    return rdi_error(RADI_E_UNSUPPORTED, "%s: %s needs a dataset; this is a stand-alone collection", ds->uri, what);
}

void radi_dataset_close(radi_dataset *ds)
{
    if (!ds) return;
    ds_clear_lists(ds);
    free(ds->uri);
    free(ds);
}

const char *radi_dataset_uri(const radi_dataset *ds) { return ds ? ds->uri : NULL; }
uint64_t radi_dataset_collection_count(const radi_dataset *ds) { return ds ? ds->collections.n : 0; }
const char *radi_dataset_collection_name(const radi_dataset *ds, uint64_t i)
{
    return ds && i < ds->collections.n ? ds->collections.items[i] : NULL;
}
uint64_t radi_dataset_subject_count(const radi_dataset *ds) { return ds ? ds->subjects.n : 0; }
const char *radi_dataset_subject_id(const radi_dataset *ds, uint64_t i)
{
    return ds && i < ds->subjects.n ? ds->subjects.items[i] : NULL;
}

int64_t rdi_ds_coll_index(const radi_dataset *ds, const char *name)
{
    for (size_t i = 0; i < ds->collections.n; i++)
        if (strcmp(ds->collections.items[i], name) == 0) return (int64_t)i;
    return -1;
}

/* Every member of <collection>/volumes with the obs_id its metadata holds. */
radi_status rdi_ds_list_volumes(radi_dataset *ds, const char *coll, vol_member **out, size_t *nout)
{
    char *vu = rdi_ds_coll_uri(ds, coll, "volumes");
    if (!vu) return RADI_E_NOMEM;
    radi_group *g = NULL;
    vol_member *v = NULL;
    size_t n = 0;
    uint8_t *bad = NULL;
    radi_status s = radi_group_open(ds->ctx, vu, &g);
    uint64_t nm = s == RADI_OK ? radi_group_member_count(g) : 0;
    if (s == RADI_OK && nm && !(v = rdi_calloc((size_t)nm, sizeof *v))) s = RADI_E_NOMEM;
    if (s == RADI_OK && nm && !(bad = rdi_calloc((size_t)nm, 1))) s = RADI_E_NOMEM;
    if (s == RADI_OK) s = rdi_ds_confine_group(ds, g, vu, bad);
    for (uint64_t i = 0; s == RADI_OK && i < nm; i++) {
        radi_group_member m;
        if (bad[i]) continue;
        s = radi_group_member_at(g, i, &m);
        if (s != RADI_OK) break;
        v[n].name = rdi_member_segment(&m);
        if (!v[n].name) { s = RADI_E_NOMEM; break; }
        /* Built by concatenation as 0.1.1 does, so moved datasets with stale absolute
         * member URIs still resolve. */
        char *au = rdi_path_join(vu, v[n].name);
        radi_meta meta;
        s = au ? rdi_meta_load(ds->ctx, au, 0, UINT64_MAX, ds->ctx->config.format_version, &meta)
               : RADI_E_NOMEM;
        if (s == RADI_OK) v[n].obs_id = rdi_meta_get_str(&meta, K_OID);
        else if (s != RADI_E_NOMEM && ds->notes) {
            /* validate: one line, and the volume counts as one without obs_id */
            s = rdi_strlist_push_owned(ds->notes, rdi_asprintf("%s: metadata cannot be read: %s", au, radi_errmsg()));
            v[n].meta_bad = 1;
        }
        rdi_meta_clear(&meta);
        free(au);
        n++;
    }
    free(bad);
    radi_group_close(g);
    free(vu);
    if (s != RADI_OK) {
        for (size_t i = 0; i < n; i++) { free(v[i].name); free(v[i].obs_id); }
        free(v);
        return s;
    }
    *out = v;
    *nout = n;
    return RADI_OK;
}

char *rdi_member_segment(const radi_group_member *m)
{
    if (m->name) return rdi_strdup(m->name);
    size_t bl;
    const char *b = rdi_path_basename(m->uri, &bl);
    return rdi_strndup(b, bl);
}

void rdi_ds_free_members(vol_member *v, size_t n)
{
    for (size_t i = 0; i < n; i++) { free(v[i].name); free(v[i].obs_id); }
    free(v);
}

/* Parses a decimal member name ("0", "12"); -1 otherwise. */
int64_t rdi_ds_member_pos(const char *s)
{
    if (!*s || strlen(s) > 15) return -1;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

/* The obs rows of collection `name` as entries without volumes (strings owned by nc). */
static radi_status load_entries(radi_dataset *ds, const char *name, coll_cache *nc)
{
    char *obs = rdi_ds_coll_uri(ds, name, "obs");
    rdi_strlist sids = RDI_STRLIST_INIT, oids = RDI_STRLIST_INIT;
    radi_status s = obs ? read_keys(ds->ctx, obs, &sids, &oids) : RADI_E_NOMEM;
    nc->n = sids.n;
    if (s == RADI_OK && nc->n && !(nc->entries = rdi_calloc((size_t)nc->n, sizeof *nc->entries))) s = RADI_E_NOMEM;
    /* The strings move into nc->strs; entries point at them. */
    for (size_t i = 0; s == RADI_OK && i < sids.n; i++) {
        s = rdi_strlist_push_owned(&nc->strs, sids.items[i]);
        if (s == RADI_OK) { nc->entries[i].obs_subject_id = sids.items[i]; sids.items[i] = NULL; }
        if (s == RADI_OK) s = rdi_strlist_push_owned(&nc->strs, oids.items[i]);
        if (s == RADI_OK) { nc->entries[i].obs_id = oids.items[i]; oids.items[i] = NULL; }
    }
    for (size_t i = 0; i < sids.n; i++) free(sids.items[i]);
    for (size_t i = 0; i < oids.n; i++) free(oids.items[i]);
    free(sids.items);
    free(oids.items);
    free(obs);
    return s;
}

/* Sets entry `row`'s volume to <collection>/volumes/<member>. */
static radi_status place_entry(radi_dataset *ds, const char *name, coll_cache *nc, uint64_t row, const char *member)
{
    char *u = rdi_ds_coll_uri(ds, name, "volumes");
    char *vu = u ? rdi_path_join(u, member) : NULL;
    free(u);
    radi_status s = vu ? rdi_strlist_push_owned(&nc->strs, vu) : RADI_E_NOMEM;
    if (s == RADI_OK) nc->entries[row].volume_uri = vu;
    return s;
}

radi_status rdi_ds_load_collection_hint(radi_dataset *ds, size_t ci)
{
    coll_cache *c = &ds->cache[ci];
    if (c->loaded) return RADI_OK;
    if (!(rdi_vfs_flags(ds->ctx->vfs, ds->uri) & RDI_VFS_REMOTE)) return rdi_ds_load_collection(ds, ci);
    const char *name = ds->collections.items[ci];
    coll_cache nc = {0};
    radi_status s = rdi_ds_confine_collection(ds, name);
    if (s == RADI_OK) s = load_entries(ds, name, &nc);
    char *vu = s == RADI_OK ? rdi_ds_coll_uri(ds, name, "volumes") : NULL;
    radi_group *g = NULL;
    if (s == RADI_OK) s = vu ? radi_group_open(ds->ctx, vu, &g) : RADI_E_NOMEM;
    /* Strict: a member leaving the dataset is refused here; lenient never gets here
     * (validate loads collections fully). */
    if (s == RADI_OK) s = rdi_ds_confine_group(ds, g, vu, NULL);
    /* Positions apply only when the members are exactly "0".."n-1" for n obs rows. */
    int exact = s == RADI_OK && radi_group_member_count(g) == nc.n;
    uint8_t *seen = exact && nc.n ? rdi_calloc((size_t)nc.n, 1) : NULL;
    if (exact && nc.n && !seen) s = RADI_E_NOMEM;
    for (uint64_t i = 0; s == RADI_OK && exact && i < nc.n; i++) {
        radi_group_member m;
        s = radi_group_member_at(g, i, &m);
        int64_t p = s == RADI_OK && m.name ? rdi_ds_member_pos(m.name) : -1;
        if (p < 0 || (uint64_t)p >= nc.n || seen[p]) exact = 0;
        else seen[p] = 1;
    }
    free(seen);
    radi_group_close(g);
    free(vu);
    for (uint64_t r = 0; s == RADI_OK && exact && r < nc.n; r++) {
        char num[24];
        snprintf(num, sizeof num, "%llu", (unsigned long long)r);
        s = place_entry(ds, name, &nc, r, num);
    }
    if (s != RADI_OK || !exact) {
        cache_clear(&nc);
        if (s != RADI_OK) return rdi_error_wrap(s, "%s: collection '%s'", ds->uri, name);
        return rdi_ds_load_collection(ds, ci);
    }
    nc.loaded = 1;
    nc.positional = 1;
    *c = nc;
    return RADI_OK;
}

radi_status rdi_ds_load_collection(radi_dataset *ds, size_t ci)
{
    coll_cache *c = &ds->cache[ci];
    if (c->loaded && !c->positional) return RADI_OK;
    if (c->loaded) cache_clear(c);
    const char *name = ds->collections.items[ci];
    vol_member *v = NULL;
    size_t nv = 0;
    coll_cache nc = {0};
    radi_status s = rdi_ds_confine_collection(ds, name);
    if (s == RADI_OK) s = load_entries(ds, name, &nc);
    if (s == RADI_OK) s = rdi_ds_list_volumes(ds, name, &v, &nv);
    /* First by the volume's own obs_id; then volumes without one, by 0.1.1's position. */
    for (int pass = 0; pass < 2 && s == RADI_OK; pass++) {
        for (size_t k = 0; k < nv && s == RADI_OK; k++) {
            int64_t row = -1;
            if (pass == 0 && v[k].obs_id) {
                for (uint64_t r = 0; r < nc.n; r++)
                    if (!nc.entries[r].volume_uri && strcmp(nc.entries[r].obs_id, v[k].obs_id) == 0) {
                        row = (int64_t)r;
                        break;
                    }
            } else if (pass == 1 && !v[k].obs_id) {
                int64_t p = rdi_ds_member_pos(v[k].name);
                if (p >= 0 && (uint64_t)p < nc.n && !nc.entries[p].volume_uri) row = p;
            }
            if (row < 0) continue;
            s = place_entry(ds, name, &nc, (uint64_t)row, v[k].name);
        }
    }
    rdi_ds_free_members(v, nv);
    if (s != RADI_OK) {
        cache_clear(&nc);
        return rdi_error_wrap(s, "%s: collection '%s'", ds->uri, name);
    }
    nc.loaded = 1;
    *c = nc;
    return RADI_OK;
}

radi_status radi_dataset_volumes(radi_dataset *ds, const char *collection,
                                 const radi_volume_entry **entries, uint64_t *count)
{
    if (!ds || !collection || !entries || !count)
        return rdi_error(RADI_E_INVALID, "radi_dataset_volumes: NULL argument");
    int64_t ci = rdi_ds_coll_index(ds, collection);
    if (ci < 0) return rdi_error(RADI_E_NOT_FOUND, "%s: no collection '%s'", ds->uri, collection);
    RDI_TRY(rdi_ds_load_collection_hint(ds, (size_t)ci));
    *entries = ds->cache[ci].entries;
    *count = ds->cache[ci].n;
    return RADI_OK;
}

/* Whether the open volume holds obs_id (its metadata says so). */
static int holds_obs_id(radi_volume *v, const char *obs_id)
{
    char *got = rdi_meta_get_str(radi_array_meta(radi_volume_array(v)), K_OID);
    int same = got && strcmp(got, obs_id) == 0;
    free(got);
    return same;
}

radi_status radi_dataset_open_volume(radi_dataset *ds, const char *collection, const char *obs_id,
                                     radi_volume **out)
{
    if (!obs_id || !out) return rdi_error(RADI_E_INVALID, "radi_dataset_open_volume: NULL argument");
    const radi_volume_entry *e;
    uint64_t n;
    RDI_TRY(radi_dataset_volumes(ds, collection, &e, &n));
    for (uint64_t i = 0; i < n; i++) {
        if (strcmp(e[i].obs_id, obs_id) != 0) continue;
        if (!e[i].volume_uri)
            return rdi_error(RADI_E_NOT_FOUND, "%s: collection '%s': no volume holds obs_id '%s'", ds->uri,
                             collection, obs_id);
        int64_t ci = rdi_ds_coll_index(ds, collection);
        if (!ds->cache[ci].positional) return radi_volume_open(ds->ctx, e[i].volume_uri, out);
        /* Placed by position: what opens must hold this obs_id, else resolve fully. */
        radi_volume *v = NULL;
        radi_status s = radi_volume_open(ds->ctx, e[i].volume_uri, &v);
        if (s == RADI_OK && holds_obs_id(v, obs_id)) {
            *out = v;
            return RADI_OK;
        }
        radi_volume_close(v);
        if (s != RADI_OK && s != RADI_E_NOT_FOUND) return s;
        /* The caller's strings may be the cache's own, which the reload frees. */
        char *oid = rdi_strdup(obs_id), *coll = rdi_strdup(collection);
        s = oid && coll ? rdi_ds_load_collection(ds, (size_t)ci) : RADI_E_NOMEM;
        if (s == RADI_OK) s = radi_dataset_open_volume(ds, coll, oid, out);
        free(oid);
        free(coll);
        return s;
    }
    return rdi_error(RADI_E_NOT_FOUND, "%s: collection '%s' has no obs_id '%s'", ds->uri, collection, obs_id);
}

/* ------------------------------------------------------------ collections -- */

/* The 15 obs attributes of a NIfTI collection, in 0.1.1's order (§3.4). */
enum { OBS_NATTR = 15 };
static const char *const obs_names[OBS_NATTR] = {
    "series_type", "voxel_spacing", "dimensions", "datatype", "bitpix", "scl_slope", "scl_inter",
    "xyzt_units", "spatial_units", "qform_code", "sform_code", "axcodes", "affine_json",
    "orientation_source", "source_path"};
static const radi_datatype obs_types[OBS_NATTR] = {
    RADI_STRING_UTF8, RADI_STRING_UTF8, RADI_STRING_UTF8, RADI_INT32, RADI_INT32, RADI_FLOAT64,
    RADI_FLOAT64, RADI_INT32, RADI_STRING_UTF8, RADI_INT32, RADI_INT32, RADI_STRING_UTF8,
    RADI_STRING_UTF8, RADI_STRING_UTF8, RADI_STRING_UTF8};

/* Creates collections/<name> (obs, volumes, metadata) without registering it. */
static radi_status make_collection(radi_dataset *ds, const char *name)
{
    char *cu = rdi_ds_coll_uri(ds, name, NULL), *obs = rdi_ds_coll_uri(ds, name, "obs"), *vol = rdi_ds_coll_uri(ds, name, "volumes");
    radi_schema *sc = NULL;
    radi_group *g = NULL;
    radi_status s = cu && obs && vol ? radi_group_create(ds->ctx, cu) : RADI_E_NOMEM;
    if (s != RADI_OK) goto out;
    s = frame_schema(OBS_NATTR, obs_names, obs_types, &sc);
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

static radi_status check_new_collection(radi_dataset *ds, const char *name)
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
static radi_status register_collection(radi_dataset *ds, const char *name)
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
    RDI_TRY(refuse_standalone(ds, "renaming a collection"));
    rdi_lock_hold hold;
    RDI_TRY(rdi_ds_lock(ds, &hold));
    return rdi_ds_unlock(&hold, rename_locked(ds, from, to));
}

static radi_status rename_locked(radi_dataset *ds, const char *from, const char *to)
{
    if (!ds || !from || !to) return rdi_error(RADI_E_INVALID, "radi_dataset_rename_collection: NULL argument");
    RDI_TRY(refuse_standalone(ds, "renaming a collection"));
    RDI_TRY(rdi_ds_load(ds));
    int64_t fi = rdi_ds_coll_index(ds, from);
    if (fi < 0)
        return rdi_error(RADI_E_NOT_FOUND, "%s: no collection '%s' to rename", ds->uri, from);
    RDI_TRY(check_new_collection(ds, to));
    /* Its groups' members must stay inside the dataset before its tree moves. */
    RDI_TRY(rdi_ds_load_collection(ds, (size_t)fi));
    char *src = rdi_ds_coll_uri(ds, from, NULL), *dst = rdi_ds_coll_uri(ds, to, NULL);
    char *cl = rdi_path_join(ds->uri, "collections");
    radi_group *g = NULL;
    radi_status s = src && dst && cl ? RADI_OK : RADI_E_NOMEM;
    /* The directory first, then the membership in one change; a failure of the latter
     * moves the directory back, so the dataset is as before. */
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
    radi_status l = rdi_ds_load(ds);
    return s != RADI_OK ? s : l;
}

/* ---------------------------------------------------------------- ingest -- */

void radi_ingest_options_init(radi_ingest_options *opt)
{
    radi_tile_config_init(&opt->tile);
    radi_compression_init(&opt->compression);
    opt->validate_alignment = 0;
    opt->obs_meta_nbuffers = 0;
    opt->obs_meta_buffers = NULL;
    opt->obs_meta_rows = 0;
    opt->progress = NULL;
    opt->progress_user = NULL;
}

typedef struct item {
    const char *path;
    const char *sid;
    char *oid;
    char *abspath;
    radi_nifti_header hdr;
    uint64_t k;                /* volumes/<k> */
} item;

typedef struct ingest_job {
    radi_dataset *ds;
    item *items;
    item **order;              /* items in (sid, oid) byte order */
    const radi_ingest_options *opt;
    const char *vol_dir;       /* where volume_task writes volumes/<k> (staging when renumbering) */
    uint64_t base;             /* volumes in the collection before this ingest */
    size_t n;                  /* items */
} ingest_job;

static int cmp_item(const void *x, const void *y)
{
    const item *a = *(item *const *)x, *b = *(item *const *)y;
    int c = strcmp(a->sid, b->sid);
    return c ? c : strcmp(a->oid, b->oid);
}

static int volume_dtype_ok(radi_datatype t)
{
    switch (t) {
    case RADI_INT8: case RADI_UINT8: case RADI_INT16: case RADI_UINT16: case RADI_INT32:
    case RADI_UINT32: case RADI_INT64: case RADI_UINT64: case RADI_FLOAT32: case RADI_FLOAT64:
        return 1;
    default:
        return 0;
    }
}

static radi_status header_task(void *arg, size_t i, unsigned worker)
{
    ingest_job *j = arg;
    item *it = &j->items[i];
    radi_nifti *img = NULL;
    RDI_TRY(rdi_nifti_open_vfs(j->ds->ctx->vfs, it->path, &img));
    it->hdr = *radi_nifti_get_header(img);
    radi_nifti_close(img);
    if (!volume_dtype_ok(it->hdr.datatype))
        return rdi_error(RADI_E_UNSUPPORTED, "%s: NIfTI datatype %d is not supported for volumes", it->path,
                         it->hdr.nifti_datatype);
    /* file_ndim: the reader pads 1-D and 2-D images to 3-D; a volume is 3-D or 4-D as stored. */
    if (it->hdr.file_ndim < 3 || (it->hdr.ndim != 3 && it->hdr.ndim != 4))
        return rdi_error(RADI_E_UNSUPPORTED, "%s: a volume must be 3-D or 4-D, this image is %d-D", it->path,
                         it->hdr.file_ndim < 3 ? it->hdr.file_ndim : (int)it->hdr.ndim);
    /* Geometry that cannot be stored or exported faithfully is refused, not guessed. */
    for (int k = 0; k < 16; k++)
        if (!isfinite(it->hdr.affine[k]))
            return rdi_error(RADI_E_CORRUPT, "%s: the affine (from the %s) is not finite", it->path,
                             it->hdr.affine_source == RADI_NIFTI_AFFINE_SFORM   ? "sform"
                             : it->hdr.affine_source == RADI_NIFTI_AFFINE_QFORM ? "qform"
                                                                                : "voxel sizes");
    for (int k = 1; k <= 3; k++)
        if (!isfinite(it->hdr.pixdim[k]))
            return rdi_error(RADI_E_CORRUPT, "%s: voxel size pixdim[%d] is not finite", it->path, k);
    return RADI_OK;
}

/* Scaling as recorded: a usable slope is kept with its intercept; otherwise 1 and 0. */
static void scaling(const radi_nifti_header *h, double *slope, double *inter)
{
    int valid = isfinite(h->scl_slope) && h->scl_slope != 0;
    *slope = valid ? h->scl_slope : 1.0;
    *inter = valid && isfinite(h->scl_inter) ? h->scl_inter : 0.0;
}

static const char *affine_source_name(const radi_nifti_header *h)
{
    return h->affine_source == RADI_NIFTI_AFFINE_SFORM   ? "nifti_sform"
           : h->affine_source == RADI_NIFTI_AFFINE_QFORM ? "nifti_qform"
                                                        : "identity";
}

/* The volume metadata of §3.3 (as 0.1.1's from_nifti, plus obs_id). */
static radi_status volume_meta(radi_meta *m, const radi_meta_item *orientation, void *arg)
{
    const item *it = arg;
    const radi_nifti_header *h = &it->hdr;
    rdi_buf aff = RDI_BUF_INIT;
    int ident = 1;
    for (int i = 0; i < 16; i++) ident &= h->affine[i] == ((i % 5 == 0) ? 1.0 : 0.0);
    /* 0.1.1 labels a fallback or numerically identity affine identity/unknown here. */
    int header = h->affine_source != RADI_NIFTI_AFFINE_FALLBACK && !ident;
    double slope, inter;
    scaling(h, &slope, &inter);
    char sform[16], qform[16], slope_s[48], inter_s[48], units[16], tr[48];
    rdi_py_float(tr, sizeof tr, h->pixdim[4]);
    snprintf(sform, sizeof sform, "%d", h->sform_code);
    snprintf(qform, sizeof qform, "%d", h->qform_code);
    rdi_py_float(slope_s, sizeof slope_s, slope);
    rdi_py_float(inter_s, sizeof inter_s, inter);
    snprintf(units, sizeof units, "%d", h->xyzt_units);
    radi_status s = rdi_affine_json(h->affine, &aff);
    if (s == RADI_OK) {
        /* One metadata file per volume: one write and one timestamp instead of eleven. */
        const char *kv[][2] = {
            {"orientation_axcodes", h->axcodes},
            {"orientation_affine", (const char *)aff.data},
            {"orientation_source", header ? affine_source_name(h) : "identity"},
            {"orientation_confidence", header ? "header" : "unknown"},
            {"nifti_sform_code", sform},
            {"nifti_qform_code", qform},
            {"nifti_scl_slope", slope_s},
            {"nifti_scl_inter", inter_s},
            {"nifti_xyzt_units", units},
            {K_OID, it->oid},
            /* The time step of a 4-D image (0.1.1 loses it); last, so 3-D skips it. */
            {"nifti_pixdim4", tr},
        };
        enum { NKV = sizeof kv / sizeof kv[0] };
        /* tile_orientation first, in the same file as the NIfTI keys. */
        radi_meta_item items[NKV + 1];
        items[0] = *orientation;
        for (size_t k = 0; k < NKV; k++)
            items[k + 1] = (radi_meta_item){kv[k][0], RADI_STRING_UTF8, (uint32_t)strlen(kv[k][1]), kv[k][1]};
        s = radi_meta_put_many(m, 1 + (h->ndim == 4 ? NKV : NKV - 1), items);
    }
    rdi_buf_free(&aff);
    return s;
}

/* Decodes one file and writes volumes/<k> with its metadata. */
static radi_status volume_task(void *arg, size_t i, unsigned worker)
{
    ingest_job *j = arg;
    item *it = j->order[i];
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long)it->k);
    char *uri = rdi_path_join(j->vol_dir, num);
    if (!uri) return RADI_E_NOMEM;
    radi_nifti *img = NULL;
    rdi_buf own = RDI_BUF_INIT;
    const uint8_t *raw = NULL;
    radi_status s = rdi_nifti_open_vfs(j->ds->ctx->vfs, it->path, &img);
    if (s == RADI_OK) {
        const radi_nifti_header *h = radi_nifti_get_header(img);
        /* The header was checked; a file changed since then is refused, not misread. */
        if (h->datatype != it->hdr.datatype || h->ndim != it->hdr.ndim ||
            memcmp(h->shape, it->hdr.shape, sizeof h->shape) != 0)
            s = rdi_error(RADI_E_CORRUPT, "%s: file changed during ingest", it->path);
    }
    /* The voxels as the file stores them (x fastest): the dense writer cuts each tile
     * straight out of them, with no C-order copy of the volume in between. */
    if (s == RADI_OK) s = rdi_nifti_read_raw(img, &own, &raw);
    radi_nifti_close(img);
    if (s == RADI_OK)
        s = rdi_volume_from_buffer_layout(j->ds->ctx, uri, it->hdr.ndim, it->hdr.shape, it->hdr.datatype, raw,
                                          RADI_COL_MAJOR, &j->opt->tile, &j->opt->compression, volume_meta,
                                          (void *)it, NULL);
    rdi_buf_free(&own);
    if (s != RADI_OK && !strstr(radi_errmsg(), it->path)) rdi_error_wrap(s, "%s", it->path);
    free(uri);
    return s;
}

/* The obs rows of the ingested items, one write; *frag (may be NULL) gets its name. */
static radi_status write_obs(radi_dataset *ds, const char *collection, item **order, size_t n, char **frag)
{
    varcol vc[2 + OBS_NATTR];
    memset(vc, 0, sizeof vc);
    int32_t *ints[OBS_NATTR] = {0};
    double *dbls[OBS_NATTR] = {0};
    radi_status s = RADI_OK;
    for (int c = 0; c < 2 + OBS_NATTR && s == RADI_OK; c++) {
        radi_datatype t = c < 2 ? RADI_STRING_ASCII : obs_types[c - 2];
        if (t == RADI_INT32) { if (!(ints[c - 2] = rdi_calloc(n, 4))) s = RADI_E_NOMEM; }
        else if (t == RADI_FLOAT64) { if (!(dbls[c - 2] = rdi_calloc(n, 8))) s = RADI_E_NOMEM; }
        else if (!(vc[c].off = rdi_calloc(n, 8))) s = RADI_E_NOMEM;
    }
    char t1[160], t2[96];
    rdi_buf aff = RDI_BUF_INIT;
    for (size_t i = 0; i < n && s == RADI_OK; i++) {
        const item *it = order[i];
        const radi_nifti_header *h = &it->hdr;
        char a[48], b[48], c[48];
        double slope, inter;
        scaling(h, &slope, &inter);
        rdi_py_float(a, sizeof a, h->pixdim[1]);
        rdi_py_float(b, sizeof b, h->pixdim[2]);
        rdi_py_float(c, sizeof c, h->pixdim[3]);
        snprintf(t1, sizeof t1, "(%s, %s, %s)", a, b, c);
        snprintf(t2, sizeof t2, "(%llu, %llu, %llu)", (unsigned long long)h->shape[0],
                 (unsigned long long)h->shape[1], (unsigned long long)h->shape[2]);
        int u = h->xyzt_units & 7;
        const char *units = u == 1 ? "m" : u == 2 ? "mm" : u == 3 ? "um" : "unknown";
        aff.len = 0;
        s = rdi_affine_json(h->affine, &aff);
        if (s == RADI_OK) s = varcol_push(&vc[0], i, it->sid);
        if (s == RADI_OK) s = varcol_push(&vc[1], i, it->oid);
        /* series_type: the collection, which radi uses as the series name. */
        if (s == RADI_OK) s = varcol_push(&vc[2 + 0], i, collection);
        if (s == RADI_OK) s = varcol_push(&vc[2 + 1], i, t1);
        if (s == RADI_OK) s = varcol_push(&vc[2 + 2], i, t2);
        ints[3][i] = h->nifti_datatype;
        ints[4][i] = (int32_t)(radi_datatype_size(h->datatype) * 8);
        dbls[5][i] = slope;
        dbls[6][i] = inter;
        ints[7][i] = h->xyzt_units;
        if (s == RADI_OK) s = varcol_push(&vc[2 + 8], i, units);
        ints[9][i] = h->qform_code;
        ints[10][i] = h->sform_code;
        if (s == RADI_OK) s = varcol_push(&vc[2 + 11], i, h->axcodes);
        if (s == RADI_OK) s = varcol_push(&vc[2 + 12], i, (const char *)aff.data);
        if (s == RADI_OK) s = varcol_push(&vc[2 + 13], i, affine_source_name(h));
        if (s == RADI_OK) s = varcol_push(&vc[2 + 14], i, it->abspath);
    }
    radi_sparse_buffer bufs[2 + OBS_NATTR];
    for (int c = 0; c < 2 + OBS_NATTR; c++) {
        bufs[c].name = c == 0 ? K_SID : c == 1 ? K_OID : obs_names[c - 2];
        bufs[c].validity = NULL;
        if (c >= 2 && ints[c - 2]) {
            bufs[c].data = ints[c - 2]; bufs[c].data_size = n * 4; bufs[c].offsets = NULL;
        } else if (c >= 2 && dbls[c - 2]) {
            bufs[c].data = dbls[c - 2]; bufs[c].data_size = n * 8; bufs[c].offsets = NULL;
        } else {
            /* An empty string still needs a non-NULL data pointer. */
            bufs[c].data = vc[c].data.data ? (const void *)vc[c].data.data : (const void *)"";
            bufs[c].data_size = vc[c].data.len;
            bufs[c].offsets = vc[c].off;
        }
    }
    char *obs = rdi_ds_coll_uri(ds, collection, "obs");
    radi_array *arr = NULL;
    if (s == RADI_OK) s = obs ? radi_array_open(ds->ctx, obs, 0, 0, &arr) : RADI_E_NOMEM;
    uint64_t t = arr ? RDI_MAX(rdi_now_ms(), arr->last_t1 + 1) : 0;
    if (s == RADI_OK) s = rdi_sparse_write(arr, 2 + OBS_NATTR, bufs, n, t, t, frag);
    radi_array_close(arr);
    free(obs);
    rdi_buf_free(&aff);
    for (int c = 0; c < 2 + OBS_NATTR; c++) {
        rdi_buf_free(&vc[c].data);
        free(vc[c].off);
        if (c < OBS_NATTR) { free(ints[c]); free(dbls[c]); }
    }
    return s;
}

/* The subject ids of caller-given obs_meta rows (the var-size obs_subject_id buffer). */
static radi_status given_subjects(const radi_ingest_options *opt, rdi_strlist *out)
{
    const radi_sparse_buffer *b = NULL;
    for (uint32_t i = 0; i < opt->obs_meta_nbuffers; i++)
        if (opt->obs_meta_buffers[i].name && strcmp(opt->obs_meta_buffers[i].name, K_SID) == 0)
            b = &opt->obs_meta_buffers[i];
    if (!b || !b->offsets || (opt->obs_meta_rows && !b->data))
        return rdi_error(RADI_E_INVALID, "obs_meta rows: no var-size '" K_SID "' buffer");
    for (uint64_t r = 0; r < opt->obs_meta_rows; r++) {
        uint64_t lo = b->offsets[r], hi = r + 1 < opt->obs_meta_rows ? b->offsets[r + 1] : b->data_size;
        if (lo > hi || hi > b->data_size) return rdi_error(RADI_E_INVALID, "obs_meta rows: bad '" K_SID "' offsets");
        char *sid = rdi_strndup((const char *)b->data + lo, (size_t)(hi - lo));
        RDI_TRY(sid ? rdi_strlist_push_owned(out, sid) : RADI_E_NOMEM);
    }
    rdi_strlist_sort(out);
    return RADI_OK;
}

/* New subjects need obs_meta rows: the caller's (which must cover them), or generated
 * ones, which only an obs_meta without user columns can take. */
static radi_status check_obs_meta_rows(radi_dataset *ds, const radi_ingest_options *opt, const rdi_strlist *news)
{
    if (opt->obs_meta_rows) {
        rdi_strlist have = RDI_STRLIST_INIT;
        radi_status s = given_subjects(opt, &have);
        for (size_t i = 0; i < news->n && s == RADI_OK; i++)
            if (!rdi_strlist_has_sorted(&have, news->items[i], strlen(news->items[i])))
                s = rdi_error(RADI_E_INVALID, "%s: subject '%s' is new but the obs_meta rows given do not include it",
                              ds->uri, news->items[i]);
        rdi_strlist_free(&have);
        return s;
    }
    char *om = rdi_path_join(ds->uri, "obs_meta");
    radi_array *a = NULL;
    radi_schema_info si;
    radi_status s = om ? radi_array_open(ds->ctx, om, 0, 0, &a) : RADI_E_NOMEM;
    if (s == RADI_OK) s = radi_schema_get_info(radi_array_schema(a), &si);
    if (s == RADI_OK && si.nattr)
        s = rdi_error(RADI_E_INVALID, "%s: subject '%s' is new and obs_meta has %u user columns: give its obs_meta row "
                      "with the ingest", ds->uri, news->items[0], si.nattr);
    radi_array_close(a);
    free(om);
    return s;
}

/* obs_meta rows: the caller's, or (sid, sid) for the subjects not yet in the dataset.
 * *frag gets the fragment written (for an undo). */
static radi_status write_obs_meta(radi_dataset *ds, const radi_ingest_options *opt, const rdi_strlist *news,
                                  char **frag)
{
    if (!news->n && !opt->obs_meta_rows) return RADI_OK;
    varcol c = {RDI_BUF_INIT, NULL};
    radi_status s = RADI_OK;
    if (!opt->obs_meta_rows) {
        s = (c.off = rdi_calloc(news->n, 8)) ? RADI_OK : RADI_E_NOMEM;
        for (size_t i = 0; i < news->n && s == RADI_OK; i++) s = varcol_push(&c, i, news->items[i]);
    }
    char *om = rdi_path_join(ds->uri, "obs_meta");
    radi_array *a = NULL;
    if (s == RADI_OK) s = om ? radi_array_open(ds->ctx, om, 0, 0, &a) : RADI_E_NOMEM;
    uint64_t t = a ? RDI_MAX(rdi_now_ms(), a->last_t1 + 1) : 0;
    if (s == RADI_OK && opt->obs_meta_rows) {
        s = rdi_sparse_write(a, opt->obs_meta_nbuffers, opt->obs_meta_buffers, opt->obs_meta_rows, t, t, frag);
    } else if (s == RADI_OK) {
        radi_sparse_buffer b[2] = {{K_SID, c.data.data, c.data.len, c.off, NULL},
                                   {K_OID, c.data.data, c.data.len, c.off, NULL}};
        s = rdi_sparse_write(a, 2, b, news->n, t, t, frag);
    }
    if (s != RADI_OK) rdi_error_wrap(s, "%s: obs_meta", ds->uri);
    radi_array_close(a);
    free(om);
    rdi_buf_free(&c.data);
    free(c.off);
    return s;
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

/* Rejects bad ids and a (subject, obs_id) given twice in one collection (order is
 * sorted by it). */
static radi_status check_ids(item **order, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!id_ok(order[i]->sid) || !id_ok(order[i]->oid))
            return rdi_error(RADI_E_INVALID, "%s: subject id '%s' / obs_id '%s' must be non-empty printable ASCII",
                             order[i]->path, order[i]->sid, order[i]->oid);
        if (i && strcmp(order[i]->oid, order[i - 1]->oid) == 0 && strcmp(order[i]->sid, order[i - 1]->sid) == 0)
            return rdi_error(RADI_E_EXISTS, "%s and %s: duplicate (subject, obs_id) ('%s', '%s')", order[i - 1]->path,
                             order[i]->path, order[i]->sid, order[i]->oid);
    }
    return RADI_OK;
}

static int cmp_item_oid(const void *x, const void *y)
{
    return strcmp((*(item *const *)x)->oid, (*(item *const *)y)->oid);
}

/* obs_id alone is unique in a dataset (0.1.1's validate checks it across collections):
 * among all the files of an ingest, and against every collection's rows. */
static radi_status check_oids_unique(radi_dataset *ds, item **all, size_t n)
{
    qsort(all, n, sizeof *all, cmp_item_oid);
    for (size_t i = 1; i < n; i++)
        if (strcmp(all[i]->oid, all[i - 1]->oid) == 0)
            return rdi_error(RADI_E_EXISTS, "%s and %s: both give obs_id '%s'", all[i - 1]->path, all[i]->path,
                             all[i]->oid);
    /* Only the obs_id column of each collection: resolving volumes (a metadata read per
     * volume) is not needed to find a clash. */
    radi_status s = RADI_OK;
    for (size_t c = 0; c < ds->collections.n && s == RADI_OK; c++) {
        const char *col = K_OID;
        rdi_strlist oids = RDI_STRLIST_INIT;
        char *obs = rdi_ds_coll_uri(ds, ds->collections.items[c], "obs");
        s = obs ? rdi_ds_read_str_cols(ds->ctx, obs, 1, &col, &oids) : RADI_E_NOMEM;
        for (size_t r = 0; r < oids.n && s == RADI_OK; r++) {
            item key = {0}, *kp = &key;
            key.oid = oids.items[r];
            item **hit = bsearch(&kp, all, n, sizeof *all, cmp_item_oid);
            if (hit)
                s = rdi_error(RADI_E_EXISTS, "%s: obs_id '%s' already exists in collection '%s' of %s",
                              (*hit)->path, key.oid, ds->collections.items[c], ds->uri);
        }
        rdi_strlist_free(&oids);
        free(obs);
    }
    return s;
}

/* ------------------------------------------------------ append placement -- */

/* One existing volume's move when an append renumbers volumes/<k>. */
typedef struct vol_move {
    uint64_t from, to;
} vol_move;

#define SPARE_SLOT UINT64_MAX

/* Where every volume goes after appending j->order (sorted) to collection ci: new items
 * get k = their position in the merged (obs_subject_id, obs_id) order, and each existing
 * volume whose position changes gets a move. Requires the existing members to be named
 * 0..n-1, as radi and 0.1.1 name them. */
static radi_status plan_append(radi_dataset *ds, size_t ci, ingest_job *j, size_t n, vol_move **moves,
                               size_t *nmoves)
{
    const coll_cache *c = &ds->cache[ci];
    const radi_volume_entry *e = c->entries;
    uint64_t base = c->n;
    vol_move *mv = base ? rdi_calloc((size_t)base, sizeof *mv) : NULL;
    uint8_t *seen = base ? rdi_calloc((size_t)base, 1) : NULL;
    radi_status s = base && (!mv || !seen) ? RADI_E_NOMEM : RADI_OK;
    size_t nm = 0, i = 0;
    uint64_t r = 0, pos = 0;
    while (s == RADI_OK && (r < base || i < n)) {
        int take_new = r == base;
        if (!take_new && i < n) {
            int cmp = strcmp(j->order[i]->sid, e[r].obs_subject_id);
            take_new = (cmp ? cmp : strcmp(j->order[i]->oid, e[r].obs_id)) < 0;
        }
        if (take_new) {
            j->order[i++]->k = pos++;
            continue;
        }
        size_t bl;
        const char *b = rdi_path_basename(e[r].volume_uri, &bl);
        char name[24];
        int64_t cur = -1;
        if (bl < sizeof name) {
            memcpy(name, b, bl);
            name[bl] = '\0';
            cur = rdi_ds_member_pos(name);
        }
        if (cur < 0 || (uint64_t)cur >= base || seen[cur]) {
            s = rdi_error(RADI_E_UNSUPPORTED, "%s: collection '%s': volume %s is not one of volumes/0..%llu; "
                          "cannot place appended volumes", ds->uri, ds->collections.items[ci], e[r].volume_uri,
                          (unsigned long long)(base - 1));
            break;
        }
        seen[cur] = 1;
        if ((uint64_t)cur != pos) mv[nm++] = (vol_move){(uint64_t)cur, pos};
        r++;
        pos++;
    }
    free(seen);
    if (s != RADI_OK) {
        free(mv);
        return s;
    }
    *moves = mv;
    *nmoves = nm;
    return RADI_OK;
}

static char *slot_uri(const char *vol_dir, const char *spare, uint64_t slot)
{
    if (slot == SPARE_SLOT) return rdi_strdup(spare);
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long)slot);
    return rdi_path_join(vol_dir, num);
}

static radi_status move_slot(radi_ctx *ctx, const char *vol_dir, const char *spare, uint64_t from, uint64_t to)
{
    char *f = slot_uri(vol_dir, spare, from), *t = slot_uri(vol_dir, spare, to);
    radi_status s = f && t ? rdi_object_move(ctx, f, t) : RADI_E_NOMEM;
    free(f);
    free(t);
    return s;
}

/* Applies the moves without ever overwriting: a volume moves once its target slot is
 * free (slots 0..nslots-1; the appended volumes' slots start free); a cycle, possible
 * only in a dataset 0.1.1 wrote unsorted, goes through the spare name. `done` receives
 * each move made, in order, for revert_moves. mv is consumed. */
static radi_status apply_moves(radi_ctx *ctx, const char *vol_dir, const char *spare, vol_move *mv, size_t nm,
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
            s = move_slot(ctx, vol_dir, spare, mv[i].from, mv[i].to);
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
            s = move_slot(ctx, vol_dir, spare, mv[i].from, SPARE_SLOT);
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
static void revert_moves(radi_ctx *ctx, const char *vol_dir, const char *spare, const vol_move *done, size_t nd)
{
    while (nd--) move_slot(ctx, vol_dir, spare, done[nd].to, done[nd].from);
}

/* Undoes an append into vol_dir: the members it added, the first `placed` new volumes
 * (those in their slots), then the moves. */
static void undo_append(radi_dataset *ds, const char *vol_dir, ingest_job *j, size_t placed, int members_added,
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
    revert_moves(ds->ctx, vol_dir, spare, done, ndone);
    rdi_error(st, "%s", why ? why : "ingest failed");
    free(why);
}

/* What the metadata writes of an ingest changed, to put back if its commit fails. */
typedef struct meta_undo {
    int coll_set;              /* collection metadata was written */
    int64_t old_nvol, old_dims[3];
    int had_dims;
    char *obs_meta_frag;       /* fragment written to obs_meta */
    int counts_set;            /* root subject_count / n_collections were written */
    int64_t old_counts[2];
} meta_undo;

static const char *const dim_keys[3] = {"x_dim", "y_dim", "z_dim"};

/* The collection's metadata after an ingest: n_volumes, and x/y/z_dim only while every
 * volume shares one spatial shape; one metadata file. */
static radi_status update_collection_meta(radi_dataset *ds, const char *collection, ingest_job *j, size_t n,
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
static radi_status update_root_counts(radi_dataset *ds, int64_t ncoll, meta_undo *u)
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

/* Puts back what update_collection_meta, write_obs_meta and update_root_counts wrote
 * (best effort: it runs after a failure, whose message it keeps). */
static void undo_meta(radi_dataset *ds, const char *collection, int new_collection, meta_undo *u)
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

static radi_status add_collection_locked(radi_dataset *ds, const char *name);

radi_status radi_dataset_add_collection(radi_dataset *ds, const char *name)
{
    if (!ds || !name) return rdi_error(RADI_E_INVALID, "radi_dataset_add_collection: NULL argument");
    RDI_TRY(refuse_standalone(ds, "adding a collection"));
    rdi_lock_hold hold;
    RDI_TRY(rdi_ds_lock(ds, &hold));
    return rdi_ds_unlock(&hold, add_collection_locked(ds, name));
}

static radi_status add_collection_locked(radi_dataset *ds, const char *name)
{
    if (!ds || !name) return rdi_error(RADI_E_INVALID, "radi_dataset_add_collection: NULL argument");
    RDI_TRY(refuse_standalone(ds, "adding a collection"));
    RDI_TRY(check_new_collection(ds, name));
    RDI_TRY(make_collection(ds, name));
    meta_undo u = {0};
    radi_status s = update_root_counts(ds, (int64_t)ds->collections.n + 1, &u);
    if (s == RADI_OK) s = register_collection(ds, name);
    if (s != RADI_OK) {
        undo_meta(ds, name, 1, &u);
        char *cu = rdi_ds_coll_uri(ds, name, NULL);
        if (cu) rdi_ds_undo(ds->ctx, cu, s);
        free(cu);
    }
    radi_status l = rdi_ds_load(ds);
    return s != RADI_OK ? s : l;
}

/* One collection of an ingest, from its checks to its commit and, on failure, undo. */
typedef struct coll_job {
    ingest_job j;              /* items, their order and volumes/<k>, base */
    const char *name;
    int64_t ci;                /* the existing collection's index, or -1 for a new one */
    char *vol_dir;
    vol_move *moves, *done;
    size_t nmoves, ndone, placed;
    char *staging, *spare;     /* renumbering appends write new volumes here first */
    int made, members_added, committed;
    char *obs_frag;            /* an append's commit: its obs fragment */
    meta_undo u;               /* the collection's metadata before the ingest */
} coll_job;

/* Every file of every collection as one parallel loop (few files per collection would
 * leave workers idle), with progress reported as files complete. */
typedef struct flat_job {
    coll_job *jobs;
    size_t njobs;
    rdi_task_fn fn;
    const radi_ingest_options *opt;
    pthread_mutex_t lock;
    uint64_t done, total;
} flat_job;

static radi_status flat_task(void *arg, size_t i, unsigned worker)
{
    flat_job *f = arg;
    size_t k = 0;
    while (i >= f->jobs[k].j.n) i -= f->jobs[k++].j.n;
    RDI_TRY(f->fn(&f->jobs[k].j, i, worker));
    if (f->opt->progress) {
        pthread_mutex_lock(&f->lock);
        uint64_t done = ++f->done;
        f->opt->progress(f->opt->progress_user, done, f->total, f->jobs[k].j.order[i]->path);
        pthread_mutex_unlock(&f->lock);
    }
    return RADI_OK;
}

static radi_status for_all_files(radi_dataset *ds, coll_job *jobs, size_t njobs, rdi_task_fn fn,
                                 const radi_ingest_options *opt, int report)
{
    radi_ingest_options quiet;
    radi_ingest_options_init(&quiet);
    flat_job f;
    memset(&f, 0, sizeof f);
    f.jobs = jobs;
    f.njobs = njobs;
    f.fn = fn;
    f.opt = report ? opt : &quiet;
    pthread_mutex_init(&f.lock, NULL);
    for (size_t k = 0; k < njobs; k++) f.total += jobs[k].j.n;
    radi_status s = rdi_pool_for(ds->ctx->pool, (size_t)f.total, flat_task, &f);
    pthread_mutex_destroy(&f.lock);
    return s;
}

static radi_status check_shapes_aligned(ingest_job *j)
{
    for (size_t i = 1; i < j->n; i++)
        for (int d = 0; d < 3; d++)
            if (j->items[i].hdr.shape[d] != j->items[0].hdr.shape[d])
                return rdi_error(RADI_E_INVALID, "%s: shape %llux%llux%llu differs from %s (%llux%llux%llu)",
                                 j->items[i].path, (unsigned long long)j->items[i].hdr.shape[0],
                                 (unsigned long long)j->items[i].hdr.shape[1],
                                 (unsigned long long)j->items[i].hdr.shape[2], j->items[0].path,
                                 (unsigned long long)j->items[0].hdr.shape[0],
                                 (unsigned long long)j->items[0].hdr.shape[1],
                                 (unsigned long long)j->items[0].hdr.shape[2]);
    return RADI_OK;
}

/* Checks of an existing collection taking an append, and where its volumes go. */
static radi_status prepare_append(radi_dataset *ds, coll_job *c)
{
    const coll_cache *cc = &ds->cache[c->ci];
    c->j.base = cc->n;
    for (uint64_t r = 0; r < cc->n; r++)
        if (!cc->entries[r].volume_uri)
            return rdi_error(RADI_E_CORRUPT, "%s: collection '%s' is inconsistent (obs row '%s' has no volume); "
                             "run validate", ds->uri, c->name, cc->entries[r].obs_id);
    if (c->j.opt->validate_alignment && cc->n) {
        radi_volume *v = NULL;
        RDI_TRY(radi_volume_open(ds->ctx, cc->entries[0].volume_uri, &v));
        const uint64_t *sh = radi_volume_shape(v);
        int same = 1;
        for (int d = 0; d < 3; d++) same &= sh[d] == c->j.items[0].hdr.shape[d];
        radi_volume_close(v);
        if (!same)
            return rdi_error(RADI_E_INVALID, "%s: shape differs from collection '%s' (%llux%llux%llu)",
                             c->j.items[0].path, c->name, (unsigned long long)sh[0], (unsigned long long)sh[1],
                             (unsigned long long)sh[2]);
    }
    /* volumes/<k> must stay in (obs_subject_id, obs_id) order for 0.1.1's positional
     * lookup: new keys that sort between existing ones renumber the volumes after them. */
    return plan_append(ds, (size_t)c->ci, &c->j, c->j.n, &c->moves, &c->nmoves);
}

/* Renumbering appends write their new volumes to a staging directory first, so existing
 * volumes move only once every new one is written. */
static radi_status prepare_staging(radi_dataset *ds, coll_job *c)
{
    c->j.vol_dir = c->vol_dir;
    /* Without moves the new volumes are written in their slots (undo removes them). */
    c->placed = c->nmoves ? 0 : c->j.n;
    if (!c->nmoves) return RADI_OK;
    char label[33];
    RDI_TRY(rdi_random_label(label));
    if (!(c->staging = rdi_asprintf("%s/__radi_staging_%s", c->vol_dir, label)) ||
        !(c->spare = rdi_path_join(c->staging, "spare")) || !(c->done = rdi_calloc(2 * c->nmoves, sizeof *c->done)))
        return RADI_E_NOMEM;
    RDI_TRY(rdi_vfs_mkdir(ds->ctx->vfs, c->staging));
    c->j.vol_dir = c->staging;
    return RADI_OK;
}

/* Existing volumes to their new numbers, new volumes into their slots, their members. */
static radi_status place_volumes(radi_dataset *ds, coll_job *c)
{
    c->j.vol_dir = c->vol_dir;
    c->placed = c->staging ? 0 : c->j.n;
    radi_status s = RADI_OK;
    if (c->nmoves)
        s = apply_moves(ds->ctx, c->vol_dir, c->spare, c->moves, c->nmoves, c->j.base, c->j.base + c->j.n, c->done,
                        &c->ndone);
    for (size_t i = 0; c->staging && s == RADI_OK && i < c->j.n; i++) {
        char *from = slot_uri(c->staging, NULL, c->j.order[i]->k), *to = slot_uri(c->vol_dir, NULL, c->j.order[i]->k);
        s = from && to ? rdi_object_move(ds->ctx, from, to) : RADI_E_NOMEM;
        if (s == RADI_OK) c->placed++;
        free(from);
        free(to);
    }
    if (s == RADI_OK) s = add_volume_members(ds, c->vol_dir, c->j.base, c->j.n);
    c->members_added = s == RADI_OK;
    return s;
}

/* Takes back a commit of an ingest that failed later (another collection's commit). */
static void uncommit(radi_dataset *ds, coll_job *c)
{
    if (c->ci < 0) {
        char *cl = rdi_path_join(ds->uri, "collections");
        radi_group *g = NULL;
        if (cl && radi_group_open(ds->ctx, cl, &g) == RADI_OK) radi_group_remove_member(g, c->name);
        radi_group_close(g);
        free(cl);
    } else if (c->obs_frag) {
        char *obs = rdi_ds_coll_uri(ds, c->name, "obs");
        if (obs) rdi_fragment_discard(ds->ctx, obs, c->obs_frag);
        free(obs);
    }
}

static void undo_collection(radi_dataset *ds, coll_job *c, radi_status st)
{
    if (c->committed) uncommit(ds, c);
    undo_meta(ds, c->name, c->ci < 0, &c->u);
    if (c->ci >= 0)
        undo_append(ds, c->vol_dir, &c->j, c->placed, c->members_added, c->spare, c->done, c->ndone, st);
    if (c->made) {
        char *cu = rdi_ds_coll_uri(ds, c->name, NULL);
        if (cu) rdi_ds_undo(ds->ctx, cu, st);
        free(cu);
    }
}

/* Builds the items of one collection's sources (ids, absolute paths). */
static radi_status make_items(radi_dataset *ds, coll_job *c, const radi_ingest_collection *src,
                              const radi_ingest_options *opt)
{
    size_t n = src->n;
    c->name = src->name;
    c->j = (ingest_job){ds, NULL, NULL, opt, NULL, 0, n};
    if (!(c->j.items = rdi_calloc(n, sizeof *c->j.items)) || !(c->j.order = rdi_calloc(n, sizeof *c->j.order)) ||
        !(c->vol_dir = rdi_ds_coll_uri(ds, src->name, "volumes")))
        return RADI_E_NOMEM;
    c->j.vol_dir = c->vol_dir;
    for (size_t i = 0; i < n; i++) {
        item *it = &c->j.items[i];
        c->j.order[i] = it;
        it->path = src->sources[i].path;
        it->sid = src->sources[i].subject_id;
        if (!it->path || !it->sid)
            return rdi_error(RADI_E_INVALID, "%s: NIfTI source %zu of '%s' has no path or subject id", ds->uri, i,
                             src->name);
        it->oid = src->sources[i].obs_id ? rdi_strdup(src->sources[i].obs_id)
                                         : rdi_asprintf("%s_%s", it->sid, src->name);
        it->abspath = rdi_vfs_canonical(ds->ctx->vfs, it->path);
        if (!it->oid || !it->abspath) return RADI_E_NOMEM;
    }
    return RADI_OK;
}

/* The checks of every collection, before anything is written. *news gets the subjects
 * the ingest adds (sorted, distinct). */
static radi_status check_all(radi_dataset *ds, coll_job *jobs, size_t nc, const radi_ingest_options *opt,
                             rdi_strlist *news)
{
    RDI_TRY(for_all_files(ds, jobs, nc, header_task, opt, 0));
    size_t total = 0;
    for (size_t k = 0; k < nc; k++) total += jobs[k].j.n;
    item **all = rdi_calloc(total ? total : 1, sizeof *all);
    if (!all) return RADI_E_NOMEM;
    size_t na = 0;
    radi_status s = RADI_OK;
    for (size_t k = 0; k < nc && s == RADI_OK; k++) {
        coll_job *c = &jobs[k];
        if (opt->validate_alignment) s = check_shapes_aligned(&c->j);
        if (s != RADI_OK) break;
        qsort(c->j.order, c->j.n, sizeof *c->j.order, cmp_item);
        s = check_ids(c->j.order, c->j.n);
        for (size_t i = 0; i < c->j.n; i++) all[na++] = c->j.order[i];
    }
    if (s == RADI_OK) s = check_oids_unique(ds, all, na);
    free(all);
    for (size_t k = 0; k < nc && s == RADI_OK; k++) {
        coll_job *c = &jobs[k];
        if (c->ci >= 0) s = prepare_append(ds, c);
        for (size_t i = 0; c->ci < 0 && i < c->j.n; i++) c->j.order[i]->k = i;
        for (size_t i = 0; i < c->j.n && s == RADI_OK; i++) {
            const char *sid = c->j.order[i]->sid;
            if (!rdi_strlist_has_sorted(&ds->subjects, sid, strlen(sid))) s = rdi_strlist_push(news, sid);
        }
    }
    rdi_strlist_sort(news);
    size_t w = 0;
    for (size_t i = 0; i < news->n; i++) {
        if (w && strcmp(news->items[w - 1], news->items[i]) == 0) {
            free(news->items[i]);
            continue;
        }
        news->items[w++] = news->items[i];
    }
    news->n = w;
    if (s == RADI_OK && news->n) s = check_obs_meta_rows(ds, opt, news);
    return s;
}

/* Writes every volume, places them, then metadata and obs_meta, then commits each
 * collection: an append's obs rows, a new collection's registration. */
static radi_status write_all(radi_dataset *ds, coll_job *jobs, size_t nc, const radi_ingest_options *opt,
                             const rdi_strlist *news, meta_undo *du)
{
    radi_status s = RADI_OK;
    size_t nnew = 0;
    for (size_t k = 0; k < nc && s == RADI_OK; k++) {
        coll_job *c = &jobs[k];
        if (c->ci < 0) {
            nnew++;
            s = make_collection(ds, c->name);
            c->made = s == RADI_OK;
        }
        if (s == RADI_OK) s = prepare_staging(ds, c);
    }
    if (s == RADI_OK) s = for_all_files(ds, jobs, nc, volume_task, opt, 1);
    for (size_t k = 0; k < nc && s == RADI_OK; k++) {
        coll_job *c = &jobs[k];
        s = place_volumes(ds, c);
        /* A new collection's obs rows go in before it is registered. */
        if (s == RADI_OK && c->ci < 0) s = write_obs(ds, c->name, c->j.order, c->j.n, NULL);
        if (s == RADI_OK) s = update_collection_meta(ds, c->name, &c->j, c->j.n, c->j.base, &c->u);
    }
    if (s == RADI_OK) s = write_obs_meta(ds, opt, news, &du->obs_meta_frag);
    if (s == RADI_OK) s = update_root_counts(ds, (int64_t)(ds->collections.n + nnew), du);
    for (size_t k = 0; k < nc && s == RADI_OK; k++) {
        coll_job *c = &jobs[k];
        s = c->ci < 0 ? register_collection(ds, c->name) : write_obs(ds, c->name, c->j.order, c->j.n, &c->obs_frag);
        c->committed = s == RADI_OK;
    }
    return s;
}

static void free_job(coll_job *c)
{
    for (size_t i = 0; c->j.items && i < c->j.n; i++) {
        free(c->j.items[i].oid);
        free(c->j.items[i].abspath);
    }
    free(c->j.items);
    free(c->j.order);
    free(c->vol_dir);
    free(c->moves);
    free(c->done);
    free(c->staging);
    free(c->spare);
    free(c->obs_frag);
}

static radi_status ingest_locked(radi_dataset *ds, size_t ncollections, const radi_ingest_collection *collections,
                                 const radi_ingest_options *opt);

radi_status radi_dataset_ingest(radi_dataset *ds, size_t ncollections, const radi_ingest_collection *collections,
                                const radi_ingest_options *opt)
{
    if (!ds || (ncollections && !collections)) return rdi_error(RADI_E_INVALID, "radi_dataset_ingest: NULL argument");
    RDI_TRY(refuse_standalone(ds, "an ingest"));
    if (ncollections == 0) return rdi_error(RADI_E_INVALID, "%s: nothing to ingest", ds->uri);
    radi_ingest_options def;
    if (!opt) {
        radi_ingest_options_init(&def);
        opt = &def;
    }
    /* Under the lock the dataset is re-read: obs_meta rows or collections written since
     * open (by the caller or another writer) count. */
    rdi_lock_hold hold;
    RDI_TRY(rdi_ds_lock(ds, &hold));
    return rdi_ds_unlock(&hold, ingest_locked(ds, ncollections, collections, opt));
}

static radi_status ingest_locked(radi_dataset *ds, size_t ncollections, const radi_ingest_collection *collections,
                                 const radi_ingest_options *opt)
{
    coll_job *jobs = rdi_calloc(ncollections, sizeof *jobs);
    if (!jobs) return RADI_E_NOMEM;
    radi_status s = RADI_OK;
    for (size_t k = 0; k < ncollections && s == RADI_OK; k++) {
        const radi_ingest_collection *src = &collections[k];
        if (!src->name || (src->n && !src->sources)) {
            s = rdi_error(RADI_E_INVALID, "radi_dataset_ingest: collection %zu has no name or sources", k);
            break;
        }
        if (src->n == 0) {
            s = rdi_error(RADI_E_INVALID, "%s: no NIfTI files to ingest into '%s'", ds->uri, src->name);
            break;
        }
        for (size_t q = 0; q < k && s == RADI_OK; q++)
            if (strcmp(collections[q].name, src->name) == 0)
                s = rdi_error(RADI_E_INVALID, "%s: collection '%s' is named twice in one ingest", ds->uri, src->name);
        jobs[k].ci = rdi_ds_coll_index(ds, src->name);
        if (s == RADI_OK) s = jobs[k].ci >= 0 ? rdi_ds_load_collection(ds, (size_t)jobs[k].ci)
                                              : check_new_collection(ds, src->name);
        if (s == RADI_OK) s = make_items(ds, &jobs[k], src, opt);
    }
    rdi_strlist news = RDI_STRLIST_INIT;
    meta_undo du = {0};
    if (s == RADI_OK) s = check_all(ds, jobs, ncollections, opt, &news);
    if (s == RADI_OK) {
        s = write_all(ds, jobs, ncollections, opt, &news, &du);
        if (s != RADI_OK) {
            for (size_t k = 0; k < ncollections; k++) undo_collection(ds, &jobs[k], s);
            undo_meta(ds, NULL, 1, &du);
        }
    }
    for (size_t k = 0; k < ncollections; k++) {
        if (jobs[k].staging) {
            char *why = s != RADI_OK ? rdi_strdup(radi_errmsg()) : NULL;
            rdi_vfs_remove_dir(ds->ctx->vfs, jobs[k].staging);
            if (why) rdi_error(s, "%s", why);
            free(why);
        }
        free_job(&jobs[k]);
    }
    free(jobs);
    free(du.obs_meta_frag);
    rdi_strlist_free(&news);
    radi_status l = rdi_ds_load(ds);
    return s != RADI_OK ? s : l;
}

radi_status radi_dataset_ingest_niftis(radi_dataset *ds, const char *collection, size_t n,
                                       const radi_nifti_source *sources, const radi_ingest_options *opt)
{
    if (!collection) return rdi_error(RADI_E_INVALID, "radi_dataset_ingest_niftis: NULL collection");
    radi_ingest_collection c = {collection, n, sources};
    return radi_dataset_ingest(ds, 1, &c, opt);
}

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
        ds_clear_lists(ds);
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
