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
#include "tdb/sparse_query.h"

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
        if ((st = rdi_sq_check_fragment(fm)) != RADI_OK) break;
        if (fm->tile_num == 0) continue;
        rdi_rtree t;
        if ((st = rdi_sq_load_rtree(a->ctx, a->snap, &q->g, fm, sc, &t)) != RADI_OK) break;
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
        j->tile_n[t] = rdi_sq_tile_cells(j->frags[j->tiles[t].frag], j->tiles[t].tile);
        ovf |= __builtin_add_overflow(rows, j->tile_n[t], &rows);
    }
    for (uint32_t f = 0; f < j->nneed && !ovf; f++) {
        finfo fi;
        field_info(j->q->s, j->need[f], &fi);
        uint64_t bytes = 0, n, vsize, part;
        for (uint64_t t = 0; t < j->ntiles && !ovf; t++) {
            RDI_TRY(rdi_sq_field_tile_size(j, t, j->need[f], &n, &vsize));
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
            RDI_TRY(rdi_sq_field_tile_size(j, t, j->need[f], &n, &vsize));
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
    rdi_sq_free_results(q);
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
    if (st == RADI_OK) st = rdi_sq_load_all_index(a);
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
        st = rdi_sq_prefetch_tiles(&j);
    }
    if (st == RADI_OK && j.ntiles) st = rdi_pool_for(a->ctx->pool, j.ntiles, rdi_sq_tile_task, &j);

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
        for (uint64_t t = 0; t < j.ntiles && st == RADI_OK; t++) st = rdi_sq_ocol_concat(&cand[f], &j.out[t * j.nneed + f]);
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
    else rdi_sq_free_results(q);
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
    radi_status st = rdi_sq_load_all_index(q->a);
    if (st == RADI_OK) st = plan_tiles(q, sc, &tiles, &nt);
    for (uint64_t i = 0; i < nt && st == RADI_OK; i++) {
        rdi_fragmeta *fm = q->a->frags[tiles[i].frag];
        uint64_t n = rdi_sq_tile_cells(fm, tiles[i].tile);
        r += n;
        if (fi.cell_size) {
            bytes += n * fi.cell_size;
            continue;
        }
        uint32_t slot;
        if ((st = rdi_sq_frag_slot(q, fm, k, &slot)) != RADI_OK) break;
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
