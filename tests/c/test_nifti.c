/* io layer: NIfTI-1/2 reading (fixtures made by nibabel), writing, round trips, bad input. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/core.h"
#include "io/nifti.h"
#include "vfs/vfs.h"

#define DATA RADI_TEST_DATA "/nifti/"

typedef struct expected {
    char name[64];
    char axcodes[4];
    double affine[16];
} expected;

static int load_expected(const char *name, expected *e)
{
    FILE *f = fopen(DATA "expected.txt", "r");
    if (!f) return 0;
    char line[1024];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        char *p = line;
        int used = 0;
        if (sscanf(p, "%63s %3s%n", e->name, e->axcodes, &used) != 2) continue;
        if (strcmp(e->name, name) != 0) continue;
        p += used;
        found = 1;
        for (int i = 0; i < 16; i++) {
            if (sscanf(p, "%lf%n", &e->affine[i], &used) != 1) found = 0;
            p += used;
        }
    }
    fclose(f);
    return found;
}

static int64_t pattern(uint64_t x, uint64_t y, uint64_t z, uint64_t t)
{
    return (int64_t)(x + 10 * y + 100 * z + 1000 * t);
}

static double value_at(const void *buf, radi_datatype t, uint64_t i)
{
    switch (t) {
    case RADI_UINT8: return ((const uint8_t *)buf)[i];
    case RADI_INT8: return ((const int8_t *)buf)[i];
    case RADI_INT16: return ((const int16_t *)buf)[i];
    case RADI_UINT16: return ((const uint16_t *)buf)[i];
    case RADI_INT32: return ((const int32_t *)buf)[i];
    case RADI_UINT32: return ((const uint32_t *)buf)[i];
    case RADI_INT64: return (double)((const int64_t *)buf)[i];
    case RADI_UINT64: return (double)((const uint64_t *)buf)[i];
    case RADI_FLOAT32: return ((const float *)buf)[i];
    default: return ((const double *)buf)[i];
    }
}

/* The C-order (x, y, z[, t]) array holds the pattern; wraps like the stored type. */
static void check_pattern(const radi_nifti_header *h, const void *buf, radi_datatype t, double slope,
                          double inter)
{
    uint64_t X = h->shape[0], Y = h->shape[1], Z = h->shape[2], T = h->ndim == 4 ? h->shape[3] : 1;
    uint64_t i = 0;
    for (uint64_t x = 0; x < X; x++)
        for (uint64_t y = 0; y < Y; y++)
            for (uint64_t z = 0; z < Z; z++)
                for (uint64_t tt = 0; tt < T; tt++, i++) {
                    double want = (double)pattern(x, y, z, tt);
                    if (h->datatype == RADI_INT8) want = (double)(int8_t)(int64_t)want;
                    if (h->datatype == RADI_UINT8) want = (double)(uint8_t)(int64_t)want;
                    want = want * slope + inter;
                    assert_true(value_at(buf, t, i) == want);
                }
}

static void check_fixture(const char *name, radi_datatype dtype, uint32_t ndim, double tol)
{
    radi_nifti *img = NULL;
    char path[512];
    snprintf(path, sizeof path, DATA "%s", name);
    radi_status s = radi_nifti_open(path, &img);
    if (s != RADI_OK) fail_msg("%s: %s", name, radi_errmsg());
    const radi_nifti_header *h = radi_nifti_get_header(img);
    assert_int_equal(h->datatype, dtype);
    assert_int_equal(h->ndim, ndim);
    expected e;
    assert_true(load_expected(name, &e));
    assert_string_equal(h->axcodes, e.axcodes);
    for (int i = 0; i < 16; i++)
        if (fabs(h->affine[i] - e.affine[i]) > tol)
            fail_msg("%s: affine[%d] = %.17g, nibabel %.17g", name, i, h->affine[i], e.affine[i]);
    uint64_t n = radi_nifti_voxel_count(img);
    size_t es = radi_datatype_size(dtype);
    void *buf = malloc(n * es);
    assert_int_equal(radi_nifti_read(img, 0, RADI_ANY, buf, n * es), RADI_OK);
    check_pattern(h, buf, dtype, 1.0, 0.0);
    /* too small a buffer, wrong raw type */
    assert_int_equal(radi_nifti_read(img, 0, RADI_ANY, buf, n * es - 1), RADI_E_INVALID);
    if (dtype != RADI_FLOAT64) assert_int_equal(radi_nifti_read(img, 0, RADI_FLOAT64, buf, n * es), RADI_E_INVALID);
    free(buf);
    radi_nifti_close(img);
}

static void test_fixtures(void **state)
{
    (void)state;
    check_fixture("u8_3d.nii", RADI_UINT8, 3, 0);
    check_fixture("i16_scaled.nii.gz", RADI_INT16, 3, 0);
    check_fixture("f32_4d_be.nii", RADI_FLOAT32, 4, 0);
    check_fixture("n2_i32_sform.nii", RADI_INT32, 3, 0);
    check_fixture("u16_qform.nii", RADI_UINT16, 3, 1e-6);
    check_fixture("f64_nocode.nii", RADI_FLOAT64, 3, 0);
    check_fixture("pair_i8.hdr", RADI_INT8, 3, 0);
    check_fixture("u8_multimember.nii.gz", RADI_UINT8, 3, 0);
}

static void test_header_fields(void **state)
{
    (void)state;
    radi_nifti *img = NULL;
    assert_int_equal(radi_nifti_open(DATA "f32_4d_be.nii", &img), RADI_OK);
    const radi_nifti_header *h = radi_nifti_get_header(img);
    assert_int_equal(h->version, 1);
    assert_int_equal(h->big_endian, 1);
    assert_int_equal(h->gzip, 0);
    assert_int_equal(h->shape[3], 3);
    assert_true(h->pixdim[4] == 2.5);
    assert_int_equal(h->xyzt_units, 10);
    assert_int_equal(h->vox_offset, 352);
    assert_int_equal(radi_nifti_has_scaling(img), 0);
    radi_nifti_close(img);

    assert_int_equal(radi_nifti_open(DATA "i16_scaled.nii.gz", &img), RADI_OK);
    h = radi_nifti_get_header(img);
    assert_int_equal(h->gzip, 1);
    assert_true(h->scl_slope == 2.0 && h->scl_inter == 10.0);
    assert_int_equal(radi_nifti_has_scaling(img), 1);
    float f[24];
    double d[24];
    assert_int_equal(radi_nifti_read(img, 1, RADI_FLOAT32, f, sizeof f), RADI_OK);
    check_pattern(h, f, RADI_FLOAT32, 2.0, 10.0);
    assert_int_equal(radi_nifti_read(img, 1, RADI_FLOAT64, d, sizeof d), RADI_OK);
    check_pattern(h, d, RADI_FLOAT64, 2.0, 10.0);
    assert_int_equal(radi_nifti_read(img, 1, RADI_INT16, d, sizeof d), RADI_E_INVALID);
    radi_nifti_close(img);

    assert_int_equal(radi_nifti_open(DATA "u8_3d.nii", &img), RADI_OK);
    h = radi_nifti_get_header(img);
    assert_string_equal(h->descrip, "radi fixture");
    assert_int_equal(h->sform_code, 1);
    assert_int_equal(h->qform_code, 1);
    assert_int_equal(h->affine_source, RADI_NIFTI_AFFINE_SFORM);
    radi_nifti_close(img);

    assert_int_equal(radi_nifti_open(DATA "n2_i32_sform.nii", &img), RADI_OK);
    assert_int_equal(radi_nifti_get_header(img)->version, 2);
    assert_int_equal(radi_nifti_get_header(img)->sform_code, 2);
    radi_nifti_close(img);

    assert_int_equal(radi_nifti_open(DATA "u16_qform.nii", &img), RADI_OK);
    assert_int_equal(radi_nifti_get_header(img)->affine_source, RADI_NIFTI_AFFINE_QFORM);
    radi_nifti_close(img);
    assert_int_equal(radi_nifti_open(DATA "f64_nocode.nii", &img), RADI_OK);
    assert_int_equal(radi_nifti_get_header(img)->affine_source, RADI_NIFTI_AFFINE_FALLBACK);
    radi_nifti_close(img);
}

/* Writes every dtype, 3-D and 4-D, .nii and .nii.gz, and reads it back exactly. */
static void test_round_trip(void **state)
{
    (void)state;
    char dir[] = "/tmp/radi_nifti_XXXXXX";
    assert_non_null(mkdtemp(dir));
    static const radi_datatype types[] = {RADI_UINT8, RADI_INT8, RADI_INT16, RADI_UINT16, RADI_INT32,
                                          RADI_UINT32, RADI_INT64, RADI_UINT64, RADI_FLOAT32, RADI_FLOAT64};
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++)
        for (int nd = 3; nd <= 4; nd++)
            for (int gz = 0; gz < 2; gz++) {
                radi_nifti_header h;
                radi_nifti_header_init(&h);
                h.datatype = types[ti];
                h.ndim = (uint32_t)nd;
                h.shape[0] = 5, h.shape[1] = 4, h.shape[2] = 3, h.shape[3] = nd == 4 ? 2 : 1;
                double aff[16] = {0, -2, 0, 10.5, 1.25, 0, 0, -3, 0, 0, 3, 7, 0, 0, 0, 1};
                memcpy(h.affine, aff, sizeof aff);
                h.scl_slope = 0.5;
                h.scl_inter = -1;
                h.pixdim[4] = 2.5;
                snprintf(h.descrip, sizeof h.descrip, "round trip");
                size_t es = radi_datatype_size(types[ti]);
                uint64_t n = 5 * 4 * 3 * (uint64_t)(nd == 4 ? 2 : 1);
                uint8_t *data = malloc(n * es), *back = malloc(n * es);
                for (uint64_t i = 0; i < n * es; i++) data[i] = (uint8_t)(i * 37 + ti);
                if (types[ti] == RADI_FLOAT32 || types[ti] == RADI_FLOAT64)
                    for (uint64_t i = 0; i < n; i++) {
                        if (types[ti] == RADI_FLOAT32) ((float *)data)[i] = (float)i * 0.25f - 3;
                        else ((double *)data)[i] = (double)i * 0.1 - 3;
                    }
                char path[256];
                snprintf(path, sizeof path, "%s/v%zu_%d.nii%s", dir, ti, nd, gz ? ".gz" : "");
                if (radi_nifti_write(path, &h, data) != RADI_OK) fail_msg("%s", radi_errmsg());
                radi_nifti *img = NULL;
                if (radi_nifti_open(path, &img) != RADI_OK) fail_msg("%s", radi_errmsg());
                const radi_nifti_header *r = radi_nifti_get_header(img);
                assert_int_equal(r->datatype, types[ti]);
                assert_int_equal(r->ndim, (uint32_t)nd);
                assert_int_equal(r->gzip, gz);
                for (int i = 0; i < 4; i++) assert_int_equal(r->shape[i], h.shape[i]);
                for (int i = 0; i < 16; i++) assert_true(r->affine[i] == aff[i]);
                assert_string_equal(r->axcodes, "ALS");
                assert_true(r->scl_slope == 0.5 && r->scl_inter == -1);
                assert_true(r->pixdim[4] == 2.5);
                assert_true(r->pixdim[1] == 1.25 && r->pixdim[2] == 2 && r->pixdim[3] == 3);
                assert_string_equal(r->descrip, "round trip");
                assert_int_equal(radi_nifti_read(img, 0, RADI_ANY, back, n * es), RADI_OK);
                assert_memory_equal(data, back, n * es);
                /* the qform alone gives the same geometry (a rigid affine) */
                radi_nifti_close(img);
                free(data);
                free(back);
                unlink(path);
            }
    rmdir(dir);
}

static void test_reverse_axes(void **state)
{
    (void)state;
    uint64_t shapes[][4] = {{7, 5, 3, 0}, {1, 9, 4, 0}, {40, 33, 2, 3}, {3, 1, 1, 0}, {2, 37, 1, 35}};
    for (size_t si = 0; si < 5; si++) {
        uint32_t n = shapes[si][3] ? 4 : 3;
        uint64_t total = 1;
        for (uint32_t k = 0; k < n; k++) total *= shapes[si][k];
        for (size_t es = 1; es <= 8; es *= 2) {
            uint8_t *in = malloc(total * es), *out = malloc(total * es);
            for (uint64_t i = 0; i < total * es; i++) in[i] = (uint8_t)(i * 131 + 7);
            rdi_reverse_axes(in, out, n, shapes[si], es);
            /* naive check */
            uint64_t d[4] = {shapes[si][0], shapes[si][1], shapes[si][2], n == 4 ? shapes[si][3] : 1};
            for (uint64_t a = 0; a < d[0]; a++)
                for (uint64_t b = 0; b < d[1]; b++)
                    for (uint64_t c = 0; c < d[2]; c++)
                        for (uint64_t e = 0; e < d[3]; e++) {
                            uint64_t ii = ((a * d[1] + b) * d[2] + c) * d[3] + e;
                            uint64_t oi = n == 4 ? ((e * d[2] + c) * d[1] + b) * d[0] + a
                                                 : (c * d[1] + b) * d[0] + a;
                            assert_memory_equal(in + ii * es, out + oi * es, es);
                        }
            free(in);
            free(out);
        }
    }
}

/* ---- bad input ---- */

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static void expect_mem_error(const uint8_t *p, size_t len, radi_status want, const char *needle)
{
    radi_nifti *img = NULL;
    radi_status s = radi_nifti_open_memory(p, len, "bad.nii", &img);
    if (s == RADI_OK) {
        /* some damage only shows when the voxels are read */
        uint64_t n = radi_nifti_voxel_count(img) * 8;
        void *buf = malloc(n);
        s = radi_nifti_read(img, 0, RADI_ANY, buf, n);
        free(buf);
        radi_nifti_close(img);
    }
    if (s != want) fail_msg("wanted %s, got %s: %s", radi_status_name(want), radi_status_name(s), radi_errmsg());
    assert_non_null(strstr(radi_errmsg(), "bad.nii"));
    if (!strstr(radi_errmsg(), needle)) fail_msg("message \"%s\" lacks \"%s\"", radi_errmsg(), needle);
}

static void put16(uint8_t *p, size_t off, int v)
{
    int16_t s = (int16_t)v;
    memcpy(p + off, &s, 2);
}

static void test_bad_input(void **state)
{
    (void)state;
    radi_nifti *img = NULL;
    assert_int_equal(radi_nifti_open(DATA "no_such_file.nii", &img), RADI_E_NOT_FOUND);
    assert_non_null(strstr(radi_errmsg(), "no_such_file.nii"));
    assert_null(img);

    size_t len;
    uint8_t *orig = slurp(DATA "u8_3d.nii", &len);
    uint8_t *p = malloc(len);

#define FRESH() memcpy(p, orig, len)
    FRESH();
    expect_mem_error(p, 200, RADI_E_CORRUPT, "truncated");
    expect_mem_error(p, len - 1, RADI_E_CORRUPT, "truncated");
    expect_mem_error(p, 2, RADI_E_CORRUPT, "truncated");
    FRESH();
    memcpy(p + 344, "xyz", 4);
    expect_mem_error(p, len, RADI_E_CORRUPT, "magic");
    FRESH();
    memcpy(p + 344, "ni1", 4);
    expect_mem_error(p, len, RADI_E_CORRUPT, "pair");
    FRESH();
    rdi_st32(p, 123);
    expect_mem_error(p, len, RADI_E_CORRUPT, "sizeof_hdr");
    FRESH();
    put16(p, 42, -4);
    expect_mem_error(p, len, RADI_E_CORRUPT, "negative");
    FRESH();
    put16(p, 44, 0);
    expect_mem_error(p, len, RADI_E_CORRUPT, "dim[2] = 0");
    FRESH();
    put16(p, 40, 9);
    expect_mem_error(p, len, RADI_E_CORRUPT, "dim[0]");
    FRESH();
    put16(p, 40, 7);
    for (int i = 1; i <= 7; i++) put16(p, 40 + 2 * i, 32767);
    expect_mem_error(p, len, RADI_E_CORRUPT, "overflow");
    FRESH();
    put16(p, 40, 5);
    put16(p, 48, 1);
    put16(p, 50, 2);
    expect_mem_error(p, len, RADI_E_UNSUPPORTED, "5-D");
    FRESH();
    put16(p, 40, 6); /* trailing 1s are tolerated */
    put16(p, 48, 1);
    put16(p, 50, 1);
    put16(p, 52, 1);
    assert_int_equal(radi_nifti_open_memory(p, len, "ok.nii", &img), RADI_OK);
    assert_int_equal(radi_nifti_get_header(img)->ndim, 4);
    radi_nifti_close(img);
    FRESH();
    for (int i = 1; i <= 3; i++) put16(p, 40 + 2 * i, 32767);
    expect_mem_error(p, len, RADI_E_CORRUPT, "truncated");
    FRESH();
    put16(p, 70, 128);
    expect_mem_error(p, len, RADI_E_UNSUPPORTED, "RGB24");
    FRESH();
    put16(p, 70, 77);
    expect_mem_error(p, len, RADI_E_UNSUPPORTED, "datatype 77");
    FRESH();
    float bad = 100.0f;
    memcpy(p + 108, &bad, 4);
    expect_mem_error(p, len, RADI_E_CORRUPT, "vox_offset");
    bad = NAN;
    memcpy(p + 108, &bad, 4);
    expect_mem_error(p, len, RADI_E_CORRUPT, "vox_offset");
    bad = -4;
    memcpy(p + 108, &bad, 4);
    expect_mem_error(p, len, RADI_E_CORRUPT, "vox_offset");
    FRESH();
    bad = 1e9f;
    memcpy(p + 108, &bad, 4);
    expect_mem_error(p, len, RADI_E_CORRUPT, "truncated");
    free(orig);

    /* gzip: corrupt, truncated, and a tiny file that claims huge dims */
    orig = slurp(DATA "i16_scaled.nii.gz", &len);
    p = realloc(p, len);
    FRESH();
    for (size_t i = 20; i < 40 && i < len; i++) p[i] ^= 0x5a;
    expect_mem_error(p, len, RADI_E_CORRUPT, "gzip");
    FRESH();
    expect_mem_error(p, len - 12, RADI_E_CORRUPT, "");
    expect_mem_error(p, 30, RADI_E_CORRUPT, "");
    free(orig);

    rdi_buf gz = RDI_BUF_INIT;
    uint8_t head[352];
    radi_nifti_header h;
    radi_nifti_header_init(&h);
    h.shape[0] = h.shape[1] = h.shape[2] = 30000;
    assert_int_equal(rdi_nifti_encode_header(&h, head), RADI_OK);
    assert_int_equal(rdi_gz_compress(head, sizeof head, 6, &gz, "bomb"), RADI_OK);
    expect_mem_error(gz.data, gz.len, RADI_E_CORRUPT, "gzip bytes can hold");
    rdi_buf_free(&gz);

    /* NIfTI-2 truncated header */
    orig = slurp(DATA "n2_i32_sform.nii", &len);
    expect_mem_error(orig, 400, RADI_E_CORRUPT, "truncated");
    free(orig);
    free(p);
#undef FRESH
}

/* Bytes after the voxels inside the same gzip member: libdeflate runs out of space and
 * zlib streaming takes over, stopping once the voxels are out. */
static void test_gzip_trailing_data(void **state)
{
    (void)state;
    size_t len;
    uint8_t *raw = slurp(DATA "u8_3d.nii", &len);
    raw = realloc(raw, len + 5000);
    for (size_t i = 0; i < 5000; i++) raw[len + i] = (uint8_t)(i * 7);
    rdi_buf gz = RDI_BUF_INIT;
    assert_int_equal(rdi_gz_compress(raw, len + 5000, 6, &gz, "trail"), RADI_OK);
    radi_nifti *img = NULL;
    assert_int_equal(radi_nifti_open_memory(gz.data, gz.len, "trail.nii.gz", &img), RADI_OK);
    uint8_t buf[24];
    assert_int_equal(radi_nifti_read(img, 0, RADI_ANY, buf, sizeof buf), RADI_OK);
    check_pattern(radi_nifti_get_header(img), buf, RADI_UINT8, 1.0, 0.0);
    radi_nifti_close(img);
    /* a lying ISIZE trailer is corrupt data, never an over-read */
    gz.data[gz.len - 1] ^= 0x40;
    assert_int_equal(radi_nifti_open_memory(gz.data, gz.len, "isize.nii.gz", &img), RADI_OK);
    radi_status s = radi_nifti_read(img, 0, RADI_ANY, buf, sizeof buf);
    assert_true(s == RADI_OK || s == RADI_E_CORRUPT); /* zlib may stop before the trailer */
    radi_nifti_close(img);
    rdi_buf_free(&gz);
    free(raw);
}

/* A degenerate axis (zero column) gets '?', as nibabel's None; geometry never fails. */
static void test_degenerate_affine(void **state)
{
    (void)state;
    radi_nifti_header h;
    radi_nifti_header_init(&h);
    double aff[16] = {0, 0, 2, 0, 0, 0, 0, 0, -3, 0, 0, 0, 0, 0, 0, 1};
    memcpy(h.affine, aff, sizeof aff);
    uint8_t head[352];
    assert_int_equal(rdi_nifti_encode_header(&h, head), RADI_OK);
    radi_nifti_header r;
    assert_int_equal(rdi_nifti_parse_header(head, sizeof head, 1, "degenerate", &r), RADI_OK);
    assert_string_equal(r.axcodes, "I?R");
    h.affine[0] = NAN;
    assert_int_equal(rdi_nifti_encode_header(&h, head), RADI_E_INVALID);
}

static void test_write_errors(void **state)
{
    (void)state;
    radi_nifti_header h;
    radi_nifti_header_init(&h);
    uint8_t v = 0;
    h.datatype = RADI_STRING_UTF8;
    assert_int_equal(radi_nifti_write("/tmp/radi_never.nii", &h, &v), RADI_E_UNSUPPORTED);
    assert_non_null(strstr(radi_errmsg(), "/tmp/radi_never.nii"));
    radi_nifti_header_init(&h);
    h.shape[0] = 40000;
    assert_int_equal(radi_nifti_write("/tmp/radi_never.nii", &h, &v), RADI_E_INVALID);
    assert_int_equal(access("/tmp/radi_never.nii", F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),     cmocka_unit_test(test_header_fields),
        cmocka_unit_test(test_round_trip),   cmocka_unit_test(test_reverse_axes),
        cmocka_unit_test(test_bad_input),    cmocka_unit_test(test_write_errors),
        cmocka_unit_test(test_gzip_trailing_data), cmocka_unit_test(test_degenerate_affine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
