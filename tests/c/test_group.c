/*
 * Groups (format.md §13) and object types (format.md §1): TileDB-Py's group read back as TileDB-Py lists
 * it, our details files in TileDB's layout (full membership + change per file), relative
 * and absolute members, and damaged details refused cleanly.
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

static int find_member(const radi_group *g, const char *name, const char *uri, radi_group_member *out)
{
    for (uint64_t i = 0; i < radi_group_member_count(g); i++) {
        assert_int_equal(radi_group_member_at(g, i, out), RADI_OK);
        if (name && out->name && strcmp(out->name, name) == 0) return 1;
        if (!name && !out->name && strcmp(out->uri, uri) == 0) return 1;
    }
    return 0;
}

static void ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    if (n < m || strcmp(s + n - m, suffix) != 0) fail_msg("'%s' does not end with '%s'", s, suffix);
}

static void test_golden_group(void **state)
{
    (void)state;
    radi_group *g = NULL;
    if (radi_group_open(g_ctx, GOLDEN "group", &g) != RADI_OK) fail_msg("%s", radi_errmsg());
    /* TileDB-Py: obs (relative), volume_one (absolute), subgroup (relative); v2 removed. */
    assert_int_equal(radi_group_member_count(g), 3);
    radi_group_member m;
    assert_true(find_member(g, NULL, "obs", &m));
    assert_true(m.relative);
    assert_int_equal(m.type, RADI_OBJECT_ARRAY);
    assert_true(strncmp(m.resolved_uri, "file:///", 8) == 0);
    ends_with(m.resolved_uri, "/tdb/group/obs");
    assert_true(find_member(g, "volume_one", NULL, &m));
    assert_false(m.relative);
    assert_true(strncmp(m.uri, "file:///tmp/", 12) == 0);
    ends_with(m.uri, "/grp/vol1");
    assert_string_equal(m.resolved_uri, m.uri);
    assert_true(find_member(g, "subgroup", NULL, &m));
    assert_string_equal(m.uri, "sub");
    assert_int_equal(m.type, RADI_OBJECT_GROUP);
    assert_false(find_member(g, "v2", NULL, &m));
    assert_int_equal(radi_group_member_at(g, 3, &m), RADI_E_NOT_FOUND);
    radi_meta *meta = radi_group_meta(g);
    assert_int_equal(radi_meta_count(meta), 2);
    const void *v;
    uint32_t n;
    radi_datatype t;
    assert_int_equal(radi_meta_get(meta, "kind", &t, &n, &v), RADI_OK);
    assert_int_equal(t, RADI_STRING_UTF8);
    assert_memory_equal(v, "radiobject", 10);
    radi_group_close(g);

    /* The same group through a file:// URI. */
    assert_int_equal(radi_group_open(g_ctx, "file://" GOLDEN "group", &g), RADI_OK);
    assert_true(find_member(g, "subgroup", NULL, &m));
    assert_string_equal(m.resolved_uri, "file://" GOLDEN "group/sub");
    radi_group_close(g);

    radi_object_type ot;
    assert_int_equal(radi_object_type_of(g_ctx, GOLDEN "group", &ot), RADI_OK);
    assert_int_equal(ot, RADI_OBJECT_GROUP);
    assert_int_equal(radi_object_type_of(g_ctx, GOLDEN "arrays/dense", &ot), RADI_OK);
    assert_int_equal(ot, RADI_OBJECT_ARRAY);
    assert_int_equal(radi_object_type_of(g_ctx, GOLDEN "nothing-here", &ot), RADI_OK);
    assert_int_equal(ot, RADI_OBJECT_INVALID);
    assert_int_equal(radi_object_type_of(g_ctx, GOLDEN "schema_dense3d.tdb", &ot), RADI_OK);
    assert_int_equal(ot, RADI_OBJECT_INVALID);
}

static void make_array(const char *uri)
{
    radi_schema *s = NULL;
    assert_int_equal(radi_schema_create(RADI_DENSE, &s), RADI_OK);
    int32_t lo = 0, hi = 3, ext = 4;
    assert_int_equal(radi_schema_add_dim(s, "x", RADI_INT32, &lo, &hi, &ext, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_attr(s, "a", RADI_UINT8, 1, 0, NULL, NULL, 0), RADI_OK);
    assert_int_equal(radi_array_create(g_ctx, uri, s), RADI_OK);
    radi_schema_free(s);
}

/* Decoded details file i (by name order) of group uri. */
static void details(const char *uri, size_t i, size_t nfiles, rdi_buf *p)
{
    char *dir = rdi_path_join(uri, "__group");
    rdi_dirlist ls;
    assert_int_equal(rdi_vfs_ls(g_ctx->vfs, dir, &ls), RADI_OK);
    assert_int_equal(ls.n, nfiles);
    rdi_tsname tn;
    assert_int_equal(rdi_tsname_parse(ls.items[i].name, &tn), RADI_OK);
    assert_int_equal(tn.version, 2);
    char *f = rdi_path_join(dir, ls.items[i].name);
    assert_int_equal(rdi_generic_tile_read(g_ctx->vfs, f, 0, g_scratch, p), RADI_OK);
    free(f);
    rdi_dirlist_free(&ls);
    free(dir);
}

static void test_write_group(void **state)
{
    (void)state;
    char dir[] = "/tmp/radi_group_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *g_uri = rdi_path_join(dir, "grp"), *a1 = rdi_path_join(g_uri, "a1"),
         *sub = rdi_path_join(g_uri, "sub"), *ext = rdi_path_join(dir, "ext");
    assert_int_equal(radi_group_create(g_ctx, g_uri), RADI_OK);
    assert_int_equal(radi_group_create(g_ctx, g_uri), RADI_E_EXISTS);
    make_array(a1);
    make_array(ext);
    assert_int_equal(radi_group_create(g_ctx, sub), RADI_OK);
    radi_object_type ot;
    assert_int_equal(radi_object_type_of(g_ctx, g_uri, &ot), RADI_OK);
    assert_int_equal(ot, RADI_OBJECT_GROUP);
    assert_int_equal(radi_object_type_of(g_ctx, a1, &ot), RADI_OK);
    assert_int_equal(ot, RADI_OBJECT_ARRAY);

    radi_group *g = NULL;
    assert_int_equal(radi_group_open(g_ctx, g_uri, &g), RADI_OK);
    assert_int_equal(radi_group_member_count(g), 0);
    assert_int_equal(radi_group_add_member(g, "a1", 1, NULL), RADI_OK);
    assert_int_equal(radi_group_add_member(g, ext, 0, "external"), RADI_OK);
    assert_int_equal(radi_group_add_member(g, "sub", 1, "s"), RADI_OK);
    assert_int_equal(radi_group_add_member(g, "sub", 1, "s"), RADI_E_EXISTS);
    assert_int_equal(radi_group_add_member(g, "missing", 1, NULL), RADI_E_NOT_FOUND);
    assert_non_null(strstr(radi_errmsg(), "missing"));
    assert_int_equal(radi_group_add_member(g, "/abs", 1, NULL), RADI_E_INVALID);
    assert_int_equal(radi_group_remove_member(g, "nobody"), RADI_E_NOT_FOUND);
    assert_int_equal(radi_group_member_count(g), 3);

    /* The third file holds the full membership: u32 2 | u64 3 | members. */
    rdi_buf p = RDI_BUF_INIT;
    details(g_uri, 2, 3, &p);
    assert_int_equal(rdi_ld32(p.data), 2);
    assert_int_equal(rdi_ld64(p.data + 4), 3);
    /* First member "a1": u32 2 | u8 array | u8 relative | u64 2 "a1" | u8 0 | u8 0. */
    static const uint8_t m0[] = {2, 0, 0, 0, 2, 1, 2, 0, 0, 0, 0, 0, 0, 0, 'a', '1', 0, 0};
    assert_memory_equal(p.data + 12, m0, sizeof m0);
    char *abs_ext = rdi_absolute_uri(ext);
    radi_group_member m;
    assert_true(find_member(g, "external", NULL, &m));
    assert_string_equal(m.uri, abs_ext);
    assert_true(strncmp(m.uri, "file:///", 8) == 0);
    assert_false(m.relative);

    assert_int_equal(radi_group_remove_member(g, "s"), RADI_OK);
    assert_int_equal(radi_group_member_count(g), 2);
    /* The removal file: the two others, then "sub" flagged deleted. */
    details(g_uri, 3, 4, &p);
    assert_int_equal(rdi_ld64(p.data + 4), 3);
    assert_int_equal(p.data[p.len - 1], 1);
    static const uint8_t tail[] = {3, 0, 0, 0, 0, 0, 0, 0, 's', 'u', 'b', 1, 1, 0, 0, 0, 0, 0, 0, 0, 's', 1};
    assert_memory_equal(p.data + p.len - sizeof tail, tail, sizeof tail);

    /* Group metadata through radi_meta. */
    int64_t nine = 9;
    assert_int_equal(radi_meta_put(radi_group_meta(g), "n", RADI_INT64, 1, &nine), RADI_OK);
    radi_group_close(g);

    assert_int_equal(radi_group_open(g_ctx, g_uri, &g), RADI_OK);
    assert_int_equal(radi_group_member_count(g), 2);
    assert_true(find_member(g, NULL, "a1", &m));
    assert_true(m.relative);
    assert_int_equal(m.type, RADI_OBJECT_ARRAY);
    char *abs_a1 = rdi_absolute_uri(a1);
    assert_string_equal(m.resolved_uri, abs_a1);
    assert_true(find_member(g, "external", NULL, &m));
    assert_int_equal(radi_meta_get(radi_group_meta(g), "n", NULL, NULL, NULL), RADI_OK);
    /* Removing by URI works for named members too; re-adding after removal works. */
    assert_int_equal(radi_group_remove_member(g, abs_ext), RADI_OK);
    assert_int_equal(radi_group_add_member(g, "sub", 1, "s"), RADI_OK);
    radi_group_close(g);
    assert_int_equal(radi_group_open(g_ctx, g_uri, &g), RADI_OK);
    assert_int_equal(radi_group_member_count(g), 2);
    assert_true(find_member(g, "s", NULL, &m));
    assert_int_equal(m.type, RADI_OBJECT_GROUP);
    radi_group_close(g);

    /* Opening what is not a group. */
    assert_int_equal(radi_group_open(g_ctx, a1, &g), RADI_E_NOT_FOUND);
    assert_int_equal(radi_group_open(g_ctx, "/nonexistent/radi", &g), RADI_E_NOT_FOUND);

    /* Removal of objects. */
    assert_int_equal(radi_object_remove(g_ctx, ext), RADI_OK);
    assert_int_equal(radi_object_type_of(g_ctx, ext, &ot), RADI_OK);
    assert_int_equal(ot, RADI_OBJECT_INVALID);
    assert_int_equal(radi_object_remove(g_ctx, ext), RADI_E_NOT_FOUND);
    assert_int_equal(radi_object_remove(g_ctx, g_uri), RADI_OK);
    assert_int_equal(radi_object_type_of(g_ctx, a1, &ot), RADI_OK);
    assert_int_equal(ot, RADI_OBJECT_INVALID);

    rdi_buf_free(&p);
    free(abs_a1);
    free(abs_ext);
    free(g_uri);
    free(a1);
    free(sub);
    free(ext);
    assert_int_equal(rdi_vfs_remove_dir(g_ctx->vfs, dir), RADI_OK);
}

static void test_damaged_details(void **state)
{
    (void)state;
    char dir[] = "/tmp/radi_group_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *g_uri = rdi_path_join(dir, "g");
    assert_int_equal(radi_group_create(g_ctx, g_uri), RADI_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/__group/__5_5_0000000000000000000000000000000a_2", g_uri);
    static const uint8_t v3[] = {3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t many[] = {2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t trunc[] = {2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 1, 9, 0, 0, 0,
                                    0, 0, 0, 0, 'a', 'b', 'c', 'd', 'e', 'f', 'g'};
    static const uint8_t badtype[] = {2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 7, 1, 1, 0, 0, 0,
                                      0, 0, 0, 0, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    const struct { const uint8_t *p; size_t n; radi_status want; } cases[] = {
        {v3, sizeof v3, RADI_E_UNSUPPORTED},
        {many, sizeof many, RADI_E_CORRUPT},
        {trunc, sizeof trunc, RADI_E_CORRUPT},
        {badtype, sizeof badtype, RADI_E_CORRUPT},
    };
    radi_group *g = NULL;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        rdi_buf t = RDI_BUF_INIT;
        assert_int_equal(rdi_generic_tile_encode(cases[i].p, cases[i].n, 22, g_scratch, &t), RADI_OK);
        assert_int_equal(rdi_vfs_write(g_ctx->vfs, path, t.data, t.len), RADI_OK);
        assert_int_equal(radi_group_open(g_ctx, g_uri, &g), cases[i].want);
        assert_non_null(strstr(radi_errmsg(), "__5_5_"));
        rdi_buf_free(&t);
    }
    assert_int_equal(rdi_vfs_write(g_ctx->vfs, path, "xx", 2), RADI_OK);
    assert_int_equal(radi_group_open(g_ctx, g_uri, &g), RADI_E_CORRUPT);
    assert_non_null(strstr(radi_errmsg(), "__5_5_"));
    free(g_uri);
    assert_int_equal(rdi_vfs_remove_dir(g_ctx->vfs, dir), RADI_OK);
}

/* Every byte of TileDB's details payload damaged in turn, or cut short: a clean status
 * (or a valid reading), never a crash or a leak. */
static void test_garbled_golden(void **state)
{
    (void)state;
    char dir[] = "/tmp/radi_group_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *g_uri = rdi_path_join(dir, "g");
    assert_int_equal(radi_group_create(g_ctx, g_uri), RADI_OK);
    char *gdir = rdi_path_join(GOLDEN "group", "__group");
    rdi_dirlist ls;
    assert_int_equal(rdi_vfs_ls(g_ctx->vfs, gdir, &ls), RADI_OK);
    char *src = rdi_path_join(gdir, ls.items[1].name);
    rdi_buf p = RDI_BUF_INIT, copy = RDI_BUF_INIT, t = RDI_BUF_INIT;
    assert_int_equal(rdi_generic_tile_read(g_ctx->vfs, src, 0, g_scratch, &p), RADI_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/__group/__5_5_0000000000000000000000000000000a_2", g_uri);
    for (size_t i = 0; i <= p.len; i++) {
        for (int k = 0; k < 3; k++) {
            static const uint8_t vals[] = {0x00, 0x7f, 0xff};
            copy.len = 0;
            assert_int_equal(rdi_buf_append(&copy, p.data, p.len), RADI_OK);
            if (i == p.len) copy.len = (size_t)k * 5;
            else copy.data[i] = vals[k];
            t.len = 0;
            assert_int_equal(rdi_generic_tile_encode(copy.data, copy.len, 22, g_scratch, &t), RADI_OK);
            assert_int_equal(rdi_vfs_write(g_ctx->vfs, path, t.data, t.len), RADI_OK);
            radi_group *g = NULL;
            radi_status st = radi_group_open(g_ctx, g_uri, &g);
            if (st == RADI_OK) radi_group_close(g);
            else assert_non_null(strstr(radi_errmsg(), "__5_5_"));
        }
    }
    rdi_buf_free(&p);
    rdi_buf_free(&copy);
    rdi_buf_free(&t);
    free(src);
    rdi_dirlist_free(&ls);
    free(gdir);
    free(g_uri);
    assert_int_equal(rdi_vfs_remove_dir(g_ctx->vfs, dir), RADI_OK);
}

/* Reading a group writes nothing; a failing change leaves membership as it was. */
static void test_group_faults(void **state)
{
    (void)state;
    radi_ctx *ctx = NULL;
    assert_int_equal(radi_ctx_create(NULL, &ctx), RADI_OK);
    rdi_fault fault = {.ops_mask = RDI_FAULT_WRITE | RDI_FAULT_REMOVE, .fail_at = 1, .persistent = 1,
                       .inner = &rdi_vfs_posix_ops};
    assert_int_equal(rdi_vfs_set_local(ctx->vfs, &rdi_vfs_fault_ops, &fault), RADI_OK);
    radi_group *g = NULL;
    assert_int_equal(radi_group_open(ctx, GOLDEN "group", &g), RADI_OK);
    radi_group_close(g);
    assert_int_equal(fault.calls, 0);

    char dir[] = "/tmp/radi_group_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *g_uri = rdi_path_join(dir, "g"), *a1 = rdi_path_join(g_uri, "a1");
    fault = (rdi_fault){.inner = &rdi_vfs_posix_ops};
    assert_int_equal(radi_group_create(ctx, g_uri), RADI_OK);
    radi_schema *s = NULL;
    assert_int_equal(radi_schema_create(RADI_DENSE, &s), RADI_OK);
    int32_t lo = 0, hi = 3, ext = 4;
    assert_int_equal(radi_schema_add_dim(s, "x", RADI_INT32, &lo, &hi, &ext, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_attr(s, "a", RADI_UINT8, 1, 0, NULL, NULL, 0), RADI_OK);
    assert_int_equal(radi_array_create(ctx, a1, s), RADI_OK);
    radi_schema_free(s);
    assert_int_equal(radi_group_open(ctx, g_uri, &g), RADI_OK);
    assert_int_equal(radi_group_add_member(g, "a1", 1, "x"), RADI_OK);
    fault = (rdi_fault){.ops_mask = RDI_FAULT_WRITE, .fail_at = 1, .inner = &rdi_vfs_posix_ops};
    assert_int_equal(radi_group_add_member(g, "a1", 1, "y"), RADI_E_IO);
    assert_int_equal(radi_group_member_count(g), 1);
    fault = (rdi_fault){.ops_mask = RDI_FAULT_WRITE, .fail_at = 1, .inner = &rdi_vfs_posix_ops};
    assert_int_equal(radi_group_remove_member(g, "x"), RADI_E_IO);
    assert_int_equal(radi_group_member_count(g), 1);
    radi_group_member m;
    assert_int_equal(radi_group_member_at(g, 0, &m), RADI_OK);
    assert_string_equal(m.name, "x");
    radi_group_close(g);
    assert_int_equal(radi_group_open(ctx, g_uri, &g), RADI_OK);
    assert_int_equal(radi_group_member_count(g), 1);
    radi_group_close(g);
    free(g_uri);
    free(a1);
    fault = (rdi_fault){.inner = &rdi_vfs_posix_ops};
    assert_int_equal(rdi_vfs_remove_dir(ctx->vfs, dir), RADI_OK);
    radi_ctx_free(ctx);
}

/* Batch adds, replacements and relativizing are each one details file, all or nothing,
 * and what a reopened group (or TileDB, reading every file in order) sees. */
static void test_batch_replace_relativize(void **state)
{
    (void)state;
    radi_ctx *ctx = NULL;
    assert_int_equal(radi_ctx_create(NULL, &ctx), RADI_OK);
    rdi_fault fault = {.inner = &rdi_vfs_posix_ops};
    assert_int_equal(rdi_vfs_set_local(ctx->vfs, &rdi_vfs_fault_ops, &fault), RADI_OK);
    char dir[] = "/tmp/radi_group_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *g_uri = rdi_path_join(dir, "g");
    assert_int_equal(radi_group_create(ctx, g_uri), RADI_OK);
    const char *names[3] = {"0", "1", "2"};
    for (int i = 0; i < 3; i++) {
        char *a = rdi_path_join(g_uri, names[i]);
        assert_int_equal(radi_group_create(ctx, a), RADI_OK);
        free(a);
    }
    radi_group *g = NULL;
    assert_int_equal(radi_group_open(ctx, g_uri, &g), RADI_OK);
    /* A duplicate in the batch: nothing is added. */
    const char *dup[2] = {"0", "0"};
    assert_int_equal(radi_group_add_members(g, 2, dup, 1, dup), RADI_E_EXISTS);
    assert_int_equal(radi_group_member_count(g), 0);
    fault = (rdi_fault){.ops_mask = RDI_FAULT_WRITE, .fail_at = 1, .inner = &rdi_vfs_posix_ops};
    assert_int_equal(radi_group_add_members(g, 3, names, 1, names), RADI_E_IO);
    assert_int_equal(radi_group_member_count(g), 0);
    fault = (rdi_fault){.inner = &rdi_vfs_posix_ops};
    /* Two absolute, one relative; then the absolute ones become relative in one file. */
    char *abs0 = rdi_path_join(g_uri, "0"), *abs1 = rdi_path_join(g_uri, "1");
    const char *absn[2] = {abs0, abs1};
    assert_int_equal(radi_group_add_members(g, 2, absn, 0, names), RADI_OK);
    assert_int_equal(radi_group_add_members(g, 1, &names[2], 1, &names[2]), RADI_OK);
    uint64_t changed = 0;
    assert_int_equal(rdi_group_relativize(g, &changed), RADI_OK);
    assert_int_equal(changed, 2);
    /* Renaming member "2" as "two" in one change. */
    assert_int_equal(radi_group_replace_member(g, "2", "2", 1, "0"), RADI_E_EXISTS);
    assert_int_equal(radi_group_replace_member(g, "nope", "2", 1, "x"), RADI_E_NOT_FOUND);
    assert_int_equal(radi_group_replace_member(g, "2", "2", 1, "two"), RADI_OK);
    radi_group_close(g);
    assert_int_equal(radi_group_open(ctx, g_uri, &g), RADI_OK);
    assert_int_equal(radi_group_member_count(g), 3);
    int seen = 0;
    for (uint64_t i = 0; i < 3; i++) {
        radi_group_member m;
        assert_int_equal(radi_group_member_at(g, i, &m), RADI_OK);
        assert_true(m.relative);
        seen |= strcmp(m.name, "0") == 0 ? 1 : strcmp(m.name, "1") == 0 ? 2 : strcmp(m.name, "two") == 0 ? 4 : 8;
    }
    assert_int_equal(seen, 7);
    radi_group_close(g);
    rdi_vfs_set_local(ctx->vfs, &rdi_vfs_posix_ops, NULL);
    assert_int_equal(rdi_vfs_remove_dir(ctx->vfs, dir), RADI_OK);
    free(abs0);
    free(abs1);
    free(g_uri);
    radi_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_group),
        cmocka_unit_test(test_write_group),
        cmocka_unit_test(test_damaged_details),
        cmocka_unit_test(test_garbled_golden),
        cmocka_unit_test(test_group_faults),
        cmocka_unit_test(test_batch_replace_relativize),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
