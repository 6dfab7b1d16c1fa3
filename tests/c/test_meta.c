/*
 * Array/group metadata (format.md §11): TileDB-Py's files read as TileDB-Py reads them (values,
 * deletions, time travel), our files in TileDB's record layout, .vac handling, and
 * damaged files refused cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tdb/tdb.h"

#define GOLDEN RADI_TEST_DATA "/tdb/"

#include "ctx_fixture.h"

static void expect_i64(const radi_meta *m, const char *key, int64_t want)
{
    radi_datatype t;
    uint32_t n;
    const void *v;
    if (radi_meta_get(m, key, &t, &n, &v) != RADI_OK) fail_msg("%s: %s", key, radi_errmsg());
    assert_int_equal(t, RADI_INT64);
    assert_int_equal(n, 1);
    int64_t got;
    memcpy(&got, v, 8);
    assert_true(got == want);
}

static void expect_str(const radi_meta *m, const char *key, const char *want)
{
    radi_datatype t;
    uint32_t n;
    const void *v;
    if (radi_meta_get(m, key, &t, &n, &v) != RADI_OK) fail_msg("%s: %s", key, radi_errmsg());
    assert_int_equal(t, RADI_STRING_UTF8);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(v, want, n);
}

static void expect_f64s(const radi_meta *m, const char *key, const double *want, uint32_t count)
{
    radi_datatype t;
    uint32_t n;
    const void *v;
    if (radi_meta_get(m, key, &t, &n, &v) != RADI_OK) fail_msg("%s: %s", key, radi_errmsg());
    assert_int_equal(t, RADI_FLOAT64);
    assert_int_equal(n, count);
    assert_memory_equal(v, want, count * sizeof(double));
}

static void test_golden_array_meta(void **state)
{
    (void)state;
    radi_meta m;
    /* Latest: TileDB-Py's {count: -7, pi: 3.25, spacing: (0.5, 0.5, 2.0), tile_orientation: axial}. */
    assert_int_equal(rdi_meta_load(g_ctx, GOLDEN "meta_array", 0, rdi_now_ms(), 22, &m), RADI_OK);
    assert_int_equal(radi_meta_count(&m), 4);
    expect_i64(&m, "count", -7);
    double pi = 3.25, sp[3] = {0.5, 0.5, 2.0};
    expect_f64s(&m, "pi", &pi, 1);
    expect_f64s(&m, "spacing", sp, 3);
    expect_str(&m, "tile_orientation", "axial");
    assert_int_equal(radi_meta_get(&m, "gone", NULL, NULL, NULL), RADI_E_NOT_FOUND);
    assert_int_equal(radi_meta_get(&m, "__np_flat_count", NULL, NULL, NULL), RADI_E_NOT_FOUND);
    /* radi_meta_at walks keys in byte order. */
    const char *k;
    const char *order[] = {"count", "pi", "spacing", "tile_orientation"};
    for (uint64_t i = 0; i < 4; i++) {
        assert_int_equal(radi_meta_at(&m, i, &k, NULL, NULL, NULL), RADI_OK);
        assert_string_equal(k, order[i]);
    }
    assert_int_equal(radi_meta_at(&m, 4, &k, NULL, NULL, NULL), RADI_E_NOT_FOUND);
    assert_int_equal(m.last_t, 2000);
    rdi_meta_clear(&m);

    /* timestamp=(0, 1500): the first file only. */
    assert_int_equal(rdi_meta_load(g_ctx, GOLDEN "meta_array", 0, 1500, 22, &m), RADI_OK);
    assert_int_equal(radi_meta_count(&m), 4);
    expect_i64(&m, "count", 42);
    expect_i64(&m, "gone", 1);
    assert_int_equal(radi_meta_get(&m, "pi", NULL, NULL, NULL), RADI_E_NOT_FOUND);
    rdi_meta_clear(&m);

    /* (1500, now): only the second file; its deletions of absent keys are harmless. */
    assert_int_equal(rdi_meta_load(g_ctx, GOLDEN "meta_array", 1500, rdi_now_ms(), 22, &m), RADI_OK);
    assert_int_equal(radi_meta_count(&m), 2);
    expect_i64(&m, "count", -7);
    rdi_meta_clear(&m);

    /* Group metadata has the same format. */
    assert_int_equal(rdi_meta_load(g_ctx, GOLDEN "group", 0, UINT64_MAX, 22, &m), RADI_OK);
    assert_int_equal(radi_meta_count(&m), 2);
    expect_str(&m, "kind", "radiobject");
    expect_i64(&m, "n", 3);
    rdi_meta_clear(&m);
}

static char *make_array(char *dir)
{
    assert_non_null(mkdtemp(dir));
    char *uri = rdi_path_join(dir, "arr");
    radi_schema *s = NULL;
    assert_int_equal(radi_schema_create(RADI_DENSE, &s), RADI_OK);
    int32_t lo = 0, hi = 3, ext = 4;
    assert_int_equal(radi_schema_add_dim(s, "x", RADI_INT32, &lo, &hi, &ext, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_attr(s, "a", RADI_UINT8, 1, 0, NULL, NULL, 0), RADI_OK);
    assert_int_equal(radi_array_create(g_ctx, uri, s), RADI_OK);
    radi_schema_free(s);
    return uri;
}

/* Payload of the only (or i-th, by name) file in <uri>/__meta. */
static void meta_file(const char *uri, size_t i, rdi_buf *payload, rdi_tsname *tn)
{
    char *dir = rdi_path_join(uri, "__meta");
    rdi_dirlist ls;
    assert_int_equal(rdi_vfs_ls(g_ctx->vfs, dir, &ls), RADI_OK);
    assert_true(i < ls.n);
    assert_int_equal(rdi_tsname_parse(ls.items[i].name, tn), RADI_OK);
    char *f = rdi_path_join(dir, ls.items[i].name);
    assert_int_equal(rdi_generic_tile_read(g_ctx->vfs, f, 0, g_scratch, payload), RADI_OK);
    free(f);
    rdi_dirlist_free(&ls);
    free(dir);
}

static size_t meta_files(const char *uri)
{
    char *dir = rdi_path_join(uri, "__meta");
    rdi_dirlist ls;
    assert_int_equal(rdi_vfs_ls(g_ctx->vfs, dir, &ls), RADI_OK);
    size_t n = ls.n;
    rdi_dirlist_free(&ls);
    free(dir);
    return n;
}

static void test_write_and_reopen(void **state)
{
    (void)state;
    char dir[] = "/tmp/radi_meta_XXXXXX";
    char *uri = make_array(dir);
    radi_array *a = NULL;
    assert_int_equal(radi_array_open(g_ctx, uri, 0, 0, &a), RADI_OK);
    radi_meta *m = radi_array_meta(a);
    assert_int_equal(radi_meta_count(m), 0);
    int64_t count = 42;
    double sp[3] = {0.5, 0.5, 2.0};
    assert_int_equal(radi_meta_put(m, "tile_orientation", RADI_STRING_UTF8, 5, "axial"), RADI_OK);
    assert_int_equal(meta_files(uri), 1);

    /* One record, TileDB's layout: u32 keylen | key | u8 del | u8 type | u32 n | value. */
    rdi_buf p = RDI_BUF_INIT;
    rdi_tsname t0;
    meta_file(uri, 0, &p, &t0);
    static const uint8_t want[] = {16, 0, 0, 0, 't', 'i', 'l', 'e', '_', 'o', 'r', 'i', 'e', 'n', 't', 'a',
                                   't', 'i', 'o', 'n', 0, 12, 5, 0, 0, 0, 'a', 'x', 'i', 'a', 'l'};
    assert_int_equal(p.len, sizeof want);
    assert_memory_equal(p.data, want, sizeof want);
    assert_int_equal(t0.version, 0);
    assert_int_equal(t0.t1, t0.t2);

    assert_int_equal(radi_meta_put(m, "count", RADI_INT64, 1, &count), RADI_OK);
    assert_int_equal(radi_meta_put(m, "spacing", RADI_FLOAT64, 3, sp), RADI_OK);
    assert_int_equal(radi_meta_put(m, "gone", RADI_INT32, 1, &count), RADI_OK);
    assert_int_equal(radi_meta_delete(m, "gone"), RADI_OK);
    count = -7;
    assert_int_equal(radi_meta_put(m, "count", RADI_INT64, 1, &count), RADI_OK);
    assert_int_equal(meta_files(uri), 6);
    expect_i64(m, "count", -7);
    assert_int_equal(radi_meta_get(m, "gone", NULL, NULL, NULL), RADI_E_NOT_FOUND);
    /* Timestamps are distinct and increasing even within one millisecond. */
    uint64_t prev = 0;
    for (size_t i = 0; i < 6; i++) {
        rdi_tsname tn;
        meta_file(uri, i, &p, &tn);
        assert_true(tn.t1 != prev);
        prev = tn.t1;
    }
    /* The deletion record has no value part. */
    char *dir2 = rdi_path_join(uri, "__meta");
    rdi_dirlist ls;
    assert_int_equal(rdi_vfs_ls(g_ctx->vfs, dir2, &ls), RADI_OK);
    int found_del = 0;
    for (size_t i = 0; i < ls.n; i++) {
        rdi_tsname tn;
        meta_file(uri, i, &p, &tn);
        if (p.len == 9 && memcmp(p.data, "\x04\0\0\0gone\x01", 9) == 0) found_del = 1;
    }
    assert_true(found_del);
    rdi_dirlist_free(&ls);
    free(dir2);
    radi_array_close(a);

    assert_int_equal(radi_array_open(g_ctx, uri, 0, 0, &a), RADI_OK);
    m = radi_array_meta(a);
    assert_int_equal(radi_meta_count(m), 3);
    expect_i64(m, "count", -7);
    expect_f64s(m, "spacing", sp, 3);
    expect_str(m, "tile_orientation", "axial");
    radi_array_close(a);

    /* Time travel to just the first file. */
    assert_int_equal(radi_array_open(g_ctx, uri, 0, t0.t2, &a), RADI_OK);
    m = radi_array_meta(a);
    assert_int_equal(radi_meta_count(m), 1);
    expect_str(m, "tile_orientation", "axial");
    /* Bad calls. */
    assert_int_equal(radi_meta_put(m, "", RADI_INT64, 1, &count), RADI_E_INVALID);
    assert_int_equal(radi_meta_put(m, "k", RADI_INT64, 1, NULL), RADI_E_INVALID);
    assert_int_equal(radi_meta_put(m, "k", RADI_ANY, 1, &count), RADI_E_INVALID);
    assert_int_equal(radi_meta_put(m, "k", (radi_datatype)99, 1, &count), RADI_E_INVALID);
    assert_int_equal(radi_meta_put(NULL, "k", RADI_INT64, 1, &count), RADI_E_INVALID);
    assert_int_equal(radi_meta_get(m, "nope", NULL, NULL, NULL), RADI_E_NOT_FOUND);
    assert_non_null(strstr(radi_errmsg(), "nope"));
    /* Empty values are allowed (count 0). */
    assert_int_equal(radi_meta_put(m, "empty", RADI_STRING_UTF8, 0, NULL), RADI_OK);
    uint32_t n = 9;
    assert_int_equal(radi_meta_get(m, "empty", NULL, &n, NULL), RADI_OK);
    assert_int_equal(n, 0);
    radi_array_close(a);

    rdi_buf_free(&p);
    assert_int_equal(rdi_vfs_remove_dir(g_ctx->vfs, dir), RADI_OK);
    free(uri);
}

static void write_tile(const char *file, const void *payload, size_t len)
{
    rdi_buf t = RDI_BUF_INIT;
    assert_int_equal(rdi_generic_tile_encode(payload, len, 21, g_scratch, &t), RADI_OK);
    assert_int_equal(rdi_vfs_write(g_ctx->vfs, file, t.data, t.len), RADI_OK);
    rdi_buf_free(&t);
}

/* A consolidated file plus its .vac hide the inputs (the merged file wins either way,
 * but a deletion in an input must not resurrect). */
static void test_put_many(void **state)
{
    (void)state;
    char dir[] = "/tmp/radi_meta_XXXXXX";
    char *uri = make_array(dir);
    radi_array *a = NULL;
    assert_int_equal(radi_array_open(g_ctx, uri, 0, 0, &a), RADI_OK);
    radi_meta *m = radi_array_meta(a);
    int64_t n = 3;
    radi_meta_item items[] = {
        {"zeta", RADI_STRING_UTF8, 2, "zz"},
        {"alpha", RADI_INT64, 1, &n},
        {"mid", RADI_STRING_UTF8, 0, ""},
    };
    assert_int_equal(radi_meta_put_many(m, 3, items), RADI_OK);
    assert_int_equal(meta_files(uri), 1); /* one file for the whole batch */
    /* Records are in key order within the file, as TileDB writes them. */
    rdi_buf p = RDI_BUF_INIT;
    rdi_tsname t0;
    meta_file(uri, 0, &p, &t0);
    assert_int_equal(rdi_ld32(p.data), 5);
    assert_memory_equal(p.data + 4, "alpha", 5);
    rdi_buf_free(&p);
    expect_i64(m, "alpha", 3);
    assert_int_equal(radi_meta_count(m), 3);

    /* A duplicate key or an invalid item writes nothing. */
    radi_meta_item dup[] = {{"k", RADI_INT64, 1, &n}, {"k", RADI_INT64, 1, &n}};
    assert_int_equal(radi_meta_put_many(m, 2, dup), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "twice"));
    radi_meta_item bad[] = {{"ok", RADI_INT64, 1, &n}, {"", RADI_INT64, 1, &n}};
    assert_int_equal(radi_meta_put_many(m, 2, bad), RADI_E_INVALID);
    assert_int_equal(meta_files(uri), 1);
    assert_int_equal(radi_meta_get(m, "ok", NULL, NULL, NULL), RADI_E_NOT_FOUND);

    radi_array *b = NULL;
    assert_int_equal(radi_array_open(g_ctx, uri, 0, 0, &b), RADI_OK);
    assert_int_equal(radi_meta_count(radi_array_meta(b)), 3);
    expect_i64(radi_array_meta(b), "alpha", 3);
    radi_array_close(b);
    radi_array_close(a);
    assert_int_equal(rdi_vfs_remove_dir(g_ctx->vfs, dir), RADI_OK);
    free(uri);
}

static void test_vac_and_damage(void **state)
{
    (void)state;
    char dir[] = "/tmp/radi_meta_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512];
    /* Inputs at 100 and 200: a=1 then b=2. Merged [100,200]: only b=2. */
    static const uint8_t a1[] = {1, 0, 0, 0, 'a', 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const uint8_t b2[] = {1, 0, 0, 0, 'b', 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    static const uint8_t late[] = {1, 0, 0, 0, 'c', 0, 6, 1, 0, 0, 0, 9};
    snprintf(path, sizeof path, "%s/__meta/__100_100_0000000000000000000000000000000a", dir);
    write_tile(path, a1, sizeof a1);
    snprintf(path, sizeof path, "%s/__meta/__200_200_0000000000000000000000000000000b", dir);
    write_tile(path, b2, sizeof b2);
    snprintf(path, sizeof path, "%s/__meta/__100_200_0000000000000000000000000000000c", dir);
    write_tile(path, b2, sizeof b2);
    snprintf(path, sizeof path, "%s/__meta/__300_300_0000000000000000000000000000000d", dir);
    write_tile(path, late, sizeof late);
    snprintf(path, sizeof path, "%s/__meta/__100_200_0000000000000000000000000000000c.vac", dir);
    const char *vac = "/__meta/__100_100_0000000000000000000000000000000a\n"
                      "file:///elsewhere/arr/__meta/__200_200_0000000000000000000000000000000b\n";
    assert_int_equal(rdi_vfs_write(g_ctx->vfs, path, vac, strlen(vac)), RADI_OK);
    radi_meta m;
    assert_int_equal(rdi_meta_load(g_ctx, dir, 0, UINT64_MAX, 21, &m), RADI_OK);
    assert_int_equal(radi_meta_count(&m), 2);
    assert_int_equal(radi_meta_get(&m, "a", NULL, NULL, NULL), RADI_E_NOT_FOUND);
    assert_int_equal(m.last_t, 300);
    rdi_meta_clear(&m);
    /* Opened before the merged file is fully visible: the .vac does not apply. */
    assert_int_equal(rdi_meta_load(g_ctx, dir, 0, 150, 21, &m), RADI_OK);
    assert_int_equal(radi_meta_count(&m), 1);
    assert_int_equal(radi_meta_get(&m, "a", NULL, NULL, NULL), RADI_OK);
    rdi_meta_clear(&m);

    /* Types outside radi_datatype (here DATETIME_NS = 26, 8 bytes) are kept as raw values. */
    static const uint8_t dt[] = {2, 0, 0, 0, 'd', 't', 0, 26, 1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
    snprintf(path, sizeof path, "%s/__meta/__350_350_0000000000000000000000000000000f", dir);
    write_tile(path, dt, sizeof dt);
    assert_int_equal(rdi_meta_load(g_ctx, dir, 0, UINT64_MAX, 21, &m), RADI_OK);
    radi_datatype dtt;
    uint32_t dtn;
    const void *dtv;
    assert_int_equal(radi_meta_get(&m, "dt", &dtt, &dtn, &dtv), RADI_OK);
    assert_int_equal((int)dtt, 26);
    assert_int_equal(dtn, 1);
    assert_memory_equal(dtv, dt + 12, 8);
    assert_int_equal(rdi_meta_type_size(26), 8);
    rdi_meta_clear(&m);
    assert_int_equal(rdi_vfs_remove_file(g_ctx->vfs, path), RADI_OK);

    /* Damaged files: truncated record, unknown type, key with NUL, bad name. */
    static const uint8_t trunc[] = {5, 0, 0, 0, 'a', 'b'};
    static const uint8_t badtype[] = {1, 0, 0, 0, 'k', 0, 200, 1, 0, 0, 0, 0};
    static const uint8_t nul[] = {2, 0, 0, 0, 'k', 0, 1};
    static const uint8_t huge[] = {1, 0, 0, 0, 'k', 0, 1, 0xff, 0xff, 0xff, 0xff, 0};
    const struct { const uint8_t *p; size_t n; radi_status want; } cases[] = {
        {trunc, sizeof trunc, RADI_E_CORRUPT},
        {badtype, sizeof badtype, RADI_E_UNSUPPORTED},
        {nul, sizeof nul, RADI_E_CORRUPT},
        {huge, sizeof huge, RADI_E_CORRUPT},
    };
    snprintf(path, sizeof path, "%s/__meta/__400_400_0000000000000000000000000000000e", dir);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_tile(path, cases[i].p, cases[i].n);
        assert_int_equal(rdi_meta_load(g_ctx, dir, 0, UINT64_MAX, 21, &m), cases[i].want);
        assert_non_null(strstr(radi_errmsg(), "__400_400_"));
        assert_int_equal(m.n, 0);
    }
    assert_int_equal(rdi_vfs_write(g_ctx->vfs, path, "garbage", 7), RADI_OK);
    assert_int_equal(rdi_meta_load(g_ctx, dir, 0, UINT64_MAX, 21, &m), RADI_E_CORRUPT);
    assert_non_null(strstr(radi_errmsg(), "__400_400_"));
    assert_int_equal(rdi_vfs_remove_file(g_ctx->vfs, path), RADI_OK);
    snprintf(path, sizeof path, "%s/__meta/__x_400_0000000000000000000000000000000e", dir);
    assert_int_equal(rdi_vfs_write(g_ctx->vfs, path, "", 0), RADI_OK);
    assert_int_equal(rdi_meta_load(g_ctx, dir, 0, UINT64_MAX, 21, &m), RADI_E_CORRUPT);
    assert_non_null(strstr(radi_errmsg(), "__x_400"));
    assert_int_equal(rdi_vfs_remove_dir(g_ctx->vfs, dir), RADI_OK);
}

/* Every byte of TileDB's metadata payload damaged in turn, or cut short: a clean status
 * (or a valid reading), never a crash or a leak. */
static void test_garbled_golden(void **state)
{
    (void)state;
    char dir[] = "/tmp/radi_meta_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *mdir = rdi_path_join(GOLDEN "meta_array", "__meta");
    rdi_dirlist ls;
    assert_int_equal(rdi_vfs_ls(g_ctx->vfs, mdir, &ls), RADI_OK);
    char *src = rdi_path_join(mdir, ls.items[0].name);
    rdi_buf p = RDI_BUF_INIT, copy = RDI_BUF_INIT;
    assert_int_equal(rdi_generic_tile_read(g_ctx->vfs, src, 0, g_scratch, &p), RADI_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/__meta/__1_1_0000000000000000000000000000000a", dir);
    for (size_t i = 0; i <= p.len; i++) {
        for (int k = 0; k < 3; k++) {
            static const uint8_t vals[] = {0x00, 0x7f, 0xff};
            copy.len = 0;
            assert_int_equal(rdi_buf_append(&copy, p.data, p.len), RADI_OK);
            if (i == p.len) copy.len = (size_t)k; /* short payloads */
            else copy.data[i] = vals[k];
            write_tile(path, copy.data, copy.len);
            radi_meta m;
            radi_status st = rdi_meta_load(g_ctx, dir, 0, UINT64_MAX, 21, &m);
            if (st == RADI_OK) rdi_meta_clear(&m);
            else assert_non_null(strstr(radi_errmsg(), "__1_1_"));
        }
    }
    rdi_buf_free(&p);
    rdi_buf_free(&copy);
    free(src);
    rdi_dirlist_free(&ls);
    free(mdir);
    assert_int_equal(rdi_vfs_remove_dir(g_ctx->vfs, dir), RADI_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_array_meta),
        cmocka_unit_test(test_write_and_reopen),
        cmocka_unit_test(test_put_many),
        cmocka_unit_test(test_vac_and_damage),
        cmocka_unit_test(test_garbled_golden),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
