/*
 * Round trips of opens and reads on a remote backend. A counting wrapper around the POSIX
 * backend marks itself RDI_VFS_REMOTE and records every call with a "wave" number: the
 * ranges of one read_many are one wave, every other call is a wave of its own, so the
 * number of waves is the number of sequential round trips an object store would see.
 * A volume-like dense array (240×240×155 int16, axial tiles, ZSTD, several fragments and
 * metadata files) must open in one listing plus one read wave, read an axial slice in one
 * more, and give the same bytes as the local path, also after every kind of consolidation
 * and vacuum.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "radi/sparse.h"
#include "radi/volume.h"
#include "tdb/tdb.h"

#define GOLDEN RADI_TEST_DATA "/"
#define NX 240
#define NY 240
#define NZ 155
#define MAX_CALLS 20000

enum { OP_READ, OP_SIZE, OP_WRITE, OP_LS, OP_KIND, OP_MANY, OP_LSR, OP_OTHER };

typedef struct call {
    int op;
    unsigned wave;
    uint64_t off, len;
    char uri[320];
} call;

typedef struct counter {
    pthread_mutex_t mu;
    unsigned waves;
    int fail;              /* 1: read_many fails its last range; 2: ls_recursive fails */
    size_t n;
    call calls[MAX_CALLS];
} counter;

static counter g_cnt;

static unsigned record(counter *c, int op, const char *uri, uint64_t off, uint64_t len, int new_wave)
{
    pthread_mutex_lock(&c->mu);
    if (new_wave) c->waves++;
    if (c->n < MAX_CALLS) {
        call *k = &c->calls[c->n++];
        k->op = op;
        k->wave = c->waves;
        k->off = off;
        k->len = len;
        snprintf(k->uri, sizeof k->uri, "%s", uri);
    }
    unsigned w = c->waves;
    pthread_mutex_unlock(&c->mu);
    return w;
}

static void reset(counter *c)
{
    pthread_mutex_lock(&c->mu);
    c->waves = 0;
    c->n = 0;
    pthread_mutex_unlock(&c->mu);
}

#define P (&rdi_vfs_posix_ops)

static radi_status c_read(void *self, const char *uri, uint64_t off, void *buf, uint64_t len)
{
    record(self, OP_READ, uri, off, len, 1);
    return P->read(NULL, uri, off, buf, len);
}
static radi_status c_size(void *self, const char *uri, uint64_t *size)
{
    record(self, OP_SIZE, uri, 0, 0, 1);
    return P->size(NULL, uri, size);
}
static radi_status c_write(void *self, const char *uri, const void *data, uint64_t len)
{
    record(self, OP_WRITE, uri, 0, len, 1);
    return P->write(NULL, uri, data, len);
}
static radi_status c_ls(void *self, const char *uri, rdi_dirlist *out)
{
    record(self, OP_LS, uri, 0, 0, 1);
    return P->ls(NULL, uri, out);
}
static radi_status c_kind(void *self, const char *uri, int *out)
{
    record(self, OP_KIND, uri, 0, 0, 1);
    return P->kind(NULL, uri, out);
}
static radi_status c_mkdir(void *self, const char *uri)
{
    record(self, OP_OTHER, uri, 0, 0, 1);
    return P->mkdir(NULL, uri);
}
static radi_status c_remove_file(void *self, const char *uri)
{
    record(self, OP_OTHER, uri, 0, 0, 1);
    return P->remove_file(NULL, uri);
}
static radi_status c_remove_dir(void *self, const char *uri)
{
    record(self, OP_OTHER, uri, 0, 0, 1);
    return P->remove_dir(NULL, uri);
}
static radi_status c_move(void *self, const char *from, const char *to)
{
    record(self, OP_OTHER, from, 0, 0, 1);
    return P->move(NULL, from, to);
}

/* One wave: every range recorded under the same wave number. */
static radi_status c_read_many(void *self, rdi_vfs_range *r, size_t n)
{
    counter *c = self;
    pthread_mutex_lock(&c->mu);
    c->waves++;
    pthread_mutex_unlock(&c->mu);
    radi_status first = RADI_OK;
    for (size_t i = 0; i < n; i++) {
        record(c, OP_MANY, r[i].uri, r[i].off, r[i].len, 0);
        r[i].status = P->read(NULL, r[i].uri, r[i].off, r[i].buf, r[i].len);
        if (c->fail == 1 && i == n - 1) r[i].status = rdi_error(RADI_E_IO, "%s: injected", r[i].uri);
        if (r[i].status != RADI_OK && first == RADI_OK) first = r[i].status;
    }
    return first;
}

/* One S3 listing: walks the tree with the POSIX backend, unrecorded. */
static radi_status walk(const char *root, const char *rel, rdi_dirlist *acc, size_t *cap)
{
    char *dir = *rel ? rdi_path_join(root, rel) : rdi_strdup(root);
    rdi_dirlist ls = {NULL, 0};
    radi_status s = P->ls(NULL, dir, &ls);
    free(dir);
    for (size_t i = 0; i < ls.n && s == RADI_OK; i++) {
        char *name = *rel ? rdi_asprintf("%s/%s", rel, ls.items[i].name) : rdi_strdup(ls.items[i].name);
        if (ls.items[i].is_dir) {
            s = walk(root, name, acc, cap);
            free(name);
            continue;
        }
        if (acc->n == *cap) {
            *cap = *cap ? 2 * *cap : 64;
            acc->items = realloc(acc->items, *cap * sizeof *acc->items);
        }
        acc->items[acc->n++] = (rdi_dirent){name, 0, ls.items[i].size};
    }
    rdi_dirlist_free(&ls);
    return s;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const rdi_dirent *)a)->name, ((const rdi_dirent *)b)->name);
}

static radi_status c_ls_recursive(void *self, const char *uri, rdi_dirlist *out)
{
    record(self, OP_LSR, uri, 0, 0, 1);
    if (((counter *)self)->fail == 2) return rdi_error(RADI_E_IO, "%s: injected", uri);
    rdi_dirlist acc = {NULL, 0};
    size_t cap = 0;
    radi_status s = walk(uri, "", &acc, &cap);
    if (s != RADI_OK) {
        rdi_dirlist_free(&acc);
        return s;
    }
    if (acc.n > 1) qsort(acc.items, acc.n, sizeof *acc.items, cmp_name);
    *out = acc;
    return RADI_OK;
}

static const rdi_vfs_ops counting_ops = {
    .name = "counting",
    .read = c_read,
    .size = c_size,
    .write = c_write,
    .ls = c_ls,
    .kind = c_kind,
    .mkdir = c_mkdir,
    .remove_file = c_remove_file,
    .remove_dir = c_remove_dir,
    .move = c_move,
    .destroy = NULL,
    .flags = RDI_VFS_REMOTE,
    .read_many = c_read_many,
    .ls_recursive = c_ls_recursive,
};

/* ------------------------------------------------------------------ fixture -- */

static char g_dir[64];
static radi_ctx *g_local, *g_remote;

static int16_t voxel(int64_t x, int64_t y, int64_t z, int gen)
{
    return (int16_t)((x * 7 + y * 13 + z * 31 + gen * 1000) % 4096 - 2048);
}

/* Box {x0,x1,y0,y1,z0,z1} filled with generation gen, in C order. */
static int16_t *make_box(const int64_t *b, int gen)
{
    size_t n = (size_t)((b[1] - b[0] + 1) * (b[3] - b[2] + 1) * (b[5] - b[4] + 1));
    int16_t *v = malloc(n * sizeof *v), *p = v;
    for (int64_t x = b[0]; x <= b[1]; x++)
        for (int64_t y = b[2]; y <= b[3]; y++)
            for (int64_t z = b[4]; z <= b[5]; z++) *p++ = voxel(x, y, z, gen);
    return v;
}

/* The volume: one fragment from radi_volume_from_buffer (z 0..99 meaningful, the rest
 * generation 0 too), then z 100..154 rewritten, then z 120..130 rewritten, plus three
 * metadata files. */
static void make_volume(const char *uri)
{
    const uint64_t shape[3] = {NX, NY, NZ};
    const int64_t all[6] = {0, NX - 1, 0, NY - 1, 0, NZ - 1};
    int16_t *v = make_box(all, 0);
    radi_volume *vol = NULL;
    assert_int_equal(radi_volume_from_buffer(g_local, uri, 3, shape, RADI_INT16, v, NULL, NULL, &vol), RADI_OK);
    free(v);
    radi_array *a = radi_volume_array(vol);
    const int64_t boxes[2][6] = {{0, NX - 1, 0, NY - 1, 100, NZ - 1}, {0, NX - 1, 0, NY - 1, 120, 130}};
    for (int k = 0; k < 2; k++) {
        int16_t *b = make_box(boxes[k], k + 1);
        radi_field_buffer fb = {a->schema->attrs[0].name, b,
                                (uint64_t)(boxes[k][1] - boxes[k][0] + 1) * (uint64_t)(boxes[k][3] - boxes[k][2] + 1) *
                                    (uint64_t)(boxes[k][5] - boxes[k][4] + 1) * 2,
                                NULL};
        assert_int_equal(radi_array_write_dense(a, boxes[k], RADI_ROW_MAJOR, 1, &fb, 0), RADI_OK);
        free(b);
    }
    const char *keys[3] = {"patient", "modality", "series"};
    for (int k = 0; k < 3; k++)
        assert_int_equal(radi_meta_put(radi_array_meta(a), keys[k], RADI_STRING_UTF8, 3, "abc"), RADI_OK);
    radi_volume_close(vol);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/radi_remote_XXXXXX");
    if (!mkdtemp(g_dir)) return -1;
    pthread_mutex_init(&g_cnt.mu, NULL);
    if (radi_ctx_create(NULL, &g_local) != RADI_OK || radi_ctx_create(NULL, &g_remote) != RADI_OK) return -1;
    return rdi_vfs_set_local(g_remote->vfs, &counting_ops, &g_cnt) == RADI_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    rdi_vfs_remove_dir(g_local->vfs, g_dir);
    radi_ctx_free(g_local);
    radi_ctx_free(g_remote);
    pthread_mutex_destroy(&g_cnt.mu);
    return 0;
}

/* Waves and ranges recorded since the last reset. */
static unsigned waves(void) { return g_cnt.waves; }
static size_t ranges_in_wave(unsigned w)
{
    size_t n = 0;
    for (size_t i = 0; i < g_cnt.n; i++) n += g_cnt.calls[i].wave == w;
    return n;
}
static void dump(const char *what)
{
    printf("-- %s: %u waves\n", what, g_cnt.waves);
    for (size_t i = 0; i < g_cnt.n; i++)
        printf("   wave %u op %d %s [%llu, +%llu)\n", g_cnt.calls[i].wave, g_cnt.calls[i].op, g_cnt.calls[i].uri,
               (unsigned long long)g_cnt.calls[i].off, (unsigned long long)g_cnt.calls[i].len);
}

/* The box read through a local handle and a remote one must agree byte for byte. */
static void read_both(radi_volume *local, radi_volume *remote, const int64_t *box, radi_read_stats *st)
{
    size_t n = (size_t)((box[1] - box[0] + 1) * (box[3] - box[2] + 1) * (box[5] - box[4] + 1)) * 2;
    uint8_t *a = malloc(n), *b = malloc(n);
    assert_int_equal(radi_volume_read(local, box, a, n, NULL), RADI_OK);
    assert_int_equal(radi_volume_read(remote, box, b, n, st), RADI_OK);
    assert_memory_equal(a, b, n);
    free(a);
    free(b);
}

/* Metadata files are read at most once per handle: only tile data may repeat. */
static void assert_no_metadata_refetch(void)
{
    for (size_t i = 0; i < g_cnt.n; i++) {
        const call *k = &g_cnt.calls[i];
        if ((k->op != OP_READ && k->op != OP_MANY) || !strstr(k->uri, "__") || strstr(k->uri, "/a0.tdb")) continue;
        for (size_t j = i + 1; j < g_cnt.n; j++)
            if ((g_cnt.calls[j].op == OP_READ || g_cnt.calls[j].op == OP_MANY) &&
                strcmp(g_cnt.calls[j].uri, k->uri) == 0)
                fail_msg("%s read twice (calls %zu and %zu)", k->uri, i, j);
    }
}

/* ------------------------------------------------------------------- tests -- */

static const int64_t SLICE[6] = {0, NX - 1, 0, NY - 1, 125, 125};
static const int64_t REGION[6] = {80, 143, 90, 153, 10, 73};      /* inside the first fragment */
static const int64_t ACROSS[6] = {80, 143, 90, 153, 90, 153};     /* three fragments */

static void test_open_and_slice(void **state)
{
    (void)state;
    char *uri = rdi_path_join(g_dir, "vol");
    make_volume(uri);
    radi_volume *local = NULL, *remote = NULL;
    assert_int_equal(radi_volume_open(g_local, uri, &local), RADI_OK);

    reset(&g_cnt);
    assert_int_equal(radi_volume_open(g_remote, uri, &remote), RADI_OK);
    dump("open");
    assert_int_equal(waves(), 2);
    assert_int_equal(g_cnt.calls[0].op, OP_LSR);
    for (size_t i = 1; i < g_cnt.n; i++) assert_int_equal(g_cnt.calls[i].op, OP_MANY);
    assert_int_equal(radi_array_fragment_count(radi_volume_array(remote)), 3);
    assert_int_equal(radi_meta_count(radi_array_meta(radi_volume_array(remote))),
                     radi_meta_count(radi_array_meta(radi_volume_array(local))));

    /* Open + axial slice: the tile data is the third wave, one range. */
    radi_read_stats st;
    read_both(local, remote, SLICE, &st);
    dump("open + slice");
    assert_true(waves() <= 3);
    assert_int_equal(ranges_in_wave(3), 1);
    assert_int_equal(st.io_requests, 1);

    /* With the handle held: a slice is one request, a 64³ region inside one fragment is
     * one request, a region over three fragments one wave of three. */
    reset(&g_cnt);
    read_both(local, remote, (const int64_t[]){0, NX - 1, 0, NY - 1, 7, 7}, &st);
    assert_int_equal(waves(), 1);
    assert_int_equal(ranges_in_wave(1), 1);
    reset(&g_cnt);
    read_both(local, remote, REGION, &st);
    dump("region");
    assert_int_equal(waves(), 1);
    assert_int_equal(ranges_in_wave(1), 1);
    reset(&g_cnt);
    read_both(local, remote, ACROSS, &st);
    dump("across fragments");
    assert_int_equal(waves(), 1);
    assert_int_equal(ranges_in_wave(1), 3);
    /* The whole volume too. */
    reset(&g_cnt);
    read_both(local, remote, (const int64_t[]){0, NX - 1, 0, NY - 1, 0, NZ - 1}, &st);
    assert_int_equal(waves(), 1);

    radi_volume_close(remote);
    radi_volume_close(local);
    free(uri);
}

static void test_nothing_fetched_twice(void **state)
{
    (void)state;
    char *uri = rdi_path_join(g_dir, "vol2");
    make_volume(uri);
    radi_volume *local = NULL, *remote = NULL;
    assert_int_equal(radi_volume_open(g_local, uri, &local), RADI_OK);
    reset(&g_cnt);
    assert_int_equal(radi_volume_open(g_remote, uri, &remote), RADI_OK);
    for (int64_t z = 0; z < NZ; z += 20)
        read_both(local, remote, (const int64_t[]){0, NX - 1, 0, NY - 1, z, z}, NULL);
    read_both(local, remote, REGION, NULL);
    read_both(local, remote, ACROSS, NULL);
    assert_no_metadata_refetch();
    radi_volume_close(remote);
    radi_volume_close(local);
    free(uri);
}

/* After each consolidation, then after vacuuming, opens stay at two waves (commit and
 * vacuum lists are in the same wave as the rest) and reads give the local bytes. */
static void test_consolidated(void **state)
{
    (void)state;
    char *uri = rdi_path_join(g_dir, "vol3");
    make_volume(uri);
    const radi_consolidation_mode modes[4] = {RADI_CONSOLIDATE_FRAGMENT_META, RADI_CONSOLIDATE_COMMITS,
                                              RADI_CONSOLIDATE_ARRAY_META, RADI_CONSOLIDATE_FRAGMENTS};
    for (int step = 0; step < 8; step++) {
        radi_consolidation_mode m = modes[step % 4];
        if (step < 4) assert_int_equal(radi_consolidate(g_local, uri, m), RADI_OK);
        else assert_int_equal(radi_vacuum(g_local, uri, m), RADI_OK);
        radi_volume *local = NULL, *remote = NULL;
        assert_int_equal(radi_volume_open(g_local, uri, &local), RADI_OK);
        reset(&g_cnt);
        assert_int_equal(radi_volume_open(g_remote, uri, &remote), RADI_OK);
        if (waves() != 2) dump("consolidated open");
        assert_int_equal(waves(), 2);
        assert_int_equal(radi_meta_count(radi_array_meta(radi_volume_array(remote))),
                         radi_meta_count(radi_array_meta(radi_volume_array(local))));
        read_both(local, remote, SLICE, NULL);
        assert_true(waves() <= 3);
        read_both(local, remote, ACROSS, NULL);
        assert_no_metadata_refetch();
        radi_volume_close(remote);
        radi_volume_close(local);
    }
    free(uri);
}

/* Arrays written by TileDB-Py (consolidated ones included) open in two waves, dense and
 * sparse alike, and a whole-array read adds one wave per attribute pass at most. */
static void test_golden_arrays(void **state)
{
    (void)state;
    const char *arrays[] = {GOLDEN "tdb/arrays/dense", GOLDEN "tdb/arrays/dense_con", GOLDEN "tdb/arrays/sparse",
                            GOLDEN "dense/d2_i16_cons", GOLDEN "dense/d3_frag_cons", GOLDEN "dense/axial_f32"};
    for (size_t i = 0; i < sizeof arrays / sizeof *arrays; i++) {
        radi_array *a = NULL;
        reset(&g_cnt);
        assert_int_equal(radi_array_open(g_remote, arrays[i], 0, 0, &a), RADI_OK);
        if (waves() != 2) dump(arrays[i]);
        assert_int_equal(waves(), 2);
        radi_array_close(a);
    }
}

/* Every attribute of the non-empty domain, local and remote, byte for byte. */
static void compare_dense(radi_array *la, radi_array *ra)
{
    const radi_schema *s = la->schema;
    int64_t ned[8];
    int empty = 0;
    assert_int_equal(radi_array_nonempty_domain(la, ned, &empty), RADI_OK);
    if (empty) return;
    uint64_t n = 1;
    for (uint32_t d = 0; d < s->ndim; d++) n *= (uint64_t)(ned[2 * d + 1] - ned[2 * d] + 1);
    for (uint32_t i = 0; i < s->nattr; i++) {
        const rdi_attr *at = &s->attrs[i];
        if (at->cell_val_num == RADI_VAR_NUM) continue;
        uint64_t bytes = n * rdi_attr_cell_size(at);
        radi_field_buffer lb = {at->name, malloc(bytes), bytes, at->nullable ? malloc(n) : NULL};
        radi_field_buffer rb = {at->name, malloc(bytes), bytes, at->nullable ? malloc(n) : NULL};
        assert_int_equal(radi_array_read_dense(la, ned, RADI_ROW_MAJOR, 1, &lb, NULL), RADI_OK);
        assert_int_equal(radi_array_read_dense(ra, ned, RADI_ROW_MAJOR, 1, &rb, NULL), RADI_OK);
        assert_memory_equal(lb.data, rb.data, bytes);
        if (at->nullable) assert_memory_equal(lb.validity, rb.validity, n);
        free(lb.data);
        free(rb.data);
        free(lb.validity);
        free(rb.validity);
    }
}

/* Every row and column, local and remote; the remote read in at most max_waves waves. */
static void compare_sparse(radi_array *la, radi_array *ra, unsigned max_waves)
{
    radi_sparse_query *lq = NULL, *rq = NULL;
    assert_int_equal(radi_sparse_query_create(la, &lq), RADI_OK);
    assert_int_equal(radi_sparse_query_create(ra, &rq), RADI_OK);
    assert_int_equal(radi_sparse_query_submit(lq, NULL), RADI_OK);
    /* A whole sparse read: its tiles' parts all in one wave (the tile index was in the
     * open's wave). */
    reset(&g_cnt);
    assert_int_equal(radi_sparse_query_submit(rq, NULL), RADI_OK);
    printf("sparse read: %u waves\n", waves());
    if (waves() > max_waves) dump("sparse read");
    assert_true(waves() <= max_waves);
    uint64_t rows = radi_sparse_query_rows(lq);
    assert_int_equal(radi_sparse_query_rows(rq), rows);
    assert_int_equal(radi_sparse_query_ncolumns(rq), radi_sparse_query_ncolumns(lq));
    for (uint32_t c = 0; c < radi_sparse_query_ncolumns(lq); c++) {
        radi_sparse_column x, y;
        assert_int_equal(radi_sparse_query_column(lq, c, &x), RADI_OK);
        assert_int_equal(radi_sparse_query_column(rq, c, &y), RADI_OK);
        assert_int_equal(x.data_size, y.data_size);
        if (x.data_size) assert_memory_equal(x.data, y.data, x.data_size);
        assert_int_equal(!x.offsets, !y.offsets);
        if (x.offsets && rows) assert_memory_equal(x.offsets, y.offsets, rows * 8);
        assert_int_equal(!x.validity, !y.validity);
        if (x.validity && rows) assert_memory_equal(x.validity, y.validity, rows);
    }
    uint64_t lc = 0, rc = 0;
    assert_int_equal(radi_array_sparse_count(la, &lc), RADI_OK);
    assert_int_equal(radi_array_sparse_count(ra, &rc), RADI_OK);
    assert_int_equal(lc, rc);
    radi_sparse_query_free(lq);
    radi_sparse_query_free(rq);
}

/* Every golden array (TileDB-Py's, with consolidations, evolved schemas, time travel)
 * reads the same through the snapshot as through the local path. */
static void test_golden_equal(void **state)
{
    (void)state;
    const char *names[] = {"dense/axial_f32", "dense/d2_evolved", "dense/d2_i16", "dense/d2_i16_cons",
                           "dense/d3_f32_col", "dense/d3_frag_cons", "dense/d3_types", "dense/d4_u8",
                           "dense/empty", "tdb/arrays/dense", "tdb/arrays/dense_con", "tdb/arrays/sparse",
                           "sparse/cons", "sparse/nullable", "sparse/obs", "sparse/pdint", "sparse/pdstr"};
    const uint64_t ends[] = {0, 1500, 2500};
    int opened = 0;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        for (size_t e = 0; e < 3; e++) {
            char uri[512];
            snprintf(uri, sizeof uri, GOLDEN "%s", names[i]);
            radi_array *la = NULL, *ra = NULL;
            radi_status ls = radi_array_open(g_local, uri, 0, ends[e], &la);
            radi_status rs = radi_array_open(g_remote, uri, 0, ends[e], &ra);
            assert_int_equal(ls, rs);
            if (ls != RADI_OK) continue;
            opened++;
            assert_int_equal(radi_array_fragment_count(ra), radi_array_fragment_count(la));
            assert_int_equal(radi_meta_count(radi_array_meta(ra)), radi_meta_count(radi_array_meta(la)));
            for (uint32_t f = 0; f < radi_array_fragment_count(la); f++) {
                radi_fragment_info x, y;
                assert_int_equal(radi_array_fragment(la, f, &x), RADI_OK);
                assert_int_equal(radi_array_fragment(ra, f, &y), RADI_OK);
                assert_string_equal(x.name, y.name);
                assert_int_equal(x.size_bytes, y.size_bytes);
            }
            if (la->schema->type == RADI_DENSE) compare_dense(la, ra);
            else compare_sparse(la, ra, 1);
            radi_array_close(la);
            radi_array_close(ra);
        }
    printf("%d of %zu opens compared\n", opened, 3 * sizeof names / sizeof *names);
    assert_true(opened >= 40);
}

/* Fragment metadata over the whole-file cap (a sparse fragment of 150000 one-cell tiles
 * at random coordinates: its R-tree and tile statistics barely compress): the open
 * fetches the file's tail (the footer) in its wave, the first read loads the tile
 * indexes and the R-tree in one more wave, once, and the results equal the local path's. */
static void test_large_fragment_metadata(void **state)
{
    (void)state;
    enum { N = 150000 };
    char *uri = rdi_path_join(g_dir, "big");
    radi_schema *s = NULL;
    const int64_t lo = 0, hi = (int64_t)1 << 40;
    assert_int_equal(radi_schema_create(RADI_SPARSE, &s), RADI_OK);
    assert_int_equal(radi_schema_set_capacity(s, 1), RADI_OK);
    assert_int_equal(radi_schema_add_dim(s, "i", RADI_INT64, &lo, &hi, &hi, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_attr(s, "v", RADI_INT64, 1, 0, NULL, NULL, 0), RADI_OK);
    assert_int_equal(radi_array_create(g_local, uri, s), RADI_OK);
    radi_schema_free(s);
    int64_t *k = malloc(N * sizeof *k), *v = malloc(N * sizeof *v);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        k[i] = (int64_t)(x >> 24);
        v[i] = (int64_t)x;
    }
    radi_array *la = NULL, *ra = NULL;
    assert_int_equal(radi_array_open(g_local, uri, 0, 0, &la), RADI_OK);
    radi_sparse_buffer b[2] = {{"i", k, N * 8, NULL, NULL}, {"v", v, N * 8, NULL, NULL}};
    assert_int_equal(radi_array_write_sparse(la, 2, b, N, 0), RADI_OK);
    free(k);
    free(v);

    reset(&g_cnt);
    assert_int_equal(radi_array_open(g_remote, uri, 0, 0, &ra), RADI_OK);
    assert_int_equal(waves(), 2);
    int tail = 0;
    for (size_t i = 0; i < g_cnt.n; i++)
        tail |= strstr(g_cnt.calls[i].uri, "__fragment_metadata.tdb") && g_cnt.calls[i].off > 0;
    assert_true(tail);
    /* The tile indexes with the R-tree (one range), then the tiles. */
    compare_sparse(la, ra, 2);
    radi_array_close(ra);
    radi_array_close(la);
    free(uri);
}

/* A failing listing or a failing range of the open's wave fails the open cleanly, with
 * the backend's message; nothing is served from a half-filled snapshot. */
static void test_failures(void **state)
{
    (void)state;
    char *uri = rdi_path_join(g_dir, "vol4");
    make_volume(uri);
    for (int f = 1; f <= 2; f++) {
        radi_volume *vol = NULL;
        g_cnt.fail = f;
        assert_int_equal(radi_volume_open(g_remote, uri, &vol), RADI_E_IO);
        assert_non_null(strstr(radi_errmsg(), "injected"));
        assert_null(vol);
    }
    g_cnt.fail = 0;
    radi_volume *vol = NULL;
    assert_int_equal(radi_volume_open(g_remote, uri, &vol), RADI_OK);
    radi_volume_close(vol);
    /* Not an array, and a file: the errors of the local path. */
    radi_array *a = NULL;
    char *none = rdi_path_join(g_dir, "nothing"), *file = rdi_path_join(uri, "__schema");
    assert_int_equal(radi_array_open(g_remote, none, 0, 0, &a), RADI_E_NOT_FOUND);
    assert_int_equal(radi_array_open(g_local, none, 0, 0, &a), RADI_E_NOT_FOUND);
    rdi_dirlist l = {NULL, 0};
    assert_int_equal(rdi_vfs_ls(g_local->vfs, file, &l), RADI_OK);
    char *sf = rdi_path_join(file, l.items[0].name);
    assert_int_equal(radi_array_open(g_remote, sf, 0, 0, &a), RADI_E_NOT_FOUND);
    assert_int_equal(radi_array_open(g_local, sf, 0, 0, &a), RADI_E_NOT_FOUND);
    rdi_dirlist_free(&l);
    free(sf);
    free(none);
    free(file);
    free(uri);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_and_slice),
        cmocka_unit_test(test_nothing_fetched_twice),
        cmocka_unit_test(test_consolidated),
        cmocka_unit_test(test_golden_arrays),
        cmocka_unit_test(test_golden_equal),
        cmocka_unit_test(test_large_fragment_metadata),
        cmocka_unit_test(test_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
