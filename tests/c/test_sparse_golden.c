/* Sparse reads of arrays written by TileDB-Py (tests/c/data/sparse, made by
 * tests/python/tools/check_sparse_make_golden.py) equal TileDB-Py's own reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "test_sparse_rows.h"

#define DATA RADI_TEST_DATA "/sparse/"

static radi_ctx *ctx;

static int setup(void **state)
{
    (void)state;
    return radi_ctx_create(NULL, &ctx) == RADI_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    radi_ctx_free(ctx);
    return 0;
}

/* Runs q and compares with the expected TSV file. */
static void expect_rows(radi_sparse_query *q, const char *tsv)
{
    radi_status st = radi_sparse_query_submit(q, NULL);
    if (st != RADI_OK) fail_msg("submit: %s", radi_errmsg());
    char *got = rows_format(q);
    char *want = rows_read_file(tsv);
    assert_non_null(want);
    if (strcmp(got, want) != 0) fail_msg("%s differs:\n--- radi\n%s--- tiledb\n%s", tsv, got, want);
    free(got);
    free(want);
}

static radi_array *open_array(const char *name, uint64_t t_end)
{
    radi_array *a = NULL;
    char uri[512];
    snprintf(uri, sizeof uri, DATA "%s", name);
    if (radi_array_open(ctx, uri, 0, t_end, &a) != RADI_OK) fail_msg("open %s: %s", uri, radi_errmsg());
    return a;
}

static void test_obs(void **state)
{
    (void)state;
    radi_array *a = open_array("obs", 0);
    radi_sparse_query *q;
    assert_int_equal(radi_sparse_query_create(a, &q), RADI_OK);
    expect_rows(q, DATA "obs.all.tsv");
    radi_sparse_query_free(q);

    assert_int_equal(radi_sparse_query_create(a, &q), RADI_OK);
    assert_int_equal(radi_sparse_query_add_point(q, "obs_subject_id", "sub-1", 5), RADI_OK);
    expect_rows(q, DATA "obs.point_sub-1.tsv");
    radi_sparse_query_free(q);

    assert_int_equal(radi_sparse_query_create(a, &q), RADI_OK);
    assert_int_equal(radi_sparse_query_add_range(q, "obs_subject_id", "sub-1", 5, "sub-2", 5), RADI_OK);
    assert_int_equal(radi_sparse_query_add_range(q, "obs_id", "sub-1_FLAIR", 11, "sub-3", 5), RADI_OK);
    expect_rows(q, DATA "obs.range.tsv");
    radi_sparse_query_free(q);

    assert_int_equal(radi_sparse_query_create(a, &q), RADI_OK);
    const char *cols[] = {"obs_id", "datatype"};
    assert_int_equal(radi_sparse_query_set_columns(q, 2, cols), RADI_OK);
    expect_rows(q, DATA "obs.cols.tsv");
    uint64_t rows, bytes;
    assert_int_equal(radi_sparse_query_est_size(q, "obs_id", &rows, &bytes), RADI_OK);
    assert_true(rows >= radi_sparse_query_rows(q));
    radi_sparse_query_free(q);
    uint64_t n = 0;
    assert_int_equal(radi_array_sparse_count(a, &n), RADI_OK);
    assert_int_equal(n, 11);
    radi_array_close(a);

    /* Time travel: only the first fragment. */
    a = open_array("obs", 1500);
    assert_int_equal(radi_sparse_query_create(a, &q), RADI_OK);
    expect_rows(q, DATA "obs.at1500.tsv");
    radi_sparse_query_free(q);
    radi_array_close(a);
}

static void test_pandas(void **state)
{
    (void)state;
    radi_array *a = open_array("pdstr", 0);
    radi_sparse_query *q;
    assert_int_equal(radi_sparse_query_create(a, &q), RADI_OK);
    expect_rows(q, DATA "pdstr.all.tsv");
    assert_int_equal(radi_sparse_query_set_filter(q, "age > 40 and sex == 'F'"), RADI_OK);
    expect_rows(q, DATA "pdstr.filter.tsv");
    assert_int_equal(radi_sparse_query_set_filter(q, "age >"), RADI_E_INVALID);
    assert_int_equal(radi_sparse_query_set_filter(q, "nope == 1"), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "nope"));
    radi_sparse_query_free(q);
    radi_array_close(a);

    a = open_array("pdint", 0);
    assert_int_equal(radi_sparse_query_create(a, &q), RADI_OK);
    expect_rows(q, DATA "pdint.all.tsv");
    int64_t lo = -20, hi = 40;
    assert_int_equal(radi_sparse_query_add_range(q, "id", &lo, 8, &hi, 8), RADI_OK);
    expect_rows(q, DATA "pdint.range.tsv");
    radi_sparse_query_free(q);
    radi_array_close(a);
}

static void test_nullable(void **state)
{
    (void)state;
    radi_array *a = open_array("nullable", 0);
    radi_sparse_query *q;
    assert_int_equal(radi_sparse_query_create(a, &q), RADI_OK);
    expect_rows(q, DATA "nullable.all.tsv");
    radi_sparse_query_free(q);
    radi_array_close(a);
}

/* A TileDB-consolidated fragment keeps every version with its own timestamp (t.tdb):
 * the newest per key wins, and time travel filters cells by timestamp. */
static void test_consolidated(void **state)
{
    (void)state;
    const struct { uint64_t t; const char *tsv; } cases[] = {
        {1500, DATA "cons.at1500.tsv"}, {2500, DATA "cons.at2500.tsv"}, {0, DATA "cons.atnow.tsv"}};
    for (size_t i = 0; i < 3; i++) {
        radi_array *a = open_array("cons", cases[i].t);
        radi_sparse_query *q;
        assert_int_equal(radi_sparse_query_create(a, &q), RADI_OK);
        expect_rows(q, cases[i].tsv);
        radi_sparse_query_free(q);
        radi_array_close(a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_obs),
        cmocka_unit_test(test_pandas),
        cmocka_unit_test(test_nullable),
        cmocka_unit_test(test_consolidated),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
