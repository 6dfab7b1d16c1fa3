/*
 * Sparse reads (docs/format.md §8, §9). Per visible fragment the
 * R-tree picks the tiles whose MBR meets the query ranges; those tiles are fetched and
 * decoded on the pool (dimensions first, so a tile none of whose cells match costs no
 * attribute I/O), cells outside the ranges dropped. The candidates of all fragments,
 * oldest first, are merged in global order; for each key the newest cell wins (unless
 * the schema allows duplicates). The filter expression runs after that merge, so an
 * older version of a row can never reappear because its newer version was filtered out.
 * Cells found out of global order inside a fragment are reported as corruption rather
 * than silently mis-merged.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/pool.h"
#include "query/expr.h"
#include "tdb/sparse.h"
#include "tdb/prefetch.h"

struct radi_sparse_query {
    radi_array *a;
    const radi_schema *s;
    rdi_gorder g;
    rdi_qrange *r[RDI_SPARSE_MAX_DIMS];
    uint32_t nr[RDI_SPARSE_MAX_DIMS];
    void **owned;               /* copies of string range bounds */
    size_t nowned;
    uint32_t ncols;             /* 0 = all fields */
    uint32_t *cols;             /* field ids: dims 0..ndim-1, then attrs */
    rdi_expr *expr;
    uint64_t rows;
    uint32_t nres;
    uint32_t *res_field;        /* [nres] */
    rdi_ocol *res;              /* [nres] */
};

/* ------------------------------------------------------------------- fields -- */

static uint32_t nfields_of(const radi_schema *s) { return s->ndim + s->nattr; }

static const char *field_name(const radi_schema *s, uint32_t k)
{
    return k < s->ndim ? s->dims[k].name : s->attrs[k - s->ndim].name;
}

static int field_index(const radi_schema *s, const char *name, uint32_t *k)
{
    for (uint32_t i = 0; i < nfields_of(s); i++)
        if (strcmp(field_name(s, i), name) == 0) {
            *k = i;
            return 1;
        }
    return 0;
}

typedef struct finfo {
    radi_datatype type;
    uint32_t cell_size;         /* 0 = var */
    uint32_t cell_val_num;
    int nullable;
} finfo;

static void field_info(const radi_schema *s, uint32_t k, finfo *f)
{
    memset(f, 0, sizeof *f);
    if (k < s->ndim) {
        const rdi_dim *d = &s->dims[k];
        f->type = d->type;
        f->cell_val_num = d->cell_val_num;
        f->cell_size = d->cell_val_num == RADI_VAR_NUM ? 0 : (uint32_t)rdi_dim_size(d);
    } else {
        const rdi_attr *at = &s->attrs[k - s->ndim];
        f->type = at->type;
        f->cell_val_num = at->cell_val_num;
        f->cell_size = at->cell_val_num == RADI_VAR_NUM ? 0 : rdi_attr_cell_size(at);
        f->nullable = at->nullable;
    }
}

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

static void free_results(radi_sparse_query *q)
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
    free_results(q);
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

static const rdi_qdim *query_dims(const radi_sparse_query *q, rdi_qdim *qd)
{
    for (uint32_t d = 0; d < q->s->ndim; d++) {
        qd[d].n = q->nr[d];
        qd[d].r = q->r[d];
    }
    return qd;
}

/* ------------------------------------------------------- fragment access -- */

/* The fragment's slot for field k of the array schema (matched by name, so fragments
 * written under an older schema version still map). */
static radi_status frag_slot(const radi_sparse_query *q, const rdi_fragmeta *fm, uint32_t k,
                             uint32_t *slot)
{
    const radi_schema *fs = fm->schema ? fm->schema : q->s;
    if (k < q->s->ndim) {
        if (fs->ndim != q->s->ndim || strcmp(fs->dims[k].name, q->s->dims[k].name) != 0)
            return rdi_error(RADI_E_UNSUPPORTED, "%s: fragment dimensions differ from the schema", fm->uri);
        *slot = rdi_field_dim(fs, k);
        return RADI_OK;
    }
    const char *name = q->s->attrs[k - q->s->ndim].name;
    for (uint32_t i = 0; i < fs->nattr; i++)
        if (strcmp(fs->attrs[i].name, name) == 0) {
            if (fs->attrs[i].type != q->s->attrs[k - q->s->ndim].type ||
                fs->attrs[i].cell_val_num != q->s->attrs[k - q->s->ndim].cell_val_num)
                return rdi_error(RADI_E_UNSUPPORTED, "%s: attribute '%s' changed type", fm->uri, name);
            *slot = rdi_field_attr(i);
            return RADI_OK;
        }
    return rdi_error(RADI_E_UNSUPPORTED, "%s: fragment has no attribute '%s' (schema evolution)",
                     fm->uri, name);
}

static uint64_t tile_cells(const rdi_fragmeta *fm, uint64_t t)
{
    const radi_schema *fs = fm->schema;
    return t + 1 == fm->tile_num ? fm->last_tile_cell_num : fs->capacity;
}

static radi_status check_fragment(const rdi_fragmeta *fm)
{
    if (fm->dense) return rdi_error(RADI_E_CORRUPT, "%s: dense fragment in a sparse array", fm->uri);
    if (fm->has_delete_meta)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: fragment carries delete metadata (deletes are not applied)",
                         fm->uri);
    const radi_schema *fs = fm->schema;
    if (!fs || fs->capacity == 0) return rdi_error(RADI_E_CORRUPT, "%s: schema capacity 0", fm->uri);
    if (fm->tile_num &&
        (fm->last_tile_cell_num == 0 || fm->last_tile_cell_num > fs->capacity))
        return rdi_error(RADI_E_CORRUPT, "%s: last tile holds %llu cells (capacity %llu)", fm->uri,
                         (unsigned long long)fm->last_tile_cell_num, (unsigned long long)fs->capacity);
    return RADI_OK;
}

/* Every fragment's tile index, in one wave (tile_index.c). */
static radi_status load_all_index(radi_array *a)
{
    uint32_t *all = rdi_malloc((a->nfrags ? a->nfrags : 1) * sizeof *all);
    if (!all) return RADI_E_NOMEM;
    for (uint32_t f = 0; f < a->nfrags; f++) all[f] = f;
    radi_status st = rdi_array_load_tile_index(a, all, a->nfrags);
    free(all);
    return st;
}

static radi_status load_rtree(radi_ctx *ctx, const rdi_snap *snap, const rdi_gorder *g, const rdi_fragmeta *fm,
                              rdi_scratch *sc, rdi_rtree *t)
{
    char *md = rdi_path_join(fm->uri, "__fragment_metadata.tdb");
    if (!md) return RADI_E_NOMEM;
    rdi_buf p = RDI_BUF_INIT;
    /* Loaded with the tile index (tile_index.c) where the caller loaded that first. */
    const rdi_buf *src = fm->rtree.data ? &fm->rtree : &p;
    radi_status st = src == &p ? rdi_generic_tile_read_snap(ctx->vfs, snap, md, fm->rtree_off, sc, &p) : RADI_OK;
    if (st == RADI_OK) st = rdi_rtree_parse(g, src->data, src->len, md, fm->tile_num, t);
    rdi_buf_free(&p);
    free(md);
    return st;
}

/* ---------------------------------------------------------- tile decoding -- */

typedef struct rtile {
    uint32_t frag;
    uint64_t tile;
    uint8_t full;
} rtile;

typedef struct rjob {
    radi_sparse_query *q;
    radi_ctx *ctx;
    rdi_fragmeta **frags;
    rtile *tiles;
    uint64_t ntiles;
    uint32_t nneed;
    uint32_t *need;             /* field ids; the dims come first */
    rdi_ocol *out;              /* [ntiles * nneed] */
    rdi_ocol *ts;               /* [ntiles] per-cell timestamps (fragments that have them) */
    uint64_t *tile_n;           /* [ntiles] candidate cells each tile contributes */
    int direct;                 /* decode whole tiles straight into `cand` */
    rdi_ocol *cand;             /* direct: the candidate columns [nneed], pre-sized */
    uint64_t *var_base;         /* direct: [ntiles * nneed] data byte offset of each var tile */
    uint64_t *cell_base;        /* direct: [ntiles] first candidate row of each tile */
    rdi_scratch **scratch;
    rdi_buf *inbuf;             /* per worker: the filtered bytes of the tile being decoded */
    rdi_rcache *pre;            /* remote: every tile part's bytes, fetched in one wave */
    uint64_t *bytes;            /* [ntiles] bytes fetched */
    uint64_t *reqs;             /* [ntiles] read calls */
    rdi_qdim qd[RDI_SPARSE_MAX_DIMS];
    int any_range;
} rjob;

static char *data_file(const rdi_fragmeta *fm, uint32_t slot, const char *suffix)
{
    const radi_schema *fs = fm->schema;
    if (slot < fs->nattr) return rdi_asprintf("%s/a%u%s.tdb", fm->uri, slot, suffix);
    if (slot == fs->nattr + 1 + fs->ndim) return rdi_asprintf("%s/t%s.tdb", fm->uri, suffix);
    return rdi_asprintf("%s/d%u%s.tdb", fm->uri, slot - fs->nattr - 1, suffix);
}

/* Fetches and unfilters one tile part (fixed/offsets, var or validity) of `expect`
 * unfiltered bytes into dst. */
static radi_status decode_part(rjob *j, uint64_t ti, rdi_scratch *sc, rdi_buf *inb, const rdi_fragmeta *fm,
                               uint32_t slot, const char *suffix, const uint64_t *offsets,
                               uint64_t file_size, const radi_filter_list *fl, radi_datatype type,
                               uint32_t cell_size, uint64_t expect, uint8_t *dst)
{
    uint64_t t = j->tiles[ti].tile;
    char *uri = data_file(fm, slot, suffix);
    if (!uri) return RADI_E_NOMEM;
    char what[600];
    snprintf(what, sizeof what, "%s tile %llu", uri, (unsigned long long)t);
    radi_status st = RADI_OK;
    if (!offsets) st = rdi_error(RADI_E_CORRUPT, "%s: no tile offsets", what);
    uint64_t off = 0, end = 0;
    if (st == RADI_OK) {
        off = offsets[t];
        end = t + 1 < fm->tile_num ? offsets[t + 1] : file_size;
        if (off > end || end > file_size)
            st = rdi_error(RADI_E_CORRUPT, "%s: tile bytes [%llu, %llu) outside the file's %llu",
                           what, (unsigned long long)off, (unsigned long long)end,
                           (unsigned long long)file_size);
        /* file_size is the footer's claim, not the object's: bound the buffer before
         * the read that would find the file shorter. */
        else if (end - off > j->ctx->config.memory_budget)
            st = rdi_error(RADI_E_BUDGET, "%s: %llu stored bytes exceed the memory budget", what,
                           (unsigned long long)(end - off));
    }
    const uint8_t *in = st == RADI_OK ? rdi_rcache_get(j->pre, uri, off, end - off) : NULL;
    if (st == RADI_OK && !in) {
        uint8_t *b = NULL;
        inb->len = 0;
        st = rdi_buf_extend(inb, (size_t)(end - off ? end - off : 1), &b);
        if (st == RADI_OK) st = rdi_vfs_read(j->ctx->vfs, uri, off, b, end - off);
        if (st == RADI_OK) {
            j->bytes[ti] += end - off;
            j->reqs[ti]++;
        }
        in = b;
    }
    uint64_t usize = 0;
    if (st == RADI_OK) st = rdi_tile_unfiltered_size(in, end - off, what, &usize);
    if (st == RADI_OK && usize != expect)
        st = rdi_error(RADI_E_CORRUPT, "%s: unfilters to %llu bytes, expected %llu", what,
                       (unsigned long long)usize, (unsigned long long)expect);
    if (st == RADI_OK) st = rdi_tile_unfilter(fl, type, cell_size, in, end - off, dst, expect, sc, what);
    free(uri);
    return st;
}

static int is_string_coded(const radi_filter_list *fl, radi_datatype t)
{
    if (t != RADI_STRING_ASCII && t != RADI_STRING_UTF8 && t != RADI_CHAR) return 0;
    for (uint32_t i = 0; i < fl->count; i++)
        if (fl->filters[i].type == RADI_FILTER_RLE || fl->filters[i].type == RADI_FILTER_DICTIONARY)
            return 1;
    return 0;
}

/* What decoding field k of tile ti produces: its cells, and (var-size) its data bytes. */
static radi_status field_tile_size(rjob *j, uint64_t ti, uint32_t k, uint64_t *ncells, uint64_t *vsize)
{
    const rdi_fragmeta *fm = j->frags[j->tiles[ti].frag];
    uint64_t t = j->tiles[ti].tile;
    uint32_t slot;
    RDI_TRY(frag_slot(j->q, fm, k, &slot));
    *ncells = tile_cells(fm, t);
    *vsize = 0;
    finfo fi;
    field_info(j->q->s, k, &fi);
    if (!fi.cell_size) {
        if (!fm->tile_var_sizes[slot])
            return rdi_error(RADI_E_CORRUPT, "%s: field '%s' has no var tile sizes", fm->uri,
                             field_name(j->q->s, k));
        *vsize = fm->tile_var_sizes[slot][t];
    }
    return RADI_OK;
}

/* Decodes field k of tile ti into caller memory sized by field_tile_size: data, offsets
 * (var-size; stored + var_base, so tiles can be decoded straight into one column) and
 * validity (nullable). */
static radi_status decode_field_to(rjob *j, uint64_t ti, rdi_scratch *sc, rdi_buf *inb, uint32_t k,
                                   uint8_t *data, uint64_t *offs, uint8_t *valid, uint64_t var_base)
{
    const rdi_fragmeta *fm = j->frags[j->tiles[ti].frag];
    const radi_schema *fs = fm->schema;
    uint64_t t = j->tiles[ti].tile, n, vsize;
    RDI_TRY(field_tile_size(j, ti, k, &n, &vsize));
    uint32_t slot;
    RDI_TRY(frag_slot(j->q, fm, k, &slot));
    finfo fi;
    field_info(j->q->s, k, &fi);
    const radi_filter_list *fl = slot < fs->nattr ? &fs->attrs[slot].filters
                                                  : rdi_dim_filters(fs, slot - fs->nattr - 1);
    if (fi.cell_size) {
        RDI_TRY(decode_part(j, ti, sc, inb, fm, slot, "", fm->tile_offsets[slot], fm->file_sizes[slot], fl,
                            fi.type, fi.cell_size, n * fi.cell_size, data));
    } else {
        if (is_string_coded(fl, fi.type))
            return rdi_error(RADI_E_UNSUPPORTED, "%s: field '%s' uses RLE/dictionary string coding",
                             fm->uri, field_name(j->q->s, k));
        RDI_TRY(decode_part(j, ti, sc, inb, fm, slot, "", fm->tile_offsets[slot], fm->file_sizes[slot],
                            &fs->offsets_filters, RADI_UINT64, 8, n * 8, (uint8_t *)offs));
        RDI_TRY(decode_part(j, ti, sc, inb, fm, slot, "_var", fm->tile_var_offsets[slot],
                            fm->file_var_sizes[slot], fl, fi.type,
                            (uint32_t)RDI_MAX(radi_datatype_size(fi.type), 1), vsize, data));
        /* Offsets must rise inside the var tile, or cells would read past it. */
        for (uint64_t i = 0; i < n; i++) {
            if (offs[i] > vsize || (i && offs[i] < offs[i - 1] - var_base))
                return rdi_error(RADI_E_CORRUPT,
                                 "%s: field '%s' tile %llu: offset %llu of cell %llu is out of order or "
                                 "past the %llu data bytes",
                                 fm->uri, field_name(j->q->s, k), (unsigned long long)t,
                                 (unsigned long long)offs[i], (unsigned long long)i,
                                 (unsigned long long)vsize);
            offs[i] += var_base;
        }
    }
    if (fi.nullable) {
        RDI_TRY(decode_part(j, ti, sc, inb, fm, slot, "_validity", fm->tile_validity_offsets[slot],
                            fm->file_validity_sizes[slot], &fs->validity_filters, RADI_UINT8, 1, n, valid));
        /* Writers store 0 or 1; anything else is a damaged tile, not a value to pass on
         * (callers test validity == 1, others != 0: they would disagree). */
        for (uint64_t i = 0; i < n; i++)
            if (valid[i] > 1)
                return rdi_error(RADI_E_CORRUPT, "%s: field '%s' tile %llu: validity of cell %llu is %u, not 0 or 1",
                                 fm->uri, field_name(j->q->s, k), (unsigned long long)t, (unsigned long long)i,
                                 (unsigned)valid[i]);
    }
    return RADI_OK;
}

/* Decodes field k of tile ti into col (fresh). */
static radi_status decode_field(rjob *j, uint64_t ti, rdi_scratch *sc, rdi_buf *inb, uint32_t k,
                                rdi_ocol *col)
{
    uint64_t n, vsize, bytes;
    RDI_TRY(field_tile_size(j, ti, k, &n, &vsize));
    finfo fi;
    field_info(j->q->s, k, &fi);
    if ((fi.cell_size && __builtin_mul_overflow(n, (uint64_t)fi.cell_size, &bytes)) ||
        n > j->ctx->config.memory_budget / 8 || vsize > j->ctx->config.memory_budget ||
        (fi.cell_size && bytes > j->ctx->config.memory_budget))
        return rdi_error(RADI_E_BUDGET, "%s: a tile of field '%s' (%llu cells) exceeds the memory budget",
                         j->frags[j->tiles[ti].frag]->uri, field_name(j->q->s, k), (unsigned long long)n);
    col->cell_size = fi.cell_size;
    col->nullable = fi.nullable;
    col->n = n;
    uint8_t *data, *offs = NULL, *valid = NULL;
    RDI_TRY(rdi_buf_extend(&col->data, (size_t)(fi.cell_size ? n * fi.cell_size : vsize), &data));
    if (!fi.cell_size) RDI_TRY(rdi_buf_extend(&col->offsets, (size_t)n * 8, &offs));
    if (fi.nullable) RDI_TRY(rdi_buf_extend(&col->validity, (size_t)n, &valid));
    return decode_field_to(j, ti, sc, inb, k, data, (uint64_t *)(void *)offs, valid, 0);
}

/* Per-cell timestamps of a fragment consolidated with timestamps (t.tdb, the slot after
 * the dimensions; filtered like the coordinates). */
static radi_status decode_timestamps(rjob *j, uint64_t ti, rdi_scratch *sc, rdi_buf *inb,
                                     rdi_ocol *col)
{
    const rdi_fragmeta *fm = j->frags[j->tiles[ti].frag];
    const radi_schema *fs = fm->schema;
    uint32_t slot = fs->nattr + 1 + fs->ndim;
    uint64_t n = tile_cells(fm, j->tiles[ti].tile);
    if (slot >= fm->nfields) return rdi_error(RADI_E_CORRUPT, "%s: no timestamps slot", fm->uri);
    col->cell_size = 8;
    col->n = n;
    char *what = rdi_asprintf("%s/t.tdb", fm->uri);
    if (!what) return RADI_E_NOMEM;
    radi_status st = RADI_OK;
    if (!fm->tile_offsets[slot]) st = rdi_error(RADI_E_CORRUPT, "%s: no tile offsets", what);
    free(what);
    if (st != RADI_OK) return st;
    uint8_t *dst;
    RDI_TRY(rdi_buf_extend(&col->data, (size_t)n * 8, &dst));
    return decode_part(j, ti, sc, inb, fm, slot, "", fm->tile_offsets[slot], fm->file_sizes[slot],
                       &fs->coords_filters, RADI_UINT64, 8, n * 8, dst);
}

/* Adds the bytes of tile t of one part file (as decode_part will read them). */
static radi_status want_part(rjob *j, const rdi_fragmeta *fm, uint32_t slot, const char *suffix,
                             const uint64_t *offsets, uint64_t file_size, uint64_t t)
{
    if (!offsets) return RADI_OK;  /* decode_part reports it */
    uint64_t off = offsets[t], end = t + 1 < fm->tile_num ? offsets[t + 1] : file_size;
    if (off > end || end > file_size) return RADI_OK;
    char *uri = data_file(fm, slot, suffix);
    if (!uri) return RADI_E_NOMEM;
    radi_status st = rdi_rcache_add(j->pre, uri, off, end - off);
    free(uri);
    return st;
}

/* On a remote backend, every part every tile task will decode (the needed fields'
 * data, offsets, var data and validity, and per-cell timestamps) is fetched in one wave
 * first, instead of one blocking read per part on the pool. Skipped when the parts
 * would not fit the memory budget; the tasks then read as before. */
static radi_status prefetch_tiles(rjob *j)
{
    radi_status st = RADI_OK;
    for (uint64_t ti = 0; ti < j->ntiles && st == RADI_OK; ti++) {
        const rdi_fragmeta *fm = j->frags[j->tiles[ti].frag];
        uint64_t t = j->tiles[ti].tile;
        for (uint32_t f = 0; f < j->nneed && st == RADI_OK; f++) {
            uint32_t slot;
            if (frag_slot(j->q, fm, j->need[f], &slot) != RADI_OK) {
                rdi_error_clear();
                continue;
            }
            finfo fi;
            field_info(j->q->s, j->need[f], &fi);
            st = want_part(j, fm, slot, "", fm->tile_offsets[slot], fm->file_sizes[slot], t);
            if (st == RADI_OK && !fi.cell_size)
                st = want_part(j, fm, slot, "_var", fm->tile_var_offsets[slot], fm->file_var_sizes[slot], t);
            if (st == RADI_OK && fi.nullable)
                st = want_part(j, fm, slot, "_validity", fm->tile_validity_offsets[slot],
                               fm->file_validity_sizes[slot], t);
        }
        uint32_t ts = fm->schema->nattr + 1 + fm->schema->ndim;
        if (st == RADI_OK && fm->has_timestamps && ts < fm->nfields)
            st = want_part(j, fm, ts, "", fm->tile_offsets[ts], fm->file_sizes[ts], t);
        if (j->pre->bytes > j->ctx->config.memory_budget) {
            rdi_rcache_free(j->pre);
            return RADI_OK;
        }
    }
    if (st == RADI_OK) st = rdi_rcache_fetch(j->ctx, j->pre);
    return st;
}

static radi_status tile_task(void *arg, size_t ti, unsigned worker)
{
    rjob *j = arg;
    rdi_scratch *sc = j->scratch[worker];
    rdi_buf *inb = &j->inbuf[worker];
    if (j->direct) {
        uint64_t r0 = j->cell_base[ti];
        for (uint32_t f = 0; f < j->nneed; f++) {
            rdi_ocol *c = &j->cand[f];
            uint64_t vb = j->var_base[ti * j->nneed + f];
            uint8_t *data = c->cell_size ? c->data.data + r0 * c->cell_size : c->data.data + vb;
            uint64_t *offs = c->cell_size ? NULL : (uint64_t *)(void *)c->offsets.data + r0;
            uint8_t *valid = c->nullable ? c->validity.data + r0 : NULL;
            RDI_TRY(decode_field_to(j, ti, sc, inb, j->need[f], data, offs, valid, vb));
        }
        return RADI_OK;
    }
    rdi_ocol *out = &j->out[ti * j->nneed];
    uint32_t nd = j->q->s->ndim;
    rdi_ocol tmp[RDI_SPARSE_MAX_DIMS];
    memset(tmp, 0, sizeof tmp);
    radi_status st = RADI_OK;
    uint64_t *keep = NULL, nkeep = 0;
    const rdi_fragmeta *fm = j->frags[j->tiles[ti].frag];
    rdi_ocol ts;
    memset(&ts, 0, sizeof ts);
    for (uint32_t d = 0; d < nd && st == RADI_OK; d++) st = decode_field(j, ti, sc, inb, j->need[d], &tmp[d]);
    if (st == RADI_OK && fm->has_timestamps) st = decode_timestamps(j, ti, sc, inb, &ts);
    int all = (j->tiles[ti].full || !j->any_range) && !fm->has_timestamps;
    if (st == RADI_OK && !all) {
        rdi_scol dims[RDI_SPARSE_MAX_DIMS];
        for (uint32_t d = 0; d < nd; d++) dims[d] = rdi_ocol_view(&tmp[d]);
        uint64_t n = tmp[0].n;
        int check = j->any_range && !j->tiles[ti].full;
        uint64_t t_lo = j->q->a->t_start, t_hi = j->q->a->t_end;
        if (!(keep = malloc((n ? n : 1) * sizeof *keep))) st = rdi_nomem();
        for (uint64_t i = 0; st == RADI_OK && i < n; i++) {
            if (check && !rdi_cell_in_query(&j->q->g, dims, i, j->qd)) continue;
            /* Cells of a consolidated fragment written outside the open range are not
             * visible (time travel across a consolidation). */
            if (fm->has_timestamps) {
                uint64_t t = rdi_ld64(ts.data.data + i * 8);
                if (t < t_lo || t > t_hi) continue;
            }
            keep[nkeep++] = i;
        }
        if (nkeep == n) all = 1;
    }
    if (st == RADI_OK && fm->has_timestamps) {
        if (all) {
            j->ts[ti] = ts;
            memset(&ts, 0, sizeof ts);
        } else {
            rdi_scol v = rdi_ocol_view(&ts);
            j->ts[ti].cell_size = 8;
            st = rdi_ocol_gather(&j->ts[ti], &v, keep, nkeep);
        }
    }
    rdi_ocol_free(&ts);
    for (uint32_t f = 0; f < j->nneed && st == RADI_OK; f++) {
        rdi_ocol src;
        memset(&src, 0, sizeof src);
        if (f < nd) src = tmp[f];
        else if (all || nkeep) st = decode_field(j, ti, sc, inb, j->need[f], &src);
        if (st == RADI_OK && all) {
            out[f] = src;
            if (f < nd) memset(&tmp[f], 0, sizeof tmp[f]);
            continue;
        }
        finfo fi;
        field_info(j->q->s, j->need[f], &fi);
        out[f].cell_size = fi.cell_size;
        out[f].nullable = fi.nullable;
        if (st == RADI_OK && nkeep) {
            rdi_scol v = rdi_ocol_view(&src);
            st = rdi_ocol_gather(&out[f], &v, keep, nkeep);
        }
        if (f >= nd) rdi_ocol_free(&src);
    }
    for (uint32_t d = 0; d < nd; d++) rdi_ocol_free(&tmp[d]);
    free(keep);
    return st;
}

/* Appends all of src to dst (var offsets shifted). */
static radi_status ocol_concat(rdi_ocol *dst, rdi_ocol *src)
{
    if (dst->n == 0 && dst->data.len == 0 && dst->offsets.len == 0 && dst->validity.len == 0) {
        /* The first piece: take it over instead of copying. */
        rdi_buf_free(&dst->data);
        rdi_buf_free(&dst->offsets);
        rdi_buf_free(&dst->validity);
        dst->data = src->data;
        dst->offsets = src->offsets;
        dst->validity = src->validity;
        dst->n = src->n;
        memset(&src->data, 0, sizeof src->data);
        memset(&src->offsets, 0, sizeof src->offsets);
        memset(&src->validity, 0, sizeof src->validity);
        src->n = 0;
        if (dst->nullable && dst->validity.len < dst->n) return rdi_error(RADI_E_INTERNAL, "validity lost");
        return RADI_OK;
    }
    if (!dst->cell_size) {
        size_t at = dst->offsets.len;
        RDI_TRY(rdi_buf_append(&dst->offsets, src->offsets.data, src->offsets.len));
        uint64_t base = dst->data.len;
        uint64_t *o = (uint64_t *)(void *)(dst->offsets.data + at);
        for (uint64_t i = 0; i < src->n; i++) o[i] += base;
    }
    RDI_TRY(rdi_buf_append(&dst->data, src->data.data, src->data.len));
    if (dst->nullable) RDI_TRY(rdi_buf_append(&dst->validity, src->validity.data, src->validity.len));
    dst->n += src->n;
    return RADI_OK;
}

/* --------------------------------------------------------------- submit -- */

static radi_status add_need(uint32_t *need, uint32_t *nneed, uint32_t k)
{
    for (uint32_t i = 0; i < *nneed; i++)
        if (need[i] == k) return RADI_OK;
    need[(*nneed)++] = k;
    return RADI_OK;
}

/* Selects the tiles of every fragment that the ranges touch. */
static radi_status plan_tiles(radi_sparse_query *q, rdi_scratch *sc, rtile **tiles_out,
                              uint64_t *ntiles_out)
{
    radi_array *a = q->a;
    rdi_qdim qd[RDI_SPARSE_MAX_DIMS];
    query_dims(q, qd);
    rtile *tiles = NULL;
    uint64_t n = 0, cap = 0;
    radi_status st = RADI_OK;
    for (uint32_t f = 0; f < a->nfrags && st == RADI_OK; f++) {
        rdi_fragmeta *fm = a->frags[f];
        if ((st = check_fragment(fm)) != RADI_OK) break;
        if (fm->tile_num == 0) continue;
        rdi_rtree t;
        if ((st = load_rtree(a->ctx, a->snap, &q->g, fm, sc, &t)) != RADI_OK) break;
        uint64_t *ids = NULL, nt = 0;
        uint8_t *full = NULL;
        st = rdi_rtree_query(&q->g, &t, qd, &ids, &full, &nt);
        rdi_rtree_free(&t);
        if (st == RADI_OK && n + nt > cap) {
            uint64_t nc = RDI_MAX(2 * cap, n + nt);
            rtile *r = realloc(tiles, nc * sizeof *r);
            if (!r) st = rdi_nomem();
            else { tiles = r; cap = nc; }
        }
        for (uint64_t i = 0; st == RADI_OK && i < nt; i++) {
            tiles[n].frag = f;
            tiles[n].tile = ids[i];
            tiles[n++].full = full[i];
        }
        free(ids);
        free(full);
    }
    if (st != RADI_OK) {
        free(tiles);
        return st;
    }
    *tiles_out = tiles;
    *ntiles_out = n;
    return RADI_OK;
}

/* Sizes the candidate columns for a direct decode and records where each tile goes. */
static radi_status direct_prepare(rjob *j, rdi_ocol *cand, uint64_t *ncand)
{
    j->cand = cand;
    j->cell_base = rdi_calloc(j->ntiles, 8);
    j->var_base = rdi_calloc(j->ntiles * j->nneed, 8);
    if (!j->cell_base || !j->var_base) return RADI_E_NOMEM;
    /* Sizes come from stored metadata: add them up with overflow checks and hold them to
     * the memory budget before allocating anything. */
    uint64_t rows = 0, total = 0, budget = j->ctx->config.memory_budget;
    int ovf = 0;
    for (uint64_t t = 0; t < j->ntiles; t++) {
        j->cell_base[t] = rows;
        j->tile_n[t] = tile_cells(j->frags[j->tiles[t].frag], j->tiles[t].tile);
        ovf |= __builtin_add_overflow(rows, j->tile_n[t], &rows);
    }
    for (uint32_t f = 0; f < j->nneed && !ovf; f++) {
        finfo fi;
        field_info(j->q->s, j->need[f], &fi);
        uint64_t bytes = 0, n, vsize, part;
        for (uint64_t t = 0; t < j->ntiles && !ovf; t++) {
            RDI_TRY(field_tile_size(j, t, j->need[f], &n, &vsize));
            j->var_base[t * j->nneed + f] = bytes;
            if (fi.cell_size) ovf |= __builtin_mul_overflow(n, (uint64_t)fi.cell_size, &part);
            else part = vsize;
            ovf |= __builtin_add_overflow(bytes, part, &bytes);
        }
        uint64_t extra = (fi.cell_size ? 0 : 8) + (fi.nullable ? 1 : 0), more;
        ovf |= __builtin_mul_overflow(rows, extra, &more);
        ovf |= __builtin_add_overflow(total, bytes, &total);
        ovf |= __builtin_add_overflow(total, more, &total);
    }
    if (ovf || total > budget)
        return rdi_error(RADI_E_BUDGET, "%s: the read needs %s%llu bytes of columns, over the memory "
                         "budget of %llu bytes", j->q->a->uri, ovf ? "more than " : "",
                         (unsigned long long)(ovf ? UINT64_MAX : total), (unsigned long long)budget);
    for (uint32_t f = 0; f < j->nneed; f++) {
        finfo fi;
        field_info(j->q->s, j->need[f], &fi);
        uint64_t bytes = 0, n, vsize;
        for (uint64_t t = 0; t < j->ntiles; t++) {
            RDI_TRY(field_tile_size(j, t, j->need[f], &n, &vsize));
            bytes += fi.cell_size ? n * fi.cell_size : vsize;
        }
        rdi_ocol *c = &cand[f];
        c->cell_size = fi.cell_size;
        c->nullable = fi.nullable;
        c->n = rows;
        uint8_t *p;
        RDI_TRY(rdi_buf_reserve(&c->data, 1)); /* never NULL, even for only empty strings */
        RDI_TRY(rdi_buf_extend(&c->data, (size_t)bytes, &p));
        if (!fi.cell_size) RDI_TRY(rdi_buf_extend(&c->offsets, (size_t)rows * 8, &p));
        if (fi.nullable) RDI_TRY(rdi_buf_extend(&c->validity, (size_t)rows, &p));
    }
    *ncand = rows;
    return RADI_OK;
}

/* Keeps one cell per run of equal coordinates in sorted idx: the newest by timestamp,
 * the later one (newer fragment, or later in a fragment) on ties. */
static uint64_t dedup_newest(const rdi_gorder *g, const rdi_scol *dims, const uint64_t *ts,
                             uint64_t *idx, uint64_t n)
{
    uint64_t out = 0;
    for (uint64_t b = 0; b < n;) {
        uint64_t e = b + 1, best = idx[b];
        while (e < n && rdi_gorder_cmp(g, dims, idx[b], dims, idx[e]) == 0) {
            if (ts[idx[e]] >= ts[best]) best = idx[e];
            e++;
        }
        idx[out++] = best;
        b = e;
    }
    return out;
}

radi_status radi_sparse_query_submit(radi_sparse_query *q, radi_read_stats *stats)
{
    if (!q) return rdi_error(RADI_E_INVALID, "radi_sparse_query_submit: NULL query");
    free_results(q);
    radi_array *a = q->a;
    const radi_schema *s = q->s;
    uint32_t nd = s->ndim, nall = nfields_of(s);
    rjob j;
    memset(&j, 0, sizeof j);
    j.q = q;
    j.ctx = a->ctx;
    j.frags = a->frags;
    query_dims(q, j.qd);
    for (uint32_t d = 0; d < nd; d++) j.any_range |= q->nr[d] > 0;
    unsigned nw = rdi_pool_size(a->ctx->pool);
    if (nw == 0) nw = 1;
    rdi_ocol *cand = NULL;
    uint32_t *frag_of = NULL;
    uint64_t *idx = NULL, ncand = 0, *cts = NULL;
    rdi_ocol *ex = NULL;
    uint8_t *mask = NULL;

    /* The fields to decode: dims, the selected columns, the filter's columns. */
    radi_status st = (j.need = rdi_calloc(nall, sizeof *j.need)) ? RADI_OK : RADI_E_NOMEM;
    for (uint32_t d = 0; d < nd && st == RADI_OK; d++) add_need(j.need, &j.nneed, d);
    uint32_t nsel = q->ncols ? q->ncols : nall;
    for (uint32_t i = 0; i < nsel && st == RADI_OK; i++) add_need(j.need, &j.nneed, q->ncols ? q->cols[i] : i);
    if (q->expr && st == RADI_OK) {
        const char *const *names;
        uint32_t n;
        st = rdi_expr_columns(q->expr, &names, &n);
        for (uint32_t i = 0; i < n && st == RADI_OK; i++) {
            uint32_t k;
            if (field_index(s, names[i], &k)) add_need(j.need, &j.nneed, k);
        }
    }
    if (st == RADI_OK && !(j.scratch = rdi_calloc(nw, sizeof *j.scratch))) st = RADI_E_NOMEM;
    if (st == RADI_OK && !(j.inbuf = rdi_calloc(nw, sizeof *j.inbuf))) st = RADI_E_NOMEM;
    for (unsigned i = 0; i < nw && st == RADI_OK; i++) st = rdi_scratch_create(&j.scratch[i]);
    if (st == RADI_OK) st = load_all_index(a);
    if (st == RADI_OK) st = plan_tiles(q, j.scratch[0], &j.tiles, &j.ntiles);
    if (st == RADI_OK && j.ntiles) {
        j.out = rdi_calloc(j.ntiles * j.nneed, sizeof *j.out);
        j.bytes = rdi_calloc(j.ntiles, 8);
        j.reqs = rdi_calloc(j.ntiles, 8);
        j.ts = rdi_calloc(j.ntiles, sizeof *j.ts);
        if (!j.out || !j.bytes || !j.reqs || !j.ts) st = RADI_E_NOMEM;
    }
    /* When every chosen tile is used whole (no partial range, no per-cell timestamps),
     * the column sizes are known from the metadata: tiles are decoded straight into the
     * candidate columns, with no copy. */
    if (st == RADI_OK && !(cand = rdi_calloc(j.nneed, sizeof *cand))) st = RADI_E_NOMEM;
    if (st == RADI_OK && !(j.tile_n = rdi_calloc(j.ntiles ? j.ntiles : 1, 8))) st = RADI_E_NOMEM;
    j.direct = j.ntiles > 0;
    for (uint64_t t = 0; t < j.ntiles; t++)
        if ((j.any_range && !j.tiles[t].full) || a->frags[j.tiles[t].frag]->has_timestamps) j.direct = 0;
    if (st == RADI_OK && j.direct) st = direct_prepare(&j, cand, &ncand);
    rdi_rcache pre;
    memset(&pre, 0, sizeof pre);
    if (st == RADI_OK && j.ntiles && (rdi_vfs_flags(a->ctx->vfs, a->uri) & RDI_VFS_REMOTE)) {
        j.pre = &pre;
        st = prefetch_tiles(&j);
    }
    if (st == RADI_OK && j.ntiles) st = rdi_pool_for(a->ctx->pool, j.ntiles, tile_task, &j);

    /* Candidates of all fragments, oldest first, each fragment in its own order. Per row:
     * its fragment, and its timestamp (its own when consolidated with timestamps, else
     * its fragment's t1). */
    if (st == RADI_OK && !j.direct) {
        ncand = 0;
        for (uint64_t t = 0; t < j.ntiles; t++) ncand += (j.tile_n[t] = j.out[t * j.nneed].n);
    }
    if (st == RADI_OK && !(frag_of = rdi_malloc((ncand ? ncand : 1) * sizeof *frag_of))) st = RADI_E_NOMEM;
    if (st == RADI_OK && !(cts = rdi_malloc((ncand ? ncand : 1) * sizeof *cts))) st = RADI_E_NOMEM;
    if (st == RADI_OK) {
        uint64_t r = 0;
        for (uint64_t t = 0; t < j.ntiles; t++) {
            const rdi_fragmeta *fm = a->frags[j.tiles[t].frag];
            for (uint64_t i = 0; i < j.tile_n[t]; i++, r++) {
                frag_of[r] = j.tiles[t].frag;
                cts[r] = fm->has_timestamps ? rdi_ld64(j.ts[t].data.data + i * 8) : fm->t1;
            }
        }
    }
    for (uint32_t f = 0; f < j.nneed && st == RADI_OK && !j.direct; f++) {
        finfo fi;
        field_info(s, j.need[f], &fi);
        cand[f].cell_size = fi.cell_size;
        cand[f].nullable = fi.nullable;
        for (uint64_t t = 0; t < j.ntiles && st == RADI_OK; t++) st = ocol_concat(&cand[f], &j.out[t * j.nneed + f]);
        if (st == RADI_OK && cand[f].n != ncand)
            st = rdi_error(RADI_E_INTERNAL, "%s: column '%s' has %llu cells, not %llu", a->uri,
                           field_name(s, j.need[f]), (unsigned long long)cand[f].n, (unsigned long long)ncand);
    }
    rdi_scol dims[RDI_SPARSE_MAX_DIMS];
    for (uint32_t d = 0; d < nd && st == RADI_OK; d++) dims[d] = rdi_ocol_view(&cand[d]);
    /* A fragment whose cells are out of order would merge wrongly: refuse it. */
    for (uint64_t i = 1; i < ncand && st == RADI_OK; i++) {
        if (frag_of[i] != frag_of[i - 1]) continue;
        int c = rdi_gorder_cmp(&q->g, dims, i - 1, dims, i);
        if (c > 0 || (c == 0 && !s->allows_dups && !a->frags[frag_of[i]]->has_timestamps))
            st = rdi_error(RADI_E_CORRUPT, "%s: cells are not in strict global order (cell %llu of the read)",
                           a->frags[frag_of[i]]->uri, (unsigned long long)i);
    }
    if (st == RADI_OK && !(idx = rdi_malloc((ncand ? ncand : 1) * sizeof *idx))) st = RADI_E_NOMEM;
    uint64_t n = ncand;
    /* While idx is the identity, columns are used in place instead of gathered. A single
     * fragment checked strictly ordered above needs neither sort nor dedup. */
    int identity = 1, any_ts = 0;
    for (uint32_t f = 0; f < a->nfrags; f++) any_ts |= a->frags[f]->has_timestamps;
    if (st == RADI_OK) {
        for (uint64_t i = 0; i < ncand; i++) idx[i] = i;
        if (a->nfrags > 1) st = rdi_gorder_sort(&q->g, dims, idx, ncand);
        if (st == RADI_OK && !s->allows_dups && (a->nfrags > 1 || any_ts))
            n = dedup_newest(&q->g, dims, cts, idx, ncand);
        for (uint64_t i = 0; i < n && identity; i++) identity = idx[i] == i;
        identity = identity && n == ncand;
    }
    /* The filter, over the merged rows. */
    if (st == RADI_OK && q->expr && n) {
        const char *const *names;
        uint32_t ne;
        st = rdi_expr_columns(q->expr, &names, &ne);
        rdi_column *cols = st == RADI_OK ? rdi_calloc(ne ? ne : 1, sizeof *cols) : NULL;
        if (st == RADI_OK && !cols) st = RADI_E_NOMEM;
        if (st == RADI_OK && !(ex = rdi_calloc(ne ? ne : 1, sizeof *ex))) st = RADI_E_NOMEM;
        uint32_t nc = 0;
        for (uint32_t i = 0; i < ne && st == RADI_OK; i++) {
            uint32_t k, f;
            if (!field_index(s, names[i], &k)) continue;
            for (f = 0; f < j.nneed; f++)
                if (j.need[f] == k) break;
            finfo fi;
            field_info(s, k, &fi);
            if (fi.cell_size && fi.cell_val_num != 1) continue; /* not comparable: unknown */
            const rdi_ocol *src = &cand[f];
            if (!identity) {
                ex[nc].cell_size = cand[f].cell_size;
                ex[nc].nullable = cand[f].nullable;
                rdi_scol v = rdi_ocol_view(&cand[f]);
                if ((st = rdi_ocol_gather(&ex[nc], &v, idx, n)) != RADI_OK) break;
                src = &ex[nc];
            }
            cols[nc].name = field_name(s, k);
            cols[nc].type = fi.type;
            cols[nc].data = src->data.data;
            cols[nc].offsets = fi.cell_size ? NULL : (const uint64_t *)(void *)src->offsets.data;
            cols[nc].data_size = src->data.len;
            cols[nc].validity = fi.nullable ? src->validity.data : NULL;
            nc++;
        }
        if (st == RADI_OK && !(mask = rdi_malloc(n))) st = RADI_E_NOMEM;
        if (st == RADI_OK) st = rdi_expr_eval(q->expr, cols, nc, n, mask);
        if (st == RADI_OK) {
            uint64_t m = 0;
            for (uint64_t i = 0; i < n; i++)
                if (mask[i]) idx[m++] = idx[i];
            identity = identity && m == n;
            n = m;
        }
        for (uint32_t i = 0; ex && i < ne; i++) rdi_ocol_free(&ex[i]);
        free(cols);
    }
    /* The result columns. */
    uint8_t *moved = NULL;
    if (st == RADI_OK && !(moved = rdi_calloc(j.nneed ? j.nneed : 1, 1))) st = RADI_E_NOMEM;
    if (st == RADI_OK) {
        q->res = rdi_calloc(nsel, sizeof *q->res);
        q->res_field = rdi_calloc(nsel, sizeof *q->res_field);
        if (!q->res || !q->res_field) st = RADI_E_NOMEM;
        else q->nres = nsel;
    }
    for (uint32_t i = 0; i < nsel && st == RADI_OK; i++) {
        uint32_t k = q->ncols ? q->cols[i] : i, f;
        for (f = 0; f < j.nneed; f++)
            if (j.need[f] == k) break;
        q->res_field[i] = k;
        finfo fi;
        field_info(s, k, &fi);
        q->res[i].cell_size = fi.cell_size;
        q->res[i].nullable = fi.nullable;
        if (identity && !moved[f]) {
            /* Every candidate is a result row, in order: hand the column over. */
            q->res[i] = cand[f];
            memset(&cand[f], 0, sizeof cand[f]);
            moved[f] = 1;
            continue;
        }
        if (moved[f]) { /* selected twice: copy the column already handed over */
            uint32_t i0 = 0;
            while (q->res_field[i0] != k) i0++;
            rdi_scol v0 = rdi_ocol_view(&q->res[i0]);
            uint64_t *id = rdi_malloc((n ? n : 1) * sizeof *id);
            if (!id) { st = RADI_E_NOMEM; break; }
            for (uint64_t r = 0; r < n; r++) id[r] = r;
            st = rdi_ocol_gather(&q->res[i], &v0, id, n);
            free(id);
            continue;
        }
        rdi_scol v = rdi_ocol_view(&cand[f]);
        st = rdi_ocol_gather(&q->res[i], &v, idx, n);
    }
    if (st == RADI_OK) q->rows = n;
    else free_results(q);
    if (stats && st == RADI_OK) {
        memset(stats, 0, sizeof *stats);
        stats->tiles_read = j.ntiles;
        for (uint64_t t = 0; t < j.ntiles; t++) {
            stats->bytes_read += j.bytes[t];
            stats->io_requests += j.reqs[t];
        }
        stats->batches = 1;
        stats->bytes_read += pre.bytes;
        stats->io_requests += pre.n;
    }
    /* Cleanup. */
    rdi_rcache_free(&pre);
    free(ex);
    free(moved);
    free(mask);
    free(idx);
    free(frag_of);
    free(cts);
    if (j.ts)
        for (uint64_t i = 0; i < j.ntiles; i++) rdi_ocol_free(&j.ts[i]);
    free(j.ts);
    free(j.tile_n);
    free(j.cell_base);
    free(j.var_base);
    if (cand)
        for (uint32_t f = 0; f < j.nneed; f++) rdi_ocol_free(&cand[f]);
    free(cand);
    if (j.out)
        for (uint64_t i = 0; i < j.ntiles * j.nneed; i++) rdi_ocol_free(&j.out[i]);
    free(j.out);
    free(j.bytes);
    free(j.reqs);
    free(j.tiles);
    free(j.need);
    if (j.scratch)
        for (unsigned i = 0; i < nw; i++) rdi_scratch_free(j.scratch[i]);
    free(j.scratch);
    if (j.inbuf)
        for (unsigned i = 0; i < nw; i++) rdi_buf_free(&j.inbuf[i]);
    free(j.inbuf);
    return st;
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

radi_status radi_sparse_query_est_size(radi_sparse_query *q, const char *column, uint64_t *rows,
                                       uint64_t *data_bytes)
{
    if (!q || !column || !rows || !data_bytes)
        return rdi_error(RADI_E_INVALID, "radi_sparse_query_est_size: NULL argument");
    uint32_t k;
    if (!field_index(q->s, column, &k))
        return rdi_error(RADI_E_INVALID, "%s: no column named '%s'", q->a->uri, column);
    finfo fi;
    field_info(q->s, k, &fi);
    rdi_scratch *sc = NULL;
    RDI_TRY(rdi_scratch_create(&sc));
    rtile *tiles = NULL;
    uint64_t nt = 0, r = 0, bytes = 0;
    radi_status st = load_all_index(q->a);
    if (st == RADI_OK) st = plan_tiles(q, sc, &tiles, &nt);
    for (uint64_t i = 0; i < nt && st == RADI_OK; i++) {
        rdi_fragmeta *fm = q->a->frags[tiles[i].frag];
        uint64_t n = tile_cells(fm, tiles[i].tile);
        r += n;
        if (fi.cell_size) {
            bytes += n * fi.cell_size;
            continue;
        }
        uint32_t slot;
        if ((st = frag_slot(q, fm, k, &slot)) != RADI_OK) break;
        if (fm->tile_var_sizes[slot]) bytes += fm->tile_var_sizes[slot][tiles[i].tile];
    }
    free(tiles);
    rdi_scratch_free(sc);
    if (st != RADI_OK) return st;
    *rows = r;
    *data_bytes = bytes;
    return RADI_OK;
}

radi_status radi_array_sparse_count(radi_array *array, uint64_t *rows)
{
    if (!array || !rows) return rdi_error(RADI_E_INVALID, "radi_array_sparse_count: NULL argument");
    radi_sparse_query *q = NULL;
    RDI_TRY(radi_sparse_query_create(array, &q));
    const char *first = array->schema->dims[0].name;
    radi_status st = radi_sparse_query_set_columns(q, 1, &first);
    if (st == RADI_OK) st = radi_sparse_query_submit(q, NULL);
    if (st == RADI_OK) *rows = q->rows;
    radi_sparse_query_free(q);
    return st;
}

/* ------------------------------------------------------------ consolidation -- */

radi_status rdi_sparse_consolidate(radi_array *a, uint64_t t1, uint64_t t2, char **name_out)
{
    if (name_out) *name_out = NULL;
    radi_sparse_query *q = NULL;
    RDI_TRY(radi_sparse_query_create(a, &q));
    radi_status st = radi_sparse_query_submit(q, NULL);
    radi_sparse_buffer *b = NULL;
    uint32_t nb = radi_sparse_query_ncolumns(q);
    if (st == RADI_OK && !(b = rdi_calloc(nb ? nb : 1, sizeof *b))) st = RADI_E_NOMEM;
    for (uint32_t i = 0; i < nb && st == RADI_OK; i++) {
        radi_sparse_column c;
        if ((st = radi_sparse_query_column(q, i, &c)) != RADI_OK) break;
        b[i].name = c.name;
        b[i].data = c.data;
        b[i].data_size = c.data_size;
        b[i].offsets = c.offsets;
        b[i].validity = c.validity;
    }
    if (st == RADI_OK) st = rdi_sparse_write(a, nb, b, q->rows, t1, t2, name_out);
    free(b);
    radi_sparse_query_free(q);
    return st;
}
