/* Core layer: buffers, reader bounds, errors, thread pool, labels, POSIX VFS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/core.h"
#include "core/pool.h"
#include "vfs/vfs.h"

static void test_buf_and_reader(void **state)
{
    (void)state;
    rdi_buf b = RDI_BUF_INIT;
    assert_int_equal(rdi_buf_put_u32(&b, 0x11223344u), RADI_OK);
    assert_int_equal(rdi_buf_put_u64(&b, 7), RADI_OK);
    assert_int_equal(rdi_buf_put_str32(&b, "abc"), RADI_OK);
    assert_int_equal(b.len, 4 + 8 + 4 + 3);
    assert_int_equal(b.data[0], 0x44);

    rdi_rd r;
    rdi_rd_init(&r, b.data, b.len, "unit");
    uint32_t u32;
    uint64_t u64;
    char *s = NULL;
    assert_int_equal(rdi_rd_u32(&r, &u32, "a"), RADI_OK);
    assert_int_equal(u32, 0x11223344u);
    assert_int_equal(rdi_rd_u64(&r, &u64, "b"), RADI_OK);
    assert_int_equal(u64, 7);
    assert_int_equal(rdi_rd_str32(&r, &s, "c"), RADI_OK);
    assert_string_equal(s, "abc");
    free(s);
    assert_int_equal(rdi_rd_u8(&r, (uint8_t *)&u32, "past the end"), RADI_E_CORRUPT);
    assert_non_null(strstr(radi_errmsg(), "unit"));
    assert_non_null(strstr(radi_errmsg(), "past the end"));

    /* A length prefix larger than the data must fail cleanly, not allocate. */
    uint8_t bad[12] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 'x', 'y', 'z', 'w'};
    rdi_rd_init(&r, bad, sizeof bad, "bad");
    assert_int_equal(rdi_rd_str64(&r, &s, NULL, "name"), RADI_E_CORRUPT);
    rdi_buf_free(&b);
}

static radi_status add_task(void *arg, size_t i, unsigned worker)
{
    (void)worker;
    uint64_t *slots = arg;
    slots[i] = i * i;
    return RADI_OK;
}

static radi_status failing_task(void *arg, size_t i, unsigned worker)
{
    (void)arg;
    (void)worker;
    if (i == 37) return rdi_error(RADI_E_CODEC, "task %zu failed", i);
    return RADI_OK;
}

static radi_status nested_task(void *arg, size_t i, unsigned worker)
{
    (void)worker;
    rdi_pool *pool = *(rdi_pool **)arg;
    uint64_t inner[8];
    RDI_TRY(rdi_pool_for(pool, 8, add_task, inner));
    return inner[7] == 49 && i < 100 ? RADI_OK : RADI_E_INTERNAL;
}

static void test_pool(void **state)
{
    (void)state;
    for (unsigned n = 1; n <= 4; n++) {
        rdi_pool *pool;
        assert_int_equal(rdi_pool_create(n, &pool), RADI_OK);
        for (int rep = 0; rep < 50; rep++) {
            uint64_t slots[1000] = {0};
            assert_int_equal(rdi_pool_for(pool, 1000, add_task, slots), RADI_OK);
            for (size_t i = 0; i < 1000; i++) assert_int_equal(slots[i], i * i);
        }
        assert_int_equal(rdi_pool_for(pool, 100, failing_task, NULL), RADI_E_CODEC);
        assert_string_equal(radi_errmsg(), "task 37 failed");
        assert_int_equal(rdi_pool_for(pool, 20, nested_task, &pool), RADI_OK);
        rdi_pool_free(pool);
    }
    rdi_pool_free(NULL);
}

static void test_label(void **state)
{
    (void)state;
    char a[33], b[33];
    assert_int_equal(rdi_random_label(a), RADI_OK);
    assert_int_equal(rdi_random_label(b), RADI_OK);
    assert_int_equal(strlen(a), 32);
    assert_string_not_equal(a, b);
    for (int i = 0; i < 32; i++) assert_non_null(strchr("0123456789abcdef", a[i]));
}

static void test_posix_vfs(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/radi_vfs_XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    rdi_vfs *vfs;
    assert_int_equal(rdi_vfs_create(&vfs), RADI_OK);
    char *f = rdi_path_join(tmpl, "a/b/file.bin");
    assert_int_equal(rdi_vfs_write(vfs, f, "hello world", 11), RADI_OK);
    uint64_t size;
    assert_int_equal(rdi_vfs_size(vfs, f, &size), RADI_OK);
    assert_int_equal(size, 11);
    char buf[5];
    assert_int_equal(rdi_vfs_read(vfs, f, 6, buf, 5), RADI_OK);
    assert_memory_equal(buf, "world", 5);
    assert_int_equal(rdi_vfs_read(vfs, f, 8, buf, 5), RADI_E_CORRUPT);
    char *furi = rdi_asprintf("file://%s", f);
    assert_int_equal(rdi_vfs_size(vfs, furi, &size), RADI_OK);
    char *dir = rdi_path_join(tmpl, "a/b");
    char *empty = rdi_path_join(dir, "0");
    assert_int_equal(rdi_vfs_write(vfs, empty, "", 0), RADI_OK);
    free(empty);
    rdi_dirlist l;
    assert_int_equal(rdi_vfs_ls(vfs, dir, &l), RADI_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.items[0].name, "0");
    assert_string_equal(l.items[1].name, "file.bin");
    assert_int_equal(l.items[1].size, 11);
    rdi_dirlist_free(&l);
    int kind;
    assert_int_equal(rdi_vfs_kind(vfs, dir, &kind), RADI_OK);
    assert_int_equal(kind, 2);
    assert_int_equal(rdi_vfs_size(vfs, "/nonexistent/radi/x", &size), RADI_E_NOT_FOUND);
    assert_non_null(strstr(radi_errmsg(), "/nonexistent/radi/x"));
    assert_int_equal(rdi_vfs_size(vfs, "gs://bucket/x", &size), RADI_E_INVALID);
    assert_int_equal(rdi_vfs_remove_dir(vfs, tmpl), RADI_OK);
    assert_int_equal(rdi_vfs_kind(vfs, tmpl, &kind), RADI_OK);
    assert_int_equal(kind, 0);
    free(f);
    free(furi);
    free(dir);
    rdi_vfs_free(vfs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_and_reader),
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_label),
        cmocka_unit_test(test_posix_vfs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
