/*
 * Copies between decoded dense tiles and the caller's buffer. The scatter is where TileDB
 * loses most of its time (measured by bench/bench_dense.py against TileDB-Py): an axial 240×240×1 tile goes into an
 * x,y,z row-major result at a stride of 155 cells. Consecutive tiles along the output's
 * fastest dimension are copied together, output row by output row, so the output is
 * written in address order in runs of at least a cache line instead of one cell per line.
 */
#include <stdlib.h>
#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

#include "tdb/dense.h"

#define PF_AHEAD 8                            /* output rows prefetched ahead in a group copy */
#define BLOCK 32                              /* cells per side of a transposition block */

/* Strided element copies, specialised by cell size so the element move is one load and
 * one store (memcpy of a constant size), also for unaligned caller buffers. */
#define DEF_STRIDED(NAME, CS)                                                                    \
    static void NAME(uint8_t *d, int64_t ds, const uint8_t *s, int64_t ss, int64_t n, size_t cs) \
    {                                                                                            \
        RDI_UNUSED(cs);                                                                          \
        for (int64_t i = 0; i < n; i++) memcpy(d + i * ds * (CS), s + i * ss * (CS), (CS));      \
    }
DEF_STRIDED(strided1, 1)
DEF_STRIDED(strided2, 2)
DEF_STRIDED(strided4, 4)
DEF_STRIDED(strided8, 8)
static void strided_any(uint8_t *d, int64_t ds, const uint8_t *s, int64_t ss, int64_t n, size_t cs)
{
    for (int64_t i = 0; i < n; i++) memcpy(d + (size_t)(i * ds) * cs, s + (size_t)(i * ss) * cs, cs);
}

typedef void (*strided_fn)(uint8_t *, int64_t, const uint8_t *, int64_t, int64_t, size_t);

static strided_fn strided_for(size_t cs)
{
    switch (cs) {
    case 1: return strided1;
    case 2: return strided2;
    case 4: return strided4;
    case 8: return strided8;
    default: return strided_any;
    }
}

/* Copies one piece. Rows contiguous on both sides are memcpy'd; otherwise the two fastest
 * dimensions (output's and tile's) are walked in BLOCK×BLOCK blocks so both sides stay in
 * cache (a transposition). */
void rdi_dense_copy_piece(const piece *pc, uint32_t ndim, size_t cs)
{
    nd dims[4];
    uint32_t k = rdi_dense_normalize(pc->n, pc->ss, pc->ds, ndim, dims);
    if (k == 0) {
        memcpy(pc->dst, pc->src, cs);
        return;
    }
    uint32_t S = 0;
    for (uint32_t i = 1; i < k; i++)
        if (dims[i].ss < dims[S].ss) S = i;
    strided_fn fn = strided_for(cs);
    nd o[3] = {{1, 0, 0}, {1, 0, 0}, {1, 0, 0}};
    uint32_t no = 0;
    for (uint32_t i = 1; i < k; i++)
        if (i != S) o[no++] = dims[i];
    const nd D = dims[0], SS = dims[S];
    for (int64_t i2 = 0; i2 < o[2].n; i2++)
        for (int64_t i1 = 0; i1 < o[1].n; i1++)
            for (int64_t i0 = 0; i0 < o[0].n; i0++) {
                const uint8_t *s = pc->src + (size_t)(i2 * o[2].ss + i1 * o[1].ss + i0 * o[0].ss) * cs;
                uint8_t *d = pc->dst + (size_t)(i2 * o[2].ds + i1 * o[1].ds + i0 * o[0].ds) * cs;
                if (S == 0) {
                    if (D.ss == 1 && D.ds == 1) memcpy(d, s, (size_t)D.n * cs);
                    else fn(d, D.ds, s, D.ss, D.n, cs);
                    continue;
                }
                for (int64_t a0 = 0; a0 < SS.n; a0 += BLOCK) {
                    int64_t na = RDI_MIN(BLOCK, SS.n - a0);
                    for (int64_t b0 = 0; b0 < D.n; b0 += BLOCK) {
                        int64_t nb = RDI_MIN(BLOCK, D.n - b0);
                        for (int64_t a = a0; a < a0 + na; a++)
                            fn(d + (size_t)(a * SS.ds + b0 * D.ds) * cs, D.ds,
                               s + (size_t)(a * SS.ss + b0 * D.ss) * cs, D.ss, nb, cs);
                    }
                }
            }
}

/* Copies a group of whole-box pieces that follow each other along the output's fastest
 * dimension g (stride 1) and share every other extent. For each output row along g,
 * every piece supplies its cells in turn: the output is written in address order, and
 * each tile is read as a sequential stream whose cache lines serve the following rows. */
#define DEF_GROUP(NAME, CS)                                                                        \
    static void NAME(const uint8_t *const *src, const int64_t *ng, const int64_t *ssg, uint32_t np, \
                     uint8_t *dst, const nd *o, int64_t ns, int64_t sss, int64_t sds)               \
    {                                                                                             \
        int unit = 1;                                                                             \
        for (uint32_t k = 0; k < np; k++) unit &= ng[k] == 1;                                     \
        for (int64_t i2 = 0; i2 < o[2].n; i2++)                                                   \
            for (int64_t i1 = 0; i1 < o[1].n; i1++)                                               \
                for (int64_t i0 = 0; i0 < o[0].n; i0++)                                           \
                    for (int64_t a = 0; a < ns; a++) {                                            \
                        int64_t so = i2 * o[2].ss + i1 * o[1].ss + i0 * o[0].ss + a * sss;        \
                        uint8_t *d = dst + (size_t)(i2 * o[2].ds + i1 * o[1].ds + i0 * o[0].ds + a * sds) * (CS); \
                        /* Rows may be far apart: fetch a few ahead for writing (an address   \
                         * past the buffer is harmless to a prefetch). */                     \
                        uintptr_t ahead = (uintptr_t)d + (uintptr_t)(PF_AHEAD * sds) * (CS);      \
                        __builtin_prefetch((const void *)ahead, 1);                               \
                        __builtin_prefetch((const void *)(ahead + 63), 1);                        \
                        if (unit) /* one cell per tile per row (axial tiles): a gather */         \
                            for (uint32_t k = 0; k < np; k++, d += (CS))                          \
                                memcpy(d, src[k] + (size_t)so * (CS), (CS));                      \
                        else                                                                      \
                            for (uint32_t k = 0; k < np; k++) {                                   \
                                const uint8_t *sp = src[k] + (size_t)so * (CS);                   \
                                for (int64_t j = 0; j < ng[k]; j++, d += (CS))                    \
                                    memcpy(d, sp + (size_t)(j * ssg[k]) * (CS), (CS));            \
                            }                                                                     \
                    }                                                                             \
    }
DEF_GROUP(group1, 1)
DEF_GROUP(group2, 2)
DEF_GROUP(group4, 4)
DEF_GROUP(group8, 8)

#if defined(__SSE2__)
/* The commonest transposition (4-byte cells, one cell per tile per output row, tiles
 * contiguous along their fastest dimension: axial tiles of float32 into x,y,z order) with
 * 4×4 register transposes: four output rows at a time, four tiles at a time. */
static int group4_sse(const uint8_t *const *src, const int64_t *ng, uint32_t np, uint8_t *dst, const nd *o,
                      int64_t ns, int64_t sss, int64_t sds)
{
    for (uint32_t k = 0; k < np; k++)
        if (ng[k] != 1) return 0;
    if (sss != 1 || np < 4) return 0;
    for (int64_t i2 = 0; i2 < o[2].n; i2++)
        for (int64_t i1 = 0; i1 < o[1].n; i1++)
            for (int64_t i0 = 0; i0 < o[0].n; i0++) {
                int64_t so = i2 * o[2].ss + i1 * o[1].ss + i0 * o[0].ss;
                uint8_t *base = dst + (size_t)(i2 * o[2].ds + i1 * o[1].ds + i0 * o[0].ds) * 4;
                int64_t a = 0;
                for (; a + 4 <= ns; a += 4) {
                    uint8_t *d0 = base + (size_t)(a * sds) * 4, *d1 = d0 + (size_t)sds * 4;
                    uint8_t *d2 = d1 + (size_t)sds * 4, *d3 = d2 + (size_t)sds * 4;
                    uintptr_t ahead = (uintptr_t)d0 + (uintptr_t)(PF_AHEAD * sds) * 4;
                    __builtin_prefetch((const void *)ahead, 1);
                    __builtin_prefetch((const void *)(ahead + (uintptr_t)sds * 4), 1);
                    __builtin_prefetch((const void *)(ahead + (uintptr_t)sds * 8), 1);
                    __builtin_prefetch((const void *)(ahead + (uintptr_t)sds * 12), 1);
                    uint32_t k = 0;
                    for (; k + 4 <= np; k += 4) {
                        __m128 r0 = _mm_loadu_ps((const float *)(const void *)(src[k] + (size_t)(so + a) * 4));
                        __m128 r1 = _mm_loadu_ps((const float *)(const void *)(src[k + 1] + (size_t)(so + a) * 4));
                        __m128 r2 = _mm_loadu_ps((const float *)(const void *)(src[k + 2] + (size_t)(so + a) * 4));
                        __m128 r3 = _mm_loadu_ps((const float *)(const void *)(src[k + 3] + (size_t)(so + a) * 4));
                        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
                        _mm_storeu_ps((float *)(void *)(d0 + k * 4), r0);
                        _mm_storeu_ps((float *)(void *)(d1 + k * 4), r1);
                        _mm_storeu_ps((float *)(void *)(d2 + k * 4), r2);
                        _mm_storeu_ps((float *)(void *)(d3 + k * 4), r3);
                    }
                    for (; k < np; k++)
                        for (int j = 0; j < 4; j++)
                            memcpy(d0 + (size_t)(j * sds + k) * 4, src[k] + (size_t)(so + a + j) * 4, 4);
                }
                for (; a < ns; a++)
                    for (uint32_t k = 0; k < np; k++)
                        memcpy(base + (size_t)(a * sds + k) * 4, src[k] + (size_t)(so + a) * 4, 4);
            }
    return 1;
}
#endif

/* Copies a group of pieces (see DEF_GROUP); src, ng and ssg are scratch of np entries. */
void rdi_dense_copy_group(const piece *pcs, uint32_t np, uint32_t ndim, uint32_t g, uint32_t sf, size_t cs,
                       const uint8_t **src, int64_t *ng, int64_t *ssg)
{
    const piece *p0 = &pcs[0];
    nd o[3] = {{1, 0, 0}, {1, 0, 0}, {1, 0, 0}};
    uint32_t no = 0;
    for (uint32_t d = 0; d < ndim; d++)
        if (d != g && d != sf && p0->n[d] > 1) o[no++] = (nd){p0->n[d], p0->ss[d], p0->ds[d]};
    const int64_t ns = sf < ndim ? p0->n[sf] : 1;
    const int64_t sss = sf < ndim ? p0->ss[sf] : 0, sds = sf < ndim ? p0->ds[sf] : 0;
    for (uint32_t k = 0; k < np; k++) {
        src[k] = pcs[k].src;
        ng[k] = pcs[k].n[g];
        ssg[k] = pcs[k].ss[g];
    }
    switch (cs) {
    case 1: group1(src, ng, ssg, np, p0->dst, o, ns, sss, sds); return;
    case 2: group2(src, ng, ssg, np, p0->dst, o, ns, sss, sds); return;
    case 4:
#if defined(__SSE2__)
        if (group4_sse(src, ng, np, p0->dst, o, ns, sss, sds)) return;
#endif
        group4(src, ng, ssg, np, p0->dst, o, ns, sss, sds);
        return;
    case 8: group8(src, ng, ssg, np, p0->dst, o, ns, sss, sds); return;
    default:
        /* Multi-value cells: one piece at a time. */
        for (uint32_t k = 0; k < np; k++) rdi_dense_copy_piece(&pcs[k], ndim, cs);
    }
}

/* Writes the fill value into the output cells of box. */
void rdi_dense_fill_box(const plan *p, uint8_t *out, const int64_t *box, const uint8_t *fill, size_t cs)
{
    int64_t n[4] = {1, 1, 1, 1};
    nd o[3] = {{1, 0, 0}, {1, 0, 0}, {1, 0, 0}};
    uint32_t no = 0;
    for (uint32_t d = 0; d < p->ndim; d++) {
        n[d] = box[2 * d + 1] - box[2 * d] + 1;
        if (d != p->g) o[no++] = (nd){n[d], 0, (int64_t)p->ostride[d]};
    }
    int uniform = 1;
    for (size_t b = 1; b < cs; b++) uniform &= fill[b] == fill[0];
    size_t run = (size_t)n[p->g] * cs;
    uint64_t base = 0;
    for (uint32_t d = 0; d < p->ndim; d++) base += (uint64_t)(box[2 * d] - p->q[2 * d]) * p->ostride[d];
    for (int64_t i2 = 0; i2 < o[2].n; i2++)
        for (int64_t i1 = 0; i1 < o[1].n; i1++)
            for (int64_t i0 = 0; i0 < o[0].n; i0++) {
                uint8_t *d = out + (size_t)(base + (uint64_t)(i2 * o[2].ds + i1 * o[1].ds + i0 * o[0].ds)) * cs;
                if (uniform) {
                    memset(d, fill[0], run);
                    continue;
                }
                memcpy(d, fill, cs);
                for (size_t done = cs; done < run;) {
                    size_t m = RDI_MIN(done, run - done);
                    memcpy(d + done, d, m);
                    done += m;
                }
            }
}
