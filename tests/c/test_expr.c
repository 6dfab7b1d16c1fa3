/* Filter expressions: parsing, errors with positions, and evaluation semantics. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "query/expr.h"

#define NROWS 6
static const int64_t age[NROWS] = {30, 45, 41, 60, 12, 40};
static const double score[NROWS] = {1.5, NAN, -2.0, 3.25, 0.0, 1e9};
static const uint8_t flag[NROWS] = {1, 0, 1, 1, 0, 0};
static const uint64_t big[NROWS] = {0, UINT64_MAX, 5, 9223372036854775808ull, 7, 1};
static const char sex_data[] = "FMFFMé";            /* last is 2 bytes of UTF-8 */
static const uint64_t sex_off[NROWS] = {0, 1, 2, 3, 4, 5};
static const char id_data[] = "sub-01sub-02sub-03sub-04sub-05sub-06";
static const uint64_t id_off[NROWS] = {0, 6, 12, 18, 24, 30};
static const uint8_t age_valid[NROWS] = {1, 1, 1, 1, 0, 1};

static rdi_column cols[] = {
    {"age", RADI_INT64, age, NULL, 0, age_valid},
    {"score", RADI_FLOAT64, score, NULL, 0, NULL},
    {"flag", RADI_BOOL, flag, NULL, 0, NULL},
    {"big", RADI_UINT64, big, NULL, 0, NULL},
    {"sex", RADI_STRING_UTF8, sex_data, sex_off, sizeof sex_data - 1, NULL},
    {"obs_subject_id", RADI_STRING_ASCII, id_data, id_off, sizeof id_data - 1, NULL},
};

/* Evaluates text and returns the selected rows as a string of 0/1. */
static const char *sel(const char *text)
{
    static char out[NROWS + 1];
    rdi_expr *e;
    assert_int_equal(rdi_expr_parse(text, &e), RADI_OK);
    uint8_t mask[NROWS];
    radi_status s = rdi_expr_eval(e, cols, sizeof cols / sizeof *cols, NROWS, mask);
    rdi_expr_free(e);
    if (s != RADI_OK) return NULL;
    for (int i = 0; i < NROWS; i++) out[i] = (char)('0' + mask[i]);
    out[NROWS] = 0;
    return out;
}

static void test_eval(void **state)
{
    (void)state;
    assert_string_equal(sel("age > 40"), "011100");
    assert_string_equal(sel("age > 40 and sex == 'F'"), "001100");
    assert_string_equal(sel("age >= 40 or sex == \"M\""), "011111");
    assert_string_equal(sel("40 < age"), "011100");
    assert_string_equal(sel("not age > 40"), "100001"); /* NULL age stays unselected */
    assert_string_equal(sel("not (age > 40) and flag"), "100000");
    assert_string_equal(sel("sex in ['F', 'é']"), "101101");
    assert_string_equal(sel("sex not in ['F']"), "010011");
    assert_string_equal(sel("age in [30, 60]"), "100100");
    assert_string_equal(sel("score > 0"), "100101"); /* NaN never compares true */
    assert_string_equal(sel("score != score"), "010000");
    assert_string_equal(sel("big > 9223372036854775807"), "010100"); /* exact beyond int64 */
    assert_string_equal(sel("big == 18446744073709551615"), "010000");
    assert_string_equal(sel("age > -1.5e1 & flag == True"), "101100");
    assert_string_equal(sel("obs_subject_id <= 'sub-02' | obs_subject_id == 'sub-06'"), "110001");
    assert_string_equal(sel("(age < 35 or age > 55) and not flag == false"), "100100");
    assert_string_equal(sel("`age` == 41"), "001000");
}

static void expect_error(const char *text, const char *fragment)
{
    rdi_expr *e = NULL;
    radi_status s = rdi_expr_parse(text, &e);
    if (s == RADI_OK) {
        uint8_t mask[NROWS];
        s = rdi_expr_eval(e, cols, sizeof cols / sizeof *cols, NROWS, mask);
        rdi_expr_free(e);
    }
    assert_int_equal(s, RADI_E_INVALID);
    if (!strstr(radi_errmsg(), fragment)) fail_msg("'%s' not in '%s'", fragment, radi_errmsg());
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("age >", "column 5: expected a value after '>'");
    expect_error("age > 40 and", "expected an expression after 'and'");
    expect_error("(age > 40", "expected ')'");
    expect_error("age = 40", "use '=='");
    expect_error("weight > 3", "column 1: unknown column 'weight'");
    expect_error("sex > 3", "cannot compare");
    expect_error("age == 'x'", "cannot compare");
    expect_error("sex == 'F", "unterminated string");
    expect_error("age > 40 40", "unexpected 40");
    expect_error("", "empty");
    expect_error("age in 3", "expected '['");
    expect_error("age $ 3", "unexpected character '$'");
    expect_error("3 > 4", "at least one column");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_eval), cmocka_unit_test(test_errors)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
