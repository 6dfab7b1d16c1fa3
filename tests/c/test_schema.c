/*
 * Schemas and generic tiles against real TileDB 2.30 files (tests/c/data/tdb, made by
 * gen_golden.py): parse, re-serialize byte for byte, build the same schema through the
 * public API, and refuse truncated, garbled and unsupported input cleanly.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "tdb/tdb.h"

#define GOLDEN RADI_TEST_DATA "/tdb/"

static rdi_vfs *g_vfs;
static rdi_scratch *g_scratch;

static int setup(void **state)
{
    (void)state;
    if (rdi_vfs_create(&g_vfs) != RADI_OK) return -1;
    return rdi_scratch_create(&g_scratch) == RADI_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    rdi_scratch_free(g_scratch);
    rdi_vfs_free(g_vfs);
    return 0;
}

static void load_payload(const char *file, rdi_buf *payload)
{
    radi_status s = rdi_generic_tile_read(g_vfs, file, 0, g_scratch, payload);
    if (s != RADI_OK) fail_msg("%s: %s", file, radi_errmsg());
}

static radi_schema *load_golden(const char *name, rdi_buf *payload)
{
    char path[512];
    snprintf(path, sizeof path, GOLDEN "%s", name);
    load_payload(path, payload);
    radi_schema *s = NULL;
    radi_status st = rdi_schema_deserialize(payload->data, payload->len, path, &s);
    if (st != RADI_OK) fail_msg("%s: %s", path, radi_errmsg());
    return s;
}

static int32_t i32(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }
static int64_t i64(const uint8_t *p) { int64_t v; memcpy(&v, p, 8); return v; }

static void test_golden_dense3d(void **state)
{
    (void)state;
    rdi_buf p = RDI_BUF_INIT;
    radi_schema *s = load_golden("schema_dense3d.tdb", &p);
    assert_int_equal(s->version, 22);
    assert_int_equal(s->type, RADI_DENSE);
    assert_int_equal(s->tile_order, RADI_ROW_MAJOR);
    assert_int_equal(s->cell_order, RADI_ROW_MAJOR);
    assert_int_equal(s->capacity, 10000);
    assert_false(s->allows_dups);
    assert_int_equal(s->coords_filters.count, 1);
    assert_int_equal(s->coords_filters.filters[0].type, RADI_FILTER_ZSTD);
    assert_int_equal(s->coords_filters.filters[0].level, -1);
    assert_int_equal(s->validity_filters.filters[0].type, RADI_FILTER_RLE);
    assert_int_equal(s->ndim, 3);
    const char *names[] = {"x", "y", "z"};
    const int32_t hi[] = {239, 239, 154}, ext[] = {240, 240, 1};
    for (int d = 0; d < 3; d++) {
        assert_string_equal(s->dims[d].name, names[d]);
        assert_int_equal(s->dims[d].type, RADI_INT32);
        assert_int_equal(i32(s->dims[d].lo), 0);
        assert_int_equal(i32(s->dims[d].hi), hi[d]);
        assert_true(s->dims[d].has_extent);
        assert_int_equal(i32(s->dims[d].extent), ext[d]);
        assert_int_equal(rdi_dim_extent(&s->dims[d]), ext[d]);
        assert_int_equal(s->dims[d].filters.count, 0);
        assert_ptr_equal(rdi_dim_filters(s, (uint32_t)d), &s->coords_filters);
    }
    assert_int_equal(s->nattr, 1);
    const rdi_attr *a = &s->attrs[0];
    assert_string_equal(a->name, "voxels");
    assert_int_equal(a->type, RADI_FLOAT32);
    assert_int_equal(a->cell_val_num, 1);
    assert_int_equal(rdi_attr_cell_size(a), 4);
    assert_int_equal(a->filters.count, 2);
    assert_int_equal(a->filters.filters[0].type, RADI_FILTER_BYTESHUFFLE);
    assert_int_equal(a->filters.filters[1].type, RADI_FILTER_ZSTD);
    assert_int_equal(a->filters.filters[1].level, 3);
    assert_int_equal(a->fill_size, 4);
    float f;
    memcpy(&f, a->fill, 4);
    assert_true(isnan(f));
    assert_false(a->nullable);
    radi_schema_free(s);
    rdi_buf_free(&p);
}

static void test_golden_dense4d(void **state)
{
    (void)state;
    rdi_buf p = RDI_BUF_INIT;
    radi_schema *s = load_golden("schema_dense4d.tdb", &p);
    assert_int_equal(s->tile_order, RADI_COL_MAJOR);
    assert_int_equal(s->cell_order, RADI_COL_MAJOR);
    assert_int_equal(s->ndim, 4);
    assert_int_equal(s->dims[1].type, RADI_INT64);
    assert_int_equal(i64(s->dims[1].lo), -4);
    assert_int_equal(i64(s->dims[1].hi), 5);
    assert_int_equal(rdi_dim_lo(&s->dims[1]), -4);
    assert_int_equal(rdi_dim_extent(&s->dims[1]), 2);
    assert_string_equal(s->dims[3].name, "t");
    assert_int_equal(s->dims[3].filters.count, 1);
    assert_int_equal(s->dims[3].filters.filters[0].type, RADI_FILTER_GZIP);
    assert_int_equal(s->dims[3].filters.filters[0].level, 9);
    assert_ptr_equal(rdi_dim_filters(s, 3), &s->dims[3].filters);
    assert_int_equal(s->nattr, 3);
    const rdi_attr *v = &s->attrs[0];
    assert_int_equal(v->type, RADI_UINT16);
    assert_int_equal(v->fill_size, 2);
    assert_int_equal(v->fill[0], 7);
    assert_int_equal(v->filters.filters[0].type, RADI_FILTER_DELTA);
    assert_int_equal(v->filters.filters[0].reinterpret, RADI_ANY);
    assert_int_equal(v->filters.filters[1].type, RADI_FILTER_GZIP);
    assert_int_equal(v->filters.filters[1].level, 1);
    assert_int_equal(s->attrs[1].type, RADI_BOOL);
    assert_int_equal(s->attrs[1].fill[0], 0);
    assert_int_equal(s->attrs[2].filters.filters[0].type, RADI_FILTER_BITSHUFFLE);
    assert_int_equal(s->attrs[2].filters.filters[1].type, RADI_FILTER_LZ4);
    radi_schema_free(s);
    rdi_buf_free(&p);
}

static void test_golden_sparse(void **state)
{
    (void)state;
    rdi_buf p = RDI_BUF_INIT;
    radi_schema *s = load_golden("schema_sparse.tdb", &p);
    assert_int_equal(s->type, RADI_SPARSE);
    assert_true(s->allows_dups);
    assert_int_equal(s->capacity, 500);
    assert_string_equal(s->dims[0].name, "id");
    assert_int_equal(s->dims[0].type, RADI_STRING_ASCII);
    assert_int_equal(s->dims[0].cell_val_num, RADI_VAR_NUM);
    assert_false(s->dims[0].has_domain);
    assert_false(s->dims[0].has_extent);
    assert_int_equal(i64(s->dims[1].hi), 1000);
    assert_int_equal(i64(s->dims[1].extent), 100);
    const rdi_attr *name = &s->attrs[0], *age = &s->attrs[1];
    assert_int_equal(name->type, RADI_STRING_UTF8);
    assert_int_equal(name->cell_val_num, RADI_VAR_NUM);
    assert_true(name->nullable);
    assert_int_equal(name->fill_size, 1);
    assert_int_equal(name->fill[0], 0);
    assert_true(age->nullable);
    assert_true(i64(age->fill) == INT64_MIN);
    assert_int_equal(s->attrs[2].type, RADI_FLOAT64);
    radi_schema_free(s);
    rdi_buf_free(&p);
}

/* Re-serializing what TileDB wrote gives back TileDB's exact bytes. */
static void test_roundtrip_bytes(void **state)
{
    (void)state;
    const char *files[] = {"schema_dense3d.tdb", "schema_dense4d.tdb", "schema_sparse.tdb"};
    for (int i = 0; i < 3; i++) {
        rdi_buf p = RDI_BUF_INIT, out = RDI_BUF_INIT;
        radi_schema *s = load_golden(files[i], &p);
        if (rdi_schema_serialize(s, 22, &out) != RADI_OK) fail_msg("%s: %s", files[i], radi_errmsg());
        assert_int_equal(out.len, p.len);
        assert_memory_equal(out.data, p.data, p.len);
        /* v21 and v20 drop only the 5-byte current-domain trailer. */
        for (uint32_t v = 20; v <= 21; v++) {
            rdi_buf o2 = RDI_BUF_INIT;
            assert_int_equal(rdi_schema_serialize(s, v, &o2), RADI_OK);
            assert_int_equal(o2.len, p.len - 5);
            assert_int_equal(rdi_ld32(o2.data), v);
            assert_memory_equal(o2.data + 4, p.data + 4, o2.len - 4);
            radi_schema *back = NULL;
            assert_int_equal(rdi_schema_deserialize(o2.data, o2.len, "v2x", &back), RADI_OK);
            assert_int_equal(back->version, v);
            rdi_buf o3 = RDI_BUF_INIT;
            assert_int_equal(rdi_schema_serialize(back, v, &o3), RADI_OK);
            assert_int_equal(o3.len, o2.len);
            assert_memory_equal(o3.data, o2.data, o2.len);
            rdi_buf_free(&o3);
            radi_schema_free(back);
            rdi_buf_free(&o2);
        }
        radi_schema *c = NULL;
        assert_int_equal(rdi_schema_clone(s, &c), RADI_OK);
        radi_schema_free(s);
        rdi_buf o4 = RDI_BUF_INIT;
        assert_int_equal(rdi_schema_serialize(c, 22, &o4), RADI_OK);
        assert_memory_equal(o4.data, p.data, p.len);
        rdi_buf_free(&o4);
        radi_schema_free(c);
        rdi_buf_free(&out);
        rdi_buf_free(&p);
    }
    rdi_buf o = RDI_BUF_INIT;
    radi_schema *s = NULL;
    assert_int_equal(radi_schema_create(RADI_DENSE, &s), RADI_OK);
    int32_t lo = 0, hi = 9, ext = 5;
    assert_int_equal(radi_schema_add_dim(s, "x", RADI_INT32, &lo, &hi, &ext, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_attr(s, "a", RADI_UINT8, 1, 0, NULL, NULL, 0), RADI_OK);
    assert_int_equal(rdi_schema_serialize(s, 19, &o), RADI_E_INVALID);
    assert_int_equal(rdi_schema_serialize(s, 23, &o), RADI_E_INVALID);
    radi_schema_free(s);
    rdi_buf_free(&o);
}

/* The public API with TileDB-Py's choices reproduces TileDB-Py's schema bytes. */
static void test_build_matches_tiledb(void **state)
{
    (void)state;
    rdi_buf p = RDI_BUF_INIT, out = RDI_BUF_INIT;
    load_payload(GOLDEN "schema_dense3d.tdb", &p);
    radi_schema *s = NULL;
    assert_int_equal(radi_schema_create(RADI_DENSE, &s), RADI_OK);
    int32_t lo = 0, hi = 239, ext = 240, zhi = 154, zext = 1;
    assert_int_equal(radi_schema_add_dim(s, "x", RADI_INT32, &lo, &hi, &ext, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_dim(s, "y", RADI_INT32, &lo, &hi, &ext, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_dim(s, "z", RADI_INT32, &lo, &zhi, &zext, NULL), RADI_OK);
    radi_filter_list fl;
    radi_filter_list_init(&fl);
    assert_int_equal(radi_filter_list_add(&fl, RADI_FILTER_BYTESHUFFLE, -1), RADI_OK);
    assert_int_equal(radi_filter_list_add(&fl, RADI_FILTER_ZSTD, 3), RADI_OK);
    assert_int_equal(radi_schema_add_attr(s, "voxels", RADI_FLOAT32, 1, 0, &fl, NULL, 0), RADI_OK);
    assert_int_equal(rdi_schema_serialize(s, 22, &out), RADI_OK);
    assert_int_equal(out.len, p.len);
    assert_memory_equal(out.data, p.data, p.len);

    radi_schema_info info;
    assert_int_equal(radi_schema_get_info(s, &info), RADI_OK);
    assert_int_equal(info.ndim, 3);
    assert_int_equal(info.nattr, 1);
    assert_int_equal(info.capacity, 10000);
    radi_dim_info di;
    assert_int_equal(radi_schema_get_dim(s, 2, &di), RADI_OK);
    assert_string_equal(di.name, "z");
    assert_int_equal(i32(di.hi), 154);
    assert_int_equal(radi_schema_get_dim(s, 3, &di), RADI_E_NOT_FOUND);
    radi_attr_info ai;
    assert_int_equal(radi_schema_get_attr(s, 0, &ai), RADI_OK);
    assert_string_equal(ai.name, "voxels");
    assert_int_equal(ai.filters.count, 2);
    uint32_t idx = 9;
    assert_int_equal(radi_schema_attr_index(s, "voxels", &idx), RADI_OK);
    assert_int_equal(idx, 0);
    assert_int_equal(radi_schema_attr_index(s, "nope", &idx), RADI_E_NOT_FOUND);
    radi_schema_free(s);
    rdi_buf_free(&p);
    rdi_buf_free(&out);
}

static void test_default_fills(void **state)
{
    (void)state;
    radi_schema *s = NULL;
    assert_int_equal(radi_schema_create(RADI_SPARSE, &s), RADI_OK);
    int64_t lo = 0, hi = 9;
    assert_int_equal(radi_schema_add_dim(s, "d", RADI_INT64, &lo, &hi, NULL, NULL), RADI_OK);
    struct {
        const char *name;
        radi_datatype t;
        uint32_t n;
        uint64_t size;
        uint8_t bytes[8];
    } cases[] = {
        {"i8", RADI_INT8, 1, 1, {0x80}},
        {"u8", RADI_UINT8, 1, 1, {0xff}},
        {"i16", RADI_INT16, 1, 2, {0x00, 0x80}},
        {"u32", RADI_UINT32, 1, 4, {0xff, 0xff, 0xff, 0xff}},
        {"i64", RADI_INT64, 1, 8, {0, 0, 0, 0, 0, 0, 0, 0x80}},
        {"f32", RADI_FLOAT32, 1, 4, {0, 0, 0xc0, 0x7f}},
        {"f64", RADI_FLOAT64, 1, 8, {0, 0, 0, 0, 0, 0, 0xf8, 0x7f}},
        {"c3", RADI_CHAR, 3, 3, {0x80, 0x80, 0x80}},
        {"cv", RADI_CHAR, RADI_VAR_NUM, 1, {0x80}},
        {"s", RADI_STRING_ASCII, RADI_VAR_NUM, 1, {0}},
        {"u", RADI_STRING_UTF8, RADI_VAR_NUM, 1, {0}},
        {"b", RADI_BOOL, 1, 1, {0}},
        {"vi", RADI_INT32, RADI_VAR_NUM, 4, {0, 0, 0, 0x80}},
        {"blob", RADI_BLOB, 2, 2, {0, 0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(radi_schema_add_attr(s, cases[i].name, cases[i].t, cases[i].n, 0, NULL, NULL, 0),
                         RADI_OK);
        radi_attr_info ai;
        assert_int_equal(radi_schema_get_attr(s, (uint32_t)i, &ai), RADI_OK);
        assert_int_equal(ai.fill_size, cases[i].size);
        assert_memory_equal(ai.fill, cases[i].bytes, cases[i].size);
    }
    uint16_t fill = 7;
    assert_int_equal(radi_schema_add_attr(s, "f", RADI_UINT16, 1, 1, NULL, &fill, 2), RADI_OK);
    assert_int_equal(radi_schema_add_attr(s, "g", RADI_UINT16, 1, 1, NULL, &fill, 1), RADI_E_INVALID);
    assert_int_equal(rdi_schema_validate(s), RADI_OK);
    radi_schema_free(s);
}

static void test_validation(void **state)
{
    (void)state;
    radi_schema *s = NULL;
    assert_int_equal(radi_schema_create(RADI_DENSE, &s), RADI_OK);
    int32_t lo = 0, hi = 9, ext = 5, big = 11, zero = 0, neg = -1;
    float flo = 0, fhi = 1, fext = 0.5f;
    assert_int_equal(rdi_schema_validate(s), RADI_E_INVALID); /* no dimensions */
    assert_int_equal(radi_schema_add_dim(s, "__x", RADI_INT32, &lo, &hi, &ext, NULL), RADI_E_INVALID);
    assert_int_equal(radi_schema_add_dim(s, "", RADI_INT32, &lo, &hi, &ext, NULL), RADI_E_INVALID);
    assert_int_equal(radi_schema_add_dim(s, "x", RADI_INT32, &hi, &lo, &ext, NULL), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "'x'"));
    assert_int_equal(radi_schema_add_dim(s, "x", RADI_INT32, &lo, &hi, &big, NULL), RADI_E_INVALID);
    assert_int_equal(radi_schema_add_dim(s, "x", RADI_INT32, &lo, &hi, &zero, NULL), RADI_E_INVALID);
    assert_int_equal(radi_schema_add_dim(s, "x", RADI_INT32, &lo, &hi, &neg, NULL), RADI_E_INVALID);
    assert_int_equal(radi_schema_add_dim(s, "x", RADI_INT32, &lo, &hi, NULL, NULL), RADI_E_INVALID);
    assert_int_equal(radi_schema_add_dim(s, "f", RADI_FLOAT32, &flo, &fhi, &fext, NULL), RADI_E_INVALID);
    assert_int_equal(radi_schema_add_dim(s, "s", RADI_STRING_ASCII, NULL, NULL, NULL, NULL), RADI_E_INVALID);
    assert_int_equal(radi_schema_add_dim(s, "x", RADI_INT32, &lo, &hi, &ext, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_dim(s, "x", RADI_INT32, &lo, &hi, &ext, NULL), RADI_E_INVALID);
    assert_int_equal(rdi_schema_validate(s), RADI_E_INVALID); /* dense without attributes */
    assert_int_equal(radi_schema_add_attr(s, "x", RADI_UINT8, 1, 0, NULL, NULL, 0), RADI_E_INVALID);
    assert_int_equal(radi_schema_add_attr(s, "a", RADI_UINT8, 0, 0, NULL, NULL, 0), RADI_E_INVALID);
    assert_int_equal(radi_schema_add_attr(s, "a", RADI_ANY, 1, 0, NULL, NULL, 0), RADI_E_INVALID);
    assert_int_equal(radi_schema_add_attr(s, "a", RADI_UINT8, 1, 0, NULL, NULL, 0), RADI_OK);
    assert_int_equal(rdi_schema_validate(s), RADI_OK);
    assert_int_equal(radi_schema_set_allows_dups(s, 1), RADI_E_INVALID);
    assert_int_equal(radi_schema_set_capacity(s, 0), RADI_E_INVALID);
    assert_int_equal(radi_schema_set_order(s, RADI_GLOBAL_ORDER, RADI_ROW_MAJOR), RADI_E_INVALID);
    assert_int_equal(radi_schema_set_order(s, RADI_COL_MAJOR, RADI_COL_MAJOR), RADI_OK);
    radi_schema_free(s);

    /* Extents whose last tile runs past the type's range are refused (TileDB does too). */
    assert_int_equal(radi_schema_create(RADI_DENSE, &s), RADI_OK);
    uint8_t ulo = 0, uhi = 250, uext = 100, uext2 = 251;
    assert_int_equal(radi_schema_add_dim(s, "u", RADI_UINT8, &ulo, &uhi, &uext, NULL), RADI_E_INVALID);
    assert_int_equal(radi_schema_add_dim(s, "u", RADI_UINT8, &ulo, &uhi, &uext2, NULL), RADI_OK);
    int8_t slo = -128, shi = 127, sext = 100, sext2 = 64;
    assert_int_equal(radi_schema_add_dim(s, "v", RADI_INT8, &slo, &shi, &sext, NULL), RADI_E_INVALID);
    assert_int_equal(radi_schema_add_dim(s, "v", RADI_INT8, &slo, &shi, &sext2, NULL), RADI_OK);
    int64_t llo = INT64_MIN, lhi = INT64_MAX - 1, lext = 2;
    assert_int_equal(radi_schema_add_dim(s, "w", RADI_INT64, &llo, &lhi, &lext, NULL), RADI_OK);
    llo = INT64_MIN + 1;
    lhi = INT64_MAX - 2;
    lext = 4;
    assert_int_equal(radi_schema_add_dim(s, "w2", RADI_INT64, &llo, &lhi, &lext, NULL), RADI_E_INVALID);
    radi_schema_free(s);

    /* Sparse arrays take float and string dimensions and duplicates. */
    assert_int_equal(radi_schema_create(RADI_SPARSE, &s), RADI_OK);
    assert_int_equal(radi_schema_add_dim(s, "s", RADI_STRING_ASCII, NULL, NULL, NULL, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_dim(s, "t", RADI_STRING_ASCII, &lo, NULL, NULL, NULL), RADI_E_INVALID);
    assert_int_equal(radi_schema_add_dim(s, "f", RADI_FLOAT32, &flo, &fhi, &fext, NULL), RADI_OK);
    assert_int_equal(radi_schema_set_allows_dups(s, 1), RADI_OK);
    assert_int_equal(rdi_schema_validate(s), RADI_OK); /* sparse needs no attribute */
    radi_schema_free(s);
    assert_int_equal(radi_schema_create((radi_array_type)5, &s), RADI_E_INVALID);
}

static void check_refused(const uint8_t *p, size_t len, const char *what)
{
    radi_schema *s = NULL;
    radi_status st = rdi_schema_deserialize(p, len, what, &s);
    if (st == RADI_OK) {
        radi_schema_free(s);
        return; /* a garbled byte may still describe a valid schema */
    }
    assert_non_null(strstr(radi_errmsg(), what));
}

static void test_truncated_and_garbled(void **state)
{
    (void)state;
    const char *files[] = {"schema_dense3d.tdb", "schema_dense4d.tdb", "schema_sparse.tdb"};
    for (int i = 0; i < 3; i++) {
        rdi_buf p = RDI_BUF_INIT;
        radi_schema *s = load_golden(files[i], &p);
        radi_schema_free(s);
        /* Every proper prefix must fail, naming the file. */
        for (size_t n = 0; n < p.len; n++) {
            radi_status st = rdi_schema_deserialize(p.data, n, "trunc.tdb", &s);
            if (st == RADI_OK) fail_msg("%s: prefix of %zu/%zu bytes parsed", files[i], n, p.len);
            assert_non_null(strstr(radi_errmsg(), "trunc.tdb"));
        }
        /* Any single damaged byte: a clean status, never a crash (ASan checks the rest). */
        uint8_t *copy = malloc(p.len);
        for (size_t n = 0; n < p.len; n++) {
            static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
            for (size_t k = 0; k < sizeof vals; k++) {
                memcpy(copy, p.data, p.len);
                copy[n] = vals[k];
                check_refused(copy, p.len, "garbled.tdb");
            }
        }
        free(copy);
        rdi_buf_free(&p);
    }
}

static void test_versions_refused(void **state)
{
    (void)state;
    rdi_buf p = RDI_BUF_INIT;
    radi_schema *s = load_golden("schema_dense3d.tdb", &p);
    radi_schema_free(s);
    const uint32_t bad[] = {23, 11, 5, 0xffffffffu};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rdi_st32(p.data, bad[i]);
        assert_int_equal(rdi_schema_deserialize(p.data, p.len, "/x/__schema/__1_1_ab", &s), RADI_E_UNSUPPORTED);
        char num[16];
        snprintf(num, sizeof num, "%u", bad[i]);
        assert_non_null(strstr(radi_errmsg(), num));
        assert_non_null(strstr(radi_errmsg(), "/x/__schema/__1_1_ab"));
    }
    /* Older supported versions parse: v12 has no labels/enums/current domain fields. */
    rdi_buf v = RDI_BUF_INIT;
    rdi_st32(p.data, 22);
    assert_int_equal(rdi_schema_deserialize(p.data, p.len, "ok", &s), RADI_OK);
    assert_int_equal(rdi_schema_serialize(s, 21, &v), RADI_OK);
    radi_schema_free(s);
    /* Older layouts parse too: v19 lacks the attribute's enumeration name and the enum
     * count (v20+), v17 also the label count (v18+), v12..v16 also the attribute order. */
    static const struct { uint32_t v; size_t cut; int labels; } older[] = {
        {19, 12, 1}, {18, 12, 1}, {17, 12, 0}, {16, 13, 0}, {12, 13, 0}};
    for (size_t i = 0; i < sizeof older / sizeof *older; i++) {
        rdi_buf o = RDI_BUF_INIT;
        assert_int_equal(rdi_buf_append(&o, v.data, v.len - older[i].cut), RADI_OK);
        if (older[i].labels) assert_int_equal(rdi_buf_put_u32(&o, 0), RADI_OK);
        rdi_st32(o.data, older[i].v);
        if (rdi_schema_deserialize(o.data, o.len, "old", &s) != RADI_OK)
            fail_msg("v%u: %s", older[i].v, radi_errmsg());
        assert_int_equal(s->version, older[i].v);
        assert_string_equal(s->attrs[0].name, "voxels");
        assert_int_equal(s->attrs[0].filters.filters[1].level, 3);
        radi_schema_free(s);
        rdi_buf_free(&o);
    }
    /* Enumerations are refused by name. */
    rdi_st32(v.data, 21);
    rdi_st32(v.data + v.len - 4, 1);
    assert_int_equal(rdi_schema_deserialize(v.data, v.len, "enums.tdb", &s), RADI_E_UNSUPPORTED);
    assert_non_null(strstr(radi_errmsg(), "enumeration"));
    rdi_buf_free(&v);
    rdi_buf_free(&p);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len) assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void test_generic_tile(void **state)
{
    (void)state;
    /* TileDB's header and pipeline, byte for byte. */
    rdi_buf raw = RDI_BUF_INIT, p = RDI_BUF_INIT, enc = RDI_BUF_INIT, dec = RDI_BUF_INIT;
    assert_int_equal(rdi_vfs_read_all(g_vfs, GOLDEN "schema_dense3d.tdb", &raw), RADI_OK);
    load_payload(GOLDEN "schema_dense3d.tdb", &p);
    assert_int_equal(rdi_generic_tile_encode(p.data, p.len, 22, g_scratch, &enc), RADI_OK);
    static const uint8_t gzip1[] = {0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
                                    0x05, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00};
    assert_int_equal(rdi_ld32(enc.data), 22);
    assert_int_equal(rdi_ld64(enc.data + 12), p.len);
    assert_int_equal(enc.data[20], RADI_CHAR);
    assert_int_equal(rdi_ld64(enc.data + 21), 1);
    assert_int_equal(enc.data[29], 0);
    assert_int_equal(rdi_ld32(enc.data + 30), sizeof gzip1);
    assert_memory_equal(enc.data + 34, gzip1, sizeof gzip1);
    assert_memory_equal(raw.data + 34, gzip1, sizeof gzip1);
    assert_int_equal(rdi_ld64(enc.data + 4), enc.len - 34 - sizeof gzip1);
    /* zlib level 1 makes the same deflate stream as TileDB's: the whole file is identical. */
    assert_int_equal(enc.len, raw.len);
    assert_memory_equal(enc.data, raw.data, raw.len);
    rdi_rd r;
    rdi_rd_init(&r, enc.data, enc.len, "enc");
    assert_int_equal(rdi_generic_tile_decode(&r, g_scratch, &dec), RADI_OK);
    assert_int_equal(r.pos, enc.len);
    assert_int_equal(dec.len, p.len);
    assert_memory_equal(dec.data, p.data, p.len);

    /* Two tiles back to back decode in sequence; an empty payload works. */
    rdi_buf two = RDI_BUF_INIT;
    assert_int_equal(rdi_generic_tile_encode("", 0, 21, g_scratch, &two), RADI_OK);
    size_t first = two.len;
    assert_int_equal(rdi_generic_tile_encode("hello", 5, 21, g_scratch, &two), RADI_OK);
    rdi_rd_init(&r, two.data, two.len, "two");
    assert_int_equal(rdi_generic_tile_decode(&r, g_scratch, &dec), RADI_OK);
    assert_int_equal(dec.len, 0);
    assert_int_equal(r.pos, first);
    assert_int_equal(rdi_generic_tile_decode(&r, g_scratch, &dec), RADI_OK);
    assert_int_equal(dec.len, 5);
    assert_memory_equal(dec.data, "hello", 5);
    rdi_buf_free(&two);

    /* Files: truncated anywhere, implausible sizes, encryption -> clean errors naming the file. */
    char dir[] = "/tmp/radi_gt_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/tile", dir);
    for (size_t n = 0; n < raw.len; n++) {
        write_file(path, raw.data, n);
        radi_status st = rdi_generic_tile_read(g_vfs, path, 0, g_scratch, &dec);
        if (st == RADI_OK) fail_msg("prefix of %zu bytes decoded", n);
        assert_non_null(strstr(radi_errmsg(), path));
        if (n < 34) assert_non_null(strstr(radi_errmsg(), "header"));
    }
    rdi_buf bad = RDI_BUF_INIT;
    assert_int_equal(rdi_buf_append(&bad, raw.data, raw.len), RADI_OK);
    rdi_st64(bad.data + 12, (uint64_t)1 << 60); /* tile_size */
    write_file(path, bad.data, bad.len);
    assert_int_equal(rdi_generic_tile_read(g_vfs, path, 0, g_scratch, &dec), RADI_E_CORRUPT);
    assert_non_null(strstr(radi_errmsg(), path));
    memcpy(bad.data, raw.data, raw.len);
    rdi_st64(bad.data + 12, rdi_ld64(raw.data + 12) + 1); /* off by one: chunk sizes disagree */
    write_file(path, bad.data, bad.len);
    assert_int_not_equal(rdi_generic_tile_read(g_vfs, path, 0, g_scratch, &dec), RADI_OK);
    assert_non_null(strstr(radi_errmsg(), path));
    memcpy(bad.data, raw.data, raw.len);
    bad.data[29] = 1; /* AES */
    write_file(path, bad.data, bad.len);
    assert_int_equal(rdi_generic_tile_read(g_vfs, path, 0, g_scratch, &dec), RADI_E_UNSUPPORTED);
    memcpy(bad.data, raw.data, raw.len);
    rdi_st64(bad.data + 4, UINT64_MAX - 3); /* persisted size */
    write_file(path, bad.data, bad.len);
    assert_int_equal(rdi_generic_tile_read(g_vfs, path, 0, g_scratch, &dec), RADI_E_CORRUPT);
    memcpy(bad.data, raw.data, raw.len);
    bad.data[34 + 8] = 0x63; /* unknown filter type 99 */
    write_file(path, bad.data, bad.len);
    assert_int_not_equal(rdi_generic_tile_read(g_vfs, path, 0, g_scratch, &dec), RADI_OK);
    /* Garbage anywhere in the file never crashes. */
    for (size_t n = 0; n < raw.len; n++) {
        memcpy(bad.data, raw.data, raw.len);
        bad.data[n] ^= 0x5a;
        rdi_rd_init(&r, bad.data, bad.len, "garbled");
        (void)rdi_generic_tile_decode(&r, g_scratch, &dec);
    }
    assert_int_equal(rdi_generic_tile_read(g_vfs, "/nonexistent/radi/tile", 0, g_scratch, &dec),
                     RADI_E_NOT_FOUND);
    unlink(path);
    rmdir(dir);
    rdi_buf_free(&bad);
    rdi_buf_free(&raw);
    rdi_buf_free(&p);
    rdi_buf_free(&enc);
    rdi_buf_free(&dec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_dense3d),
        cmocka_unit_test(test_golden_dense4d),
        cmocka_unit_test(test_golden_sparse),
        cmocka_unit_test(test_roundtrip_bytes),
        cmocka_unit_test(test_build_matches_tiledb),
        cmocka_unit_test(test_default_fills),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_truncated_and_garbled),
        cmocka_unit_test(test_versions_refused),
        cmocka_unit_test(test_generic_tile),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
