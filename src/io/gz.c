/*
 * gzip for .nii.gz: libdeflate decodes whole members straight into the destination (the
 * fastest packaged inflater); zlib streaming takes over when a member is larger than the
 * space left (ISIZE lies or wraps past 4 GiB, or trailing data follows the voxels), since
 * libdeflate can only decode a member whole.
 */
#include <libdeflate.h>
#include <zlib.h>

#include "io/nifti.h"

int rdi_gz_is_gzip(const uint8_t *p, size_t len)
{
    return len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

uint64_t rdi_gz_max_expansion(uint64_t n)
{
    /* A deflate block can encode at most 258 bytes per ~2 bits: 1032:1. */
    if (n > UINT64_MAX / 1032 - 4096) return UINT64_MAX;
    return n * 1032 + 4096;
}

static radi_status truncated(const char *what, size_t got, size_t need)
{
    return rdi_error(RADI_E_CORRUPT, "%s: truncated: gzip data ends after %zu of the %zu bytes needed",
                     what, got, need);
}

/* Inflates what is left of the current member into a scratch buffer, to its trailer,
 * so that zlib checks the CRC and length: bytes past `need` are discarded, not trusted
 * unchecked. */
static radi_status finish_member(z_stream *zs, const uint8_t *src, size_t n, size_t *in_pos, const char *what)
{
    uint8_t scratch[16384];
    const size_t step = (size_t)1 << 30;
    for (;;) {
        if (zs->avail_in == 0) {
            if (*in_pos >= n)
                return rdi_error(RADI_E_CORRUPT, "%s: truncated: the gzip member ends before its trailer", what);
            zs->next_in = (Bytef *)(src + *in_pos);
            zs->avail_in = (uInt)RDI_MIN(step, n - *in_pos);
            *in_pos += zs->avail_in;
        }
        zs->next_out = scratch;
        zs->avail_out = sizeof scratch;
        int r = inflate(zs, Z_NO_FLUSH);
        if (r == Z_STREAM_END) return RADI_OK;
        if (r == Z_OK || (r == Z_BUF_ERROR && zs->avail_in == 0)) continue;
        return rdi_error(RADI_E_CORRUPT, "%s: corrupt gzip data (%s)", what, zs->msg ? zs->msg : "zlib error");
    }
}

/* zlib streaming from a member boundary until `need` bytes are out; with `verify`, the
 * member holding the last of them is then read to its end (CRC and length checked). */
static radi_status inflate_stream(const uint8_t *src, size_t n, uint8_t *dst, size_t need, const char *what,
                                  size_t *got, int verify)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK) return rdi_error(RADI_E_NOMEM, "%s: zlib init failed", what);
    size_t in_pos = 0, out_pos = 0;
    radi_status s = RADI_OK;
    const size_t step = (size_t)1 << 30; /* uInt-sized pieces */
    int ended = 0;
    while (out_pos < need) {
        ended = 0;
        if (zs.avail_in == 0) {
            if (in_pos >= n) { s = truncated(what, out_pos, need); break; }
            zs.next_in = (Bytef *)(src + in_pos);
            zs.avail_in = (uInt)RDI_MIN(step, n - in_pos);
            in_pos += zs.avail_in;
        }
        zs.next_out = dst + out_pos;
        zs.avail_out = (uInt)RDI_MIN(step, need - out_pos);
        uInt before = zs.avail_out;
        int r = inflate(&zs, Z_NO_FLUSH);
        out_pos += before - zs.avail_out;
        if (r == Z_STREAM_END) {
            ended = 1;
            if (out_pos >= need) break;
            /* Next member, if any: rewind the unread input to its start. */
            size_t at = in_pos - zs.avail_in;
            if (!rdi_gz_is_gzip(src + at, n - at)) { s = truncated(what, out_pos, need); break; }
            inflateReset(&zs);
            continue;
        }
        if (r == Z_OK) continue;
        if (r == Z_BUF_ERROR && zs.avail_in == 0 && in_pos < n) continue;
        if (r == Z_BUF_ERROR) { s = truncated(what, out_pos, need); break; }
        s = rdi_error(RADI_E_CORRUPT, "%s: corrupt gzip data after %zu output bytes (%s)", what,
                      out_pos, zs.msg ? zs.msg : "zlib error");
        break;
    }
    if (s == RADI_OK && verify && !ended) s = finish_member(&zs, src, n, &in_pos, what);
    inflateEnd(&zs);
    if (got) *got = out_pos;
    return s;
}

radi_status rdi_gz_inflate_stream(const uint8_t *src, size_t n, uint8_t *dst, size_t need, const char *what,
                                  size_t *got)
{
    return inflate_stream(src, n, dst, need, what, got, 0);
}

radi_status rdi_gz_inflate(const uint8_t *src, size_t n, uint8_t *dst, size_t need,
                           const char *what, size_t *got)
{
    if (got) *got = 0;
    if (!rdi_gz_is_gzip(src, n)) return rdi_error(RADI_E_CORRUPT, "%s: not gzip data (bad magic)", what);
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    if (!d) return rdi_nomem();
    size_t in_pos = 0, out_pos = 0;
    radi_status s = RADI_OK;
    while (out_pos < need) {
        if (!rdi_gz_is_gzip(src + in_pos, n - in_pos)) { s = truncated(what, out_pos, need); break; }
        size_t in_used = 0, out_got = 0;
        enum libdeflate_result r = libdeflate_gzip_decompress_ex(
            d, src + in_pos, n - in_pos, dst + out_pos, need - out_pos, &in_used, &out_got);
        if (r == LIBDEFLATE_SUCCESS) {
            in_pos += in_used;
            out_pos += out_got;
            continue;
        }
        if (r == LIBDEFLATE_INSUFFICIENT_SPACE) {
            /* More in this member than needed (legal trailing bytes, or damage): zlib
             * stops at `need`, then checks the rest of the member. */
            size_t more = 0;
            s = inflate_stream(src + in_pos, n - in_pos, dst + out_pos, need - out_pos, what, &more, 1);
            out_pos += more;
            break;
        }
        /* BAD_DATA also covers a member cut short: zlib tells the two apart. */
        size_t more = 0;
        s = inflate_stream(src + in_pos, n - in_pos, dst + out_pos, need - out_pos, what, &more, 1);
        out_pos += more;
        if (s == RADI_OK) /* zlib accepted what libdeflate refused: trust neither */
            s = rdi_error(RADI_E_CORRUPT, "%s: corrupt gzip member at compressed byte %zu", what, in_pos);
        break;
    }
    libdeflate_free_decompressor(d);
    if (got) *got = out_pos;
    return s;
}

radi_status rdi_gz_compress(const uint8_t *src, size_t n, int level, rdi_buf *out, const char *what)
{
    if (level < 0) level = 6;
    if (level > 12) level = 12;
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
    if (!c) return rdi_nomem();
    size_t bound = libdeflate_gzip_compress_bound(c, n);
    radi_status s = rdi_buf_reserve(out, bound);
    if (s == RADI_OK) {
        size_t w = libdeflate_gzip_compress(c, src, n, out->data + out->len, bound);
        if (w == 0) s = rdi_error(RADI_E_CODEC, "%s: gzip compression failed", what);
        else out->len += w;
    }
    libdeflate_free_compressor(c);
    return s;
}
