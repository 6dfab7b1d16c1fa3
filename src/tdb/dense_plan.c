/*
 * The dense read plan (docs/format.md §9, §7, §6): the query box covers a
 * range of space tiles. For each space tile, the fragments that supply cells are found
 * newest first; one whose part of the tile is covered by a newer fragment's part is
 * skipped (TileDB's rule). Cells are then painted oldest to newest, so per cell the
 * newest fragment wins; cells nobody wrote get the fill value.
 */
#include <stdlib.h>

#include "tdb/dense.h"


/* Drops unit dimensions, orders the rest by output stride and merges dimensions that are
 * contiguous in both, so copies run over the longest possible rows. */
uint32_t rdi_dense_normalize(const int64_t *n, const int64_t *ss, const int64_t *ds, uint32_t ndim, nd *out)
{
    uint32_t k = 0;
    for (uint32_t d = 0; d < ndim; d++)
        if (n[d] > 1) out[k++] = (nd){n[d], ss[d], ds[d]};
    for (uint32_t i = 1; i < k; i++)
        for (uint32_t j = i; j > 0 && out[j].ds < out[j - 1].ds; j--) {
            nd t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    if (k == 0) return 0;
    uint32_t m = 0;
    for (uint32_t j = 1; j < k; j++) {
        if (out[j].ss == out[m].ss * out[m].n && out[j].ds == out[m].ds * out[m].n) out[m].n *= out[j].n;
        else out[++m] = out[j];
    }
    return m + 1;
}

static void box_intersect(uint32_t ndim, const int64_t *a, const int64_t *b, int64_t *out, int *empty)
{
    *empty = 0;
    for (uint32_t d = 0; d < ndim; d++) {
        out[2 * d] = RDI_MAX(a[2 * d], b[2 * d]);
        out[2 * d + 1] = RDI_MIN(a[2 * d + 1], b[2 * d + 1]);
        if (out[2 * d] > out[2 * d + 1]) *empty = 1;
    }
}

static int box_contains(uint32_t ndim, const int64_t *outer, const int64_t *inner)
{
    for (uint32_t d = 0; d < ndim; d++)
        if (inner[2 * d] < outer[2 * d] || inner[2 * d + 1] > outer[2 * d + 1]) return 0;
    return 1;
}

static radi_status push_contrib(plan *p, const contrib *c)
{
    if (p->nc == p->ccap) {
        uint64_t cap = p->ccap ? p->ccap * 2 : 64;
        contrib *nc = realloc(p->c, (size_t)cap * sizeof *nc);
        if (!nc) return rdi_nomem();
        p->c = nc;
        p->ccap = cap;
    }
    p->c[p->nc++] = *c;
    return RADI_OK;
}

/* Whether a whole tile lands as one run in the output, in the tile's cell order. */
static int tile_is_contiguous(const plan *p, const int64_t *tbox)
{
    int64_t n[4], ss[4], ds[4];
    for (uint32_t d = 0; d < p->ndim; d++) {
        n[d] = tbox[2 * d + 1] - tbox[2 * d] + 1;
        ss[d] = (int64_t)p->tstride[d];
        ds[d] = (int64_t)p->ostride[d];
    }
    nd dims[4];
    uint32_t k = rdi_dense_normalize(n, ss, ds, p->ndim, dims);
    return k == 0 || (k == 1 && dims[0].ss == 1 && dims[0].ds == 1);
}

radi_status rdi_dense_build_plan(plan *p, radi_array *a, const int64_t *q, radi_layout layout,
                                 const uint64_t *ostride)
{
    const radi_schema *s = a->schema;
    uint32_t nd_ = s->ndim;
    p->a = a;
    p->ndim = nd_;
    memcpy(p->q, q, 2 * nd_ * sizeof(int64_t));
    /* Output strides in the requested layout. */
    uint64_t acc = 1;
    for (uint32_t i = 0; i < nd_; i++) {
        uint32_t d = layout == RADI_ROW_MAJOR ? nd_ - 1 - i : i;
        p->ostride[d] = acc;
        acc *= (uint64_t)(q[2 * d + 1] - q[2 * d] + 1);
    }
    if (ostride) memcpy(p->ostride, ostride, nd_ * sizeof *ostride);
    p->g = layout == RADI_ROW_MAJOR ? nd_ - 1 : 0;
    rdi_grid grid;
    RDI_TRY(rdi_grid_init(s, q, &grid));
    if (s->cell_order != RADI_ROW_MAJOR && s->cell_order != RADI_COL_MAJOR)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: dense cell order %d is not supported", a->uri, (int)s->cell_order);
    p->tcells = 1;
    for (uint32_t d = 0; d < nd_; d++) {
        p->ext[d] = grid.ext[d];
        if (__builtin_mul_overflow(p->tcells, (uint64_t)grid.ext[d], &p->tcells) || p->tcells > ((uint64_t)1 << 40))
            return rdi_error(RADI_E_UNSUPPORTED, "%s: tiles of more than 2^40 cells", a->uri);
    }
    acc = 1;
    p->src_fast = nd_;
    for (uint32_t i = 0; i < nd_; i++) {
        uint32_t d = s->cell_order == RADI_ROW_MAJOR ? nd_ - 1 - i : i;
        p->tstride[d] = acc;
        acc *= (uint64_t)p->ext[d];
        if (p->src_fast == nd_ && p->ext[d] > 1) p->src_fast = d;
    }

    /* Fragment boxes and their tile grids (same origin and extents as the array's). */
    uint32_t nf = a->nfrags;
    int64_t (*fbox)[8] = rdi_calloc(nf ? nf : 1, sizeof *fbox);
    rdi_grid *fgrid = rdi_calloc(nf ? nf : 1, sizeof *fgrid);
    p->nst = grid.ntiles;
    p->st = rdi_calloc((size_t)(p->nst ? p->nst : 1), sizeof *p->st);
    radi_status st = (fbox && fgrid && p->st) ? RADI_OK : RADI_E_NOMEM;
    for (uint32_t f = 0; f < nf && st == RADI_OK; f++) {
        const rdi_fragmeta *fm = a->frags[f];
        if (!fm->dense) {
            st = rdi_error(RADI_E_UNSUPPORTED, "%s: sparse fragment in a dense array", fm->uri);
            break;
        }
        st = rdi_fragmeta_ned_box(fm, fbox[f]);
        if (st == RADI_OK) st = rdi_grid_init(s, fbox[f], &fgrid[f]);
    }

    /* Space tiles in output order (fastest dimension g innermost), so tiles next to each
     * other along g are neighbours in the list and can be grouped. */
    int64_t span[4];
    for (uint32_t d = 0; d < nd_; d++) span[d] = grid.thi[d] - grid.tlo[d] + 1;
    for (uint64_t k = 0; k < p->nst && st == RADI_OK; k++) {
        stile *t = &p->st[k];
        int64_t tc[4];
        uint64_t r = k;
        for (uint32_t i = 0; i < nd_; i++) {
            uint32_t d = layout == RADI_ROW_MAJOR ? nd_ - 1 - i : i;
            tc[d] = grid.tlo[d] + (int64_t)(r % (uint64_t)span[d]);
            r /= (uint64_t)span[d];
        }
        t->tcg = tc[p->g];
        rdi_grid_tile_box(&grid, tc, t->tbox);
        int empty;
        box_intersect(nd_, t->tbox, q, t->box, &empty);
        t->c0 = p->nc;
        uint32_t nadded = 0;
        int covered = 0;
        for (uint32_t f = nf; f-- > 0 && !covered && st == RADI_OK;) {
            contrib c;
            memset(&c, 0, sizeof c);
            box_intersect(nd_, fbox[f], t->box, c.part, &empty);
            if (empty) continue;
            int skip = 0;
            for (uint32_t i = 0; i < nadded && !skip; i++)
                skip = box_contains(nd_, p->c[t->c0 + i].part, c.part);
            if (skip) continue;
            c.frag = f;
            c.ftile = rdi_grid_index(&fgrid[f], tc);
            if (c.ftile >= a->frags[f]->tile_num) {
                st = rdi_error(RADI_E_CORRUPT, "%s: tile %llu outside the fragment's %llu tiles", a->frags[f]->uri,
                               (unsigned long long)c.ftile, (unsigned long long)a->frags[f]->tile_num);
                break;
            }
            covered = box_contains(nd_, c.part, t->box);
            c.direct = covered && nadded == 0 && box_contains(nd_, q, t->tbox) &&
                       tile_is_contiguous(p, t->tbox);
            st = push_contrib(p, &c);
            nadded++;
        }
        if (st != RADI_OK) break;
        /* Newest first was convenient for the skip rule; paint oldest first. */
        for (uint32_t i = 0, j = nadded ? nadded - 1 : 0; i < j; i++, j--) {
            contrib tmp = p->c[t->c0 + i];
            p->c[t->c0 + i] = p->c[t->c0 + j];
            p->c[t->c0 + j] = tmp;
        }
        t->nc = nadded;
        t->fill = !covered;
    }
    free(fbox);
    free(fgrid);
    return st;
}
