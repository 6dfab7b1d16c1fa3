/* io layer: the DICOM Part-10 parser on synthetic files made by a small writer here:
 * every dataset encoding, sequences of undefined length, Enhanced functional groups,
 * encapsulated pixel data, truncation at every byte, and hostile input. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include <zlib.h>

#include "core/core.h"
#include "io/dicom/dicom.h"

#include "dicom_writer.h"

/* The attributes of a 2-row, 3-column, 16-bit image of nframes frames. */
static void image_attrs(dw *w, int nframes)
{
    str(w, 0x0008, 0x0008, "CS", "ORIGINAL\\PRIMARY\\AXIAL");
    str(w, 0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.4");
    str(w, 0x0008, 0x0018, "UI", "1.2.3.4.5");
    str(w, 0x0008, 0x0060, "CS", "MR");
    str(w, 0x0018, 0x0050, "DS", "1.5");
    str(w, 0x0020, 0x000D, "UI", "1.2.3");
    str(w, 0x0020, 0x000E, "UI", "1.2.3.4");
    str(w, 0x0020, 0x0011, "IS", "7");
    str(w, 0x0020, 0x0013, "IS", " 12 ");
    str(w, 0x0020, 0x0032, "DS", "-10.5\\20\\3.25e1");
    str(w, 0x0020, 0x0037, "DS", "1\\0\\0\\0\\1\\0");
    us(w, 0x0028, 0x0002, 1);
    str(w, 0x0028, 0x0004, "CS", "MONOCHROME2");
    if (nframes > 1) {
        char s[16];
        snprintf(s, sizeof s, "%d", nframes);
        str(w, 0x0028, 0x0008, "IS", s);
    }
    us(w, 0x0028, 0x0010, 2);
    us(w, 0x0028, 0x0011, 3);
    str(w, 0x0028, 0x0030, "DS", "0.5\\0.75");
    us(w, 0x0028, 0x0100, 16);
    us(w, 0x0028, 0x0101, 12);
    us(w, 0x0028, 0x0102, 11);
    us(w, 0x0028, 0x0103, 1);
    str(w, 0x0028, 0x1052, "DS", "-1024");
    str(w, 0x0028, 0x1053, "DS", "2.5");
}

/* Native pixels: frame f, sample i is 100 * f + i, in the writer's byte order. */
static void native_pixels(dw *w, int nframes)
{
    hdr(w, 0x7FE0, 0x0010, "OW", (uint32_t)(nframes * 12));
    for (int f = 0; f < nframes; f++)
        for (int i = 0; i < 6; i++) put16(w, (uint16_t)(100 * f + i));
}

static rdi_dcm_info *parse_ok(const dw *w)
{
    rdi_dcm_info *info = NULL;
    radi_status st = rdi_dcm_parse(w->b.data, w->b.len, "t.dcm", &info);
    if (st != RADI_OK) fprintf(stderr, "parse: %s\n", radi_errmsg());
    assert_int_equal(st, RADI_OK);
    return info;
}

static radi_status parse_err(const dw *w, radi_status want, const char *msg_part)
{
    rdi_dcm_info *info = NULL;
    radi_status st = rdi_dcm_parse(w->b.data, w->b.len, "t.dcm", &info);
    assert_null(info);
    assert_int_equal(st, want);
    if (msg_part && !strstr(radi_errmsg(), msg_part)) fail_msg("message \"%s\" lacks \"%s\"", radi_errmsg(), msg_part);
    return st;
}

/* Every field image_attrs wrote, and each frame's samples. */
static void check_image(const rdi_dcm_info *info, int nframes)
{
    assert_string_equal(info->sop_class_uid, "1.2.840.10008.5.1.4.1.1.4");
    assert_string_equal(info->series_uid, "1.2.3.4");
    assert_string_equal(info->modality, "MR");
    assert_string_equal(info->image_type, "ORIGINAL\\PRIMARY\\AXIAL");
    assert_int_equal(info->series_number, 7);
    assert_int_equal(info->rows, 2);
    assert_int_equal(info->cols, 3);
    assert_int_equal(info->bits_allocated, 16);
    assert_int_equal(info->bits_stored, 12);
    assert_int_equal(info->pixel_representation, 1);
    assert_int_equal(info->nframes, nframes);
    assert_true(info->slice_thickness == 1.5);
    const rdi_dcm_frame *f = &info->frames[0];
    assert_true(f->has_ipp && f->ipp[0] == -10.5 && f->ipp[1] == 20 && f->ipp[2] == 32.5);
    assert_true(f->has_iop && f->iop[0] == 1 && f->iop[4] == 1);
    assert_true(f->has_spacing && f->spacing[0] == 0.5 && f->spacing[1] == 0.75);
    assert_true(f->slope == 2.5 && f->intercept == -1024);
    assert_int_equal(f->instance_number, 12);
    assert_int_equal(f->acquisition_number, -1);
    rdi_buf scratch = RDI_BUF_INIT;
    for (int k = 0; k < nframes; k++) {
        const uint8_t *p;
        size_t n;
        assert_int_equal(rdi_dcm_frame_bytes(info, (uint32_t)k, &scratch, &p, &n), RADI_OK);
        assert_int_equal(n, 12);
        for (int i = 0; i < 6; i++) {
            uint16_t v;
            memcpy(&v, p + 2 * i, 2);
            assert_int_equal(v, 100 * k + i);
        }
    }
    rdi_buf_free(&scratch);
}

static void test_syntaxes(void **state)
{
    (void)state;
    static const struct {
        const char *ts;
        int explicit_vr, be;
        rdi_dcm_ts want;
    } cases[] = {
        {"1.2.840.10008.1.2", 0, 0, RDI_TS_IMPLICIT_LE},
        {"1.2.840.10008.1.2.1", 1, 0, RDI_TS_EXPLICIT_LE},
        {"1.2.840.10008.1.2.2", 1, 1, RDI_TS_EXPLICIT_BE},
    };
    for (size_t c = 0; c < 3; c++) {
        dw w = {RDI_BUF_INIT, 1, 0};
        meta(&w, cases[c].ts);
        w.explicit_vr = cases[c].explicit_vr, w.be = cases[c].be;
        image_attrs(&w, 3);
        native_pixels(&w, 3);
        assert_true(rdi_dcm_probe(w.b.data, w.b.len));
        rdi_dcm_info *info = parse_ok(&w);
        assert_int_equal(info->ts, cases[c].want);
        assert_string_equal(info->ts_uid, cases[c].ts);
        check_image(info, 3);
        assert_int_equal(info->frames[2].offset, info->frames[0].offset + 24);
        rdi_dcm_info_free(info);
        rdi_buf_free(&w.b);
    }
}

static void test_legacy_no_preamble(void **state)
{
    (void)state;
    dw w = {RDI_BUF_INIT, 0, 0};
    image_attrs(&w, 1);
    native_pixels(&w, 1);
    assert_true(rdi_dcm_probe(w.b.data, w.b.len));
    rdi_dcm_info *info = parse_ok(&w);
    assert_int_equal(info->ts, RDI_TS_IMPLICIT_LE);
    check_image(info, 1);
    rdi_dcm_info_free(info);
    rdi_buf_free(&w.b);
    uint8_t junk[200] = {'J', 'U', 'N', 'K'};
    assert_false(rdi_dcm_probe(junk, sizeof junk));
    rdi_dcm_info *none = NULL;
    assert_int_equal(rdi_dcm_parse(junk, sizeof junk, "junk.bin", &none), RADI_E_CORRUPT);
    assert_non_null(strstr(radi_errmsg(), "junk.bin"));
}

static void test_deflated(void **state)
{
    (void)state;
    dw d = {RDI_BUF_INIT, 1, 0};
    image_attrs(&d, 2);
    native_pixels(&d, 2);
    uint8_t out[4096];
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = d.b.data, zs.avail_in = (uInt)d.b.len, zs.next_out = out, zs.avail_out = sizeof out;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t clen = sizeof out - zs.avail_out;
    deflateEnd(&zs);
    dw w = {RDI_BUF_INIT, 1, 0};
    meta(&w, "1.2.840.10008.1.2.1.99");
    raw(&w, out, clen);
    rdi_dcm_info *info = parse_ok(&w);
    assert_int_equal(info->ts, RDI_TS_DEFLATED_LE);
    assert_int_equal(info->body_len, d.b.len); /* owned, inflated */
    check_image(info, 2);
    rdi_dcm_info_free(info);
    /* Cut short: an error naming the file. */
    w.b.len -= clen / 2;
    parse_err(&w, RADI_E_CORRUPT, "t.dcm: the deflated dataset");
    rdi_buf_free(&w.b);
    rdi_buf_free(&d.b);
}

static void test_deflate_bomb(void **state)
{
    (void)state;
    size_t big = (size_t)256 << 20; /* 256 MiB of zeros deflate to ~256 KiB: > 64x */
    uint8_t *zeros = calloc(1, 1 << 20);
    size_t cap = 1 << 20;
    uint8_t *out = malloc(cap);
    assert_non_null(zeros);
    assert_non_null(out);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_out = out, zs.avail_out = (uInt)cap;
    for (size_t done = 0; done < big; done += 1 << 20) {
        zs.next_in = zeros, zs.avail_in = 1 << 20;
        assert_int_equal(deflate(&zs, done + (1 << 20) == big ? Z_FINISH : Z_NO_FLUSH),
                         done + (1 << 20) == big ? Z_STREAM_END : Z_OK);
    }
    size_t clen = cap - zs.avail_out;
    deflateEnd(&zs);
    dw w = {RDI_BUF_INIT, 1, 0};
    meta(&w, "1.2.840.10008.1.2.1.99");
    raw(&w, out, clen);
    parse_err(&w, RADI_E_UNSUPPORTED, "t.dcm: the deflated dataset inflates to more than");
    rdi_buf_free(&w.b);
    free(zeros);
    free(out);
}

/* Sequences of undefined length (nested, and UN holding implicit VR) around the image's
 * attributes: what is inside them must not change the top level. */
static void test_undefined_sequences(void **state)
{
    (void)state;
    for (int ex = 0; ex <= 1; ex++) {
        dw w = {RDI_BUF_INIT, 1, 0};
        meta(&w, ex ? "1.2.840.10008.1.2.1" : "1.2.840.10008.1.2");
        w.explicit_vr = ex;
        str(&w, 0x0008, 0x0008, "CS", "ORIGINAL\\PRIMARY\\AXIAL");
        hdr(&w, 0x0008, 0x1140, "SQ", UNDEF); /* ReferencedImageSequence */
        item(&w, UNDEF);
        hdr(&w, 0x0040, 0xA730, "SQ", UNDEF);
        item(&w, UNDEF);
        us(&w, 0x0028, 0x0010, 999); /* nested Rows: ignored */
        item_end(&w);
        item(&w, 0); /* empty defined-length item */
        seq_end(&w);
        item_end(&w);
        seq_end(&w);
        if (ex) { /* UN of undefined length: a sequence in implicit VR LE */
            hdr(&w, 0x0009, 0x1001, "UN", UNDEF);
            dw in = {RDI_BUF_INIT, 0, 0};
            item(&in, UNDEF);
            hdr(&in, 0x0028, 0x0011, "US", 2);
            put16(&in, 777);
            item_end(&in);
            seq_end(&in);
            raw(&w, in.b.data, in.b.len);
            rdi_buf_free(&in.b);
        }
        str(&w, 0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.4");
        str(&w, 0x0008, 0x0018, "UI", "1.2.3.4.5");
        hdr(&w, 0x0008, 0x0050, "SH", 0);
        /* The remaining attributes, after the sequences. */
        dw rest = {RDI_BUF_INIT, ex, 0};
        image_attrs(&rest, 2);
        native_pixels(&rest, 2);
        /* image_attrs restarts at (0008,0008): skip its first three elements (already written). */
        size_t skip = 0;
        for (int i = 0; i < 3; i++) {
            uint32_t len;
            if (ex) len = rest.b.data[skip + 6] | rest.b.data[skip + 7] << 8, skip += 8 + len;
            else memcpy(&len, rest.b.data + skip + 4, 4), skip += 8 + len;
        }
        raw(&w, rest.b.data + skip, rest.b.len - skip);
        rdi_buf_free(&rest.b);
        rdi_dcm_info *info = parse_ok(&w);
        check_image(info, 2);
        rdi_dcm_info_free(info);
        rdi_buf_free(&w.b);
    }
}

static void test_depth_cap(void **state)
{
    (void)state;
    dw w = {RDI_BUF_INIT, 1, 0};
    meta(&w, "1.2.840.10008.1.2.1");
    for (int i = 0; i < 10000; i++) {
        hdr(&w, 0x0008, 0x1140, "SQ", UNDEF);
        item(&w, UNDEF);
    }
    parse_err(&w, RADI_E_CORRUPT, "nested deeper than");
    rdi_buf_free(&w.b);
}

/* A functional-group sub-sequence item holding one element written by fn. */
typedef void (*elem_fn)(dw *w, const void *arg);
static void sub(dw *w, uint16_t g, uint16_t e, int undef, elem_fn fn, const void *arg)
{
    dw in = {RDI_BUF_INIT, w->explicit_vr, w->be};
    fn(&in, arg);
    if (undef) {
        hdr(w, g, e, "SQ", UNDEF);
        item(w, UNDEF);
        raw(w, in.b.data, in.b.len);
        item_end(w);
        seq_end(w);
    } else {
        hdr(w, g, e, "SQ", (uint32_t)in.b.len + 8);
        item(w, (uint32_t)in.b.len);
        raw(w, in.b.data, in.b.len);
    }
    rdi_buf_free(&in.b);
}
static void e_ipp(dw *w, const void *a) { str(w, 0x0020, 0x0032, "DS", a); }
static void e_iop(dw *w, const void *a) { str(w, 0x0020, 0x0037, "DS", a); }
static void e_measures(dw *w, const void *a)
{
    str(w, 0x0018, 0x0050, "DS", "2");
    str(w, 0x0028, 0x0030, "DS", a);
}
static void e_rescale(dw *w, const void *a)
{
    str(w, 0x0028, 0x1052, "DS", "-5");
    str(w, 0x0028, 0x1053, "DS", a);
    str(w, 0x0028, 0x1054, "LO", "US");
}
static void e_content(dw *w, const void *a)
{
    hdr(w, 0x0020, 0x9128, "UL", 4);
    put32(w, *(const uint32_t *)a);
    hdr(w, 0x0020, 0x9157, "UL", 8);
    put32(w, 1);
    put32(w, *(const uint32_t *)a + 10);
}

static void test_enhanced(void **state)
{
    (void)state;
    for (int variant = 0; variant < 3; variant++) { /* explicit LE, implicit LE, explicit BE */
        dw w = {RDI_BUF_INIT, 1, 0};
        meta(&w, variant == 0 ? "1.2.840.10008.1.2.1" : variant == 1 ? "1.2.840.10008.1.2" : "1.2.840.10008.1.2.2");
        w.explicit_vr = variant != 1, w.be = variant == 2;
        str(&w, 0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.4.1");
        str(&w, 0x0028, 0x0008, "IS", "3");
        us(&w, 0x0028, 0x0010, 2);
        us(&w, 0x0028, 0x0011, 3);
        us(&w, 0x0028, 0x0100, 16);
        /* Shared: orientation, measures, rescale (slope 3). */
        hdr(&w, 0x5200, 0x9229, "SQ", UNDEF);
        item(&w, UNDEF);
        sub(&w, 0x0020, 0x9116, 0, e_iop, "0\\1\\0\\0\\0\\-1");
        sub(&w, 0x0028, 0x9110, 1, e_measures, "0.8\\0.9");
        sub(&w, 0x0028, 0x9145, 0, e_rescale, "3");
        item_end(&w);
        seq_end(&w);
        /* Per frame: position (and frame 1 its own rescale, slope 4), content. */
        hdr(&w, 0x5200, 0x9230, "SQ", UNDEF);
        static const char *ipps[3] = {"0\\0\\0", "0\\0\\2", "0\\0\\4"};
        for (uint32_t k = 0; k < 3; k++) {
            item(&w, UNDEF);
            sub(&w, 0x0020, 0x9111, (int)(k & 1), e_content, &k);
            sub(&w, 0x0020, 0x9113, (int)(k & 1), e_ipp, ipps[k]);
            if (k == 1) sub(&w, 0x0028, 0x9145, 0, e_rescale, "4");
            item_end(&w);
        }
        seq_end(&w);
        native_pixels(&w, 3);
        rdi_dcm_info *info = parse_ok(&w);
        assert_true(info->enhanced);
        assert_int_equal(info->nframes, 3);
        assert_string_equal(info->rescale_type, "US");
        assert_true(info->slice_thickness == 2);
        for (int k = 0; k < 3; k++) {
            const rdi_dcm_frame *f = &info->frames[k];
            assert_true(f->has_ipp && f->ipp[2] == 2.0 * k);
            assert_true(f->has_iop && f->iop[1] == 1 && f->iop[5] == -1);
            assert_true(f->has_spacing && f->spacing[0] == 0.8 && f->spacing[1] == 0.9);
            assert_true(f->slope == (k == 1 ? 4 : 3) && f->intercept == -5);
            assert_int_equal(f->temporal_position, k);
            assert_int_equal(f->n_dim_index, 2);
            assert_int_equal(f->dim_index[1], k + 10);
        }
        rdi_dcm_info_free(info);
        rdi_buf_free(&w.b);
    }
}

/* Encapsulated pixel data: fragments[i] has lengths[i] bytes, starting with marker[i]. */
static void encaps(dw *w, const uint32_t *bot, int nbot, const uint32_t *lens, const int *soi, int nfrags)
{
    hdr(w, 0x7FE0, 0x0010, "OB", UNDEF);
    item(w, (uint32_t)(4 * nbot));
    for (int i = 0; i < nbot; i++) put32(w, bot[i]);
    for (int i = 0; i < nfrags; i++) {
        item(w, lens[i]);
        for (uint32_t j = 0; j < lens[i]; j++) {
            uint8_t b = (uint8_t)(i * 16 + j);
            if (j == 0 && soi[i]) b = 0xFF;
            if (j == 1 && soi[i]) b = 0xD8;
            raw(w, &b, 1);
        }
    }
    seq_end(w);
}

static dw encaps_file(const char *ts, int nframes)
{
    dw w = {RDI_BUF_INIT, 1, 0};
    meta(&w, ts);
    char s[8];
    snprintf(s, sizeof s, "%d", nframes);
    str(&w, 0x0028, 0x0008, "IS", s);
    us(&w, 0x0028, 0x0010, 2);
    us(&w, 0x0028, 0x0011, 3);
    us(&w, 0x0028, 0x0100, 16);
    return w;
}

static void frame_is(const rdi_dcm_info *info, uint32_t k, uint32_t first, uint32_t nfrags, size_t len)
{
    assert_int_equal(info->frames[k].first_frag, first);
    assert_int_equal(info->frames[k].nfrags, nfrags);
    rdi_buf s = RDI_BUF_INIT;
    const uint8_t *p;
    size_t n;
    assert_int_equal(rdi_dcm_frame_bytes(info, k, &s, &p, &n), RADI_OK);
    assert_int_equal(n, len);
    size_t at = 0; /* the fragments' bytes, in order */
    for (uint32_t j = first; j < first + nfrags; j++) {
        size_t m = RDI_MIN((size_t)info->frags[j].length, len - at); /* EOT lengths may be shorter */
        assert_memory_equal(p + at, info->body + info->frags[j].offset, m);
        at += m;
    }
    rdi_buf_free(&s);
}

static void test_encapsulated(void **state)
{
    (void)state;
    static const uint32_t lens[4] = {6, 4, 8, 2};
    static const int soi[4] = {1, 0, 1, 0};
    /* One fragment per frame, empty offset table. */
    dw w = encaps_file("1.2.840.10008.1.2.5", 4);
    encaps(&w, NULL, 0, lens, soi, 4);
    rdi_dcm_info *info = parse_ok(&w);
    assert_true(info->encapsulated && info->nfrags == 4);
    for (uint32_t k = 0; k < 4; k++) frame_is(info, k, k, 1, lens[k]);
    rdi_dcm_info_free(info);
    rdi_buf_free(&w.b);
    /* Basic Offset Table: frames of fragments {0,1} and {2,3}. */
    uint32_t bot[2] = {0, 6 + 8 + 4 + 8};
    w = encaps_file("1.2.840.10008.1.2.4.70", 2);
    encaps(&w, bot, 2, lens, soi, 4);
    info = parse_ok(&w);
    frame_is(info, 0, 0, 2, 10);
    frame_is(info, 1, 2, 2, 10);
    rdi_dcm_info_free(info);
    rdi_buf_free(&w.b);
    /* No offsets, JPEG: split at SOI. */
    w = encaps_file("1.2.840.10008.1.2.4.70", 2);
    encaps(&w, NULL, 0, lens, soi, 4);
    info = parse_ok(&w);
    frame_is(info, 0, 0, 2, 10);
    frame_is(info, 1, 2, 2, 10);
    rdi_dcm_info_free(info);
    rdi_buf_free(&w.b);
    /* One frame: all fragments. */
    w = encaps_file("1.2.840.10008.1.2.4.90", 1);
    encaps(&w, NULL, 0, lens, soi, 4);
    info = parse_ok(&w);
    frame_is(info, 0, 0, 4, 20);
    rdi_dcm_info_free(info);
    rdi_buf_free(&w.b);
    /* Extended Offset Table: frames are fragments 1 and 3, of EOT lengths. */
    w = encaps_file("1.2.840.10008.1.2.4.90", 2);
    uint64_t eot[2] = {6 + 8, 6 + 8 + 4 + 8 + 8 + 8}, eotl[2] = {3, 2};
    hdr(&w, 0x7FE0, 0x0001, "OV", 16);
    raw(&w, eot, 16);
    hdr(&w, 0x7FE0, 0x0002, "OV", 16);
    raw(&w, eotl, 16);
    encaps(&w, NULL, 0, lens, soi, 4);
    info = parse_ok(&w);
    frame_is(info, 0, 1, 1, 3);
    frame_is(info, 1, 3, 1, 2);
    rdi_dcm_info_free(info);
    rdi_buf_free(&w.b);
    /* Three frames from four fragments, no offsets, RLE: no rule applies. */
    w = encaps_file("1.2.840.10008.1.2.5", 3);
    encaps(&w, NULL, 0, lens, soi, 4);
    parse_err(&w, RADI_E_CORRUPT, "cannot tell which of 4 fragments");
    rdi_buf_free(&w.b);
    /* More frames than fragments. */
    w = encaps_file("1.2.840.10008.1.2.5", 5);
    encaps(&w, NULL, 0, lens, soi, 4);
    parse_err(&w, RADI_E_CORRUPT, "4 fragments for 5 frames");
    rdi_buf_free(&w.b);
}

static void test_errors(void **state)
{
    (void)state;
    dw w = {RDI_BUF_INIT, 1, 0};
    meta(&w, "1.2.840.10008.1.2.1");
    hdr(&w, 0x0028, 0x0010, "US", 4);
    put32(&w, 5);
    parse_err(&w, RADI_E_CORRUPT, "t.dcm: (0028,0010) Rows: length 4, expected 2");
    rdi_buf_free(&w.b);

    w = (dw){RDI_BUF_INIT, 1, 0};
    meta(&w, "1.2.840.10008.1.2.4.100");
    image_attrs(&w, 1);
    parse_err(&w, RADI_E_UNSUPPORTED, "1.2.840.10008.1.2.4.100");
    rdi_buf_free(&w.b);

    w = (dw){RDI_BUF_INIT, 1, 0};
    meta(&w, "1.2.840.10008.1.2.1");
    str(&w, 0x0028, 0x0008, "IS", "1A");
    parse_err(&w, RADI_E_CORRUPT, "(0028,0008) NumberOfFrames");
    rdi_buf_free(&w.b);

    w = (dw){RDI_BUF_INIT, 1, 0}; /* 3 frames declared, 2 present */
    meta(&w, "1.2.840.10008.1.2.1");
    image_attrs(&w, 3);
    native_pixels(&w, 2);
    parse_err(&w, RADI_E_CORRUPT, "PixelData: 24 bytes, expected 36");
    rdi_buf_free(&w.b);

    w = (dw){RDI_BUF_INIT, 1, 0}; /* 1-bit */
    meta(&w, "1.2.840.10008.1.2.1");
    us(&w, 0x0028, 0x0010, 8);
    us(&w, 0x0028, 0x0011, 8);
    us(&w, 0x0028, 0x0100, 1);
    hdr(&w, 0x7FE0, 0x0010, "OB", 8);
    raw(&w, "\1\2\3\4\5\6\7\x08", 8);
    parse_err(&w, RADI_E_UNSUPPORTED, "1-bit");
    rdi_buf_free(&w.b);

    w = (dw){RDI_BUF_INIT, 1, 0}; /* a huge length on a short element */
    meta(&w, "1.2.840.10008.1.2.1");
    hdr(&w, 0x0008, 0x0016, "UT", 0xFFFFFFF0u);
    parse_err(&w, RADI_E_CORRUPT, "runs past the end");
    rdi_buf_free(&w.b);

    w = (dw){RDI_BUF_INIT, 1, 0}; /* undefined length outside SQ / pixel data */
    meta(&w, "1.2.840.10008.1.2.1");
    hdr(&w, 0x0008, 0x0016, "UT", UNDEF);
    parse_err(&w, RADI_E_CORRUPT, "undefined length on VR UT");
    rdi_buf_free(&w.b);

    /* An undefined-length sequence inside a defined-length item must end inside it: its
     * delimiters after the item do not count. */
    w = (dw){RDI_BUF_INIT, 1, 0};
    meta(&w, "1.2.840.10008.1.2.1");
    hdr(&w, 0x0008, 0x1140, "SQ", 8 + 12 + 8 + 10);
    item(&w, 12 + 8 + 10);
    hdr(&w, 0x0008, 0x1199, "SQ", UNDEF);
    item(&w, UNDEF);
    us(&w, 0x0028, 0x0010, 2);
    item_end(&w);
    seq_end(&w);
    us(&w, 0x0028, 0x0011, 3);
    parse_err(&w, RADI_E_CORRUPT, "t.dcm");
    rdi_buf_free(&w.b);

    /* Strict numbers: garbage leaves the attribute absent, never a wrong value. */
    w = (dw){RDI_BUF_INIT, 1, 0};
    meta(&w, "1.2.840.10008.1.2.1");
    str(&w, 0x0018, 0x0050, "DS", "1,5");
    str(&w, 0x0020, 0x0032, "DS", "1\\2\\x");
    str(&w, 0x0020, 0x0037, "DS", "1\\0\\0\\0\\1");
    str(&w, 0x0028, 0x0030, "DS", "nan\\1");
    str(&w, 0x0028, 0x1053, "DS", "0x10");
    us(&w, 0x0028, 0x0010, 2);
    rdi_dcm_info *info = parse_ok(&w);
    assert_true(isnan(info->slice_thickness));
    assert_int_equal(info->nframes, 1);
    assert_false(info->has_pixels);
    assert_false(info->frames[0].has_ipp || info->frames[0].has_iop || info->frames[0].has_spacing);
    assert_true(info->frames[0].slope == 1);
    rdi_dcm_info_free(info);
    rdi_buf_free(&w.b);
}

/* A small file of every structure, cut at every byte: an error or (cut between elements
 * before the pixel data) a file without pixels - never a crash, never pixels. */
static void test_truncation(void **state)
{
    (void)state;
    for (int ts = 0; ts < 3; ts++) {
        dw w = {RDI_BUF_INIT, 1, 0};
        meta(&w, ts == 0 ? "1.2.840.10008.1.2" : ts == 1 ? "1.2.840.10008.1.2.2" : "1.2.840.10008.1.2.4.70");
        w.explicit_vr = ts != 0, w.be = ts == 1;
        hdr(&w, 0x0008, 0x1140, "SQ", UNDEF);
        item(&w, UNDEF);
        str(&w, 0x0008, 0x1150, "UI", "1.2");
        item_end(&w);
        seq_end(&w);
        image_attrs(&w, 2);
        if (ts == 2) {
            static const uint32_t lens[2] = {4, 4};
            static const int soi[2] = {1, 1};
            encaps(&w, NULL, 0, lens, soi, 2);
        } else {
            native_pixels(&w, 2);
        }
        rdi_dcm_info *info = parse_ok(&w);
        assert_int_equal(info->nframes, 2);
        rdi_dcm_info_free(info);
        for (size_t n = 0; n < w.b.len; n++) {
            uint8_t *copy = malloc(n ? n : 1); /* exact size, so ASan sees any overread */
            memcpy(copy, w.b.data, n);
            info = NULL;
            radi_status st = rdi_dcm_parse(copy, n, "cut.dcm", &info);
            if (st == RADI_OK) {
                assert_false(info->has_pixels);
                rdi_dcm_info_free(info);
            } else {
                assert_null(info);
                assert_non_null(strstr(radi_errmsg(), "cut.dcm"));
            }
            free(copy);
        }
        rdi_buf_free(&w.b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syntaxes),
        cmocka_unit_test(test_legacy_no_preamble),
        cmocka_unit_test(test_deflated),
        cmocka_unit_test(test_deflate_bomb),
        cmocka_unit_test(test_undefined_sequences),
        cmocka_unit_test(test_depth_cap),
        cmocka_unit_test(test_enhanced),
        cmocka_unit_test(test_encapsulated),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
