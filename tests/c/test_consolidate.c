/* Consolidation and vacuum: values identical before and after, the files each step
 * leaves, idempotence, and crash points in between. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <cmocka.h>

#include "radi/sparse.h"
#include "tdb/tdb.h"

#define NX 10
#define NY 10
#define NZ 6
#define NCELLS (NX * NY * NZ)

typedef struct fx {
    char dir[64];
    char *uri;
    radi_ctx *ctx;
} fx;

static const int64_t FULL[6] = {0, NX - 1, 0, NY - 1, 0, NZ - 1};

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/radi_consol_XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    f->uri = rdi_path_join(f->dir, "arr");
    if (radi_ctx_create(NULL, &f->ctx) != RADI_OK) return -1;

    radi_schema *s = NULL;
    int32_t lo = 0, hx = NX - 1, hy = NY - 1, hz = NZ - 1, ex = 4, ey = 3, ez = 2;
    int32_t fill_a = -7;
    radi_filter_list zstd;
    radi_filter_list_init(&zstd);
    radi_filter_list_add(&zstd, RADI_FILTER_ZSTD, 3);
    if (radi_schema_create(RADI_DENSE, &s) != RADI_OK) return -1;
    if (radi_schema_add_dim(s, "x", RADI_INT32, &lo, &hx, &ex, NULL) ||
        radi_schema_add_dim(s, "y", RADI_INT32, &lo, &hy, &ey, NULL) ||
        radi_schema_add_dim(s, "z", RADI_INT32, &lo, &hz, &ez, NULL) ||
        radi_schema_add_attr(s, "a", RADI_INT32, 1, 0, &zstd, &fill_a, sizeof fill_a) ||
        radi_schema_add_attr(s, "b", RADI_FLOAT64, 1, 0, NULL, NULL, 0) ||
        radi_array_create(f->ctx, f->uri, s) != RADI_OK) {
        fprintf(stderr, "setup: %s\n", radi_errmsg());
        return -1;
    }
    radi_schema_free(s);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    rdi_vfs_remove_dir(f->ctx->vfs, f->dir);
    radi_ctx_free(f->ctx);
    free(f->uri);
    free(f);
    return 0;
}

static uint64_t box_cells(const int64_t *box)
{
    uint64_t n = 1;
    for (int d = 0; d < 3; d++) n *= (uint64_t)(box[2 * d + 1] - box[2 * d] + 1);
    return n;
}

/* One fragment over box with values derived from seed. */
static void write_box(fx *f, const int64_t *box, int seed)
{
    uint64_t n = box_cells(box);
    int32_t *a = malloc(n * sizeof *a);
    double *b = malloc(n * sizeof *b);
    for (uint64_t i = 0; i < n; i++) {
        a[i] = seed * 1000 + (int32_t)i;
        b[i] = seed + (double)i * 0.5;
    }
    radi_field_buffer fb[2] = {{"a", a, n * sizeof *a, NULL}, {"b", b, n * sizeof *b, NULL}};
    radi_array *arr = NULL;
    assert_int_equal(radi_array_open(f->ctx, f->uri, 0, 0, &arr), RADI_OK);
    assert_int_equal(radi_array_write_dense(arr, box, RADI_ROW_MAJOR, 2, fb, 0), RADI_OK);
    radi_array_close(arr);
    free(a);
    free(b);
}

/* Three overlapping partial writes, not tile-aligned, leaving unwritten cells inside
 * their bounding box. */
static void write_three(fx *f)
{
    const int64_t w1[6] = {0, 5, 0, 4, 0, 1};
    const int64_t w2[6] = {3, 8, 2, 7, 1, 3};
    const int64_t w3[6] = {7, 9, 0, 9, 4, 5};
    write_box(f, w1, 1);
    write_box(f, w2, 2);
    write_box(f, w3, 3);
}

typedef struct snap {
    int32_t a[NCELLS];
    double b[NCELLS];
    uint32_t nfrags;
    int64_t ned[6];
} snap;

static void read_all(fx *f, uint64_t t_end, snap *out)
{
    radi_array *arr = NULL;
    memset(out, 0, sizeof *out);
    assert_int_equal(radi_array_open(f->ctx, f->uri, 0, t_end, &arr), RADI_OK);
    radi_field_buffer fb[2] = {{"a", out->a, sizeof out->a, NULL}, {"b", out->b, sizeof out->b, NULL}};
    assert_int_equal(radi_array_read_dense(arr, FULL, RADI_ROW_MAJOR, 2, fb, NULL), RADI_OK);
    out->nfrags = radi_array_fragment_count(arr);
    int empty = 0;
    assert_int_equal(radi_array_nonempty_domain(arr, out->ned, &empty), RADI_OK);
    radi_array_close(arr);
}

static void assert_same(const snap *x, const snap *y)
{
    assert_memory_equal(x->a, y->a, sizeof x->a);
    assert_memory_equal(x->b, y->b, sizeof x->b); /* bytes, so NaN fills compare */
    assert_memory_equal(x->ned, y->ned, sizeof x->ned);
}

/* Files in uri/sub whose names end with sfx ("" = all). */
static size_t count_in(fx *f, const char *sub, const char *sfx)
{
    char *dir = rdi_path_join(f->uri, sub);
    rdi_dirlist l;
    assert_int_equal(rdi_vfs_ls(f->ctx->vfs, dir, &l), RADI_OK);
    size_t n = 0, m = strlen(sfx);
    for (size_t i = 0; i < l.n; i++) {
        size_t k = strlen(l.items[i].name);
        if (k >= m && strcmp(l.items[i].name + k - m, sfx) == 0) n++;
    }
    rdi_dirlist_free(&l);
    free(dir);
    return n;
}

/* The first name in uri/sub ending with sfx (malloc'd). */
static char *first_in(fx *f, const char *sub, const char *sfx)
{
    char *dir = rdi_path_join(f->uri, sub);
    rdi_dirlist l;
    assert_int_equal(rdi_vfs_ls(f->ctx->vfs, dir, &l), RADI_OK);
    char *out = NULL;
    size_t m = strlen(sfx);
    for (size_t i = 0; i < l.n && !out; i++) {
        size_t k = strlen(l.items[i].name);
        if (k >= m && strcmp(l.items[i].name + k - m, sfx) == 0) out = strdup(l.items[i].name);
    }
    rdi_dirlist_free(&l);
    free(dir);
    assert_non_null(out);
    return out;
}

static char *slurp(fx *f, const char *sub, const char *name, size_t *len)
{
    char *p = rdi_asprintf("%s/%s/%s", f->uri, sub, name);
    rdi_buf b = RDI_BUF_INIT;
    assert_int_equal(rdi_vfs_read_all(f->ctx->vfs, p, &b), RADI_OK);
    assert_int_equal(rdi_buf_put_u8(&b, 0), RADI_OK);
    free(p);
    if (len) *len = b.len - 1;
    return (char *)b.data;
}

/* Every path under the array, sorted, one per line (to prove no-ops). */
static void tree(rdi_vfs *vfs, const char *dir, const char *rel, rdi_buf *out)
{
    rdi_dirlist l;
    assert_int_equal(rdi_vfs_ls(vfs, dir, &l), RADI_OK);
    for (size_t i = 0; i < l.n; i++) {
        char *r = rdi_asprintf("%s/%s", rel, l.items[i].name);
        assert_int_equal(rdi_buf_append(out, r, strlen(r)), RADI_OK);
        assert_int_equal(rdi_buf_put_u8(out, '\n'), RADI_OK);
        if (l.items[i].is_dir) {
            char *d = rdi_path_join(dir, l.items[i].name);
            tree(vfs, d, r, out);
            free(d);
        }
        free(r);
    }
    rdi_dirlist_free(&l);
}

static char *tree_of(fx *f)
{
    rdi_buf b = RDI_BUF_INIT;
    tree(f->ctx->vfs, f->uri, "", &b);
    assert_int_equal(rdi_buf_put_u8(&b, 0), RADI_OK);
    return (char *)b.data;
}

static const radi_consolidation_mode MODES[4] = {
    RADI_CONSOLIDATE_FRAGMENTS, RADI_CONSOLIDATE_COMMITS, RADI_CONSOLIDATE_FRAGMENT_META,
    RADI_CONSOLIDATE_ARRAY_META};

/* -------------------------------------------------------------------- tests -- */

static void test_fragments(void **state)
{
    fx *f = *state;
    write_three(f);
    snap before, after;
    read_all(f, 0, &before);
    assert_int_equal(before.nfrags, 3);
    /* The middle of the bounding box was never written: fill. */
    assert_int_equal(before.a[(1 * NY + 8) * NZ + 5], -7);

    assert_int_equal(radi_consolidate(f->ctx, f->uri, RADI_CONSOLIDATE_FRAGMENTS), RADI_OK);
    read_all(f, 0, &after);
    assert_same(&before, &after);
    assert_int_equal(after.nfrags, 1);
    assert_int_equal(count_in(f, "__fragments", ""), 4);
    assert_int_equal(count_in(f, "__commits", ".wrt"), 4);
    assert_int_equal(count_in(f, "__commits", ".vac"), 1);

    /* The .vac names the three inputs, relative with a leading slash, as TileDB. */
    char *vac = first_in(f, "__commits", ".vac");
    char *text = slurp(f, "__commits", vac, NULL);
    int lines = 0;
    for (char *p = text; (p = strstr(p, "/__fragments/__")); p++) lines++;
    assert_int_equal(lines, 3);
    assert_int_equal(text[0], '/');
    free(text);

    /* The consolidated fragment spans the first t1 .. last t2. */
    radi_array *arr = NULL;
    assert_int_equal(radi_array_open(f->ctx, f->uri, 0, 0, &arr), RADI_OK);
    radi_fragment_info fi;
    assert_int_equal(radi_array_fragment(arr, 0, &fi), RADI_OK);
    assert_true(fi.t1 < fi.t2);
    assert_int_equal(strncmp(vac, fi.name, strlen(fi.name)), 0);
    radi_array_close(arr);
    free(vac);

    /* Consolidating one fragment is a no-op. */
    char *t0 = tree_of(f);
    assert_int_equal(radi_consolidate(f->ctx, f->uri, RADI_CONSOLIDATE_FRAGMENTS), RADI_OK);
    char *t1 = tree_of(f);
    assert_string_equal(t0, t1);
    free(t0);
    free(t1);

    assert_int_equal(radi_vacuum(f->ctx, f->uri, RADI_CONSOLIDATE_FRAGMENTS), RADI_OK);
    read_all(f, 0, &after);
    assert_same(&before, &after);
    assert_int_equal(count_in(f, "__fragments", ""), 1);
    assert_int_equal(count_in(f, "__commits", ""), 1);
    assert_int_equal(count_in(f, "__commits", ".wrt"), 1);

    /* Vacuum again: nothing left to do. */
    t0 = tree_of(f);
    assert_int_equal(radi_vacuum(f->ctx, f->uri, RADI_CONSOLIDATE_FRAGMENTS), RADI_OK);
    t1 = tree_of(f);
    assert_string_equal(t0, t1);
    free(t0);
    free(t1);
}

/* Consolidate, write more, consolidate again: the second .vac lists the first output. */
static void test_fragments_twice(void **state)
{
    fx *f = *state;
    write_three(f);
    assert_int_equal(radi_consolidate(f->ctx, f->uri, RADI_CONSOLIDATE_FRAGMENTS), RADI_OK);
    const int64_t w4[6] = {2, 3, 2, 3, 0, 5};
    write_box(f, w4, 4);
    snap before, after;
    read_all(f, 0, &before);
    assert_int_equal(before.nfrags, 2);
    assert_int_equal(radi_consolidate(f->ctx, f->uri, RADI_CONSOLIDATE_FRAGMENTS), RADI_OK);
    read_all(f, 0, &after);
    assert_same(&before, &after);
    assert_int_equal(after.nfrags, 1);
    assert_int_equal(count_in(f, "__commits", ".vac"), 2);
    assert_int_equal(radi_vacuum(f->ctx, f->uri, RADI_CONSOLIDATE_FRAGMENTS), RADI_OK);
    read_all(f, 0, &after);
    assert_same(&before, &after);
    assert_int_equal(count_in(f, "__fragments", ""), 1);
    assert_int_equal(count_in(f, "__commits", ""), 1);
}

/* Crash points: before the .vac is written, and halfway through a vacuum. */
static void test_fragments_crash_points(void **state)
{
    fx *f = *state;
    write_three(f);
    snap before, after;
    read_all(f, 0, &before);
    assert_int_equal(radi_consolidate(f->ctx, f->uri, RADI_CONSOLIDATE_FRAGMENTS), RADI_OK);
    char *vac = first_in(f, "__commits", ".vac");
    size_t len;
    char *text = slurp(f, "__commits", vac, &len);
    char *vac_path = rdi_asprintf("%s/__commits/%s", f->uri, vac);

    /* Crash before the .vac: inputs and output both visible, same values. */
    assert_int_equal(rdi_vfs_remove_file(f->ctx->vfs, vac_path), RADI_OK);
    read_all(f, 0, &after);
    assert_same(&before, &after);
    assert_int_equal(after.nfrags, 4);

    /* Crash in vacuum after one input's .wrt went: still the same. */
    assert_int_equal(rdi_vfs_write(f->ctx->vfs, vac_path, text, len), RADI_OK);
    char *first = strstr(text, "/__fragments/") + strlen("/__fragments/");
    *strchr(first, '\n') = '\0';
    char *wrt = rdi_asprintf("%s/__commits/%s.wrt", f->uri, first);
    assert_int_equal(rdi_vfs_remove_file(f->ctx->vfs, wrt), RADI_OK);
    read_all(f, 0, &after);
    assert_same(&before, &after);

    /* Vacuum completes and also removes the orphaned directory. */
    assert_int_equal(radi_vacuum(f->ctx, f->uri, RADI_CONSOLIDATE_FRAGMENTS), RADI_OK);
    read_all(f, 0, &after);
    assert_same(&before, &after);
    assert_int_equal(count_in(f, "__fragments", ""), 1);
    free(wrt);
    free(vac_path);
    free(text);
    free(vac);
}

/* Time travel to before the last input still sees the old values until vacuum. */
static void test_fragments_time_travel(void **state)
{
    fx *f = *state;
    write_three(f);
    radi_array *arr = NULL;
    assert_int_equal(radi_array_open(f->ctx, f->uri, 0, 0, &arr), RADI_OK);
    radi_fragment_info fi;
    assert_int_equal(radi_array_fragment(arr, 1, &fi), RADI_OK);
    radi_array_close(arr);
    snap before, after;
    read_all(f, fi.t2, &before);
    assert_int_equal(before.nfrags, 2);
    assert_int_equal(radi_consolidate(f->ctx, f->uri, RADI_CONSOLIDATE_FRAGMENTS), RADI_OK);
    read_all(f, fi.t2, &after);
    assert_same(&before, &after);
}

static void test_commits(void **state)
{
    fx *f = *state;
    write_three(f);
    snap before, after;
    read_all(f, 0, &before);
    assert_int_equal(radi_consolidate(f->ctx, f->uri, RADI_CONSOLIDATE_COMMITS), RADI_OK);
    assert_int_equal(count_in(f, "__commits", ".con"), 1);
    char *con = first_in(f, "__commits", ".con");
    char *text = slurp(f, "__commits", con, NULL);
    int lines = 0;
    for (char *p = text; (p = strstr(p, "__commits/__")); p++) lines++;
    assert_int_equal(lines, 3);
    assert_int_equal(strncmp(text, "__commits/__", 12), 0);
    free(text);
    free(con);
    read_all(f, 0, &after);
    assert_same(&before, &after);

    /* Again with nothing new: no second .con. */
    assert_int_equal(radi_consolidate(f->ctx, f->uri, RADI_CONSOLIDATE_COMMITS), RADI_OK);
    assert_int_equal(count_in(f, "__commits", ".con"), 1);

    assert_int_equal(radi_vacuum(f->ctx, f->uri, RADI_CONSOLIDATE_COMMITS), RADI_OK);
    assert_int_equal(count_in(f, "__commits", ""), 1);
    read_all(f, 0, &after);
    assert_same(&before, &after);
    assert_int_equal(after.nfrags, 3);

    /* A new write and a second .con, which supersedes the first. */
    const int64_t w4[6] = {0, 9, 9, 9, 0, 5};
    write_box(f, w4, 4);
    read_all(f, 0, &before);
    assert_int_equal(radi_consolidate(f->ctx, f->uri, RADI_CONSOLIDATE_COMMITS), RADI_OK);
    assert_int_equal(count_in(f, "__commits", ".con"), 2);
    assert_int_equal(radi_vacuum(f->ctx, f->uri, RADI_CONSOLIDATE_COMMITS), RADI_OK);
    assert_int_equal(count_in(f, "__commits", ""), 1);
    read_all(f, 0, &after);
    assert_same(&before, &after);
    assert_int_equal(after.nfrags, 4);
}

/* Commits consolidated, then fragments: vacuuming the fragments writes an .ign for the
 * .con lines naming them; a later commit consolidation drops both. */
static void test_commits_then_fragments(void **state)
{
    fx *f = *state;
    write_three(f);
    snap before, after;
    read_all(f, 0, &before);
    assert_int_equal(radi_consolidate(f->ctx, f->uri, RADI_CONSOLIDATE_COMMITS), RADI_OK);
    assert_int_equal(radi_vacuum(f->ctx, f->uri, RADI_CONSOLIDATE_COMMITS), RADI_OK);
    assert_int_equal(radi_consolidate(f->ctx, f->uri, RADI_CONSOLIDATE_FRAGMENTS), RADI_OK);
    read_all(f, 0, &after);
    assert_same(&before, &after);
    assert_int_equal(radi_vacuum(f->ctx, f->uri, RADI_CONSOLIDATE_FRAGMENTS), RADI_OK);
    assert_int_equal(count_in(f, "__commits", ".ign"), 1);
    assert_int_equal(count_in(f, "__fragments", ""), 1);
    read_all(f, 0, &after);
    assert_same(&before, &after);
    assert_int_equal(after.nfrags, 1);

    assert_int_equal(radi_consolidate(f->ctx, f->uri, RADI_CONSOLIDATE_COMMITS), RADI_OK);
    assert_int_equal(radi_vacuum(f->ctx, f->uri, RADI_CONSOLIDATE_COMMITS), RADI_OK);
    assert_int_equal(count_in(f, "__commits", ""), 1);
    assert_int_equal(count_in(f, "__commits", ".con"), 1);
    read_all(f, 0, &after);
    assert_same(&before, &after);
}

static void test_fragment_meta(void **state)
{
    fx *f = *state;
    write_three(f);
    snap before, after;
    read_all(f, 0, &before);
    assert_int_equal(radi_consolidate(f->ctx, f->uri, RADI_CONSOLIDATE_FRAGMENT_META), RADI_OK);
    assert_int_equal(count_in(f, "__fragment_meta", ".meta"), 1);
    read_all(f, 0, &after);
    assert_same(&before, &after);

    /* The payload: u32 nfrag | (u64 len | name | u64 offset)* | footers; each footer
     * equals the bytes before the trailing length in the fragment's own file. */
    char *meta = first_in(f, "__fragment_meta", ".meta");
    char *path = rdi_asprintf("%s/__fragment_meta/%s", f->uri, meta);
    rdi_buf payload = RDI_BUF_INIT;
    rdi_scratch *scratch = NULL;
    assert_int_equal(rdi_scratch_create(&scratch), RADI_OK);
    assert_int_equal(rdi_generic_tile_read(f->ctx->vfs, path, 0, scratch, &payload), RADI_OK);
    rdi_scratch_free(scratch);
    rdi_rd r;
    rdi_rd_init(&r, payload.data, payload.len, "meta");
    uint32_t n;
    assert_int_equal(rdi_rd_u32(&r, &n, "n"), RADI_OK);
    assert_int_equal(n, 3);
    uint64_t prev_end = 0;
    for (uint32_t i = 0; i < n; i++) {
        char *name = NULL;
        uint64_t off;
        assert_int_equal(rdi_rd_str64(&r, &name, NULL, "name"), RADI_OK);
        assert_int_equal(rdi_rd_u64(&r, &off, "off"), RADI_OK);
        char *fm = rdi_asprintf("%s/__fragments/%s/__fragment_metadata.tdb", f->uri, name);
        rdi_buf own = RDI_BUF_INIT;
        assert_int_equal(rdi_vfs_read_all(f->ctx->vfs, fm, &own), RADI_OK);
        uint64_t flen = rdi_ld64(own.data + own.len - 8);
        assert_true(off + flen <= payload.len);
        assert_memory_equal(payload.data + off, own.data + own.len - 8 - flen, flen);
        if (i) assert_int_equal(off, prev_end);
        prev_end = off + flen;
        rdi_buf_free(&own);
        free(fm);
        free(name);
    }
    assert_int_equal(prev_end, payload.len);
    rdi_buf_free(&payload);
    free(path);
    free(meta);

    /* Again with nothing new: no second file. */
    assert_int_equal(radi_consolidate(f->ctx, f->uri, RADI_CONSOLIDATE_FRAGMENT_META), RADI_OK);
    assert_int_equal(count_in(f, "__fragment_meta", ".meta"), 1);

    /* A second one after another write; vacuum keeps only the newest. */
    const int64_t w4[6] = {0, 0, 0, 0, 0, 0};
    write_box(f, w4, 4);
    read_all(f, 0, &before);
    assert_int_equal(radi_consolidate(f->ctx, f->uri, RADI_CONSOLIDATE_FRAGMENT_META), RADI_OK);
    assert_int_equal(count_in(f, "__fragment_meta", ".meta"), 2);
    assert_int_equal(radi_vacuum(f->ctx, f->uri, RADI_CONSOLIDATE_FRAGMENT_META), RADI_OK);
    assert_int_equal(count_in(f, "__fragment_meta", ".meta"), 1);
    read_all(f, 0, &after);
    assert_same(&before, &after);
}

/* Back-to-back metadata writes take t = last + 1 and can run ahead of the clock; a
 * consolidation at "now" (as TileDB's) only merges what is already visible. */
static void settle(void)
{
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

static void put_i64(radi_meta *m, const char *k, int64_t v)
{
    assert_int_equal(radi_meta_put(m, k, RADI_INT64, 1, &v), RADI_OK);
}

static void test_array_meta(void **state)
{
    fx *f = *state;
    radi_array *arr = NULL;
    assert_int_equal(radi_array_open(f->ctx, f->uri, 0, 0, &arr), RADI_OK);
    radi_meta *m = radi_array_meta(arr);
    put_i64(m, "k1", 1);
    put_i64(m, "k2", 2);
    assert_int_equal(radi_meta_put(m, "name", RADI_STRING_UTF8, 5, "hello"), RADI_OK);
    put_i64(m, "k1", 11);
    double d = 2.5;
    assert_int_equal(radi_meta_put(m, "d", RADI_FLOAT64, 1, &d), RADI_OK);
    assert_int_equal(radi_meta_delete(m, "k2"), RADI_OK);
    radi_array_close(arr);
    settle();
    size_t nfiles = count_in(f, "__meta", "");
    assert_true(nfiles >= 6);

    assert_int_equal(radi_consolidate(f->ctx, f->uri, RADI_CONSOLIDATE_ARRAY_META), RADI_OK);
    assert_int_equal(count_in(f, "__meta", ""), nfiles + 2);
    assert_int_equal(count_in(f, "__meta", ".vac"), 1);
    assert_int_equal(radi_vacuum(f->ctx, f->uri, RADI_CONSOLIDATE_ARRAY_META), RADI_OK);
    assert_int_equal(count_in(f, "__meta", ""), 1);

    assert_int_equal(radi_array_open(f->ctx, f->uri, 0, 0, &arr), RADI_OK);
    m = radi_array_meta(arr);
    assert_int_equal(radi_meta_count(m), 3);
    radi_datatype t;
    uint32_t c;
    const void *v;
    assert_int_equal(radi_meta_get(m, "k1", &t, &c, &v), RADI_OK);
    assert_int_equal(t, RADI_INT64);
    assert_int_equal(*(const int64_t *)v, 11);
    assert_int_equal(radi_meta_get(m, "k2", &t, &c, &v), RADI_E_NOT_FOUND);
    assert_int_equal(radi_meta_get(m, "name", &t, &c, &v), RADI_OK);
    assert_int_equal(c, 5);
    assert_memory_equal(v, "hello", 5);
    assert_int_equal(radi_meta_get(m, "d", &t, &c, &v), RADI_OK);
    assert_true(*(const double *)v == 2.5);

    /* A later put sorts after the merged file and wins. */
    put_i64(m, "k1", 111);
    radi_array_close(arr);
    settle();
    assert_int_equal(radi_consolidate(f->ctx, f->uri, RADI_CONSOLIDATE_ARRAY_META), RADI_OK);
    assert_int_equal(radi_vacuum(f->ctx, f->uri, RADI_CONSOLIDATE_ARRAY_META), RADI_OK);
    assert_int_equal(count_in(f, "__meta", ""), 1);
    assert_int_equal(radi_array_open(f->ctx, f->uri, 0, 0, &arr), RADI_OK);
    assert_int_equal(radi_meta_get(radi_array_meta(arr), "k1", &t, &c, &v), RADI_OK);
    assert_int_equal(*(const int64_t *)v, 111);
    assert_int_equal(radi_meta_count(radi_array_meta(arr)), 3);
    radi_array_close(arr);
}

/* Vacuum with nothing consolidated changes nothing, in every mode; so does
 * consolidating an empty array. */
static void test_noops(void **state)
{
    fx *f = *state;
    char *t0 = tree_of(f);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(radi_consolidate(f->ctx, f->uri, MODES[i]), RADI_OK);
        assert_int_equal(radi_vacuum(f->ctx, f->uri, MODES[i]), RADI_OK);
    }
    char *t1 = tree_of(f);
    assert_string_equal(t0, t1);
    free(t0);
    free(t1);

    write_three(f);
    t0 = tree_of(f);
    for (int i = 0; i < 4; i++) assert_int_equal(radi_vacuum(f->ctx, f->uri, MODES[i]), RADI_OK);
    t1 = tree_of(f);
    assert_string_equal(t0, t1);
    free(t0);
    free(t1);
}

static void test_errors(void **state)
{
    fx *f = *state;
    char *nowhere = rdi_path_join(f->dir, "missing");
    assert_int_equal(radi_vacuum(f->ctx, nowhere, RADI_CONSOLIDATE_FRAGMENTS), RADI_E_NOT_FOUND);
    assert_non_null(strstr(radi_errmsg(), "missing"));
    assert_int_not_equal(radi_consolidate(f->ctx, nowhere, RADI_CONSOLIDATE_FRAGMENTS), RADI_OK);
    assert_int_equal(radi_consolidate(f->ctx, f->uri, (radi_consolidation_mode)9), RADI_E_INVALID);
    assert_int_equal(radi_vacuum(f->ctx, f->uri, (radi_consolidation_mode)-1), RADI_E_INVALID);
    free(nowhere);

    /* A garbled .vac line with no fragment path is ignored, not followed. */
    write_three(f);
    assert_int_equal(radi_consolidate(f->ctx, f->uri, RADI_CONSOLIDATE_FRAGMENTS), RADI_OK);
    char *vac = first_in(f, "__commits", ".vac");
    char *p = rdi_asprintf("%s/__commits/%s", f->uri, vac);
    const char junk[] = "../../../etc\n/__fragments/../x\n/__fragments/..\n/__fragments/\n";
    assert_int_equal(rdi_vfs_write(f->ctx->vfs, p, junk, sizeof junk - 1), RADI_OK);
    assert_int_equal(radi_vacuum(f->ctx, f->uri, RADI_CONSOLIDATE_FRAGMENTS), RADI_OK);
    assert_int_equal(count_in(f, "__fragments", ""), 4);
    free(p);
    free(vac);
}

/* A box over half the memory budget is consolidated as several fragments over disjoint
 * tile-aligned pieces, each read and written within the budget. */
static void make_2d(radi_ctx *ctx, const char *uri, int32_t n, int32_t ext)
{
    radi_schema *s = NULL;
    int32_t lo = 0, hi = n - 1;
    assert_int_equal(radi_schema_create(RADI_DENSE, &s), RADI_OK);
    assert_int_equal(radi_schema_add_dim(s, "x", RADI_INT32, &lo, &hi, &ext, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_dim(s, "y", RADI_INT32, &lo, &hi, &ext, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_attr(s, "v", RADI_FLOAT64, 1, 0, NULL, NULL, 0), RADI_OK);
    assert_int_equal(radi_array_create(ctx, uri, s), RADI_OK);
    radi_schema_free(s);
}

static void write_2d(radi_ctx *ctx, const char *uri, const int64_t *box, double base)
{
    uint64_t n = (uint64_t)(box[1] - box[0] + 1) * (uint64_t)(box[3] - box[2] + 1);
    double *v = malloc(n * sizeof *v);
    for (uint64_t i = 0; i < n; i++) v[i] = base + (double)i;
    radi_field_buffer fb = {"v", v, n * sizeof *v, NULL};
    radi_array *arr = NULL;
    assert_int_equal(radi_array_open(ctx, uri, 0, 0, &arr), RADI_OK);
    assert_int_equal(radi_array_write_dense(arr, box, RADI_ROW_MAJOR, 1, &fb, 0), RADI_OK);
    radi_array_close(arr);
    free(v);
}

static double *read_2d(radi_ctx *ctx, const char *uri, int32_t n, uint32_t *nfrags)
{
    double *v = malloc((size_t)n * (size_t)n * sizeof *v);
    const int64_t box[4] = {0, n - 1, 0, n - 1};
    radi_field_buffer fb = {"v", v, (uint64_t)n * (uint64_t)n * sizeof *v, NULL};
    radi_array *arr = NULL;
    assert_int_equal(radi_array_open(ctx, uri, 0, 0, &arr), RADI_OK);
    assert_int_equal(radi_array_read_dense(arr, box, RADI_ROW_MAJOR, 1, &fb, NULL), RADI_OK);
    *nfrags = radi_array_fragment_count(arr);
    radi_array_close(arr);
    return v;
}

static void test_budget(void **state)
{
    fx *f = *state;
    radi_ctx *small = NULL;
    radi_config cfg;
    radi_config_init(&cfg);
    cfg.memory_budget = 1 << 20;
    assert_int_equal(radi_ctx_create(&cfg, &small), RADI_OK);

    /* 600 x 600 float64 = 2.9 MB; one row of 100 x 600 tiles is 480 KB <= 512 KB. */
    char *uri = rdi_path_join(f->dir, "big");
    make_2d(small, uri, 600, 100);
    const int64_t w1[4] = {0, 0, 0, 0}, w2[4] = {599, 599, 599, 599}, w3[4] = {150, 420, 30, 250};
    write_2d(small, uri, w1, 1);
    write_2d(small, uri, w2, 2);
    write_2d(small, uri, w3, 100);
    uint32_t n0, n1;
    double *before = read_2d(small, uri, 600, &n0);
    assert_int_equal(n0, 3);
    assert_int_equal(radi_consolidate(small, uri, RADI_CONSOLIDATE_FRAGMENTS), RADI_OK);
    double *after = read_2d(small, uri, 600, &n1);
    assert_memory_equal(before, after, 600 * 600 * sizeof *before);
    assert_int_equal(n1, 6);
    free(after);

    /* The pieces of one consolidation are not consolidated again. */
    char *dir = rdi_path_join(uri, "__fragments");
    rdi_dirlist l;
    assert_int_equal(rdi_vfs_ls(small->vfs, dir, &l), RADI_OK);
    size_t nf = l.n;
    rdi_dirlist_free(&l);
    assert_int_equal(radi_consolidate(small, uri, RADI_CONSOLIDATE_FRAGMENTS), RADI_OK);
    assert_int_equal(rdi_vfs_ls(small->vfs, dir, &l), RADI_OK);
    assert_int_equal(l.n, nf);
    rdi_dirlist_free(&l);

    assert_int_equal(radi_vacuum(small, uri, RADI_CONSOLIDATE_FRAGMENTS), RADI_OK);
    after = read_2d(small, uri, 600, &n1);
    assert_memory_equal(before, after, 600 * 600 * sizeof *before);
    assert_int_equal(rdi_vfs_ls(small->vfs, dir, &l), RADI_OK);
    assert_int_equal(l.n, 6);
    rdi_dirlist_free(&l);
    free(after);
    free(before);
    free(dir);
    free(uri);

    /* A single 300 x 300 float64 tile (720 KB) is over half the budget. */
    uri = rdi_path_join(f->dir, "bigtile");
    make_2d(small, uri, 600, 300);
    write_2d(small, uri, w1, 1);
    write_2d(small, uri, w2, 2);
    assert_int_equal(radi_consolidate(small, uri, RADI_CONSOLIDATE_FRAGMENTS), RADI_E_BUDGET);
    assert_non_null(strstr(radi_errmsg(), "memory budget"));
    assert_int_equal(radi_consolidate(f->ctx, uri, RADI_CONSOLIDATE_FRAGMENTS), RADI_OK);
    radi_ctx_free(small);
    free(uri);
}

/* Pieces split inside the second dimension of a col-major 3-D array. */
static void test_budget_3d(void **state)
{
    fx *f = *state;
    radi_ctx *small = NULL;
    radi_config cfg;
    radi_config_init(&cfg);
    cfg.memory_budget = 1 << 20;
    assert_int_equal(radi_ctx_create(&cfg, &small), RADI_OK);
    char *uri = rdi_path_join(f->dir, "cube");
    radi_schema *s = NULL;
    int32_t lo = 0, hi = 63, e0 = 64, e1 = 8, e2 = 8;
    assert_int_equal(radi_schema_create(RADI_DENSE, &s), RADI_OK);
    assert_int_equal(radi_schema_set_order(s, RADI_COL_MAJOR, RADI_COL_MAJOR), RADI_OK);
    assert_int_equal(radi_schema_add_dim(s, "x", RADI_INT32, &lo, &hi, &e0, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_dim(s, "y", RADI_INT32, &lo, &hi, &e1, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_dim(s, "z", RADI_INT32, &lo, &hi, &e2, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_attr(s, "v", RADI_FLOAT64, 1, 0, NULL, NULL, 0), RADI_OK);
    assert_int_equal(radi_array_create(small, uri, s), RADI_OK);
    radi_schema_free(s);
    const int64_t boxes[3][6] = {{0, 63, 0, 63, 0, 0}, {5, 40, 3, 61, 2, 63}, {63, 63, 0, 9, 60, 63}};
    for (int w = 0; w < 3; w++) {
        const int64_t *b = boxes[w];
        uint64_t n = (uint64_t)(b[1] - b[0] + 1) * (uint64_t)(b[3] - b[2] + 1) * (uint64_t)(b[5] - b[4] + 1);
        double *v = malloc(n * sizeof *v);
        for (uint64_t i = 0; i < n; i++) v[i] = w * 1e6 + (double)i;
        radi_field_buffer fb = {"v", v, n * sizeof *v, NULL};
        radi_array *arr = NULL;
        assert_int_equal(radi_array_open(small, uri, 0, 0, &arr), RADI_OK);
        assert_int_equal(radi_array_write_dense(arr, b, RADI_ROW_MAJOR, 1, &fb, 0), RADI_OK);
        radi_array_close(arr);
        free(v);
    }
    const int64_t all[6] = {0, 63, 0, 63, 0, 63};
    double *x = malloc(64 * 64 * 64 * sizeof *x), *y = malloc(64 * 64 * 64 * sizeof *y);
    radi_field_buffer fx_ = {"v", x, 64 * 64 * 64 * sizeof *x, NULL}, fy = {"v", y, 64 * 64 * 64 * sizeof *y, NULL};
    radi_array *arr = NULL;
    assert_int_equal(radi_array_open(small, uri, 0, 0, &arr), RADI_OK);
    assert_int_equal(radi_array_read_dense(arr, all, RADI_ROW_MAJOR, 1, &fx_, NULL), RADI_OK);
    radi_array_close(arr);
    assert_int_equal(radi_consolidate(small, uri, RADI_CONSOLIDATE_FRAGMENTS), RADI_OK);
    assert_int_equal(radi_vacuum(small, uri, RADI_CONSOLIDATE_FRAGMENTS), RADI_OK);
    assert_int_equal(radi_array_open(small, uri, 0, 0, &arr), RADI_OK);
    assert_int_equal(radi_array_read_dense(arr, all, RADI_ROW_MAJOR, 1, &fy, NULL), RADI_OK);
    assert_int_equal(radi_array_fragment_count(arr), 4); /* 64 x 16 x 64 float64 = 512 KiB each */
    radi_array_close(arr);
    assert_memory_equal(x, y, 64 * 64 * 64 * sizeof *x);
    free(x);
    free(y);
    free(uri);
    radi_ctx_free(small);
}

/* ------------------------------------------------------------------- sparse -- */

static char *sparse_uri(fx *f)
{
    char *uri = rdi_path_join(f->dir, "sparse");
    radi_schema *s = NULL;
    int64_t lo = 0, hi = 999, ext = 100;
    assert_int_equal(radi_schema_create(RADI_SPARSE, &s), RADI_OK);
    assert_int_equal(radi_schema_set_capacity(s, 16), RADI_OK);
    assert_int_equal(radi_schema_add_dim(s, "id", RADI_INT64, &lo, &hi, &ext, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_attr(s, "v", RADI_FLOAT64, 1, 0, NULL, NULL, 0), RADI_OK);
    assert_int_equal(radi_array_create(f->ctx, uri, s), RADI_OK);
    radi_schema_free(s);
    return uri;
}

static void sparse_write(fx *f, const char *uri, int64_t from, int64_t to, int seed)
{
    uint64_t n = (uint64_t)(to - from + 1);
    int64_t *id = malloc(n * 8);
    double *v = malloc(n * 8);
    for (uint64_t i = 0; i < n; i++) {
        id[n - 1 - i] = from + (int64_t)i; /* any order */
        v[n - 1 - i] = seed * 1000.0 + (double)i;
    }
    radi_sparse_buffer b[2] = {{"id", id, n * 8, NULL, NULL}, {"v", v, n * 8, NULL, NULL}};
    radi_array *arr = NULL;
    assert_int_equal(radi_array_open(f->ctx, uri, 0, 0, &arr), RADI_OK);
    radi_status ws = radi_array_write_sparse(arr, 2, b, n, 0);
    if (ws) fprintf(stderr, "write_sparse: %s\n", radi_errmsg());
    assert_int_equal(ws, RADI_OK);
    radi_array_close(arr);
    free(id);
    free(v);
}

/* All rows as "id v" pairs, in the order the reader returns them. */
static void sparse_read(fx *f, const char *uri, rdi_buf *out, uint32_t *nfrags)
{
    radi_array *arr = NULL;
    radi_sparse_query *q = NULL;
    assert_int_equal(radi_array_open(f->ctx, uri, 0, 0, &arr), RADI_OK);
    *nfrags = radi_array_fragment_count(arr);
    assert_int_equal(radi_sparse_query_create(arr, &q), RADI_OK);
    radi_status qs = radi_sparse_query_submit(q, NULL);
    if (qs) fprintf(stderr, "sparse read: %s\n", radi_errmsg());
    assert_int_equal(qs, RADI_OK);
    out->len = 0;
    for (uint32_t c = 0; c < radi_sparse_query_ncolumns(q); c++) {
        radi_sparse_column col;
        assert_int_equal(radi_sparse_query_column(q, c, &col), RADI_OK);
        assert_int_equal(rdi_buf_append(out, col.data, col.data_size), RADI_OK);
    }
    assert_int_equal(radi_sparse_query_rows(q), 100);
    radi_sparse_query_free(q);
    radi_array_close(arr);
}

static void test_sparse(void **state)
{
    fx *f = *state;
    char *uri = sparse_uri(f);
    sparse_write(f, uri, 0, 49, 1);
    sparse_write(f, uri, 25, 74, 2);
    sparse_write(f, uri, 60, 99, 3);
    rdi_buf before = RDI_BUF_INIT, after = RDI_BUF_INIT;
    uint32_t n;
    sparse_read(f, uri, &before, &n);
    assert_int_equal(n, 3);
    assert_int_equal(radi_consolidate(f->ctx, uri, RADI_CONSOLIDATE_FRAGMENTS), RADI_OK);
    sparse_read(f, uri, &after, &n);
    assert_int_equal(n, 1);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.data, after.data, before.len);
    assert_int_equal(radi_vacuum(f->ctx, uri, RADI_CONSOLIDATE_FRAGMENTS), RADI_OK);
    sparse_read(f, uri, &after, &n);
    assert_int_equal(n, 1);
    assert_memory_equal(before.data, after.data, before.len);
    char *dir = rdi_path_join(uri, "__fragments");
    rdi_dirlist l;
    assert_int_equal(rdi_vfs_ls(f->ctx->vfs, dir, &l), RADI_OK);
    assert_int_equal(l.n, 1);
    rdi_dirlist_free(&l);
    free(dir);
    rdi_buf_free(&before);
    rdi_buf_free(&after);
    free(uri);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fragments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fragments_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fragments_crash_points, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fragments_time_travel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commits_then_fragments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fragment_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_array_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_noops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budget_3d, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sparse, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
