/* Per-part codecs with TileDB's exact byte layouts (docs/format.md §4). */
#include <libdeflate.h>
#include <lz4.h>
#include <stdlib.h>
#include <zstd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "filters/codec.h"

int rdi_stage_is_compressor(radi_filter_type t)
{
    switch (t) {
    case RADI_FILTER_GZIP:
    case RADI_FILTER_ZSTD:
    case RADI_FILTER_LZ4:
    case RADI_FILTER_RLE:
    case RADI_FILTER_BZIP2:
    case RADI_FILTER_DOUBLE_DELTA:
    case RADI_FILTER_DICTIONARY:
    case RADI_FILTER_DELTA:
        return 1;
    default:
        return 0;
    }
}

unsigned rdi_int_width(radi_datatype t, int *sgn)
{
    int code = (int)t;
    *sgn = 0;
    switch (t) {
    case RADI_INT8: *sgn = 1; return 1;
    case RADI_UINT8: case RADI_BOOL: case RADI_BLOB: case RADI_CHAR:
    case RADI_STRING_ASCII: case RADI_STRING_UTF8: case RADI_ANY:
        return 1;
    case RADI_INT16: *sgn = 1; return 2;
    case RADI_UINT16: return 2;
    case RADI_INT32: *sgn = 1; return 4;
    case RADI_UINT32: return 4;
    case RADI_INT64: *sgn = 1; return 8;
    case RADI_UINT64: return 8;
    default: break;
    }
    /* DATETIME_* 18-30 and TIME_* 31-39 are int64 on disk. */
    if (code >= 18 && code <= 39) {
        *sgn = 1;
        return 8;
    }
    return 0;
}

/* ---- little helpers over 1/2/4/8-byte little-endian integers ---- */

static inline void st_w(uint8_t *p, uint64_t v, unsigned w)
{
    switch (w) {
    case 1: p[0] = (uint8_t)v; break;
    case 2: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
    case 4: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
    default: memcpy(p, &v, 8); break;
    }
}

/* Value as int64 the way C++ converts T to int64_t (sign- or zero-extension). */
static inline int64_t as_i64(uint64_t raw, unsigned w, int sgn) { return sgn ? rdi_sext(raw, w) : (int64_t)raw; }

/* ---- GZIP (zlib stream) ---- */

static radi_status gzip_compress(rdi_scratch *s, int level, const uint8_t *src, size_t n, rdi_buf *out)
{
    if (level > 9) return rdi_error(RADI_E_INVALID, "gzip level %d out of range (max 9)", level);
    if (level < 0) level = Z_DEFAULT_COMPRESSION;   /* TileDB maps every level < 0 to -1 */
    if (n > UINT32_MAX) return rdi_error(RADI_E_INVALID, "gzip part of %zu bytes too large", n);
    if (s->zs_ready && s->zs_level != level) {
        deflateEnd(&s->zs);
        s->zs_ready = 0;
    }
    if (!s->zs_ready) {
        memset(&s->zs, 0, sizeof s->zs);
        if (deflateInit(&s->zs, level) != Z_OK) return rdi_error(RADI_E_CODEC, "gzip: deflateInit failed");
        s->zs_ready = 1;
        s->zs_level = level;
    } else if (deflateReset(&s->zs) != Z_OK) {
        return rdi_error(RADI_E_CODEC, "gzip: deflateReset failed");
    }
    size_t bound = deflateBound(&s->zs, (uLong)n);
    RDI_TRY(rdi_buf_reserve(out, bound));
    s->zs.next_in = (Bytef *)(uintptr_t)src;
    s->zs.avail_in = (uInt)n;
    s->zs.next_out = out->data + out->len;
    s->zs.avail_out = (uInt)bound;
    int rc = deflate(&s->zs, Z_FINISH);
    if (rc != Z_STREAM_END) return rdi_error(RADI_E_CODEC, "gzip: deflate failed (%d)", rc);
    out->len += bound - s->zs.avail_out;
    return RADI_OK;
}

static radi_status gzip_decompress(rdi_scratch *s, const uint8_t *src, size_t n, uint8_t *dst,
                                   size_t dst_len, const char *what)
{
    if (!s->inflater) {
        s->inflater = libdeflate_alloc_decompressor();
        if (!s->inflater) return rdi_nomem();
    }
    size_t got = 0;
    enum libdeflate_result r = libdeflate_zlib_decompress(s->inflater, src, n, dst, dst_len, &got);
    if (r != LIBDEFLATE_SUCCESS || got != dst_len)
        return rdi_error(RADI_E_CODEC, "%s: gzip data is corrupt (%zu bytes, expected %zu out)", what,
                         n, dst_len);
    return RADI_OK;
}

/* ---- ZSTD (one frame per part) ---- */

static radi_status zstd_compress(rdi_scratch *s, int level, const uint8_t *src, size_t n, rdi_buf *out)
{
    if (level < -7) level = 3;   /* TileDB: below its lower limit means zstd's default */
    if (!s->zc) {
        s->zc = ZSTD_createCCtx();
        if (!s->zc) return rdi_nomem();
    }
    size_t bound = ZSTD_compressBound(n);
    RDI_TRY(rdi_buf_reserve(out, bound));
    size_t r = ZSTD_compressCCtx(s->zc, out->data + out->len, bound, src, n, level);
    if (ZSTD_isError(r)) return rdi_error(RADI_E_CODEC, "zstd: %s", ZSTD_getErrorName(r));
    out->len += r;
    return RADI_OK;
}

static radi_status zstd_decompress(rdi_scratch *s, const uint8_t *src, size_t n, uint8_t *dst,
                                   size_t dst_len, const char *what)
{
    if (!s->zd) {
        s->zd = ZSTD_createDCtx();
        if (!s->zd) return rdi_nomem();
    }
    size_t r = ZSTD_decompressDCtx(s->zd, dst, dst_len, src, n);
    if (ZSTD_isError(r))
        return rdi_error(RADI_E_CODEC, "%s: zstd data is corrupt: %s", what, ZSTD_getErrorName(r));
    if (r != dst_len)
        return rdi_error(RADI_E_CODEC, "%s: zstd part decoded to %zu bytes, expected %zu", what, r,
                         dst_len);
    return RADI_OK;
}

/* ---- LZ4 (raw block) ---- */

static radi_status lz4_compress(const uint8_t *src, size_t n, rdi_buf *out)
{
    if (n > LZ4_MAX_INPUT_SIZE) return rdi_error(RADI_E_INVALID, "lz4 part of %zu bytes too large", n);
    int bound = LZ4_compressBound((int)n);
    RDI_TRY(rdi_buf_reserve(out, (size_t)bound));
    int r = LZ4_compress_default((const char *)src, (char *)out->data + out->len, (int)n, bound);
    if (r <= 0) return rdi_error(RADI_E_CODEC, "lz4 compression failed");
    out->len += (size_t)r;
    return RADI_OK;
}

static radi_status lz4_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len,
                                  const char *what)
{
    if (n > INT32_MAX || dst_len > INT32_MAX)
        return rdi_error(RADI_E_CORRUPT, "%s: lz4 part too large", what);
    int r = LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)dst_len);
    if (r < 0 || (size_t)r != dst_len)
        return rdi_error(RADI_E_CODEC, "%s: lz4 data is corrupt", what);
    return RADI_OK;
}

/* ---- RLE over fixed-size values: value | u16 big-endian run, runs <= 65535 ---- */

static radi_status rle_compress(uint32_t vs, const uint8_t *src, size_t n, rdi_buf *out)
{
    if (vs == 0) return rdi_error(RADI_E_INVALID, "rle: zero cell size");
    size_t nv = n / vs;
    if (nv == 0) return RADI_OK;
    if (n % vs) return rdi_error(RADI_E_INVALID, "rle: %zu bytes is not a multiple of cell size %u", n, vs);
    RDI_TRY(rdi_buf_reserve(out, n + 2 * nv));
    uint8_t *o = out->data + out->len;
    const uint8_t *prev = src;
    unsigned run = 1;
    for (size_t i = 1; i < nv; i++) {
        const uint8_t *cur = src + i * vs;
        if (run < 65535 && memcmp(cur, prev, vs) == 0) {
            run++;
        } else {
            memcpy(o, prev, vs);
            o[vs] = (uint8_t)(run >> 8);
            o[vs + 1] = (uint8_t)run;
            o += vs + 2;
            run = 1;
        }
        prev = cur;
    }
    memcpy(o, prev, vs);
    o[vs] = (uint8_t)(run >> 8);
    o[vs + 1] = (uint8_t)run;
    o += vs + 2;
    out->len = (size_t)(o - out->data);
    return RADI_OK;
}

static radi_status rle_decompress(uint32_t vs, const uint8_t *src, size_t n, uint8_t *dst,
                                  size_t dst_len, const char *what)
{
    if (vs == 0) return rdi_error(RADI_E_INVALID, "%s: rle with zero cell size", what);
    size_t rs = (size_t)vs + 2, nr = n / rs;
    if (n % rs) return rdi_error(RADI_E_CORRUPT, "%s: rle data of %zu bytes is not whole runs", what, n);
    size_t at = 0;
    for (size_t i = 0; i < nr; i++) {
        const uint8_t *r = src + i * rs;
        size_t run = ((size_t)r[vs] << 8) | r[vs + 1];
        if (run > (dst_len - at) / vs)
            return rdi_error(RADI_E_CORRUPT, "%s: rle runs exceed the %zu-byte part", what, dst_len);
        if (vs == 1) {
            memset(dst + at, r[0], run);
            at += run;
        } else {
            for (size_t j = 0; j < run; j++, at += vs) memcpy(dst + at, r, vs);
        }
    }
    if (at != dst_len)
        return rdi_error(RADI_E_CORRUPT, "%s: rle runs give %zu bytes, expected %zu", what, at, dst_len);
    return RADI_OK;
}

/* ---- DELTA: u64 n | x0 | (x[i] - x[i-1]) truncated to the element width ---- */

static radi_status delta_compress(const rdi_stage *st, const uint8_t *src, size_t n, rdi_buf *out)
{
    int sgn;
    unsigned w = rdi_int_width(st->elem, &sgn);
    if (!w) return rdi_error(RADI_E_INVALID, "delta filter: unsupported type %s", radi_datatype_name(st->elem));
    if (n % w) return rdi_error(RADI_E_INVALID, "delta filter: %zu bytes is not whole %u-byte values", n, w);
    uint64_t num = n / w;
    RDI_TRY(rdi_buf_reserve(out, 8 + n));
    uint8_t *o = out->data + out->len;
    memcpy(o, &num, 8);
    o += 8;
    if (num) memcpy(o, src, w);
    uint64_t prev = num ? rdi_ldw(src, w) : 0;
    for (uint64_t i = 1; i < num; i++) {
        uint64_t cur = rdi_ldw(src + i * w, w);
        st_w(o + i * w, cur - prev, w);
        prev = cur;
    }
    out->len += 8 + n;
    return RADI_OK;
}

static radi_status delta_decompress(const rdi_stage *st, const uint8_t *src, size_t n, uint8_t *dst,
                                    size_t dst_len, const char *what)
{
    int sgn;
    unsigned w = rdi_int_width(st->elem, &sgn);
    if (!w) return rdi_error(RADI_E_UNSUPPORTED, "%s: delta filter on type %s", what, radi_datatype_name(st->elem));
    uint64_t num;
    if (n < 8) return rdi_error(RADI_E_CORRUPT, "%s: delta part truncated", what);
    memcpy(&num, src, 8);
    if (num != dst_len / w || dst_len % w || n - 8 != dst_len)
        return rdi_error(RADI_E_CORRUPT, "%s: delta part of %zu bytes does not hold %zu bytes", what, n,
                         dst_len);
    src += 8;
    switch (w) {
    case 1: { uint8_t a = 0; for (size_t i = 0; i < dst_len; i++) dst[i] = a = (uint8_t)(i ? a + src[i] : src[i]); break; }
    case 2: case 4: case 8: {
        uint64_t acc = 0;
        for (uint64_t i = 0; i < num; i++) {
            uint64_t d = rdi_ldw(src + i * w, w);
            acc = i ? acc + d : d;
            st_w(dst + i * w, acc, w);
        }
        break;
    }
    }
    return RADI_OK;
}

/* ---- DOUBLE_DELTA: u8 bitsize | u64 n | x0 | x1 | sign+magnitude dd's packed MSB-first
 * into u64 words; raw values when bitsize >= 8*T-1 ---- */

static radi_status dd_compress(const rdi_stage *st, const uint8_t *src, size_t n, rdi_buf *out)
{
    int sgn;
    unsigned w = rdi_int_width(st->elem, &sgn);
    if (!w)
        return rdi_error(RADI_E_INVALID, "double-delta filter: unsupported type %s",
                         radi_datatype_name(st->elem));
    if (n % w || n == 0)
        return rdi_error(RADI_E_INVALID, "double-delta filter: %zu bytes is not whole %u-byte values", n, w);
    uint64_t num = n / w;
    /* Bit size of max(|x1-x0|, max |dd|), computed in int64 like TileDB (which refuses
     * deltas that overflow int64). */
    uint64_t maxd = 0;
    if (num > 2) {
        int64_t prevd = 0;
        for (uint64_t i = 1; i < num; i++) {
            int64_t c = as_i64(rdi_ldw(src + i * w, w), w, sgn), p = as_i64(rdi_ldw(src + (i - 1) * w, w), w, sgn);
            int64_t d, dd;
            if (w == 8 && !sgn) {
                uint64_t uc = (uint64_t)c, up = (uint64_t)p;
                uint64_t mag = uc >= up ? uc - up : up - uc;
                if ((uc >= up && mag > (uint64_t)INT64_MAX) || (uc < up && mag > (uint64_t)INT64_MAX + 1))
                    return rdi_error(RADI_E_INVALID, "double-delta: delta exceeds range of int64");
                d = uc >= up ? (int64_t)mag : (int64_t)(0 - mag);
            } else if (__builtin_sub_overflow(c, p, &d)) {
                return rdi_error(RADI_E_INVALID, "double-delta: delta exceeds range of int64");
            }
            if (i == 1) {
                maxd = d < 0 ? 0 - (uint64_t)d : (uint64_t)d;
            } else {
                if (__builtin_sub_overflow(d, prevd, &dd))
                    return rdi_error(RADI_E_INVALID, "double-delta: double delta out of bounds");
                uint64_t a = dd < 0 ? 0 - (uint64_t)dd : (uint64_t)dd;
                if (a > maxd) maxd = a;
            }
            prevd = d;
        }
    }
    unsigned bits = 0;
    if (num > 2) {
        do {
            bits++;
            maxd >>= 1;
        } while (maxd);
    }
    RDI_TRY(rdi_buf_reserve(out, 9 + 2 * (size_t)n + 16));
    uint8_t *o = out->data + out->len;
    o[0] = (uint8_t)bits;
    memcpy(o + 1, &num, 8);
    o += 9;
    if (bits >= 8 * w - 1) {
        memcpy(o, src, n);
        out->len += 9 + n;
        return RADI_OK;
    }
    memcpy(o, src, w);
    o += w;
    if (num > 1) {
        memcpy(o, src + w, w);
        o += w;
    }
    if (num > 2) {
        uint64_t word = 0;
        int fill = 0;   /* bits used in word, from the MSB */
        int64_t prevd = as_i64(rdi_ldw(src + w, w), w, sgn) - as_i64(rdi_ldw(src, w), w, sgn);
        for (uint64_t i = 2; i < num; i++) {
            int64_t d = (int64_t)((uint64_t)as_i64(rdi_ldw(src + i * w, w), w, sgn) -
                                  (uint64_t)as_i64(rdi_ldw(src + (i - 1) * w, w), w, sgn));
            int64_t dd = (int64_t)((uint64_t)d - (uint64_t)prevd);
            prevd = d;
            uint64_t mag = dd < 0 ? 0 - (uint64_t)dd : (uint64_t)dd;
            /* sign bit then `bits` magnitude bits, MSB first */
            uint64_t v = ((uint64_t)(dd < 0) << bits) | (bits < 64 ? mag & ((UINT64_C(1) << bits) - 1) : mag);
            int left = (int)bits + 1;
            while (left > 0) {
                int take = RDI_MIN(left, 64 - fill);
                uint64_t chunk = (v >> (left - take)) & (take == 64 ? UINT64_MAX : ((UINT64_C(1) << take) - 1));
                word |= chunk << (64 - fill - take);
                fill += take;
                left -= take;
                if (fill == 64) {
                    memcpy(o, &word, 8);
                    o += 8;
                    word = 0;
                    fill = 0;
                }
            }
        }
        if (fill) {
            memcpy(o, &word, 8);
            o += 8;
        }
    }
    out->len = (size_t)(o - out->data);
    return RADI_OK;
}

static radi_status dd_decompress(const rdi_stage *st, const uint8_t *src, size_t n, uint8_t *dst,
                                 size_t dst_len, const char *what)
{
    int sgn;
    unsigned w = rdi_int_width(st->elem, &sgn);
    if (!w) return rdi_error(RADI_E_UNSUPPORTED, "%s: double-delta filter on type %s", what,
                             radi_datatype_name(st->elem));
    if (n < 9) return rdi_error(RADI_E_CORRUPT, "%s: double-delta part truncated", what);
    unsigned bits = src[0];
    uint64_t num;
    memcpy(&num, src + 1, 8);
    src += 9;
    n -= 9;
    if (dst_len % w || num != dst_len / w)
        return rdi_error(RADI_E_CORRUPT, "%s: double-delta holds %llu values, expected %zu bytes", what,
                         (unsigned long long)num, dst_len);
    if (bits >= 8 * w - 1) {
        if (n != dst_len) return rdi_error(RADI_E_CORRUPT, "%s: double-delta raw part size mismatch", what);
        memcpy(dst, src, n);
        return RADI_OK;
    }
    if (num == 0) return RADI_OK;
    if (n < w * RDI_MIN(num, 2)) return rdi_error(RADI_E_CORRUPT, "%s: double-delta part truncated", what);
    memcpy(dst, src, w);
    if (num == 1) return RADI_OK;
    memcpy(dst + w, src + w, w);
    src += 2 * w;
    n -= 2 * w;
    uint64_t p2 = rdi_ldw(dst, w), p1 = rdi_ldw(dst + w, w);
    uint64_t word = 0;
    int avail = 0;   /* unread bits left in word, from the MSB side */
    size_t pos = 0;
    for (uint64_t i = 2; i < num; i++) {
        uint64_t v = 0;
        int left = (int)bits + 1;
        while (left > 0) {
            if (avail == 0) {
                /* A word is loaded only when a bit is needed, which also covers TileDB's
                 * reader quirk at the end of the stream. */
                if (n - pos < 8) return rdi_error(RADI_E_CORRUPT, "%s: double-delta bits truncated", what);
                memcpy(&word, src + pos, 8);
                pos += 8;
                avail = 64;
            }
            int take = RDI_MIN(left, avail);
            uint64_t chunk = (word >> (avail - take)) & (take == 64 ? UINT64_MAX : ((UINT64_C(1) << take) - 1));
            v = take == 64 ? chunk : (v << take) | chunk;
            avail -= take;
            left -= take;
        }
        uint64_t mag = bits < 64 ? v & ((UINT64_C(1) << bits) - 1) : v;
        int neg = (int)((v >> bits) & 1);
        uint64_t dd = neg ? 0 - mag : mag;
        uint64_t val = dd + 2 * p1 - p2;
        st_w(dst + i * w, val, w);
        p2 = p1;
        p1 = rdi_ldw(dst + i * w, w);
    }
    return RADI_OK;
}

radi_status rdi_codec_compress(rdi_scratch *s, const rdi_stage *st, const uint8_t *src, size_t n,
                               rdi_buf *out)
{
    switch (st->type) {
    case RADI_FILTER_GZIP: return gzip_compress(s, st->level, src, n, out);
    case RADI_FILTER_ZSTD: return zstd_compress(s, st->level, src, n, out);
    case RADI_FILTER_LZ4: return lz4_compress(src, n, out);
    case RADI_FILTER_RLE: return rle_compress(st->cell_size, src, n, out);
    case RADI_FILTER_DELTA: return delta_compress(st, src, n, out);
    case RADI_FILTER_DOUBLE_DELTA: return dd_compress(st, src, n, out);
    default:
        return rdi_error(RADI_E_UNSUPPORTED, "filter %s is not supported for writing",
                         radi_filter_type_name(st->type));
    }
}

radi_status rdi_codec_decompress(rdi_scratch *s, const rdi_stage *st, const uint8_t *src, size_t n,
                                 uint8_t *dst, size_t dst_len, const char *what)
{
    switch (st->type) {
    case RADI_FILTER_GZIP: return gzip_decompress(s, src, n, dst, dst_len, what);
    case RADI_FILTER_ZSTD: return zstd_decompress(s, src, n, dst, dst_len, what);
    case RADI_FILTER_LZ4: return lz4_decompress(src, n, dst, dst_len, what);
    case RADI_FILTER_RLE: return rle_decompress(st->cell_size, src, n, dst, dst_len, what);
    case RADI_FILTER_DELTA: return delta_decompress(st, src, n, dst, dst_len, what);
    case RADI_FILTER_DOUBLE_DELTA: return dd_decompress(st, src, n, dst, dst_len, what);
    default:
        return rdi_error(RADI_E_UNSUPPORTED, "%s: filter %s is not supported", what,
                         radi_filter_type_name(st->type));
    }
}

/* ---- shuffles ---- */

void rdi_byteshuffle(const uint8_t *src, uint8_t *dst, size_t n, size_t T)
{
    if (n == 0) return; /* empty parts may come with NULL buffers */
    if (T <= 1 || n < T) {
        memcpy(dst, src, n);
        return;
    }
    size_t ne = n / T;
    for (size_t j = 0; j < T; j++) {
        uint8_t *o = dst + j * ne;
        const uint8_t *p = src + j;
        for (size_t i = 0; i < ne; i++) o[i] = p[i * T];
    }
    memcpy(dst + ne * T, src + ne * T, n - ne * T);
}

#ifdef __SSE2__
/* 16 elements per step: interleave the byte planes with unpack instructions (SSE2 is
 * the x86-64 baseline). Returns the number of elements done. */
static size_t unshuffle_sse2(const uint8_t *src, uint8_t *dst, size_t ne, size_t T)
{
    size_t i = 0;
    if (T == 2) {
        for (; i + 16 <= ne; i += 16) {
            __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
            __m128i b = _mm_loadu_si128((const __m128i *)(src + ne + i));
            _mm_storeu_si128((__m128i *)(dst + 2 * i), _mm_unpacklo_epi8(a, b));
            _mm_storeu_si128((__m128i *)(dst + 2 * i + 16), _mm_unpackhi_epi8(a, b));
        }
    } else if (T == 4) {
        for (; i + 16 <= ne; i += 16) {
            __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
            __m128i b = _mm_loadu_si128((const __m128i *)(src + ne + i));
            __m128i c = _mm_loadu_si128((const __m128i *)(src + 2 * ne + i));
            __m128i d = _mm_loadu_si128((const __m128i *)(src + 3 * ne + i));
            __m128i ab0 = _mm_unpacklo_epi8(a, b), ab1 = _mm_unpackhi_epi8(a, b);
            __m128i cd0 = _mm_unpacklo_epi8(c, d), cd1 = _mm_unpackhi_epi8(c, d);
            uint8_t *o = dst + 4 * i;
            _mm_storeu_si128((__m128i *)o, _mm_unpacklo_epi16(ab0, cd0));
            _mm_storeu_si128((__m128i *)(o + 16), _mm_unpackhi_epi16(ab0, cd0));
            _mm_storeu_si128((__m128i *)(o + 32), _mm_unpacklo_epi16(ab1, cd1));
            _mm_storeu_si128((__m128i *)(o + 48), _mm_unpackhi_epi16(ab1, cd1));
        }
    } else if (T == 8) {
        for (; i + 16 <= ne; i += 16) {
            __m128i p[8], q[8], r[8];
            for (int j = 0; j < 8; j++) p[j] = _mm_loadu_si128((const __m128i *)(src + (size_t)j * ne + i));
            for (int j = 0; j < 4; j++) {
                q[2 * j] = _mm_unpacklo_epi8(p[2 * j], p[2 * j + 1]);
                q[2 * j + 1] = _mm_unpackhi_epi8(p[2 * j], p[2 * j + 1]);
            }
            /* q0,q1: bytes 0-1 of elements 0-7, 8-15; q2,q3: bytes 2-3; ... */
            for (int h = 0; h < 2; h++) {
                r[4 * h + 0] = _mm_unpacklo_epi16(q[h], q[2 + h]);
                r[4 * h + 1] = _mm_unpackhi_epi16(q[h], q[2 + h]);
                r[4 * h + 2] = _mm_unpacklo_epi16(q[4 + h], q[6 + h]);
                r[4 * h + 3] = _mm_unpackhi_epi16(q[4 + h], q[6 + h]);
            }
            /* r[4h+0/1]: bytes 0-3 of elements 8h+0..3 / 8h+4..7; r[4h+2/3]: bytes 4-7 */
            uint8_t *o = dst + 8 * i;
            for (int h = 0; h < 2; h++) {
                for (int k = 0; k < 2; k++) {
                    __m128i lo = r[4 * h + k], hi = r[4 * h + 2 + k];
                    _mm_storeu_si128((__m128i *)(o + 64 * h + 32 * k), _mm_unpacklo_epi32(lo, hi));
                    _mm_storeu_si128((__m128i *)(o + 64 * h + 32 * k + 16), _mm_unpackhi_epi32(lo, hi));
                }
            }
        }
    }
    return i;
}
#endif

/* The read hot path: interleave T byte planes back into elements. Whole 64 KiB chunks
 * stay in L2, so this runs close to memory speed. */
void rdi_byteunshuffle(const uint8_t *src, uint8_t *dst, size_t n, size_t T)
{
    if (n == 0) return; /* empty parts may come with NULL buffers */
    if (T <= 1 || n < T) {
        memcpy(dst, src, n);
        return;
    }
    size_t ne = n / T, i0 = 0;
#ifdef __SSE2__
    i0 = unshuffle_sse2(src, dst, ne, T);
#endif
    for (size_t j = 0; j < T; j++) {
        const uint8_t *p = src + j * ne;
        uint8_t *o = dst + j;
        for (size_t i = i0; i < ne; i++) o[i * T] = p[i];
    }
    memcpy(dst + ne * T, src + ne * T, n - ne * T);
}

/* 8x8 bit-matrix transpose: bit 8r+c moves to bit 8c+r. */
static inline uint64_t tr8(uint64_t x)
{
    uint64_t t;
    t = (x ^ (x >> 7)) & UINT64_C(0x00AA00AA00AA00AA);
    x ^= t ^ (t << 7);
    t = (x ^ (x >> 14)) & UINT64_C(0x0000CCCC0000CCCC);
    x ^= t ^ (t << 14);
    t = (x ^ (x >> 28)) & UINT64_C(0x00000000F0F0F0F0);
    x ^= t ^ (t << 28);
    return x;
}

/* One blosc2 bitshuffle block: n elements (a multiple of 8) of T bytes; output bit
 * k*n+i (LSB first in bytes) is bit k of element i. Done as a byte shuffle into planes
 * (one per byte of the element) plus an 8x8 bit transpose of every 8 plane bytes. */
static void bitshuffle_block(const uint8_t *src, uint8_t *dst, size_t bs, size_t T, int inverse)
{
    uint8_t planes[8192];
    size_t n = bs / T;
    n -= n % 8;
    size_t g8 = n / 8;
    if (!inverse) {
        rdi_byteshuffle(src, planes, n * T, T);
        for (size_t j = 0; j < T; j++) {
            for (size_t g = 0; g < g8; g++) {
                uint64_t x = tr8(rdi_ldw(planes + j * n + 8 * g, 8));
                for (int b = 0; b < 8; b++) dst[(8 * j + (size_t)b) * g8 + g] = (uint8_t)(x >> (8 * b));
            }
        }
    } else {
        for (size_t j = 0; j < T; j++) {
            const uint8_t *row = src + 8 * j * g8;
            for (size_t g = 0; g < g8; g++) {
                uint64_t x = 0;
                for (int b = 0; b < 8; b++) x |= (uint64_t)row[(size_t)b * g8 + g] << (8 * b);
                x = tr8(x);
                memcpy(planes + j * n + 8 * g, &x, 8);
            }
        }
        rdi_byteunshuffle(planes, dst, n * T, T);
    }
    memcpy(dst + n * T, src + n * T, bs - n * T);
}

void rdi_bitshuffle(const uint8_t *src, uint8_t *dst, size_t n, size_t T, int inverse)
{
    if (n == 0) return; /* empty parts may come with NULL buffers */
    for (size_t at = 0; at < n; at += 8192) {
        size_t bs = RDI_MIN((size_t)8192, n - at);
        bitshuffle_block(src + at, dst + at, bs, T, inverse);
    }
}
