/*
 * libFuzzer target: the R-tree of a sparse fragment (the payload of the generic tile at
 * rtree_off in __fragment_metadata.tdb, src/tdb/rtree.c), parsed against the global
 * orders of three fixed sparse schemas: 2-D int64 (radi's sparse shape), 3-D int8 /
 * uint32 / string, and 1-D string. The input is the bare payload (no generic tile: the
 * tile layer has fuzz_schema/fuzz_tile), tried against each order. A tree that parses:
 *   - serializes back to exactly the bytes it was parsed from (parse reads a prefix);
 *   - answers range queries exactly as a brute-force scan of its leaf MBRs does: every
 *     overlapping leaf once, ascending, and full[k] set iff the leaf lies inside the query
 *     (the parser validated parent containment, so pruning may never lose a tile).
 * Queries: each of a few leaves' own MBR, the whole domain, and one range per dimension
 * taken from the input's last bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "tdb/sparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static radi_schema *make_schema(int which)
{
    radi_schema *s = NULL;
    if (radi_schema_create(RADI_SPARSE, &s) != RADI_OK) return NULL;
    radi_status st = RADI_OK;
    if (which == 0) {
        int64_t lo = 0, hi = 239, ext = 240;
        st = radi_schema_add_dim(s, "x", RADI_INT64, &lo, &hi, &ext, NULL);
        if (st == RADI_OK) st = radi_schema_add_dim(s, "y", RADI_INT64, &lo, &hi, &ext, NULL);
    } else if (which == 1) {
        int8_t lo8 = -100, hi8 = 100, e8 = 10;
        uint32_t lo32 = 0, hi32 = 4000000000u, e32 = 1000;
        st = radi_schema_add_dim(s, "a", RADI_INT8, &lo8, &hi8, &e8, NULL);
        if (st == RADI_OK) st = radi_schema_add_dim(s, "b", RADI_UINT32, &lo32, &hi32, &e32, NULL);
        if (st == RADI_OK) st = radi_schema_add_dim(s, "s", RADI_STRING_ASCII, NULL, NULL, NULL, NULL);
    } else {
        st = radi_schema_add_dim(s, "obs_id", RADI_STRING_ASCII, NULL, NULL, NULL, NULL);
    }
    if (st != RADI_OK) {
        radi_schema_free(s);
        return NULL;
    }
    return s;
}

/* Runs one query and compares it with the brute-force answer over the leaves. */
static void check_query(const rdi_gorder *g, const rdi_rtree *t, const rdi_qdim *q)
{
    uint64_t *ids = NULL, nt = 0;
    uint8_t *full = NULL;
    if (rdi_rtree_query(g, t, q, &ids, &full, &nt) != RADI_OK) abort();
    uint64_t nleaves = rdi_rtree_leaves(t), k = 0;
    const rdi_range *leaves = t->nlevels ? t->mbr[t->nlevels - 1] : NULL;
    for (uint64_t j = 0; j < nleaves; j++) {
        int ov = rdi_mbr_query(g, &leaves[j * g->ndim], q);
        if (ov == 0) continue;
        if (k >= nt || ids[k] != j || full[k] != (ov == 2)) abort();
        k++;
    }
    if (k != nt) abort();
    free(ids);
    free(full);
}

static void run(const rdi_gorder *g, const uint8_t *data, size_t size)
{
    rdi_rtree t;
    if (rdi_rtree_parse(g, data, size, "fuzz rtree", UINT64_MAX, &t) != RADI_OK) return;

    rdi_buf out = RDI_BUF_INIT;
    if (rdi_rtree_serialize(g, &t, &out) != RADI_OK) abort();
    if (out.len > size || memcmp(out.data, data, out.len) != 0) abort();
    rdi_buf_free(&out);

    rdi_qrange qr[RDI_SPARSE_MAX_DIMS];
    rdi_qdim qd[RDI_SPARSE_MAX_DIMS];
    /* The whole domain: every leaf, all full. */
    for (uint32_t d = 0; d < g->ndim; d++) qd[d] = (rdi_qdim){0, NULL};
    check_query(g, &t, qd);

    /* A few leaves' own MBRs. */
    uint64_t nleaves = rdi_rtree_leaves(&t);
    uint64_t picks[3] = {0, nleaves / 2, nleaves ? nleaves - 1 : 0};
    for (int p = 0; p < 3 && nleaves; p++) {
        const rdi_range *m = &t.mbr[t.nlevels - 1][picks[p] * g->ndim];
        for (uint32_t d = 0; d < g->ndim; d++) {
            memset(&qr[d], 0, sizeof qr[d]);
            if (g->dims[d].var) {
                qr[d].slo = (const uint8_t *)m[d].slo;
                qr[d].slo_len = m[d].slo_len;
                qr[d].shi = (const uint8_t *)m[d].shi;
                qr[d].shi_len = m[d].shi_len;
            } else {
                qr[d].lo_key = rdi_coord_key(g->dims[d].type, m[d].lo);
                qr[d].hi_key = rdi_coord_key(g->dims[d].type, m[d].hi);
            }
            qd[d] = (rdi_qdim){1, &qr[d]};
        }
        check_query(g, &t, qd);
    }

    /* One range per dimension from the input's tail (8 bytes each side, enough for any
     * coordinate type). */
    if (size >= 16u * g->ndim) {
        const uint8_t *tail = data + size - 16u * g->ndim;
        for (uint32_t d = 0; d < g->ndim; d++) {
            const uint8_t *a = tail + 16 * d, *b = a + 8;
            memset(&qr[d], 0, sizeof qr[d]);
            if (g->dims[d].var) {
                int sw = rdi_str_cmp(a, 4, b, 4) > 0;
                qr[d].slo = sw ? b : a;
                qr[d].shi = sw ? a : b;
                qr[d].slo_len = qr[d].shi_len = 1 + a[0] % 4;
            } else {
                uint64_t x = rdi_coord_key(g->dims[d].type, a), y = rdi_coord_key(g->dims[d].type, b);
                qr[d].lo_key = RDI_MIN(x, y);
                qr[d].hi_key = RDI_MAX(x, y);
            }
            qd[d] = (rdi_qdim){1, &qr[d]};
        }
        check_query(g, &t, qd);
    }
    rdi_rtree_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int w = 0; w < 3; w++) {
        radi_schema *s = make_schema(w);
        rdi_gorder g;
        if (s && rdi_gorder_init(s, &g) == RADI_OK) run(&g, data, size);
        radi_schema_free(s);
    }
    return 0;
}
