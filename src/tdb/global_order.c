/*
 * TileDB's global cell order for sparse schemas, stable sorting and deduplication of
 * cells in it, MBRs and query-range tests (docs/format.md §8.1, §9).
 *
 * Global order (TileDB's GlobalCmp): first the tiles in tile order, where only integer
 * dimensions with a tile extent split the space (tile index = (v - domain lo) / extent;
 * string dimensions and dimensions without extents compare equal here), then the cells
 * in cell order. Row-major compares dimension 0 first, col-major the last first.
 */
#include <stdlib.h>

#include "tdb/sparse.h"

/* ------------------------------------------------------------- owned columns -- */

void rdi_ocol_free(rdi_ocol *c)
{
    if (!c) return;
    rdi_buf_free(&c->data);
    rdi_buf_free(&c->offsets);
    rdi_buf_free(&c->validity);
    c->n = 0;
}

rdi_scol rdi_ocol_view(const rdi_ocol *c)
{
    rdi_scol v;
    v.data = c->data.data;
    v.offsets = c->cell_size ? NULL : (const uint64_t *)c->offsets.data;
    v.data_size = c->data.len;
    v.validity = c->nullable ? c->validity.data : NULL;
    v.cell_size = c->cell_size;
    v.n = c->n;
    return v;
}

radi_status rdi_ocol_append(rdi_ocol *dst, const rdi_scol *src, uint64_t i)
{
    uint64_t len;
    const uint8_t *p = rdi_scol_cell(src, i, &len);
    if (!dst->cell_size) RDI_TRY(rdi_buf_put_u64(&dst->offsets, dst->data.len));
    RDI_TRY(rdi_buf_append(&dst->data, p, len));
    if (dst->nullable) RDI_TRY(rdi_buf_put_u8(&dst->validity, src->validity ? src->validity[i] : 1));
    dst->n++;
    return RADI_OK;
}

radi_status rdi_ocol_gather(rdi_ocol *dst, const rdi_scol *src, const uint64_t *idx, uint64_t n)
{
    if (dst->cell_size) {
        /* Fixed cells: one reservation, then straight copies. */
        uint32_t cs = dst->cell_size;
        uint8_t *out;
        RDI_TRY(rdi_buf_extend(&dst->data, (size_t)n * cs, &out));
        if (cs == 8)
            for (uint64_t k = 0; k < n; k++) memcpy(out + k * 8, src->data + idx[k] * 8, 8);
        else if (cs == 4)
            for (uint64_t k = 0; k < n; k++) memcpy(out + k * 4, src->data + idx[k] * 4, 4);
        else
            for (uint64_t k = 0; k < n; k++) memcpy(out + k * cs, src->data + idx[k] * cs, cs);
    } else {
        uint64_t total = 0, len;
        for (uint64_t k = 0; k < n; k++) {
            rdi_scol_cell(src, idx[k], &len);
            total += len;
        }
        size_t at = dst->data.len;
        uint8_t *d0, *o0;
        RDI_TRY(rdi_buf_extend(&dst->data, total, &d0));
        RDI_TRY(rdi_buf_extend(&dst->offsets, (size_t)n * 8, &o0));
        uint64_t *offs = (uint64_t *)(void *)o0;
        uint64_t pos = at;
        for (uint64_t k = 0; k < n; k++) {
            const uint8_t *p = rdi_scol_cell(src, idx[k], &len);
            offs[k] = pos;
            if (len) memcpy(dst->data.data + pos, p, len);
            pos += len;
        }
    }
    if (dst->nullable) {
        uint8_t *v;
        RDI_TRY(rdi_buf_extend(&dst->validity, n, &v));
        for (uint64_t k = 0; k < n; k++) v[k] = src->validity ? src->validity[idx[k]] : 1;
    }
    dst->n += n;
    return RADI_OK;
}

/* -------------------------------------------------------------- global order -- */

uint64_t rdi_coord_key(radi_datatype type, const void *p)
{
    const uint64_t bias = (uint64_t)1 << 63;
    switch (type) {
    case RADI_INT8: { int8_t v; memcpy(&v, p, 1); return (uint64_t)(int64_t)v + bias; }
    case RADI_INT16: { int16_t v; memcpy(&v, p, 2); return (uint64_t)(int64_t)v + bias; }
    case RADI_INT32: { int32_t v; memcpy(&v, p, 4); return (uint64_t)(int64_t)v + bias; }
    case RADI_INT64: { int64_t v; memcpy(&v, p, 8); return (uint64_t)v + bias; }
    case RADI_UINT8: case RADI_BOOL: { uint8_t v; memcpy(&v, p, 1); return v; }
    case RADI_UINT16: { uint16_t v; memcpy(&v, p, 2); return v; }
    case RADI_UINT32: { uint32_t v; memcpy(&v, p, 4); return v; }
    case RADI_UINT64: { uint64_t v; memcpy(&v, p, 8); return v; }
    default: return 0;
    }
}

void rdi_coord_from_key(radi_datatype type, uint64_t k, void *p)
{
    const uint64_t bias = (uint64_t)1 << 63;
    if (rdi_datatype_is_signed(type)) {
        int64_t v = (int64_t)(k - bias);
        switch (type) {
        case RADI_INT8: { int8_t x = (int8_t)v; memcpy(p, &x, 1); break; }
        case RADI_INT16: { int16_t x = (int16_t)v; memcpy(p, &x, 2); break; }
        case RADI_INT32: { int32_t x = (int32_t)v; memcpy(p, &x, 4); break; }
        default: memcpy(p, &v, 8); break;
        }
    } else {
        switch (radi_datatype_size(type)) {
        case 1: { uint8_t x = (uint8_t)k; memcpy(p, &x, 1); break; }
        case 2: { uint16_t x = (uint16_t)k; memcpy(p, &x, 2); break; }
        case 4: { uint32_t x = (uint32_t)k; memcpy(p, &x, 4); break; }
        default: memcpy(p, &k, 8); break;
        }
    }
}

int rdi_str_cmp(const void *a, uint64_t la, const void *b, uint64_t lb)
{
    uint64_t m = la < lb ? la : lb;
    int c = m ? memcmp(a, b, m) : 0;
    if (c) return c;
    return la < lb ? -1 : la > lb ? 1 : 0;
}

radi_status rdi_gorder_init(const radi_schema *s, rdi_gorder *g)
{
    memset(g, 0, sizeof *g);
    if (s->ndim == 0 || s->ndim > RDI_SPARSE_MAX_DIMS)
        return rdi_error(RADI_E_UNSUPPORTED, "sparse schema: %u dimensions (1..%d supported)",
                         s->ndim, RDI_SPARSE_MAX_DIMS);
    if ((s->tile_order != RADI_ROW_MAJOR && s->tile_order != RADI_COL_MAJOR) ||
        (s->cell_order != RADI_ROW_MAJOR && s->cell_order != RADI_COL_MAJOR))
        return rdi_error(RADI_E_UNSUPPORTED,
                         "sparse schema: tile/cell order %d/%d (only row- and col-major)",
                         (int)s->tile_order, (int)s->cell_order);
    g->ndim = s->ndim;
    g->tiles_row = s->tile_order == RADI_ROW_MAJOR;
    g->cells_row = s->cell_order == RADI_ROW_MAJOR;
    for (uint32_t d = 0; d < s->ndim; d++) {
        const rdi_dim *dim = &s->dims[d];
        rdi_gdim *gd = &g->dims[d];
        gd->type = dim->type;
        if (dim->cell_val_num == RADI_VAR_NUM) {
            if (dim->type != RADI_STRING_ASCII && dim->type != RADI_CHAR)
                return rdi_error(RADI_E_UNSUPPORTED, "dimension '%s': var-size %s", dim->name,
                                 radi_datatype_name(dim->type));
            gd->var = 1;
            continue;
        }
        if (!rdi_datatype_is_integer(dim->type) || dim->type == RADI_BOOL || dim->cell_val_num != 1)
            return rdi_error(RADI_E_UNSUPPORTED, "dimension '%s': type %s (integer or string only)",
                             dim->name, radi_datatype_name(dim->type));
        gd->size = (uint32_t)radi_datatype_size(dim->type);
        if (dim->has_extent && dim->has_domain) {
            gd->lo_key = rdi_coord_key(dim->type, dim->lo);
            gd->extent = rdi_coord_key(dim->type, dim->extent);
            if (rdi_datatype_is_signed(dim->type)) gd->extent -= (uint64_t)1 << 63;
            if (gd->extent == 0)
                return rdi_error(RADI_E_CORRUPT, "dimension '%s': zero tile extent", dim->name);
            gd->has_extent = 1;
            g->any_extent = 1;
        }
    }
    return RADI_OK;
}

static inline int cmp_u64(uint64_t a, uint64_t b) { return a < b ? -1 : a > b ? 1 : 0; }

static inline int dim_cell_cmp(const rdi_gdim *gd, const rdi_scol *a, uint64_t i,
                               const rdi_scol *b, uint64_t j)
{
    if (gd->var) {
        uint64_t la, lb;
        const uint8_t *pa = rdi_scol_cell(a, i, &la), *pb = rdi_scol_cell(b, j, &lb);
        return rdi_str_cmp(pa, la, pb, lb);
    }
    return cmp_u64(rdi_coord_key(gd->type, a->data + i * gd->size),
                   rdi_coord_key(gd->type, b->data + j * gd->size));
}

static inline int dim_tile_cmp(const rdi_gdim *gd, const rdi_scol *a, uint64_t i,
                               const rdi_scol *b, uint64_t j)
{
    if (!gd->has_extent) return 0;
    uint64_t ka = rdi_coord_key(gd->type, a->data + i * gd->size);
    uint64_t kb = rdi_coord_key(gd->type, b->data + j * gd->size);
    /* Keys below the domain are out of bounds; clamp so the order stays total. */
    uint64_t ta = ka >= gd->lo_key ? (ka - gd->lo_key) / gd->extent : 0;
    uint64_t tb = kb >= gd->lo_key ? (kb - gd->lo_key) / gd->extent : 0;
    return cmp_u64(ta, tb);
}

int rdi_gorder_cmp(const rdi_gorder *g, const rdi_scol *a, uint64_t i, const rdi_scol *b,
                   uint64_t j)
{
    uint32_t n = g->ndim;
    int c;
    if (g->any_extent) {
        for (uint32_t k = 0; k < n; k++) {
            uint32_t d = g->tiles_row ? k : n - 1 - k;
            if ((c = dim_tile_cmp(&g->dims[d], &a[d], i, &b[d], j))) return c;
        }
    }
    for (uint32_t k = 0; k < n; k++) {
        uint32_t d = g->cells_row ? k : n - 1 - k;
        if ((c = dim_cell_cmp(&g->dims[d], &a[d], i, &b[d], j))) return c;
    }
    return 0;
}

/* Natural merge sort: find ascending runs, then merge neighbours until one is left.
 * Merging takes from the left run on ties, which keeps the sort stable. */
radi_status rdi_gorder_sort(const rdi_gorder *g, const rdi_scol *cols, uint64_t *idx, uint64_t n)
{
    if (n < 2) return RADI_OK;
    uint64_t *runs = NULL, nruns = 0, cap = 16;
    runs = malloc(cap * sizeof *runs);
    if (!runs) return rdi_nomem();
    runs[nruns++] = 0;
    for (uint64_t k = 1; k < n; k++) {
        if (rdi_gorder_cmp(g, cols, idx[k - 1], cols, idx[k]) > 0) {
            if (nruns == cap) {
                uint64_t *r2 = realloc(runs, 2 * cap * sizeof *runs);
                if (!r2) { free(runs); return rdi_nomem(); }
                runs = r2;
                cap *= 2;
            }
            runs[nruns++] = k;
        }
    }
    if (nruns == 1) { free(runs); return RADI_OK; }
    uint64_t *tmp = malloc(n * sizeof *tmp);
    if (!tmp) { free(runs); return rdi_nomem(); }
    uint64_t *src = idx, *dst = tmp;
    while (nruns > 1) {
        uint64_t out_runs = 0;
        for (uint64_t r = 0; r < nruns; r += 2) {
            uint64_t b = runs[r];
            uint64_t m = r + 1 < nruns ? runs[r + 1] : n;
            uint64_t e = r + 2 < nruns ? runs[r + 2] : n;
            uint64_t x = b, y = m, o = b;
            while (x < m && y < e) {
                if (rdi_gorder_cmp(g, cols, src[y], cols, src[x]) < 0) dst[o++] = src[y++];
                else dst[o++] = src[x++];
            }
            while (x < m) dst[o++] = src[x++];
            while (y < e) dst[o++] = src[y++];
            runs[out_runs++] = b;
        }
        nruns = out_runs;
        uint64_t *t = src; src = dst; dst = t;
    }
    if (src != idx) memcpy(idx, src, n * sizeof *idx);
    free(tmp);
    free(runs);
    return RADI_OK;
}

uint64_t rdi_gorder_dedup(const rdi_gorder *g, const rdi_scol *cols, uint64_t *idx, uint64_t n)
{
    if (n < 2) return n;
    uint64_t out = 0;
    for (uint64_t k = 0; k < n; k++) {
        if (k + 1 < n && rdi_gorder_cmp(g, cols, idx[k], cols, idx[k + 1]) == 0) continue;
        idx[out++] = idx[k];
    }
    return out;
}

/* ------------------------------------------------------------------- MBRs -- */

static radi_status set_str(char **dst, uint64_t *dlen, const void *p, uint64_t len)
{
    char *s = malloc(len + 1);
    if (!s) return rdi_nomem();
    if (len) memcpy(s, p, len);
    s[len] = 0;
    free(*dst);
    *dst = s;
    *dlen = len;
    return RADI_OK;
}

radi_status rdi_mbr_compute(const rdi_gorder *g, const rdi_scol *cols, uint64_t begin,
                            uint64_t end, rdi_range *mbr)
{
    for (uint32_t d = 0; d < g->ndim; d++) {
        const rdi_gdim *gd = &g->dims[d];
        rdi_range *r = &mbr[d];
        memset(r, 0, sizeof *r);
        if (begin >= end) continue;
        if (gd->var) {
            uint64_t lo = begin, hi = begin, la, lb;
            for (uint64_t i = begin + 1; i < end; i++) {
                const uint8_t *p = rdi_scol_cell(&cols[d], i, &la);
                const uint8_t *q = rdi_scol_cell(&cols[d], lo, &lb);
                if (rdi_str_cmp(p, la, q, lb) < 0) lo = i;
                q = rdi_scol_cell(&cols[d], hi, &lb);
                if (rdi_str_cmp(p, la, q, lb) > 0) hi = i;
            }
            const uint8_t *p = rdi_scol_cell(&cols[d], lo, &la);
            radi_status st = set_str(&r->slo, &r->slo_len, p, la);
            if (st == RADI_OK) {
                p = rdi_scol_cell(&cols[d], hi, &la);
                st = set_str(&r->shi, &r->shi_len, p, la);
            }
            if (st != RADI_OK) {
                for (uint32_t k = 0; k <= d; k++) {
                    free(mbr[k].slo);
                    free(mbr[k].shi);
                    mbr[k].slo = mbr[k].shi = NULL;
                }
                return st;
            }
        } else {
            uint64_t lo = UINT64_MAX, hi = 0;
            for (uint64_t i = begin; i < end; i++) {
                uint64_t k = rdi_coord_key(gd->type, cols[d].data + i * gd->size);
                if (k < lo) lo = k;
                if (k > hi) hi = k;
            }
            rdi_coord_from_key(gd->type, lo, r->lo);
            rdi_coord_from_key(gd->type, hi, r->hi);
        }
    }
    return RADI_OK;
}

void rdi_mbr_clear(const rdi_gorder *g, rdi_range *mbr)
{
    for (uint32_t d = 0; d < g->ndim; d++) {
        free(mbr[d].slo);
        free(mbr[d].shi);
        mbr[d].slo = mbr[d].shi = NULL;
        mbr[d].slo_len = mbr[d].shi_len = 0;
    }
}

radi_status rdi_mbr_copy(const rdi_gorder *g, rdi_range *dst, const rdi_range *src)
{
    for (uint32_t d = 0; d < g->ndim; d++) {
        memcpy(dst[d].lo, src[d].lo, 8);
        memcpy(dst[d].hi, src[d].hi, 8);
        dst[d].slo = dst[d].shi = NULL;
        dst[d].slo_len = dst[d].shi_len = 0;
        if (!g->dims[d].var) continue;
        if (set_str(&dst[d].slo, &dst[d].slo_len, src[d].slo, src[d].slo_len) != RADI_OK ||
            set_str(&dst[d].shi, &dst[d].shi_len, src[d].shi, src[d].shi_len) != RADI_OK) {
            rdi_mbr_clear(g, dst);
            return rdi_nomem();
        }
    }
    return RADI_OK;
}

radi_status rdi_mbr_expand(const rdi_gorder *g, rdi_range *dst, const rdi_range *src)
{
    for (uint32_t d = 0; d < g->ndim; d++) {
        const rdi_gdim *gd = &g->dims[d];
        if (gd->var) {
            if (rdi_str_cmp(src[d].slo, src[d].slo_len, dst[d].slo, dst[d].slo_len) < 0)
                RDI_TRY(set_str(&dst[d].slo, &dst[d].slo_len, src[d].slo, src[d].slo_len));
            if (rdi_str_cmp(src[d].shi, src[d].shi_len, dst[d].shi, dst[d].shi_len) > 0)
                RDI_TRY(set_str(&dst[d].shi, &dst[d].shi_len, src[d].shi, src[d].shi_len));
        } else {
            if (rdi_coord_key(gd->type, src[d].lo) < rdi_coord_key(gd->type, dst[d].lo))
                memcpy(dst[d].lo, src[d].lo, 8);
            if (rdi_coord_key(gd->type, src[d].hi) > rdi_coord_key(gd->type, dst[d].hi))
                memcpy(dst[d].hi, src[d].hi, 8);
        }
    }
    return RADI_OK;
}

int rdi_mbr_contains(const rdi_gorder *g, const rdi_range *outer, const rdi_range *inner)
{
    for (uint32_t d = 0; d < g->ndim; d++) {
        const rdi_gdim *gd = &g->dims[d];
        if (gd->var) {
            if (rdi_str_cmp(inner[d].slo, inner[d].slo_len, outer[d].slo, outer[d].slo_len) < 0 ||
                rdi_str_cmp(inner[d].shi, inner[d].shi_len, outer[d].shi, outer[d].shi_len) > 0)
                return 0;
        } else {
            if (rdi_coord_key(gd->type, inner[d].lo) < rdi_coord_key(gd->type, outer[d].lo) ||
                rdi_coord_key(gd->type, inner[d].hi) > rdi_coord_key(gd->type, outer[d].hi))
                return 0;
        }
    }
    return 1;
}

/* Per dimension: 0 = disjoint from every range, 1 = overlaps some, 2 = inside one. */
static int dim_query(const rdi_gdim *gd, const rdi_range *m, const rdi_qdim *q)
{
    if (q->n == 0) return 2;
    int best = 0;
    for (uint32_t k = 0; k < q->n && best < 2; k++) {
        const rdi_qrange *r = &q->r[k];
        int lo_in, hi_in, overlap;
        if (gd->var) {
            overlap = rdi_str_cmp(m->slo, m->slo_len, r->shi, r->shi_len) <= 0 &&
                      rdi_str_cmp(m->shi, m->shi_len, r->slo, r->slo_len) >= 0;
            lo_in = rdi_str_cmp(m->slo, m->slo_len, r->slo, r->slo_len) >= 0;
            hi_in = rdi_str_cmp(m->shi, m->shi_len, r->shi, r->shi_len) <= 0;
        } else {
            uint64_t lo = rdi_coord_key(gd->type, m->lo), hi = rdi_coord_key(gd->type, m->hi);
            overlap = lo <= r->hi_key && hi >= r->lo_key;
            lo_in = lo >= r->lo_key;
            hi_in = hi <= r->hi_key;
        }
        if (overlap) best = (lo_in && hi_in) ? 2 : (best > 1 ? best : 1);
    }
    return best;
}

int rdi_mbr_query(const rdi_gorder *g, const rdi_range *mbr, const rdi_qdim *q)
{
    int res = 2;
    for (uint32_t d = 0; d < g->ndim; d++) {
        int r = dim_query(&g->dims[d], &mbr[d], &q[d]);
        if (r == 0) return 0;
        if (r < res) res = r;
    }
    return res;
}

int rdi_cell_in_query(const rdi_gorder *g, const rdi_scol *cols, uint64_t i, const rdi_qdim *q)
{
    for (uint32_t d = 0; d < g->ndim; d++) {
        if (q[d].n == 0) continue;
        const rdi_gdim *gd = &g->dims[d];
        int hit = 0;
        if (gd->var) {
            uint64_t len;
            const uint8_t *p = rdi_scol_cell(&cols[d], i, &len);
            for (uint32_t k = 0; k < q[d].n && !hit; k++) {
                const rdi_qrange *r = &q[d].r[k];
                hit = rdi_str_cmp(p, len, r->slo, r->slo_len) >= 0 &&
                      rdi_str_cmp(p, len, r->shi, r->shi_len) <= 0;
            }
        } else {
            uint64_t key = rdi_coord_key(gd->type, cols[d].data + i * gd->size);
            for (uint32_t k = 0; k < q[d].n && !hit; k++)
                hit = key >= q[d].r[k].lo_key && key <= q[d].r[k].hi_key;
        }
        if (!hit) return 0;
    }
    return 1;
}
