/* radi_order_statistics: values at ranks of the ascending order (NaN last), data untouched. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "radi/volume.h"

static void test_int16_ranks(void **state)
{
    (void)state;
    int16_t v[7] = {5, -3, 32767, -32768, 5, 0, 12};
    int16_t copy[7];
    memcpy(copy, v, sizeof v);
    const uint64_t ks[5] = {6, 0, 3, 2, 3}; /* any order, repeats allowed */
    int16_t out[5];
    assert_int_equal(radi_order_statistics(v, RADI_INT16, 7, 5, ks, out), RADI_OK);
    const int16_t want[5] = {32767, -32768, 5, 0, 5};
    assert_memory_equal(out, want, sizeof want);
    assert_memory_equal(v, copy, sizeof v);
}

static void test_float_order(void **state)
{
    (void)state;
    double v[8] = {NAN, 1.5, -INFINITY, -2.0, INFINITY, -0.0, 1e-300, -1e-300};
    const uint64_t ks[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    double out[8];
    assert_int_equal(radi_order_statistics(v, RADI_FLOAT64, 8, 8, ks, out), RADI_OK);
    assert_true(isinf(out[0]) && out[0] < 0);
    assert_true(out[1] == -2.0 && out[2] == -1e-300 && out[3] == 0.0 && signbit(out[3]));
    assert_true(out[4] == 1e-300 && out[5] == 1.5 && isinf(out[6]) && out[6] > 0 && isnan(out[7]));
    float f[4] = {3.0f, -1.0f, NAN, 2.0f};
    const uint64_t k2[2] = {3, 1};
    float fo[2];
    assert_int_equal(radi_order_statistics(f, RADI_FLOAT32, 4, 2, k2, fo), RADI_OK);
    assert_true(isnan(fo[0]) && fo[1] == 2.0f);
}

static void test_wide_and_bool(void **state)
{
    (void)state;
    uint64_t u[4] = {UINT64_MAX, 0, UINT64_C(1) << 63, 7};
    const uint64_t ks[2] = {2, 3};
    uint64_t uo[2];
    assert_int_equal(radi_order_statistics(u, RADI_UINT64, 4, 2, ks, uo), RADI_OK);
    assert_true(uo[0] == (UINT64_C(1) << 63) && uo[1] == UINT64_MAX);
    int64_t s[3] = {INT64_MIN, INT64_MAX, -1};
    int64_t so[1];
    const uint64_t k1[1] = {1};
    assert_int_equal(radi_order_statistics(s, RADI_INT64, 3, 1, k1, so), RADI_OK);
    assert_true(so[0] == -1);
    uint8_t b[5] = {1, 0, 1, 1, 0};
    uint8_t bo[1];
    assert_int_equal(radi_order_statistics(b, RADI_BOOL, 5, 1, k1, bo), RADI_OK);
    assert_int_equal(bo[0], 0);
}

static void test_errors(void **state)
{
    (void)state;
    int32_t v[3] = {1, 2, 3};
    const uint64_t bad[1] = {3};
    int32_t out[1];
    assert_int_equal(radi_order_statistics(v, RADI_INT32, 3, 1, bad, out), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "rank 3 of 3"));
    const uint64_t ok[1] = {0};
    assert_int_equal(radi_order_statistics(v, RADI_STRING_UTF8, 3, 1, ok, out), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "not numbers"));
    assert_int_equal(radi_order_statistics(v, RADI_INT32, 0, 1, ok, out), RADI_E_INVALID);
    assert_int_equal(radi_order_statistics(NULL, RADI_INT32, 3, 1, ok, out), RADI_E_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int16_ranks),
        cmocka_unit_test(test_float_order),
        cmocka_unit_test(test_wide_and_bool),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
