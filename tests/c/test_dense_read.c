/*
 * Dense reader and fragment metadata against arrays written by TileDB-Py 0.36.1
 * (tests/c/data/dense/make_golden.py): every subarray read must equal TileDB-Py's own
 * answer, with any concurrency and memory budget; damaged copies must fail cleanly with
 * the file named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "tdb/tdb.h"
#include "vfs/fault.h"

#define DATA RADI_TEST_DATA "/dense"
#define MAX_ATTRS 12

typedef struct golden_attr {
    char name[32];
    int nullable;
    size_t cs;
    uint8_t *data, *valid;
} golden_attr;

typedef struct golden {
    char name[64];
    uint32_t ndim;
    int64_t dom[8], ned[8];
    uint32_t nfrag;
    uint32_t nattr;
    golden_attr attrs[MAX_ATTRS];
    uint64_t ncells;
} golden;

static golden G[16];
static int NG;

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (len) *len = (size_t)n;
    return b;
}

static int count_ints(const char *line, int64_t *v, int max)
{
    int n = 0;
    char *end;
    for (const char *p = line; n < max; p = end) {
        long long x = strtoll(p, &end, 10);
        if (end == p) break;
        v[n++] = x;
    }
    return n;
}

static int setup_manifest(void **state)
{
    (void)state;
    size_t len;
    char *m = (char *)slurp(DATA "/manifest.txt", &len);
    if (!m) return -1;
    m[len] = 0;
    int stage = 0;
    golden *g = NULL;
    /* Blocks of lines separated by a blank line (see make_golden.py). */
    for (char *line = m, *nl; line && *line; line = nl) {
        nl = strchr(line, '\n');
        if (nl) *nl++ = 0;
        if (!line[0]) {
            stage = 0;
            continue;
        }
        if (stage == 0) {
            g = &G[NG++];
            memset(g, 0, sizeof *g);
            snprintf(g->name, sizeof g->name, "%s", line);
            stage = 1;
        } else if (stage == 1) {
            g->ndim = (uint32_t)count_ints(line, g->dom, 8) / 2;
            g->ncells = 1;
            for (uint32_t d = 0; d < g->ndim; d++) g->ncells *= (uint64_t)(g->dom[2 * d + 1] - g->dom[2 * d] + 1);
            stage = 2;
        } else if (stage == 2) {
            count_ints(line, g->ned, 8);
            stage = 3;
        } else if (stage == 3) {
            g->nfrag = (uint32_t)atoi(line);
            stage = 4;
        } else {
            golden_attr *at = &g->attrs[g->nattr++];
            sscanf(line, "%31s %d", at->name, &at->nullable);
            char path[512];
            snprintf(path, sizeof path, DATA "/%s.%s.bin", g->name, at->name);
            size_t n;
            at->data = slurp(path, &n);
            if (!at->data) return -1;
            at->cs = n / g->ncells;
            if (at->nullable) {
                snprintf(path, sizeof path, DATA "/%s.%s.valid.bin", g->name, at->name);
                at->valid = slurp(path, NULL);
            }
        }
    }
    free(m);
    return NG > 0 ? 0 : -1;
}

static int teardown_manifest(void **state)
{
    (void)state;
    for (int i = 0; i < NG; i++)
        for (uint32_t a = 0; a < G[i].nattr; a++) {
            free(G[i].attrs[a].data);
            free(G[i].attrs[a].valid);
        }
    return 0;
}

static golden *find(const char *name)
{
    for (int i = 0; i < NG; i++)
        if (strcmp(G[i].name, name) == 0) return &G[i];
    fail_msg("no golden array %s", name);
    return NULL;
}

/* The expected cells of box q, in layout, from the row-major whole-domain file. */
static void expected(const golden *g, const uint8_t *full, size_t cs, const int64_t *q, radi_layout layout,
                     uint8_t *out)
{
    int64_t n[4] = {1, 1, 1, 1}, lo[4] = {0}, idx[4] = {0};
    uint64_t dstride[4];
    uint64_t acc = 1;
    for (int d = (int)g->ndim - 1; d >= 0; d--) {
        dstride[d] = acc;
        acc *= (uint64_t)(g->dom[2 * d + 1] - g->dom[2 * d] + 1);
    }
    for (uint32_t d = 0; d < g->ndim; d++) {
        n[d] = q[2 * d + 1] - q[2 * d] + 1;
        lo[d] = q[2 * d];
    }
    uint64_t total = 1;
    for (uint32_t d = 0; d < g->ndim; d++) total *= (uint64_t)n[d];
    for (uint64_t k = 0; k < total; k++) {
        uint64_t r = k;
        for (uint32_t i = 0; i < g->ndim; i++) {
            uint32_t d = layout == RADI_ROW_MAJOR ? g->ndim - 1 - i : i;
            idx[d] = (int64_t)(r % (uint64_t)n[d]);
            r /= (uint64_t)n[d];
        }
        uint64_t src = 0;
        for (uint32_t d = 0; d < g->ndim; d++) src += (uint64_t)(lo[d] + idx[d] - g->dom[2 * d]) * dstride[d];
        memcpy(out + k * cs, full + src * cs, cs);
    }
}

static radi_ctx *make_ctx(uint32_t concurrency, uint64_t budget)
{
    radi_config c;
    radi_config_init(&c);
    c.concurrency = concurrency;
    radi_ctx *ctx = NULL;
    assert_int_equal(radi_ctx_create(&c, &ctx), RADI_OK);
    /* Below the public 1 MiB minimum on purpose: forces one batch per tile or two. */
    if (budget) ctx->config.memory_budget = budget;
    return ctx;
}

static radi_array *open_golden(radi_ctx *ctx, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, DATA "/%s", name);
    radi_array *a = NULL;
    radi_status s = radi_array_open(ctx, path, 0, 0, &a);
    if (s != RADI_OK) fail_msg("open %s: %s", path, radi_errmsg());
    return a;
}

/* Reads box q of every attribute and compares with TileDB-Py's answer. */
static void check_box(radi_array *a, const golden *g, const int64_t *q, radi_layout layout, radi_read_stats *st)
{
    uint64_t n = 1;
    for (uint32_t d = 0; d < g->ndim; d++) n *= (uint64_t)(q[2 * d + 1] - q[2 * d] + 1);
    radi_field_buffer fb[MAX_ATTRS];
    for (uint32_t i = 0; i < g->nattr; i++) {
        fb[i].attr = g->attrs[i].name;
        fb[i].size = n * g->attrs[i].cs;
        fb[i].data = malloc(fb[i].size);
        memset(fb[i].data, 0xa5, fb[i].size);
        fb[i].validity = g->attrs[i].nullable ? malloc(n) : NULL;
    }
    radi_status s = radi_array_read_dense(a, q, layout, g->nattr, fb, st);
    if (s != RADI_OK) fail_msg("%s read: %s", g->name, radi_errmsg());
    for (uint32_t i = 0; i < g->nattr; i++) {
        const golden_attr *at = &g->attrs[i];
        uint8_t *exp = malloc(fb[i].size);
        expected(g, at->data, at->cs, q, layout, exp);
        if (memcmp(exp, fb[i].data, fb[i].size) != 0) {
            uint64_t k = 0;
            while (memcmp(exp + k * at->cs, (uint8_t *)fb[i].data + k * at->cs, at->cs) == 0) k++;
            fail_msg("%s.%s: cell %llu of box [%lld..%lld, %lld..%lld, ...] layout %d differs", g->name, at->name,
                     (unsigned long long)k, (long long)q[0], (long long)q[1], (long long)q[2], (long long)q[3],
                     (int)layout);
        }
        if (at->nullable) {
            expected(g, at->valid, 1, q, layout, exp);
            assert_memory_equal(exp, fb[i].validity, n);
        }
        free(exp);
        free(fb[i].data);
        free(fb[i].validity);
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(uint64_t n)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (rng_state >> 33) % n;
}

static void random_box(const golden *g, int64_t *q)
{
    for (uint32_t d = 0; d < g->ndim; d++) {
        int64_t span = g->dom[2 * d + 1] - g->dom[2 * d] + 1;
        int64_t a = g->dom[2 * d] + (int64_t)rnd((uint64_t)span), b = g->dom[2 * d] + (int64_t)rnd((uint64_t)span);
        q[2 * d] = RDI_MIN(a, b);
        q[2 * d + 1] = RDI_MAX(a, b);
    }
}

/* The smallest power-of-two budget (from 256 bytes) that holds the largest tile of the
 * array: reads with it run in many batches. */
static uint64_t tiny_budget(const char *name)
{
    golden *g = find(name);
    uint64_t budget = 256;
    for (;; budget *= 2) {
        radi_ctx *ctx = make_ctx(1, budget);
        radi_array *a = open_golden(ctx, name);
        radi_status s = RADI_OK;
        for (uint32_t i = 0; i < g->nattr && s == RADI_OK; i++) {
            uint8_t *buf = malloc(g->ncells * g->attrs[i].cs), *valid = malloc(g->ncells);
            radi_field_buffer fb = {g->attrs[i].name, buf, g->ncells * g->attrs[i].cs, valid};
            s = radi_array_read_dense(a, g->dom, RADI_ROW_MAJOR, 1, &fb, NULL);
            free(buf);
            free(valid);
        }
        radi_array_close(a);
        radi_ctx_free(ctx);
        if (s == RADI_OK) return budget;
        assert_int_equal(s, RADI_E_BUDGET);
    }
}

static void check_array(const char *name, uint32_t concurrency, uint64_t budget, int nrandom)
{
    golden *g = find(name);
    if (budget == 1) budget = tiny_budget(name);
    radi_ctx *ctx = make_ctx(concurrency, budget);
    radi_array *a = open_golden(ctx, name);
    assert_int_equal(radi_array_fragment_count(a), g->nfrag);
    int64_t ned[8];
    int empty = -1;
    assert_int_equal(radi_array_nonempty_domain(a, ned, &empty), RADI_OK);
    assert_int_equal(empty, g->nfrag == 0);
    if (!empty) assert_memory_equal(ned, g->ned, 2 * g->ndim * sizeof(int64_t));
    radi_read_stats st;
    check_box(a, g, g->dom, RADI_ROW_MAJOR, &st);
    if (budget && g->nfrag) assert_true(st.batches > 1);
    check_box(a, g, g->dom, RADI_COL_MAJOR, &st);
    for (int i = 0; i < nrandom; i++) {
        int64_t q[8];
        random_box(g, q);
        check_box(a, g, q, (i & 1) ? RADI_COL_MAJOR : RADI_ROW_MAJOR, NULL);
    }
    radi_array_close(a);
    radi_ctx_free(ctx);
}

static const char *const ARRAYS[] = {"d2_i16",      "d3_f32_col",   "d4_u8",      "d3_types", "axial_f32",
                                     "d2_i16_cons", "d3_frag_cons", "d2_evolved", "empty"};
#define NARRAYS (sizeof ARRAYS / sizeof ARRAYS[0])

/* Names, sizes and modification times of every file under the golden directory. */
static char *snapshot(void)
{
    FILE *p = popen("find '" DATA "' -printf '%p %s %T@\\n' | sort | md5sum", "r");
    static char buf[128];
    assert_non_null(fgets(buf, sizeof buf, p));
    pclose(p);
    return strdup(buf);
}

static void test_golden_serial(void **state)
{
    (void)state;
    char *before = snapshot();
    for (size_t i = 0; i < NARRAYS; i++) check_array(ARRAYS[i], 1, 0, 40);
    char *after = snapshot();
    assert_string_equal(before, after); /* reading never modifies the array */
    free(before);
    free(after);
}

static void test_golden_parallel(void **state)
{
    (void)state;
    for (size_t i = 0; i < NARRAYS; i++) check_array(ARRAYS[i], 4, 0, 40);
}

static void test_golden_tiny_budget(void **state)
{
    (void)state;
    /* A tile or two per batch; tile groups fall back to single tiles. */
    for (size_t i = 0; i < NARRAYS; i++) check_array(ARRAYS[i], 4, 1, 10);
    for (size_t i = 0; i < NARRAYS; i++) check_array(ARRAYS[i], 1, 1, 5);
}

static void test_budget_too_small(void **state)
{
    (void)state;
    golden *g = find("axial_f32");
    radi_ctx *ctx = make_ctx(2, 64);
    radi_array *a = open_golden(ctx, "axial_f32");
    uint64_t n = g->ncells;
    float *buf = malloc(n * 4);
    radi_field_buffer fb = {"voxels", buf, n * 4, NULL};
    assert_int_equal(radi_array_read_dense(a, g->dom, RADI_ROW_MAJOR, 1, &fb, NULL), RADI_E_BUDGET);
    assert_non_null(strstr(radi_errmsg(), "budget"));
    free(buf);
    radi_array_close(a);
    radi_ctx_free(ctx);
}

/* An axial slice of axial tiles is decoded straight into the caller's buffer: one tile,
 * one read. */
static void test_stats_and_direct(void **state)
{
    (void)state;
    golden *g = find("axial_f32");
    radi_ctx *ctx = make_ctx(4, 0);
    radi_array *a = open_golden(ctx, "axial_f32");
    int64_t q[6] = {0, 11, 0, 9, 2, 2};
    radi_read_stats st;
    check_box(a, g, q, RADI_ROW_MAJOR, &st);
    assert_int_equal(st.tiles_read, 1);
    assert_int_equal(st.io_requests, 1);
    assert_int_equal(st.batches, 1);
    /* The whole volume: 30 tiles from the first fragment plus 14 from the second,
     * coalesced into one read per fragment file. */
    check_box(a, g, g->dom, RADI_ROW_MAJOR, &st);
    assert_int_equal(st.tiles_read, 44);
    assert_int_equal(st.io_requests, 2);
    radi_array_close(a);
    radi_ctx_free(ctx);
}

static void test_bad_args_and_info(void **state)
{
    (void)state;
    golden *g = find("d3_types");
    radi_ctx *ctx = make_ctx(2, 0);
    radi_array *a = open_golden(ctx, "d3_types");
    uint8_t buf[4096], valid[1024];
    radi_field_buffer fb = {"i8", buf, sizeof buf, valid};
    int64_t q[6] = {0, 11, 0, 7, 0, 5};
    /* A non-nullable attribute's validity is all ones. */
    assert_int_equal(radi_array_read_dense(a, q, RADI_ROW_MAJOR, 1, &fb, NULL), RADI_OK);
    for (uint64_t i = 0; i < g->ncells; i++) assert_int_equal(valid[i], 1);
    q[1] = 12;
    assert_int_equal(radi_array_read_dense(a, q, RADI_ROW_MAJOR, 1, &fb, NULL), RADI_E_INVALID);
    q[1] = 11;
    fb.attr = "nope";
    assert_int_equal(radi_array_read_dense(a, q, RADI_ROW_MAJOR, 1, &fb, NULL), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "nope"));
    fb.attr = "i64";
    fb.size = g->ncells * 8 - 1;
    assert_int_equal(radi_array_read_dense(a, q, RADI_ROW_MAJOR, 1, &fb, NULL), RADI_E_INVALID);
    fb.size = sizeof buf;
    assert_int_equal(radi_array_read_dense(a, q, RADI_GLOBAL_ORDER, 1, &fb, NULL), RADI_E_INVALID);

    radi_fragment_info info;
    assert_int_equal(radi_array_fragment(a, 0, &info), RADI_OK);
    assert_int_equal(info.t1, 1000);
    assert_int_equal(info.t2, 1000);
    assert_int_equal(info.version, 22);
    assert_true(info.dense);
    /* Extents 5,4,6 over [0,11]x[0,7]x[0,3]: 3*2*1 tiles of 120 cells. */
    assert_int_equal(info.tile_count, 6);
    assert_int_equal(info.cell_count, 720);
    assert_true(info.size_bytes > 10000);
    int64_t ned0[6] = {0, 11, 0, 7, 0, 3};
    assert_memory_equal(info.ned, ned0, sizeof ned0);
    assert_int_equal(radi_array_fragment(a, 2, &info), RADI_E_INVALID);
    radi_array_close(a);
    radi_ctx_free(ctx);
}

/* Footers of a consolidated array come from the .meta file (no per-fragment file read
 * at open; the metadata file's size is learnt only when tile offsets are needed). */
static void test_consolidated_footers(void **state)
{
    (void)state;
    radi_ctx *ctx = make_ctx(2, 0);
    radi_array *a = open_golden(ctx, "d2_i16_cons");
    assert_int_equal(a->nfrags, 4);
    for (uint32_t f = 0; f < a->nfrags; f++) assert_int_equal(a->frags[f]->meta_size, 0);
    radi_array_close(a);
    a = open_golden(ctx, "d2_i16");
    for (uint32_t f = 0; f < a->nfrags; f++) assert_true(a->frags[f]->meta_size > 0);
    radi_array_close(a);
    radi_ctx_free(ctx);
}

/* ------------------------------------------------------------- damaged copies -- */

static char tmpdir[256];

static void copy_golden(const char *name, char *out, size_t outlen)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/radi_dense_XXXXXX");
        assert_non_null(mkdtemp(tmpdir));
    }
    static int k;
    snprintf(out, outlen, "%s/%s_%d", tmpdir, name, k++);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cp -r '%s/%s' '%s'", DATA, name, out);
    assert_int_equal(system(cmd), 0);
}

/* The n-th fragment directory (sorted by name) of an array copy. */
static void frag_path(const char *arr, int n, char *out, size_t outlen)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "ls -1 '%s/__fragments' | sort | sed -n '%dp'", arr, n + 1);
    FILE *p = popen(cmd, "r");
    char name[256] = {0};
    assert_non_null(fgets(name, sizeof name, p));
    pclose(p);
    name[strcspn(name, "\n")] = 0;
    snprintf(out, outlen, "%s/__fragments/%s", arr, name);
}

/* Opens and reads everything; expects a failure whose message contains `needle`. */
static void expect_failure(const char *arr, const char *needle)
{
    radi_ctx *ctx = make_ctx(2, 0);
    radi_array *a = NULL;
    radi_status s = radi_array_open(ctx, arr, 0, 0, &a);
    if (s == RADI_OK) {
        golden *g = find("d2_i16");
        int16_t *buf = malloc(g->ncells * 2);
        radi_field_buffer fb = {"a", buf, g->ncells * 2, NULL};
        s = radi_array_read_dense(a, g->dom, RADI_ROW_MAJOR, 1, &fb, NULL);
        free(buf);
        radi_array_close(a);
    }
    if (s == RADI_OK) fail_msg("%s: damaged array read without error", arr);
    if (!strstr(radi_errmsg(), needle)) fail_msg("error '%s' does not name '%s'", radi_errmsg(), needle);
    if (getenv("RADI_TEST_VERBOSE")) print_message("%s: %s\n", radi_status_name(s), radi_errmsg());
    radi_ctx_free(ctx);
}

static void patch(const char *path, long off_from_end, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, -off_from_end, SEEK_END);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    fclose(f);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

/* Offset from the end of __fragment_metadata.tdb of the footer's file_sizes[0]. */
static long file_sizes_off(const char *md)
{
    size_t len;
    uint8_t *b = slurp(md, &len);
    uint64_t flen = rdi_ld64(b + len - 8);
    size_t p = len - 8 - flen;
    uint64_t nlen = rdi_ld64(b + p + 4);
    /* version, name, dense, null_ned, 2 int32 dims, sparse/last tile nums, 2 flags */
    size_t fs = p + 4 + 8 + nlen + 2 + 16 + 16 + 2;
    free(b);
    return (long)(len - fs);
}

static void test_damaged(void **state)
{
    (void)state;
    char arr[512], frag[1024], md[1100], path[1100];

    /* Truncated footer. */
    copy_golden("d2_i16", arr, sizeof arr);
    frag_path(arr, 1, frag, sizeof frag);
    snprintf(md, sizeof md, "%s/__fragment_metadata.tdb", frag);
    assert_int_equal(truncate(md, (off_t)file_size(md) - 5), 0);
    expect_failure(arr, "__fragment_metadata.tdb");

    /* A file of 3 bytes. */
    copy_golden("d2_i16", arr, sizeof arr);
    frag_path(arr, 0, frag, sizeof frag);
    snprintf(md, sizeof md, "%s/__fragment_metadata.tdb", frag);
    assert_int_equal(truncate(md, 3), 0);
    expect_failure(arr, "__fragment_metadata.tdb");

    /* footer_len off by one either way, and absurd. */
    for (int k = 0; k < 3; k++) {
        copy_golden("d2_i16", arr, sizeof arr);
        frag_path(arr, 2, frag, sizeof frag);
        snprintf(md, sizeof md, "%s/__fragment_metadata.tdb", frag);
        size_t len;
        uint8_t *b = slurp(md, &len);
        uint64_t flen = rdi_ld64(b + len - 8);
        free(b);
        flen = k == 0 ? flen + 1 : k == 1 ? flen - 1 : UINT64_MAX - 3;
        patch(md, 8, &flen, 8);
        expect_failure(arr, "__fragment_metadata.tdb");
    }

    /* A missing data file. */
    copy_golden("d2_i16", arr, sizeof arr);
    frag_path(arr, 0, frag, sizeof frag);
    snprintf(path, sizeof path, "%s/a0.tdb", frag);
    assert_int_equal(unlink(path), 0);
    expect_failure(arr, "a0.tdb");

    /* file_sizes[a0] too large (+8) or too small (-4): the last tile is misread. */
    for (int k = 0; k < 2; k++) {
        copy_golden("d2_i16", arr, sizeof arr);
        frag_path(arr, 0, frag, sizeof frag);
        snprintf(md, sizeof md, "%s/__fragment_metadata.tdb", frag);
        long off = file_sizes_off(md);
        size_t len;
        uint8_t *b = slurp(md, &len);
        uint64_t fs = rdi_ld64(b + len - (size_t)off);
        free(b);
        snprintf(path, sizeof path, "%s/a0.tdb", frag);
        assert_int_equal(fs, file_size(path));
        fs = k == 0 ? fs + 8 : fs - 4;
        patch(md, off, &fs, 8);
        expect_failure(arr, "a0.tdb");
    }

    /* A data tile cut short. */
    copy_golden("d2_i16", arr, sizeof arr);
    frag_path(arr, 0, frag, sizeof frag);
    snprintf(path, sizeof path, "%s/a0.tdb", frag);
    assert_int_equal(truncate(path, (off_t)file_size(path) - 10), 0);
    expect_failure(arr, "a0.tdb");

    /* Garbage inside the tile offsets section of a fragment's metadata. */
    copy_golden("d2_i16", arr, sizeof arr);
    {
        radi_ctx *ctx = make_ctx(1, 0);
        radi_array *a = NULL;
        assert_int_equal(radi_array_open(ctx, arr, 0, 0, &a), RADI_OK);
        uint64_t off = a->frags[1]->gt_off[RDI_GT_TILE_OFFSETS][0];
        snprintf(md, sizeof md, "%s/__fragment_metadata.tdb", a->frags[1]->uri);
        radi_array_close(a);
        radi_ctx_free(ctx);
        FILE *f = fopen(md, "r+b");
        assert_non_null(f);
        fseek(f, (long)off + 60, SEEK_SET);
        const uint8_t junk[12] = {0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef};
        assert_int_equal(fwrite(junk, 1, sizeof junk, f), sizeof junk);
        fclose(f);
        expect_failure(arr, "__fragment_metadata.tdb");
    }

    /* Garbage in the consolidated .meta footer section. */
    copy_golden("d2_i16_cons", arr, sizeof arr);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "ls -1 '%s/__fragment_meta'/*.meta", arr);
    FILE *p = popen(cmd, "r");
    char meta[1024] = {0};
    assert_non_null(fgets(meta, sizeof meta, p));
    pclose(p);
    meta[strcspn(meta, "\n")] = 0;
    assert_int_equal(truncate(meta, 40), 0);
    expect_failure(arr, ".meta");

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    assert_int_equal(system(cmd), 0);
}

/* The footer parser on its own: every golden fragment, and every truncation of one. */
static void test_footer_parse(void **state)
{
    (void)state;
    radi_ctx *ctx = make_ctx(1, 0);
    radi_array *a = open_golden(ctx, "d3_types");
    rdi_fragmeta *fm = a->frags[0];
    char md[1024];
    snprintf(md, sizeof md, "%s/__fragment_metadata.tdb", fm->uri);
    size_t len;
    uint8_t *b = slurp(md, &len);
    uint64_t flen = rdi_ld64(b + len - 8);
    const uint8_t *footer = b + len - 8 - flen;
    rdi_fragmeta *copy = rdi_calloc(1, sizeof *copy);
    assert_int_equal(rdi_fragmeta_parse_footer(footer, flen, md, a->schemas, a->nschemas, copy), RADI_OK);
    assert_int_equal(copy->nfields, 9 + 1 + 3);
    assert_int_equal(copy->tile_num, fm->tile_num);
    assert_int_equal(copy->file_sizes[0], fm->file_sizes[0]);
    rdi_fragmeta_free(copy);
    for (uint64_t cut = 0; cut < flen; cut++) {
        copy = rdi_calloc(1, sizeof *copy);
        assert_int_not_equal(rdi_fragmeta_parse_footer(footer, cut, md, a->schemas, a->nschemas, copy), RADI_OK);
        assert_non_null(strstr(radi_errmsg(), "__fragment_metadata.tdb"));
        rdi_fragmeta_free(copy);
    }
    /* A v23 footer: the v22 layout plus optional sections, which are skipped. */
    uint8_t *v23 = malloc(flen + 32);
    memcpy(v23, footer, flen);
    rdi_st32(v23, 23);
    uint8_t extra[] = {1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 'a', 'b', 'c'};
    memcpy(v23 + flen, extra, sizeof extra);
    copy = rdi_calloc(1, sizeof *copy);
    assert_int_equal(rdi_fragmeta_parse_footer(v23, flen + sizeof extra, md, a->schemas, a->nschemas, copy),
                     RADI_OK);
    assert_int_equal(copy->version, 23);
    assert_int_equal(copy->tile_num, fm->tile_num);
    rdi_fragmeta_free(copy);
    rdi_st32(v23, 24); /* newer than any reader knows */
    copy = rdi_calloc(1, sizeof *copy);
    assert_int_equal(rdi_fragmeta_parse_footer(v23, flen, md, a->schemas, a->nschemas, copy), RADI_E_UNSUPPORTED);
    assert_non_null(strstr(radi_errmsg(), "24"));
    rdi_fragmeta_free(copy);
    rdi_st32(v23, 11); /* older than supported */
    copy = rdi_calloc(1, sizeof *copy);
    assert_int_equal(rdi_fragmeta_parse_footer(v23, flen, md, a->schemas, a->nschemas, copy), RADI_E_UNSUPPORTED);
    rdi_fragmeta_free(copy);
    free(v23);
    /* Older layouts: v15 has no processed-conditions offset, v13 neither the
     * has_timestamps nor the has_delete_meta byte (d3_types: three uint16 dimensions). */
    size_t flags = 4 + 8 + rdi_ld64(footer + 4) + 2 + 3 * 2 * 2 + 8 + 8;
    uint8_t *old = malloc(flen);
    for (uint32_t v = 12; v <= 16; v++) {
        size_t n = 0;
        memcpy(old, footer, flags);
        n = flags;
        if (v >= 14) old[n++] = footer[flags];
        if (v >= 15) old[n++] = footer[flags + 1];
        size_t rest = flen - (flags + 2) - (v >= 16 ? 0 : 8);
        memcpy(old + n, footer + flags + 2, rest);
        n += rest;
        rdi_st32(old, v);
        copy = rdi_calloc(1, sizeof *copy);
        assert_int_equal(rdi_fragmeta_parse_footer(old, n, md, a->schemas, a->nschemas, copy), RADI_OK);
        assert_int_equal(copy->tile_num, fm->tile_num);
        assert_int_equal(copy->file_validity_sizes[8], fm->file_validity_sizes[8]);
        assert_int_equal(copy->gt_off[RDI_GT_NULL_COUNTS][8], fm->gt_off[RDI_GT_NULL_COUNTS][8]);
        assert_int_equal(copy->frag_mmsn_off, fm->frag_mmsn_off);
        rdi_fragmeta_free(copy);
    }
    free(old);
    /* No schema of that name. */
    copy = rdi_calloc(1, sizeof *copy);
    assert_int_equal(rdi_fragmeta_parse_footer(footer, flen, md, a->schemas, 0, copy), RADI_E_CORRUPT);
    rdi_fragmeta_free(copy);
    /* Each field's tile offsets load once and agree with the file sizes. */
    uint32_t first = 0;
    for (int k = 0; k < 2; k++) assert_int_equal(rdi_array_load_tile_index(a, &first, 1), RADI_OK);
    assert_non_null(fm->tile_offsets[0]);
    assert_true(fm->tile_offsets[0][fm->tile_num - 1] < fm->file_sizes[0]);
    assert_non_null(fm->tile_validity_offsets[8]);
    free(b);
    radi_array_close(a);
    radi_ctx_free(ctx);
}

/* Every storage call of an open and a read, failed in turn (plain failures and short
 * reads): the read either fails cleanly or returns the right cells. A failure leaves no
 * half-loaded state behind: the same handle reads correctly afterwards. */
static void test_faults(void **state)
{
    (void)state;
    golden *g = find("d3_types");
    char path[512];
    snprintf(path, sizeof path, DATA "/d3_types");
    for (int short_read = 0; short_read < 2; short_read++) {
        uint64_t total = 0;
        for (uint64_t k = 0; k == 0 || k <= total; k++) {
            radi_ctx *ctx = make_ctx(1, 0);
            rdi_fault fault = {.ops_mask = RDI_FAULT_READ | RDI_FAULT_SIZE | RDI_FAULT_LS, .fail_at = k,
                               .short_read = short_read, .inner = &rdi_vfs_posix_ops};
            rdi_vfs_set_local(ctx->vfs, &rdi_vfs_fault_ops, &fault);
            radi_array *a = NULL;
            radi_status s = radi_array_open(ctx, path, 0, 0, &a);
            if (s == RADI_OK) {
                int64_t q[6] = {1, 10, 0, 7, 1, 5};
                radi_status r = radi_array_read_dense(a, q, RADI_ROW_MAJOR, 0, NULL, NULL);
                assert_int_equal(r, RADI_OK);
                uint64_t n = 10 * 8 * 5;
                uint8_t *buf = malloc(n * 8), *valid = malloc(n), *exp = malloc(n * 8);
                radi_field_buffer fb[2] = {{"f64", buf, n * 8, NULL}, {"n8", valid, n, exp}};
                r = radi_array_read_dense(a, q, RADI_ROW_MAJOR, 2, fb, NULL);
                if (r != RADI_OK) {
                    assert_true(r == RADI_E_IO || r == RADI_E_CORRUPT);
                    assert_true(strstr(radi_errmsg(), DATA) != NULL);
                    fault.fail_at = 0; /* the same handle, storage healthy again */
                    assert_int_equal(radi_array_read_dense(a, q, RADI_ROW_MAJOR, 2, fb, NULL), RADI_OK);
                }
                fault.fail_at = 0;
                check_box(a, g, q, RADI_COL_MAJOR, NULL);
                free(buf);
                free(valid);
                free(exp);
                radi_array_close(a);
            }
            if (k == 0) total = fault.calls;
            radi_ctx_free(ctx);
        }
        assert_true(total > 5);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_serial),
        cmocka_unit_test(test_golden_parallel),
        cmocka_unit_test(test_golden_tiny_budget),
        cmocka_unit_test(test_budget_too_small),
        cmocka_unit_test(test_stats_and_direct),
        cmocka_unit_test(test_bad_args_and_info),
        cmocka_unit_test(test_footer_parse),
        cmocka_unit_test(test_damaged),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_consolidated_footers),
    };
    return cmocka_run_group_tests(tests, setup_manifest, teardown_manifest);
}
