/* Timestamped names (format.md §2): the forms TileDB writes, and garbage refused cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tdb/tdb.h"

static void test_parse_forms(void **state)
{
    (void)state;
    rdi_tsname t;
    /* Fragment / commit form: 5 underscores, version last. */
    assert_int_equal(rdi_tsname_parse("__1000_2000_46423c3651179c9aca9f19e85f41fb3f_22", &t), RADI_OK);
    assert_int_equal(t.t1, 1000);
    assert_int_equal(t.t2, 2000);
    assert_string_equal(t.uuid, "46423c3651179c9aca9f19e85f41fb3f");
    assert_int_equal(t.version, 22);
    /* Schema / metadata form: 4 underscores, no version. */
    assert_int_equal(rdi_tsname_parse("__1795508812827_1795508812827_5f2a1500b33f8b67b36d75ae8cdf4351", &t),
                     RADI_OK);
    assert_int_equal(t.t1, 1795508812827ULL);
    assert_int_equal(t.version, 0);
    /* Group details use version 2. */
    assert_int_equal(rdi_tsname_parse("__5_5_ab_2", &t), RADI_OK);
    assert_int_equal(t.version, 2);
    assert_string_equal(t.uuid, "ab");
    /* The largest timestamps. */
    assert_int_equal(rdi_tsname_parse("__18446744073709551615_18446744073709551615_0f", &t), RADI_OK);
    assert_true(t.t2 == UINT64_MAX);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "_1_2_ab", "1_2_ab", "__1_2", "__1__ab", "__a_2_ab", "__1_2_", "__1_2_xyz",
        "__2_1_ab",                                  /* t1 > t2 */
        "__1_2_ab_22_3",                             /* too many fields */
        "__1_2_ab_",                                 /* empty version */
        "__1_2_ab_0",                                /* version 0 */
        "__18446744073709551616_18446744073709551616_ab", /* overflow */
        "__1_2_0123456789abcdef0123456789abcdef0",   /* uuid of 33 digits */
        "__-1_2_ab", "__1_2_ab_v22",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rdi_tsname t;
        radi_status s = rdi_tsname_parse(bad[i], &t);
        if (s != RADI_E_CORRUPT) fail_msg("'%s' parsed (status %d)", bad[i], s);
        assert_non_null(strstr(radi_errmsg(), bad[i]));
    }
    rdi_tsname t;
    assert_int_equal(rdi_tsname_parse(NULL, &t), RADI_E_CORRUPT);
}

static void test_make_roundtrip(void **state)
{
    (void)state;
    char *a = NULL, *b = NULL;
    assert_int_equal(rdi_tsname_make(1234, 5678, 21, &a), RADI_OK);
    assert_int_equal(rdi_tsname_make(1234, 1234, 0, &b), RADI_OK);
    rdi_tsname t;
    assert_int_equal(rdi_tsname_parse(a, &t), RADI_OK);
    assert_int_equal(t.t1, 1234);
    assert_int_equal(t.t2, 5678);
    assert_int_equal(t.version, 21);
    assert_int_equal(strlen(t.uuid), 32);
    for (size_t i = 0; i < 32; i++) assert_true(strchr("0123456789abcdef", t.uuid[i]) != NULL);
    assert_int_equal(rdi_tsname_parse(b, &t), RADI_OK);
    assert_int_equal(t.version, 0);
    assert_int_equal(strlen(b), strlen("__1234_1234_") + 32);
    assert_string_not_equal(a + 12, b + 12); /* fresh random labels */
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_forms),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_make_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
