/*
 * JPEG-LS (DICOM 1.2.840.10008.1.2.4.80 lossless, .81 near-lossless) through CharLS 2.4's C
 * API. CharLS writes samples of up to 8 bits as bytes and wider ones as host-order uint16;
 * JPEG-LS has no sign, so signed data are the low `bits_per_sample` bits of each value,
 * sign-extended here (as pydicom does).
 */
#include <stdlib.h>

#include <charls/charls.h>

#include "io/dicom/codec_internal.h"

#define JLS_CODEC "JPEG-LS"

static radi_status jls_fail(charls_jpegls_errc e, const char *step, const char *what)
{
    return rdi_error(RADI_E_CORRUPT, "%s: " JLS_CODEC ": %s: %s", what, step, charls_get_error_message(e));
}

radi_status rdi_dcm_decode_jls(const uint8_t *src, size_t n, const rdi_dcm_frame_fmt *fmt, void *out,
                               size_t out_len, const char *what)
{
    size_t ns;
    RDI_TRY(rdi_dcm_check_fmt(fmt, out_len, JLS_CODEC, what, &ns));
    if (!src || n == 0) return rdi_error(RADI_E_CORRUPT, "%s: " JLS_CODEC ": empty frame", what);
    /* CharLS 2.4 (Debian 12's) can loop forever on some invalid scan data (fixed upstream
     * in 3.0, "Endless loop when decoding invalid JPEG-LS input data"); a truncated frame
     * reliably gets there. So the stream must end as a whole one does, with EOI (DICOM
     * pads a fragment to even length with a zero byte after it), before CharLS sees it. */
    size_t end = n;
    while (end > 0 && src[end - 1] == 0x00) end--;
    if (end < 4 || src[end - 2] != 0xFF || src[end - 1] != 0xD9)
        return rdi_error(RADI_E_CORRUPT, "%s: " JLS_CODEC ": truncated: the stream does not end with EOI", what);
    charls_jpegls_decoder *dec = charls_jpegls_decoder_create();
    if (!dec) return rdi_nomem();
    radi_status st = RADI_OK;
    uint8_t *tmp = NULL;
    charls_frame_info fi;
    charls_jpegls_errc e = charls_jpegls_decoder_set_source_buffer(dec, src, n);
    if (e) { st = jls_fail(e, "reading the stream", what); goto out; }
    e = charls_jpegls_decoder_read_header(dec);
    if (e) { st = jls_fail(e, "reading the header", what); goto out; }
    e = charls_jpegls_decoder_get_frame_info(dec, &fi);
    if (e) { st = jls_fail(e, "reading the frame header", what); goto out; }
    if (fi.component_count != 1) {
        st = rdi_error(RADI_E_UNSUPPORTED, "%s: " JLS_CODEC ": %d components (only one is supported)", what,
                       fi.component_count);
        goto out;
    }
    if (fi.width != fmt->cols || fi.height != fmt->rows) {
        st = rdi_error(RADI_E_CORRUPT, "%s: " JLS_CODEC ": image is %u x %u (columns x rows), expected %u x %u",
                       what, fi.width, fi.height, fmt->cols, fmt->rows);
        goto out;
    }
    if (fi.bits_per_sample < 2 || fi.bits_per_sample > (int32_t)fmt->bits_allocated) {
        st = rdi_error(RADI_E_CORRUPT, "%s: " JLS_CODEC ": %d bits per sample does not fit %u bits allocated", what,
                       fi.bits_per_sample, fmt->bits_allocated);
        goto out;
    }
    /* CharLS's sample size follows the stream's precision; widen 8-bit samples ourselves. */
    size_t need = 0;
    e = charls_jpegls_decoder_get_destination_size(dec, 0, &need);
    if (e) { st = jls_fail(e, "sizing the output", what); goto out; }
    int narrow = fi.bits_per_sample <= 8 && fmt->bits_allocated == 16;
    if (need != (narrow ? ns : out_len)) {
        st = rdi_error(RADI_E_INTERNAL, "%s: " JLS_CODEC ": CharLS wants %zu bytes for a %zu-sample frame", what,
                       need, ns);
        goto out;
    }
    void *dst = out;
    if (narrow) {
        if (!(tmp = malloc(ns))) { st = rdi_nomem(); goto out; }
        dst = tmp;
    }
    e = charls_jpegls_decoder_decode_to_buffer(dec, dst, need, 0);
    if (e) { st = jls_fail(e, "decoding", what); goto out; }
    if (narrow)
        for (size_t i = 0; i < ns; i++) ((uint16_t *)out)[i] = tmp[i];
    if (fmt->pixel_representation == 1)
        rdi_dcm_sign_extend(out, ns, fmt->bits_allocated, (unsigned)fi.bits_per_sample);
    rdi_dcm_finish_sign(out, ns, fmt);
out:
    free(tmp);
    charls_jpegls_decoder_destroy(dec);
    return st;
}
