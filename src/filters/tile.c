/*
 * TileDB's chunked tile format and the filter pipeline's parts model
 * (docs/format.md §4): each filter maps (metadata, data) to new
 * (metadata, data); compressors compress the earlier filters' metadata too.
 */
#include <libdeflate.h>
#include <stdlib.h>
#include <zstd.h>

#include "filters/codec.h"

radi_status rdi_scratch_create(rdi_scratch **out)
{
    rdi_scratch *s = rdi_calloc(1, sizeof *s);
    if (!s) return RADI_E_NOMEM;
    *out = s;
    return RADI_OK;
}

void rdi_scratch_free(rdi_scratch *s)
{
    if (!s) return;
    ZSTD_freeCCtx(s->zc);
    ZSTD_freeDCtx(s->zd);
    if (s->inflater) libdeflate_free_decompressor(s->inflater);
    if (s->zs_ready) deflateEnd(&s->zs);
    for (int i = 0; i < 2; i++) {
        rdi_buf_free(&s->d[i]);
        rdi_buf_free(&s->m[i]);
    }
    rdi_buf_free(&s->t);
    free(s);
}

typedef struct span {
    const uint8_t *p;
    size_t n;
} span;

static int is_string(radi_datatype t) { return t == RADI_STRING_ASCII || t == RADI_STRING_UTF8; }

static size_t elem_size(radi_datatype t)
{
    size_t w = radi_datatype_size(t);
    return w ? w : 1;
}

/* ==================================================================== forward == */

#define MAX_MPARTS (RADI_MAX_FILTERS + 2)

typedef struct fmeta {
    const uint8_t *p;
    size_t n;
    uint32_t parts[MAX_MPARTS];   /* lengths of the metadata parts, in order */
    uint32_t np;
} fmeta;

/* New metadata = header (already in om) followed by the incoming metadata parts. */
static radi_status meta_prepend(rdi_buf *om, size_t hdr_len, const fmeta *in, fmeta *out)
{
    RDI_TRY(rdi_buf_append(om, in->p, in->n));
    if (in->np + 1 > MAX_MPARTS) return rdi_error(RADI_E_INTERNAL, "too many metadata parts");
    /* in and out may be the same: shift from the end. */
    for (uint32_t i = in->np; i > 0; i--) out->parts[i] = in->parts[i - 1];
    out->parts[0] = (uint32_t)hdr_len;
    out->np = in->np + 1;
    out->p = om->data;
    out->n = om->len;
    return RADI_OK;
}

/* Window layout shared by positive-delta and bit-width reduction. */
static uint32_t window_bytes(uint32_t n, uint32_t maxw, unsigned w)
{
    uint32_t ws = RDI_MIN(n, maxw) / w * w;
    return ws;
}

static radi_status fwd_compress(rdi_scratch *s, const rdi_stage *st, fmeta *m, span *d, rdi_buf *om,
                                rdi_buf *od)
{
    uint32_t nparts = m->np + 1;
    RDI_TRY(rdi_buf_put_u32(om, m->np));
    RDI_TRY(rdi_buf_put_u32(om, 1));
    const uint8_t *mp = m->p;
    for (uint32_t i = 0; i < nparts; i++) {
        const uint8_t *src = i < m->np ? mp : d->p;
        size_t n = i < m->np ? m->parts[i] : d->n;
        size_t before = od->len;
        RDI_TRY(rdi_codec_compress(s, st, src, n, od));
        if (od->len - before > UINT32_MAX) return rdi_error(RADI_E_INVALID, "compressed part exceeds 4 GiB");
        RDI_TRY(rdi_buf_put_u32(om, (uint32_t)n));
        RDI_TRY(rdi_buf_put_u32(om, (uint32_t)(od->len - before)));
        if (i < m->np) mp += n;
    }
    m->p = om->data;
    m->n = om->len;
    m->parts[0] = (uint32_t)om->len;
    m->np = 1;
    d->p = od->data;
    d->n = od->len;
    return RADI_OK;
}

static radi_status fwd_shuffle(const rdi_stage *st, fmeta *m, span *d, rdi_buf *om, rdi_buf *od)
{
    size_t T = elem_size(st->dtype);
    uint32_t sizes[2], np = 0;
    if (st->type == RADI_FILTER_BITSHUFFLE && d->n % 8) {
        sizes[np++] = (uint32_t)(d->n - d->n % 8);
        sizes[np++] = (uint32_t)(d->n % 8);
    } else {
        sizes[np++] = (uint32_t)d->n;
    }
    RDI_TRY(rdi_buf_put_u32(om, np));
    for (uint32_t i = 0; i < np; i++) RDI_TRY(rdi_buf_put_u32(om, sizes[i]));
    RDI_TRY(rdi_buf_reserve(od, d->n));
    const uint8_t *src = d->p;
    uint8_t *dst = od->data;
    for (uint32_t i = 0; i < np; i++) {
        size_t n = sizes[i];
        if (st->type == RADI_FILTER_BYTESHUFFLE) {
            rdi_byteshuffle(src, dst, n, T);
        } else if (st->type == RADI_FILTER_BITSHUFFLE) {
            if (n % T || n % 8) memcpy(dst, src, n);
            else rdi_bitshuffle(src, dst, n, T, 0);
        } else { /* XOR */
            if (n % T) return rdi_error(RADI_E_INVALID, "xor filter: %zu bytes is not whole values", n);
            if (n) {
                memcpy(dst, src, T);
                for (size_t k = T; k < n; k++) dst[k] = src[k] ^ src[k - T];
            }
        }
        /* Pointer arithmetic on an empty part's NULL buffers is undefined, so skip it. */
        if (n) {
            src += n;
            dst += n;
        }
    }
    od->len = d->n;
    RDI_TRY(meta_prepend(om, 4 + 4 * (size_t)np, m, m));
    d->p = od->data;
    return RADI_OK;
}

/* Positive delta (bwr == 0) or bit-width reduction (bwr == 1) over one data part. */
static radi_status fwd_window(const rdi_stage *st, int bwr, fmeta *m, span *d, rdi_buf *om, rdi_buf *od)
{
    int sgn;
    unsigned w = rdi_int_width(st->dtype, &sgn);
    if (!w || (bwr && w == 1) || rdi_datatype_is_string(st->dtype) || st->dtype == RADI_CHAR ||
        st->dtype == RADI_ANY)
        return RADI_OK;   /* TileDB passes these types through unchanged */
    if (d->n > UINT32_MAX) return rdi_error(RADI_E_INVALID, "filter part exceeds 4 GiB");
    uint32_t n = (uint32_t)d->n;
    uint32_t ws = window_bytes(n, st->window, w);
    uint32_t nwin = n == 0 ? 0 : ws == 0 ? 1 : n / ws + (n % ws != 0);
    if (bwr) RDI_TRY(rdi_buf_put_u32(om, n));
    RDI_TRY(rdi_buf_put_u32(om, nwin));
    RDI_TRY(rdi_buf_reserve(od, n));
    uint8_t *o = od->data;
    for (uint32_t i = 0; i < nwin; i++) {
        uint32_t at = ws ? i * ws : 0;
        uint32_t wn = ws ? RDI_MIN(ws, n - at) : n;
        const uint8_t *src = d->p + at;
        uint32_t ne = wn / w;
        uint8_t first[8] = {0};
        memcpy(first, src, RDI_MIN(w, wn));
        if (!bwr) {
            RDI_TRY(rdi_buf_append(om, first, w));
            RDI_TRY(rdi_buf_put_u32(om, wn));
            if (wn % w) {
                memcpy(o, src, wn);
                o += wn;
                continue;
            }
            uint64_t prev = rdi_ldw(src, w);
            for (uint32_t k = 0; k < ne; k++) {
                uint64_t cur = rdi_ldw(src + (size_t)k * w, w);
                int less = sgn ? rdi_sext(cur, w) < rdi_sext(prev, w) : cur < prev;
                if (less) return rdi_error(RADI_E_INVALID, "positive-delta filter: data is not increasing");
                uint64_t dv = cur - prev;
                memcpy(o, &dv, w);
                o += w;
                prev = cur;
            }
            continue;
        }
        /* Bit-width reduction: the window's min and the byte width of (max - min + 1),
         * computed in T like TileDB (overflow means "no reduction"). */
        unsigned bits = 8 * w;
        uint64_t minv = 0;
        if (ne > 0) {
            int64_t smin = INT64_MAX, smax = INT64_MIN;
            uint64_t umin = UINT64_MAX, umax = 0;
            for (uint32_t k = 0; k < ne; k++) {
                uint64_t v = rdi_ldw(src + (size_t)k * w, w);
                if (sgn) {
                    int64_t x = rdi_sext(v, w);
                    smin = RDI_MIN(smin, x);
                    smax = RDI_MAX(smax, x);
                } else {
                    umin = RDI_MIN(umin, v);
                    umax = RDI_MAX(umax, v);
                }
            }
            int ok = 1;
            uint64_t need = 0;   /* bits_required(range + 1) */
            if (sgn) {
                int64_t tmax = w == 8 ? INT64_MAX : (INT64_C(1) << (8 * w - 1)) - 1;
                int64_t range;
                if (__builtin_sub_overflow(smax, smin, &range) || range >= tmax) ok = 0;
                else {
                    int64_t r1 = range + 1;
                    need = r1 <= INT8_MAX ? 8 : r1 <= INT16_MAX ? 16 : r1 <= INT32_MAX ? 32 : 64;
                }
                minv = (uint64_t)smin;
            } else {
                uint64_t tmax = w == 8 ? UINT64_MAX : (UINT64_C(1) << (8 * w)) - 1;
                uint64_t range = umax - umin;
                if (range == tmax) ok = 0;
                else {
                    uint64_t r1 = range + 1;
                    unsigned b = 0;
                    while (r1) {
                        b++;
                        r1 >>= 1;
                    }
                    need = b <= 8 ? 8 : b <= 16 ? 16 : b <= 32 ? 32 : 64;
                }
                minv = umin;
            }
            if (ok) bits = (unsigned)need;
        }
        uint8_t mb[8];
        memcpy(mb, &minv, 8);
        RDI_TRY(rdi_buf_append(om, mb, w));
        RDI_TRY(rdi_buf_put_u8(om, (uint8_t)bits));
        RDI_TRY(rdi_buf_put_u32(om, wn));
        if (bits >= 8 * w || wn % w) {
            memcpy(o, src, wn);
            o += wn;
            continue;
        }
        unsigned ob = bits / 8;
        for (uint32_t k = 0; k < ne; k++) {
            uint64_t rel = rdi_ldw(src + (size_t)k * w, w) - minv;
            memcpy(o, &rel, ob);
            o += ob;
        }
    }
    od->len = (size_t)(o - od->data);
    size_t hdr = om->len;
    RDI_TRY(meta_prepend(om, hdr, m, m));
    d->p = od->data;
    d->n = od->len;
    return RADI_OK;
}

/* Runs the pipeline over one chunk and appends `orig | filtered | meta_len | meta | data`. */
static radi_status filter_chunk(const rdi_stage *st, uint32_t nst, const uint8_t *chunk, size_t len,
                                rdi_scratch *s, rdi_buf *out)
{
    if (len > UINT32_MAX) return rdi_error(RADI_E_INVALID, "chunk of %zu bytes exceeds 4 GiB", len);
    span d = {chunk, len};
    fmeta m;
    memset(&m, 0, sizeof m);
    int dcur = -1, mcur = -1;   /* which temporary holds the current data / metadata */
    for (uint32_t i = 0; i < nst; i++) {
        rdi_buf *od = &s->d[dcur == 0], *om = &s->m[mcur == 0];
        od->len = 0;
        om->len = 0;
        const uint8_t *dprev = d.p, *mprev = m.p;
        switch (st[i].type) {
        case RADI_FILTER_NONE:
            break;
        case RADI_FILTER_BYTESHUFFLE:
        case RADI_FILTER_BITSHUFFLE:
        case RADI_FILTER_XOR:
            RDI_TRY(fwd_shuffle(&st[i], &m, &d, om, od));
            break;
        case RADI_FILTER_POSITIVE_DELTA:
            RDI_TRY(fwd_window(&st[i], 0, &m, &d, om, od));
            break;
        case RADI_FILTER_BIT_WIDTH_REDUCTION:
            RDI_TRY(fwd_window(&st[i], 1, &m, &d, om, od));
            break;
        default:
            if (!rdi_stage_is_compressor(st[i].type))
                return rdi_error(RADI_E_UNSUPPORTED, "filter %s is not supported",
                                 radi_filter_type_name(st[i].type));
            RDI_TRY(fwd_compress(s, &st[i], &m, &d, om, od));
            break;
        }
        if (d.p != dprev) dcur = dcur == 0;
        if (m.p != mprev) mcur = mcur == 0;
    }
    if (d.n > UINT32_MAX || m.n > UINT32_MAX) return rdi_error(RADI_E_INVALID, "filtered chunk exceeds 4 GiB");
    RDI_TRY(rdi_buf_reserve(out, 12 + m.n + d.n));
    RDI_TRY(rdi_buf_put_u32(out, (uint32_t)len));
    RDI_TRY(rdi_buf_put_u32(out, (uint32_t)d.n));
    RDI_TRY(rdi_buf_put_u32(out, (uint32_t)m.n));
    RDI_TRY(rdi_buf_append(out, m.p, m.n));
    return rdi_buf_append(out, d.p, d.n);
}

/* TileDB's WriterTile::compute_chunk_size. */
static uint64_t chunk_size_for(uint64_t len, uint64_t cell)
{
    uint64_t cs = RDI_MIN((uint64_t)65536, len);
    cs = cs / cell * cell;
    return RDI_MAX(cs, cell);
}

typedef struct tile_job {
    rdi_stage st[RADI_MAX_FILTERS];
    uint32_t nst;
    rdi_scratch *s, *own;
} tile_job;

static radi_status job_init(tile_job *j, const radi_filter_list *fl, radi_datatype type, uint32_t cell_size,
                            rdi_scratch *scratch, const char *what)
{
    j->nst = fl->count;
    j->own = NULL;
    RDI_TRY(rdi_stages_resolve(fl, type, cell_size, j->st, what));
    j->s = scratch;
    if (!scratch) {
        RDI_TRY(rdi_scratch_create(&j->own));
        j->s = j->own;
    }
    return RADI_OK;
}

radi_status rdi_tile_filter(const radi_filter_list *fl, radi_datatype type, uint32_t cell_size,
                            const void *data, uint64_t len, rdi_scratch *scratch, rdi_buf *out)
{
    if (cell_size == 0) return rdi_error(RADI_E_INVALID, "rdi_tile_filter: zero cell size");
    tile_job j;
    RDI_TRY(job_init(&j, fl, type, cell_size, scratch, "filter pipeline"));
    uint64_t cs = fl->max_chunk_size == 0 ? len : chunk_size_for(len, cell_size);
    uint64_t n = len == cs ? 1 : len / cs + (len % cs != 0);
    size_t start = out->len;
    radi_status st = rdi_buf_put_u64(out, n);
    for (uint64_t i = 0; i < n && st == RADI_OK; i++) {
        uint64_t at = i * cs;
        st = filter_chunk(j.st, j.nst, (const uint8_t *)data + at, (size_t)RDI_MIN(cs, len - at), j.s, out);
    }
    if (st != RADI_OK) out->len = start;
    rdi_scratch_free(j.own);
    return st;
}

radi_status rdi_tile_filter_var(const radi_filter_list *fl, radi_datatype type, const void *data,
                                uint64_t len, const uint64_t *offsets, uint64_t ncells,
                                rdi_scratch *scratch, rdi_buf *out)
{
    for (uint32_t i = 0; i < fl->count; i++)
        if (is_string(type) && (fl->filters[i].type == RADI_FILTER_RLE ||
                                fl->filters[i].type == RADI_FILTER_DICTIONARY))
            return rdi_error(RADI_E_UNSUPPORTED, "filter %s on var-size strings is not supported",
                             radi_filter_type_name(fl->filters[i].type));
    for (uint64_t c = 0; c < ncells; c++)
        if (offsets[c] > len || (c && offsets[c] < offsets[c - 1]))
            return rdi_error(RADI_E_INVALID, "var tile: offset %llu of cell %llu is out of order or past %llu bytes",
                             (unsigned long long)offsets[c], (unsigned long long)c, (unsigned long long)len);
    uint32_t cell = (uint32_t)elem_size(type);
    tile_job j;
    RDI_TRY(job_init(&j, fl, type, cell, scratch, "filter pipeline"));
    uint64_t cs = fl->max_chunk_size == 0 ? len : chunk_size_for(len, cell);
    radi_status st = RADI_OK;
    size_t start = out->len;
    if (len == cs) {
        st = rdi_buf_put_u64(out, 1);
        if (st == RADI_OK) st = filter_chunk(j.st, j.nst, data, (size_t)len, j.s, out);
        goto done;
    }
    /* TileDB's rule: cells never straddle chunks; an overflowing cell stays in the current
     * chunk while it is at most half full or the result stays within 150%. */
    uint64_t nch = 1, cur = 0, prev_start = 0;
    uint64_t minsz = cs / 2, maxsz = cs + cs / 2;
#define EMIT_BOUNDARY(b)                                                                        \
    do {                                                                                        \
        if (st == RADI_OK)                                                                      \
            st = filter_chunk(j.st, j.nst, (const uint8_t *)data + prev_start,                  \
                              (size_t)((b) - prev_start), j.s, out);                            \
        prev_start = (b);                                                                       \
        nch++;                                                                                  \
    } while (0)
    st = rdi_buf_put_u64(out, 0);
    for (uint64_t c = 0; c < ncells && st == RADI_OK; c++) {
        uint64_t csz = (c == ncells - 1 ? len : offsets[c + 1]) - offsets[c];
        uint64_t nsz = cur + csz;
        if (nsz > cs) {
            if (cur <= minsz || nsz <= maxsz) {
                if (nsz > UINT32_MAX) st = rdi_error(RADI_E_INVALID, "chunk size exceeds 4 GiB");
                EMIT_BOUNDARY(offsets[c] + csz);
                cur = 0;
            } else {
                EMIT_BOUNDARY(offsets[c]);
                if (csz > cs) {
                    if (csz > UINT32_MAX) st = rdi_error(RADI_E_INVALID, "cell exceeds 4 GiB");
                    if (c != ncells - 1) EMIT_BOUNDARY(offsets[c] + csz);
                    cur = 0;
                } else {
                    cur = csz;
                }
            }
        } else {
            cur += csz;
        }
    }
#undef EMIT_BOUNDARY
    if (st == RADI_OK) {
        st = filter_chunk(j.st, j.nst, (const uint8_t *)data + prev_start, (size_t)(len - prev_start), j.s,
                          out);
        rdi_st64(out->data + start, nch);
    }
done:
    if (st != RADI_OK) out->len = start;
    rdi_scratch_free(j.own);
    return st;
}

/* ==================================================================== reverse == */

typedef struct dst_t {
    uint8_t *final;      /* the caller's output, for the last reversed stage */
    size_t final_len;
    rdi_buf *tmp;        /* otherwise a temporary */
    size_t cap;          /* bound on a temporary's size (untrusted lengths) */
    const char *what;
} dst_t;

static radi_status dst_take(dst_t *d, uint64_t n, uint8_t **p)
{
    if (d->final) {
        if (n != d->final_len)
            return rdi_error(RADI_E_CORRUPT, "%s: chunk decodes to %llu bytes, its header says %zu", d->what,
                             (unsigned long long)n, d->final_len);
        *p = d->final;
        return RADI_OK;
    }
    if (n > d->cap)
        return rdi_error(RADI_E_CORRUPT, "%s: filter stage claims %llu bytes, more than the chunk can hold",
                         d->what, (unsigned long long)n);
    d->tmp->len = 0;
    RDI_TRY(rdi_buf_reserve(d->tmp, n ? (size_t)n : 1));
    d->tmp->len = (size_t)n;
    *p = d->tmp->data;
    return RADI_OK;
}

static radi_status rev_compress(rdi_scratch *s, const rdi_stage *st, span *m, span *d, dst_t *dst,
                                rdi_buf *mtmp, size_t mcap, int *wrote_m)
{
    const char *what = dst->what;
    if (m->n < 8) return rdi_error(RADI_E_CORRUPT, "%s: %s chunk metadata truncated", what,
                                   radi_filter_type_name(st->type));
    uint32_t nm = rdi_ld32(m->p), nd = rdi_ld32(m->p + 4);
    uint64_t np = (uint64_t)nm + nd;
    if (np > (m->n - 8) / 8)
        return rdi_error(RADI_E_CORRUPT, "%s: %s metadata lists %llu parts in %zu bytes", what,
                         radi_filter_type_name(st->type), (unsigned long long)np, m->n);
    if (st->type == RADI_FILTER_RLE && is_string(st->dtype) && m->n > 8 + 8 * np)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: RLE-encoded var-size strings are not supported", what);
    const uint8_t *tab = m->p + 8;
    uint64_t msum = 0, dsum = 0, csum = 0;
    for (uint64_t i = 0; i < np; i++) {
        uint64_t u = rdi_ld32(tab + 8 * i), c = rdi_ld32(tab + 8 * i + 4);
        if (i < nm) msum += u;
        else dsum += u;
        csum += c;
    }
    if (csum > d->n)
        return rdi_error(RADI_E_CORRUPT, "%s: %s parts need %llu bytes, chunk data has %zu", what,
                         radi_filter_type_name(st->type), (unsigned long long)csum, d->n);
    if (msum > mcap) return rdi_error(RADI_E_CORRUPT, "%s: %s metadata parts too large", what,
                                      radi_filter_type_name(st->type));
    uint8_t *mo = NULL, *dout = NULL;
    if (nm) {
        mtmp->len = 0;
        RDI_TRY(rdi_buf_reserve(mtmp, msum ? (size_t)msum : 1));
        mtmp->len = (size_t)msum;
        mo = mtmp->data;
    }
    RDI_TRY(dst_take(dst, dsum, &dout));
    const uint8_t *in = d->p;
    uint8_t *o = mo;
    for (uint64_t i = 0; i < np; i++) {
        uint32_t u = rdi_ld32(tab + 8 * i), c = rdi_ld32(tab + 8 * i + 4);
        if (i == nm) o = dout;
        RDI_TRY(rdi_codec_decompress(s, st, in, c, o, u, what));
        in += c;
        o += u;
    }
    m->p = mo;
    m->n = (size_t)msum;
    *wrote_m = nm != 0;
    if (!nm) m->n = 0;
    d->p = dout;
    d->n = (size_t)dsum;
    return RADI_OK;
}

/* Reads `u32 nparts | u32 size × nparts` and checks the sizes cover the data exactly. */
static radi_status rev_parts_hdr(span *m, const span *d, uint32_t *np, const uint8_t **sizes, const char *what,
                                 const char *name)
{
    if (m->n < 4) return rdi_error(RADI_E_CORRUPT, "%s: %s metadata truncated", what, name);
    *np = rdi_ld32(m->p);
    if (*np > (m->n - 4) / 4) return rdi_error(RADI_E_CORRUPT, "%s: %s metadata truncated", what, name);
    *sizes = m->p + 4;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < *np; i++) sum += rdi_ld32(*sizes + 4 * i);
    if (sum != d->n)
        return rdi_error(RADI_E_CORRUPT, "%s: %s parts total %llu bytes, data has %zu", what, name,
                         (unsigned long long)sum, d->n);
    m->p += 4 + 4 * (size_t)*np;
    m->n -= 4 + 4 * (size_t)*np;
    return RADI_OK;
}

static radi_status rev_shuffle(const rdi_stage *st, span *m, span *d, dst_t *dst)
{
    const char *name = radi_filter_type_name(st->type);
    uint32_t np = 0;
    const uint8_t *sizes = NULL;
    RDI_TRY(rev_parts_hdr(m, d, &np, &sizes, dst->what, name));
    uint8_t *out = NULL;
    RDI_TRY(dst_take(dst, d->n, &out));
    size_t T = elem_size(st->dtype);
    const uint8_t *in = d->p;
    uint8_t *o = out;
    for (uint32_t i = 0; i < np; i++) {
        size_t n = rdi_ld32(sizes + 4 * i);
        if (st->type == RADI_FILTER_BYTESHUFFLE) {
            rdi_byteunshuffle(in, o, n, T);
        } else if (st->type == RADI_FILTER_BITSHUFFLE) {
            if (n % T || n % 8) memcpy(o, in, n);
            else rdi_bitshuffle(in, o, n, T, 1);
        } else { /* XOR */
            if (n % T) return rdi_error(RADI_E_CORRUPT, "%s: xor part is not whole values", dst->what);
            if (n) memcpy(o, in, T);
            for (size_t k = T; k < n; k++) o[k] = in[k] ^ o[k - T];
        }
        in += n;
        o += n;
    }
    d->p = out;
    return RADI_OK;
}

static radi_status rev_window(const rdi_stage *st, int bwr, span *m, span *d, dst_t *dst, int *passthru)
{
    const char *what = dst->what, *name = radi_filter_type_name(st->type);
    int sgn;
    unsigned w = rdi_int_width(st->dtype, &sgn);
    *passthru = 0;
    if (!w || (bwr && w == 1) || rdi_datatype_is_string(st->dtype) || st->dtype == RADI_CHAR ||
        st->dtype == RADI_ANY) {
        *passthru = 1;
        return RADI_OK;
    }
    rdi_rd r;
    rdi_rd_init(&r, m->p, m->n, what);
    uint32_t orig = (uint32_t)d->n, nwin;
    if (bwr) RDI_TRY(rdi_rd_u32(&r, &orig, "bit-width reduction original length"));
    RDI_TRY(rdi_rd_u32(&r, &nwin, "window count"));
    if (nwin > rdi_rd_left(&r) / (w + 4 + (unsigned)bwr))
        return rdi_error(RADI_E_CORRUPT, "%s: %s metadata lists %u windows in %zu bytes", what, name, nwin,
                         rdi_rd_left(&r));
    uint8_t *out = NULL;
    RDI_TRY(dst_take(dst, orig, &out));
    size_t in_at = 0, out_at = 0;
    for (uint32_t i = 0; i < nwin; i++) {
        uint64_t base = 0;
        uint8_t bits = 0;
        uint32_t wn;
        RDI_TRY(rdi_rd_bytes(&r, &base, w, "window value"));
        if (bwr) RDI_TRY(rdi_rd_u8(&r, &bits, "window bit width"));
        RDI_TRY(rdi_rd_u32(&r, &wn, "window length"));
        if (wn > orig - out_at)
            return rdi_error(RADI_E_CORRUPT, "%s: %s windows exceed %u bytes", what, name, orig);
        int raw = wn % w != 0 || (bwr && bits >= 8 * w);
        size_t ob = raw ? 1 : bwr ? bits / 8u : w;
        if (!raw && bwr && bits != 8 && bits != 16 && bits != 32)
            return rdi_error(RADI_E_CORRUPT, "%s: bad bit width %u", what, bits);
        size_t need = raw ? wn : (size_t)(wn / w) * ob;
        if (need > d->n - in_at) return rdi_error(RADI_E_CORRUPT, "%s: %s data truncated", what, name);
        const uint8_t *in = d->p + in_at;
        uint8_t *o = out + out_at;
        if (raw) {
            memcpy(o, in, wn);
        } else if (!bwr) {
            uint64_t acc = base;
            for (uint32_t k = 0; k < wn / w; k++) {
                acc += rdi_ldw(in + (size_t)k * w, w);
                memcpy(o + (size_t)k * w, &acc, w);
            }
        } else {
            for (uint32_t k = 0; k < wn / w; k++) {
                uint64_t v = rdi_ldw(in + (size_t)k * ob, (unsigned)ob);
                if (sgn) v = (uint64_t)rdi_sext(v, (unsigned)ob);
                v += base;
                memcpy(o + (size_t)k * w, &v, w);
            }
        }
        in_at += need;
        out_at += wn;
    }
    if (out_at != orig)
        return rdi_error(RADI_E_CORRUPT, "%s: %s windows cover %zu of %u bytes", what, name, out_at, orig);
    m->p += r.pos;
    m->n -= r.pos;
    d->p = out;
    d->n = orig;
    return RADI_OK;
}

static radi_status unfilter_chunk(const tile_job *j, const uint8_t *meta, uint32_t meta_len,
                                  const uint8_t *data, uint32_t flen, uint8_t *out, uint32_t orig,
                                  const char *what)
{
    rdi_scratch *s = j->s;
    if (j->nst == 0) {
        if (flen != orig || meta_len != 0)
            return rdi_error(RADI_E_CORRUPT, "%s: unfiltered chunk has %u bytes, header says %u", what, flen,
                             orig);
        if (orig) memcpy(out, data, orig);
        return RADI_OK;
    }
    span m = {meta, meta_len}, d = {data, flen};
    int dcur = -1, mcur = -1;
    /* Bounds for untrusted intermediate sizes: RLE can triple data, tiny positive-delta or
     * bit-width windows can make metadata ~5x the data. */
    size_t dcap = 3 * (size_t)orig + 65536, mcap = 6 * (size_t)orig + 65536 + meta_len;
    for (int i = (int)j->nst - 1; i >= 0; i--) {
        const rdi_stage *st = &j->st[i];
        dst_t dst = {NULL, 0, &s->d[dcur == 0], dcap, what};
        if (i == 0) {
            dst.final = out;
            dst.final_len = orig;
        }
        int wrote_m = 0, pass = 0;
        const uint8_t *dprev = d.p;
        switch (st->type) {
        case RADI_FILTER_NONE:
            pass = 1;
            break;
        case RADI_FILTER_BYTESHUFFLE:
        case RADI_FILTER_BITSHUFFLE:
        case RADI_FILTER_XOR:
            RDI_TRY(rev_shuffle(st, &m, &d, &dst));
            break;
        case RADI_FILTER_POSITIVE_DELTA:
            RDI_TRY(rev_window(st, 0, &m, &d, &dst, &pass));
            break;
        case RADI_FILTER_BIT_WIDTH_REDUCTION:
            RDI_TRY(rev_window(st, 1, &m, &d, &dst, &pass));
            break;
        default:
            RDI_TRY(rev_compress(s, st, &m, &d, &dst, &s->m[mcur == 0], mcap, &wrote_m));
            break;
        }
        if (pass && i == 0) {
            if (d.n != orig)
                return rdi_error(RADI_E_CORRUPT, "%s: chunk decodes to %zu bytes, its header says %u", what,
                                 d.n, orig);
            if (orig) memcpy(out, d.p, orig);
        }
        if (d.p != dprev && i != 0) dcur = dcur == 0;
        if (wrote_m) mcur = mcur == 0;
    }
    return RADI_OK;
}

radi_status rdi_tile_unfiltered_size(const void *in, uint64_t in_len, const char *what, uint64_t *out)
{
    const uint8_t *p = in;
    if (in_len < 8) return rdi_error(RADI_E_CORRUPT, "%s: tile of %llu bytes has no chunk count", what,
                                     (unsigned long long)in_len);
    uint64_t n = rdi_ld64(p), at = 8, total = 0;
    if (n > (in_len - 8) / 12)
        return rdi_error(RADI_E_CORRUPT, "%s: tile claims %llu chunks in %llu bytes", what,
                         (unsigned long long)n, (unsigned long long)in_len);
    for (uint64_t i = 0; i < n; i++) {
        if (in_len - at < 12)
            return rdi_error(RADI_E_CORRUPT, "%s: chunk %llu header truncated", what, (unsigned long long)i);
        uint64_t orig = rdi_ld32(p + at), fl = rdi_ld32(p + at + 4), ml = rdi_ld32(p + at + 8);
        at += 12;
        if (fl + ml > in_len - at)
            return rdi_error(RADI_E_CORRUPT, "%s: chunk %llu (%llu + %llu bytes) runs past the tile end", what,
                             (unsigned long long)i, (unsigned long long)ml, (unsigned long long)fl);
        at += fl + ml;
        total += orig;
    }
    *out = total;
    return RADI_OK;
}

radi_status rdi_tile_unfilter(const radi_filter_list *fl, radi_datatype type, uint32_t cell_size,
                              const void *in, uint64_t in_len, void *out, uint64_t out_len,
                              rdi_scratch *scratch, const char *what)
{
    const uint8_t *p = in;
    if (!what) what = "tile";
    if (in_len < 8) return rdi_error(RADI_E_CORRUPT, "%s: tile of %llu bytes has no chunk count", what,
                                     (unsigned long long)in_len);
    uint64_t n = rdi_ld64(p);
    if (n > (in_len - 8) / 12)
        return rdi_error(RADI_E_CORRUPT, "%s: tile claims %llu chunks in %llu bytes", what,
                         (unsigned long long)n, (unsigned long long)in_len);
    if (n == 0 && out_len > 0)
        return rdi_error(RADI_E_UNSUPPORTED,
                         "%s: tile has no chunks but %llu bytes are expected (var-size strings encoded "
                         "with RLE or dictionary are not supported)",
                         what, (unsigned long long)out_len);
    tile_job j;
    RDI_TRY(job_init(&j, fl, type, cell_size ? cell_size : (uint32_t)elem_size(type), scratch, what));
    uint64_t at = 8, done = 0;
    radi_status st = RADI_OK;
    for (uint64_t i = 0; i < n && st == RADI_OK; i++) {
        if (in_len - at < 12) {
            st = rdi_error(RADI_E_CORRUPT, "%s: chunk %llu header truncated", what, (unsigned long long)i);
            break;
        }
        uint32_t orig = rdi_ld32(p + at), flen = rdi_ld32(p + at + 4), ml = rdi_ld32(p + at + 8);
        at += 12;
        if ((uint64_t)flen + ml > in_len - at) {
            st = rdi_error(RADI_E_CORRUPT, "%s: chunk %llu (%u + %u bytes) runs past the tile end", what,
                           (unsigned long long)i, ml, flen);
            break;
        }
        if (orig > out_len - done) {
            st = rdi_error(RADI_E_CORRUPT, "%s: chunks hold more than the expected %llu bytes", what,
                           (unsigned long long)out_len);
            break;
        }
        /* out may be NULL for an empty tile: never offset it then. */
        uint8_t *dst = done ? (uint8_t *)out + done : (uint8_t *)out;
        st = unfilter_chunk(&j, p + at, ml, p + at + ml, flen, dst, orig, what);
        at += (uint64_t)ml + flen;
        done += orig;
    }
    if (st == RADI_OK && done != out_len)
        st = rdi_error(RADI_E_CORRUPT, "%s: chunks hold %llu bytes, expected %llu", what,
                       (unsigned long long)done, (unsigned long long)out_len);
    rdi_scratch_free(j.own);
    return st;
}
