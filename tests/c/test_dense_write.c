/* Dense writer and fragment metadata writer: the files written, re-parsed with the core
 * readers (footer, tile offsets, tiles, statistics sections), error paths and cleanup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <cmocka.h>

#include "tdb/fragment_write.h"
#include "vfs/fault.h"

/* ------------------------------------------------------------------ fixture -- */

/* assert_int_equal that shows radi's message when a call fails unexpectedly. */
#define OK(expr)                                                                  \
    do {                                                                          \
        radi_status ok_s_ = (expr);                                               \
        if (ok_s_ != RADI_OK) print_error("%s: %s\n", #expr, radi_errmsg());     \
        assert_int_equal(ok_s_, RADI_OK);                                         \
    } while (0)


typedef struct fx {
    char dir[64];
    char *uri;
    radi_ctx *ctx;
    radi_array *a;
} fx;

static char *tmpdir(void)
{
    char tmpl[] = "/tmp/radi_dw_XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void rm_rf(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* 3-D dense array: x int32 [0,9] ext 4, y int32 [0,6] ext 3, z int32 [0,4] ext 5;
 * attributes a uint8 (zstd), b float64 nullable (no filters), c int64 (lz4). */
static void make_array(fx *f, radi_layout tile_order, radi_layout cell_order)
{
    char *base = tmpdir();
    snprintf(f->dir, sizeof f->dir, "%s", base);
    free(base);
    f->uri = rdi_path_join(f->dir, "arr");
    assert_int_equal(radi_ctx_create(NULL, &f->ctx), RADI_OK);
    radi_schema *s = NULL;
    assert_int_equal(radi_schema_create(RADI_DENSE, &s), RADI_OK);
    assert_int_equal(radi_schema_set_order(s, tile_order, cell_order), RADI_OK);
    int32_t x[3] = {0, 9, 4}, y[3] = {0, 6, 3}, z[3] = {0, 4, 5};
    assert_int_equal(radi_schema_add_dim(s, "x", RADI_INT32, &x[0], &x[1], &x[2], NULL), RADI_OK);
    assert_int_equal(radi_schema_add_dim(s, "y", RADI_INT32, &y[0], &y[1], &y[2], NULL), RADI_OK);
    assert_int_equal(radi_schema_add_dim(s, "z", RADI_INT32, &z[0], &z[1], &z[2], NULL), RADI_OK);
    radi_filter_list zstd, lz4;
    radi_filter_list_init(&zstd);
    radi_filter_list_init(&lz4);
    assert_int_equal(radi_filter_list_add(&zstd, RADI_FILTER_ZSTD, 3), RADI_OK);
    assert_int_equal(radi_filter_list_add(&lz4, RADI_FILTER_LZ4, -1), RADI_OK);
    assert_int_equal(radi_schema_add_attr(s, "a", RADI_UINT8, 1, 0, &zstd, NULL, 0), RADI_OK);
    assert_int_equal(radi_schema_add_attr(s, "b", RADI_FLOAT64, 1, 1, NULL, NULL, 0), RADI_OK);
    assert_int_equal(radi_schema_add_attr(s, "c", RADI_INT64, 1, 0, &lz4, NULL, 0), RADI_OK);
    OK(radi_array_create(f->ctx, f->uri, s));
    radi_schema_free(s);
    assert_int_equal(radi_array_open(f->ctx, f->uri, 0, 0, &f->a), RADI_OK);
}

static void drop(fx *f)
{
    radi_array_close(f->a);
    radi_ctx_free(f->ctx);
    rm_rf(f->dir);
    free(f->uri);
}

/* Cell values of the test data, by global coordinate. */
static uint8_t va(int64_t x, int64_t y, int64_t z) { return (uint8_t)(x * 31 + y * 7 + z + 1); }
static double vb(int64_t x, int64_t y, int64_t z) { return (double)x - 2.5 * (double)y + 0.25 * (double)z; }
static int vvalid(int64_t x, int64_t y, int64_t z) { return (x + y + z) % 3 != 0; }
static int64_t vc(int64_t x, int64_t y, int64_t z) { return (x - 5) * 1000000007LL + y * 1000 - z; }

typedef struct data {
    uint64_t n;
    uint8_t *a;
    double *b;
    uint8_t *bv;
    int64_t *c;
    radi_field_buffer bufs[3];
} data;

/* Buffers for box in `layout` order. */
static void make_data(data *d, const int64_t *box, radi_layout layout)
{
    int64_t e[3];
    d->n = 1;
    for (int i = 0; i < 3; i++) {
        e[i] = box[2 * i + 1] - box[2 * i] + 1;
        d->n *= (uint64_t)e[i];
    }
    d->a = malloc(d->n);
    d->b = malloc(d->n * 8);
    d->bv = malloc(d->n);
    d->c = malloc(d->n * 8);
    for (int64_t i = 0; i < e[0]; i++)
        for (int64_t j = 0; j < e[1]; j++)
            for (int64_t k = 0; k < e[2]; k++) {
                uint64_t p = layout == RADI_ROW_MAJOR ? (uint64_t)((i * e[1] + j) * e[2] + k)
                                                      : (uint64_t)((k * e[1] + j) * e[0] + i);
                int64_t x = box[0] + i, y = box[2] + j, z = box[4] + k;
                d->a[p] = va(x, y, z);
                d->b[p] = vb(x, y, z);
                d->bv[p] = (uint8_t)vvalid(x, y, z);
                d->c[p] = vc(x, y, z);
            }
    d->bufs[0] = (radi_field_buffer){"a", d->a, d->n, NULL};
    d->bufs[1] = (radi_field_buffer){"b", d->b, d->n * 8, d->bv};
    d->bufs[2] = (radi_field_buffer){"c", d->c, d->n * 8, NULL};
}

static void free_data(data *d)
{
    free(d->a);
    free(d->b);
    free(d->bv);
    free(d->c);
}

static uint64_t file_size(fx *f, const char *frag, const char *file)
{
    char *p = rdi_asprintf("%s/__fragments/%s/%s", f->uri, frag, file);
    uint64_t sz = UINT64_MAX;
    radi_status s = rdi_vfs_size(f->ctx->vfs, p, &sz);
    free(p);
    return s == RADI_OK ? sz : UINT64_MAX;
}

static size_t count_entries(fx *f, const char *sub)
{
    char *p = rdi_path_join(f->uri, sub);
    rdi_dirlist l = {NULL, 0};
    assert_int_equal(rdi_vfs_ls(f->ctx->vfs, p, &l), RADI_OK);
    size_t n = l.n;
    rdi_dirlist_free(&l);
    free(p);
    return n;
}

/* Reads one generic-tile section of the fragment's metadata file. */
static void read_section(fx *f, const rdi_fragmeta *fm, uint64_t off, rdi_buf *out)
{
    char *md = rdi_path_join(fm->uri, "__fragment_metadata.tdb");
    rdi_scratch *sc = NULL;
    assert_int_equal(rdi_scratch_create(&sc), RADI_OK);
    out->len = 0;
    assert_int_equal(rdi_generic_tile_read(f->ctx->vfs, md, off, sc, out), RADI_OK);
    rdi_scratch_free(sc);
    free(md);
}

/* Unfilters tile k of attribute ai into out (cpt cells). */
static void read_tile(fx *f, rdi_fragmeta *fm, uint32_t ai, uint64_t k, int validity, void *out,
                      uint64_t out_len)
{
    const rdi_attr *at = &fm->schema->attrs[ai];
    uint64_t *offs = validity ? fm->tile_validity_offsets[ai] : fm->tile_offsets[ai];
    uint64_t fsize = validity ? fm->file_validity_sizes[ai] : fm->file_sizes[ai];
    uint64_t end = k + 1 < fm->tile_num ? offs[k + 1] : fsize;
    assert_true(offs[k] < end);
    char name[32];
    snprintf(name, sizeof name, validity ? "a%u_validity.tdb" : "a%u.tdb", ai);
    char *p = rdi_path_join(fm->uri, name);
    uint8_t *buf = malloc(end - offs[k]);
    assert_int_equal(rdi_vfs_read(f->ctx->vfs, p, offs[k], buf, end - offs[k]), RADI_OK);
    rdi_scratch *sc = NULL;
    assert_int_equal(rdi_scratch_create(&sc), RADI_OK);
    const radi_filter_list *fl = validity ? &fm->schema->validity_filters : &at->filters;
    assert_int_equal(rdi_tile_unfilter(fl, validity ? RADI_UINT8 : at->type,
                                       validity ? 1 : rdi_attr_cell_size(at), buf, end - offs[k], out,
                                       out_len, sc, p),
                     RADI_OK);
    rdi_scratch_free(sc);
    free(buf);
    free(p);
}

/* ------------------------------------------------------------------- tests -- */

/* A partial, unaligned write: footer fields, exact file sizes, tile offsets, every tile's
 * content (written cells and zero padding), and the per-tile statistics. */
static void check_fragment(radi_layout tile_order, radi_layout cell_order, radi_layout layout)
{
    fx f;
    make_array(&f, tile_order, cell_order);
    const int64_t box[6] = {1, 6, 2, 5, 0, 3};
    data d;
    make_data(&d, box, layout);
    OK(radi_array_write_dense(f.a, box, layout, 3, d.bufs, 0));
    assert_int_equal(f.a->nfrags, 1);
    rdi_fragmeta *fm = f.a->frags[0];
    const radi_schema *s = f.a->schema;
    assert_true(fm->dense);
    assert_int_equal(fm->version, s->version);
    assert_string_equal(fm->schema_name, s->name);
    assert_int_equal(fm->nfields, 3 + 1 + 3);
    /* x tiles {0,1}, y tiles {0,1}, z tile {0}. */
    assert_int_equal(fm->tile_num, 4);
    assert_int_equal(fm->last_tile_cell_num, 4 * 3 * 5);
    int64_t ned[6];
    assert_int_equal(rdi_fragmeta_ned_box(fm, ned), RADI_OK);
    assert_memory_equal(ned, box, sizeof box);

    /* File sizes in the footer are the real ones; __coords and dims have no files. */
    assert_int_equal(fm->file_sizes[0], file_size(&f, fm->name, "a0.tdb"));
    assert_int_equal(fm->file_sizes[1], file_size(&f, fm->name, "a1.tdb"));
    assert_int_equal(fm->file_sizes[2], file_size(&f, fm->name, "a2.tdb"));
    assert_int_equal(fm->file_validity_sizes[1], file_size(&f, fm->name, "a1_validity.tdb"));
    assert_int_equal(fm->file_validity_sizes[0], 0);
    assert_int_equal(file_size(&f, fm->name, "a0_validity.tdb"), UINT64_MAX);
    for (uint32_t i = 3; i < fm->nfields; i++) {
        assert_int_equal(fm->file_sizes[i], 0);
        assert_int_equal(fm->file_var_sizes[i], 0);
    }

    rdi_grid g;
    assert_int_equal(rdi_grid_init(s, box, &g), RADI_OK);
    const uint64_t cpt = rdi_grid_cells_per_tile(&g);
    for (uint32_t ai = 0; ai < 3; ai++) {
        assert_int_equal(rdi_array_load_tile_index(f.a, (const uint32_t[]){0}, 1), RADI_OK);
        assert_int_equal(fm->tile_offsets[ai][0], 0);
    }
    rdi_buf mins = RDI_BUF_INIT, maxs = RDI_BUF_INIT, sums = RDI_BUF_INIT, nulls = RDI_BUF_INIT;
    uint8_t *ta = malloc(cpt);
    double *tb = malloc(cpt * 8);
    uint8_t *tbv = malloc(cpt);
    int64_t *tc_ = malloc(cpt * 8);
    read_section(&f, fm, fm->gt_off[RDI_GT_MINS][0], &mins);
    read_section(&f, fm, fm->gt_off[RDI_GT_MAXS][0], &maxs);
    read_section(&f, fm, fm->gt_off[RDI_GT_SUMS][0], &sums);
    assert_int_equal(mins.len, 16 + 4);
    assert_int_equal(rdi_ld64(mins.data), 4); /* byte count: 4 tiles x 1 byte */
    assert_int_equal(rdi_ld64(mins.data + 8), 0);
    assert_int_equal(rdi_ld64(sums.data), 4);
    rdi_buf bmins = RDI_BUF_INIT, bsums = RDI_BUF_INIT, csums = RDI_BUF_INIT;
    read_section(&f, fm, fm->gt_off[RDI_GT_MINS][1], &bmins);
    read_section(&f, fm, fm->gt_off[RDI_GT_SUMS][1], &bsums);
    read_section(&f, fm, fm->gt_off[RDI_GT_NULL_COUNTS][1], &nulls);
    read_section(&f, fm, fm->gt_off[RDI_GT_SUMS][2], &csums);
    assert_int_equal(rdi_ld64(bmins.data), 4 * 8);
    assert_int_equal(rdi_ld64(nulls.data), 4);

    for (uint64_t k = 0; k < fm->tile_num; k++) {
        int64_t tc[3], tbox[6];
        rdi_grid_coords(&g, k, tc);
        rdi_grid_tile_box(&g, tc, tbox);
        read_tile(&f, fm, 0, k, 0, ta, cpt);
        read_tile(&f, fm, 1, k, 0, tb, cpt * 8);
        read_tile(&f, fm, 1, k, 1, tbv, cpt);
        read_tile(&f, fm, 2, k, 0, tc_, cpt * 8);
        uint8_t amin = 255, amax = 0;
        uint64_t asum = 0, bnull = 0;
        double bmin = INFINITY, bsum = 0;
        int64_t csum = 0;
        for (int64_t i = 0; i < 4; i++)
            for (int64_t j = 0; j < 3; j++)
                for (int64_t l = 0; l < 5; l++) {
                    uint64_t p = cell_order == RADI_ROW_MAJOR ? (uint64_t)((i * 3 + j) * 5 + l)
                                                              : (uint64_t)((l * 3 + j) * 4 + i);
                    int64_t x = tbox[0] + i, y = tbox[2] + j, z = tbox[4] + l;
                    int in = x >= box[0] && x <= box[1] && y >= box[2] && y <= box[3] &&
                             z >= box[4] && z <= box[5];
                    if (!in) {
                        assert_int_equal(ta[p], 0);
                        assert_true(tb[p] == 0.0);
                        assert_int_equal(tbv[p], 0);
                        assert_int_equal(tc_[p], 0);
                        continue;
                    }
                    assert_int_equal(ta[p], va(x, y, z));
                    assert_int_equal(tbv[p], vvalid(x, y, z));
                    assert_true(tb[p] == vb(x, y, z));
                    assert_int_equal(tc_[p], vc(x, y, z));
                    amin = RDI_MIN(amin, ta[p]);
                    amax = RDI_MAX(amax, ta[p]);
                    asum += ta[p];
                    csum += tc_[p];
                    if (!tbv[p]) {
                        bnull++;
                        continue;
                    }
                    bmin = fmin(bmin, tb[p]);
                    bsum += tb[p];
                }
        assert_int_equal(mins.data[16 + k], amin);
        assert_int_equal(maxs.data[16 + k], amax);
        assert_int_equal(rdi_ld64(sums.data + 8 + 8 * k), asum);
        double got;
        memcpy(&got, bmins.data + 16 + 8 * k, 8);
        assert_true(got == bmin);
        memcpy(&got, bsums.data + 8 + 8 * k, 8);
        assert_true(fabs(got - bsum) < 1e-9);
        assert_int_equal(rdi_ld64(nulls.data + 8 + 8 * k), bnull);
        assert_int_equal((int64_t)rdi_ld64(csums.data + 8 + 8 * k), csum);
    }
    /* __coords: zero-filled mins (tile_num x ndim x 4 bytes) and sums, as TileDB writes;
     * dense dimensions: nothing. */
    rdi_buf sec = RDI_BUF_INIT;
    read_section(&f, fm, fm->gt_off[RDI_GT_MINS][3], &sec);
    assert_int_equal(rdi_ld64(sec.data), 4 * 3 * 4);
    read_section(&f, fm, fm->gt_off[RDI_GT_TILE_OFFSETS][3], &sec);
    assert_int_equal(rdi_ld64(sec.data), 4);
    read_section(&f, fm, fm->gt_off[RDI_GT_MINS][4], &sec);
    assert_int_equal(sec.len, 16);
    assert_int_equal(rdi_ld64(sec.data), 0);
    read_section(&f, fm, fm->gt_off[RDI_GT_VAR_SIZES][5], &sec);
    assert_int_equal(rdi_ld64(sec.data), 4);
    /* Fragment-level aggregates: a's min over all tiles. */
    read_section(&f, fm, fm->frag_mmsn_off, &sec);
    assert_int_equal(rdi_ld64(sec.data), 1);
    uint8_t fmin = 255;
    for (uint64_t k = 0; k < 4; k++) fmin = RDI_MIN(fmin, mins.data[16 + k]);
    assert_int_equal(sec.data[8], fmin);
    read_section(&f, fm, fm->proc_cond_off, &sec);
    assert_int_equal(sec.len, 8);
    assert_int_equal(rdi_ld64(sec.data), 0);

    rdi_buf_free(&sec);
    rdi_buf_free(&mins);
    rdi_buf_free(&maxs);
    rdi_buf_free(&sums);
    rdi_buf_free(&nulls);
    rdi_buf_free(&bmins);
    rdi_buf_free(&bsums);
    rdi_buf_free(&csums);
    free(ta);
    free(tb);
    free(tbv);
    free(tc_);
    free_data(&d);
    drop(&f);
}

static void test_fragment_row(void **state)
{
    (void)state;
    check_fragment(RADI_ROW_MAJOR, RADI_ROW_MAJOR, RADI_ROW_MAJOR);
}

static void test_fragment_col_layout(void **state)
{
    (void)state;
    check_fragment(RADI_ROW_MAJOR, RADI_ROW_MAJOR, RADI_COL_MAJOR);
}

static void test_fragment_col_orders(void **state)
{
    (void)state;
    check_fragment(RADI_COL_MAJOR, RADI_COL_MAJOR, RADI_ROW_MAJOR);
    check_fragment(RADI_ROW_MAJOR, RADI_COL_MAJOR, RADI_COL_MAJOR);
}

/* Row- and col-major input of the same cells produce identical data files. */
static void test_layouts_same_bytes(void **state)
{
    (void)state;
    fx f1, f2;
    make_array(&f1, RADI_ROW_MAJOR, RADI_ROW_MAJOR);
    make_array(&f2, RADI_ROW_MAJOR, RADI_ROW_MAJOR);
    const int64_t box[6] = {0, 9, 1, 6, 2, 4};
    data d1, d2;
    make_data(&d1, box, RADI_ROW_MAJOR);
    make_data(&d2, box, RADI_COL_MAJOR);
    OK(radi_array_write_dense(f1.a, box, RADI_ROW_MAJOR, 3, d1.bufs, 0));
    OK(radi_array_write_dense(f2.a, box, RADI_COL_MAJOR, 3, d2.bufs, 0));
    const char *files[] = {"a0.tdb", "a1.tdb", "a1_validity.tdb", "a2.tdb"};
    for (size_t i = 0; i < 4; i++) {
        char *p1 = rdi_asprintf("%s/%s", f1.a->frags[0]->uri, files[i]);
        char *p2 = rdi_asprintf("%s/%s", f2.a->frags[0]->uri, files[i]);
        rdi_buf b1 = RDI_BUF_INIT, b2 = RDI_BUF_INIT;
        assert_int_equal(rdi_vfs_read_all(f1.ctx->vfs, p1, &b1), RADI_OK);
        assert_int_equal(rdi_vfs_read_all(f2.ctx->vfs, p2, &b2), RADI_OK);
        assert_int_equal(b1.len, b2.len);
        assert_memory_equal(b1.data, b2.data, b1.len);
        rdi_buf_free(&b1);
        rdi_buf_free(&b2);
        free(p1);
        free(p2);
    }
    free_data(&d1);
    free_data(&d2);
    drop(&f1);
    drop(&f2);
}

/* Distinct increasing timestamps; an explicit one is used as given; commit markers. */
static void test_timestamps_and_commits(void **state)
{
    (void)state;
    fx f;
    make_array(&f, RADI_ROW_MAJOR, RADI_ROW_MAJOR);
    const int64_t box[6] = {0, 0, 0, 0, 0, 0};
    data d;
    make_data(&d, box, RADI_ROW_MAJOR);
    OK(radi_array_write_dense(f.a, box, RADI_ROW_MAJOR, 3, d.bufs, 0));
    OK(radi_array_write_dense(f.a, box, RADI_ROW_MAJOR, 3, d.bufs, 0));
    assert_int_equal(f.a->nfrags, 2);
    assert_true(f.a->frags[1]->t1 > f.a->frags[0]->t1);
    assert_int_equal(f.a->frags[1]->t1, f.a->frags[1]->t2);
    char *name = NULL;
    OK(rdi_dense_write(f.a, box, RADI_ROW_MAJOR, 3, d.bufs, 0, 0, 0, &name));
    assert_non_null(name);
    rdi_tsname ts;
    assert_int_equal(rdi_tsname_parse(name, &ts), RADI_OK);
    assert_int_equal(ts.version, f.a->schema->version);
    assert_true(ts.t1 > f.a->frags[1]->t1);
    char *wrt = rdi_asprintf("%s/__commits/%s.wrt", f.uri, name);
    uint64_t sz = 1;
    assert_int_equal(rdi_vfs_size(f.ctx->vfs, wrt, &sz), RADI_OK);
    assert_int_equal(sz, 0);
    free(wrt);
    free(name);
    assert_int_equal(count_entries(&f, "__commits"), 3);
    assert_int_equal(count_entries(&f, "__fragments"), 3);
    free_data(&d);
    drop(&f);
}

/* Bad requests fail with a message and leave nothing behind. */
static void test_errors(void **state)
{
    (void)state;
    fx f;
    make_array(&f, RADI_ROW_MAJOR, RADI_ROW_MAJOR);
    int64_t box[6] = {0, 1, 0, 1, 0, 1};
    data d;
    make_data(&d, box, RADI_ROW_MAJOR);
    int64_t out[6] = {0, 10, 0, 1, 0, 1};
    assert_int_equal(radi_array_write_dense(f.a, out, RADI_ROW_MAJOR, 3, d.bufs, 0), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "outside the domain"));
    int64_t empty[6] = {1, 0, 0, 1, 0, 1};
    assert_int_equal(radi_array_write_dense(f.a, empty, RADI_ROW_MAJOR, 3, d.bufs, 0), RADI_E_INVALID);
    assert_int_equal(radi_array_write_dense(f.a, box, RADI_ROW_MAJOR, 2, d.bufs, 0), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "c is missing"));
    radi_field_buffer bad[3];
    memcpy(bad, d.bufs, sizeof bad);
    bad[1].validity = NULL;
    assert_int_equal(radi_array_write_dense(f.a, box, RADI_ROW_MAJOR, 3, bad, 0), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "validity"));
    memcpy(bad, d.bufs, sizeof bad);
    bad[2].size = 7;
    assert_int_equal(radi_array_write_dense(f.a, box, RADI_ROW_MAJOR, 3, bad, 0), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "attribute c"));
    memcpy(bad, d.bufs, sizeof bad);
    bad[2].attr = "nope";
    assert_int_equal(radi_array_write_dense(f.a, box, RADI_ROW_MAJOR, 3, bad, 0), RADI_E_NOT_FOUND);
    memcpy(bad, d.bufs, sizeof bad);
    bad[2].attr = "a";
    assert_int_equal(radi_array_write_dense(f.a, box, RADI_ROW_MAJOR, 3, bad, 0), RADI_E_INVALID);
    assert_int_equal(radi_array_write_dense(f.a, box, RADI_GLOBAL_ORDER, 3, d.bufs, 0), RADI_E_UNSUPPORTED);
    assert_int_equal(count_entries(&f, "__commits"), 0);
    assert_int_equal(count_entries(&f, "__fragments"), 0);
    assert_int_equal(f.a->nfrags, 0);
    free_data(&d);
    drop(&f);
}

/* A storage failure at any write of the fragment leaves no fragment and no commit. */
static void test_write_failure_cleans_up(void **state)
{
    (void)state;
    /* Writes: a0, a1, a1_validity, a2, metadata, .wrt. */
    for (uint64_t at = 1; at <= 6; at++) {
        fx f;
        make_array(&f, RADI_ROW_MAJOR, RADI_ROW_MAJOR);
        rdi_fault fault;
        memset(&fault, 0, sizeof fault);
        fault.ops_mask = RDI_FAULT_WRITE;
        fault.fail_at = at;
        fault.inner = &rdi_vfs_posix_ops;
        assert_int_equal(rdi_vfs_set_local(f.ctx->vfs, &rdi_vfs_fault_ops, &fault), RADI_OK);
        int64_t box[6] = {0, 5, 0, 3, 0, 4};
        data d;
        make_data(&d, box, RADI_ROW_MAJOR);
        radi_status st = radi_array_write_dense(f.a, box, RADI_ROW_MAJOR, 3, d.bufs, 0);
        assert_int_not_equal(st, RADI_OK);
        assert_int_equal(fault.failures, 1);
        assert_true(strlen(radi_errmsg()) > 0);
        assert_int_equal(count_entries(&f, "__commits"), 0);
        assert_int_equal(count_entries(&f, "__fragments"), 0);
        assert_int_equal(rdi_vfs_set_local(f.ctx->vfs, &rdi_vfs_posix_ops, NULL), RADI_OK);
        free_data(&d);
        drop(&f);
    }
}

/* Consolidation's padding: cells outside the box get the fill value. */
static void test_fill_padding(void **state)
{
    (void)state;
    fx f;
    make_array(&f, RADI_ROW_MAJOR, RADI_ROW_MAJOR);
    const int64_t box[6] = {1, 1, 1, 1, 1, 1};
    data d;
    make_data(&d, box, RADI_ROW_MAJOR);
    OK(rdi_dense_write(f.a, box, RADI_ROW_MAJOR, 3, d.bufs, 0, 0, 1, NULL));
    rdi_fragmeta *fm = f.a->frags[0];
    assert_int_equal(fm->tile_num, 1);
    assert_int_equal(rdi_array_load_tile_index(f.a, (const uint32_t[]){0}, 1), RADI_OK);
    uint8_t ta[60];
    int64_t tc[60];
    read_tile(&f, fm, 0, 0, 0, ta, sizeof ta);
    read_tile(&f, fm, 2, 0, 0, tc, sizeof tc);
    for (int p = 0; p < 60; p++) {
        if (p == (1 * 3 + 1) * 5 + 1) {
            assert_int_equal(ta[p], va(1, 1, 1));
            continue;
        }
        assert_int_equal(ta[p], 255);      /* uint8 default fill */
        assert_true(tc[p] == INT64_MIN);   /* int64 default fill */
    }
    free_data(&d);
    drop(&f);
}

/* TileDB's statistics rules: nulls skipped, saturating sums, limits as start values. */
static void test_stats(void **state)
{
    (void)state;
    rdi_field_kind k = {.type = RADI_INT64, .cell_size = 8, .has_mm = 1, .mm_numeric = 1, .has_sum = 1};
    rdi_tile_stats st;
    rdi_tile_stats_init(&st);
    int64_t v[3] = {INT64_MAX - 1, 5, -3};
    rdi_tile_stats_add(&st, &k, v, NULL, 3);
    int64_t s;
    memcpy(&s, st.sum, 8);
    assert_true(s == INT64_MAX); /* saturates and stops at the overflow, as TileDB */
    int64_t mn, mx;
    memcpy(&mn, st.min, 8);
    memcpy(&mx, st.max, 8);
    assert_true(mn == -3 && mx == INT64_MAX - 1);

    rdi_field_kind u = {.type = RADI_UINT64, .cell_size = 8, .has_mm = 1, .mm_numeric = 1, .has_sum = 1,
                        .nullable = 1};
    rdi_tile_stats_init(&st);
    uint64_t w[3] = {UINT64_MAX, 7, UINT64_MAX};
    uint8_t valid[3] = {0, 1, 1};
    rdi_tile_stats_add(&st, &u, w, valid, 3);
    assert_int_equal(st.null_count, 1);
    assert_true(rdi_ld64(st.sum) == UINT64_MAX);
    assert_true(rdi_ld64(st.min) == 7);

    rdi_field_kind fk = {.type = RADI_FLOAT32, .cell_size = 4, .has_mm = 1, .mm_numeric = 1, .has_sum = 1};
    rdi_tile_stats_init(&st);
    float fv[3] = {1.5f, -2.0f, 4.0f};
    rdi_tile_stats_add(&st, &fk, fv, NULL, 2);
    rdi_tile_stats_add(&st, &fk, fv + 2, NULL, 1);
    double ds;
    float fmn, fmx;
    memcpy(&ds, st.sum, 8);
    memcpy(&fmn, st.min, 4);
    memcpy(&fmx, st.max, 4);
    assert_true(ds == 3.5 && fmn == -2.0f && fmx == 4.0f);

    /* Field kinds: the __coords slot and dense dimensions. */
    radi_schema *sch = NULL;
    assert_int_equal(radi_schema_create(RADI_DENSE, &sch), RADI_OK);
    int32_t lo = 0, hi = 9, ext = 5;
    assert_int_equal(radi_schema_add_dim(sch, "x", RADI_INT32, &lo, &hi, &ext, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_dim(sch, "y", RADI_INT32, &lo, &hi, &ext, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_attr(sch, "v", RADI_BOOL, 1, 0, NULL, NULL, 0), RADI_OK);
    assert_int_equal(radi_schema_add_attr(sch, "w", RADI_UINT16, 3, 1, NULL, NULL, 0), RADI_OK);
    rdi_field_kind fk2;
    rdi_field_kind_of(sch, 0, 1, &fk2);
    assert_true(fk2.has_mm && fk2.has_sum && fk2.mm_numeric);
    rdi_field_kind_of(sch, 1, 1, &fk2);
    assert_true(!fk2.has_mm && !fk2.has_sum && fk2.nullable && fk2.cell_size == 6);
    rdi_field_kind_of(sch, 2, 1, &fk2);
    assert_true(fk2.has_mm && fk2.has_sum && fk2.cell_size == 8);
    rdi_field_kind_of(sch, 3, 1, &fk2);
    assert_true(!fk2.has_mm && !fk2.has_sum);
    radi_schema_free(sch);
}

/* A damaged validity tile holding a byte other than 0 or 1 is refused by dense reads, as
 * by sparse ones, naming the attribute. The validity tiles are left unfiltered (the
 * default is RLE), so the file's last byte is the last cell's validity. */
static void test_validity_byte_refused(void **state)
{
    (void)state;
    char *dir = tmpdir();
    char *uri = rdi_path_join(dir, "arr");
    radi_ctx *ctx = NULL;
    assert_int_equal(radi_ctx_create(NULL, &ctx), RADI_OK);
    radi_schema *s = NULL;
    assert_int_equal(radi_schema_create(RADI_DENSE, &s), RADI_OK);
    int32_t x[3] = {0, 99, 50};
    assert_int_equal(radi_schema_add_dim(s, "x", RADI_INT32, &x[0], &x[1], &x[2], NULL), RADI_OK);
    assert_int_equal(radi_schema_add_attr(s, "b", RADI_UINT8, 1, 1, NULL, NULL, 0), RADI_OK);
    radi_filter_list none;
    radi_filter_list_init(&none);
    assert_int_equal(radi_schema_set_validity_filters(s, &none), RADI_OK);
    OK(radi_array_create(ctx, uri, s));
    radi_schema_free(s);
    uint8_t v[100], valid[100], got[100], gotv[100];
    for (int i = 0; i < 100; i++) v[i] = (uint8_t)i, valid[i] = (uint8_t)(i % 3 != 0);
    radi_array *a = NULL;
    assert_int_equal(radi_array_open(ctx, uri, 0, 0, &a), RADI_OK);
    const int64_t box[2] = {0, 99};
    radi_field_buffer in = {"b", v, sizeof v, valid}, out = {"b", got, sizeof got, gotv};
    OK(radi_array_write_dense(a, box, RADI_ROW_MAJOR, 1, &in, 0));
    char *vf = rdi_asprintf("%s/a0_validity.tdb", a->frags[0]->uri);
    radi_array_close(a);
    assert_int_equal(radi_array_open(ctx, uri, 0, 0, &a), RADI_OK);
    OK(radi_array_read_dense(a, box, RADI_ROW_MAJOR, 1, &out, NULL));
    assert_memory_equal(gotv, valid, sizeof valid);
    radi_array_close(a);
    rdi_buf file = RDI_BUF_INIT;
    assert_int_equal(rdi_vfs_read_all(ctx->vfs, vf, &file), RADI_OK);
    assert_int_equal(file.data[file.len - 1], valid[99]);
    file.data[file.len - 1] = 2;
    assert_int_equal(rdi_vfs_write(ctx->vfs, vf, file.data, file.len), RADI_OK);
    assert_int_equal(radi_array_open(ctx, uri, 0, 0, &a), RADI_OK);
    assert_int_equal(radi_array_read_dense(a, box, RADI_ROW_MAJOR, 1, &out, NULL), RADI_E_CORRUPT);
    assert_non_null(strstr(radi_errmsg(), "'b': validity of result cell 99 is 2"));
    radi_array_close(a);
    rdi_buf_free(&file);
    free(vf);
    radi_ctx_free(ctx);
    rm_rf(dir);
    free(uri);
    free(dir);
}

/* A larger write on the pool: many tiles, several chunks per tile, and the result is
 * the same with one worker. */
static void test_parallel_matches_serial(void **state)
{
    (void)state;
    radi_config cfg;
    radi_config_init(&cfg);
    uint8_t *files[2] = {NULL, NULL};
    size_t lens[2] = {0, 0};
    for (int run = 0; run < 2; run++) {
        cfg.concurrency = run ? 1 : 8;
        char *dir = tmpdir();
        char *uri = rdi_path_join(dir, "vol");
        radi_ctx *ctx = NULL;
        assert_int_equal(radi_ctx_create(&cfg, &ctx), RADI_OK);
        radi_schema *s = NULL;
        assert_int_equal(radi_schema_create(RADI_DENSE, &s), RADI_OK);
        int32_t d[3] = {0, 99, 64}, dz[3] = {0, 19, 1};
        assert_int_equal(radi_schema_add_dim(s, "x", RADI_INT32, &d[0], &d[1], &d[2], NULL), RADI_OK);
        assert_int_equal(radi_schema_add_dim(s, "y", RADI_INT32, &d[0], &d[1], &d[2], NULL), RADI_OK);
        assert_int_equal(radi_schema_add_dim(s, "z", RADI_INT32, &dz[0], &dz[1], &dz[2], NULL), RADI_OK);
        radi_filter_list fl;
        radi_filter_list_init(&fl);
        assert_int_equal(radi_filter_list_add(&fl, RADI_FILTER_ZSTD, 1), RADI_OK);
        assert_int_equal(radi_schema_add_attr(s, "voxels", RADI_FLOAT32, 1, 0, &fl, NULL, 0), RADI_OK);
        OK(radi_array_create(ctx, uri, s));
        radi_schema_free(s);
        radi_array *a = NULL;
        assert_int_equal(radi_array_open(ctx, uri, 0, 0, &a), RADI_OK);
        const int64_t box[6] = {3, 97, 0, 99, 1, 18};
        uint64_t n = 95 * 100 * 18;
        float *v = malloc(n * 4);
        for (uint64_t i = 0; i < n; i++) v[i] = (float)((i * 2654435761u) % 1000) * 0.5f;
        radi_field_buffer b = {"voxels", v, n * 4, NULL};
        OK(radi_array_write_dense(a, box, RADI_ROW_MAJOR, 1, &b, 0));
        assert_int_equal(a->frags[0]->tile_num, 2 * 2 * 18);
        char *p = rdi_asprintf("%s/a0.tdb", a->frags[0]->uri);
        rdi_buf fb = RDI_BUF_INIT;
        assert_int_equal(rdi_vfs_read_all(ctx->vfs, p, &fb), RADI_OK);
        files[run] = rdi_buf_detach(&fb, &lens[run]);
        free(p);
        free(v);
        radi_array_close(a);
        radi_ctx_free(ctx);
        rm_rf(dir);
        free(dir);
        free(uri);
    }
    assert_int_equal(lens[0], lens[1]);
    assert_memory_equal(files[0], files[1], lens[0]);
    free(files[0]);
    free(files[1]);
}

/* 1-D, negative domain origin, a multi-value nullable attribute: the tiles hold whole
 * cells, min/max/sum are not kept (TileDB keeps them for single values only) and null
 * counts cover the written cells. */
static void test_one_dim_multi_value(void **state)
{
    (void)state;
    char *dir = tmpdir();
    char *uri = rdi_path_join(dir, "a1");
    radi_ctx *ctx = NULL;
    assert_int_equal(radi_ctx_create(NULL, &ctx), RADI_OK);
    radi_schema *s = NULL;
    assert_int_equal(radi_schema_create(RADI_DENSE, &s), RADI_OK);
    int64_t lo = -5, hi = 20, ext = 7;
    assert_int_equal(radi_schema_add_dim(s, "i", RADI_INT64, &lo, &hi, &ext, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_attr(s, "w", RADI_UINT16, 3, 1, NULL, NULL, 0), RADI_OK);
    OK(radi_array_create(ctx, uri, s));
    radi_schema_free(s);
    radi_array *a = NULL;
    assert_int_equal(radi_array_open(ctx, uri, 0, 0, &a), RADI_OK);
    const int64_t box[2] = {-3, 10};
    uint16_t v[14 * 3];
    uint8_t valid[14];
    for (int i = 0; i < 14; i++) {
        for (int k = 0; k < 3; k++) v[3 * i + k] = (uint16_t)(100 * i + k);
        valid[i] = i % 4 != 1;
    }
    radi_field_buffer b = {"w", v, sizeof v, valid};
    OK(radi_array_write_dense(a, box, RADI_ROW_MAJOR, 1, &b, 0));
    rdi_fragmeta *fm = a->frags[0];
    assert_int_equal(fm->tile_num, 3); /* tiles [-5,1], [2,8], [9,15] */
    int64_t ned[2];
    assert_int_equal(rdi_fragmeta_ned_box(fm, ned), RADI_OK);
    assert_true(ned[0] == -3 && ned[1] == 10);
    assert_int_equal(rdi_array_load_tile_index(a, (const uint32_t[]){0}, 1), RADI_OK);
    fx f = {.ctx = ctx};
    uint16_t tile[7 * 3];
    uint8_t tv[7];
    uint64_t nulls_want[3] = {0, 0, 0};
    for (uint64_t k = 0; k < 3; k++) {
        read_tile(&f, fm, 0, k, 0, tile, sizeof tile);
        read_tile(&f, fm, 0, k, 1, tv, sizeof tv);
        for (int c = 0; c < 7; c++) {
            int64_t x = -5 + (int64_t)k * 7 + c;
            if (x < box[0] || x > box[1]) {
                assert_int_equal(tv[c], 0);
                assert_int_equal(tile[3 * c] | tile[3 * c + 1] | tile[3 * c + 2], 0);
                continue;
            }
            int i = (int)(x - box[0]);
            assert_memory_equal(&tile[3 * c], &v[3 * i], 6);
            assert_int_equal(tv[c], valid[i]);
            nulls_want[k] += !valid[i];
        }
    }
    rdi_buf sec = RDI_BUF_INIT;
    read_section(&f, fm, fm->gt_off[RDI_GT_MINS][0], &sec);
    assert_int_equal(sec.len, 16);
    assert_int_equal(rdi_ld64(sec.data), 0);
    read_section(&f, fm, fm->gt_off[RDI_GT_SUMS][0], &sec);
    assert_int_equal(rdi_ld64(sec.data), 0);
    read_section(&f, fm, fm->gt_off[RDI_GT_NULL_COUNTS][0], &sec);
    assert_int_equal(rdi_ld64(sec.data), 3);
    for (int k = 0; k < 3; k++) assert_int_equal(rdi_ld64(sec.data + 8 + 8 * k), nulls_want[k]);
    rdi_buf_free(&sec);
    radi_array_close(a);
    radi_ctx_free(ctx);
    rm_rf(dir);
    free(dir);
    free(uri);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_validity_byte_refused),
        cmocka_unit_test(test_fragment_row),
        cmocka_unit_test(test_fragment_col_layout),
        cmocka_unit_test(test_fragment_col_orders),
        cmocka_unit_test(test_layouts_same_bytes),
        cmocka_unit_test(test_timestamps_and_commits),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_write_failure_cleans_up),
        cmocka_unit_test(test_fill_padding),
        cmocka_unit_test(test_parallel_matches_serial),
        cmocka_unit_test(test_one_dim_multi_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
