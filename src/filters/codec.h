/*
 * Internal interface between the chunk pipeline (tile.c) and the per-part codecs
 * (codec.c). A "stage" is one filter of a pipeline resolved against the datatype it sees
 * (earlier filters may change it: DELTA reinterpretation, XOR). Layouts follow TileDB
 * exactly (docs/format.md §4).
 */
#ifndef RDI_FILTERS_CODEC_H
#define RDI_FILTERS_CODEC_H

#include <zlib.h>

#include "filters/filters.h"

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;
struct libdeflate_decompressor;

struct rdi_scratch {
    struct ZSTD_CCtx_s *zc;
    struct ZSTD_DCtx_s *zd;
    struct libdeflate_decompressor *inflater;
    z_stream zs;          /* deflate state kept across parts; reset per part */
    int zs_level;         /* level zs was initialised with */
    int zs_ready;
    rdi_buf d[2], m[2];   /* ping-pong data / metadata temporaries between stages */
    rdi_buf t;            /* per-codec temporary (bitshuffle) */
};

typedef struct rdi_stage {
    radi_filter_type type;   /* resolved: the compressor byte decides for compressors */
    int32_t level;
    radi_datatype dtype;     /* datatype this filter sees */
    radi_datatype elem;      /* DELTA/DOUBLE_DELTA element type (reinterpret or dtype) */
    uint32_t window;
    uint32_t cell_size;      /* tile cell size (RLE values) */
} rdi_stage;

/* Resolves fl into stages against the tile's datatype; RADI_E_UNSUPPORTED names any
 * filter radi cannot apply. */
radi_status rdi_stages_resolve(const radi_filter_list *fl, radi_datatype type, uint32_t cell_size,
                               rdi_stage *st, const char *what);

/* Whether the stage is a TileDB CompressionFilter (parts-model compressor layout). */
int rdi_stage_is_compressor(radi_filter_type t);

/* Appends the compressed form of src[0..n) to out. */
radi_status rdi_codec_compress(rdi_scratch *s, const rdi_stage *st, const uint8_t *src, size_t n,
                               rdi_buf *out);
/* Decompresses src[0..n) into exactly dst_len bytes at dst. */
radi_status rdi_codec_decompress(rdi_scratch *s, const rdi_stage *st, const uint8_t *src,
                                 size_t n, uint8_t *dst, size_t dst_len, const char *what);

/* Shuffles, T = element size; n bytes; the n % T tail (byte) or untransposed tail
 * (bit) is copied. Bitshuffle works on 8 KiB blocks as blosc2 does inside TileDB. */
void rdi_byteshuffle(const uint8_t *src, uint8_t *dst, size_t n, size_t T);
void rdi_byteunshuffle(const uint8_t *src, uint8_t *dst, size_t n, size_t T);
void rdi_bitshuffle(const uint8_t *src, uint8_t *dst, size_t n, size_t T, int inverse);

/* Little-endian load of a w-byte (1..8) unsigned value. */
static inline uint64_t rdi_ldw(const uint8_t *p, unsigned w)
{
    uint64_t v = 0;
    memcpy(&v, p, w);
    return v;
}

/* A w-byte value sign-extended to int64 (C++'s int64_t(T) for signed T). */
static inline int64_t rdi_sext(uint64_t v, unsigned w)
{
    if (w >= 8) return (int64_t)v;
    unsigned sh = 64 - 8 * w;
    return (int64_t)(v << sh) >> sh;
}

/* Integer element width of a DELTA/DOUBLE_DELTA/positive-delta/BWR type: 1, 2, 4, 8;
 * 0 when the type is not integral (float, unknown). *sgn tells signedness. */
unsigned rdi_int_width(radi_datatype t, int *sgn);

#endif
