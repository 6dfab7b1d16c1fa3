/*
 * Batch patch reads (include/radi/patches.h). One pool task per request; each task reads
 * its box with the dense reader on its own thread (tdb's rdi_dense_read_box), keeping
 * that thread's codec contexts and buffers for the whole call.
 *
 * A request's box B meets the volume in the inner box I (possibly empty):
 *  - stored output, and B inside the volume or constant padding: I is read straight
 *    into its place in the caller's buffer (the buffer's strides are B's), then the
 *    cells of B outside I are filled;
 *  - float output, same cases: I is read into the worker's buffer and converted row by
 *    row into its place, then the rest filled;
 *  - edge or reflect padding of a box that overhangs: each axis maps B's coordinates to
 *    the volume's (clamped or mirrored); the box S spanning the mapped coordinates is
 *    read into the worker's buffer and gathered through the maps (into the caller's
 *    buffer, or for float output into a stored-type patch then converted).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "radi/patches.h"
#include "ctx/ctx.h"
#include "tdb/tdb.h"
#include "model/volume_int.h"

void radi_patch_options_init(radi_patch_options *o)
{
    if (!o) return;
    o->output = RADI_PATCH_STORED;
    o->pad_mode = RADI_PAD_CONSTANT;
    o->pad_value = 0;
}

/* A growable per-worker byte buffer. */
typedef struct sbuf {
    uint8_t *p;
    size_t cap;
} sbuf;

static radi_status sbuf_reserve(sbuf *b, uint64_t n)
{
    if (n > SIZE_MAX) return rdi_nomem();
    if (n <= b->cap && b->p) return RADI_OK;
    free(b->p);
    b->cap = 0;
    if (!(b->p = rdi_malloc((size_t)(n ? n : 1)))) return RADI_E_NOMEM;
    b->cap = (size_t)n;
    return RADI_OK;
}

typedef struct pworker {
    rdi_dense_worker *dw;
    sbuf raw;                 /* a box in the stored type, compact C order */
    sbuf pat;                 /* a whole patch in the stored type (float + edge/reflect) */
    sbuf maps;                /* edge/reflect: per-axis coordinate maps */
    radi_read_stats stats;
    size_t bad;               /* first failing request this worker saw; SIZE_MAX: none */
    radi_status bad_status;
    char msg[768];
} pworker;

typedef struct pjob {
    radi_patch_request *req;
    radi_patch_options opt;
    pworker *w;
    rdi_dense_worker *dws;
    uint64_t budget;
} pjob;

/* pad_value as one value of type t (patches.h: rounded, clamped, NaN as 0). */
static void pad_bytes(double v, radi_datatype t, uint8_t *out)
{
    if (t == RADI_FLOAT32) {
        float f = (float)v;
        memcpy(out, &f, 4);
        return;
    }
    if (t == RADI_FLOAT64) {
        memcpy(out, &v, 8);
        return;
    }
    if (isnan(v)) v = 0;
    v = nearbyint(v);
#define CLAMPED(T, LO, HI)                                        \
    do {                                                          \
        T x = v <= (double)(LO) ? (LO) : v >= (double)(HI) ? (HI) : (T)v; \
        memcpy(out, &x, sizeof x);                                \
    } while (0)
    switch (t) {
    case RADI_INT8: CLAMPED(int8_t, INT8_MIN, INT8_MAX); break;
    case RADI_UINT8: CLAMPED(uint8_t, 0, UINT8_MAX); break;
    case RADI_INT16: CLAMPED(int16_t, INT16_MIN, INT16_MAX); break;
    case RADI_UINT16: CLAMPED(uint16_t, 0, UINT16_MAX); break;
    case RADI_INT32: CLAMPED(int32_t, INT32_MIN, INT32_MAX); break;
    case RADI_UINT32: CLAMPED(uint32_t, 0, UINT32_MAX); break;
    case RADI_INT64: CLAMPED(int64_t, INT64_MIN, INT64_MAX); break;
    case RADI_UINT64: CLAMPED(uint64_t, 0, UINT64_MAX); break;
    case RADI_BOOL: out[0] = v != 0; break;
    default: memset(out, 0, 8); break;
    }
#undef CLAMPED
}

/* n copies of the cs-byte value val at d. */
static void fill_run(uint8_t *d, uint64_t n, const uint8_t *val, size_t cs)
{
    if (n == 0) return;
    int uniform = 1;
    for (size_t b = 1; b < cs; b++) uniform &= val[b] == val[0];
    size_t bytes = (size_t)n * cs;
    if (uniform) {
        memset(d, val[0], bytes);
        return;
    }
    memcpy(d, val, cs);
    for (size_t done = cs; done < bytes;) {
        size_t m = RDI_MIN(done, bytes - done);
        memcpy(d + done, d, m);
        done += m;
    }
}

/* Fills the cells of the box `shape` (strides st) outside [ilo, ihi] (all of them when
 * empty), from axis d on; base is the box's cell at the current prefix. */
static void fill_outside(uint8_t *base, uint32_t d, uint32_t nd, const uint64_t *shape, const uint64_t *st,
                         const int64_t *ilo, const int64_t *ihi, int empty, const uint8_t *val, size_t cs)
{
    if (empty) {
        fill_run(base, shape[d] * st[d], val, cs);
        return;
    }
    if (d + 1 == nd) {
        fill_run(base, (uint64_t)ilo[d], val, cs);
        fill_run(base + (size_t)(ihi[d] + 1) * cs, shape[d] - (uint64_t)(ihi[d] + 1), val, cs);
        return;
    }
    for (uint64_t i = 0; i < shape[d]; i++) {
        uint8_t *sub = base + (size_t)(i * st[d]) * cs;
        if ((int64_t)i < ilo[d] || (int64_t)i > ihi[d]) fill_run(sub, st[d], val, cs);
        else fill_outside(sub, d + 1, nd, shape, st, ilo, ihi, 0, val, cs);
    }
}

/* Converts the compact box n (C order, type t) into out at strides st, row by row. */
static void convert_rows(const uint8_t *in, radi_datatype t, uint8_t *out, radi_datatype ot, uint32_t nd,
                         const uint64_t *n, const uint64_t *st, double slope, double inter)
{
    size_t cs = radi_datatype_size(t), ocs = radi_datatype_size(ot);
    uint64_t row = n[nd - 1], rows = 1;
    for (uint32_t d = 0; d + 1 < nd; d++) rows *= n[d];
    for (uint64_t r = 0; r < rows; r++) {
        uint64_t rem = r, off = 0;
        for (uint32_t d = nd - 1; d-- > 0;) {
            off += (rem % n[d]) * st[d];
            rem /= n[d];
        }
        rdi_scale_convert(in + (size_t)(r * row) * cs, t, out + (size_t)off * ocs, ot, row, slope, inter);
    }
}

/* The volume coordinate that box coordinate c (volume frame) takes from an axis of size n. */
static int64_t map_coord(int64_t c, int64_t n, radi_pad_mode mode)
{
    if (c >= 0 && c < n) return c;
    if (mode == RADI_PAD_EDGE || n == 1) return c < 0 ? 0 : n - 1;
    int64_t period = 2 * (n - 1), m = c % period;
    if (m < 0) m += period;
    return m < n ? m : period - m;
}

#define DEF_GATHER(NAME, T)                                                                  \
    static void NAME(uint8_t *dst, const uint8_t *src, const int64_t *map, uint64_t n)        \
    {                                                                                        \
        T *d = (T *)(void *)dst;                                                             \
        const T *s = (const T *)(const void *)src;                                           \
        for (uint64_t i = 0; i < n; i++) memcpy(&d[i], &s[map[i]], sizeof(T));               \
    }
DEF_GATHER(gather1, uint8_t)
DEF_GATHER(gather2, uint16_t)
DEF_GATHER(gather4, uint32_t)
DEF_GATHER(gather8, uint64_t)

/* dst (the patch, C order) from src (the compact box sn) through the per-axis maps. */
static void gather(uint8_t *dst, const uint8_t *src, uint32_t nd, const uint64_t *shape, const uint64_t *sn,
                   int64_t *const *maps, size_t cs)
{
    uint64_t sst[4], acc = 1;
    for (uint32_t d = nd; d-- > 0;) {
        sst[d] = acc;
        acc *= sn[d];
    }
    uint64_t row = shape[nd - 1], rows = 1;
    for (uint32_t d = 0; d + 1 < nd; d++) rows *= shape[d];
    for (uint64_t r = 0; r < rows; r++) {
        uint64_t rem = r, soff = 0;
        for (uint32_t d = nd - 1; d-- > 0;) {
            soff += (uint64_t)maps[d][rem % shape[d]] * sst[d];
            rem /= shape[d];
        }
        uint8_t *o = dst + (size_t)(r * row) * cs;
        const uint8_t *s = src + (size_t)soff * cs;
        switch (cs) {
        case 1: gather1(o, s, maps[nd - 1], row); break;
        case 2: gather2(o, s, maps[nd - 1], row); break;
        case 4: gather4(o, s, maps[nd - 1], row); break;
        default: gather8(o, s, maps[nd - 1], row); break;
        }
    }
}

/* Reads the volume box [lo, hi] (volume coordinates) into out at strides st (NULL: compact). */
static radi_status read_box(const pjob *j, pworker *w, const radi_volume *v, const int64_t *lo, const int64_t *hi,
                            uint8_t *out, const uint64_t *st)
{
    int64_t q[8];
    for (uint32_t d = 0; d < v->ndim; d++) {
        q[2 * d] = lo[d] + v->lo[d];
        q[2 * d + 1] = hi[d] + v->lo[d];
    }
    /* The volume's own context's cache: its keys are URIs of that context's storage. */
    return rdi_dense_read_box(v->array, q, v->attr, out, st, w->dw, j->budget, v->array->ctx->tile_cache,
                              &w->stats);
}

static radi_status read_request(const pjob *j, pworker *w, const radi_patch_request *r)
{
    const radi_volume *v = r->volume;
    if (!v) return rdi_error(RADI_E_INVALID, "no volume");
    RDI_TRY(rdi_ctx_check(v->array->ctx));
    const char *uri = radi_array_uri(v->array);
    if (!r->out) return rdi_error(RADI_E_INVALID, "%s: out is NULL", uri);
    const uint32_t nd = v->ndim;
    radi_datatype st = v->dtype;
    radi_datatype ot = j->opt.output == RADI_PATCH_FLOAT32 ? RADI_FLOAT32
                       : j->opt.output == RADI_PATCH_FLOAT64 ? RADI_FLOAT64 : st;
    /* Float output converts, except an unscaled volume of that very type (a stored read). */
    int convert = j->opt.output != RADI_PATCH_STORED && (ot != st || v->has_scaling);
    size_t scs = radi_datatype_size(st), ocs = radi_datatype_size(ot);
    uint64_t pst[4], cells = 1;
    int64_t ilo[4], ihi[4];    /* the inner box, volume coordinates */
    int empty = 0, overhang = 0;
    for (uint32_t d = nd; d-- > 0;) {
        int64_t s0 = r->start[d], last;
        if (r->shape[d] < 1 || r->shape[d] > (uint64_t)INT64_MAX ||
            __builtin_add_overflow(s0, (int64_t)(r->shape[d] - 1), &last))
            return rdi_error(RADI_E_INVALID, "%s: box axis %u: start %lld, shape %llu is not a box", uri, d,
                             (long long)s0, (unsigned long long)r->shape[d]);
        pst[d] = cells;
        if (__builtin_mul_overflow(cells, r->shape[d], &cells))
            return rdi_error(RADI_E_INVALID, "%s: box too large", uri);
        ilo[d] = RDI_MAX(s0, 0);
        ihi[d] = RDI_MIN(last, (int64_t)v->shape[d] - 1);
        empty |= ilo[d] > ihi[d];
        overhang |= ilo[d] != s0 || ihi[d] != last;
    }
    uint64_t need; /* the largest buffer a request holds is cells * 8 bytes */
    if (__builtin_mul_overflow(cells, (uint64_t)8, &need) || need > SIZE_MAX)
        return rdi_error(RADI_E_INVALID, "%s: box too large", uri);
    need = cells * ocs;
    if (r->out_size < need)
        return rdi_error(RADI_E_INVALID, "%s: buffer holds %llu bytes, the box needs %llu", uri,
                         (unsigned long long)r->out_size, (unsigned long long)need);
    uint8_t *out = r->out;
    uint8_t pad[8];
    if (!overhang || j->opt.pad_mode == RADI_PAD_CONSTANT) {
        int64_t rel_lo[4], rel_hi[4];
        uint64_t off = 0, in[4], icells = 1;
        for (uint32_t d = 0; d < nd && !empty; d++) {
            rel_lo[d] = ilo[d] - r->start[d];
            rel_hi[d] = ihi[d] - r->start[d];
            off += (uint64_t)rel_lo[d] * pst[d];
            in[d] = (uint64_t)(ihi[d] - ilo[d]) + 1;
            icells *= in[d];
        }
        if (!convert) {
            if (!empty) RDI_TRY(read_box(j, w, v, ilo, ihi, out + (size_t)off * scs, pst));
        } else if (!empty) {
            RDI_TRY(sbuf_reserve(&w->raw, icells * scs));
            RDI_TRY(read_box(j, w, v, ilo, ihi, w->raw.p, NULL));
            if (!overhang) rdi_scale_convert(w->raw.p, st, out, ot, icells, v->slope, v->inter);
            else convert_rows(w->raw.p, st, out + (size_t)off * ocs, ot, nd, in, pst, v->slope, v->inter);
        }
        if (overhang) {
            pad_bytes(j->opt.pad_value, ot, pad);
            fill_outside(out, 0, nd, r->shape, pst, rel_lo, rel_hi, empty, pad, ocs);
        }
        return RADI_OK;
    }
    /* Edge or reflect: per-axis maps into the box S of mapped coordinates. */
    uint64_t nmap = 0;
    for (uint32_t d = 0; d < nd; d++) nmap += r->shape[d];
    RDI_TRY(sbuf_reserve(&w->maps, nmap * sizeof(int64_t)));
    int64_t *maps[4], slo[4], shi[4];
    uint64_t sn[4], scells = 1;
    int64_t *m = (int64_t *)(void *)w->maps.p;
    for (uint32_t d = 0; d < nd; d++) {
        maps[d] = m;
        slo[d] = INT64_MAX;
        shi[d] = INT64_MIN;
        for (uint64_t i = 0; i < r->shape[d]; i++) {
            m[i] = map_coord(r->start[d] + (int64_t)i, (int64_t)v->shape[d], j->opt.pad_mode);
            slo[d] = RDI_MIN(slo[d], m[i]);
            shi[d] = RDI_MAX(shi[d], m[i]);
        }
        for (uint64_t i = 0; i < r->shape[d]; i++) m[i] -= slo[d];
        sn[d] = (uint64_t)(shi[d] - slo[d]) + 1;
        scells *= sn[d];
        m += r->shape[d];
    }
    RDI_TRY(sbuf_reserve(&w->raw, scells * scs));
    RDI_TRY(read_box(j, w, v, slo, shi, w->raw.p, NULL));
    uint8_t *dst = out;
    if (convert) {
        RDI_TRY(sbuf_reserve(&w->pat, cells * scs));
        dst = w->pat.p;
    }
    gather(dst, w->raw.p, nd, r->shape, sn, maps, scs);
    if (convert) rdi_scale_convert(dst, st, out, ot, cells, v->slope, v->inter);
    return RADI_OK;
}

static radi_status patch_task(void *arg, size_t i, unsigned wi)
{
    pjob *j = arg;
    pworker *w = &j->w[wi];
    w->dw = rdi_dense_worker_at(j->dws, wi);
    radi_status s = read_request(j, w, &j->req[i]);
    j->req[i].status = s;
    if (s != RADI_OK && i < w->bad) {
        w->bad = i;
        w->bad_status = s;
        snprintf(w->msg, sizeof w->msg, "%s", radi_errmsg());
    }
    return RADI_OK; /* the other requests go on */
}

radi_status radi_read_patches(radi_ctx *ctx, radi_patch_request *req, size_t n, const radi_patch_options *options,
                              radi_read_stats *stats)
{
    radi_patch_options opt;
    radi_patch_options_init(&opt);
    if (options) opt = *options;
    radi_status s = RADI_OK;
    if (!ctx || (n && !req)) s = rdi_error(RADI_E_INVALID, "radi_read_patches: NULL argument");
    else if ((unsigned)opt.output > RADI_PATCH_FLOAT64)
        s = rdi_error(RADI_E_INVALID, "radi_read_patches: unknown output %d", (int)opt.output);
    else if ((unsigned)opt.pad_mode > RADI_PAD_REFLECT)
        s = rdi_error(RADI_E_INVALID, "radi_read_patches: unknown pad mode %d", (int)opt.pad_mode);
    else s = rdi_ctx_check(ctx);
    if (s != RADI_OK) {
        for (size_t i = 0; req && i < n; i++) req[i].status = s;
        return s;
    }
    unsigned nw = rdi_pool_size(ctx->pool);
    pjob j = {req, opt, rdi_calloc(nw, sizeof(pworker)), NULL, ctx->config.memory_budget / nw};
    if (!j.w) s = RADI_E_NOMEM;
    if (s == RADI_OK) s = rdi_dense_workers_create(nw, &j.dws);
    for (unsigned k = 0; j.w && k < nw; k++) j.w[k].bad = SIZE_MAX;
    if (s == RADI_OK) s = rdi_pool_for(ctx->pool, n, patch_task, &j);
    radi_read_stats total = {0, 0, 0, 0};
    size_t bad = SIZE_MAX;
    unsigned wbad = 0;
    for (unsigned k = 0; j.w && k < nw; k++) {
        total.tiles_read += j.w[k].stats.tiles_read;
        total.bytes_read += j.w[k].stats.bytes_read;
        total.io_requests += j.w[k].stats.io_requests;
        total.batches += j.w[k].stats.batches;
        if (j.w[k].bad < bad) bad = j.w[k].bad, wbad = k;
    }
    if (s != RADI_OK) {
        for (size_t i = 0; i < n; i++) req[i].status = s;
    } else if (bad != SIZE_MAX) {
        s = rdi_error(j.w[wbad].bad_status, "request %zu of %zu: %s", bad, n, j.w[wbad].msg);
    }
    for (unsigned k = 0; j.w && k < nw; k++) {
        free(j.w[k].raw.p);
        free(j.w[k].pat.p);
        free(j.w[k].maps.p);
    }
    free(j.w);
    rdi_dense_workers_free(j.dws, nw);
    if (stats) *stats = total;
    return s;
}
