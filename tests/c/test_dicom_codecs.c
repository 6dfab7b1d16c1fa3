/*
 * io layer: the DICOM pixel decoders (src/io/dicom/decode.h). RLE and JPEG Lossless
 * against the encoders in dicom_codec_fixture.h (every predictor, precisions 2-16, point
 * transforms, restart intervals, DNL, both table shapes); JPEG 2000 and JPEG-LS against
 * OpenJPEG's and CharLS's own encoders. Every stream is also cut at every byte (or, for
 * the library codecs, at many bytes) and must then fail cleanly, never crash (the ASan
 * build runs this too). Real DICOM files: tests/python/test_dicom_codecs.py.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <charls/charls.h>
#include <openjpeg.h>

#include "core/core.h"
#include "dicom_codec_fixture.h"
#include "io/dicom/decode.h"

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* A smooth image with noise, flat runs and the extreme values, in [0, 2^bits). */
static void make_image(uint16_t *img, uint32_t rows, uint32_t cols, unsigned bits)
{
    uint32_t max = (1u << bits) - 1;
    for (uint32_t y = 0; y < rows; y++)
        for (uint32_t x = 0; x < cols; x++) {
            uint32_t v;
            if (y % 7 == 3) v = (x & 8) ? max : 0;          /* edges: the largest differences */
            else if (y % 5 == 1) v = max / 2;               /* a flat row: runs */
            else v = (x * 37 + y * 11 + (rnd() % 9)) & max; /* texture */
            img[y * cols + x] = (uint16_t)v;
        }
}

/* What a decoder must produce for raw stored values: the low bits_stored bits, sign-
 * extended for signed data. */
static int32_t stored_value(uint32_t raw, unsigned bits_stored, int sgnd)
{
    if (!sgnd || bits_stored >= 32) return (int32_t)raw;
    uint32_t m = 1u << (bits_stored - 1);
    raw &= (m << 1) - 1;
    return (int32_t)(raw ^ m) - (int32_t)m;
}

static int32_t out_value(const void *out, size_t i, unsigned ba, int sgnd)
{
    if (ba == 8) return sgnd ? ((const int8_t *)out)[i] : ((const uint8_t *)out)[i];
    return sgnd ? ((const int16_t *)out)[i] : ((const uint16_t *)out)[i];
}

/* Every strict prefix of src must fail without touching memory past it (each prefix is
 * copied to an exact-size heap block, so ASan sees any overread). */
static void check_truncations(rdi_dcm_ts ts, const uint8_t *src, size_t n, const rdi_dcm_frame_fmt *fmt,
                              size_t step)
{
    size_t out_len = (size_t)fmt->rows * fmt->cols * (fmt->bits_allocated / 8u);
    void *out = malloc(out_len);
    assert_non_null(out);
    for (size_t k = 0; k < n; k += step) {
        uint8_t *cut = malloc(k ? k : 1);
        assert_non_null(cut);
        memcpy(cut, src, k);
        radi_status st = rdi_dcm_decode(ts, cut, k, fmt, out, out_len, "cut.dcm");
        if (st == RADI_OK) fail_msg("%s: a stream cut to %zu of %zu bytes decoded", rdi_dcm_ts_name(ts), k, n);
        assert_non_null(strstr(radi_errmsg(), "cut.dcm"));
        free(cut);
    }
    free(out);
}

/* Random byte changes: any status, no crash. */
static void check_mutations(rdi_dcm_ts ts, const uint8_t *src, size_t n, const rdi_dcm_frame_fmt *fmt, int tries)
{
    size_t out_len = (size_t)fmt->rows * fmt->cols * (fmt->bits_allocated / 8u);
    void *out = malloc(out_len);
    uint8_t *m = malloc(n);
    assert_non_null(out);
    assert_non_null(m);
    for (int t = 0; t < tries; t++) {
        memcpy(m, src, n);
        for (int k = 0; k < 1 + t % 4; k++) m[rnd() % n] = (uint8_t)rnd();
        (void)rdi_dcm_decode(ts, m, n, fmt, out, out_len, "mutated.dcm");
    }
    free(m);
    free(out);
}

/* ------------------------------------------------------------------ RLE -- */

static void rle_case(uint32_t rows, uint32_t cols, unsigned ba, unsigned bs, int sgnd)
{
    size_t ns = (size_t)rows * cols;
    uint16_t *img = malloc(ns * 2);
    void *raw = malloc(ns * 2), *out = malloc(ns * 2);
    assert_non_null(img);
    make_image(img, rows, cols, ba == 8 ? 8 : 16);
    for (size_t i = 0; i < ns; i++) {
        if (ba == 8) ((uint8_t *)raw)[i] = (uint8_t)img[i];
        else ((uint16_t *)raw)[i] = img[i];
    }
    rdi_buf enc = RDI_BUF_INIT;
    fx_rle_encode(&enc, raw, ns, ba / 8);
    rdi_dcm_frame_fmt fmt = {rows, cols, (uint16_t)ba, (uint16_t)bs, (uint16_t)sgnd};
    assert_int_equal(rdi_dcm_decode(RDI_TS_RLE, enc.data, enc.len, &fmt, out, ns * (ba / 8), "t.dcm"), RADI_OK);
    for (size_t i = 0; i < ns; i++)
        assert_int_equal(out_value(out, i, ba, sgnd), stored_value(img[i] & ((1u << ba) - 1), bs, sgnd));
    check_truncations(RDI_TS_RLE, enc.data, enc.len, &fmt, 1);
    check_mutations(RDI_TS_RLE, enc.data, enc.len, &fmt, 300);
    rdi_buf_free(&enc);
    free(img);
    free(raw);
    free(out);
}

static void test_rle_round_trips(void **state)
{
    (void)state;
    rle_case(17, 23, 8, 8, 0);
    rle_case(17, 23, 8, 7, 1);
    rle_case(40, 33, 16, 16, 0);
    rle_case(40, 33, 16, 12, 1); /* 12-bit signed with garbage above bit 11: sign-extended */
    rle_case(1, 300, 16, 16, 1); /* runs longer than 128 */
}

static void test_rle_bad_headers(void **state)
{
    (void)state;
    uint8_t f[80] = {0};
    uint16_t out[4];
    rdi_dcm_frame_fmt fmt = {2, 2, 16, 16, 0};
    rdi_st32(f, 3); /* 3 segments for 16-bit data */
    assert_int_equal(rdi_dcm_decode_rle(f, sizeof f, &fmt, out, sizeof out, "h.dcm"), RADI_E_UNSUPPORTED);
    assert_non_null(strstr(radi_errmsg(), "h.dcm"));
    rdi_st32(f, 2);
    rdi_st32(f + 4, 64);
    rdi_st32(f + 8, 200); /* past the end */
    assert_int_equal(rdi_dcm_decode_rle(f, sizeof f, &fmt, out, sizeof out, "h.dcm"), RADI_E_CORRUPT);
    rdi_st32(f + 4, 70);
    rdi_st32(f + 8, 66); /* decreasing */
    assert_int_equal(rdi_dcm_decode_rle(f, sizeof f, &fmt, out, sizeof out, "h.dcm"), RADI_E_CORRUPT);
    rdi_st32(f + 4, 12); /* inside the header */
    assert_int_equal(rdi_dcm_decode_rle(f, sizeof f, &fmt, out, sizeof out, "h.dcm"), RADI_E_CORRUPT);
    /* A valid frame with trailing padding decodes; a wrong output size is the caller's error. */
    rdi_st32(f + 4, 64);
    rdi_st32(f + 8, 70);
    const uint8_t seg[] = {0xFD, 0x01, 0x00, 0x80, 0x00, 0x00, 0x03, 1, 2, 3, 4, 0x00};
    memcpy(f + 64, seg, 6);
    memcpy(f + 70, seg + 6, 6);
    assert_int_equal(rdi_dcm_decode_rle(f, 76, &fmt, out, sizeof out, "h.dcm"), RADI_OK);
    assert_int_equal(out[0], 0x0101);
    assert_int_equal(out[3], 0x0104);
    assert_int_equal(rdi_dcm_decode_rle(f, 76, &fmt, out, 6, "h.dcm"), RADI_E_INVALID);
}

/* --------------------------------------------------------- JPEG Lossless -- */

static void jpegll_case(uint32_t rows, uint32_t cols, unsigned ba, unsigned bs, int sgnd, fx_jpegll c)
{
    size_t ns = (size_t)rows * cols;
    uint16_t *img = malloc(ns * 2);
    void *out = malloc(ns * 2);
    assert_non_null(img);
    make_image(img, rows, cols, c.prec);
    rdi_buf enc = RDI_BUF_INIT;
    fx_jpegll_encode(&enc, img, rows, cols, &c);
    rdi_dcm_frame_fmt fmt = {rows, cols, (uint16_t)ba, (uint16_t)bs, (uint16_t)sgnd};
    radi_status st = rdi_dcm_decode(RDI_TS_JPEG_LOSSLESS, enc.data, enc.len, &fmt, out, ns * (ba / 8), "t.dcm");
    if (st != RADI_OK)
        fail_msg("P%u pred %u pt %u table %u restart %u dnl %d: %s", c.prec, c.pred, c.pt, c.table, c.restart_rows,
                 c.dnl, radi_errmsg());
    for (size_t i = 0; i < ns; i++) {
        int32_t want = stored_value((uint32_t)(img[i] >> c.pt << c.pt), bs, sgnd);
        if (out_value(out, i, ba, sgnd) != want)
            fail_msg("P%u pred %u pt %u: sample %zu is %d, expected %d", c.prec, c.pred, c.pt, i,
                     out_value(out, i, ba, sgnd), want);
    }
    rdi_buf_free(&enc);
    free(img);
    free(out);
}

static void test_jpegll_predictors_and_precisions(void **state)
{
    (void)state;
    static const unsigned precs[] = {2, 5, 8, 12, 15, 16};
    for (unsigned pred = 1; pred <= 7; pred++)
        for (size_t p = 0; p < sizeof precs / sizeof precs[0]; p++) {
            unsigned P = precs[p], ba = P <= 8 ? 8 : 16;
            fx_jpegll c = {P, pred, 0, FX_TABLE_SHORT, 0, 0, 0};
            jpegll_case(23, 31, ba, P, 0, c);
            c.table = FX_TABLE_SKEWED;
            c.slot = 2;
            jpegll_case(9, 40, 16, P, 1, c); /* signed, in 16 bits even when P <= 8 */
            if (P > 2) {
                c.pt = P / 3; /* the point transform */
                jpegll_case(12, 17, ba, P, 0, c);
            }
        }
}

static void test_jpegll_restart_and_dnl(void **state)
{
    (void)state;
    for (unsigned pred = 1; pred <= 7; pred++) {
        fx_jpegll c = {16, pred, 0, FX_TABLE_SHORT, 0, 3, 0};
        jpegll_case(40, 19, 16, 16, 0, c); /* 14 intervals: RST0..RST7 wrap */
        c.restart_rows = 1;
        jpegll_case(12, 5, 16, 16, 1, c);
        c.restart_rows = 0;
        c.dnl = 1;
        jpegll_case(10, 10, 16, 12, 0, c);
    }
}

/* One 16-bit image whose neighbouring samples differ by exactly 32768: category 16. */
static void test_jpegll_ssss16(void **state)
{
    (void)state;
    uint16_t img[4 * 6];
    for (int i = 0; i < 24; i++) img[i] = (uint16_t)((i & 1) ? 32768 + i : i);
    fx_jpegll c = {16, 1, 0, FX_TABLE_SHORT, 0, 0, 0};
    rdi_buf enc = RDI_BUF_INIT;
    fx_jpegll_encode(&enc, img, 4, 6, &c);
    uint16_t out[24];
    rdi_dcm_frame_fmt fmt = {4, 6, 16, 16, 0};
    assert_int_equal(rdi_dcm_decode_jpegll(enc.data, enc.len, &fmt, out, sizeof out, "t.dcm"), RADI_OK);
    assert_memory_equal(out, img, sizeof out);
    rdi_buf_free(&enc);
}

static void test_jpegll_truncation_and_mutation(void **state)
{
    (void)state;
    uint16_t img[24 * 20];
    make_image(img, 24, 20, 12);
    rdi_dcm_frame_fmt fmt = {24, 20, 16, 12, 0};
    for (int variant = 0; variant < 3; variant++) {
        fx_jpegll c = {12, (unsigned)(1 + variant * 3), 0, (unsigned)(variant & 1), 0, (uint32_t)(variant == 1 ? 5 : 0),
                       variant == 2};
        rdi_buf enc = RDI_BUF_INIT;
        fx_jpegll_encode(&enc, img, 24, 20, &c);
        check_truncations(RDI_TS_JPEG_LOSSLESS, enc.data, enc.len, &fmt, 1);
        check_mutations(RDI_TS_JPEG_LOSSLESS, enc.data, enc.len, &fmt, 2000);
        rdi_buf_free(&enc);
    }
}

/* Builds a stream by hand: SOI, the segments given, EOI. */
static size_t stream(uint8_t *o, const uint8_t *mid, size_t n)
{
    o[0] = 0xFF;
    o[1] = 0xD8;
    memcpy(o + 2, mid, n);
    o[2 + n] = 0xFF;
    o[3 + n] = 0xD9;
    return n + 4;
}

static void test_jpegll_refusals(void **state)
{
    (void)state;
    uint8_t s[128];
    uint16_t out[64];
    rdi_dcm_frame_fmt fmt = {8, 8, 16, 16, 0};
    const uint8_t rgb[] = {0xFF, 0xC3, 0, 17, 8, 0, 8, 0, 8, 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0};
    assert_int_equal(rdi_dcm_decode_jpegll(s, stream(s, rgb, sizeof rgb), &fmt, out, sizeof out, "rgb.dcm"),
                     RADI_E_UNSUPPORTED);
    assert_non_null(strstr(radi_errmsg(), "rgb.dcm"));
    assert_non_null(strstr(radi_errmsg(), "3 components"));
    const uint8_t sof0[] = {0xFF, 0xC0, 0, 11, 8, 0, 8, 0, 8, 1, 1, 0x11, 0};
    assert_int_equal(rdi_dcm_decode_jpegll(s, stream(s, sof0, sizeof sof0), &fmt, out, sizeof out, "b.dcm"),
                     RADI_E_UNSUPPORTED);
    const uint8_t arith[] = {0xFF, 0xCB, 0, 11, 8, 0, 8, 0, 8, 1, 1, 0x11, 0};
    assert_int_equal(rdi_dcm_decode_jpegll(s, stream(s, arith, sizeof arith), &fmt, out, sizeof out, "b.dcm"),
                     RADI_E_UNSUPPORTED);
    const uint8_t size[] = {0xFF, 0xC3, 0, 11, 16, 0, 9, 0, 8, 1, 1, 0x11, 0};
    assert_int_equal(rdi_dcm_decode_jpegll(s, stream(s, size, sizeof size), &fmt, out, sizeof out, "b.dcm"),
                     RADI_E_CORRUPT);
    assert_non_null(strstr(radi_errmsg(), "8 x 9"));
    rdi_dcm_frame_fmt fmt8 = {8, 8, 8, 8, 0};
    const uint8_t wide[] = {0xFF, 0xC3, 0, 11, 12, 0, 8, 0, 8, 1, 1, 0x11, 0};
    assert_int_equal(rdi_dcm_decode_jpegll(s, stream(s, wide, sizeof wide), &fmt8, out, 64, "b.dcm"), RADI_E_CORRUPT);
    /* A scan naming a table that was never defined. */
    const uint8_t notab[] = {0xFF, 0xC3, 0, 11, 16, 0, 8, 0, 8, 1, 1, 0x11, 0, 0xFF, 0xDA, 0, 8, 1, 1, 0x10, 1, 0, 0};
    assert_int_equal(rdi_dcm_decode_jpegll(s, stream(s, notab, sizeof notab), &fmt, out, sizeof out, "b.dcm"),
                     RADI_E_CORRUPT);
    assert_non_null(strstr(radi_errmsg(), "Huffman table 1"));
    /* An over-full DHT (not a prefix code). */
    uint8_t dht[4 + 17 + 5] = {0xFF, 0xC4, 0, 24, 0, 5};
    assert_int_equal(rdi_dcm_decode_jpegll(s, stream(s, dht, sizeof dht), &fmt, out, sizeof out, "b.dcm"),
                     RADI_E_CORRUPT);
    /* Not JPEG at all, a restart interval that is not whole rows, and the dispatcher. */
    assert_int_equal(rdi_dcm_decode_jpegll((const uint8_t *)"hello", 5, &fmt, out, sizeof out, "b.dcm"),
                     RADI_E_CORRUPT);
    uint16_t img[64];
    make_image(img, 8, 8, 16);
    fx_jpegll c = {16, 1, 0, FX_TABLE_SHORT, 0, 1, 0};
    rdi_buf enc = RDI_BUF_INIT;
    fx_jpegll_encode(&enc, img, 8, 8, &c);
    for (size_t i = 0; i + 5 < enc.len; i++)
        if (enc.data[i] == 0xFF && enc.data[i + 1] == 0xDD) enc.data[i + 5] = 12; /* Ri 8 -> 12 */
    assert_int_equal(rdi_dcm_decode_jpegll(enc.data, enc.len, &fmt, out, sizeof out, "b.dcm"), RADI_E_UNSUPPORTED);
    rdi_buf_free(&enc);
    assert_int_equal(rdi_dcm_decode(RDI_TS_JPEG_EXTENDED, s, 4, &fmt, out, sizeof out, "x.dcm"), RADI_E_UNSUPPORTED);
    assert_non_null(strstr(radi_errmsg(), "x.dcm: JPEG Extended"));
    assert_int_equal(rdi_dcm_decode(RDI_TS_OTHER, s, 4, &fmt, out, sizeof out, "x.dcm"), RADI_E_UNSUPPORTED);
    assert_string_equal(rdi_dcm_ts_name(RDI_TS_HTJ2K), "High-Throughput JPEG 2000");
    rdi_dcm_frame_fmt bad = {8, 8, 12, 12, 0};
    assert_int_equal(rdi_dcm_decode(RDI_TS_RLE, s, 4, &bad, out, 96, "x.dcm"), RADI_E_INVALID);
}

/* ------------------------------------------------------------ JPEG 2000 -- */

typedef struct wbuf {
    rdi_buf b;
    size_t pos;
} wbuf;

static OPJ_SIZE_T w_write(void *p, OPJ_SIZE_T n, void *u)
{
    wbuf *w = u;
    if (w->pos + n > w->b.len) rdi_buf_resize(&w->b, w->pos + n);
    memcpy(w->b.data + w->pos, p, n);
    w->pos += n;
    return n;
}
static OPJ_OFF_T w_skip(OPJ_OFF_T n, void *u)
{
    wbuf *w = u;
    if (w->pos + (size_t)n > w->b.len) rdi_buf_resize(&w->b, w->pos + (size_t)n);
    w->pos += (size_t)n;
    return n;
}
static OPJ_BOOL w_seek(OPJ_OFF_T n, void *u)
{
    wbuf *w = u;
    if ((size_t)n > w->b.len) rdi_buf_resize(&w->b, (size_t)n);
    w->pos = (size_t)n;
    return OPJ_TRUE;
}
static void opj_quiet(const char *m, void *u) { (void)m; (void)u; }

/* Encodes ncomp planes of samples (int32) with OpenJPEG; lossless unless rate > 0. */
static void j2k_encode(rdi_buf *out, const int32_t *samples, uint32_t rows, uint32_t cols, unsigned prec, int sgnd,
                       unsigned ncomp, OPJ_CODEC_FORMAT kind, float rate)
{
    opj_cparameters_t p;
    opj_set_default_encoder_parameters(&p);
    p.tcp_numlayers = 1;
    p.tcp_rates[0] = rate;
    p.cp_disto_alloc = 1;
    p.irreversible = rate > 0;
    p.numresolution = 3;
    opj_image_cmptparm_t cp[3];
    memset(cp, 0, sizeof cp);
    for (unsigned k = 0; k < ncomp; k++) {
        cp[k].dx = cp[k].dy = 1;
        cp[k].w = cols;
        cp[k].h = rows;
        cp[k].prec = prec;
        cp[k].sgnd = (OPJ_UINT32)sgnd;
    }
    opj_image_t *img = opj_image_create(ncomp, cp, ncomp == 1 ? OPJ_CLRSPC_GRAY : OPJ_CLRSPC_SRGB);
    assert_non_null(img);
    img->x1 = cols;
    img->y1 = rows;
    for (unsigned k = 0; k < ncomp; k++) memcpy(img->comps[k].data, samples, (size_t)rows * cols * 4);
    opj_codec_t *c = opj_create_compress(kind);
    opj_set_info_handler(c, opj_quiet, NULL);
    opj_set_warning_handler(c, opj_quiet, NULL);
    opj_set_error_handler(c, opj_quiet, NULL);
    assert_true(opj_setup_encoder(c, &p, img));
    wbuf w = {RDI_BUF_INIT, 0};
    opj_stream_t *s = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_FALSE);
    opj_stream_set_user_data(s, &w, NULL);
    opj_stream_set_write_function(s, w_write);
    opj_stream_set_skip_function(s, w_skip);
    opj_stream_set_seek_function(s, w_seek);
    assert_true(opj_start_compress(c, img, s));
    assert_true(opj_encode(c, s));
    assert_true(opj_end_compress(c, s));
    opj_stream_destroy(s);
    opj_destroy_codec(c);
    opj_image_destroy(img);
    *out = w.b;
}

static void j2k_case(unsigned ba, unsigned bs, int sgnd, OPJ_CODEC_FORMAT kind)
{
    const uint32_t rows = 48, cols = 40;
    size_t ns = (size_t)rows * cols;
    uint16_t img[48 * 40];
    int32_t s32[48 * 40];
    make_image(img, rows, cols, bs);
    for (size_t i = 0; i < ns; i++) s32[i] = stored_value(img[i], bs, sgnd);
    rdi_buf enc = RDI_BUF_INIT;
    j2k_encode(&enc, s32, rows, cols, bs, sgnd, 1, kind, 0);
    uint16_t out[48 * 40];
    rdi_dcm_frame_fmt fmt = {rows, cols, (uint16_t)ba, (uint16_t)bs, (uint16_t)sgnd};
    radi_status st = rdi_dcm_decode(RDI_TS_J2K, enc.data, enc.len, &fmt, out, ns * (ba / 8), "t.dcm");
    if (st != RADI_OK) fail_msg("%s", radi_errmsg());
    for (size_t i = 0; i < ns; i++) assert_int_equal(out_value(out, i, ba, sgnd), s32[i]);
    /* The same codestream read as HTJ2K's syntax goes to the same decoder. */
    assert_int_equal(rdi_dcm_decode(RDI_TS_HTJ2K, enc.data, enc.len, &fmt, out, ns * (ba / 8), "t.dcm"), RADI_OK);
    check_truncations(RDI_TS_J2K, enc.data, enc.len, &fmt, 13);
    check_mutations(RDI_TS_J2K, enc.data, enc.len, &fmt, 150);
    /* The wrong frame size is refused before decoding. */
    rdi_dcm_frame_fmt other = {rows / 2, cols, (uint16_t)ba, (uint16_t)bs, (uint16_t)sgnd};
    assert_int_equal(rdi_dcm_decode(RDI_TS_J2K, enc.data, enc.len, &other, out, ns / 2 * (ba / 8), "t.dcm"),
                     RADI_E_CORRUPT);
    rdi_buf_free(&enc);
}

static void test_j2k(void **state)
{
    (void)state;
    j2k_case(8, 8, 0, OPJ_CODEC_J2K);
    j2k_case(16, 12, 0, OPJ_CODEC_J2K);
    j2k_case(16, 13, 1, OPJ_CODEC_JP2);
    j2k_case(16, 16, 1, OPJ_CODEC_J2K);
}

static void test_j2k_sign_mismatch_lossy_colour(void **state)
{
    (void)state;
    const uint32_t rows = 32, cols = 32;
    int32_t s32[32 * 32];
    uint16_t img[32 * 32];
    make_image(img, rows, cols, 13);
    for (int i = 0; i < 32 * 32; i++) s32[i] = img[i]; /* 13-bit patterns coded unsigned */
    rdi_buf enc = RDI_BUF_INIT;
    j2k_encode(&enc, s32, rows, cols, 13, 0, 1, OPJ_CODEC_J2K, 0);
    int16_t out[32 * 32];
    rdi_dcm_frame_fmt fmt = {rows, cols, 16, 13, 1}; /* ... but the header says signed */
    assert_int_equal(rdi_dcm_decode_j2k(enc.data, enc.len, &fmt, out, sizeof out, "t.dcm"), RADI_OK);
    for (int i = 0; i < 32 * 32; i++) assert_int_equal(out[i], stored_value(img[i], 13, 1));
    rdi_buf_free(&enc);
    /* Lossy: close to the input. */
    for (int i = 0; i < 32 * 32; i++) s32[i] = (int32_t)(i % 32) * 100 + (i / 32) * 50;
    j2k_encode(&enc, s32, rows, cols, 12, 0, 1, OPJ_CODEC_J2K, 4);
    rdi_dcm_frame_fmt f12 = {rows, cols, 16, 12, 0};
    assert_int_equal(rdi_dcm_decode_j2k(enc.data, enc.len, &f12, out, sizeof out, "t.dcm"), RADI_OK);
    double err = 0;
    for (int i = 0; i < 32 * 32; i++) err += fabs((double)(uint16_t)out[i] - s32[i]);
    assert_true(err / (32 * 32) < 60);
    rdi_buf_free(&enc);
    /* Three components: refused. */
    j2k_encode(&enc, s32, rows, cols, 12, 0, 3, OPJ_CODEC_J2K, 0);
    assert_int_equal(rdi_dcm_decode_j2k(enc.data, enc.len, &f12, out, sizeof out, "rgb.dcm"), RADI_E_UNSUPPORTED);
    assert_non_null(strstr(radi_errmsg(), "rgb.dcm"));
    rdi_buf_free(&enc);
    /* Precision wider than the allocation, and not J2K at all. */
    j2k_encode(&enc, s32, rows, cols, 12, 0, 1, OPJ_CODEC_J2K, 0);
    rdi_dcm_frame_fmt f8 = {rows, cols, 8, 8, 0};
    assert_int_equal(rdi_dcm_decode_j2k(enc.data, enc.len, &f8, out, 32 * 32, "t.dcm"), RADI_E_CORRUPT);
    rdi_buf_free(&enc);
    assert_int_equal(rdi_dcm_decode_j2k((const uint8_t *)"\xFF\x4F\xFF\x51", 4, &f12, out, sizeof out, "t.dcm"),
                     RADI_E_CORRUPT);
    assert_int_equal(rdi_dcm_decode_j2k((const uint8_t *)"JPEG", 4, &f12, out, sizeof out, "t.dcm"), RADI_E_CORRUPT);
}

/* -------------------------------------------------------------- JPEG-LS -- */

static void jls_encode(rdi_buf *out, const void *samples, size_t bytes, uint32_t rows, uint32_t cols, int bits,
                       int near)
{
    charls_jpegls_encoder *e = charls_jpegls_encoder_create();
    assert_non_null(e);
    charls_frame_info fi = {cols, rows, bits, 1};
    assert_int_equal(charls_jpegls_encoder_set_frame_info(e, &fi), 0);
    assert_int_equal(charls_jpegls_encoder_set_near_lossless(e, near), 0);
    size_t cap = 0;
    assert_int_equal(charls_jpegls_encoder_get_estimated_destination_size(e, &cap), 0);
    rdi_buf_resize(out, cap);
    assert_int_equal(charls_jpegls_encoder_set_destination_buffer(e, out->data, cap), 0);
    assert_int_equal(charls_jpegls_encoder_encode_from_buffer(e, samples, bytes, 0), 0);
    size_t n = 0;
    assert_int_equal(charls_jpegls_encoder_get_bytes_written(e, &n), 0);
    out->len = n;
    charls_jpegls_encoder_destroy(e);
}

static void test_jls(void **state)
{
    (void)state;
    const uint32_t rows = 30, cols = 44;
    const size_t ns = (size_t)rows * cols;
    uint16_t img[30 * 44], out[30 * 44];
    uint8_t img8[30 * 44];
    rdi_buf enc = RDI_BUF_INIT;
    /* 12-bit signed stored as its 12-bit pattern: sign-extended on the way out. */
    make_image(img, rows, cols, 12);
    jls_encode(&enc, img, sizeof img, rows, cols, 12, 0);
    rdi_dcm_frame_fmt fmt = {rows, cols, 16, 12, 1};
    assert_int_equal(rdi_dcm_decode(RDI_TS_JPEG_LS, enc.data, enc.len, &fmt, out, sizeof out, "t.dcm"), RADI_OK);
    for (size_t i = 0; i < ns; i++) assert_int_equal((int16_t)out[i], stored_value(img[i], 12, 1));
    check_truncations(RDI_TS_JPEG_LS, enc.data, enc.len, &fmt, 7);
    check_mutations(RDI_TS_JPEG_LS, enc.data, enc.len, &fmt, 300);
    /* Near-lossless 16-bit. */
    make_image(img, rows, cols, 16);
    jls_encode(&enc, img, sizeof img, rows, cols, 16, 3);
    rdi_dcm_frame_fmt f16 = {rows, cols, 16, 16, 0};
    assert_int_equal(rdi_dcm_decode_jls(enc.data, enc.len, &f16, out, sizeof out, "t.dcm"), RADI_OK);
    for (size_t i = 0; i < ns; i++) assert_true(abs((int)out[i] - (int)img[i]) <= 3);
    /* 8-bit samples in 8 and in 16 bits allocated. */
    for (size_t i = 0; i < ns; i++) img8[i] = (uint8_t)(img[i] >> 8);
    jls_encode(&enc, img8, sizeof img8, rows, cols, 8, 0);
    rdi_dcm_frame_fmt f8 = {rows, cols, 8, 8, 0}, f8w = {rows, cols, 16, 8, 0};
    uint8_t out8[30 * 44];
    assert_int_equal(rdi_dcm_decode_jls(enc.data, enc.len, &f8, out8, sizeof out8, "t.dcm"), RADI_OK);
    assert_memory_equal(out8, img8, ns);
    assert_int_equal(rdi_dcm_decode_jls(enc.data, enc.len, &f8w, out, sizeof out, "t.dcm"), RADI_OK);
    for (size_t i = 0; i < ns; i++) assert_int_equal(out[i], img8[i]);
    /* Wrong size, and not JPEG-LS. */
    rdi_dcm_frame_fmt small = {rows - 1, cols, 8, 8, 0};
    assert_int_equal(rdi_dcm_decode_jls(enc.data, enc.len, &small, out8, (rows - 1) * cols, "t.dcm"), RADI_E_CORRUPT);
    assert_non_null(strstr(radi_errmsg(), "t.dcm: JPEG-LS"));
    assert_int_equal(rdi_dcm_decode_jls((const uint8_t *)"\xFF\xD8\xFF\xD9", 4, &f8, out8, sizeof out8, "t.dcm"),
                     RADI_E_CORRUPT);
    rdi_buf_free(&enc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rle_round_trips),
        cmocka_unit_test(test_rle_bad_headers),
        cmocka_unit_test(test_jpegll_predictors_and_precisions),
        cmocka_unit_test(test_jpegll_restart_and_dnl),
        cmocka_unit_test(test_jpegll_ssss16),
        cmocka_unit_test(test_jpegll_truncation_and_mutation),
        cmocka_unit_test(test_jpegll_refusals),
        cmocka_unit_test(test_j2k),
        cmocka_unit_test(test_j2k_sign_mismatch_lossy_colour),
        cmocka_unit_test(test_jls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
