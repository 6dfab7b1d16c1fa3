/*
 * The public sparse query handle: creation, ranges, columns, filter, and the result
 * accessors (the read itself is sparse_read.c).
 */
#include <stdlib.h>
#include <string.h>

#include "tdb/sparse_query.h"

/* ------------------------------------------------------------------ queries -- */

radi_status radi_sparse_query_create(radi_array *array, radi_sparse_query **out)
{
    if (!array || !out) return rdi_error(RADI_E_INVALID, "radi_sparse_query_create: NULL argument");
    if (array->schema->type != RADI_SPARSE)
        return rdi_error(RADI_E_INVALID, "%s: not a sparse array", array->uri);
    radi_sparse_query *q = rdi_calloc(1, sizeof *q);
    if (!q) return RADI_E_NOMEM;
    q->a = array;
    q->s = array->schema;
    radi_status st = rdi_gorder_init(q->s, &q->g);
    if (st != RADI_OK) {
        free(q);
        return rdi_error_wrap(st, "%s", array->uri);
    }
    *out = q;
    return RADI_OK;
}

void rdi_sq_free_results(radi_sparse_query *q)
{
    for (uint32_t i = 0; i < q->nres; i++) rdi_ocol_free(&q->res[i]);
    free(q->res);
    free(q->res_field);
    q->res = NULL;
    q->res_field = NULL;
    q->nres = 0;
    q->rows = 0;
}

void radi_sparse_query_free(radi_sparse_query *q)
{
    if (!q) return;
    rdi_sq_free_results(q);
    for (uint32_t d = 0; d < RDI_SPARSE_MAX_DIMS; d++) free(q->r[d]);
    for (size_t i = 0; i < q->nowned; i++) free(q->owned[i]);
    free(q->owned);
    free(q->cols);
    rdi_expr_free(q->expr);
    free(q);
}

static radi_status own_bytes(radi_sparse_query *q, const void *p, uint64_t n, const uint8_t **out)
{
    void **o = realloc(q->owned, (q->nowned + 1) * sizeof *o);
    if (!o) return rdi_nomem();
    q->owned = o;
    uint8_t *c = malloc(n ? n : 1);
    if (!c) return rdi_nomem();
    if (n) memcpy(c, p, n);
    q->owned[q->nowned++] = c;
    *out = c;
    return RADI_OK;
}

radi_status radi_sparse_query_add_range(radi_sparse_query *q, const char *dim, const void *lo,
                                        uint64_t lo_size, const void *hi, uint64_t hi_size)
{
    if (!q || !dim || (!lo && lo_size) || (!hi && hi_size))
        return rdi_error(RADI_E_INVALID, "radi_sparse_query_add_range: NULL argument");
    uint32_t d = 0;
    for (d = 0; d < q->s->ndim; d++)
        if (strcmp(q->s->dims[d].name, dim) == 0) break;
    if (d == q->s->ndim)
        return rdi_error(RADI_E_INVALID, "%s: no dimension named '%s'", q->a->uri, dim);
    rdi_qrange r;
    memset(&r, 0, sizeof r);
    if (q->g.dims[d].var) {
        if (rdi_str_cmp(lo, lo_size, hi, hi_size) > 0)
            return rdi_error(RADI_E_INVALID, "%s: range on '%s' has lo > hi", q->a->uri, dim);
        RDI_TRY(own_bytes(q, lo, lo_size, &r.slo));
        RDI_TRY(own_bytes(q, hi, hi_size, &r.shi));
        r.slo_len = lo_size;
        r.shi_len = hi_size;
    } else {
        if (!lo || !hi) return rdi_error(RADI_E_INVALID, "%s: range on '%s' needs values", q->a->uri, dim);
        r.lo_key = rdi_coord_key(q->g.dims[d].type, lo);
        r.hi_key = rdi_coord_key(q->g.dims[d].type, hi);
        if (r.lo_key > r.hi_key)
            return rdi_error(RADI_E_INVALID, "%s: range on '%s' has lo > hi", q->a->uri, dim);
    }
    rdi_qrange *n = realloc(q->r[d], (q->nr[d] + 1) * sizeof *n);
    if (!n) return rdi_nomem();
    n[q->nr[d]++] = r;
    q->r[d] = n;
    return RADI_OK;
}

radi_status radi_sparse_query_add_point(radi_sparse_query *q, const char *dim, const void *value,
                                        uint64_t size)
{
    return radi_sparse_query_add_range(q, dim, value, size, value, size);
}

radi_status radi_sparse_query_set_columns(radi_sparse_query *q, uint32_t ncols,
                                          const char *const *names)
{
    if (!q || (ncols && !names))
        return rdi_error(RADI_E_INVALID, "radi_sparse_query_set_columns: NULL argument");
    uint32_t *cols = NULL;
    if (ncols) {
        cols = rdi_calloc(ncols, sizeof *cols);
        if (!cols) return RADI_E_NOMEM;
        for (uint32_t i = 0; i < ncols; i++)
            if (!names[i] || !field_index(q->s, names[i], &cols[i])) {
                free(cols);
                return rdi_error(RADI_E_INVALID, "%s: no column named '%s'", q->a->uri,
                                 names[i] ? names[i] : "(null)");
            }
    }
    free(q->cols);
    q->cols = cols;
    q->ncols = ncols;
    return RADI_OK;
}

radi_status radi_sparse_query_set_filter(radi_sparse_query *q, const char *text)
{
    if (!q) return rdi_error(RADI_E_INVALID, "radi_sparse_query_set_filter: NULL query");
    rdi_expr *e = NULL;
    if (text) RDI_TRY(rdi_expr_parse(text, &e));
    if (e) {
        /* Evaluating over zero rows checks column names and types now, with the
         * position in the text, rather than at submit. */
        uint32_t nf = nfields_of(q->s);
        rdi_column *cols = rdi_calloc(nf, sizeof *cols);
        radi_status st = cols ? RADI_OK : RADI_E_NOMEM;
        for (uint32_t k = 0; k < nf && st == RADI_OK; k++) {
            finfo fi;
            field_info(q->s, k, &fi);
            cols[k].name = field_name(q->s, k);
            cols[k].type = fi.type;
        }
        uint8_t none = 0;
        if (st == RADI_OK) st = rdi_expr_eval(e, cols, nf, 0, &none);
        free(cols);
        if (st != RADI_OK) {
            rdi_expr_free(e);
            return st;
        }
    }
    rdi_expr_free(q->expr);
    q->expr = e;
    return RADI_OK;
}

/* ------------------------------------------------------------- results -- */

uint64_t radi_sparse_query_rows(const radi_sparse_query *q) { return q ? q->rows : 0; }
uint32_t radi_sparse_query_ncolumns(const radi_sparse_query *q) { return q ? q->nres : 0; }

radi_status radi_sparse_query_column(const radi_sparse_query *q, uint32_t i, radi_sparse_column *out)
{
    if (!q || !out) return rdi_error(RADI_E_INVALID, "radi_sparse_query_column: NULL argument");
    if (i >= q->nres)
        return rdi_error(RADI_E_INVALID, "radi_sparse_query_column: column %u of %u", i, q->nres);
    uint32_t k = q->res_field[i];
    finfo fi;
    field_info(q->s, k, &fi);
    const rdi_ocol *c = &q->res[i];
    out->name = field_name(q->s, k);
    out->type = fi.type;
    out->cell_val_num = fi.cell_val_num;
    out->is_dim = k < q->s->ndim;
    out->data = c->data.data;
    out->data_size = c->data.len;
    out->offsets = c->cell_size ? NULL : (const uint64_t *)(const void *)c->offsets.data;
    out->validity = c->nullable ? c->validity.data : NULL;
    return RADI_OK;
}

radi_status radi_sparse_query_copy_column(const radi_sparse_query *q, uint32_t i, void *data,
                                          uint64_t data_cap, uint64_t *offsets, uint64_t offsets_cap,
                                          uint8_t *validity, uint64_t validity_cap)
{
    radi_sparse_column c;
    RDI_TRY(radi_sparse_query_column(q, i, &c));
    if (data) {
        if (data_cap < c.data_size)
            return rdi_error(RADI_E_INVALID, "column '%s': data buffer of %llu bytes < %llu", c.name,
                             (unsigned long long)data_cap, (unsigned long long)c.data_size);
        if (c.data_size) memcpy(data, c.data, c.data_size);
    }
    if (offsets && c.offsets) {
        if (offsets_cap < q->rows * 8)
            return rdi_error(RADI_E_INVALID, "column '%s': offsets buffer too small", c.name);
        if (q->rows) memcpy(offsets, c.offsets, q->rows * 8);
    }
    if (validity && c.validity) {
        if (validity_cap < q->rows)
            return rdi_error(RADI_E_INVALID, "column '%s': validity buffer too small", c.name);
        if (q->rows) memcpy(validity, c.validity, q->rows);
    }
    return RADI_OK;
}
