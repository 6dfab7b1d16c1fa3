/* Staging objects of streaming writes (src/model/staging.c, docs/dataset.md §8.7): the
 * held lock protects a live staging object from radi_dataset_remove_dead_stagings and
 * radi_dataset_repair, a free one (or none: a staging object from before the rule) does
 * not; radi_staging_end leaves nothing. Killed processes: tests/python/test_streaming_staging.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "radi/radiobject.h"
#include "ctx/ctx.h"
#include "vfs/vfs.h"

#define OK(x) assert_int_equal((x), RADI_OK)

static char g_dir[64];
static radi_ctx *g_ctx;

static int setup(void **state)
{
    (void)state;
    strcpy(g_dir, "/tmp/radi-staging-XXXXXX");
    if (!mkdtemp(g_dir)) return -1;
    return radi_ctx_create(NULL, &g_ctx) == RADI_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    rdi_vfs_remove_dir(g_ctx->vfs, g_dir);
    radi_ctx_free(g_ctx);
    return 0;
}

static int kind(const char *uri)
{
    int k = -1;
    OK(rdi_vfs_kind(g_ctx->vfs, uri, &k));
    return k;
}

static size_t entries(void)
{
    rdi_dirlist l = {NULL, 0};
    OK(rdi_vfs_ls(g_ctx->vfs, g_dir, &l));
    size_t n = l.n;
    rdi_dirlist_free(&l);
    return n;
}

static void test_live_kept_dead_removed(void **state)
{
    (void)state;
    char target[128], lock[160];
    snprintf(target, sizeof target, "%s/out", g_dir);
    radi_staging *st = NULL;
    OK(radi_staging_begin(g_ctx, target, &st));
    /* A copy: the URI belongs to st, which radi_staging_end frees. */
    char su[128];
    snprintf(su, sizeof su, "%s", radi_staging_uri(st));
    assert_int_equal(strncmp(su, target, strlen(target)), 0);
    assert_non_null(strstr(su, ".radi-tmp-"));
    snprintf(lock, sizeof lock, "%s.lock", su);
    assert_int_equal(kind(lock), 1);
    OK(rdi_vfs_mkdir(g_ctx->vfs, su));

    /* A staging object from before the rule (no lock object) and a stray lock object. */
    char legacy[160], stray[160];
    snprintf(legacy, sizeof legacy, "%s.radi-tmp-0123456789ab", target);
    snprintf(stray, sizeof stray, "%s.radi-tmp-ba9876543210.lock", target);
    OK(rdi_vfs_mkdir(g_ctx->vfs, legacy));
    OK(rdi_vfs_write(g_ctx->vfs, stray, "", 0));
    /* Not staging objects of `out`: other names are never touched. */
    char other[160], near[160];
    snprintf(other, sizeof other, "%s/outer.radi-tmp-0123456789ab", g_dir);
    snprintf(near, sizeof near, "%s.radi-tmp-xyz", target);
    OK(rdi_vfs_mkdir(g_ctx->vfs, other));
    OK(rdi_vfs_mkdir(g_ctx->vfs, near));

    char *removed = NULL;
    OK(radi_dataset_remove_dead_stagings(g_ctx, target, &removed));
    assert_non_null(removed);
    assert_string_equal(removed, legacy);
    radi_free(removed);
    assert_int_equal(kind(legacy), 0);
    assert_int_equal(kind(stray), 0);
    assert_int_equal(kind(su), 2); /* live: its lock is held (another open file, same process) */
    assert_int_equal(kind(lock), 1);
    assert_int_equal(kind(other), 2);
    assert_int_equal(kind(near), 2);

    /* Repair: nothing at target and nothing dead beside it. */
    char *op = NULL;
    assert_int_equal(radi_dataset_repair(g_ctx, target, &op), RADI_E_NOT_FOUND);
    assert_null(op);
    assert_int_equal(kind(su), 2);

    OK(radi_staging_end(st));
    assert_int_equal(kind(su), 0);
    assert_int_equal(kind(lock), 0);
    assert_int_equal(entries(), 2); /* other, near */

    OK(rdi_vfs_mkdir(g_ctx->vfs, legacy));
    OK(radi_dataset_repair(g_ctx, target, &op));
    assert_string_equal(op, "streaming_write");
    radi_free(op);
    assert_int_equal(kind(legacy), 0);
    OK(radi_dataset_remove_dead_stagings(g_ctx, target, &removed));
    assert_null(removed);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    radi_staging *st = NULL;
    assert_int_equal(radi_staging_begin(g_ctx, NULL, &st), RADI_E_INVALID);
    assert_int_equal(radi_staging_begin(NULL, "x", &st), RADI_E_INVALID);
    assert_int_equal(radi_dataset_remove_dead_stagings(g_ctx, NULL, NULL), RADI_E_INVALID);
    OK(radi_staging_end(NULL));
    assert_null(radi_staging_uri(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_kept_dead_removed),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
