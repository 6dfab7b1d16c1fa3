/*
 * Small helpers of the dataset model: metadata values as 0.1.1 types them, collection
 * names, string columns of the dataframes, the dataframe schema, group members and the
 * undo of a failed creation.
 */
#include <stdio.h>
#include <stdlib.h>

#include "model/dataset.h"

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

/* A sparse dataframe schema with the two ASCII key dimensions and the given attributes. */
radi_status rdi_ds_frame_schema(uint32_t nattr, const char *const *names, const radi_datatype *types,
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

radi_status rdi_ds_write_root(radi_ctx *ctx, const char *root, int64_t subject_count, int64_t n_collections)
{
    radi_group *g = NULL;
    radi_status s = radi_group_open(ctx, root, &g);
    if (s == RADI_OK) {
        int64_t counts[2] = {subject_count, n_collections};
        radi_meta_item items[2] = {{"subject_count", RADI_INT64, 1, &counts[0]},
                                   {"n_collections", RADI_INT64, 1, &counts[1]}};
        s = radi_meta_put_many(radi_group_meta(g), 2, items);
    }
    const char *members[2] = {"obs_meta", "collections"};
    if (s == RADI_OK) s = radi_group_add_members(g, 2, members, 1, members);
    radi_group_close(g);
    return s;
}
