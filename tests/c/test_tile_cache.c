/* The decoded-tile cache (core/tile_cache.h) and radi_read_patches over it: hits, LRU
 * eviction by bytes, entries pinned through an eviction, a concurrent duplicate insert,
 * admission on the second use; a batch read a third time reads no bytes and gives the same voxels as with the cache off; many
 * threads reading through a cache of three tiles (constant eviction) get exact boxes. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/tile_cache.h"
#include "volume_fixture.h"

static uint8_t *filled(size_t n, uint8_t v)
{
    uint8_t *p = malloc(n);
    memset(p, v, n);
    return p;
}

static void test_lru(void **state)
{
    (void)state;
    rdi_tile_cache *c = NULL;
    assert_int_equal(rdi_tile_cache_create(300, &c), RADI_OK);
    assert_true(rdi_tile_cache_fits(c, 300));
    assert_false(rdi_tile_cache_fits(c, 301));
    rdi_tile_cache_release(c, rdi_tile_cache_put(c, "f/a0.tdb", 0, filled(100, 1), 100));
    rdi_tile_cache_release(c, rdi_tile_cache_put(c, "f/a0.tdb", 1, filled(100, 2), 100));
    rdi_tile_cache_release(c, rdi_tile_cache_put(c, "g/a0.tdb", 0, filled(100, 3), 100));
    /* the key is file and index; a size other than the entry's is a miss */
    rdi_tile_entry *e = rdi_tile_cache_get(c, "f/a0.tdb", 0, 100);
    assert_non_null(e);
    assert_int_equal(rdi_tile_entry_data(e)[99], 1);
    assert_null(rdi_tile_cache_get(c, "f/a0.tdb", 0, 99));
    assert_null(rdi_tile_cache_get(c, "f/a0.tdb", 2, 100));
    assert_null(rdi_tile_cache_get(c, "f/a1.tdb", 0, 100));
    rdi_tile_cache_release(c, e);
    /* f#0 was used last, so a fourth tile evicts f#1, the least recent */
    rdi_tile_cache_release(c, rdi_tile_cache_put(c, "h/a0.tdb", 0, filled(100, 4), 100));
    assert_null(rdi_tile_cache_get(c, "f/a0.tdb", 1, 100));
    rdi_tile_entry *f0 = rdi_tile_cache_get(c, "f/a0.tdb", 0, 100);
    rdi_tile_entry *g0 = rdi_tile_cache_get(c, "g/a0.tdb", 0, 100);
    assert_non_null(f0);
    assert_non_null(g0);
    rdi_tile_cache_release(c, g0);
    /* a 300-byte tile evicts everything, f#0 too, which stays readable while pinned */
    rdi_tile_cache_release(c, rdi_tile_cache_put(c, "big", 7, filled(300, 9), 300));
    assert_null(rdi_tile_cache_get(c, "g/a0.tdb", 0, 100));
    assert_null(rdi_tile_cache_get(c, "f/a0.tdb", 0, 100));
    assert_int_equal(rdi_tile_entry_data(f0)[0], 1);
    rdi_tile_cache_release(c, f0); /* freed here (ASan checks) */
    /* a second insert of a key returns the first entry and frees its own bytes */
    rdi_tile_entry *a = rdi_tile_cache_put(c, "k", 1, filled(50, 5), 50);
    rdi_tile_entry *b = rdi_tile_cache_put(c, "k", 1, filled(50, 6), 50);
    assert_ptr_equal(a, b);
    assert_int_equal(rdi_tile_entry_data(b)[0], 5);
    rdi_tile_cache_release(c, a);
    rdi_tile_cache_release(c, b);
    rdi_tile_cache_free(c);
}

static void test_admission(void **state)
{
    (void)state;
    rdi_tile_cache *c = NULL;
    assert_int_equal(rdi_tile_cache_create(1000, &c), RADI_OK);
    /* first offer remembered, second admitted, and then forgotten by the doorkeeper */
    assert_false(rdi_tile_cache_admit(c, "f/a0.tdb", 3, 100));
    assert_false(rdi_tile_cache_admit(c, "f/a0.tdb", 4, 100));
    assert_true(rdi_tile_cache_admit(c, "f/a0.tdb", 3, 100));
    assert_false(rdi_tile_cache_admit(c, "f/a0.tdb", 3, 100));
    assert_true(rdi_tile_cache_admit(c, "f/a0.tdb", 4, 100));
    /* a window of ~2 * capacity / size offers: 500 other keys push a key out */
    assert_false(rdi_tile_cache_admit(c, "g", 0, 100));
    int forgotten = 0;
    for (uint64_t k = 1; k <= 500; k++) rdi_tile_cache_admit(c, "h", k, 100);
    forgotten = !rdi_tile_cache_admit(c, "g", 0, 100);
    assert_true(forgotten);
    rdi_tile_cache_free(c);
}

static radi_ctx *ctx_with_cache(const char *bytes)
{
    radi_options *o = NULL;
    radi_ctx *ctx = NULL;
    assert_int_equal(radi_options_create(&o), RADI_OK);
    assert_int_equal(radi_options_set(o, "tile_cache_size", bytes), RADI_OK);
    assert_int_equal(radi_options_set(o, "concurrency", "4"), RADI_OK);
    assert_int_equal(radi_ctx_create_with_options(NULL, o, &ctx), RADI_OK);
    radi_options_free(o);
    return ctx;
}

enum { NB = 24 };

static void boxes(uint32_t seed, const uint64_t *shape, radi_volume *h, radi_patch_request *rq, int16_t (*buf)[12 * 12 * 12])
{
    for (int i = 0; i < NB; i++) {
        rq[i] = (radi_patch_request){h, {0, 0, 0, 0}, {12, 12, 12, 1}, buf[i], sizeof buf[i], RADI_E_INTERNAL};
        for (int d = 0; d < 3; d++) {
            seed = seed * 1103515245u + 12345u;
            /* some boxes overhang: the cache serves the inner part, padding the rest */
            rq[i].start[d] = (int64_t)((seed >> 8) % (uint32_t)(shape[d] + 4)) - 4;
        }
    }
}

static void test_repeat_reads_nothing(void **state)
{
    vfix *f = *state;
    tvol t;
    const uint64_t shape[3] = {40, 36, 30};
    const uint32_t ext[3] = {16, 16, 16};
    assert_int_equal(tvol_make(f, &t, "rep", 3, shape, RADI_INT16, RADI_ISOTROPIC, ext, 1, 0, 3), 0);
    radi_patch_options o;
    radi_patch_options_init(&o);
    static int16_t on[NB][12 * 12 * 12], off[NB][12 * 12 * 12];
    radi_patch_request rq[NB];
    radi_ctx *cached = ctx_with_cache("1048576"), *plain = ctx_with_cache("0");
    radi_volume *h = NULL, *h0 = NULL;
    assert_int_equal(radi_volume_open(cached, t.uri, &h), RADI_OK);
    assert_int_equal(radi_volume_open(plain, t.uri, &h0), RADI_OK);
    radi_read_stats s1, s2, s3;
    boxes(7, shape, h, rq, on);
    assert_int_equal(radi_read_patches(cached, rq, NB, &o, &s1), RADI_OK);
    assert_true(s1.bytes_read > 0);
    for (int i = 0; i < NB; i++) assert_int_equal(ref_compare(&t, rq[i].start, rq[i].shape, on[i], &o), 0);
    /* a tile enters the cache on its second use: the second read puts them all there */
    memset(on, 0x5A, sizeof on);
    assert_int_equal(radi_read_patches(cached, rq, NB, &o, &s2), RADI_OK);
    for (int i = 0; i < NB; i++) assert_int_equal(ref_compare(&t, rq[i].start, rq[i].shape, on[i], &o), 0);
    memset(on, 0x5A, sizeof on);
    assert_int_equal(radi_read_patches(cached, rq, NB, &o, &s2), RADI_OK);
    assert_int_equal(s2.tiles_read, s1.tiles_read); /* tiles used, whether read or cached */
    assert_int_equal(s2.bytes_read, 0);
    assert_int_equal(s2.io_requests, 0);
    boxes(7, shape, h0, rq, off);
    assert_int_equal(radi_read_patches(plain, rq, NB, &o, &s3), RADI_OK);
    assert_int_equal(s3.tiles_read, s1.tiles_read);
    assert_true(s3.bytes_read > 0);
    assert_memory_equal(on, off, sizeof on);
    radi_volume_close(h);
    radi_volume_close(h0);
    radi_ctx_free(cached);
    radi_ctx_free(plain);
    tvol_free(&t);
}

typedef struct reader {
    const tvol *t;
    radi_ctx *ctx;
    radi_volume *h;
    uint32_t seed;
    int bad;
} reader;

static void *read_loop(void *arg)
{
    reader *r = arg;
    static _Thread_local float buf[NB][12 * 12 * 12];
    radi_patch_options o;
    radi_patch_options_init(&o);
    o.output = RADI_PATCH_FLOAT32;
    for (int round = 0; round < 12; round++) {
        radi_patch_request rq[NB];
        for (int i = 0; i < NB; i++) {
            rq[i] = (radi_patch_request){r->h, {0, 0, 0, 0}, {12, 12, 12, 1}, buf[i], sizeof buf[i], RADI_OK};
            for (int d = 0; d < 3; d++) {
                r->seed = r->seed * 1103515245u + 12345u;
                rq[i].start[d] = (int64_t)((r->seed >> 8) % (uint32_t)(r->t->shape[d] - 11));
            }
        }
        if (radi_read_patches(r->ctx, rq, NB, &o, NULL) != RADI_OK) r->bad++;
        for (int i = 0; i < NB; i++) r->bad += ref_compare(r->t, rq[i].start, rq[i].shape, buf[i], &o) != 0;
    }
    return NULL;
}

static void test_threads_under_eviction(void **state)
{
    vfix *f = *state;
    tvol t;
    const uint64_t shape[3] = {48, 48, 40};
    const uint32_t ext[3] = {16, 16, 16};
    assert_int_equal(tvol_make(f, &t, "thr", 3, shape, RADI_INT16, RADI_ISOTROPIC, ext, 2.5, -10, 9), 0);
    /* three 8 KiB tiles: nearly every tile is evicted while other threads hold it */
    radi_ctx *ctx = ctx_with_cache("24576");
    radi_volume *h = NULL;
    assert_int_equal(radi_volume_open(ctx, t.uri, &h), RADI_OK);
    enum { NT = 4 };
    reader r[NT];
    pthread_t th[NT];
    for (int i = 0; i < NT; i++) {
        r[i] = (reader){&t, ctx, h, 100u + (uint32_t)i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, read_loop, &r[i]), 0);
    }
    for (int i = 0; i < NT; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(r[i].bad, 0);
    }
    radi_volume_close(h);
    radi_ctx_free(ctx);
    tvol_free(&t);
}

static void test_option_checked(void **state)
{
    (void)state;
    radi_options *o = NULL;
    assert_int_equal(radi_options_create(&o), RADI_OK);
    assert_int_equal(radi_options_set(o, "tile_cache_size", "lots"), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "tile_cache_size"));
    assert_int_equal(radi_options_set(o, "tile_cache_size", "0"), RADI_OK);
    radi_options_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lru),
        cmocka_unit_test(test_admission),
        cmocka_unit_test(test_option_checked),
        cmocka_unit_test_setup_teardown(test_repeat_reads_nothing, vfix_setup, vfix_teardown),
        cmocka_unit_test_setup_teardown(test_threads_under_eviction, vfix_setup, vfix_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
