/*
 * The R-tree of a sparse fragment (docs/format.md §8.1): one MBR per data
 * tile at the leaves; each parent covers `fanout` consecutive children, up to a single
 * root. TileDB starts every overlap query at the root alone, so a tree with more than
 * one MBR at its top level silently loses tiles (§3); the parser refuses it.
 */
#include <stdlib.h>

#include "tdb/sparse.h"

void rdi_rtree_free(rdi_rtree *t)
{
    if (!t) return;
    if (t->mbr) {
        for (uint32_t l = 0; l < t->nlevels; l++) {
            if (!t->mbr[l]) continue;
            for (uint64_t m = 0; m < t->nmbr[l]; m++)
                for (uint32_t d = 0; d < t->ndim; d++) {
                    free(t->mbr[l][m * t->ndim + d].slo);
                    free(t->mbr[l][m * t->ndim + d].shi);
                }
            free(t->mbr[l]);
        }
    }
    free(t->mbr);
    free(t->nmbr);
    memset(t, 0, sizeof *t);
}

uint64_t rdi_rtree_leaves(const rdi_rtree *t)
{
    return t->nlevels ? t->nmbr[t->nlevels - 1] : 0;
}

/* Level sizes from the leaves up: n, ceil(n/f), ..., 1. Returns the level count. */
static uint32_t level_count(uint64_t nleaves, uint32_t fanout)
{
    if (nleaves == 0) return 0;
    uint32_t h = 1;
    while (nleaves > 1) {
        nleaves = (nleaves + fanout - 1) / fanout;
        h++;
    }
    return h;
}

static radi_status alloc_levels(rdi_rtree *t, uint32_t ndim, uint32_t fanout, uint32_t nlevels)
{
    memset(t, 0, sizeof *t);
    t->ndim = ndim;
    t->fanout = fanout;
    if (nlevels == 0) return RADI_OK;
    t->nmbr = rdi_calloc(nlevels, sizeof *t->nmbr);
    t->mbr = rdi_calloc(nlevels, sizeof *t->mbr);
    if (!t->nmbr || !t->mbr) {
        free(t->nmbr);
        free(t->mbr);
        t->nmbr = NULL;
        t->mbr = NULL;
        return RADI_E_NOMEM;
    }
    t->nlevels = nlevels;
    return RADI_OK;
}

radi_status rdi_rtree_build(const rdi_gorder *g, const rdi_range *leaves, uint64_t nleaves,
                            uint32_t fanout, rdi_rtree *out)
{
    if (fanout < 2) return rdi_error(RADI_E_INVALID, "R-tree: fanout %u < 2", fanout);
    uint32_t h = level_count(nleaves, fanout), nd = g->ndim;
    rdi_rtree t;
    RDI_TRY(alloc_levels(&t, nd, fanout, h));
    radi_status st = RADI_OK;
    uint64_t n = nleaves;
    for (uint32_t l = h; l-- > 0;) {
        t.nmbr[l] = n;
        t.mbr[l] = rdi_calloc(n * nd, sizeof(rdi_range));
        if (!t.mbr[l]) { st = RADI_E_NOMEM; goto fail; }
        for (uint64_t m = 0; m < n; m++) {
            rdi_range *dst = &t.mbr[l][m * nd];
            if (l == h - 1) {
                if ((st = rdi_mbr_copy(g, dst, &leaves[m * nd])) != RADI_OK) goto fail;
                continue;
            }
            uint64_t c0 = m * fanout, c1 = RDI_MIN(c0 + fanout, t.nmbr[l + 1]);
            const rdi_range *child = t.mbr[l + 1];
            if ((st = rdi_mbr_copy(g, dst, &child[c0 * nd])) != RADI_OK) goto fail;
            for (uint64_t c = c0 + 1; c < c1; c++)
                if ((st = rdi_mbr_expand(g, dst, &child[c * nd])) != RADI_OK) goto fail;
        }
        n = (n + fanout - 1) / fanout;
    }
    *out = t;
    return RADI_OK;
fail:
    rdi_rtree_free(&t);
    return st;
}

radi_status rdi_rtree_serialize(const rdi_gorder *g, const rdi_rtree *t, rdi_buf *out)
{
    RDI_TRY(rdi_buf_put_u32(out, t->fanout));
    RDI_TRY(rdi_buf_put_u32(out, t->nlevels));
    for (uint32_t l = 0; l < t->nlevels; l++) {
        RDI_TRY(rdi_buf_put_u64(out, t->nmbr[l]));
        for (uint64_t m = 0; m < t->nmbr[l]; m++) {
            for (uint32_t d = 0; d < g->ndim; d++) {
                const rdi_range *r = &t->mbr[l][m * g->ndim + d];
                if (g->dims[d].var) {
                    RDI_TRY(rdi_buf_put_u64(out, r->slo_len + r->shi_len));
                    RDI_TRY(rdi_buf_put_u64(out, r->slo_len));
                    RDI_TRY(rdi_buf_append(out, r->slo, r->slo_len));
                    RDI_TRY(rdi_buf_append(out, r->shi, r->shi_len));
                } else {
                    RDI_TRY(rdi_buf_append(out, r->lo, g->dims[d].size));
                    RDI_TRY(rdi_buf_append(out, r->hi, g->dims[d].size));
                }
            }
        }
    }
    return RADI_OK;
}

static radi_status read_range(const rdi_gorder *g, uint32_t d, rdi_rd *r, rdi_range *out)
{
    const rdi_gdim *gd = &g->dims[d];
    if (!gd->var) {
        RDI_TRY(rdi_rd_bytes(r, out->lo, gd->size, "MBR lower bound"));
        RDI_TRY(rdi_rd_bytes(r, out->hi, gd->size, "MBR upper bound"));
        if (rdi_coord_key(gd->type, out->lo) > rdi_coord_key(gd->type, out->hi))
            return rdi_error(RADI_E_CORRUPT, "%s: R-tree MBR on dimension %u has lo > hi", r->what, d);
        return RADI_OK;
    }
    uint64_t total, lo_len;
    RDI_TRY(rdi_rd_u64(r, &total, "MBR range size"));
    RDI_TRY(rdi_rd_u64(r, &lo_len, "MBR start size"));
    if (lo_len > total || total > rdi_rd_left(r))
        return rdi_error(RADI_E_CORRUPT, "%s: R-tree MBR sizes %llu/%llu exceed the data at byte %zu",
                         r->what, (unsigned long long)lo_len, (unsigned long long)total, r->pos);
    const uint8_t *p;
    RDI_TRY(rdi_rd_view(r, &p, total, "MBR bounds"));
    out->slo = malloc(lo_len + 1);
    out->shi = malloc(total - lo_len + 1);
    if (!out->slo || !out->shi) return rdi_nomem();
    memcpy(out->slo, p, lo_len);
    memcpy(out->shi, p + lo_len, total - lo_len);
    out->slo[lo_len] = 0;
    out->shi[total - lo_len] = 0;
    out->slo_len = lo_len;
    out->shi_len = total - lo_len;
    if (rdi_str_cmp(out->slo, out->slo_len, out->shi, out->shi_len) > 0)
        return rdi_error(RADI_E_CORRUPT, "%s: R-tree MBR on dimension %u has lo > hi", r->what, d);
    return RADI_OK;
}

radi_status rdi_rtree_parse(const rdi_gorder *g, const void *p, size_t len, const char *what,
                            uint64_t expected_leaves, rdi_rtree *out)
{
    rdi_rd r;
    rdi_rd_init(&r, p, len, what);
    uint32_t fanout, nlevels;
    RDI_TRY(rdi_rd_u32(&r, &fanout, "R-tree fanout"));
    RDI_TRY(rdi_rd_u32(&r, &nlevels, "R-tree level count"));
    if (nlevels > 0 && fanout < 2)
        return rdi_error(RADI_E_CORRUPT, "%s: R-tree fanout %u", what, fanout);
    if (nlevels > 64)
        return rdi_error(RADI_E_CORRUPT, "%s: R-tree has %u levels", what, nlevels);
    rdi_rtree t;
    RDI_TRY(alloc_levels(&t, g->ndim, fanout, nlevels));
    radi_status st = RADI_OK;
    uint32_t nd = g->ndim;
    /* The smallest serialized MBR, to bound counts by the bytes present. */
    uint64_t min_mbr = 0;
    for (uint32_t d = 0; d < nd; d++) min_mbr += g->dims[d].var ? 16 : 2 * g->dims[d].size;
    for (uint32_t l = 0; l < nlevels; l++) {
        uint64_t n;
        if ((st = rdi_rd_u64(&r, &n, "R-tree level size")) != RADI_OK) goto fail;
        uint64_t want = l == 0 ? 1 : 0;
        if (l > 0) {
            uint64_t prev = t.nmbr[l - 1];
            /* Level l must have between (prev-1)*fanout+1 and prev*fanout entries. */
            if (n > prev * (uint64_t)fanout || n <= (prev - 1) * (uint64_t)fanout) want = UINT64_MAX;
            else want = n;
        }
        if (want != n) {
            st = rdi_error(RADI_E_CORRUPT,
                           "%s: malformed R-tree: level %u has %llu MBRs (%s)", what, l,
                           (unsigned long long)n,
                           l == 0 ? "the root level must hold exactly one" :
                                    "inconsistent with the level above and the fanout");
            goto fail;
        }
        if (n * min_mbr > rdi_rd_left(&r)) {
            st = rdi_error(RADI_E_CORRUPT, "%s: truncated R-tree level %u (%llu MBRs)", what, l,
                           (unsigned long long)n);
            goto fail;
        }
        t.nmbr[l] = n;
        t.mbr[l] = rdi_calloc(n * nd, sizeof(rdi_range));
        if (!t.mbr[l]) { st = RADI_E_NOMEM; goto fail; }
        for (uint64_t m = 0; m < n; m++)
            for (uint32_t d = 0; d < nd; d++)
                if ((st = read_range(g, d, &r, &t.mbr[l][m * nd + d])) != RADI_OK) goto fail;
    }
    if (expected_leaves != UINT64_MAX && rdi_rtree_leaves(&t) != expected_leaves) {
        st = rdi_error(RADI_E_CORRUPT, "%s: R-tree has %llu leaves but the fragment has %llu tiles",
                       what, (unsigned long long)rdi_rtree_leaves(&t),
                       (unsigned long long)expected_leaves);
        goto fail;
    }
    /* A parent that does not cover its children would hide tiles from range queries. */
    for (uint32_t l = 0; l + 1 < nlevels; l++)
        for (uint64_t c = 0; c < t.nmbr[l + 1]; c++)
            if (!rdi_mbr_contains(g, &t.mbr[l][(c / fanout) * nd], &t.mbr[l + 1][c * nd])) {
                st = rdi_error(RADI_E_CORRUPT, "%s: malformed R-tree: MBR %llu of level %u lies "
                               "outside its parent", what, (unsigned long long)c, l + 1);
                goto fail;
            }
    *out = t;
    return RADI_OK;
fail:
    rdi_rtree_free(&t);
    return st;
}

radi_status rdi_rtree_query(const rdi_gorder *g, const rdi_rtree *t, const rdi_qdim *q,
                            uint64_t **tiles, uint8_t **full, uint64_t *ntiles)
{
    *tiles = NULL;
    *full = NULL;
    *ntiles = 0;
    uint64_t nleaves = rdi_rtree_leaves(t);
    if (nleaves == 0) return RADI_OK;
    uint64_t *ids = malloc(nleaves * sizeof *ids);
    uint8_t *fl = malloc(nleaves);
    /* Depth-first with an explicit stack of (level, index): at most one pending sibling
     * group per level, each no wider than the fanout or the level itself. Bounded by the
     * MBRs present, not by the fanout alone, which a hostile file may set to 2^32 - 1. */
    uint64_t stack_cap = 1;
    for (uint32_t l = 1; l < t->nlevels; l++) stack_cap += RDI_MIN((uint64_t)t->fanout, t->nmbr[l]);
    uint64_t *stk = malloc(stack_cap * 2 * sizeof *stk);
    if (!ids || !fl || !stk) {
        free(ids); free(fl); free(stk);
        return rdi_nomem();
    }
    uint64_t n = 0, sp = 0;
    stk[0] = 0;
    stk[1] = 0;
    sp = 1;
    uint64_t span = 1; /* leaves under one MBR of level l: fanout^(nlevels-1-l) */
    uint64_t *spans = malloc(t->nlevels * sizeof *spans);
    if (!spans) { free(ids); free(fl); free(stk); return rdi_nomem(); }
    for (uint32_t l = t->nlevels; l-- > 0;) {
        spans[l] = span;
        span = span > UINT64_MAX / t->fanout ? UINT64_MAX : span * t->fanout;
    }
    while (sp > 0) {
        sp--;
        uint64_t l = stk[2 * sp], m = stk[2 * sp + 1];
        int ov = rdi_mbr_query(g, &t->mbr[l][m * t->ndim], q);
        if (ov == 0) continue;
        if (ov == 2 || l + 1 == t->nlevels) {
            uint64_t b = m * spans[l], e = RDI_MIN(nleaves, b + spans[l]);
            if (spans[l] != 1 && b >= nleaves) continue;
            for (uint64_t k = b; k < e; k++) {
                ids[n] = k;
                fl[n++] = (uint8_t)(ov == 2);
            }
            continue;
        }
        /* Push children in reverse so they pop in ascending order. */
        uint64_t c0 = m * t->fanout, c1 = RDI_MIN(c0 + t->fanout, t->nmbr[l + 1]);
        for (uint64_t c = c1; c-- > c0;) {
            stk[2 * sp] = l + 1;
            stk[2 * sp + 1] = c;
            sp++;
        }
    }
    free(stk);
    free(spans);
    *tiles = ids;
    *full = fl;
    *ntiles = n;
    return RADI_OK;
}
