/*
 * Datasets in RadiObject 0.1.1's layout (research/radiobject-0.1.1.md §3): groups, obs and
 * obs_meta dataframes, volumes resolved by their obs_id metadata, NIfTI ingest, validation.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "radi/nifti.h"
#include "radi/radiobject.h"
#include "radi/sparse.h"
#include "tdb/ctx.h"
#include "tdb/tdb.h"

#define K_SID "obs_subject_id"
#define K_OID "obs_id"

typedef struct coll_cache {
    int loaded;
    radi_volume_entry *entries;
    uint64_t n;
    rdi_strlist strs;          /* owns every string the entries point to */
} coll_cache;

struct radi_dataset {
    radi_ctx *ctx;
    char *uri;
    rdi_strlist collections;   /* member order */
    rdi_strlist subjects;      /* distinct, byte order */
    coll_cache *cache;         /* one per collection */
};

/* ------------------------------------------------------------ small helpers -- */

/* Python's repr of a float (shortest round trip; fixed between 1e-4 and 1e16), which is
 * what 0.1.1 writes through str() and json.dumps. */
static void py_float(char *out, size_t cap, double v)
{
    if (isnan(v)) { snprintf(out, cap, "NaN"); return; }
    if (isinf(v)) { snprintf(out, cap, v < 0 ? "-Infinity" : "Infinity"); return; }
    char e[48];
    int p;
    for (p = 1; p < 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, v);
        if (strtod(e, NULL) == v) break;
    }
    snprintf(e, sizeof e, "%.*e", p - 1, v);
    char *ep = strchr(e, 'e');
    int x = atoi(ep + 1);
    if (x >= -4 && x < 16) {
        int dec = p - 1 - x;
        snprintf(out, cap, "%.*f", dec < 1 ? 1 : dec, v);
    } else {
        *ep = 0;
        snprintf(out, cap, "%.24se%c%02d", e, x < 0 ? '-' : '+', x < 0 ? -x : x);
    }
}

static radi_status put_str(radi_meta *m, const char *key, const char *v)
{
    return radi_meta_put(m, key, RADI_STRING_UTF8, (uint32_t)strlen(v), v);
}

static radi_status put_i64(radi_meta *m, const char *key, int64_t v)
{
    return radi_meta_put(m, key, RADI_INT64, 1, &v);
}

static int get_i64(const radi_meta *m, const char *key, int64_t *v)
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
static char *get_str(const radi_meta *m, const char *key)
{
    radi_datatype t;
    uint32_t n;
    const void *p;
    if (radi_meta_get(m, key, &t, &n, &p) != RADI_OK) return NULL;
    if (t != RADI_STRING_UTF8 && t != RADI_STRING_ASCII && t != RADI_CHAR) return NULL;
    return rdi_strndup(p, n);
}

static int name_ok(const char *s)
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
static radi_status read_str_cols(radi_ctx *ctx, const char *uri, uint32_t ncols,
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
    radi_status s = read_str_cols(ctx, uri, 2, cols, l);
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
static radi_status add_member(radi_ctx *ctx, const char *uri, const char *name)
{
    radi_group *g = NULL;
    RDI_TRY(radi_group_open(ctx, uri, &g));
    radi_status s = radi_group_add_member(g, name, 1, name);
    radi_group_close(g);
    return s;
}

/* Removes what a failed operation created, keeping the original message. */
static radi_status undo(radi_ctx *ctx, const char *uri, radi_status st)
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
    if (s == RADI_OK) s = put_i64(radi_group_meta(g), "subject_count", 0);
    if (s == RADI_OK) s = put_i64(radi_group_meta(g), "n_collections", 0);
    if (s == RADI_OK) s = radi_group_add_member(g, "obs_meta", 1, "obs_meta");
    if (s == RADI_OK) s = radi_group_add_member(g, "collections", 1, "collections");
    radi_group_close(g);
    if (s != RADI_OK) undo(ctx, root, s);
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

static char *coll_uri(const radi_dataset *ds, const char *name, const char *child)
{
    char *c = rdi_asprintf("%s/collections/%s", ds->uri, name);
    if (!c || !child) return c;
    char *r = rdi_path_join(c, child);
    free(c);
    return r;
}

/* (Re)reads collection names and subject ids. */
static radi_status ds_load(radi_dataset *ds)
{
    ds_clear_lists(ds);
    char *cl = rdi_path_join(ds->uri, "collections"), *om = rdi_path_join(ds->uri, "obs_meta");
    radi_group *g = NULL;
    radi_status s = cl && om ? radi_group_open(ds->ctx, cl, &g) : RADI_E_NOMEM;
    if (s != RADI_OK) s = rdi_error_wrap(s, "%s: not a RadiObject dataset", ds->uri);
    for (uint64_t i = 0; s == RADI_OK && i < radi_group_member_count(g); i++) {
        radi_group_member m;
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
    radi_group_close(g);
    if (s == RADI_OK && ds->collections.n &&
        !(ds->cache = rdi_calloc(ds->collections.n, sizeof *ds->cache)))
        s = RADI_E_NOMEM;
    if (s == RADI_OK) {
        const char *col = K_SID;
        rdi_strlist sids = RDI_STRLIST_INIT;
        s = read_str_cols(ds->ctx, om, 1, &col, &sids);
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

radi_status radi_dataset_open(radi_ctx *ctx, const char *uri, radi_dataset **out)
{
    if (!ctx || !uri || !out) return rdi_error(RADI_E_INVALID, "radi_dataset_open: NULL argument");
    radi_object_type t;
    RDI_TRY(radi_object_type_of(ctx, uri, &t));
    if (t != RADI_OBJECT_GROUP)
        return rdi_error(RADI_E_NOT_FOUND, "%s: no dataset (not a TileDB group)", uri);
    radi_dataset *ds = rdi_calloc(1, sizeof *ds);
    if (!ds) return RADI_E_NOMEM;
    ds->ctx = ctx;
    radi_status s = (ds->uri = rdi_uri_normalize(uri)) ? ds_load(ds) : RADI_E_NOMEM;
    if (s != RADI_OK) {
        radi_dataset_close(ds);
        return s;
    }
    *out = ds;
    return RADI_OK;
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

static int64_t coll_index(const radi_dataset *ds, const char *name)
{
    for (size_t i = 0; i < ds->collections.n; i++)
        if (strcmp(ds->collections.items[i], name) == 0) return (int64_t)i;
    return -1;
}

/* One member of a collection's volumes group, with its obs_id metadata. */
typedef struct vol_member {
    char *name;
    char *obs_id;              /* NULL when the volume has none */
} vol_member;

/* Every member of <collection>/volumes with the obs_id its metadata holds. */
static radi_status list_volumes(radi_dataset *ds, const char *coll, vol_member **out, size_t *nout)
{
    char *vu = coll_uri(ds, coll, "volumes");
    if (!vu) return RADI_E_NOMEM;
    radi_group *g = NULL;
    vol_member *v = NULL;
    size_t n = 0;
    radi_status s = radi_group_open(ds->ctx, vu, &g);
    uint64_t nm = s == RADI_OK ? radi_group_member_count(g) : 0;
    if (s == RADI_OK && nm && !(v = rdi_calloc((size_t)nm, sizeof *v))) s = RADI_E_NOMEM;
    for (uint64_t i = 0; s == RADI_OK && i < nm; i++) {
        radi_group_member m;
        s = radi_group_member_at(g, i, &m);
        if (s != RADI_OK) break;
        size_t bl;
        const char *b = m.name ? m.name : rdi_path_basename(m.uri, &bl);
        v[n].name = m.name ? rdi_strdup(b) : rdi_strndup(b, bl);
        if (!v[n].name) { s = RADI_E_NOMEM; break; }
        /* Built by concatenation as 0.1.1 does, so moved datasets with stale absolute
         * member URIs still resolve. */
        char *au = rdi_path_join(vu, v[n].name);
        radi_meta meta;
        s = au ? rdi_meta_load(ds->ctx, au, 0, UINT64_MAX, ds->ctx->config.format_version, &meta)
               : RADI_E_NOMEM;
        if (s == RADI_OK) v[n].obs_id = get_str(&meta, K_OID);
        rdi_meta_clear(&meta);
        free(au);
        n++;
    }
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

static void free_members(vol_member *v, size_t n)
{
    for (size_t i = 0; i < n; i++) { free(v[i].name); free(v[i].obs_id); }
    free(v);
}

/* Parses a decimal member name ("0", "12"); -1 otherwise. */
static int64_t member_pos(const char *s)
{
    if (!*s || strlen(s) > 15) return -1;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

static radi_status load_collection(radi_dataset *ds, size_t ci)
{
    coll_cache *c = &ds->cache[ci];
    if (c->loaded) return RADI_OK;
    const char *name = ds->collections.items[ci];
    char *obs = coll_uri(ds, name, "obs");
    rdi_strlist sids = RDI_STRLIST_INIT, oids = RDI_STRLIST_INIT;
    vol_member *v = NULL;
    size_t nv = 0;
    radi_status s = obs ? read_keys(ds->ctx, obs, &sids, &oids) : RADI_E_NOMEM;
    if (s == RADI_OK) s = list_volumes(ds, name, &v, &nv);
    coll_cache nc = {0};
    nc.n = sids.n;
    if (s == RADI_OK && nc.n && !(nc.entries = rdi_calloc((size_t)nc.n, sizeof *nc.entries))) s = RADI_E_NOMEM;
    /* The strings move into nc.strs; entries point at them. */
    for (size_t i = 0; s == RADI_OK && i < sids.n; i++) {
        s = rdi_strlist_push_owned(&nc.strs, sids.items[i]);
        if (s == RADI_OK) { nc.entries[i].obs_subject_id = sids.items[i]; sids.items[i] = NULL; }
        if (s == RADI_OK) s = rdi_strlist_push_owned(&nc.strs, oids.items[i]);
        if (s == RADI_OK) { nc.entries[i].obs_id = oids.items[i]; oids.items[i] = NULL; }
    }
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
                int64_t p = member_pos(v[k].name);
                if (p >= 0 && (uint64_t)p < nc.n && !nc.entries[p].volume_uri) row = p;
            }
            if (row < 0) continue;
            char *u = coll_uri(ds, name, "volumes");
            char *vu = u ? rdi_path_join(u, v[k].name) : NULL;
            free(u);
            s = vu ? rdi_strlist_push_owned(&nc.strs, vu) : RADI_E_NOMEM;
            if (s == RADI_OK) nc.entries[row].volume_uri = vu;
        }
    }
    free_members(v, nv);
    for (size_t i = 0; i < sids.n; i++) free(sids.items[i]);
    for (size_t i = 0; i < oids.n; i++) free(oids.items[i]);
    free(sids.items);
    free(oids.items);
    free(obs);
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
    int64_t ci = coll_index(ds, collection);
    if (ci < 0) return rdi_error(RADI_E_NOT_FOUND, "%s: no collection '%s'", ds->uri, collection);
    RDI_TRY(load_collection(ds, (size_t)ci));
    *entries = ds->cache[ci].entries;
    *count = ds->cache[ci].n;
    return RADI_OK;
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
        return radi_volume_open(ds->ctx, e[i].volume_uri, out);
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
    char *cu = coll_uri(ds, name, NULL), *obs = coll_uri(ds, name, "obs"), *vol = coll_uri(ds, name, "volumes");
    radi_schema *sc = NULL;
    radi_group *g = NULL;
    radi_status s = cu && obs && vol ? radi_group_create(ds->ctx, cu) : RADI_E_NOMEM;
    if (s != RADI_OK) goto out;
    s = frame_schema(OBS_NATTR, obs_names, obs_types, &sc);
    if (s == RADI_OK) s = radi_array_create(ds->ctx, obs, sc);
    if (s == RADI_OK) s = radi_group_create(ds->ctx, vol);
    if (s == RADI_OK) s = radi_group_open(ds->ctx, cu, &g);
    if (s == RADI_OK) s = put_i64(radi_group_meta(g), "n_volumes", 0);
    if (s == RADI_OK) s = put_str(radi_group_meta(g), "name", name);
    if (s == RADI_OK) s = radi_group_add_member(g, "volumes", 1, "volumes");
    if (s == RADI_OK) s = radi_group_add_member(g, "obs", 1, "obs");
    radi_group_close(g);
    if (s != RADI_OK) undo(ds->ctx, cu, s);
out:
    radi_schema_free(sc);
    free(cu);
    free(obs);
    free(vol);
    return s;
}

static radi_status set_root_counts(radi_dataset *ds, int64_t subjects, int64_t ncoll)
{
    radi_group *g = NULL;
    RDI_TRY(radi_group_open(ds->ctx, ds->uri, &g));
    radi_status s = put_i64(radi_group_meta(g), "subject_count", subjects);
    if (s == RADI_OK) s = put_i64(radi_group_meta(g), "n_collections", ncoll);
    radi_group_close(g);
    return s;
}

static radi_status check_new_collection(radi_dataset *ds, const char *name)
{
    if (!name_ok(name))
        return rdi_error(RADI_E_INVALID, "%s: bad collection name '%s' (1-255 of A-Z a-z 0-9 _ . -)", ds->uri,
                         name);
    if (coll_index(ds, name) >= 0)
        return rdi_error(RADI_E_EXISTS, "%s: collection '%s' already exists", ds->uri, name);
    char *cu = coll_uri(ds, name, NULL);
    if (!cu) return RADI_E_NOMEM;
    int kind = 0;
    radi_status s = rdi_vfs_kind(ds->ctx->vfs, cu, &kind);
    if (s == RADI_OK && kind)
        s = rdi_error(RADI_E_EXISTS, "%s: something already exists at %s", ds->uri, cu);
    free(cu);
    return s;
}

/* Registers a made collection, updates the root counts and reloads. */
static radi_status register_collection(radi_dataset *ds, const char *name, int64_t subjects)
{
    char *cl = rdi_path_join(ds->uri, "collections");
    radi_status s = cl ? add_member(ds->ctx, cl, name) : RADI_E_NOMEM;
    free(cl);
    if (s == RADI_OK) s = set_root_counts(ds, subjects, (int64_t)ds->collections.n + 1);
    if (s == RADI_OK) s = ds_load(ds);
    return s;
}

radi_status radi_dataset_add_collection(radi_dataset *ds, const char *name)
{
    if (!ds || !name) return rdi_error(RADI_E_INVALID, "radi_dataset_add_collection: NULL argument");
    RDI_TRY(check_new_collection(ds, name));
    RDI_TRY(make_collection(ds, name));
    radi_status s = register_collection(ds, name, (int64_t)ds->subjects.n);
    if (s != RADI_OK) {
        char *cu = coll_uri(ds, name, NULL);
        if (cu) undo(ds->ctx, cu, s);
        free(cu);
    }
    return s;
}

/* ---------------------------------------------------------------- ingest -- */

void radi_ingest_options_init(radi_ingest_options *opt)
{
    radi_tile_config_init(&opt->tile);
    radi_compression_init(&opt->compression);
    opt->validate_alignment = 0;
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
    const char *vol_dir;
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
    RDI_TRY(radi_nifti_open(it->path, &img));
    it->hdr = *radi_nifti_get_header(img);
    radi_nifti_close(img);
    if (!volume_dtype_ok(it->hdr.datatype))
        return rdi_error(RADI_E_UNSUPPORTED, "%s: NIfTI datatype %d is not supported for volumes", it->path,
                         it->hdr.nifti_datatype);
    if (it->hdr.ndim != 3 && it->hdr.ndim != 4)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: a volume must be 3-D or 4-D, this image is %u-D", it->path,
                         it->hdr.ndim);
    return RADI_OK;
}

/* Scaling as recorded: a usable slope is kept with its intercept; otherwise 1 and 0. */
static void scaling(const radi_nifti_header *h, double *slope, double *inter)
{
    int valid = isfinite(h->scl_slope) && h->scl_slope != 0;
    *slope = valid ? h->scl_slope : 1.0;
    *inter = valid && isfinite(h->scl_inter) ? h->scl_inter : 0.0;
}

static radi_status affine_json(const double *a, rdi_buf *out)
{
    char num[48];
    RDI_TRY(rdi_buf_append(out, "[", 1));
    for (int r = 0; r < 4; r++) {
        RDI_TRY(rdi_buf_append(out, r ? ", [" : "[", r ? 3 : 1));
        for (int c = 0; c < 4; c++) {
            py_float(num, sizeof num, a[4 * r + c]);
            if (c) RDI_TRY(rdi_buf_append(out, ", ", 2));
            RDI_TRY(rdi_buf_append(out, num, strlen(num)));
        }
        RDI_TRY(rdi_buf_append(out, "]", 1));
    }
    RDI_TRY(rdi_buf_append(out, "]", 2)); /* with the NUL */
    return RADI_OK;
}

static const char *affine_source_name(const radi_nifti_header *h)
{
    return h->affine_source == RADI_NIFTI_AFFINE_SFORM   ? "nifti_sform"
           : h->affine_source == RADI_NIFTI_AFFINE_QFORM ? "nifti_qform"
                                                        : "identity";
}

/* The volume metadata of §3.3 (as 0.1.1's from_nifti, plus obs_id). */
static radi_status volume_meta(radi_meta *m, const item *it)
{
    const radi_nifti_header *h = &it->hdr;
    rdi_buf aff = RDI_BUF_INIT;
    int ident = 1;
    for (int i = 0; i < 16; i++) ident &= h->affine[i] == ((i % 5 == 0) ? 1.0 : 0.0);
    /* 0.1.1 labels a fallback or numerically identity affine identity/unknown here. */
    int header = h->affine_source != RADI_NIFTI_AFFINE_FALLBACK && !ident;
    double slope, inter;
    scaling(h, &slope, &inter);
    char sform[16], qform[16], slope_s[48], inter_s[48], units[16];
    snprintf(sform, sizeof sform, "%d", h->sform_code);
    snprintf(qform, sizeof qform, "%d", h->qform_code);
    py_float(slope_s, sizeof slope_s, slope);
    py_float(inter_s, sizeof inter_s, inter);
    snprintf(units, sizeof units, "%d", h->xyzt_units);
    radi_status s = affine_json(h->affine, &aff);
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
        };
        enum { NKV = sizeof kv / sizeof kv[0] };
        radi_meta_item items[NKV];
        for (size_t k = 0; k < NKV; k++)
            items[k] = (radi_meta_item){kv[k][0], RADI_STRING_UTF8, (uint32_t)strlen(kv[k][1]), kv[k][1]};
        s = radi_meta_put_many(m, NKV, items);
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
    void *buf = NULL;
    radi_array *a = NULL;
    radi_status s = radi_nifti_open(it->path, &img);
    uint64_t bytes = 0;
    if (s == RADI_OK) {
        const radi_nifti_header *h = radi_nifti_get_header(img);
        /* The header was checked; a file changed since then is refused, not misread. */
        if (h->datatype != it->hdr.datatype || h->ndim != it->hdr.ndim ||
            memcmp(h->shape, it->hdr.shape, sizeof h->shape) != 0)
            s = rdi_error(RADI_E_CORRUPT, "%s: file changed during ingest", it->path);
        bytes = radi_nifti_voxel_count(img) * radi_datatype_size(h->datatype);
    }
    if (s == RADI_OK && !(buf = rdi_malloc(bytes ? (size_t)bytes : 1))) s = RADI_E_NOMEM;
    if (s == RADI_OK) s = radi_nifti_read(img, 0, RADI_ANY, buf, bytes);
    radi_nifti_close(img);
    if (s == RADI_OK)
        s = radi_volume_from_buffer(j->ds->ctx, uri, it->hdr.ndim, it->hdr.shape, it->hdr.datatype, buf,
                                    &j->opt->tile, &j->opt->compression, NULL);
    free(buf);
    if (s == RADI_OK) s = radi_array_open(j->ds->ctx, uri, 0, 0, &a);
    if (s == RADI_OK) s = volume_meta(radi_array_meta(a), it);
    radi_array_close(a);
    if (s != RADI_OK && !strstr(radi_errmsg(), it->path)) rdi_error_wrap(s, "%s", it->path);
    free(uri);
    return s;
}

/* The obs rows of the ingested items, one write. */
static radi_status write_obs(radi_dataset *ds, const char *collection, item **order, size_t n)
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
        py_float(a, sizeof a, h->pixdim[1]);
        py_float(b, sizeof b, h->pixdim[2]);
        py_float(c, sizeof c, h->pixdim[3]);
        snprintf(t1, sizeof t1, "(%s, %s, %s)", a, b, c);
        snprintf(t2, sizeof t2, "(%llu, %llu, %llu)", (unsigned long long)h->shape[0],
                 (unsigned long long)h->shape[1], (unsigned long long)h->shape[2]);
        int u = h->xyzt_units & 7;
        const char *units = u == 1 ? "m" : u == 2 ? "mm" : u == 3 ? "um" : "unknown";
        aff.len = 0;
        s = affine_json(h->affine, &aff);
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
    char *obs = coll_uri(ds, collection, "obs");
    radi_array *arr = NULL;
    if (s == RADI_OK) s = obs ? radi_array_open(ds->ctx, obs, 0, 0, &arr) : RADI_E_NOMEM;
    if (s == RADI_OK) s = radi_array_write_sparse(arr, 2 + OBS_NATTR, bufs, n, 0);
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

/* obs_meta rows (sid, sid) for the subjects not yet in the dataset. */
static radi_status write_obs_meta(radi_dataset *ds, const rdi_strlist *news)
{
    if (!news->n) return RADI_OK;
    varcol c = {RDI_BUF_INIT, NULL};
    radi_status s = (c.off = rdi_calloc(news->n, 8)) ? RADI_OK : RADI_E_NOMEM;
    for (size_t i = 0; i < news->n && s == RADI_OK; i++) s = varcol_push(&c, i, news->items[i]);
    char *om = rdi_path_join(ds->uri, "obs_meta");
    radi_array *a = NULL;
    if (s == RADI_OK) s = om ? radi_array_open(ds->ctx, om, 0, 0, &a) : RADI_E_NOMEM;
    if (s == RADI_OK) {
        radi_sparse_buffer b[2] = {{K_SID, c.data.data, c.data.len, c.off, NULL},
                                   {K_OID, c.data.data, c.data.len, c.off, NULL}};
        s = radi_array_write_sparse(a, 2, b, news->n, 0);
    }
    radi_array_close(a);
    free(om);
    rdi_buf_free(&c.data);
    free(c.off);
    return s;
}

/* Rejects ids used twice in this ingest or already used in any collection. */
static radi_status check_ids(radi_dataset *ds, item **order, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!id_ok(order[i]->sid) || !id_ok(order[i]->oid))
            return rdi_error(RADI_E_INVALID, "%s: subject id '%s' / obs_id '%s' must be non-empty printable ASCII",
                             order[i]->path, order[i]->sid, order[i]->oid);
        if (i && strcmp(order[i]->oid, order[i - 1]->oid) == 0 && strcmp(order[i]->sid, order[i - 1]->sid) == 0)
            return rdi_error(RADI_E_EXISTS, "%s and %s: duplicate (subject, obs_id) ('%s', '%s')", order[i - 1]->path,
                             order[i]->path, order[i]->sid, order[i]->oid);
    }
    /* obs_id alone must be unique (0.1.1's validate checks it across collections). */
    rdi_strlist all = RDI_STRLIST_INIT;
    radi_status s = RADI_OK;
    for (size_t i = 0; i < n && s == RADI_OK; i++) s = rdi_strlist_push(&all, order[i]->oid);
    rdi_strlist_sort(&all);
    for (size_t i = 1; i < all.n && s == RADI_OK; i++)
        if (strcmp(all.items[i], all.items[i - 1]) == 0)
            s = rdi_error(RADI_E_EXISTS, "duplicate obs_id '%s' in the files to ingest", all.items[i]);
    for (size_t c = 0; c < ds->collections.n && s == RADI_OK; c++) {
        s = load_collection(ds, c);
        for (uint64_t r = 0; s == RADI_OK && r < ds->cache[c].n; r++) {
            const char *o = ds->cache[c].entries[r].obs_id;
            if (rdi_strlist_has_sorted(&all, o, strlen(o)))
                s = rdi_error(RADI_E_EXISTS, "%s: obs_id '%s' already exists in collection '%s'", ds->uri, o,
                              ds->collections.items[c]);
        }
    }
    rdi_strlist_free(&all);
    return s;
}

/* Undoes an append into an existing collection: its volume members and arrays. */
static void undo_append(radi_dataset *ds, const char *vol_dir, uint64_t base, size_t n, size_t nmembers,
                        radi_status st)
{
    char *why = rdi_strdup(radi_errmsg());
    radi_group *g = NULL;
    if (nmembers && radi_group_open(ds->ctx, vol_dir, &g) == RADI_OK) {
        for (size_t i = 0; i < nmembers; i++) {
            char num[24];
            snprintf(num, sizeof num, "%llu", (unsigned long long)(base + i));
            radi_group_remove_member(g, num);
        }
        radi_group_close(g);
    }
    for (size_t i = 0; i < n; i++) {
        char num[24];
        snprintf(num, sizeof num, "%llu", (unsigned long long)(base + i));
        char *u = rdi_path_join(vol_dir, num);
        radi_object_type t = RADI_OBJECT_INVALID;
        if (u && radi_object_type_of(ds->ctx, u, &t) == RADI_OK && t != RADI_OBJECT_INVALID)
            radi_object_remove(ds->ctx, u);
        free(u);
    }
    rdi_error(st, "%s", why ? why : "ingest failed");
    free(why);
}

/* The collection's metadata after an ingest: n_volumes, and x/y/z_dim only while every
 * volume shares one spatial shape. */
static radi_status update_collection_meta(radi_dataset *ds, const char *collection, ingest_job *j, size_t n,
                                          uint64_t base)
{
    char *cu = coll_uri(ds, collection, NULL);
    radi_group *g = NULL;
    radi_status s = cu ? radi_group_open(ds->ctx, cu, &g) : RADI_E_NOMEM;
    free(cu);
    RDI_TRY(s);
    radi_meta *m = radi_group_meta(g);
    const char *dn[3] = {"x_dim", "y_dim", "z_dim"};
    int uniform = 1, had = 1;
    int64_t old[3];
    for (int d = 0; d < 3; d++) had &= get_i64(m, dn[d], &old[d]);
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < 3; d++) {
            uniform &= j->items[i].hdr.shape[d] == j->items[0].hdr.shape[d];
            if (base) uniform &= had && (int64_t)j->items[i].hdr.shape[d] == old[d];
        }
    s = put_i64(m, "n_volumes", (int64_t)(base + n));
    for (int d = 0; d < 3 && s == RADI_OK; d++) {
        if (uniform && !(had && base)) s = put_i64(m, dn[d], (int64_t)j->items[0].hdr.shape[d]);
        else if (!uniform && had) s = radi_meta_delete(m, dn[d]);
    }
    radi_group_close(g);
    return s;
}

/* ci: the existing collection's index, or -1 to create it. */
static radi_status ingest_body(radi_dataset *ds, const char *collection, ingest_job *j, size_t n,
                               int64_t ci, int *made)
{
    /* 1. Headers (parallel), shapes, ids: nothing is written before all pass. */
    RDI_TRY(rdi_pool_for(ds->ctx->pool, n, header_task, j));
    for (size_t i = 1; i < n && j->opt->validate_alignment; i++)
        for (int d = 0; d < 3; d++)
            if (j->items[i].hdr.shape[d] != j->items[0].hdr.shape[d])
                return rdi_error(RADI_E_INVALID, "%s: shape %llux%llux%llu differs from %s (%llux%llux%llu)",
                                 j->items[i].path, (unsigned long long)j->items[i].hdr.shape[0],
                                 (unsigned long long)j->items[i].hdr.shape[1],
                                 (unsigned long long)j->items[i].hdr.shape[2], j->items[0].path,
                                 (unsigned long long)j->items[0].hdr.shape[0],
                                 (unsigned long long)j->items[0].hdr.shape[1],
                                 (unsigned long long)j->items[0].hdr.shape[2]);
    qsort(j->order, n, sizeof *j->order, cmp_item);
    RDI_TRY(check_ids(ds, j->order, n));
    uint64_t base = 0;
    if (ci >= 0) {
        /* An append keeps volumes/<k> in sorted order only if every new key sorts after
         * the existing ones; otherwise it would need renumbering, which is refused. */
        const coll_cache *c = &ds->cache[ci];
        base = c->n;
        for (uint64_t r = 0; r < c->n; r++)
            if (!c->entries[r].volume_uri)
                return rdi_error(RADI_E_CORRUPT, "%s: collection '%s' is inconsistent (obs row '%s' has no volume); "
                                 "run validate", ds->uri, collection, c->entries[r].obs_id);
        if (base) {
            const radi_volume_entry *last = &c->entries[base - 1];
            int cmp = strcmp(j->order[0]->sid, last->obs_subject_id);
            if (cmp < 0 || (cmp == 0 && strcmp(j->order[0]->oid, last->obs_id) < 0))
                return rdi_error(RADI_E_UNSUPPORTED,
                                 "%s: appending ('%s', '%s') to collection '%s' would need renumbering its volumes "
                                 "(it sorts before the existing ('%s', '%s')); not supported yet",
                                 j->order[0]->path, j->order[0]->sid, j->order[0]->oid, collection,
                                 last->obs_subject_id, last->obs_id);
        }
        if (j->opt->validate_alignment && base) {
            radi_volume *v = NULL;
            RDI_TRY(radi_volume_open(ds->ctx, c->entries[0].volume_uri, &v));
            const uint64_t *sh = radi_volume_shape(v);
            int same = 1;
            for (int d = 0; d < 3; d++) same &= sh[d] == j->items[0].hdr.shape[d];
            radi_volume_close(v);
            if (!same)
                return rdi_error(RADI_E_INVALID, "%s: shape differs from collection '%s' (%llux%llux%llu)",
                                 j->items[0].path, collection, (unsigned long long)sh[0], (unsigned long long)sh[1],
                                 (unsigned long long)sh[2]);
        }
    }
    rdi_strlist news = RDI_STRLIST_INIT;
    radi_status s = RADI_OK;
    for (size_t i = 0; i < n && s == RADI_OK; i++) {
        j->order[i]->k = base + i;
        const char *sid = j->order[i]->sid;
        if (!rdi_strlist_has_sorted(&ds->subjects, sid, strlen(sid)) &&
            (!news.n || strcmp(news.items[news.n - 1], sid) != 0))
            s = rdi_strlist_push(&news, sid);
    }
    if (s == RADI_OK && news.n) {
        /* New subjects need values for user columns, which this call cannot supply. */
        char *om = rdi_path_join(ds->uri, "obs_meta");
        radi_array *a = NULL;
        radi_schema_info si;
        s = om ? radi_array_open(ds->ctx, om, 0, 0, &a) : RADI_E_NOMEM;
        if (s == RADI_OK) s = radi_schema_get_info(radi_array_schema(a), &si);
        if (s == RADI_OK && si.nattr)
            s = rdi_error(RADI_E_UNSUPPORTED, "%s: subject '%s' has no obs_meta row, and obs_meta has %u user "
                          "columns this call cannot fill: write its obs_meta row first", ds->uri, news.items[0], si.nattr);
        radi_array_close(a);
        free(om);
    }
    /* 2. A new collection stays unregistered until complete. */
    if (s == RADI_OK && ci < 0) {
        s = make_collection(ds, collection);
        if (s == RADI_OK) *made = 1;
    }
    if (s == RADI_OK) s = rdi_pool_for(ds->ctx->pool, n, volume_task, j);
    size_t nmembers = 0;
    for (size_t i = 0; i < n && s == RADI_OK; i++) {
        char num[24];
        snprintf(num, sizeof num, "%llu", (unsigned long long)(base + i));
        s = add_member(ds->ctx, j->vol_dir, num);
        if (s == RADI_OK) nmembers++;
    }
    if (s == RADI_OK) s = write_obs(ds, collection, j->order, n);
    if (s != RADI_OK && ci >= 0) undo_append(ds, j->vol_dir, base, n, nmembers, s);
    if (s == RADI_OK) s = update_collection_meta(ds, collection, j, n, base);
    /* 3. obs_meta rows, then the registration that makes a new collection visible. */
    if (s == RADI_OK) s = write_obs_meta(ds, &news);
    int64_t nsub = (int64_t)(ds->subjects.n + news.n);
    if (s == RADI_OK && ci < 0) s = register_collection(ds, collection, nsub);
    else if (s == RADI_OK) s = set_root_counts(ds, nsub, (int64_t)ds->collections.n);
    if (s == RADI_OK && ci >= 0) s = ds_load(ds);
    rdi_strlist_free(&news);
    return s;
}

radi_status radi_dataset_ingest_niftis(radi_dataset *ds, const char *collection, size_t n,
                                       const radi_nifti_source *sources, const radi_ingest_options *opt)
{
    if (!ds || !collection || (n && !sources))
        return rdi_error(RADI_E_INVALID, "radi_dataset_ingest_niftis: NULL argument");
    if (n == 0) return rdi_error(RADI_E_INVALID, "%s: no NIfTI files to ingest into '%s'", ds->uri, collection);
    /* obs_meta rows or collections written since open (by the caller) count. */
    RDI_TRY(ds_load(ds));
    int64_t ci = coll_index(ds, collection);
    if (ci >= 0) RDI_TRY(load_collection(ds, (size_t)ci));
    else RDI_TRY(check_new_collection(ds, collection));
    radi_ingest_options def;
    if (!opt) {
        radi_ingest_options_init(&def);
        opt = &def;
    }
    ingest_job j = {ds, NULL, NULL, opt, NULL};
    char *vol_dir = coll_uri(ds, collection, "volumes");
    radi_status s = vol_dir ? RADI_OK : RADI_E_NOMEM;
    j.vol_dir = vol_dir;
    if (s == RADI_OK && (!(j.items = rdi_calloc(n, sizeof *j.items)) || !(j.order = rdi_calloc(n, sizeof *j.order))))
        s = RADI_E_NOMEM;
    for (size_t i = 0; i < n && s == RADI_OK; i++) {
        item *it = &j.items[i];
        j.order[i] = it;
        it->path = sources[i].path;
        it->sid = sources[i].subject_id;
        if (!it->path || !it->sid) {
            s = rdi_error(RADI_E_INVALID, "%s: NIfTI source %zu has no path or subject id", ds->uri, i);
            break;
        }
        it->oid = sources[i].obs_id ? rdi_strdup(sources[i].obs_id) : rdi_asprintf("%s_%s", it->sid, collection);
        char *rp = realpath(it->path, NULL);
        it->abspath = rp ? rp : rdi_strdup(it->path);
        if (!it->oid || !it->abspath) s = RADI_E_NOMEM;
    }
    int made = 0;
    if (s == RADI_OK) s = ingest_body(ds, collection, &j, n, ci, &made);
    if (s != RADI_OK && made) {
        char *cu = coll_uri(ds, collection, NULL);
        if (cu) undo(ds->ctx, cu, s);
        free(cu);
    }
    for (size_t i = 0; j.items && i < n; i++) {
        free(j.items[i].oid);
        free(j.items[i].abspath);
    }
    free(j.items);
    free(j.order);
    free(vol_dir);
    return s;
}

/* -------------------------------------------------------------- validate -- */

static radi_status note(rdi_strlist *l, char *msg)
{
    return msg ? rdi_strlist_push_owned(l, msg) : RADI_E_NOMEM;
}

static radi_status validate_collection(radi_dataset *ds, size_t ci, rdi_strlist *msgs, rdi_strlist *all_oids)
{
    const char *name = ds->collections.items[ci];
    RDI_TRY(load_collection(ds, ci));
    const coll_cache *c = &ds->cache[ci];
    vol_member *v = NULL;
    size_t nv = 0;
    RDI_TRY(list_volumes(ds, name, &v, &nv));
    char *cu = coll_uri(ds, name, NULL);
    radi_group *g = NULL;
    radi_status s = cu ? radi_group_open(ds->ctx, cu, &g) : RADI_E_NOMEM;
    int64_t nvol = -1, dims[3] = {0, 0, 0};
    int has_dims = 0;
    if (s == RADI_OK) {
        if (!get_i64(radi_group_meta(g), "n_volumes", &nvol))
            s = note(msgs, rdi_asprintf("collection '%s': metadata n_volumes is missing", name));
        has_dims = get_i64(radi_group_meta(g), "x_dim", &dims[0]) && get_i64(radi_group_meta(g), "y_dim", &dims[1]) &&
                   get_i64(radi_group_meta(g), "z_dim", &dims[2]);
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
        if (s == RADI_OK && !rdi_strlist_has_sorted(&ds->subjects, e->obs_subject_id, strlen(e->obs_subject_id)))
            s = note(msgs, rdi_asprintf("collection '%s': subject '%s' of obs_id '%s' is not in obs_meta", name,
                                        e->obs_subject_id, e->obs_id));
    }
    for (size_t k = 0; k < nv && s == RADI_OK; k++) {
        if (!v[k].obs_id) {
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
        int64_t p = member_pos(v[k].name);
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
    free_members(v, nv);
    free(cu);
    return s;
}

radi_status radi_dataset_validate(radi_dataset *ds, char ***messages, size_t *count)
{
    if (!ds || !messages || !count) return rdi_error(RADI_E_INVALID, "radi_dataset_validate: NULL argument");
    rdi_strlist msgs = RDI_STRLIST_INIT;
    radi_group *g = NULL;
    radi_status s = ds_load(ds);
    if (s == RADI_OK) s = radi_group_open(ds->ctx, ds->uri, &g);
    int64_t v;
    if (s == RADI_OK) {
        if (!get_i64(radi_group_meta(g), "subject_count", &v))
            s = note(&msgs, rdi_asprintf("metadata subject_count is missing"));
        else if ((uint64_t)v != ds->subjects.n)
            s = note(&msgs, rdi_asprintf("subject_count is %lld but obs_meta has %zu subjects", (long long)v,
                                         ds->subjects.n));
    }
    if (s == RADI_OK) {
        if (!get_i64(radi_group_meta(g), "n_collections", &v))
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
        for (uint64_t r = 0; s == RADI_OK && r < ds->cache[c].n; r++)
            s = rdi_strlist_push(&seen, ds->cache[c].entries[r].obs_id);
        rdi_strlist_sort(&seen);
    }
    rdi_strlist_free(&seen);
    if (s != RADI_OK) {
        rdi_strlist_free(&msgs);
        return s;
    }
    *messages = msgs.items;
    *count = msgs.n;
    return RADI_OK;
}

void radi_messages_free(char **messages, size_t count)
{
    for (size_t i = 0; messages && i < count; i++) free(messages[i]);
    free(messages);
}
