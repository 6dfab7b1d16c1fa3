/* DICOM voxels: rdi_dcm_read_volume over hand-built files with real bodies: native
 * little and big endian, an RLE fragment (through part10.c's fragment access and the RLE
 * decoder), on one thread and on a pool. Needs the parser and codec objects. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/pool.h"
#include "io/dicom/series.h"

static const double AXIAL[6] = {1, 0, 0, 0, 1, 0};

/* A 2x2 slice at z with its samples at body[offset..]. */
static void slice(rdi_dcm_info *f, rdi_dcm_frame *fr, double z, uint16_t bits, rdi_dcm_ts ts)
{
    memset(f, 0, sizeof *f);
    memset(fr, 0, sizeof *fr);
    f->ts = ts;
    strcpy(f->ts_uid, "1.2.840.10008.1.2.1");
    strcpy(f->photometric, "MONOCHROME2");
    strcpy(f->series_uid, "1.2.3");
    f->rows = f->cols = 2;
    f->samples_per_pixel = 1;
    f->nframes = 1;
    f->bits_allocated = f->bits_stored = bits;
    f->has_pixels = 1;
    f->slice_thickness = f->spacing_between_slices = NAN;
    f->frames = fr;
    fr->ipp[2] = z;
    memcpy(fr->iop, AXIAL, sizeof fr->iop);
    fr->slope = 1;
    fr->has_ipp = fr->has_iop = 1;
    fr->temporal_position = fr->acquisition_number = fr->instance_number = -1;
    fr->length = 4 * (bits / 8u);
}

/* rdi_dcm_read_volume's done callback: counts the calls per file (index < 3). */
static void count_done(void *arg, uint32_t file)
{
    int *n = arg;
    if (file < 3) __atomic_fetch_add(&n[file], 1, __ATOMIC_SEQ_CST);
}

static void test_native_and_big_endian(void **state)
{
    (void)state;
    /* Slice z=0 little endian, z=3 big endian (a series mixing syntaxes), given reversed. */
    static const uint8_t le[8] = {1, 0, 2, 0, 3, 0, 0x00, 0x01};
    static const uint8_t be[8] = {0, 5, 0, 6, 0, 7, 0x01, 0x00};
    rdi_dcm_info f[2];
    rdi_dcm_frame fr[2];
    slice(&f[0], &fr[0], 3, 16, RDI_TS_EXPLICIT_BE);
    f[0].body = be, f[0].body_len = sizeof be;
    slice(&f[1], &fr[1], 0, 16, RDI_TS_EXPLICIT_LE);
    f[1].body = le, f[1].body_len = sizeof le;
    const rdi_dcm_info *files[2] = {&f[0], &f[1]};
    const char *names[2] = {"be.dcm", "le.dcm"};
    uint32_t idx[2] = {0, 1};
    rdi_dcm_series s = {.files = idx, .nfiles = 2};
    rdi_dcm_volume v;
    assert_int_equal(rdi_dcm_assemble(files, names, &s, NULL, &v), RADI_OK);
    assert_int_equal(v.dtype, RADI_UINT16);
    uint16_t out[8];
    const uint16_t want[8] = {1, 2, 3, 256, 5, 6, 7, 256};
    assert_int_equal(rdi_dcm_read_volume(files, names, &v, NULL, out, sizeof out, NULL, NULL), RADI_OK);
    assert_memory_equal(out, want, sizeof want);
    rdi_pool *pool = NULL;
    assert_int_equal(rdi_pool_create(2, &pool), RADI_OK);
    memset(out, 0, sizeof out);
    assert_int_equal(rdi_dcm_read_volume(files, names, &v, pool, out, sizeof out, NULL, NULL), RADI_OK);
    assert_memory_equal(out, want, sizeof want);
    /* Each file is reported done once, after its frames are in. */
    int done[3] = {0, 0, 0};
    memset(out, 0, sizeof out);
    assert_int_equal(rdi_dcm_read_volume(files, names, &v, pool, out, sizeof out, count_done, done), RADI_OK);
    assert_memory_equal(out, want, sizeof want);
    assert_int_equal(done[0], 1);
    assert_int_equal(done[1], 1);
    assert_int_equal(done[2], 0);
    rdi_pool_free(pool);
    assert_int_equal(rdi_dcm_read_volume(files, names, &v, NULL, out, sizeof out - 1, NULL, NULL), RADI_E_INVALID);
    /* A frame past the end of its file is named. */
    fr[1].offset = 4;
    assert_int_equal(rdi_dcm_read_volume(files, names, &v, NULL, out, sizeof out, NULL, NULL), RADI_E_CORRUPT);
    assert_non_null(strstr(radi_errmsg(), "le.dcm frame 0"));
    rdi_dcm_volume_free(&v);
}

static void test_rle_fragment(void **state)
{
    (void)state;
    /* RLE Lossless (PS3.5 Annex G): a 64-byte header (one segment at offset 64), then a
     * literal run of 4 bytes. */
    uint8_t body[69] = {0};
    body[0] = 1;
    body[4] = 64;
    const uint8_t seg[5] = {3, 10, 20, 30, 40};
    memcpy(body + 64, seg, sizeof seg);
    rdi_dcm_info f;
    rdi_dcm_frame fr;
    slice(&f, &fr, 0, 8, RDI_TS_RLE);
    rdi_dcm_range frag = {0, sizeof body};
    f.encapsulated = 1;
    f.body = body, f.body_len = sizeof body;
    f.frags = &frag, f.nfrags = 1;
    /* A one-fragment frame's offset/length are the fragment's (dicom.h). */
    fr.first_frag = 0, fr.nfrags = 1, fr.offset = 0, fr.length = sizeof body;
    const rdi_dcm_info *files[1] = {&f};
    uint32_t idx[1] = {0};
    rdi_dcm_series s = {.files = idx, .nfiles = 1};
    rdi_dcm_volume v;
    assert_int_equal(rdi_dcm_assemble(files, NULL, &s, NULL, &v), RADI_OK);
    assert_int_equal(v.dtype, RADI_UINT8);
    uint8_t out[4];
    radi_status st = rdi_dcm_read_volume(files, NULL, &v, NULL, out, sizeof out, NULL, NULL);
    if (st != RADI_OK) fail_msg("%s", radi_errmsg());
    assert_memory_equal(out, seg + 1, 4);
    rdi_dcm_volume_free(&v);
}

/* Frame ranges taken while reading (vol.frame_range) are each frame's, signed samples in
 * offset binary, and rdi_dcm_narrow_int16 decides from them as from its own pass: a frame
 * out of int16 after the rescale keeps the volume raw. */
static void test_frame_ranges(void **state)
{
    (void)state;
    static const uint8_t a[8] = {0x10, 0, 0x20, 0, 0x05, 0, 0x30, 0};         /* 16, 32, 5, 48 */
    static const uint8_t b[8] = {0xff, 0xff, 0x02, 0x00, 0x00, 0x80, 0, 0};  /* -1, 2, -32768, 0 */
    rdi_dcm_info f[2];
    rdi_dcm_frame fr[2];
    slice(&f[0], &fr[0], 0, 16, RDI_TS_EXPLICIT_LE);
    f[0].body = a, f[0].body_len = sizeof a;
    slice(&f[1], &fr[1], 1, 16, RDI_TS_EXPLICIT_LE);
    f[1].body = b, f[1].body_len = sizeof b;
    for (int k = 0; k < 2; k++) f[k].pixel_representation = 1, fr[k].slope = 1, fr[k].intercept = -1024;
    const rdi_dcm_info *files[2] = {&f[0], &f[1]};
    uint32_t idx[2] = {0, 1};
    rdi_dcm_series s = {.files = idx, .nfiles = 2};
    rdi_dcm_volume v;
    assert_int_equal(rdi_dcm_assemble(files, NULL, &s, NULL, &v), RADI_OK);
    assert_int_equal(v.values, RDI_DCM_VALUES_RAW);
    v.frame_range = calloc(2 * v.nrefs, sizeof *v.frame_range);
    assert_non_null(v.frame_range);
    int16_t out[8];
    rdi_pool *pool = NULL;
    assert_int_equal(rdi_pool_create(2, &pool), RADI_OK);
    assert_int_equal(rdi_dcm_read_volume(files, NULL, &v, pool, out, sizeof out, NULL, NULL), RADI_OK);
    assert_int_equal(v.frame_range[0], 5 ^ 0x8000);
    assert_int_equal(v.frame_range[1], 48 ^ 0x8000);
    assert_int_equal(v.frame_range[2], 0);               /* -32768 */
    assert_int_equal(v.frame_range[3], 2 ^ 0x8000);
    /* -32768 - 1024 does not fit int16: raw, untouched. */
    assert_int_equal(rdi_dcm_narrow_int16(&v, out, pool), 0);
    assert_int_equal(out[6], -32768);
    /* Once the second frame's minimum is -1 it fits: converted, every frame. */
    v.frame_range[2] = (uint16_t)(-1 ^ 0x8000);
    out[6] = -1;
    assert_int_equal(rdi_dcm_narrow_int16(&v, out, pool), 1);
    assert_int_equal(v.dtype, RADI_INT16);
    assert_int_equal(out[0], 16 - 1024);
    assert_int_equal(out[4], -1 - 1024);
    assert_int_equal(out[6], -1 - 1024);
    rdi_pool_free(pool);
    rdi_dcm_volume_free(&v);
    assert_null(v.frame_range);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_native_and_big_endian),
        cmocka_unit_test(test_frame_ranges),
        cmocka_unit_test(test_rle_fragment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
