/* Sparse engine pieces: global order, sort/dedup, MBRs and the R-tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tdb/sparse.h"

/* A column of strings from a NULL-terminated list (storage static per call site). */
typedef struct strcol {
    char data[4096];
    uint64_t offs[256];
    rdi_scol col;
} strcol;

static void strcol_init(strcol *s, const char *const *v, uint64_t n)
{
    uint64_t pos = 0;
    for (uint64_t i = 0; i < n; i++) {
        s->offs[i] = pos;
        memcpy(s->data + pos, v[i], strlen(v[i]));
        pos += strlen(v[i]);
    }
    memset(&s->col, 0, sizeof s->col);
    s->col.data = (const uint8_t *)s->data;
    s->col.offsets = s->offs;
    s->col.data_size = pos;
    s->col.n = n;
}

/* Schemas are built by hand so these tests need only the sparse files and core. */
static radi_schema *new_schema(void)
{
    radi_schema *s = calloc(1, sizeof *s);
    s->type = RADI_SPARSE;
    s->tile_order = s->cell_order = RADI_ROW_MAJOR;
    s->capacity = 10000;
    s->dims = calloc(RDI_SPARSE_MAX_DIMS, sizeof *s->dims);
    return s;
}

static void add_dim(radi_schema *s, radi_datatype t, const void *lo, const void *hi,
                    const void *ext)
{
    rdi_dim *d = &s->dims[s->ndim++];
    d->type = t;
    if (!lo) {
        d->cell_val_num = RADI_VAR_NUM;
        return;
    }
    size_t n = radi_datatype_size(t);
    d->cell_val_num = 1;
    d->has_domain = 1;
    memcpy(d->lo, lo, n);
    memcpy(d->hi, hi, n);
    if (ext) {
        d->has_extent = 1;
        memcpy(d->extent, ext, n);
    }
}

static void free_schema(radi_schema *s)
{
    free(s->dims);
    free(s);
}

static radi_schema *str_schema(int ndim)
{
    radi_schema *s = new_schema();
    add_dim(s, RADI_STRING_ASCII, NULL, NULL, NULL);
    if (ndim > 1) add_dim(s, RADI_STRING_ASCII, NULL, NULL, NULL);
    return s;
}

static void test_string_order(void **state)
{
    (void)state;
    radi_schema *s = str_schema(1);
    rdi_gorder g;
    assert_int_equal(rdi_gorder_init(s, &g), RADI_OK);
    const char *v[] = {"sub-2", "sub-10", "a0", "", "Sub-1", "sub-1", "sub-11", "sub", "\xc3\xa9", "sub-1"};
    const uint64_t n = 10;
    strcol c;
    strcol_init(&c, v, n);
    uint64_t idx[10];
    for (uint64_t i = 0; i < n; i++) idx[i] = i;
    assert_int_equal(rdi_gorder_sort(&g, &c.col, idx, n), RADI_OK);
    /* Byte order, prefix first, bytes >= 0x80 after ASCII; equal keys stay stable. */
    const uint64_t want[] = {3, 4, 2, 7, 5, 9, 1, 6, 0, 8};
    for (uint64_t i = 0; i < n; i++) assert_int_equal(idx[i], want[i]);
    uint64_t m = rdi_gorder_dedup(&g, &c.col, idx, n);
    assert_int_equal(m, 9);
    assert_int_equal(idx[4], 9); /* the last "sub-1" written wins */
    free_schema(s);
}

static void test_two_string_dims(void **state)
{
    (void)state;
    radi_schema *s = str_schema(2);
    rdi_gorder g;
    assert_int_equal(rdi_gorder_init(s, &g), RADI_OK);
    const char *a[] = {"s2", "s1", "s1", "s10", "s1"};
    const char *b[] = {"x", "z", "b", "a", "b"};
    strcol ca, cb;
    strcol_init(&ca, a, 5);
    strcol_init(&cb, b, 5);
    rdi_scol cols[2] = {ca.col, cb.col};
    uint64_t idx[5] = {0, 1, 2, 3, 4};
    assert_int_equal(rdi_gorder_sort(&g, cols, idx, 5), RADI_OK);
    const uint64_t want[] = {2, 4, 1, 3, 0};
    for (int i = 0; i < 5; i++) assert_int_equal(idx[i], want[i]);
    assert_int_equal(rdi_gorder_dedup(&g, cols, idx, 5), 4);
    assert_int_equal(idx[0], 4);

    rdi_range mbr[2];
    assert_int_equal(rdi_mbr_compute(&g, cols, 0, 5, mbr), RADI_OK);
    assert_int_equal(mbr[0].slo_len, 2);
    assert_memory_equal(mbr[0].slo, "s1", 2);
    assert_memory_equal(mbr[0].shi, "s2", 2);
    assert_memory_equal(mbr[1].slo, "a", 1);
    assert_memory_equal(mbr[1].shi, "z", 1);
    rdi_mbr_clear(&g, mbr);
    free_schema(s);
}

static void test_int_tiles(void **state)
{
    (void)state;
    radi_schema *s = new_schema();
    int32_t lo = -10, hi = 89, ext = 10;
    add_dim(s, RADI_INT32, &lo, &hi, &ext);
    add_dim(s, RADI_INT32, &lo, &hi, &ext);
    rdi_gorder g;
    assert_int_equal(rdi_gorder_init(s, &g), RADI_OK);
    /* (x,y): tiles of 10 from -10. (-1, 50) is in tile (0,6); (0, 0) in tile (1,1). */
    int32_t xs[] = {0, -1, -10, 5, 0};
    int32_t ys[] = {0, 50, 60, -10, -1};
    rdi_scol cols[2];
    memset(cols, 0, sizeof cols);
    cols[0].data = (const uint8_t *)xs;
    cols[0].cell_size = 4;
    cols[0].n = 5;
    cols[1].data = (const uint8_t *)ys;
    cols[1].cell_size = 4;
    cols[1].n = 5;
    uint64_t idx[5] = {0, 1, 2, 3, 4};
    assert_int_equal(rdi_gorder_sort(&g, cols, idx, 5), RADI_OK);
    /* Tiles (tx,ty): #0 (1,1) #1 (0,6) #2 (0,7) #3 (1,0) #4 (1,0); row-major tiles. */
    const uint64_t want[] = {1, 2, 4, 3, 0};
    for (int i = 0; i < 5; i++) assert_int_equal(idx[i], want[i]);
    /* Within tile (1,0) row-major cells compare x first: #4 (0,-1) before #3 (5,-10). */
    s->tile_order = s->cell_order = RADI_COL_MAJOR;
    assert_int_equal(rdi_gorder_init(s, &g), RADI_OK);
    for (int i = 0; i < 5; i++) idx[i] = (uint64_t)i;
    assert_int_equal(rdi_gorder_sort(&g, cols, idx, 5), RADI_OK);
    /* Col-major tiles: ty first: (1,0)->#3,#4 ; (1,1)->#0 ; (0,6)->#1 ; (0,7)->#2.
     * Within tile (1,0) col-major cells: y first: #3 (y=-10) then #4 (y=-1). */
    const uint64_t want2[] = {3, 4, 0, 1, 2};
    for (int i = 0; i < 5; i++) assert_int_equal(idx[i], want2[i]);
    free_schema(s);
}

/* Leaves: MBR k covers strings "k%04d" .. "k%04d~" and ints [10k, 10k+9]. */
static rdi_range *make_leaves(uint64_t n)
{
    rdi_range *l = calloc(n * 2 + 1, sizeof *l);
    for (uint64_t k = 0; k < n; k++) {
        char buf[32];
        int len = snprintf(buf, sizeof buf, "k%04llu", (unsigned long long)k);
        l[2 * k].slo = strdup(buf);
        l[2 * k].slo_len = (uint64_t)len;
        buf[len] = '~';
        buf[len + 1] = 0;
        l[2 * k].shi = strdup(buf);
        l[2 * k].shi_len = (uint64_t)len + 1;
        int64_t a = (int64_t)k * 10, b = a + 9;
        memcpy(l[2 * k + 1].lo, &a, 8);
        memcpy(l[2 * k + 1].hi, &b, 8);
    }
    return l;
}

static radi_schema *mixed_schema(void)
{
    radi_schema *s = new_schema();
    int64_t lo = 0, hi = 1000000, ext = 1000;
    add_dim(s, RADI_STRING_ASCII, NULL, NULL, NULL);
    add_dim(s, RADI_INT64, &lo, &hi, &ext);
    return s;
}

static void check_query(const rdi_gorder *g, const rdi_rtree *t, const rdi_range *leaves,
                        uint64_t n, const rdi_qdim *q)
{
    uint64_t *tiles, nt;
    uint8_t *full;
    assert_int_equal(rdi_rtree_query(g, t, q, &tiles, &full, &nt), RADI_OK);
    uint64_t j = 0;
    for (uint64_t k = 0; k < n; k++) {
        int ov = rdi_mbr_query(g, &leaves[2 * k], q);
        if (!ov) continue;
        assert_true(j < nt);
        assert_int_equal(tiles[j], k);
        if (full[j]) assert_int_equal(ov, 2);
        j++;
    }
    assert_int_equal(j, nt);
    free(tiles);
    free(full);
}

static void test_rtree_roundtrip_and_query(void **state)
{
    (void)state;
    radi_schema *s = mixed_schema();
    rdi_gorder g;
    assert_int_equal(rdi_gorder_init(s, &g), RADI_OK);
    const uint64_t sizes[] = {0, 1, 2, 10, 11, 100, 101, 1234};
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        uint64_t n = sizes[si];
        rdi_range *leaves = make_leaves(n);
        rdi_rtree t;
        assert_int_equal(rdi_rtree_build(&g, leaves, n, RDI_RTREE_FANOUT, &t), RADI_OK);
        if (n) assert_int_equal(t.nmbr[0], 1);
        rdi_buf b = RDI_BUF_INIT;
        assert_int_equal(rdi_rtree_serialize(&g, &t, &b), RADI_OK);
        rdi_rtree p;
        assert_int_equal(rdi_rtree_parse(&g, b.data, b.len, "unit", n, &p), RADI_OK);
        assert_int_equal(p.nlevels, t.nlevels);
        assert_int_equal(rdi_rtree_leaves(&p), n);
        if (n > 1) {
            assert_int_equal(p.mbr[0][0].slo_len, 5);
            assert_memory_equal(p.mbr[0][0].slo, "k0000", 5);
        }
        /* Queries: a point, a string range, an int range, both, and several ranges. */
        rdi_qrange r1 = {0, 0, (const uint8_t *)"k0005", (const uint8_t *)"k0005", 5, 5};
        rdi_qrange r2 = {0, 0, (const uint8_t *)"k0009", (const uint8_t *)"k0031", 5, 5};
        uint64_t bias = (uint64_t)1 << 63;
        rdi_qrange r3 = {bias + 95, bias + 250, NULL, NULL, 0, 0};
        rdi_qrange r4[2] = {{0, 0, (const uint8_t *)"a", (const uint8_t *)"k0000~", 1, 6},
                            {0, 0, (const uint8_t *)"k1200", (const uint8_t *)"z", 5, 1}};
        rdi_qdim q[2] = {{1, &r1}, {0, NULL}};
        check_query(&g, &p, leaves, n, q);
        q[0].r = &r2;
        check_query(&g, &p, leaves, n, q);
        q[0].n = 0;
        q[1].n = 1;
        q[1].r = &r3;
        check_query(&g, &p, leaves, n, q);
        q[0].n = 1;
        check_query(&g, &p, leaves, n, q);
        q[0].n = 2;
        q[0].r = r4;
        q[1].n = 0;
        check_query(&g, &p, leaves, n, q);

        /* Corruptions: a flattened tree (several roots), truncation, a wrong leaf count. */
        if (n > 1) {
            rdi_rtree tmp;
            assert_int_equal(rdi_rtree_parse(&g, b.data, b.len - 1, "unit", n, &tmp), RADI_E_CORRUPT);
            assert_int_equal(rdi_rtree_parse(&g, b.data, b.len, "unit", n + 1, &tmp), RADI_E_CORRUPT);
            assert_non_null(strstr(radi_errmsg(), "leaves"));
            rdi_rtree flat;
            rdi_rtree_build(&g, leaves, n, RDI_RTREE_FANOUT, &flat);
            rdi_buf fb = RDI_BUF_INIT;
            rdi_buf_put_u32(&fb, 10);
            rdi_buf_put_u32(&fb, 1);
            rdi_buf_put_u64(&fb, n);
            rdi_rtree leaf_only = flat;
            leaf_only.nlevels = 1;
            leaf_only.nmbr = &flat.nmbr[flat.nlevels - 1];
            leaf_only.mbr = &flat.mbr[flat.nlevels - 1];
            rdi_buf lb = RDI_BUF_INIT;
            assert_int_equal(rdi_rtree_serialize(&g, &leaf_only, &lb), RADI_OK);
            rdi_rtree bad;
            assert_int_equal(rdi_rtree_parse(&g, lb.data, lb.len, "unit", n, &bad), RADI_E_CORRUPT);
            assert_non_null(strstr(radi_errmsg(), "root"));
            rdi_buf_free(&lb);
            rdi_buf_free(&fb);
            rdi_rtree_free(&flat);
            /* A parent that does not contain its child. */
            if (n >= 11) {
                rdi_rtree t2;
                rdi_rtree_build(&g, leaves, n, RDI_RTREE_FANOUT, &t2);
                int64_t big = 99999999;
                memcpy(t2.mbr[t2.nlevels - 1][2 * 3 + 1].hi, &big, 8);
                rdi_buf b2 = RDI_BUF_INIT;
                rdi_rtree_serialize(&g, &t2, &b2);
                assert_int_equal(rdi_rtree_parse(&g, b2.data, b2.len, "unit", n, &bad), RADI_E_CORRUPT);
                assert_non_null(strstr(radi_errmsg(), "parent"));
                rdi_buf_free(&b2);
                rdi_rtree_free(&t2);
            }
        }
        rdi_rtree_free(&p);
        rdi_rtree_free(&t);
        rdi_buf_free(&b);
        for (uint64_t k = 0; k < n; k++) {
            free(leaves[2 * k].slo);
            free(leaves[2 * k].shi);
        }
        free(leaves);
    }
    free_schema(s);
}

static void test_rtree_garbage(void **state)
{
    (void)state;
    radi_schema *s = mixed_schema();
    rdi_gorder g;
    assert_int_equal(rdi_gorder_init(s, &g), RADI_OK);
    /* Random bytes must fail cleanly (or parse), never crash or over-allocate. */
    uint8_t buf[256];
    uint32_t seed = 12345;
    for (int iter = 0; iter < 2000; iter++) {
        size_t len = (size_t)(seed % sizeof buf);
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (uint8_t)(seed >> 16);
        }
        if (len >= 8) {
            rdi_st32(buf, 10);
            rdi_st32(buf + 4, 1 + (seed % 3));
        }
        rdi_rtree t;
        if (rdi_rtree_parse(&g, buf, len, "garbage", UINT64_MAX, &t) == RADI_OK) rdi_rtree_free(&t);
        seed = seed * 1103515245u + 12345u;
    }
    free_schema(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string_order),
        cmocka_unit_test(test_two_string_dims),
        cmocka_unit_test(test_int_tiles),
        cmocka_unit_test(test_rtree_roundtrip_and_query),
        cmocka_unit_test(test_rtree_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
