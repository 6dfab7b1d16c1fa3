/*
 * The DICOM decoders' dispatcher (decode.h), syntax names, and the frame-format checks and
 * sign handling every decoder shares (codec_internal.h).
 */
#include "io/dicom/codec_internal.h"

const char *rdi_dcm_ts_name(rdi_dcm_ts ts)
{
    switch (ts) {
    case RDI_TS_IMPLICIT_LE: return "Implicit VR Little Endian";
    case RDI_TS_EXPLICIT_LE: return "Explicit VR Little Endian";
    case RDI_TS_EXPLICIT_BE: return "Explicit VR Big Endian";
    case RDI_TS_DEFLATED_LE: return "Deflated Explicit VR Little Endian";
    case RDI_TS_RLE: return "RLE Lossless";
    case RDI_TS_JPEG_BASELINE: return "JPEG Baseline (lossy)";
    case RDI_TS_JPEG_EXTENDED: return "JPEG Extended (lossy, 12-bit)";
    case RDI_TS_JPEG_LOSSLESS: return "JPEG Lossless";
    case RDI_TS_JPEG_LS: return "JPEG-LS";
    case RDI_TS_J2K: return "JPEG 2000";
    case RDI_TS_HTJ2K: return "High-Throughput JPEG 2000";
    case RDI_TS_OTHER: break;
    }
    return "an unknown transfer syntax";
}

radi_status rdi_dcm_decode(rdi_dcm_ts ts, const uint8_t *src, size_t n, const rdi_dcm_frame_fmt *fmt,
                           void *out, size_t out_len, const char *what)
{
    switch (ts) {
    case RDI_TS_RLE: return rdi_dcm_decode_rle(src, n, fmt, out, out_len, what);
    case RDI_TS_JPEG_LOSSLESS: return rdi_dcm_decode_jpegll(src, n, fmt, out, out_len, what);
    case RDI_TS_JPEG_LS: return rdi_dcm_decode_jls(src, n, fmt, out, out_len, what);
    /* OpenJPEG reads both: HTJ2K is Part 15's block coder inside a Part 1 codestream. */
    case RDI_TS_J2K:
    case RDI_TS_HTJ2K: return rdi_dcm_decode_j2k(src, n, fmt, out, out_len, what);
    default: break;
    }
    return rdi_error(RADI_E_UNSUPPORTED, "%s: %s is not supported", what, rdi_dcm_ts_name(ts));
}

radi_status rdi_dcm_check_fmt(const rdi_dcm_frame_fmt *fmt, size_t out_len, const char *codec,
                              const char *what, size_t *nsamples)
{
    if (!fmt || (fmt->bits_allocated != 8 && fmt->bits_allocated != 16))
        return rdi_error(RADI_E_INVALID, "%s: %s: bits allocated must be 8 or 16, not %u", what, codec,
                         fmt ? fmt->bits_allocated : 0u);
    if (fmt->bits_stored < 1 || fmt->bits_stored > fmt->bits_allocated)
        return rdi_error(RADI_E_INVALID, "%s: %s: bits stored %u does not fit bits allocated %u", what,
                         codec, fmt->bits_stored, fmt->bits_allocated);
    if (fmt->pixel_representation > 1)
        return rdi_error(RADI_E_INVALID, "%s: %s: pixel representation %u (expected 0 or 1)", what, codec,
                         fmt->pixel_representation);
    if (fmt->rows == 0 || fmt->cols == 0)
        return rdi_error(RADI_E_INVALID, "%s: %s: empty frame (%u x %u)", what, codec, fmt->rows,
                         fmt->cols);
    /* rows and cols are 32-bit, so the product fits 64 bits; it must fit size_t too. */
    uint64_t ns = (uint64_t)fmt->rows * fmt->cols;
    uint64_t bytes = ns * (fmt->bits_allocated / 8u);
    if (bytes > SIZE_MAX || bytes != (uint64_t)out_len)
        return rdi_error(RADI_E_INVALID, "%s: %s: output buffer is %zu bytes, the frame is %llu", what,
                         codec, out_len, (unsigned long long)bytes);
    *nsamples = (size_t)ns;
    return RADI_OK;
}

void rdi_dcm_sign_extend(void *out, size_t n, unsigned bits_allocated, unsigned bits)
{
    if (bits == 0 || bits >= bits_allocated) return;
    /* (v ^ m) - m with m the sign bit turns the low `bits` bits into a signed value. */
    if (bits_allocated == 8) {
        uint8_t *p = out;
        const int m = 1 << (bits - 1), mask = (1 << bits) - 1;
        for (size_t i = 0; i < n; i++) p[i] = (uint8_t)((((int)p[i] & mask) ^ m) - m);
    } else {
        uint16_t *p = out;
        const int32_t m = (int32_t)1 << (bits - 1), mask = ((int32_t)1 << bits) - 1;
        for (size_t i = 0; i < n; i++) p[i] = (uint16_t)((((int32_t)p[i] & mask) ^ m) - m);
    }
}

void rdi_dcm_finish_sign(void *out, size_t n, const rdi_dcm_frame_fmt *fmt)
{
    if (fmt->pixel_representation == 1) rdi_dcm_sign_extend(out, n, fmt->bits_allocated, fmt->bits_stored);
}
