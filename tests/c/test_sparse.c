/* Sparse writes and reads through radi: global order, upserts across fragments, queries,
 * filters, duplicates, a 100 000-row table, and bad input (caller buffers and damaged
 * fragments). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <unistd.h>

#include "tdb/sparse.h"
#include "test_sparse_rows.h"

static radi_ctx *ctx;
static char root[256];

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/radi_test_sparse_XXXXXX");
    if (!mkdtemp(root)) return -1;
    return radi_ctx_create(NULL, &ctx) == RADI_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    radi_object_remove(ctx, root);
    radi_ctx_free(ctx);
    return 0;
}

static char *path(const char *name)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", root, name);
    return buf;
}

/* Strings to a var-size buffer. */
typedef struct strs {
    char data[1 << 16];
    uint64_t offs[1024];
    uint64_t size;
} strs;

static void strs_set(strs *s, const char *const *v, uint64_t n)
{
    s->size = 0;
    for (uint64_t i = 0; i < n; i++) {
        s->offs[i] = s->size;
        memcpy(s->data + s->size, v[i], strlen(v[i]));
        s->size += strlen(v[i]);
    }
}

static radi_schema *obs_schema(uint64_t capacity, int no_filters)
{
    radi_schema *s = NULL;
    radi_filter_list z, none;
    radi_filter_list_init(&z);
    radi_filter_list_init(&none);
    radi_filter_list_add(&z, RADI_FILTER_ZSTD, 3);
    assert_int_equal(radi_schema_create(RADI_SPARSE, &s), RADI_OK);
    radi_schema_set_capacity(s, capacity);
    if (no_filters) {
        radi_schema_set_coords_filters(s, &none);
        radi_schema_set_offsets_filters(s, &none);
    }
    assert_int_equal(radi_schema_add_dim(s, "obs_subject_id", RADI_STRING_ASCII, NULL, NULL, NULL, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_dim(s, "obs_id", RADI_STRING_ASCII, NULL, NULL, NULL, NULL), RADI_OK);
    const radi_filter_list *af = no_filters ? &none : &z;
    assert_int_equal(radi_schema_add_attr(s, "series_type", RADI_STRING_UTF8, RADI_VAR_NUM, 0, af, NULL, 0), RADI_OK);
    assert_int_equal(radi_schema_add_attr(s, "datatype", RADI_INT32, 1, 0, af, NULL, 0), RADI_OK);
    assert_int_equal(radi_schema_add_attr(s, "scl_slope", RADI_FLOAT64, 1, 0, af, NULL, 0), RADI_OK);
    assert_int_equal(radi_schema_add_attr(s, "note", RADI_STRING_UTF8, RADI_VAR_NUM, 1, af, NULL, 0), RADI_OK);
    return s;
}

static strs S, O, T, N;

static radi_status write_obs(radi_array *a, const char *const *subj, const char *const *oid,
                             const char *const *type, const int32_t *dt, const double *slope,
                             const char *const *note, const uint8_t *valid, uint64_t n, uint64_t ts)
{
    strs_set(&S, subj, n);
    strs_set(&O, oid, n);
    strs_set(&T, type, n);
    strs_set(&N, note, n);
    radi_sparse_buffer b[6] = {
        {"obs_subject_id", S.data, S.size, S.offs, NULL},
        {"obs_id", O.data, O.size, O.offs, NULL},
        {"series_type", T.data, T.size, T.offs, NULL},
        {"datatype", dt, n * 4, NULL, NULL},
        {"scl_slope", slope, n * 8, NULL, NULL},
        {"note", N.data, N.size, N.offs, valid},
    };
    return radi_array_write_sparse(a, 6, b, n, ts);
}

static char *read_all(radi_array *a, const char *filter)
{
    radi_sparse_query *q;
    assert_int_equal(radi_sparse_query_create(a, &q), RADI_OK);
    if (filter) assert_int_equal(radi_sparse_query_set_filter(q, filter), RADI_OK);
    if (radi_sparse_query_submit(q, NULL) != RADI_OK) fail_msg("submit: %s", radi_errmsg());
    char *r = rows_format(q);
    radi_sparse_query_free(q);
    return r;
}

static void test_obs_roundtrip(void **state)
{
    (void)state;
    radi_schema *s = obs_schema(3, 0);
    assert_int_equal(radi_array_create(ctx, path("obs"), s), RADI_OK);
    radi_schema_free(s);
    radi_array *a;
    assert_int_equal(radi_array_open(ctx, path("obs"), 0, 0, &a), RADI_OK);
    const char *subj[] = {"sub-2", "sub-10", "sub-1", "a0", "", "sub-1", "sub-2"};
    const char *oid[] = {"sub-2_T1w", "sub-10_T1w", "sub-1_T1w", "a0_FLAIR", "e", "sub-1_FLAIR", "sub-2_T1w"};
    const char *type[] = {"T1w", "T1w", "T1w", "FLAIR", "", "FLAIR", "T1w-last"};
    const char *note[] = {"é", "", "x", "y", "z", "null", "w"};
    const uint8_t valid[] = {1, 1, 1, 1, 1, 0, 1};
    int32_t dt[] = {1, 2, 3, 4, 5, 6, 7};
    double slope[] = {0.5, 1, 1.5, 2, 2.5, 3, 3.5};
    assert_int_equal(write_obs(a, subj, oid, type, dt, slope, note, valid, 7, 0), RADI_OK);
    char *got = read_all(a, NULL);
    /* Global order; the second "sub-2_T1w" (written last) replaced the first. */
    const char *want1 =
        "\te\t\t5\t2.5\tz\n"
        "a0\ta0_FLAIR\tFLAIR\t4\t2\ty\n"
        "sub-1\tsub-1_FLAIR\tFLAIR\t6\t3\t\\N\n"
        "sub-1\tsub-1_T1w\tT1w\t3\t1.5\tx\n"
        "sub-10\tsub-10_T1w\tT1w\t2\t1\t\n"
        "sub-2\tsub-2_T1w\tT1w-last\t7\t3.5\tw\n";
    assert_string_equal(got, want1);
    free(got);

    /* Upsert in a second fragment: one existing key, one new. */
    const char *subj2[] = {"sub-1", "sub-3"};
    const char *oid2[] = {"sub-1_T1w", "sub-3_dwi"};
    const char *type2[] = {"T1w-v2", "dwi"};
    const char *note2[] = {"n1", "n2"};
    const uint8_t valid2[] = {1, 1};
    int32_t dt2[] = {30, 40};
    double slope2[] = {-1, -2};
    assert_int_equal(write_obs(a, subj2, oid2, type2, dt2, slope2, note2, valid2, 2, 0), RADI_OK);
    assert_int_equal(radi_array_fragment_count(a), 2);
    got = read_all(a, NULL);
    const char *want2 =
        "\te\t\t5\t2.5\tz\n"
        "a0\ta0_FLAIR\tFLAIR\t4\t2\ty\n"
        "sub-1\tsub-1_FLAIR\tFLAIR\t6\t3\t\\N\n"
        "sub-1\tsub-1_T1w\tT1w-v2\t30\t-1\tn1\n"
        "sub-10\tsub-10_T1w\tT1w\t2\t1\t\n"
        "sub-2\tsub-2_T1w\tT1w-last\t7\t3.5\tw\n"
        "sub-3\tsub-3_dwi\tdwi\t40\t-2\tn2\n";
    assert_string_equal(got, want2);
    free(got);

    /* Filters run after the merge: the old version of sub-1_T1w (datatype 3) never shows. */
    got = read_all(a, "datatype < 10 and series_type != 'FLAIR'");
    assert_string_equal(got, "\te\t\t5\t2.5\tz\nsub-10\tsub-10_T1w\tT1w\t2\t1\t\nsub-2\tsub-2_T1w\tT1w-last\t7\t3.5\tw\n");
    free(got);
    got = read_all(a, "obs_subject_id in ['sub-1', 'a0'] and not (scl_slope > 2.5)");
    assert_string_equal(got, "a0\ta0_FLAIR\tFLAIR\t4\t2\ty\nsub-1\tsub-1_T1w\tT1w-v2\t30\t-1\tn1\n");
    free(got);
    got = read_all(a, "note == 'null'");
    assert_string_equal(got, ""); /* NULL never matches */
    free(got);

    /* Point lookups and ranges, a column subset. */
    radi_sparse_query *q;
    assert_int_equal(radi_sparse_query_create(a, &q), RADI_OK);
    assert_int_equal(radi_sparse_query_add_point(q, "obs_id", "sub-3_dwi", 9), RADI_OK);
    assert_int_equal(radi_sparse_query_add_point(q, "obs_id", "a0_FLAIR", 8), RADI_OK);
    const char *cols[] = {"datatype", "obs_id"};
    assert_int_equal(radi_sparse_query_set_columns(q, 2, cols), RADI_OK);
    assert_int_equal(radi_sparse_query_submit(q, NULL), RADI_OK);
    got = rows_format(q);
    assert_string_equal(got, "4\ta0_FLAIR\n40\tsub-3_dwi\n");
    free(got);
    radi_sparse_query_free(q);
    assert_int_equal(radi_sparse_query_create(a, &q), RADI_OK);
    assert_int_equal(radi_sparse_query_add_range(q, "obs_subject_id", "sub-1", 5, "sub-10", 6), RADI_OK);
    assert_int_equal(radi_sparse_query_submit(q, NULL), RADI_OK);
    assert_int_equal(radi_sparse_query_rows(q), 3);
    radi_sparse_query_free(q);

    /* A column selected twice, on the zero-copy path (one fragment... here two, merged). */
    assert_int_equal(radi_sparse_query_create(a, &q), RADI_OK);
    const char *twice[] = {"datatype", "obs_id", "datatype"};
    assert_int_equal(radi_sparse_query_set_columns(q, 3, twice), RADI_OK);
    assert_int_equal(radi_sparse_query_set_filter(q, "datatype >= 30"), RADI_OK);
    assert_int_equal(radi_sparse_query_submit(q, NULL), RADI_OK);
    got = rows_format(q);
    assert_string_equal(got, "30\tsub-1_T1w\t30\n40\tsub-3_dwi\t40\n");
    free(got);
    radi_sparse_query_free(q);

    /* Consolidation keeps the newest row per key. */
    char *name = NULL;
    assert_int_equal(rdi_sparse_consolidate(a, a->frags[0]->t1, a->frags[1]->t2, &name), RADI_OK);
    assert_non_null(name);
    free(name);
    radi_array_close(a);
    assert_int_equal(radi_array_open(ctx, path("obs"), 0, 0, &a), RADI_OK);
    got = read_all(a, NULL);
    assert_string_equal(got, want2);
    free(got);
    radi_array_close(a);

    /* One fragment, whole table: columns handed over without copies, even when repeated. */
    radi_schema *s1 = obs_schema(2, 0);
    assert_int_equal(radi_array_create(ctx, path("obs1"), s1), RADI_OK);
    radi_schema_free(s1);
    assert_int_equal(radi_array_open(ctx, path("obs1"), 0, 0, &a), RADI_OK);
    assert_int_equal(write_obs(a, subj2, oid2, type2, dt2, slope2, note2, valid2, 2, 0), RADI_OK);
    assert_int_equal(radi_sparse_query_create(a, &q), RADI_OK);
    assert_int_equal(radi_sparse_query_set_columns(q, 3, twice), RADI_OK);
    assert_int_equal(radi_sparse_query_submit(q, NULL), RADI_OK);
    got = rows_format(q);
    assert_string_equal(got, "30\tsub-1_T1w\t30\n40\tsub-3_dwi\t40\n");
    free(got);
    radi_sparse_query_free(q);
    radi_array_close(a);
}

static void test_bad_writes(void **state)
{
    (void)state;
    radi_schema *s = obs_schema(3, 0);
    assert_int_equal(radi_array_create(ctx, path("bad"), s), RADI_OK);
    radi_schema_free(s);
    radi_array *a;
    assert_int_equal(radi_array_open(ctx, path("bad"), 0, 0, &a), RADI_OK);
    const char *v[] = {"a", "b"};
    strs_set(&S, v, 2);
    uint64_t bad_offs[2] = {0, 5};
    int32_t dt[2] = {1, 2};
    double sl[2] = {1, 2};
    radi_sparse_buffer b[6] = {
        {"obs_subject_id", S.data, S.size, bad_offs, NULL},
        {"obs_id", S.data, S.size, S.offs, NULL},
        {"series_type", S.data, S.size, S.offs, NULL},
        {"datatype", dt, 8, NULL, NULL},
        {"scl_slope", sl, 16, NULL, NULL},
        {"note", S.data, S.size, S.offs, NULL},
    };
    assert_int_equal(radi_array_write_sparse(a, 6, b, 2, 0), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "obs_subject_id"));
    b[0].offsets = S.offs;
    assert_int_equal(radi_array_write_sparse(a, 5, b, 2, 0), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "note"));
    b[3].data_size = 4;
    assert_int_equal(radi_array_write_sparse(a, 6, b, 2, 0), RADI_E_INVALID);
    b[3].data_size = 8;
    b[4].name = "nope";
    assert_int_equal(radi_array_write_sparse(a, 6, b, 2, 0), RADI_E_INVALID);
    b[4].name = "scl_slope";
    assert_int_equal(radi_array_write_sparse(a, 6, b, 0, 0), RADI_OK); /* nothing */
    assert_int_equal(radi_array_fragment_count(a), 0);
    char *got = read_all(a, NULL);
    assert_string_equal(got, "");
    free(got);
    radi_array_close(a);
}

static void test_int_dims_and_dups(void **state)
{
    (void)state;
    radi_schema *s = NULL;
    int64_t lo = -1000, hi = 1000, ext = 100;
    assert_int_equal(radi_schema_create(RADI_SPARSE, &s), RADI_OK);
    radi_schema_set_capacity(s, 2);
    radi_schema_set_allows_dups(s, 1);
    assert_int_equal(radi_schema_add_dim(s, "x", RADI_INT64, &lo, &hi, &ext, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_attr(s, "v", RADI_UINT16, 1, 1, NULL, NULL, 0), RADI_OK);
    assert_int_equal(radi_array_create(ctx, path("ints"), s), RADI_OK);
    radi_schema_free(s);
    radi_array *a;
    assert_int_equal(radi_array_open(ctx, path("ints"), 0, 0, &a), RADI_OK);
    int64_t x[] = {5, -999, 150, 5, 99, 1000};
    uint16_t v[] = {1, 2, 3, 4, 5, 6};
    uint8_t valid[] = {1, 1, 0, 1, 1, 1};
    radi_sparse_buffer b[2] = {{"x", x, sizeof x, NULL, NULL}, {"v", v, sizeof v, NULL, valid}};
    assert_int_equal(radi_array_write_sparse(a, 2, b, 6, 0), RADI_OK);
    char *got = read_all(a, NULL);
    assert_string_equal(got, "-999\t2\n5\t1\n5\t4\n99\t5\n150\t\\N\n1000\t6\n");
    free(got);
    got = read_all(a, "x >= 5 and v != 4");
    assert_string_equal(got, "5\t1\n99\t5\n1000\t6\n");
    free(got);
    radi_sparse_query *q;
    assert_int_equal(radi_sparse_query_create(a, &q), RADI_OK);
    int64_t r0 = 6, r1 = 150;
    assert_int_equal(radi_sparse_query_add_range(q, "x", &r0, 8, &r1, 8), RADI_OK);
    assert_int_equal(radi_sparse_query_submit(q, NULL), RADI_OK);
    got = rows_format(q);
    assert_string_equal(got, "99\t5\n150\t\\N\n");
    free(got);
    radi_sparse_query_free(q);
    int64_t out_of_domain = 1001;
    b[0].data = &out_of_domain;
    b[0].data_size = 8;
    assert_int_equal(radi_array_write_sparse(a, 2, b, 1, 0), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "domain"));
    radi_array_close(a);
}

static void test_100k(void **state)
{
    (void)state;
    radi_schema *s = obs_schema(10000, 0);
    assert_int_equal(radi_array_create(ctx, path("big"), s), RADI_OK);
    radi_schema_free(s);
    radi_array *a;
    assert_int_equal(radi_array_open(ctx, path("big"), 0, 0, &a), RADI_OK);
    const uint64_t n = 100000;
    char *sd = malloc(n * 16), *od = malloc(n * 24), *td = malloc(n * 8);
    uint64_t *so = malloc(n * 8), *oo = malloc(n * 8), *to = malloc(n * 8);
    int32_t *dt = malloc(n * 4);
    double *sl = malloc(n * 8);
    uint64_t sp = 0, op = 0, tp = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t k = (i * 7919) % n; /* a permutation: unsorted input */
        so[i] = sp;
        sp += (uint64_t)sprintf(sd + sp, "sub-%llu", (unsigned long long)(k / 2));
        oo[i] = op;
        op += (uint64_t)sprintf(od + op, "sub-%llu_%s", (unsigned long long)(k / 2), k % 2 ? "T1w" : "FLAIR");
        to[i] = tp;
        tp += (uint64_t)sprintf(td + tp, "%s", k % 2 ? "T1w" : "FLAIR");
        dt[i] = (int32_t)k;
        sl[i] = (double)k / 4;
    }
    radi_sparse_buffer b[6] = {
        {"obs_subject_id", sd, sp, so, NULL}, {"obs_id", od, op, oo, NULL},
        {"series_type", td, tp, to, NULL},    {"datatype", dt, n * 4, NULL, NULL},
        {"scl_slope", sl, n * 8, NULL, NULL}, {"note", td, tp, to, NULL},
    };
    assert_int_equal(radi_array_write_sparse(a, 6, b, n, 0), RADI_OK);
    radi_sparse_query *q;
    assert_int_equal(radi_sparse_query_create(a, &q), RADI_OK);
    assert_int_equal(radi_sparse_query_submit(q, NULL), RADI_OK);
    assert_int_equal(radi_sparse_query_rows(q), n);
    radi_sparse_column c;
    assert_int_equal(radi_sparse_query_column(q, 0, &c), RADI_OK);
    /* Rows are in byte order of the subject id. */
    for (uint64_t i = 1; i < n; i++) {
        uint64_t b0 = c.offsets[i - 1], b1 = c.offsets[i], e1 = i + 1 < n ? c.offsets[i + 1] : c.data_size;
        const char *p = (const char *)c.data;
        uint64_t l0 = b1 - b0, l1 = e1 - b1, m = l0 < l1 ? l0 : l1;
        int cmp = memcmp(p + b0, p + b1, m);
        assert_true(cmp < 0 || (cmp == 0 && l0 <= l1));
    }
    radi_sparse_query_free(q);
    assert_int_equal(radi_sparse_query_create(a, &q), RADI_OK);
    assert_int_equal(radi_sparse_query_add_point(q, "obs_id", "sub-4242_T1w", 12), RADI_OK);
    assert_int_equal(radi_sparse_query_submit(q, NULL), RADI_OK);
    assert_int_equal(radi_sparse_query_rows(q), 1);
    radi_sparse_query_free(q);
    radi_array_close(a);
    /* A read that cannot fit the memory budget is refused, not attempted. */
    radi_config cfg;
    radi_config_init(&cfg);
    cfg.memory_budget = 1 << 20;
    radi_ctx *small;
    assert_int_equal(radi_ctx_create(&cfg, &small), RADI_OK);
    assert_int_equal(radi_array_open(small, path("big"), 0, 0, &a), RADI_OK);
    assert_int_equal(radi_sparse_query_create(a, &q), RADI_OK);
    assert_int_equal(radi_sparse_query_submit(q, NULL), RADI_E_BUDGET);
    assert_non_null(strstr(radi_errmsg(), "budget"));
    radi_sparse_query_free(q);
    radi_array_close(a);
    radi_ctx_free(small);
    free(sd); free(od); free(td); free(so); free(oo); free(to); free(dt); free(sl);
}

/* Damaged fragments: unsorted cells, offsets past the end. Written without filters so
 * the tile bytes can be edited in place. */
static void damage(const char *arr, const char *file, uint64_t off, const void *bytes, size_t n)
{
    char cmd[1024];
    radi_array *a;
    assert_int_equal(radi_array_open(ctx, path(arr), 0, 0, &a), RADI_OK);
    snprintf(cmd, sizeof cmd, "%s/%s", a->frags[0]->uri, file);
    radi_array_close(a);
    FILE *f = fopen(cmd, "r+b");
    assert_non_null(f);
    fseek(f, (long)off, SEEK_SET);
    fwrite(bytes, 1, n, f);
    fclose(f);
}

static void test_damaged(void **state)
{
    (void)state;
    const char *names[] = {"bad_order", "bad_offsets"};
    for (int k = 0; k < 2; k++) {
        radi_schema *s = obs_schema(10, 1);
        assert_int_equal(radi_array_create(ctx, path(names[k]), s), RADI_OK);
        radi_schema_free(s);
        radi_array *a;
        assert_int_equal(radi_array_open(ctx, path(names[k]), 0, 0, &a), RADI_OK);
        const char *subj[] = {"aa", "bb", "cc"};
        const char *note[] = {"1", "2", "3"};
        const uint8_t valid[] = {1, 1, 1};
        int32_t dt[] = {1, 2, 3};
        double sl[] = {1, 2, 3};
        assert_int_equal(write_obs(a, subj, subj, subj, dt, sl, note, valid, 3, 0), RADI_OK);
        radi_array_close(a);
        /* d0_var.tdb: u64 nchunks | 3 u32 header | "aabbcc". */
        const size_t data_at = 8 + 12;
        if (k == 0) damage(names[k], "d0_var.tdb", data_at, "zz", 2);
        else {
            uint64_t big = 1000;
            damage(names[k], "d0.tdb", data_at + 8, &big, 8);
        }
        assert_int_equal(radi_array_open(ctx, path(names[k]), 0, 0, &a), RADI_OK);
        radi_sparse_query *q;
        assert_int_equal(radi_sparse_query_create(a, &q), RADI_OK);
        assert_int_equal(radi_sparse_query_submit(q, NULL), RADI_E_CORRUPT);
        assert_non_null(strstr(radi_errmsg(), k == 0 ? "global order" : "offset"));
        radi_sparse_query_free(q);
        radi_array_close(a);
    }
}

/* Replaces the R-tree of the array's only fragment by `mutate(tree)` re-encoded, shifting
 * every later generic tile offset in the footer. */
static void rewrite_rtree(const char *arr, void (*mutate)(rdi_rtree *t, const rdi_gorder *g))
{
    radi_array *a;
    assert_int_equal(radi_array_open(ctx, path(arr), 0, 0, &a), RADI_OK);
    char file[600];
    snprintf(file, sizeof file, "%s/__fragment_metadata.tdb", a->frags[0]->uri);
    uint32_t nfields = a->frags[0]->nfields;
    rdi_gorder g;
    assert_int_equal(rdi_gorder_init(a->schema, &g), RADI_OK);
    char *old = rows_read_file(file);
    FILE *f = fopen(file, "rb");
    fseek(f, 0, SEEK_END);
    size_t len = (size_t)ftell(f);
    fclose(f);
    rdi_scratch *sc;
    assert_int_equal(rdi_scratch_create(&sc), RADI_OK);
    rdi_rd r;
    rdi_rd_init(&r, old, len, file);
    rdi_buf payload = RDI_BUF_INIT, enc = RDI_BUF_INIT, out = RDI_BUF_INIT;
    assert_int_equal(rdi_generic_tile_decode(&r, sc, &payload), RADI_OK);
    size_t old_tile = r.pos;
    rdi_rtree t;
    assert_int_equal(rdi_rtree_parse(&g, payload.data, payload.len, "test", UINT64_MAX, &t), RADI_OK);
    mutate(&t, &g);
    payload.len = 0;
    assert_int_equal(rdi_rtree_serialize(&g, &t, &payload), RADI_OK);
    assert_int_equal(rdi_generic_tile_encode(payload.data, payload.len, 21, sc, &enc), RADI_OK);
    rdi_buf_append(&out, enc.data, enc.len);
    rdi_buf_append(&out, old + old_tile, len - old_tile);
    int64_t delta = (int64_t)enc.len - (int64_t)old_tile;
    /* The footer ends with rtree_off, 8 offsets per field, the aggregates and conditions
     * offsets, then the u64 footer length. */
    size_t noff = 8 * (size_t)nfields + 3, at = out.len - 8 - noff * 8;
    for (size_t k = 1; k < noff; k++) rdi_st64(out.data + at + 8 * k, rdi_ld64(out.data + at + 8 * k) + (uint64_t)delta);
    f = fopen(file, "wb");
    fwrite(out.data, 1, out.len, f);
    fclose(f);
    rdi_rtree_free(&t);
    rdi_buf_free(&payload);
    rdi_buf_free(&enc);
    rdi_buf_free(&out);
    rdi_scratch_free(sc);
    free(old);
    radi_array_close(a);
}

/* Keeps only the leaf level: several roots, the layout TileDB silently misreads. */
static void flatten(rdi_rtree *t, const rdi_gorder *g)
{
    (void)g;
    for (uint32_t l = 0; l + 1 < t->nlevels; l++) {
        for (uint64_t m = 0; m < t->nmbr[l] * t->ndim; m++) {
            free(t->mbr[l][m].slo);
            free(t->mbr[l][m].shi);
        }
        free(t->mbr[l]);
    }
    t->mbr[0] = t->mbr[t->nlevels - 1];
    t->nmbr[0] = t->nmbr[t->nlevels - 1];
    t->nlevels = 1;
}

/* Shrinks the root so it no longer covers the last leaf. */
static void shrink_root(rdi_rtree *t, const rdi_gorder *g)
{
    (void)g;
    rdi_range *r = &t->mbr[0][0]; /* root, dimension 0: "aa".."ee" becomes "aa".."cz" */
    r->shi[0] = 'c';
    r->shi[1] = 'z';
}

static void identity_tree(rdi_rtree *t, const rdi_gorder *g)
{
    (void)t;
    (void)g;
}

static void test_corrupt_rtree(void **state)
{
    (void)state;
    void (*muts[])(rdi_rtree *, const rdi_gorder *) = {identity_tree, flatten, shrink_root};
    const char *names[] = {"rt_same", "rt_flat", "rt_shrunk"};
    for (int k = 0; k < 3; k++) {
        radi_schema *s = obs_schema(2, 0);
        assert_int_equal(radi_array_create(ctx, path(names[k]), s), RADI_OK);
        radi_schema_free(s);
        radi_array *a;
        assert_int_equal(radi_array_open(ctx, path(names[k]), 0, 0, &a), RADI_OK);
        const char *subj[] = {"aa", "bb", "cc", "dd", "ee"};
        const uint8_t valid[] = {1, 1, 1, 1, 1};
        int32_t dt[] = {1, 2, 3, 4, 5};
        double sl[] = {1, 2, 3, 4, 5};
        assert_int_equal(write_obs(a, subj, subj, subj, dt, sl, subj, valid, 5, 0), RADI_OK);
        radi_array_close(a);
        rewrite_rtree(names[k], muts[k]);
        assert_int_equal(radi_array_open(ctx, path(names[k]), 0, 0, &a), RADI_OK);
        radi_sparse_query *q;
        assert_int_equal(radi_sparse_query_create(a, &q), RADI_OK);
        assert_int_equal(radi_sparse_query_add_point(q, "obs_subject_id", "ee", 2), RADI_OK);
        radi_status st = radi_sparse_query_submit(q, NULL);
        if (k == 0) {
            /* The rewrite itself is faithful: the unchanged tree still finds the row. */
            assert_int_equal(st, RADI_OK);
            assert_int_equal(radi_sparse_query_rows(q), 1);
        } else {
            assert_int_equal(st, RADI_E_CORRUPT);
            assert_non_null(strstr(radi_errmsg(), k == 1 ? "root" : "parent"));
        }
        radi_sparse_query_free(q);
        radi_array_close(a);
    }
}

/* Every file of a fragment truncated or with bytes flipped: each read either fails
 * with an error message or succeeds; it never crashes (the sanitizer build checks
 * memory safety). */
static void test_garbled_files(void **state)
{
    (void)state;
    radi_schema *s = obs_schema(2, 0);
    assert_int_equal(radi_array_create(ctx, path("garble"), s), RADI_OK);
    radi_schema_free(s);
    radi_array *a;
    assert_int_equal(radi_array_open(ctx, path("garble"), 0, 0, &a), RADI_OK);
    const char *subj[] = {"aa", "bb", "cc", "dd", "ee"};
    const char *note[] = {"x", "", "zz", "w", "v"};
    const uint8_t valid[] = {1, 0, 1, 1, 0};
    int32_t dt[] = {1, 2, 3, 4, 5};
    double sl[] = {1, 2, 3, 4, 5};
    assert_int_equal(write_obs(a, subj, subj, subj, dt, sl, note, valid, 5, 0), RADI_OK);
    char dir[600];
    snprintf(dir, sizeof dir, "%s", a->frags[0]->uri);
    radi_array_close(a);
    const char *files[] = {"__fragment_metadata.tdb", "d0.tdb", "d0_var.tdb", "d1.tdb", "d1_var.tdb",
                           "a0.tdb", "a0_var.tdb", "a1.tdb", "a2.tdb", "a3.tdb", "a3_var.tdb",
                           "a3_validity.tdb"};
    uint32_t seed = 7;
    int failures = 0, runs = 0;
    for (size_t fi = 0; fi < sizeof files / sizeof *files; fi++) {
        char file[700];
        snprintf(file, sizeof file, "%s/%s", dir, files[fi]);
        FILE *f = fopen(file, "rb");
        assert_non_null(f);
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *orig = malloc((size_t)len);
        assert_int_equal(fread(orig, 1, (size_t)len, f), (size_t)len);
        fclose(f);
        for (int mode = 0; mode < 24; mode++) {
            uint8_t *bad = malloc((size_t)len);
            memcpy(bad, orig, (size_t)len);
            long blen = len;
            if (mode == 0) blen = len / 2;
            else if (mode == 1) blen = len - 1;
            else
                for (int k = 0; k < 1 + mode; k++) {
                    /* Modes 8+ aim at the tail: the footer of the metadata file. */
                    uint32_t span = mode >= 8 && len > 256 ? 256 : (uint32_t)len;
                    seed = seed * 1103515245u + 12345u;
                    bad[(uint32_t)len - span + (seed >> 8) % span] ^= (uint8_t)(1u << (seed % 8));
                }
            f = fopen(file, "wb");
            fwrite(bad, 1, (size_t)blen, f);
            fclose(f);
            if (radi_array_open(ctx, path("garble"), 0, 0, &a) == RADI_OK) {
                radi_sparse_query *q;
                assert_int_equal(radi_sparse_query_create(a, &q), RADI_OK);
                radi_status st = radi_sparse_query_submit(q, NULL);
                if (st != RADI_OK) {
                    failures++;
                    assert_true(strlen(radi_errmsg()) > 0);
                }
                radi_sparse_query_free(q);
                assert_int_equal(radi_sparse_query_create(a, &q), RADI_OK);
                assert_int_equal(radi_sparse_query_add_point(q, "obs_id", "cc", 2), RADI_OK);
                radi_sparse_query_submit(q, NULL);
                radi_sparse_query_free(q);
                radi_array_close(a);
            } else {
                failures++;
            }
            runs++;
            free(bad);
        }
        f = fopen(file, "wb");
        fwrite(orig, 1, (size_t)len, f);
        fclose(f);
        free(orig);
    }
    /* Truncations at least are always detected. */
    assert_true(failures >= 2 * (int)(sizeof files / sizeof *files));
    assert_true(runs > 0);
    assert_int_equal(radi_array_open(ctx, path("garble"), 0, 0, &a), RADI_OK);
    char *got = read_all(a, NULL);
    assert_non_null(strstr(got, "cc\tcc\tcc\t3\t3\tzz\n"));
    free(got);
    radi_array_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_obs_roundtrip),
        cmocka_unit_test(test_bad_writes),
        cmocka_unit_test(test_int_dims_and_dups),
        cmocka_unit_test(test_100k),
        cmocka_unit_test(test_damaged),
        cmocka_unit_test(test_corrupt_rtree),
        cmocka_unit_test(test_garbled_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
