/*
 * Strided 2-D transpose. The work is cut into blocks small enough that the source and
 * destination cache lines a block touches stay in L1 until they are used whole; inside a
 * block, K x K squares move through SSE2 unpacks (8 x 8 for 1- and 2-byte values, 4 x 4
 * for 4, 2 x 2 for 8), so a value costs a fraction of a cycle instead of a scalar load and
 * store at a stride. Leftover rows and columns go value by value.
 */
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/transpose.h"

/* Value by value; memcpy with a constant size compiles to one move. */
#define SCALAR(E)                                                                          \
    static void scalar_##E(const uint8_t *s, uint64_t ss, uint8_t *d, uint64_t ds,         \
                           uint64_t rows, uint64_t cols, size_t e)                         \
    {                                                                                      \
        const size_t n = (E) ? (E) : e;                                                    \
        for (uint64_t r = 0; r < rows; r++)                                                \
            for (uint64_t c = 0; c < cols; c++)                                            \
                memcpy(d + (c * ds + r) * n, s + (r * ss + c) * n, n);                     \
    }
SCALAR(1)
SCALAR(2)
SCALAR(4)
SCALAR(8)
SCALAR(0)

static void scalar(const uint8_t *s, uint64_t ss, uint8_t *d, uint64_t ds, uint64_t rows,
                   uint64_t cols, size_t e)
{
    if (rows == 0 || cols == 0) return;
    switch (e) {
    case 1: scalar_1(s, ss, d, ds, rows, cols, e); break;
    case 2: scalar_2(s, ss, d, ds, rows, cols, e); break;
    case 4: scalar_4(s, ss, d, ds, rows, cols, e); break;
    case 8: scalar_8(s, ss, d, ds, rows, cols, e); break;
    default: scalar_0(s, ss, d, ds, rows, cols, e); break;
    }
}

#if defined(__SSE2__)

/* The K x K kernels: s and d point at the square's first value, ss and ds are row
 * strides in bytes. */
#define LD(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define LDL(p) _mm_loadl_epi64((const __m128i *)(const void *)(p))
#define ST(p, v) _mm_storeu_si128((__m128i *)(void *)(p), (v))
#define STL(p, v) _mm_storel_epi64((__m128i *)(void *)(p), (v))

static inline void k8x8_1(const uint8_t *s, size_t ss, uint8_t *d, size_t ds)
{
    __m128i b0 = _mm_unpacklo_epi8(LDL(s), LDL(s + ss));
    __m128i b1 = _mm_unpacklo_epi8(LDL(s + 2 * ss), LDL(s + 3 * ss));
    __m128i b2 = _mm_unpacklo_epi8(LDL(s + 4 * ss), LDL(s + 5 * ss));
    __m128i b3 = _mm_unpacklo_epi8(LDL(s + 6 * ss), LDL(s + 7 * ss));
    __m128i c0 = _mm_unpacklo_epi16(b0, b1), c1 = _mm_unpackhi_epi16(b0, b1);
    __m128i c2 = _mm_unpacklo_epi16(b2, b3), c3 = _mm_unpackhi_epi16(b2, b3);
    __m128i e0 = _mm_unpacklo_epi32(c0, c2), e1 = _mm_unpackhi_epi32(c0, c2);
    __m128i e2 = _mm_unpacklo_epi32(c1, c3), e3 = _mm_unpackhi_epi32(c1, c3);
    STL(d, e0);
    STL(d + ds, _mm_unpackhi_epi64(e0, e0));
    STL(d + 2 * ds, e1);
    STL(d + 3 * ds, _mm_unpackhi_epi64(e1, e1));
    STL(d + 4 * ds, e2);
    STL(d + 5 * ds, _mm_unpackhi_epi64(e2, e2));
    STL(d + 6 * ds, e3);
    STL(d + 7 * ds, _mm_unpackhi_epi64(e3, e3));
}

static inline void k8x8_2(const uint8_t *s, size_t ss, uint8_t *d, size_t ds)
{
    __m128i a0 = LD(s), a1 = LD(s + ss), a2 = LD(s + 2 * ss), a3 = LD(s + 3 * ss);
    __m128i a4 = LD(s + 4 * ss), a5 = LD(s + 5 * ss), a6 = LD(s + 6 * ss), a7 = LD(s + 7 * ss);
    __m128i b0 = _mm_unpacklo_epi16(a0, a1), b1 = _mm_unpackhi_epi16(a0, a1);
    __m128i b2 = _mm_unpacklo_epi16(a2, a3), b3 = _mm_unpackhi_epi16(a2, a3);
    __m128i b4 = _mm_unpacklo_epi16(a4, a5), b5 = _mm_unpackhi_epi16(a4, a5);
    __m128i b6 = _mm_unpacklo_epi16(a6, a7), b7 = _mm_unpackhi_epi16(a6, a7);
    __m128i c0 = _mm_unpacklo_epi32(b0, b2), c1 = _mm_unpackhi_epi32(b0, b2);
    __m128i c2 = _mm_unpacklo_epi32(b1, b3), c3 = _mm_unpackhi_epi32(b1, b3);
    __m128i c4 = _mm_unpacklo_epi32(b4, b6), c5 = _mm_unpackhi_epi32(b4, b6);
    __m128i c6 = _mm_unpacklo_epi32(b5, b7), c7 = _mm_unpackhi_epi32(b5, b7);
    ST(d, _mm_unpacklo_epi64(c0, c4));
    ST(d + ds, _mm_unpackhi_epi64(c0, c4));
    ST(d + 2 * ds, _mm_unpacklo_epi64(c1, c5));
    ST(d + 3 * ds, _mm_unpackhi_epi64(c1, c5));
    ST(d + 4 * ds, _mm_unpacklo_epi64(c2, c6));
    ST(d + 5 * ds, _mm_unpackhi_epi64(c2, c6));
    ST(d + 6 * ds, _mm_unpacklo_epi64(c3, c7));
    ST(d + 7 * ds, _mm_unpackhi_epi64(c3, c7));
}

static inline void k4x4_4(const uint8_t *s, size_t ss, uint8_t *d, size_t ds)
{
    __m128i a0 = LD(s), a1 = LD(s + ss), a2 = LD(s + 2 * ss), a3 = LD(s + 3 * ss);
    __m128i b0 = _mm_unpacklo_epi32(a0, a1), b1 = _mm_unpackhi_epi32(a0, a1);
    __m128i b2 = _mm_unpacklo_epi32(a2, a3), b3 = _mm_unpackhi_epi32(a2, a3);
    ST(d, _mm_unpacklo_epi64(b0, b2));
    ST(d + ds, _mm_unpackhi_epi64(b0, b2));
    ST(d + 2 * ds, _mm_unpacklo_epi64(b1, b3));
    ST(d + 3 * ds, _mm_unpackhi_epi64(b1, b3));
}

static inline void k2x2_8(const uint8_t *s, size_t ss, uint8_t *d, size_t ds)
{
    __m128i a0 = LD(s), a1 = LD(s + ss);
    ST(d, _mm_unpacklo_epi64(a0, a1));
    ST(d + ds, _mm_unpackhi_epi64(a0, a1));
}

/* One block of nr x nc values: the squares through the kernel, the rest value by value. */
#define BLOCKED(NAME, K, E)                                                                \
    static void NAME(const uint8_t *s, uint64_t ss, uint8_t *d, uint64_t ds, uint64_t nr,  \
                     uint64_t nc)                                                          \
    {                                                                                      \
        const uint64_t kr = nr - nr % (K), kc = nc - nc % (K);                             \
        for (uint64_t r = 0; r < kr; r += (K))                                             \
            for (uint64_t c = 0; c < kc; c += (K))                                         \
                k##K##x##K##_##E(s + (r * ss + c) * (E), (size_t)(ss * (E)),               \
                                 d + (c * ds + r) * (E), (size_t)(ds * (E)));              \
        scalar(s + kc * (E), ss, d + kc * ds * (E), ds, kr, nc - kc, (E));                 \
        scalar(s + kr * ss * (E), ss, d + kr * (E), ds, nr - kr, nc, (E));                 \
    }
BLOCKED(block_1, 8, 1)
BLOCKED(block_2, 8, 2)
BLOCKED(block_4, 4, 4)
BLOCKED(block_8, 2, 8)

#endif

void rdi_transpose(const void *src, uint64_t src_stride, void *dst, uint64_t dst_stride,
                   uint64_t rows, uint64_t cols, size_t elem)
{
    const uint8_t *s = src;
    uint8_t *d = dst;
    /* A block spans about 128 bytes of values each way: 16-32 cache lines per side. */
    const uint64_t b = elem >= 8 ? 16 : elem >= 4 ? 32 : 64;
    for (uint64_t r0 = 0; r0 < rows; r0 += b) {
        const uint64_t nr = rows - r0 < b ? rows - r0 : b;
        for (uint64_t c0 = 0; c0 < cols; c0 += b) {
            const uint64_t nc = cols - c0 < b ? cols - c0 : b;
            const uint8_t *bs = s + (r0 * src_stride + c0) * elem;
            uint8_t *bd = d + (c0 * dst_stride + r0) * elem;
            switch (elem) {
#if defined(__SSE2__)
            case 1: block_1(bs, src_stride, bd, dst_stride, nr, nc); break;
            case 2: block_2(bs, src_stride, bd, dst_stride, nr, nc); break;
            case 4: block_4(bs, src_stride, bd, dst_stride, nr, nc); break;
            case 8: block_8(bs, src_stride, bd, dst_stride, nr, nc); break;
#endif
            default: scalar(bs, src_stride, bd, dst_stride, nr, nc, elem); break;
            }
        }
    }
}
