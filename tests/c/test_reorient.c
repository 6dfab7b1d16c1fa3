/* Canonical reorientation (src/model/source_reorient.c): the permutation/flip map and its
 * affine, checked against geometry: every reoriented voxel must be the source voxel at the
 * same world position, found by brute force over the source. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "io/nifti.h"
#include "model/source.h"

static void world(const double a[16], double i, double j, double k, double out[3])
{
    for (int r = 0; r < 3; r++) out[r] = a[r * 4] * i + a[r * 4 + 1] * j + a[r * 4 + 2] * k + a[r * 4 + 3];
}

/* Reorients a volume of `shape` (values: their source index) with `elem`-byte voxels and
 * checks each new voxel against the source voxel at its world position, and the axis
 * codes of the new affine. */
static void check_volume(const double affine[16], const uint64_t shape[4], int target, size_t elem,
                         const char *want_codes)
{
    rdi_reorient_map m;
    assert_int_equal(rdi_reorient_plan(affine, shape, target, &m), RADI_OK);
    uint64_t ns[4];
    rdi_reorient_shape(&m, shape, ns);
    assert_int_equal(ns[3], shape[3]);
    size_t n = (size_t)(shape[0] * shape[1] * shape[2] * shape[3]);
    assert_int_equal(n, ns[0] * ns[1] * ns[2] * ns[3]);
    uint8_t *src = malloc(n * elem), *dst = malloc(n * elem);
    assert_non_null(src);
    assert_non_null(dst);
    for (size_t v = 0; v < n; v++) {
        uint64_t id = v;
        for (size_t b = 0; b < elem; b++) src[v * elem + b] = (uint8_t)(id >> (8 * (b % 8)));
    }
    rdi_reorient_apply(&m, shape, elem, src, dst);
    char codes[4];
    rdi_axcodes(m.affine, codes);
    assert_string_equal(codes, want_codes);
    size_t nsp = (size_t)(shape[0] * shape[1] * shape[2]);
    for (uint64_t t = 0; t < ns[3]; t++)
        for (uint64_t z = 0; z < ns[2]; z++)
            for (uint64_t y = 0; y < ns[1]; y++)
                for (uint64_t x = 0; x < ns[0]; x++) {
                    double w[3];
                    world(m.affine, (double)x, (double)y, (double)z, w);
                    size_t hit = SIZE_MAX, hits = 0;
                    for (size_t o = 0; o < nsp; o++) {
                        double ow[3];
                        uint64_t oi = o % shape[0], oj = o / shape[0] % shape[1], ok = o / (shape[0] * shape[1]);
                        world(affine, (double)oi, (double)oj, (double)ok, ow);
                        if (fabs(ow[0] - w[0]) < 1e-6 && fabs(ow[1] - w[1]) < 1e-6 && fabs(ow[2] - w[2]) < 1e-6)
                            hit = o, hits++;
                    }
                    assert_int_equal(hits, 1);
                    size_t nv = (size_t)(x + ns[0] * (y + ns[1] * (z + ns[2] * t)));
                    size_t ov = hit + nsp * (size_t)t; /* time untouched */
                    assert_memory_equal(dst + nv * elem, src + ov * elem, elem);
                }
    free(src);
    free(dst);
}

static void test_las_to_ras_flips_x(void **state)
{
    (void)state;
    const double a[16] = {-2, 0, 0, 5, 0, 1, 0, -1, 0, 0, 3, 2, 0, 0, 0, 1};
    const uint64_t shape[4] = {4, 3, 2, 1};
    rdi_reorient_map m;
    assert_int_equal(rdi_reorient_plan(a, shape, RADI_REORIENT_RAS, &m), RADI_OK);
    assert_true(m.reoriented);
    assert_int_equal(m.src_axis[0], 0);
    assert_true(m.flip[0] && !m.flip[1] && !m.flip[2]);
    /* x now runs +2 mm from the far end: origin 5 - 2 * 3 */
    assert_true(m.affine[0] == 2 && m.affine[3] == -1);
    assert_true(m.affine[5] == 1 && m.affine[7] == -1 && m.affine[10] == 3 && m.affine[11] == 2);
    for (size_t elem = 1; elem <= 8; elem *= 2) check_volume(a, shape, RADI_REORIENT_RAS, elem, "RAS");
}

static void test_permuted_axes_every_target(void **state)
{
    (void)state;
    /* voxel x -> P, y -> S, z -> R ("PSR"), scaled differently per axis */
    const double psr[16] = {0, 0, 1.5, -7, -0.5, 0, 0, 3, 0, 2, 0, 11, 0, 0, 0, 1};
    const uint64_t shape[4] = {5, 3, 4, 1};
    check_volume(psr, shape, RADI_REORIENT_RAS, 2, "RAS");
    check_volume(psr, shape, RADI_REORIENT_LAS, 4, "LAS");
    check_volume(psr, shape, RADI_REORIENT_LPS, 3, "LPS"); /* an odd voxel size too */
    /* 4-D: ILA, two time points, time kept */
    const double ila[16] = {0, 0, -1, 4, 0, 0.7, 0, 0, -2, 0, 0, 9, 0, 0, 0, 1};
    const uint64_t s4[4] = {3, 4, 2, 2};
    check_volume(ila, s4, RADI_REORIENT_RAS, 2, "RAS");
}

static void test_canonical_source_is_kept(void **state)
{
    (void)state;
    const double ras[16] = {1, 0, 0, 1, 0, 2, 0, 2, 0, 0, 3, 3, 0, 0, 0, 1};
    const uint64_t shape[4] = {2, 3, 4, 1};
    rdi_reorient_map m;
    /* 0.1.1 reorients only what is not RAS, whatever the target */
    for (int t = RADI_REORIENT_RAS; t <= RADI_REORIENT_LPS; t++) {
        assert_int_equal(rdi_reorient_plan(ras, shape, t, &m), RADI_OK);
        assert_false(m.reoriented);
        assert_false(rdi_reorient_moves(&m));
        assert_memory_equal(m.affine, ras, sizeof ras);
    }
    /* an LPS source to LPS: flipped to RAS and back, nothing moves */
    const double lps[16] = {-1, 0, 0, 1, 0, -2, 0, 2, 0, 0, 3, 3, 0, 0, 0, 1};
    assert_int_equal(rdi_reorient_plan(lps, shape, RADI_REORIENT_LPS, &m), RADI_OK);
    assert_true(m.reoriented);
    assert_false(rdi_reorient_moves(&m));
}

static void test_refusals(void **state)
{
    (void)state;
    const double flat[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    const uint64_t shape[4] = {2, 2, 2, 1};
    rdi_reorient_map m;
    assert_int_equal(rdi_reorient_plan(flat, shape, RADI_REORIENT_RAS, &m), RADI_E_UNSUPPORTED);
    assert_non_null(strstr(radi_errmsg(), "degenerate"));
    const double a[16] = {-1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    assert_int_equal(rdi_reorient_plan(a, shape, 9, &m), RADI_E_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_las_to_ras_flips_x),
        cmocka_unit_test(test_permuted_axes_every_target),
        cmocka_unit_test(test_canonical_source_is_kept),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
