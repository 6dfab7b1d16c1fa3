/*
 * RLE Lossless (DICOM PS3.5 Annex G), radi's own. A frame is a 64-byte header (the segment
 * count, then 15 little-endian offsets from the frame start) and one PackBits segment per
 * byte plane of the composite pixel code, most significant byte first: 16-bit samples are
 * two segments (high bytes, then low bytes). Each segment decodes to rows*cols bytes.
 */
#include "io/dicom/codec_internal.h"

#define RLE_CODEC "RLE Lossless"

/* PackBits segment src[0..n) into exactly `need` bytes, stored every `stride` bytes from
 * dst. A header byte h: 0..127 copies h+1 literal bytes, -1..-127 repeats the next byte
 * 1-h times, -128 is a no-op. Encoders pad a segment to an even length, so input left once
 * the plane is full is ignored; a plane left short is corrupt. */
static radi_status unpack_segment(const uint8_t *src, size_t n, uint8_t *dst, size_t stride, size_t need,
                                  unsigned seg, const char *what)
{
    size_t i = 0, o = 0;
    while (o < need && i < n) {
        int h = (int8_t)src[i++];
        if (h >= 0) {
            size_t run = (size_t)h + 1;
            if (run > n - i)
                return rdi_error(RADI_E_CORRUPT, "%s: " RLE_CODEC ": segment %u: literal run of %zu bytes "
                                 "past the segment's end", what, seg + 1, run);
            if (run > need - o) run = need - o;
            for (size_t k = 0; k < run; k++) dst[(o + k) * stride] = src[i + k];
            i += run;
            o += run;
        } else if (h != -128) {
            if (i >= n)
                return rdi_error(RADI_E_CORRUPT, "%s: " RLE_CODEC ": segment %u: replicate run without its byte",
                                 what, seg + 1);
            size_t run = (size_t)(1 - h);
            uint8_t b = src[i++];
            if (run > need - o) run = need - o;
            for (size_t k = 0; k < run; k++) dst[(o + k) * stride] = b;
            o += run;
        }
    }
    if (o < need)
        return rdi_error(RADI_E_CORRUPT, "%s: " RLE_CODEC ": segment %u decodes to %zu bytes, expected %zu",
                         what, seg + 1, o, need);
    return RADI_OK;
}

radi_status rdi_dcm_decode_rle(const uint8_t *src, size_t n, const rdi_dcm_frame_fmt *fmt, void *out,
                               size_t out_len, const char *what)
{
    size_t ns;
    RDI_TRY(rdi_dcm_check_fmt(fmt, out_len, RLE_CODEC, what, &ns));
    if (!src || n < 64)
        return rdi_error(RADI_E_CORRUPT, "%s: " RLE_CODEC ": frame of %zu bytes is shorter than its 64-byte header",
                         what, n);
    const unsigned bytes = fmt->bits_allocated / 8u;
    uint32_t nseg = rdi_ld32(src);
    if (nseg != bytes)
        return rdi_error(nseg > 15 || nseg == 0 ? RADI_E_CORRUPT : RADI_E_UNSUPPORTED,
                         "%s: " RLE_CODEC ": %u segments, expected %u for one %u-bit sample per pixel", what,
                         nseg, bytes, fmt->bits_allocated);
    uint32_t off[16];
    for (unsigned s = 0; s < nseg; s++) off[s] = rdi_ld32(src + 4 + 4 * s);
    off[nseg] = (uint32_t)RDI_MIN(n, (size_t)UINT32_MAX);
    for (unsigned s = 0; s < nseg; s++)
        if (off[s] < 64 || off[s] > off[s + 1] || off[s] > n)
            return rdi_error(RADI_E_CORRUPT, "%s: " RLE_CODEC ": segment %u offset %u is outside the frame "
                             "(64..%zu, increasing)", what, s + 1, off[s], n);
    uint8_t *o = out;
    for (unsigned s = 0; s < nseg; s++) {
        /* Segment s holds byte plane s counted from the most significant; in a host-order
         * (little-endian) sample that byte sits at offset bytes-1-s. */
        RDI_TRY(unpack_segment(src + off[s], off[s + 1] - off[s], o + (bytes - 1 - s), bytes, ns, s, what));
    }
    rdi_dcm_finish_sign(out, ns, fmt);
    return RADI_OK;
}
