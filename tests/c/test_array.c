/*
 * Array create/open (format.md §1, §9): the directory layout and schema file we write, and which
 * fragments each open range shows on arrays TileDB-Py made (writes at t=1000, 2000, 3000,
 * the first two consolidated; see gen_golden.py and expected.json for TileDB's reads).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tdb/tdb.h"
#include "vfs/fault.h"

#define GOLDEN RADI_TEST_DATA "/tdb/"

#include "ctx_fixture.h"

static radi_schema *small_schema(void)
{
    radi_schema *s = NULL;
    assert_int_equal(radi_schema_create(RADI_DENSE, &s), RADI_OK);
    int32_t lo = 0, hi = 7, ext = 4;
    assert_int_equal(radi_schema_add_dim(s, "x", RADI_INT32, &lo, &hi, &ext, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_attr(s, "a", RADI_UINT8, 1, 0, NULL, NULL, 0), RADI_OK);
    return s;
}

static int kind_of(const char *base, const char *child)
{
    char *p = rdi_path_join(base, child);
    int k = -1;
    assert_int_equal(rdi_vfs_kind(g_ctx->vfs, p, &k), RADI_OK);
    free(p);
    return k;
}

static void touch(const char *base, const char *child)
{
    char *p = rdi_path_join(base, child);
    assert_int_equal(rdi_vfs_write(g_ctx->vfs, p, "", 0), RADI_OK);
    free(p);
}

static void test_create_layout(void **state)
{
    (void)state;
    char dir[] = "/tmp/radi_array_XXXXXX";
    assert_non_null(mkdtemp(dir));
    radi_schema *s = small_schema();
    for (uint32_t v = 20; v <= 22; v++) {
        radi_config cfg;
        radi_config_init(&cfg);
        cfg.format_version = v;
        radi_ctx *ctx = NULL;
        assert_int_equal(radi_ctx_create(&cfg, &ctx), RADI_OK);
        char name[32];
        snprintf(name, sizeof name, "arr%u/", v); /* a trailing slash is fine */
        char *uri = rdi_path_join(dir, name);
        assert_int_equal(radi_array_create(ctx, uri, s), RADI_OK);
        const char *dirs[] = {"__schema", "__schema/__enumerations", "__commits", "__fragments",
                              "__fragment_meta", "__meta", "__labels"};
        for (size_t i = 0; i < 7; i++) assert_int_equal(kind_of(uri, dirs[i]), 2);
        /* One schema file, __t_t_uuid, holding our v-format payload. */
        char *sdir = rdi_path_join(uri, "__schema");
        rdi_dirlist ls;
        assert_int_equal(rdi_vfs_ls(ctx->vfs, sdir, &ls), RADI_OK);
        assert_int_equal(ls.n, 2); /* the schema, then __enumerations/ */
        assert_false(ls.items[0].is_dir);
        assert_true(ls.items[1].is_dir);
        rdi_tsname tn;
        assert_int_equal(rdi_tsname_parse(ls.items[0].name, &tn), RADI_OK);
        assert_int_equal(tn.version, 0);
        assert_int_equal(tn.t1, tn.t2);
        char *f = rdi_path_join(sdir, ls.items[0].name);
        rdi_buf p = RDI_BUF_INIT, want = RDI_BUF_INIT, raw = RDI_BUF_INIT;
        assert_int_equal(rdi_generic_tile_read(ctx->vfs, f, 0, g_scratch, &p), RADI_OK);
        assert_int_equal(rdi_schema_serialize(s, v, &want), RADI_OK);
        assert_int_equal(p.len, want.len);
        assert_memory_equal(p.data, want.data, p.len);
        assert_int_equal(rdi_vfs_read_all(ctx->vfs, f, &raw), RADI_OK);
        assert_int_equal(rdi_ld32(raw.data), v); /* generic tile header version */
        assert_int_equal(radi_array_create(ctx, uri, s), RADI_E_EXISTS);

        radi_array *a = NULL;
        assert_int_equal(radi_array_open(ctx, uri, 0, 0, &a), RADI_OK);
        assert_int_equal(a->nfrags, 0);
        assert_int_equal(a->nschemas, 1);
        assert_int_equal(radi_array_schema(a)->version, v);
        assert_string_equal(radi_array_schema(a)->name, ls.items[0].name);
        assert_int_equal(radi_meta_count(radi_array_meta(a)), 0);
        char *norm = rdi_uri_normalize(uri);
        assert_string_equal(radi_array_uri(a), norm);
        free(norm);
        radi_array_close(a);
        rdi_buf_free(&p);
        rdi_buf_free(&want);
        rdi_buf_free(&raw);
        free(f);
        rdi_dirlist_free(&ls);
        free(sdir);
        free(uri);
        radi_ctx_free(ctx);
    }
    /* A file in the way, or a non-empty directory, is refused; an empty directory is not. */
    touch(dir, "file");
    char *fp = rdi_path_join(dir, "file");
    assert_int_equal(radi_array_create(g_ctx, fp, s), RADI_E_EXISTS);
    char *empty = rdi_path_join(dir, "empty");
    assert_int_equal(rdi_vfs_mkdir(g_ctx->vfs, empty), RADI_OK);
    assert_int_equal(radi_array_create(g_ctx, empty, s), RADI_OK);
    /* An invalid schema creates nothing. */
    radi_schema *bad = NULL;
    assert_int_equal(radi_schema_create(RADI_DENSE, &bad), RADI_OK);
    char *nothing = rdi_path_join(dir, "nothing");
    assert_int_equal(radi_array_create(g_ctx, nothing, bad), RADI_E_INVALID);
    assert_int_equal(kind_of(dir, "nothing"), 0);
    radi_schema_free(bad);
    free(nothing);
    free(empty);
    free(fp);
    radi_schema_free(s);
    assert_int_equal(rdi_vfs_remove_dir(g_ctx->vfs, dir), RADI_OK);
}

static void test_open_refusals(void **state)
{
    (void)state;
    char dir[] = "/tmp/radi_array_XXXXXX";
    assert_non_null(mkdtemp(dir));
    radi_schema *s = small_schema();
    radi_array *a = NULL;
    char *uri = rdi_path_join(dir, "arr");
    assert_int_equal(radi_array_open(g_ctx, uri, 0, 0, &a), RADI_E_NOT_FOUND);
    assert_non_null(strstr(radi_errmsg(), uri));
    assert_int_equal(radi_array_create(g_ctx, uri, s), RADI_OK);
    assert_int_equal(radi_array_open(g_ctx, uri, 10, 5, &a), RADI_E_INVALID);

    /* Delete/update commits, or the pre-v12 layout, are refused by name. */
    touch(uri, "__commits/__1_1_0000000000000000000000000000000a_22.del");
    assert_int_equal(radi_array_open(g_ctx, uri, 0, 0, &a), RADI_E_UNSUPPORTED);
    assert_non_null(strstr(radi_errmsg(), ".del"));
    char *del = rdi_path_join(uri, "__commits/__1_1_0000000000000000000000000000000a_22.del");
    assert_int_equal(rdi_vfs_remove_file(g_ctx->vfs, del), RADI_OK);
    free(del);
    touch(uri, "__1_1_0000000000000000000000000000000a_11.ok");
    assert_int_equal(radi_array_open(g_ctx, uri, 0, 0, &a), RADI_E_UNSUPPORTED);
    assert_non_null(strstr(radi_errmsg(), ".ok"));
    char *ok = rdi_path_join(uri, "__1_1_0000000000000000000000000000000a_11.ok");
    assert_int_equal(rdi_vfs_remove_file(g_ctx->vfs, ok), RADI_OK);
    free(ok);
    /* A .del listed in a consolidated commit file too. */
    char *con = rdi_path_join(uri, "__commits/__1_2_0000000000000000000000000000000b_22.con");
    const char *text = "__commits/__1_1_0000000000000000000000000000000c_22.del\n";
    assert_int_equal(rdi_vfs_write(g_ctx->vfs, con, text, strlen(text)), RADI_OK);
    assert_int_equal(radi_array_open(g_ctx, uri, 0, 0, &a), RADI_E_UNSUPPORTED);
    assert_int_equal(rdi_vfs_remove_file(g_ctx->vfs, con), RADI_OK);
    free(con);
    /* A garbled commit name. */
    touch(uri, "__commits/__x_1_0000000000000000000000000000000a_22.wrt");
    assert_int_equal(radi_array_open(g_ctx, uri, 0, 0, &a), RADI_E_CORRUPT);
    assert_non_null(strstr(radi_errmsg(), "__x_1_"));
    char *w = rdi_path_join(uri, "__commits/__x_1_0000000000000000000000000000000a_22.wrt");
    assert_int_equal(rdi_vfs_remove_file(g_ctx->vfs, w), RADI_OK);
    free(w);

    /* A damaged schema file: a clean error naming it; nothing on storage changes. */
    char *sdir = rdi_path_join(uri, "__schema");
    rdi_dirlist ls;
    assert_int_equal(rdi_vfs_ls(g_ctx->vfs, sdir, &ls), RADI_OK);
    char *sf = rdi_path_join(sdir, ls.items[0].name);
    rdi_buf raw = RDI_BUF_INIT;
    assert_int_equal(rdi_vfs_read_all(g_ctx->vfs, sf, &raw), RADI_OK);
    assert_int_equal(rdi_vfs_write(g_ctx->vfs, sf, raw.data, raw.len - 3), RADI_OK);
    assert_int_equal(radi_array_open(g_ctx, uri, 0, 0, &a), RADI_E_CORRUPT);
    assert_non_null(strstr(radi_errmsg(), ls.items[0].name));
    uint64_t size;
    assert_int_equal(rdi_vfs_size(g_ctx->vfs, sf, &size), RADI_OK);
    assert_int_equal(size, raw.len - 3);
    /* A schema of an unsupported version. */
    rdi_buf p = RDI_BUF_INIT, tile = RDI_BUF_INIT;
    assert_int_equal(rdi_schema_serialize(s, 22, &p), RADI_OK);
    rdi_st32(p.data, 23);
    assert_int_equal(rdi_generic_tile_encode(p.data, p.len, 23, g_scratch, &tile), RADI_OK);
    assert_int_equal(rdi_vfs_write(g_ctx->vfs, sf, tile.data, tile.len), RADI_OK);
    assert_int_equal(radi_array_open(g_ctx, uri, 0, 0, &a), RADI_E_UNSUPPORTED);
    assert_non_null(strstr(radi_errmsg(), "23"));
    assert_non_null(strstr(radi_errmsg(), ls.items[0].name));
    /* No schema at all. */
    assert_int_equal(rdi_vfs_remove_file(g_ctx->vfs, sf), RADI_OK);
    assert_int_equal(radi_array_open(g_ctx, uri, 0, 0, &a), RADI_E_CORRUPT);
    /* Legacy root schema. */
    assert_int_equal(rdi_vfs_remove_dir(g_ctx->vfs, sdir), RADI_OK);
    touch(uri, "__array_schema.tdb");
    assert_int_equal(radi_array_open(g_ctx, uri, 0, 0, &a), RADI_E_UNSUPPORTED);
    /* A group is not an array. */
    char *g = rdi_path_join(dir, "grp");
    assert_int_equal(radi_group_create(g_ctx, g), RADI_OK);
    assert_int_equal(radi_array_open(g_ctx, g, 0, 0, &a), RADI_E_NOT_FOUND);
    free(g);
    rdi_buf_free(&p);
    rdi_buf_free(&tile);
    rdi_buf_free(&raw);
    free(sf);
    rdi_dirlist_free(&ls);
    free(sdir);
    free(uri);
    radi_schema_free(s);
    assert_int_equal(rdi_vfs_remove_dir(g_ctx->vfs, dir), RADI_OK);
}

/* Schema evolution: the newest schema whose t2 <= the open end, else the first. */
static void test_schema_choice(void **state)
{
    (void)state;
    char dir[] = "/tmp/radi_array_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *uri = rdi_path_join(dir, "arr");
    radi_schema *s = small_schema();
    assert_int_equal(radi_array_create(g_ctx, uri, s), RADI_OK);
    char *sdir = rdi_path_join(uri, "__schema");
    rdi_dirlist ls;
    assert_int_equal(rdi_vfs_ls(g_ctx->vfs, sdir, &ls), RADI_OK);
    char *sf = rdi_path_join(sdir, ls.items[0].name);
    assert_int_equal(rdi_vfs_remove_file(g_ctx->vfs, sf), RADI_OK);
    const uint64_t caps[] = {111, 222};
    const char *names[] = {"__1000_1000_0000000000000000000000000000000a",
                           "__2000_2000_0000000000000000000000000000000b"};
    for (int i = 0; i < 2; i++) {
        rdi_buf p = RDI_BUF_INIT, t = RDI_BUF_INIT;
        assert_int_equal(radi_schema_set_capacity(s, caps[i]), RADI_OK);
        assert_int_equal(rdi_schema_serialize(s, 21, &p), RADI_OK);
        assert_int_equal(rdi_generic_tile_encode(p.data, p.len, 21, g_scratch, &t), RADI_OK);
        char *f = rdi_path_join(sdir, names[i]);
        assert_int_equal(rdi_vfs_write(g_ctx->vfs, f, t.data, t.len), RADI_OK);
        free(f);
        rdi_buf_free(&p);
        rdi_buf_free(&t);
    }
    /* The enumerations directory is skipped. */
    char *en = rdi_path_join(sdir, "__enumerations");
    assert_int_equal(rdi_vfs_mkdir(g_ctx->vfs, en), RADI_OK);
    free(en);
    const struct { uint64_t end; uint64_t cap; } cases[] = {{0, 222}, {2500, 222}, {1500, 111}, {500, 111}};
    for (int i = 0; i < 4; i++) {
        radi_array *a = NULL;
        assert_int_equal(radi_array_open(g_ctx, uri, 0, cases[i].end, &a), RADI_OK);
        assert_int_equal(a->nschemas, 2);
        assert_int_equal(radi_array_schema(a)->capacity, cases[i].cap);
        radi_array_close(a);
    }
    free(sf);
    rdi_dirlist_free(&ls);
    free(sdir);
    free(uri);
    radi_schema_free(s);
    assert_int_equal(rdi_vfs_remove_dir(g_ctx->vfs, dir), RADI_OK);
}

typedef struct span {
    uint64_t t1, t2;
} span;

static void expect_frags(const char *array, uint64_t lo, uint64_t hi, const span *want, uint32_t n)
{
    radi_array *a = NULL;
    char uri[512];
    snprintf(uri, sizeof uri, GOLDEN "arrays/%s", array);
    if (radi_array_open(g_ctx, uri, lo, hi, &a) != RADI_OK) fail_msg("%s: %s", uri, radi_errmsg());
    if (a->nfrags != n) fail_msg("%s [%llu, %llu]: %u fragments, want %u", array, (unsigned long long)lo,
                                 (unsigned long long)hi, a->nfrags, n);
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(a->frags[i]->t1, want[i].t1);
        assert_int_equal(a->frags[i]->t2, want[i].t2);
    }
    radi_array_close(a);
}

static void test_visibility(void **state)
{
    (void)state;
    const span f1 = {1000, 1000}, f2 = {2000, 2000}, f12 = {1000, 2000}, f3 = {3000, 3000};
    /* Dense: fragments (and .vac files) count only when fully inside the range. */
    expect_frags("dense", 0, 1500, &f1, 1);
    expect_frags("dense", 1500, 2500, &f2, 1);
    expect_frags("dense", 0, 2500, &f12, 1);
    span both[2] = {f12, f3};
    expect_frags("dense", 0, 5000, both, 2);
    expect_frags("dense", 0, 0, both, 2);
    expect_frags("dense", 2500, 5000, &f3, 1);
    /* Consolidated commits (.con) with the t=3000 fragment deleted afterwards (.ign). */
    expect_frags("dense_con", 0, 1500, &f1, 1);
    expect_frags("dense_con", 1500, 2500, &f2, 1);
    expect_frags("dense_con", 0, 5000, &f12, 1);
    expect_frags("dense_con", 2500, 5000, NULL, 0);
    /* Sparse (v15+): any overlap counts, for fragments and .vac files alike. */
    expect_frags("sparse", 0, 1500, &f12, 1);
    expect_frags("sparse", 1500, 2500, &f12, 1);
    expect_frags("sparse", 0, 5000, both, 2);
    expect_frags("sparse", 2500, 5000, &f3, 1);

    /* file:// URIs name the same array. */
    radi_array *fa = NULL;
    assert_int_equal(radi_array_open(g_ctx, "file://" GOLDEN "arrays/dense/", 0, 0, &fa), RADI_OK);
    assert_int_equal(fa->nfrags, 2);
    assert_string_equal(radi_array_uri(fa), "file://" GOLDEN "arrays/dense");
    radi_array_close(fa);

    /* New fragments must come after everything committed, visible or not. */
    radi_array *a = NULL;
    assert_int_equal(radi_array_open(g_ctx, GOLDEN "arrays/dense", 0, 1500, &a), RADI_OK);
    assert_int_equal(a->last_t1, 3000);
    radi_array_close(a);
    assert_int_equal(radi_array_open(g_ctx, GOLDEN "arrays/dense_con", 0, 0, &a), RADI_OK);
    assert_int_equal(a->last_t1, 2000);
    assert_int_equal(rdi_array_reload_fragments(a), RADI_OK);
    assert_int_equal(a->nfrags, 1);
    radi_array_close(a);
}

/* Rapid writes get distinct increasing timestamps that may run ahead of the clock; the
 * writing handle and a fresh "now" open both see every one of them. */
static void test_rapid_writes(void **state)
{
    (void)state;
    char dir[] = "/tmp/radi_array_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *uri = rdi_path_join(dir, "arr");
    radi_schema *s = small_schema();
    assert_int_equal(radi_array_create(g_ctx, uri, s), RADI_OK);
    radi_schema_free(s);
    radi_array *a = NULL;
    assert_int_equal(radi_array_open(g_ctx, uri, 0, 0, &a), RADI_OK);
    uint8_t v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int64_t box[2] = {0, 7};
    uint64_t t[6];
    for (uint32_t i = 0; i < 5; i++) {
        radi_field_buffer fb = {"a", v, sizeof v, NULL};
        if (radi_array_write_dense(a, box, RADI_ROW_MAJOR, 1, &fb, 0) != RADI_OK) fail_msg("%s", radi_errmsg());
        assert_int_equal(a->nfrags, i + 1);
        t[i] = a->frags[i]->t1;
        if (i) assert_true(t[i] > t[i - 1]);
    }
    /* An explicit old timestamp sorts first. */
    radi_field_buffer fb = {"a", v, sizeof v, NULL};
    assert_int_equal(radi_array_write_dense(a, box, RADI_ROW_MAJOR, 1, &fb, 5), RADI_OK);
    assert_int_equal(a->nfrags, 6);
    assert_int_equal(a->frags[0]->t1, 5);
    radi_array_close(a);
    assert_int_equal(radi_array_open(g_ctx, uri, 0, 0, &a), RADI_OK);
    assert_int_equal(a->nfrags, 6);
    assert_true(a->last_t1 == t[4]);
    radi_array_close(a);
    assert_int_equal(radi_array_open(g_ctx, uri, 0, t[2], &a), RADI_OK);
    assert_int_equal(a->nfrags, 4);
    radi_array_close(a);
    assert_int_equal(radi_array_open(g_ctx, uri, t[1], t[3], &a), RADI_OK);
    assert_int_equal(a->nfrags, 3);
    radi_array_close(a);
    free(uri);
    assert_int_equal(rdi_vfs_remove_dir(g_ctx->vfs, dir), RADI_OK);
}

/* Opening reads only: with every write and removal failing, opens still succeed and no
 * write is even attempted. A read failing at any point is a clean error, never a crash. */
static void test_faults(void **state)
{
    (void)state;
    radi_ctx *ctx = NULL;
    assert_int_equal(radi_ctx_create(NULL, &ctx), RADI_OK);
    rdi_fault fault = {.ops_mask = RDI_FAULT_WRITE | RDI_FAULT_REMOVE, .fail_at = 1, .persistent = 1,
                       .inner = &rdi_vfs_posix_ops};
    assert_int_equal(rdi_vfs_set_local(ctx->vfs, &rdi_vfs_fault_ops, &fault), RADI_OK);
    const char *arrays[] = {GOLDEN "arrays/dense", GOLDEN "arrays/dense_con", GOLDEN "arrays/sparse"};
    for (int i = 0; i < 3; i++) {
        radi_array *a = NULL;
        assert_int_equal(radi_array_open(ctx, arrays[i], 0, 0, &a), RADI_OK);
        assert_int_equal(rdi_array_reload_fragments(a), RADI_OK);
        radi_array_close(a);
    }
    assert_int_equal(fault.calls, 0);

    /* Every read of an open, failed in turn. */
    for (uint64_t k = 1;; k++) {
        fault = (rdi_fault){.ops_mask = RDI_FAULT_READ | RDI_FAULT_SIZE | RDI_FAULT_LS, .fail_at = k,
                            .inner = &rdi_vfs_posix_ops};
        radi_array *a = NULL;
        radi_status st = radi_array_open(ctx, GOLDEN "arrays/dense", 0, 0, &a);
        if (fault.failures == 0) {
            assert_int_equal(st, RADI_OK);
            radi_array_close(a);
            break;
        }
        if (st != RADI_E_IO) fail_msg("read #%llu failed: status %d (%s)", (unsigned long long)k, st, radi_errmsg());
        assert_non_null(strstr(radi_errmsg(), "injected"));
        assert_true(k < 1000);
    }

    /* A failing metadata write changes nothing, in memory or on storage. */
    char dir[] = "/tmp/radi_array_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *uri = rdi_path_join(dir, "arr");
    radi_schema *s = small_schema();
    fault = (rdi_fault){.inner = &rdi_vfs_posix_ops};
    assert_int_equal(radi_array_create(ctx, uri, s), RADI_OK);
    radi_array *a = NULL;
    assert_int_equal(radi_array_open(ctx, uri, 0, 0, &a), RADI_OK);
    int64_t v = 5;
    fault = (rdi_fault){.ops_mask = RDI_FAULT_WRITE, .fail_at = 1, .inner = &rdi_vfs_posix_ops};
    assert_int_equal(radi_meta_put(radi_array_meta(a), "k", RADI_INT64, 1, &v), RADI_E_IO);
    assert_int_equal(radi_meta_count(radi_array_meta(a)), 0);
    assert_int_equal(radi_meta_put(radi_array_meta(a), "k", RADI_INT64, 1, &v), RADI_OK);
    radi_array_close(a);
    assert_int_equal(radi_array_open(ctx, uri, 0, 0, &a), RADI_OK);
    assert_int_equal(radi_meta_count(radi_array_meta(a)), 1);
    radi_array_close(a);
    /* A failing create leaves no array behind that opens. */
    char *uri2 = rdi_path_join(dir, "arr2");
    for (uint64_t k = 1; k <= 8; k++) {
        fault = (rdi_fault){.ops_mask = RDI_FAULT_WRITE, .fail_at = k, .inner = &rdi_vfs_posix_ops};
        radi_status st = radi_array_create(ctx, uri2, s);
        if (fault.failures == 0) {
            assert_int_equal(st, RADI_OK);
            break;
        }
        assert_int_equal(st, RADI_E_IO);
        assert_int_not_equal(radi_array_open(ctx, uri2, 0, 0, &a), RADI_OK);
        fault = (rdi_fault){.inner = &rdi_vfs_posix_ops};
        assert_int_equal(rdi_vfs_remove_dir(ctx->vfs, uri2), RADI_OK);
    }
    radi_schema_free(s);
    free(uri);
    free(uri2);
    assert_int_equal(rdi_vfs_remove_dir(ctx->vfs, dir), RADI_OK);
    radi_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_layout),
        cmocka_unit_test(test_open_refusals),
        cmocka_unit_test(test_schema_choice),
        cmocka_unit_test(test_visibility),
        cmocka_unit_test(test_rapid_writes),
        cmocka_unit_test(test_faults),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
