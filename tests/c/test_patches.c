/* Batch patch reads (include/radi/patches.h): boxes inside the volume equal
 * radi_volume_read / radi_volume_read_scaled; boxes overhanging every face, edge and
 * corner (and wholly outside, and larger than the volume) in the three pad modes, raw and
 * scaled, against a reference; 4-D volumes; volumes of five dtypes in one call; per-box
 * failures that leave the other boxes read; only the touched tiles read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "volume_fixture.h"

static uint32_t rnd(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static size_t out_cs(const tvol *t, const radi_patch_options *o)
{
    return o->output == RADI_PATCH_FLOAT32 ? 4 : o->output == RADI_PATCH_FLOAT64 ? 8 : radi_datatype_size(t->dtype);
}

static uint64_t box_cells(uint32_t nd, const uint64_t *shape)
{
    uint64_t n = 1;
    for (uint32_t d = 0; d < nd; d++) n *= shape[d];
    return n;
}

/* Reads one box with radi_read_patches and checks it against the reference. */
static void check_box(vfix *f, const tvol *t, radi_volume *h, const int64_t *start, const uint64_t *shape,
                      const radi_patch_options *o)
{
    uint64_t n = box_cells(t->ndim, shape);
    size_t cs = out_cs(t, o);
    void *out = malloc((size_t)(n * cs));
    memset(out, 0xA5, (size_t)(n * cs));
    radi_patch_request rq = {h, {0, 0, 0, 0}, {1, 1, 1, 1}, out, n * cs, RADI_E_INTERNAL};
    memcpy(rq.start, start, t->ndim * sizeof *start);
    memcpy(rq.shape, shape, t->ndim * sizeof *shape);
    radi_status s = radi_read_patches(f->ctx, &rq, 1, o, NULL);
    if (s != RADI_OK) printf("  %s\n", radi_errmsg());
    assert_int_equal(s, RADI_OK);
    assert_int_equal(rq.status, RADI_OK);
    uint64_t bad = ref_compare(t, start, shape, out, o);
    if (bad)
        printf("  box start (%lld %lld %lld) shape (%llu %llu %llu) mode %d output %d: %llu bad\n",
               (long long)start[0], (long long)start[1], (long long)start[2], (unsigned long long)shape[0],
               (unsigned long long)shape[1], (unsigned long long)shape[2], o->pad_mode, o->output,
               (unsigned long long)bad);
    assert_int_equal(bad, 0);
    free(out);
}

/* Boxes inside: a batch of 40 random boxes equals radi_volume_read (raw) and
 * radi_volume_read_scaled (float32, float64) of the same boxes, on a scaled volume. */
static void test_inside_equals_volume_read(void **state)
{
    vfix *f = *state;
    tvol t;
    const uint64_t shape[3] = {45, 38, 29};
    const uint32_t ext[3] = {16, 16, 8};
    assert_int_equal(tvol_make(f, &t, "scaled", 3, shape, RADI_INT16, RADI_ISOTROPIC, ext, 2.5, -10, 5), 0);
    radi_volume *h = NULL;
    assert_int_equal(radi_volume_open(f->ctx, t.uri, &h), RADI_OK);
    enum { N = 40 };
    uint32_t seed = 42;
    for (int output = 0; output <= 2; output++) {
        radi_patch_options o;
        radi_patch_options_init(&o);
        o.output = (radi_patch_output)output;
        size_t cs = output == 0 ? 2 : output == 1 ? 4 : 8;
        radi_patch_request rq[N];
        int64_t lohi[N][6];
        for (int i = 0; i < N; i++) {
            rq[i] = (radi_patch_request){h, {0, 0, 0, 0}, {1, 1, 1, 1}, NULL, 0, RADI_E_INTERNAL};
            for (int d = 0; d < 3; d++) {
                rq[i].shape[d] = 1 + rnd(&seed) % 20;
                rq[i].start[d] = rnd(&seed) % (uint32_t)(shape[d] - rq[i].shape[d] + 1);
                lohi[i][2 * d] = rq[i].start[d];
                lohi[i][2 * d + 1] = rq[i].start[d] + (int64_t)rq[i].shape[d] - 1;
            }
            rq[i].out_size = box_cells(3, rq[i].shape) * cs;
            rq[i].out = malloc((size_t)rq[i].out_size);
        }
        radi_read_stats st;
        assert_int_equal(radi_read_patches(f->ctx, rq, N, &o, &st), RADI_OK);
        assert_true(st.tiles_read >= N);
        for (int i = 0; i < N; i++) {
            assert_int_equal(rq[i].status, RADI_OK);
            void *want = malloc((size_t)rq[i].out_size);
            radi_status s = output == 0 ? radi_volume_read(h, lohi[i], want, rq[i].out_size, NULL)
                                        : radi_volume_read_scaled(h, lohi[i], output == 1 ? RADI_FLOAT32 : RADI_FLOAT64,
                                                                  want, rq[i].out_size, NULL);
            assert_int_equal(s, RADI_OK);
            assert_memory_equal(want, rq[i].out, (size_t)rq[i].out_size);
            assert_int_equal(ref_compare(&t, rq[i].start, rq[i].shape, rq[i].out, &o), 0);
            free(want);
            free(rq[i].out);
        }
    }
    radi_volume_close(h);
    tvol_free(&t);
}

/* Every face, edge and corner: per axis the box starts before, inside or reaching past
 * the volume; plus wholly outside and larger than the volume on every side, in each pad
 * mode, raw and float32, for a plain and a scaled volume. */
static void test_overhang_faces_corners(void **state)
{
    vfix *f = *state;
    tvol t[2];
    const uint64_t shape[3] = {20, 17, 13};
    const uint32_t ext[3] = {8, 8, 8};
    assert_int_equal(tvol_make(f, &t[0], "plain", 3, shape, RADI_INT16, RADI_ISOTROPIC, ext, 1, 0, 7), 0);
    assert_int_equal(tvol_make(f, &t[1], "scaled", 3, shape, RADI_UINT8, RADI_AXIAL, NULL, 0.5, 3, 8), 0);
    for (int vi = 0; vi < 2; vi++) {
        radi_volume *h = NULL;
        assert_int_equal(radi_volume_open(f->ctx, t[vi].uri, &h), RADI_OK);
        for (int mode = 0; mode <= 2; mode++)
            for (int output = 0; output <= 1; output++) {
                radi_patch_options o = {(radi_patch_output)output, (radi_pad_mode)mode, output ? -1.5 : 77777};
                for (int c = 0; c < 27; c++) {
                    int64_t start[3];
                    uint64_t bs[3] = {7, 6, 5};
                    for (int d = 0, k = c; d < 3; d++, k /= 3) {
                        int where = k % 3;
                        start[d] = where == 0 ? -3 : where == 1 ? 2 : (int64_t)shape[d] - 4;
                    }
                    check_box(f, &t[vi], h, start, bs, &o);
                }
                const int64_t out1[3] = {-30, 5, 40}, big[3] = {-25, -40, -9};
                const uint64_t s1[3] = {4, 3, 6}, sbig[3] = {70, 90, 31};
                check_box(f, &t[vi], h, out1, s1, &o);   /* wholly outside */
                check_box(f, &t[vi], h, big, sbig, &o);  /* several volume sizes across */
            }
        radi_volume_close(h);
    }
    /* Constant pads are converted to the stored type: clamped, rounded, NaN as 0. */
    radi_volume *h = NULL;
    assert_int_equal(radi_volume_open(f->ctx, t[0].uri, &h), RADI_OK);
    const int64_t st[3] = {-2, -2, -2};
    const uint64_t bs[3] = {4, 4, 4};
    const double pads[4] = {1e9, -1e9, 2.6, NAN};
    for (int i = 0; i < 4; i++) {
        radi_patch_options o = {RADI_PATCH_STORED, RADI_PAD_CONSTANT, pads[i]};
        int16_t out[64];
        radi_patch_request rq = {h, {-2, -2, -2, 0}, {4, 4, 4, 1}, out, sizeof out, RADI_OK};
        assert_int_equal(radi_read_patches(f->ctx, &rq, 1, &o, NULL), RADI_OK);
        const int16_t want[4] = {32767, -32768, 3, 0};
        assert_int_equal(out[0], want[i]);
        if (i < 3) check_box(f, &t[0], h, st, bs, &o);
    }
    radi_volume_close(h);
    tvol_free(&t[0]);
    tvol_free(&t[1]);
}

/* 4-D: random boxes overhanging in all four axes, each pad mode. */
static void test_4d(void **state)
{
    vfix *f = *state;
    tvol t;
    const uint64_t shape[4] = {12, 10, 9, 5};
    const uint32_t ext[4] = {5, 4, 4, 2};
    assert_int_equal(tvol_make(f, &t, "t4", 4, shape, RADI_FLOAT32, RADI_ISOTROPIC, ext, 1, 0, 9), 0);
    radi_volume *h = NULL;
    assert_int_equal(radi_volume_open(f->ctx, t.uri, &h), RADI_OK);
    uint32_t seed = 3;
    for (int i = 0; i < 60; i++) {
        radi_patch_options o = {(radi_patch_output)(i % 3), (radi_pad_mode)((i / 3) % 3), 9.25};
        int64_t start[4];
        uint64_t bs[4];
        for (int d = 0; d < 4; d++) {
            bs[d] = 1 + rnd(&seed) % (uint32_t)(shape[d] + 3);
            start[d] = (int64_t)(rnd(&seed) % (uint32_t)(shape[d] + 6)) - 4;
        }
        check_box(f, &t, h, start, bs, &o);
    }
    radi_volume_close(h);
    tvol_free(&t);
}

/* Five volumes of five dtypes (one 4-D) in one call, raw and float32. */
static void test_mixed_volumes(void **state)
{
    vfix *f = *state;
    tvol t[5];
    const uint64_t s3[3] = {19, 23, 17}, s4[4] = {11, 12, 13, 3};
    const uint32_t e[4] = {8, 8, 8, 2};
    assert_int_equal(tvol_make(f, &t[0], "i16", 3, s3, RADI_INT16, RADI_ISOTROPIC, e, 1.5, 2, 11), 0);
    assert_int_equal(tvol_make(f, &t[1], "f32", 3, s3, RADI_FLOAT32, RADI_AXIAL, NULL, 1, 0, 12), 0);
    assert_int_equal(tvol_make(f, &t[2], "u8", 4, s4, RADI_UINT8, RADI_ISOTROPIC, e, 1, 0, 13), 0);
    assert_int_equal(tvol_make(f, &t[3], "f64", 3, s3, RADI_FLOAT64, RADI_SAGITTAL, NULL, 1, 0, 14), 0);
    assert_int_equal(tvol_make(f, &t[4], "i32", 3, s3, RADI_INT32, RADI_CORONAL, NULL, 1, 0, 15), 0);
    radi_volume *h[5];
    for (int i = 0; i < 5; i++) assert_int_equal(radi_volume_open(f->ctx, t[i].uri, &h[i]), RADI_OK);
    enum { N = 30 };
    uint32_t seed = 99;
    for (int output = 0; output <= 1; output++) {
        radi_patch_options o = {(radi_patch_output)output, RADI_PAD_CONSTANT, 4};
        radi_patch_request rq[N];
        for (int i = 0; i < N; i++) {
            const tvol *tv = &t[i % 5];
            rq[i] = (radi_patch_request){h[i % 5], {0, 0, 0, 0}, {1, 1, 1, 1}, NULL, 0, RADI_E_INTERNAL};
            for (uint32_t d = 0; d < tv->ndim; d++) {
                rq[i].shape[d] = 1 + rnd(&seed) % 12;
                rq[i].start[d] = (int64_t)(rnd(&seed) % (uint32_t)tv->shape[d]) - 3;
            }
            rq[i].out_size = box_cells(tv->ndim, rq[i].shape) * out_cs(tv, &o);
            rq[i].out = malloc((size_t)rq[i].out_size);
        }
        assert_int_equal(radi_read_patches(f->ctx, rq, N, &o, NULL), RADI_OK);
        for (int i = 0; i < N; i++) {
            assert_int_equal(rq[i].status, RADI_OK);
            assert_int_equal(ref_compare(&t[i % 5], rq[i].start, rq[i].shape, rq[i].out, &o), 0);
            free(rq[i].out);
        }
    }
    for (int i = 0; i < 5; i++) {
        radi_volume_close(h[i]);
        tvol_free(&t[i]);
    }
}

/* A bad request fails alone; the call returns the first failure, naming it. */
static void test_per_request_errors(void **state)
{
    vfix *f = *state;
    tvol t;
    const uint64_t shape[3] = {16, 16, 16};
    assert_int_equal(tvol_make(f, &t, "v", 3, shape, RADI_INT16, RADI_ISOTROPIC, NULL, 1, 0, 21), 0);
    radi_volume *h = NULL;
    assert_int_equal(radi_volume_open(f->ctx, t.uri, &h), RADI_OK);
    int16_t bufs[6][64];
    radi_patch_request rq[6];
    for (int i = 0; i < 6; i++) rq[i] = (radi_patch_request){h, {i, 1, 2, 0}, {4, 4, 4, 1}, bufs[i], 128, RADI_E_INTERNAL};
    rq[1].volume = NULL;                /* no volume */
    rq[3].out_size = 100;               /* short buffer */
    rq[4].shape[2] = 0;                 /* empty box */
    rq[5].start[0] = INT64_MAX - 1;     /* box past int64 */
    radi_status s = radi_read_patches(f->ctx, rq, 6, NULL, NULL);
    assert_int_equal(s, RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "request 1 of 6"));
    const radi_status want[6] = {RADI_OK, RADI_E_INVALID, RADI_OK, RADI_E_INVALID, RADI_E_INVALID, RADI_E_INVALID};
    radi_patch_options o;
    radi_patch_options_init(&o);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(rq[i].status, want[i]);
        if (want[i] == RADI_OK) assert_int_equal(ref_compare(&t, rq[i].start, rq[i].shape, rq[i].out, &o), 0);
    }
    /* Errors of the call: every status set, nothing read. */
    assert_int_equal(radi_read_patches(NULL, rq, 6, NULL, NULL), RADI_E_INVALID);
    for (int i = 0; i < 6; i++) assert_int_equal(rq[i].status, RADI_E_INVALID);
    o.pad_mode = (radi_pad_mode)7;
    rq[0].status = RADI_OK;
    assert_int_equal(radi_read_patches(f->ctx, rq, 1, &o, NULL), RADI_E_INVALID);
    assert_int_equal(rq[0].status, RADI_E_INVALID);
    assert_int_equal(radi_read_patches(f->ctx, NULL, 0, NULL, NULL), RADI_OK);
    assert_int_equal(radi_read_patches(f->ctx, NULL, 2, NULL, NULL), RADI_E_INVALID);
    radi_volume_close(h);
    tvol_free(&t);
}

/* Only the tiles a box's inside part touches are read. 64³ tiled 16³. */
static void test_tile_counts(void **state)
{
    vfix *f = *state;
    tvol t;
    const uint64_t shape[3] = {64, 64, 64};
    const uint32_t ext[3] = {16, 16, 16};
    assert_int_equal(tvol_make(f, &t, "v", 3, shape, RADI_INT16, RADI_ISOTROPIC, ext, 1, 0, 31), 0);
    radi_volume *h = NULL;
    assert_int_equal(radi_volume_open(f->ctx, t.uri, &h), RADI_OK);
    static int16_t buf[40 * 40 * 40];
    struct {
        int64_t start[3];
        uint64_t shape[3];
        radi_pad_mode mode;
        uint64_t tiles;
    } cases[] = {
        {{17, 33, 49}, {8, 8, 8}, RADI_PAD_CONSTANT, 1},    /* inside one tile */
        {{12, 12, 12}, {8, 8, 8}, RADI_PAD_CONSTANT, 8},    /* across 2x2x2 */
        {{10, 0, 0}, {16, 16, 16}, RADI_PAD_CONSTANT, 2},   /* aligned in y, z */
        {{-4, -4, -4}, {8, 8, 8}, RADI_PAD_CONSTANT, 1},    /* corner overhang: one tile */
        {{60, 60, 60}, {8, 8, 8}, RADI_PAD_EDGE, 1},        /* far corner, edge padded */
        {{-20, 5, 5}, {8, 8, 8}, RADI_PAD_CONSTANT, 0},     /* wholly outside */
        {{-20, 5, 5}, {8, 8, 8}, RADI_PAD_EDGE, 1},         /* ... edge: the face plane */
        {{-8, 0, 0}, {40, 16, 16}, RADI_PAD_REFLECT, 2},    /* reflect maps into 0..31 */
        {{0, 0, 0}, {64, 1, 1}, RADI_PAD_CONSTANT, 4},      /* a line through 4 tiles */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        radi_patch_options o = {RADI_PATCH_STORED, cases[i].mode, 0};
        radi_patch_request rq = {h, {0}, {1, 1, 1, 1}, buf, sizeof buf, RADI_OK};
        memcpy(rq.start, cases[i].start, sizeof cases[i].start);
        memcpy(rq.shape, cases[i].shape, sizeof cases[i].shape);
        radi_read_stats st;
        assert_int_equal(radi_read_patches(f->ctx, &rq, 1, &o, &st), RADI_OK);
        if (st.tiles_read != cases[i].tiles) printf("  case %zu: %llu tiles\n", i, (unsigned long long)st.tiles_read);
        assert_int_equal(st.tiles_read, cases[i].tiles);
        assert_int_equal(ref_compare(&t, rq.start, rq.shape, buf, &o), 0);
    }
    /* A batch: the sum, a tile two boxes need counted twice. */
    radi_patch_request rq[3];
    static int16_t b3[3][512];
    for (int i = 0; i < 3; i++) rq[i] = (radi_patch_request){h, {17, 33, 49, 0}, {8, 8, 8, 1}, b3[i], 1024, RADI_OK};
    rq[2].start[0] = 12;
    rq[2].start[1] = 12;
    rq[2].start[2] = 12;
    radi_read_stats st;
    assert_int_equal(radi_read_patches(f->ctx, rq, 3, NULL, &st), RADI_OK);
    assert_int_equal(st.tiles_read, 1 + 1 + 8);
    radi_volume_close(h);
    tvol_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_inside_equals_volume_read, vfix_setup, vfix_teardown),
        cmocka_unit_test_setup_teardown(test_overhang_faces_corners, vfix_setup, vfix_teardown),
        cmocka_unit_test_setup_teardown(test_4d, vfix_setup, vfix_teardown),
        cmocka_unit_test_setup_teardown(test_mixed_volumes, vfix_setup, vfix_teardown),
        cmocka_unit_test_setup_teardown(test_per_request_errors, vfix_setup, vfix_teardown),
        cmocka_unit_test_setup_teardown(test_tile_counts, vfix_setup, vfix_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
