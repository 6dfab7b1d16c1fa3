/*
 * JPEG 2000 Part 1 (DICOM 1.2.840.10008.1.2.4.90/.91) and HTJ2K (.201-.203) through
 * OpenJPEG 2.5, decoding from memory: a raw codestream (FF4F FF51) or a JP2 file (its
 * signature box), told apart by their magic. OpenJPEG's messages go to handlers here, not
 * to stdout; its errors become radi's message. The header is checked against the frame
 * format before anything is decoded, so the codestream cannot make OpenJPEG allocate for
 * an image larger than the caller's frame.
 */
#include <stdio.h>
#include <stdlib.h>

#include <openjpeg.h>

#include "io/dicom/codec_internal.h"

#define J2K_CODEC "JPEG 2000"

typedef struct memsrc {
    const uint8_t *p;
    size_t n, pos;
    char err[256]; /* OpenJPEG's first error message */
} memsrc;

static OPJ_SIZE_T mem_read(void *buf, OPJ_SIZE_T k, void *user)
{
    memsrc *m = user;
    if (m->pos >= m->n) return (OPJ_SIZE_T)-1; /* OpenJPEG's end-of-stream */
    size_t c = RDI_MIN((size_t)k, m->n - m->pos);
    memcpy(buf, m->p + m->pos, c);
    m->pos += c;
    return c;
}

static OPJ_OFF_T mem_skip(OPJ_OFF_T k, void *user)
{
    memsrc *m = user;
    if (k < 0) {
        size_t back = (size_t)-(k + 1) + 1; /* -k without overflowing on INT64_MIN */
        if (back > m->pos) return -1;
        m->pos -= back;
        return k;
    }
    size_t c = RDI_MIN((uint64_t)k, (uint64_t)(m->n - RDI_MIN(m->pos, m->n)));
    m->pos += c;
    return (OPJ_OFF_T)c;
}

static OPJ_BOOL mem_seek(OPJ_OFF_T k, void *user)
{
    memsrc *m = user;
    if (k < 0 || (uint64_t)k > m->n) return OPJ_FALSE;
    m->pos = (size_t)k;
    return OPJ_TRUE;
}

static void quiet(const char *msg, void *user)
{
    RDI_UNUSED(msg);
    RDI_UNUSED(user);
}

static void keep_error(const char *msg, void *user)
{
    memsrc *m = user;
    if (m->err[0]) return;
    snprintf(m->err, sizeof m->err, "%s", msg);
    size_t l = strlen(m->err);
    while (l > 0 && (m->err[l - 1] == '\n' || m->err[l - 1] == ' ')) m->err[--l] = '\0';
}

static radi_status opj_fail(const memsrc *m, const char *step, const char *what)
{
    return rdi_error(RADI_E_CORRUPT, "%s: " J2K_CODEC ": %s failed%s%s", what, step, m->err[0] ? ": " : "",
                     m->err);
}

/* Writes the decoded component into out in the frame's format. Where the codestream's
 * sign disagrees with pixel_representation, the low `prec` bits are reinterpreted as the
 * DICOM header says (pydicom does the same), e.g. a signed 13-bit image coded unsigned. */
static radi_status put_samples(const opj_image_comp_t *c, size_t ns, const rdi_dcm_frame_fmt *fmt, void *out,
                               const char *what)
{
    const unsigned ba = fmt->bits_allocated, prec = c->prec;
    const int sgnd = c->sgnd != 0, want = fmt->pixel_representation == 1;
    const int32_t mask = (int32_t)(((uint32_t)1 << prec) - 1);
    int32_t lo = sgnd ? -((int32_t)1 << (ba - 1)) : 0, hi = sgnd ? ((int32_t)1 << (ba - 1)) - 1 : (1 << ba) - 1;
    const OPJ_INT32 *d = c->data;
    for (size_t i = 0; i < ns; i++) {
        int32_t v = d[i];
        if (v < lo || v > hi)
            return rdi_error(RADI_E_CORRUPT, "%s: " J2K_CODEC ": decoded value %d does not fit %u-bit %s samples",
                             what, v, ba, sgnd ? "signed" : "unsigned");
        if (sgnd != want) v &= mask;
        if (ba == 16) ((uint16_t *)out)[i] = (uint16_t)v;
        else ((uint8_t *)out)[i] = (uint8_t)v;
    }
    if (sgnd != want && want) rdi_dcm_sign_extend(out, ns, ba, prec);
    rdi_dcm_finish_sign(out, ns, fmt);
    return RADI_OK;
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* Reads the SIZ segment itself (inside the jp2c box of a JP2 file) and checks the image
 * size against the frame before OpenJPEG sees the stream: OpenJPEG sizes its tile and
 * code-block structures from SIZ in opj_read_header, so a codestream declaring a huge
 * image would cost memory before any check of ours could run. */
static radi_status check_siz(const uint8_t *src, size_t n, int jp2, const rdi_dcm_frame_fmt *fmt, const char *what)
{
    size_t pos = 0;
    if (jp2) { /* top-level boxes: LBox, TBox[, XLBox]; jp2c holds the codestream */
        for (;;) {
            if (n - pos < 8) return rdi_error(RADI_E_CORRUPT, "%s: " J2K_CODEC ": JP2 file without a codestream box", what);
            uint64_t len = be32(src + pos), hdr = 8;
            if (len == 1) {
                if (n - pos < 16) return rdi_error(RADI_E_CORRUPT, "%s: " J2K_CODEC ": truncated JP2 box header", what);
                len = (uint64_t)be32(src + pos + 8) << 32 | be32(src + pos + 12);
                hdr = 16;
            } else if (len == 0) {
                len = n - pos;
            }
            if (len < hdr || len > n - pos)
                return rdi_error(RADI_E_CORRUPT, "%s: " J2K_CODEC ": JP2 box of %llu bytes past the end", what,
                                 (unsigned long long)len);
            if (memcmp(src + pos + 4, "jp2c", 4) == 0) {
                pos += (size_t)hdr;
                break;
            }
            pos += (size_t)len;
        }
    }
    /* SOC, SIZ marker, Lsiz, Rsiz, then Xsiz Ysiz XOsiz YOsiz (4 bytes each). */
    if (n - pos < 4 + 4 + 16 || src[pos] != 0xFF || src[pos + 1] != 0x4F || src[pos + 2] != 0xFF ||
        src[pos + 3] != 0x51)
        return rdi_error(RADI_E_CORRUPT, "%s: " J2K_CODEC ": the codestream does not start with SOC and SIZ", what);
    const uint8_t *siz = src + pos + 8;
    uint32_t X = be32(siz), Y = be32(siz + 4), X0 = be32(siz + 8), Y0 = be32(siz + 12);
    if (X <= X0 || Y <= Y0 || X - X0 != fmt->cols || Y - Y0 != fmt->rows)
        return rdi_error(RADI_E_CORRUPT, "%s: " J2K_CODEC ": image is %u x %u (columns x rows), expected %u x %u", what,
                         X > X0 ? X - X0 : 0u, Y > Y0 ? Y - Y0 : 0u, fmt->cols, fmt->rows);
    return RADI_OK;
}

radi_status rdi_dcm_decode_j2k(const uint8_t *src, size_t n, const rdi_dcm_frame_fmt *fmt, void *out,
                               size_t out_len, const char *what)
{
    static const uint8_t jp2_magic[12] = {0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A};
    size_t ns;
    RDI_TRY(rdi_dcm_check_fmt(fmt, out_len, J2K_CODEC, what, &ns));
    OPJ_CODEC_FORMAT kind;
    if (src && n >= 4 && src[0] == 0xFF && src[1] == 0x4F && src[2] == 0xFF && src[3] == 0x51)
        kind = OPJ_CODEC_J2K;
    else if (src && n >= 12 && memcmp(src, jp2_magic, 12) == 0)
        kind = OPJ_CODEC_JP2;
    else
        return rdi_error(RADI_E_CORRUPT, "%s: " J2K_CODEC ": neither a J2K codestream nor a JP2 file "
                         "(no SOC/SIZ or JP2 signature)", what);

    RDI_TRY(check_siz(src, n, kind == OPJ_CODEC_JP2, fmt, what));

    memsrc m = {src, n, 0, {0}};
    radi_status st = RADI_OK;
    opj_image_t *img = NULL;
    opj_codec_t *codec = NULL;
    opj_stream_t *s = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE);
    if (!s) return rdi_nomem();
    opj_stream_set_user_data(s, &m, NULL);
    opj_stream_set_user_data_length(s, n);
    opj_stream_set_read_function(s, mem_read);
    opj_stream_set_skip_function(s, mem_skip);
    opj_stream_set_seek_function(s, mem_seek);
    if (!(codec = opj_create_decompress(kind))) { st = rdi_nomem(); goto out; }
    opj_set_info_handler(codec, quiet, &m);
    opj_set_warning_handler(codec, quiet, &m);
    opj_set_error_handler(codec, keep_error, &m);
    opj_dparameters_t prm;
    opj_set_default_decoder_parameters(&prm);
    if (!opj_setup_decoder(codec, &prm)) { st = opj_fail(&m, "setting up the decoder", what); goto out; }
    /* Without strict mode OpenJPEG "decodes" a truncated codestream from what is there. */
    if (!opj_decoder_set_strict_mode(codec, OPJ_TRUE)) { st = opj_fail(&m, "setting strict mode", what); goto out; }
    if (!opj_read_header(s, codec, &img) || !img) { st = opj_fail(&m, "reading the header", what); goto out; }
    if (img->numcomps != 1) {
        st = rdi_error(RADI_E_UNSUPPORTED, "%s: " J2K_CODEC ": %u components (only one is supported)", what,
                       img->numcomps);
        goto out;
    }
    const opj_image_comp_t *c = &img->comps[0];
    if (img->x1 < img->x0 || img->y1 < img->y0 || img->x1 - img->x0 != fmt->cols || img->y1 - img->y0 != fmt->rows ||
        c->dx != 1 || c->dy != 1) {
        st = rdi_error(RADI_E_CORRUPT, "%s: " J2K_CODEC ": image is %u x %u (columns x rows, subsampling %u x %u), "
                       "expected %u x %u", what, img->x1 - img->x0, img->y1 - img->y0, c->dx, c->dy, fmt->cols,
                       fmt->rows);
        goto out;
    }
    if (c->prec < 1 || c->prec > fmt->bits_allocated) {
        st = rdi_error(RADI_E_CORRUPT, "%s: " J2K_CODEC ": precision %u does not fit %u bits allocated", what, c->prec,
                       fmt->bits_allocated);
        goto out;
    }
    if (!opj_decode(codec, s, img) || !opj_end_decompress(codec, s)) {
        st = opj_fail(&m, "decoding", what);
        goto out;
    }
    c = &img->comps[0];
    if (!c->data || c->w != fmt->cols || c->h != fmt->rows) {
        st = rdi_error(RADI_E_CORRUPT, "%s: " J2K_CODEC ": decoded component is %u x %u, expected %u x %u", what,
                       c->w, c->h, fmt->cols, fmt->rows);
        goto out;
    }
    st = put_samples(c, ns, fmt, out, what);
out:
    if (img) opj_image_destroy(img);
    if (codec) opj_destroy_codec(codec);
    opj_stream_destroy(s);
    return st;
}
