/*
 * The dense reader's execution (docs/format.md §9, §7, §6; the plan is in
 * dense_plan.c, the copies in dense_copy.c).
 *
 * One attribute (or validity plane) at a time: space tiles are grouped into tasks, tasks
 * into batches whose filtered plus unfiltered tile bytes fit the memory budget. Per
 * batch, the tiles' byte ranges are sorted and coalesced into few reads (run on the pool
 * locally, one vectored read on a remote backend); then each task, on its worker, decodes
 * its tiles into that worker's buffer (still in cache) and copies them out at once. A
 * tile that lands contiguously in the output in the same order is decoded straight into
 * the caller's buffer, and of a tile only partly needed only the chunks holding the
 * needed cells are decoded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "tdb/dense.h"
#include "tdb/prefetch.h"

#define GAP_MAX ((uint64_t)128 * 1024)       /* coalesce ranges separated by at most this */
/* On a remote backend a request costs a 10-50 ms round trip, in which ~1 MiB more would
 * have arrived: reading a gap that size is cheaper than another request. */
#define GAP_MAX_REMOTE ((uint64_t)1024 * 1024)
#define READ_MAX ((uint64_t)64 * 1024 * 1024) /* longest coalesced range */
#define PART_MAX ((uint64_t)4 * 1024 * 1024)  /* longer reads are split across the pool */
#define GROUP_MAX 64                          /* tiles copied together in a transposition */
#define LINE 64                               /* bytes of an output row a group writes */

/* ---------------------------------------------------------------- buffers -- */

/* Large scratch buffers (filtered arena, decoded tile groups) are fresh for every read,
 * and first-touch page faults on 4 KiB pages cost as much as the decode itself on a VM.
 * Backing them with transparent huge pages (where the kernel allows it on request)
 * makes that cost small. */
#define HUGE_MIN ((size_t)4 << 20)
#define HUGE_ALIGN ((size_t)2 << 20)

typedef struct bigbuf {
    uint8_t *data;
    size_t cap;
    int mapped;
} bigbuf;

static void bigbuf_free(bigbuf *b)
{
    if (b->mapped) munmap(b->data, b->cap);
    else free(b->data);
    b->data = NULL;
    b->cap = 0;
    b->mapped = 0;
}

static radi_status bigbuf_reserve(bigbuf *b, size_t n)
{
    if (n <= b->cap && b->data) return RADI_OK;
    bigbuf_free(b);
    if (n >= HUGE_MIN) {
        size_t r = (n + HUGE_ALIGN - 1) & ~(HUGE_ALIGN - 1);
        void *p = mmap(NULL, r, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) {
            rdi_mem_advise_huge(p, r);
            b->data = p;
            b->cap = r;
            b->mapped = 1;
            return RADI_OK;
        }
    }
    b->data = rdi_malloc(n ? n : 1);
    if (!b->data) return RADI_E_NOMEM;
    b->cap = n;
    return RADI_OK;
}

/* ------------------------------------------------------------------ passes -- */

typedef struct task {
    uint64_t s0;
    uint32_t ns;
    uint8_t group;         /* whole-box single-fragment tiles copied together */
    uint64_t cost;         /* filtered + unfiltered bytes it holds */
} task;

typedef struct unit {
    uint32_t frag;
    uint64_t off, len, ci;
} unit;

typedef struct range {
    uint32_t frag;
    uint64_t off, len, pos;   /* pos: where it lands in the arena */
} range;

/* One worker's state; a caller that reads many boxes in turn on one thread
 * (rdi_dense_read_box) keeps it between reads, so codec contexts and buffers are made once. */
struct rdi_dense_worker {
    rdi_scratch *scratch;
    bigbuf buf;              /* unfiltered tiles of the task being copied */
    bigbuf chunk;            /* one filtered chunk, for partial tile decodes */
    bigbuf arena;            /* filtered tiles of a batch, when the worker owns the read */
};
typedef struct rdi_dense_worker worker;

radi_status rdi_dense_workers_create(unsigned n, rdi_dense_worker **out)
{
    *out = rdi_calloc(n ? n : 1, sizeof **out);
    return *out ? RADI_OK : RADI_E_NOMEM;
}

void rdi_dense_workers_free(rdi_dense_worker *w, unsigned n)
{
    for (unsigned i = 0; w && i < n; i++) {
        rdi_scratch_free(w[i].scratch);
        bigbuf_free(&w[i].buf);
        bigbuf_free(&w[i].chunk);
        bigbuf_free(&w[i].arena);
    }
    free(w);
}

rdi_dense_worker *rdi_dense_worker_at(rdi_dense_worker *w, unsigned i) { return &w[i]; }

/* One attribute's data, or its validity, read into one output buffer. */
typedef struct pass {
    plan *p;
    radi_ctx *ctx;
    uint8_t *out;
    size_t cs;
    const uint8_t *fill;
    int validity;
    int remote;                 /* the backend is RDI_VFS_REMOTE: one vectored read per batch */
    const char *attr;
    /* per fragment */
    int32_t *fai;               /* attribute index in the fragment's schema, -1 = absent */
    char **furi;                /* the data file read */
    /* per contribution */
    const uint8_t **cdata;      /* filtered bytes, in the batch's arena */
    uint64_t *coff, *clen;
    task *tasks;
    uint64_t ntasks, t0;        /* t0: first task of the running batch */
    worker *workers;
    unsigned nworkers;
    int keep;                   /* the workers outlive the read: keep their buffers */
    uint64_t budget;            /* bytes of tiles in flight */
    /* the batch being run */
    range *ranges;
    uint64_t nranges;
    bigbuf *arena;              /* own_arena, or the single worker's (keep) */
    bigbuf own_arena;
    uint64_t *parts;            /* I/O requests: range index | part number << 40 */
    /* Decoded-tile cache (rdi_dense_read_box's caller's; NULL: none): per contribution,
     * whether its tile goes through the cache (found there, or admitted: then decoded
     * whole and put there; the others decode as without a cache) and its pinned entry. */
    rdi_tile_cache *cache;
    uint8_t *whole;
    rdi_tile_entry **pin;
    radi_read_stats stats;
} pass;

static uint64_t task_cost(const pass *ps, uint64_t s0, uint32_t ns, int group)
{
    const plan *p = ps->p;
    uint64_t tb = p->tcells * ps->cs, cost = 0;
    int needbuf = 0;
    for (uint32_t k = 0; k < ns; k++) {
        const stile *t = &p->st[s0 + k];
        for (uint32_t i = 0; i < t->nc; i++) {
            uint64_t ci = t->c0 + i;
            if (ps->fai[p->c[ci].frag] < 0) continue;
            cost += ps->clen[ci];
            needbuf |= !p->c[ci].direct;
        }
    }
    /* A group holds all its tiles at once; otherwise one tile at a time. */
    return cost + (group ? ns * tb : needbuf ? tb : 0);
}

/* Tasks: runs of up to G space tiles consecutive along the output's fastest dimension. */
static radi_status make_tasks(pass *ps, uint32_t G)
{
    plan *p = ps->p;
    free(ps->tasks);
    ps->tasks = rdi_malloc((size_t)(p->nst ? p->nst : 1) * sizeof *ps->tasks);
    if (!ps->tasks) return RADI_E_NOMEM;
    ps->ntasks = 0;
    for (uint64_t s = 0; s < p->nst;) {
        uint32_t ns = 1;
        while (ns < G && s + ns < p->nst && p->st[s + ns].tcg == p->st[s + ns - 1].tcg + 1) ns++;
        task *t = &ps->tasks[ps->ntasks++];
        t->s0 = s;
        t->ns = ns;
        t->group = ns > 1;
        for (uint32_t k = 0; k < ns && t->group; k++) {
            const stile *st = &p->st[s + k];
            t->group = st->nc == 1 && !st->fill && ps->fai[p->c[st->c0].frag] >= 0;
        }
        t->cost = task_cost(ps, s, ns, t->group);
        s += ns;
    }
    return RADI_OK;
}

/* A data file of an opened fragment is gone. If the fragment's metadata went with it,
 * the fragment itself was removed after the array was opened (a concurrent vacuum,
 * or a dataset write moving the volume: docs/dataset.md §8.4): NOT_FOUND, open again.
 * Otherwise the fragment is damaged: CORRUPT. */
static radi_status missing_file(radi_ctx *ctx, const char *file)
{
    const char *slash = strrchr(file, '/');
    char *dir = slash ? rdi_strndup(file, (size_t)(slash - file)) : NULL;
    char *meta = dir ? rdi_path_join(dir, "__fragment_metadata.tdb") : NULL;
    int kind = 1;
    if (meta && rdi_vfs_kind(ctx->vfs, meta, &kind) != RADI_OK) kind = 1;
    free(meta);
    free(dir);
    if (kind == 0)
        return rdi_error(RADI_E_NOT_FOUND, "%s: its fragment was removed after the array was opened (a "
                                           "concurrent vacuum or move); open it again", file);
    return rdi_error(RADI_E_CORRUPT, "%s: missing from its fragment", file);
}

static radi_status io_task(void *arg, size_t i, unsigned w)
{
    RDI_UNUSED(w);
    pass *ps = arg;
    uint64_t r = ps->parts[i] & 0xffffffffffull, part = ps->parts[i] >> 40;
    const range *rg = &ps->ranges[r];
    uint64_t off = part * PART_MAX, len = RDI_MIN(PART_MAX, rg->len - off);
    radi_status s =
        rdi_vfs_read(ps->ctx->vfs, ps->furi[rg->frag], rg->off + off, ps->arena->data + rg->pos + off, len);
    /* The footer lists this file: its absence is not a bad argument. */
    if (s == RADI_E_NOT_FOUND) s = missing_file(ps->ctx, ps->furi[rg->frag]);
    return s;
}

/* On a remote backend the batch's coalesced ranges go out as one vectored read, which the
 * backend runs in parallel (splitting or merging as it sees fit): a batch costs one round
 * trip, not one per pool task. Locally the pool's parallel reads of PART_MAX pieces stay
 * (the emulated vectored read is serial). */
static radi_status read_remote(pass *ps)
{
    rdi_vfs_range *r = rdi_malloc((size_t)(ps->nranges ? ps->nranges : 1) * sizeof *r);
    if (!r) return RADI_E_NOMEM;
    for (uint64_t i = 0; i < ps->nranges; i++) {
        const range *rg = &ps->ranges[i];
        r[i] = (rdi_vfs_range){ps->furi[rg->frag], rg->off, rg->len, ps->arena->data + rg->pos, RADI_OK};
    }
    radi_status s = rdi_vfs_read_many(ps->ctx->vfs, r, (size_t)ps->nranges);
    for (uint64_t i = 0; s == RADI_E_NOT_FOUND && i < ps->nranges; i++)
        if (r[i].status == RADI_E_NOT_FOUND) s = missing_file(ps->ctx, r[i].uri);
    free(r);
    return s;
}

/* Unfilters only the chunks of a tile that hold bytes [b0, b1) of it. Chunks are
 * filtered independently (format.md §4), so each one decodes on its own: a sagittal slice of
 * axial tiles needs one chunk in four. Other bytes of out are left unwritten. */
static radi_status unfilter_range(const radi_filter_list *fl, radi_datatype type, uint32_t cs, const uint8_t *in,
                                  uint64_t in_len, uint8_t *out, uint64_t out_len, uint64_t b0, uint64_t b1,
                                  rdi_scratch *scratch, bigbuf *tmp, const char *what)
{
    rdi_rd r;
    rdi_rd_init(&r, in, (size_t)in_len, what);
    uint64_t nch, pos = 0;
    RDI_TRY(rdi_rd_u64(&r, &nch, "chunk count"));
    if (nch <= 1 || (b0 == 0 && b1 == out_len))
        return rdi_tile_unfilter(fl, type, cs, in, in_len, out, out_len, scratch, what);
    for (uint64_t c = 0; c < nch && pos < b1; c++) {
        size_t start = r.pos;
        uint32_t orig, flen, mlen;
        const uint8_t *body;
        RDI_TRY(rdi_rd_u32(&r, &orig, "chunk size"));
        RDI_TRY(rdi_rd_u32(&r, &flen, "chunk filtered size"));
        RDI_TRY(rdi_rd_u32(&r, &mlen, "chunk metadata size"));
        RDI_TRY(rdi_rd_view(&r, &body, (size_t)mlen + flen, "chunk"));
        if (orig > out_len - pos)
            return rdi_error(RADI_E_CORRUPT, "%s: chunks hold more than the tile's %llu bytes", what,
                             (unsigned long long)out_len);
        if (pos + orig > b0) {
            /* One chunk as a tile of its own: `u64 1` then the chunk. */
            size_t n = 8 + (r.pos - start);
            RDI_TRY(bigbuf_reserve(tmp, n));
            rdi_st64(tmp->data, 1);
            memcpy(tmp->data + 8, in + start, n - 8);
            RDI_TRY(rdi_tile_unfilter(fl, type, cs, tmp->data, n, out + pos, orig, scratch, what));
        }
        pos += orig;
    }
    if (pos < b1)
        return rdi_error(RADI_E_CORRUPT, "%s: chunks hold %llu bytes, the tile %llu", what, (unsigned long long)pos,
                         (unsigned long long)out_len);
    return RADI_OK;
}

/* Unfilters the tile of contribution ci into dst (tile-sized); only the bytes holding
 * `part` (a box inside the tile; NULL: the whole tile) are guaranteed. */
static radi_status decode(pass *ps, worker *w, uint64_t ci, const stile *t, const int64_t *part, uint8_t *dst)
{
    const plan *p = ps->p;
    const contrib *c = &p->c[ci];
    const rdi_fragmeta *fm = p->a->frags[c->frag];
    const rdi_attr *at = &fm->schema->attrs[ps->fai[c->frag]];
    uint64_t tb = p->tcells * ps->cs, first = 0, last = p->tcells - 1;
    if (part) {
        last = 0;
        for (uint32_t d = 0; d < p->ndim; d++) {
            first += (uint64_t)(part[2 * d] - t->tbox[2 * d]) * p->tstride[d];
            last += (uint64_t)(part[2 * d + 1] - t->tbox[2 * d]) * p->tstride[d];
        }
    }
    char what[600];
    snprintf(what, sizeof what, "%s tile %llu", ps->furi[c->frag], (unsigned long long)c->ftile);
    if (!w->scratch) RDI_TRY(rdi_scratch_create(&w->scratch));
    const radi_filter_list *fl = ps->validity ? &fm->schema->validity_filters : &at->filters;
    radi_datatype type = ps->validity ? RADI_UINT8 : at->type;
    return unfilter_range(fl, type, (uint32_t)ps->cs, ps->cdata[ci], ps->clen[ci], dst, tb, first * ps->cs,
                          (last + 1) * ps->cs, w->scratch, &w->chunk, what);
}

/* The decoded tile of contribution ci: the cached one when it goes through the cache
 * (found at planning, else decoded whole now and put there), else its part decoded into
 * dst. */
static radi_status tile_of(pass *ps, worker *w, uint64_t ci, const stile *t, const int64_t *part, uint8_t *dst,
                           const uint8_t **tile)
{
    if (!ps->whole || !ps->whole[ci]) {
        *tile = dst;
        return decode(ps, w, ci, t, part, dst);
    }
    if (!ps->pin[ci]) {
        const plan *p = ps->p;
        const contrib *c = &p->c[ci];
        uint64_t tb = p->tcells * ps->cs;
        uint8_t *buf = rdi_malloc((size_t)tb);
        if (!buf) return RADI_E_NOMEM;
        radi_status s = decode(ps, w, ci, t, NULL, buf);
        if (s != RADI_OK) {
            free(buf);
            return s;
        }
        ps->pin[ci] = rdi_tile_cache_put(ps->cache, ps->furi[c->frag], c->ftile, buf, tb);
        if (!ps->pin[ci]) return rdi_nomem();
    }
    *tile = rdi_tile_entry_data(ps->pin[ci]);
    return RADI_OK;
}

static void make_piece(const pass *ps, const stile *t, const int64_t *part, const uint8_t *tile, piece *pc)
{
    const plan *p = ps->p;
    uint64_t so = 0, dof = 0;
    for (uint32_t d = 0; d < p->ndim; d++) {
        so += (uint64_t)(part[2 * d] - t->tbox[2 * d]) * p->tstride[d];
        dof += (uint64_t)(part[2 * d] - p->q[2 * d]) * p->ostride[d];
        pc->n[d] = part[2 * d + 1] - part[2 * d] + 1;
        pc->ss[d] = (int64_t)p->tstride[d];
        pc->ds[d] = (int64_t)p->ostride[d];
    }
    pc->src = tile ? tile + so * ps->cs : NULL;
    pc->dst = ps->out + dof * ps->cs;
}

/* Decodes a task's tiles into the worker's buffer (hot in its cache) and copies them
 * into the output at once; tiles that land whole and in order go straight there. */
static radi_status decode_task(void *arg, size_t ti, unsigned wi)
{
    pass *ps = arg;
    const plan *p = ps->p;
    worker *w = &ps->workers[wi];
    const task *tk = &ps->tasks[ps->t0 + ti];
    uint64_t tb = p->tcells * ps->cs;
    if (tk->group) {
        size_t n = tk->ns;
        RDI_TRY(bigbuf_reserve(&w->buf, (size_t)(n * tb)));
        piece *pcs = rdi_malloc(n * (sizeof(piece) + sizeof(uint8_t *) + 2 * sizeof(int64_t)));
        if (!pcs) return RADI_E_NOMEM;
        const uint8_t **src = (const uint8_t **)(pcs + n);
        int64_t *ng = (int64_t *)(src + n), *ssg = ng + n;
        radi_status s = RADI_OK;
        for (uint32_t k = 0; k < tk->ns && s == RADI_OK; k++) {
            const stile *t = &p->st[tk->s0 + k];
            const uint8_t *tile = NULL;
            s = tile_of(ps, w, t->c0, t, t->box, w->buf.data + k * tb, &tile);
            make_piece(ps, t, t->box, tile, &pcs[k]);
        }
        if (s == RADI_OK) rdi_dense_copy_group(pcs, tk->ns, p->ndim, p->g, p->src_fast, ps->cs, src, ng, ssg);
        free(pcs);
        return s;
    }
    for (uint32_t k = 0; k < tk->ns; k++) {
        const stile *t = &p->st[tk->s0 + k];
        if (t->fill) rdi_dense_fill_box(p, ps->out, t->box, ps->fill, ps->cs);
        for (uint32_t j = 0; j < t->nc; j++) {
            uint64_t ci = t->c0 + j;
            const contrib *c = &p->c[ci];
            piece pc;
            if (ps->fai[c->frag] < 0) { /* the fragment predates the attribute */
                rdi_dense_fill_box(p, ps->out, c->part, ps->fill, ps->cs);
                continue;
            }
            int cached = ps->whole && ps->whole[ci];
            if (c->direct && !cached) { /* a whole tile: its first cell is the part's */
                make_piece(ps, t, c->part, NULL, &pc);
                RDI_TRY(decode(ps, w, ci, t, c->part, pc.dst));
                continue;
            }
            const uint8_t *tile = NULL;
            if (!cached) RDI_TRY(bigbuf_reserve(&w->buf, (size_t)tb));
            RDI_TRY(tile_of(ps, w, ci, t, c->part, cached ? NULL : w->buf.data, &tile));
            make_piece(ps, t, c->part, tile, &pc);
            rdi_dense_copy_piece(&pc, p->ndim, ps->cs);
        }
    }
    return RADI_OK;
}

static int unit_cmp(const void *a, const void *b)
{
    const unit *x = a, *y = b;
    if (x->frag != y->frag) return x->frag < y->frag ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Reads, decodes and copies tasks [t0, t1), whose costs sum to `cost` <= budget. */
static radi_status run_batch(pass *ps, uint64_t t0, uint64_t t1, uint64_t cost, uint64_t budget)
{
    plan *p = ps->p;
    /* One worker: the read runs on the calling thread (rdi_dense_read_box). */
    rdi_pool *pool = ps->nworkers > 1 ? ps->ctx->pool : NULL;
    uint64_t nu = 0;
    for (uint64_t ti = t0; ti < t1; ti++)
        for (uint32_t k = 0; k < ps->tasks[ti].ns; k++) {
            const stile *t = &p->st[ps->tasks[ti].s0 + k];
            for (uint32_t i = 0; i < t->nc; i++)
                nu += ps->fai[p->c[t->c0 + i].frag] >= 0 && !(ps->pin && ps->pin[t->c0 + i]);
        }
    unit *u = rdi_malloc((size_t)(nu ? nu : 1) * sizeof *u);
    ps->ranges = rdi_malloc((size_t)(nu ? nu : 1) * sizeof *ps->ranges);
    radi_status s = (u && ps->ranges) ? RADI_OK : RADI_E_NOMEM;
    uint64_t n = 0;
    for (uint64_t ti = t0; ti < t1 && s == RADI_OK; ti++)
        for (uint32_t k = 0; k < ps->tasks[ti].ns; k++) {
            const stile *t = &p->st[ps->tasks[ti].s0 + k];
            for (uint32_t i = 0; i < t->nc; i++) {
                uint64_t ci = t->c0 + i;
                if (ps->fai[p->c[ci].frag] < 0) continue;
                if (ps->pin && ps->pin[ci]) { /* found in the cache: no read */
                    ps->stats.tiles_read++;
                    continue;
                }
                u[n++] = (unit){p->c[ci].frag, ps->coff[ci], ps->clen[ci], ci};
            }
        }
    /* Coalesce: sorted by file and offset, nearby ranges become one read, as long as the
     * bytes of the gaps still fit the budget. */
    uint64_t slack = budget - cost;
    ps->nranges = 0;
    if (s == RADI_OK && nu) {
        qsort(u, (size_t)nu, sizeof *u, unit_cmp);
        for (uint64_t i = 0; i < nu; i++) {
            range *last = ps->nranges ? &ps->ranges[ps->nranges - 1] : NULL;
            if (last && last->frag == u[i].frag && u[i].off >= last->off + last->len) {
                uint64_t gap = u[i].off - (last->off + last->len);
                uint64_t merged = u[i].off + u[i].len - last->off;
                if (gap <= (ps->remote ? GAP_MAX_REMOTE : GAP_MAX) && gap <= slack && merged <= READ_MAX) {
                    slack -= gap;
                    last->len = merged;
                    continue;
                }
            }
            ps->ranges[ps->nranges++] = (range){u[i].frag, u[i].off, u[i].len, 0};
        }
    }
    uint64_t pos = 0, nparts = 0;
    for (uint64_t r = 0; r < ps->nranges; r++) {
        ps->ranges[r].pos = pos;
        pos += ps->ranges[r].len;
        nparts += (ps->ranges[r].len + PART_MAX - 1) / PART_MAX;
    }
    if (s == RADI_OK) {
        s = bigbuf_reserve(ps->arena, (size_t)pos);
        ps->parts = rdi_malloc((size_t)(nparts ? nparts : 1) * sizeof *ps->parts);
        if (s == RADI_OK && !ps->parts) s = RADI_E_NOMEM;
    }
    if (s == RADI_OK) {
        uint64_t np = 0;
        for (uint64_t r = 0; r < ps->nranges; r++)
            for (uint64_t off = 0; off < ps->ranges[r].len; off += PART_MAX)
                ps->parts[np++] = r | ((off / PART_MAX) << 40);
        /* Each unit's bytes inside the arena: units and ranges are in the same order. */
        uint64_t r = 0;
        for (uint64_t i = 0; i < nu && s == RADI_OK; i++) {
            while (r < ps->nranges && !(ps->ranges[r].frag == u[i].frag && u[i].off >= ps->ranges[r].off &&
                                        u[i].off + u[i].len <= ps->ranges[r].off + ps->ranges[r].len))
                r++;
            if (r == ps->nranges) s = rdi_error(RADI_E_INTERNAL, "dense read: tile outside every read range");
            else ps->cdata[u[i].ci] = ps->arena->data + ps->ranges[r].pos + (u[i].off - ps->ranges[r].off);
        }
        if (s == RADI_OK) s = ps->remote ? read_remote(ps) : rdi_pool_for(pool, (size_t)np, io_task, ps);
        ps->stats.io_requests += ps->remote ? ps->nranges : np;
        ps->stats.bytes_read += pos;
        ps->stats.tiles_read += nu;
    }
    ps->t0 = t0;
    if (s == RADI_OK) s = rdi_pool_for(pool, (size_t)(t1 - t0), decode_task, ps);
    free(u);
    free(ps->ranges);
    ps->ranges = NULL;
    free(ps->parts);
    ps->parts = NULL;
    ps->stats.batches++;
    /* With several batches, free what this one held so the next stays within the
     * budget (a single batch keeps its buffers until the read ends). */
    if (t1 < ps->ntasks || t0 > 0) {
        bigbuf_free(ps->arena);
        for (unsigned i = 0; i < ps->nworkers; i++) bigbuf_free(&ps->workers[i].buf);
    }
    return s;
}

static radi_status run_pass(pass *ps)
{
    plan *p = ps->p;
    radi_array *a = p->a;
    uint32_t nf = a->nfrags;
    ps->fai = rdi_calloc(nf ? nf : 1, sizeof *ps->fai);
    ps->furi = rdi_calloc(nf ? nf : 1, sizeof *ps->furi);
    uint32_t *used = rdi_calloc(nf ? nf : 1, sizeof *used);
    uint8_t *mark = rdi_calloc(nf ? nf : 1, 1);
    ps->cdata = rdi_calloc((size_t)(p->nc ? p->nc : 1), sizeof *ps->cdata);
    ps->coff = rdi_calloc((size_t)(p->nc ? p->nc : 1), sizeof *ps->coff);
    ps->clen = rdi_calloc((size_t)(p->nc ? p->nc : 1), sizeof *ps->clen);
    radi_status s = (ps->fai && ps->furi && used && mark && ps->cdata && ps->coff && ps->clen) ? RADI_OK
                                                                                          : RADI_E_NOMEM;
    for (uint64_t ci = 0; ci < p->nc && s == RADI_OK; ci++) mark[p->c[ci].frag] = 1;
    uint32_t nused = 0;
    for (uint32_t f = 0; f < nf && s == RADI_OK; f++) {
        const rdi_fragmeta *fm = a->frags[f];
        ps->fai[f] = -1;
        for (uint32_t i = 0; i < fm->schema->nattr; i++)
            if (strcmp(fm->schema->attrs[i].name, ps->attr) == 0) ps->fai[f] = (int32_t)i;
        if (!mark[f] || ps->fai[f] < 0) continue;
        const rdi_attr *at = &fm->schema->attrs[ps->fai[f]];
        if (at->cell_val_num == RADI_VAR_NUM || (!ps->validity && rdi_attr_cell_size(at) != ps->cs) ||
            (ps->validity && !at->nullable)) {
            s = rdi_error(RADI_E_UNSUPPORTED, "%s: attribute %s has another type or nullability than in the schema",
                          fm->uri, ps->attr);
            break;
        }
        ps->furi[f] = rdi_asprintf(ps->validity ? "%s/a%d_validity.tdb" : "%s/a%d.tdb", fm->uri, ps->fai[f]);
        if (!ps->furi[f]) s = rdi_nomem();
        used[nused++] = f;
    }
    if (s == RADI_OK && nused) s = rdi_array_load_tile_index(a, used, nused);
    /* Where each contributing tile lies in its file. Offsets were checked ascending and
     * inside the file when loaded; the last tile ends at the file size. */
    for (uint64_t ci = 0; ci < p->nc && s == RADI_OK; ci++) {
        const contrib *c = &p->c[ci];
        int32_t fa = ps->fai[c->frag];
        if (fa < 0) continue;
        const rdi_fragmeta *fm = a->frags[c->frag];
        const uint64_t *offs = ps->validity ? fm->tile_validity_offsets[fa] : fm->tile_offsets[fa];
        uint64_t fsize = ps->validity ? fm->file_validity_sizes[fa] : fm->file_sizes[fa];
        if (!offs) {
            s = rdi_error(RADI_E_CORRUPT, "%s: no tile offsets for %s", ps->furi[c->frag], ps->attr);
            break;
        }
        ps->coff[ci] = offs[c->ftile];
        uint64_t end = c->ftile + 1 < fm->tile_num ? offs[c->ftile + 1] : fsize;
        ps->clen[ci] = end - ps->coff[ci];
    }
    free(used);
    free(mark);
    /* The tiles already in the cache are pinned now, so the batches skip their reads; of
     * the others, those the cache admits (seen recently) will be decoded whole into it. */
    uint64_t tb = p->tcells * ps->cs;
    if (s == RADI_OK && ps->cache && rdi_tile_cache_fits(ps->cache, tb)) {
        ps->pin = rdi_calloc((size_t)(p->nc ? p->nc : 1), sizeof *ps->pin);
        ps->whole = rdi_calloc((size_t)(p->nc ? p->nc : 1), 1);
        if (!ps->pin || !ps->whole) s = RADI_E_NOMEM;
        for (uint64_t ci = 0; ci < p->nc && s == RADI_OK; ci++) {
            const contrib *c = &p->c[ci];
            if (ps->fai[c->frag] < 0) continue;
            ps->pin[ci] = rdi_tile_cache_get(ps->cache, ps->furi[c->frag], c->ftile, tb);
            ps->whole[ci] = ps->pin[ci] || rdi_tile_cache_admit(ps->cache, ps->furi[c->frag], c->ftile, tb);
        }
    }

    /* Group tiles only when the tile's fastest dimension is not the output's (a
     * transposition): enough tiles for each output row run to fill a cache line. More
     * measured no faster (the group's tiles then fall out of cache before the copy). */
    uint32_t G = 1;
    if (p->src_fast != p->g && p->src_fast != p->ndim) {
        uint64_t along = (uint64_t)p->ext[p->g] * ps->cs;
        G = along >= LINE ? 1 : (uint32_t)RDI_MIN((LINE + along - 1) / along, GROUP_MAX);
    }
    uint64_t budget = ps->budget, maxcost = 0;
    for (;;) {
        if (s == RADI_OK) s = make_tasks(ps, G);
        maxcost = 0;
        for (uint64_t t = 0; t < ps->ntasks && s == RADI_OK; t++) maxcost = RDI_MAX(maxcost, ps->tasks[t].cost);
        if (s != RADI_OK || maxcost <= budget || G == 1) break;
        G /= 2;
    }
    if (s == RADI_OK && maxcost > budget)
        s = rdi_error(RADI_E_BUDGET, "%s: attribute %s: one tile needs %llu bytes, the memory budget is %llu",
                      a->uri, ps->attr, (unsigned long long)maxcost, (unsigned long long)budget);
    for (uint64_t t0 = 0; t0 < ps->ntasks && s == RADI_OK;) {
        uint64_t cost = 0, t1 = t0;
        while (t1 < ps->ntasks && cost + ps->tasks[t1].cost <= budget) cost += ps->tasks[t1++].cost;
        s = run_batch(ps, t0, t1, cost, budget);
        t0 = t1;
    }
    bigbuf_free(&ps->own_arena);
    for (unsigned i = 0; i < ps->nworkers && !ps->keep; i++) {
        bigbuf_free(&ps->workers[i].buf);
        bigbuf_free(&ps->workers[i].chunk);
    }
    for (uint64_t ci = 0; ps->pin && ci < p->nc; ci++) rdi_tile_cache_release(ps->cache, ps->pin[ci]);
    free(ps->pin);
    ps->pin = NULL;
    free(ps->whole);
    ps->whole = NULL;
    for (uint32_t f = 0; f < nf && ps->furi; f++) free(ps->furi[f]);
    free(ps->furi);
    free(ps->fai);
    free(ps->cdata);
    free(ps->coff);
    free(ps->clen);
    free(ps->tasks);
    ps->tasks = NULL;
    return s;
}

static radi_status check_read_args(radi_array *array, const int64_t *sub, radi_layout layout, uint32_t nbuffers,
                                   const radi_field_buffer *buffers, uint64_t *ncells)
{
    if (!array || !sub || (nbuffers && !buffers))
        return rdi_error(RADI_E_INVALID, "radi_array_read_dense: NULL argument");
    RDI_TRY(rdi_ctx_check(array->ctx));
    const radi_schema *s = array->schema;
    if (s->type != RADI_DENSE) return rdi_error(RADI_E_INVALID, "%s: not a dense array", array->uri);
    if (layout != RADI_ROW_MAJOR && layout != RADI_COL_MAJOR)
        return rdi_error(RADI_E_INVALID, "%s: read layout must be row- or col-major", array->uri);
    if (s->ndim < 1 || s->ndim > 4)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: dense reads of %u dimensions", array->uri, s->ndim);
    uint64_t n = 1;
    for (uint32_t d = 0; d < s->ndim; d++) {
        const rdi_dim *dim = &s->dims[d];
        int64_t lo = sub[2 * d], hi = sub[2 * d + 1];
        if (lo > hi || lo < rdi_dim_lo(dim) || hi > rdi_dim_hi(dim))
            return rdi_error(RADI_E_INVALID, "%s: dimension %s: range [%lld, %lld] is empty or outside the domain "
                             "[%lld, %lld]", array->uri, dim->name, (long long)lo, (long long)hi,
                             (long long)rdi_dim_lo(dim), (long long)rdi_dim_hi(dim));
        if (__builtin_mul_overflow(n, (uint64_t)(hi - lo) + 1, &n))
            return rdi_error(RADI_E_INVALID, "%s: subarray has too many cells", array->uri);
    }
    for (uint32_t b = 0; b < nbuffers; b++) {
        uint32_t ai;
        if (!buffers[b].attr || radi_schema_attr_index(s, buffers[b].attr, &ai) != RADI_OK)
            return rdi_error(RADI_E_INVALID, "%s: no attribute named '%s'", array->uri,
                             buffers[b].attr ? buffers[b].attr : "(null)");
        const rdi_attr *at = &s->attrs[ai];
        if (at->cell_val_num == RADI_VAR_NUM)
            return rdi_error(RADI_E_UNSUPPORTED, "%s: attribute %s is var-sized; dense reads take fixed-size cells",
                             array->uri, at->name);
        uint64_t need;
        if (__builtin_mul_overflow(n, (uint64_t)rdi_attr_cell_size(at), &need) || !buffers[b].data ||
            buffers[b].size < need)
            return rdi_error(RADI_E_INVALID, "%s: buffer for %s holds %llu bytes, the subarray needs %llu",
                             array->uri, at->name, (unsigned long long)buffers[b].size, (unsigned long long)need);
    }
    *ncells = n;
    return RADI_OK;
}

/* A validity byte is 0 or 1 (format.md §5); a damaged validity tile can hold others,
 * which callers would read one way or another (`== 1` or `!= 0`). Refused as the sparse
 * reader refuses it. One pass over bytes just written, so still in cache for small reads. */
static radi_status check_validity(const radi_array *array, const char *attr, const uint8_t *v, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (v[i] > 1)
            return rdi_error(RADI_E_CORRUPT, "%s: attribute '%s': validity of result cell %llu is %u, not 0 or 1 "
                             "(a damaged validity tile)", array->uri, attr, (unsigned long long)i, v[i]);
    return RADI_OK;
}

radi_status radi_array_read_dense(radi_array *array, const int64_t *subarray, radi_layout layout,
                                  uint32_t nbuffers, radi_field_buffer *buffers, radi_read_stats *stats)
{
    uint64_t ncells = 0;
    RDI_TRY(check_read_args(array, subarray, layout, nbuffers, buffers, &ncells));
    radi_ctx *ctx = array->ctx;
    plan p;
    memset(&p, 0, sizeof p);
    radi_status s = rdi_dense_build_plan(&p, array, subarray, layout, NULL);
    unsigned nw = rdi_pool_size(ctx->pool);
    worker *workers = NULL;
    if (s == RADI_OK) s = rdi_dense_workers_create(nw, &workers);
    radi_read_stats total;
    memset(&total, 0, sizeof total);
    for (uint32_t b = 0; b < nbuffers && s == RADI_OK; b++) {
        uint32_t ai;
        radi_schema_attr_index(array->schema, buffers[b].attr, &ai);
        const rdi_attr *at = &array->schema->attrs[ai];
        for (int v = 0; v < 2 && s == RADI_OK; v++) {
            if (v == 1 && !buffers[b].validity) break;
            if (v == 1 && !at->nullable) { /* every cell of a non-nullable attribute is valid */
                memset(buffers[b].validity, 1, (size_t)ncells);
                break;
            }
            pass ps;
            memset(&ps, 0, sizeof ps);
            ps.p = &p;
            ps.ctx = ctx;
            ps.validity = v;
            ps.attr = at->name;
            ps.cs = v ? 1 : rdi_attr_cell_size(at);
            ps.out = v ? buffers[b].validity : buffers[b].data;
            uint8_t zero[8] = {0};
            ps.fill = v ? &at->fill_validity : (at->fill && at->fill_size == ps.cs ? at->fill : zero);
            if (!v && !(at->fill && at->fill_size == ps.cs) && ps.cs > sizeof zero) {
                s = rdi_error(RADI_E_CORRUPT, "%s: attribute %s has no fill value of its cell size", array->uri,
                              at->name);
                break;
            }
            ps.workers = workers;
            ps.nworkers = nw;
            ps.budget = ctx->config.memory_budget;
            ps.arena = &ps.own_arena;
            ps.remote = array->snap ? array->snap->remote
                                    : (rdi_vfs_flags(ctx->vfs, array->uri) & RDI_VFS_REMOTE) != 0;
            s = run_pass(&ps);
            if (s == RADI_OK && v) s = check_validity(array, at->name, buffers[b].validity, ncells);
            total.tiles_read += ps.stats.tiles_read;
            total.bytes_read += ps.stats.bytes_read;
            total.io_requests += ps.stats.io_requests;
            total.batches += ps.stats.batches;
        }
    }
    rdi_dense_workers_free(workers, nw);
    free(p.st);
    free(p.c);
    if (s == RADI_OK && stats) *stats = total;
    return s;
}

radi_status rdi_dense_read_box(radi_array *a, const int64_t *q, const char *attr, void *out, const uint64_t *ostride,
                               rdi_dense_worker *w, uint64_t budget, rdi_tile_cache *cache, radi_read_stats *stats)
{
    const radi_schema *sc = a->schema;
    uint32_t ai;
    if (sc->type != RADI_DENSE || radi_schema_attr_index(sc, attr, &ai) != RADI_OK)
        return rdi_error(RADI_E_INTERNAL, "%s: no dense attribute %s", a->uri, attr);
    const rdi_attr *at = &sc->attrs[ai];
    if (at->cell_val_num == RADI_VAR_NUM || at->nullable)
        return rdi_error(RADI_E_INTERNAL, "%s: %s is var-sized or nullable", a->uri, attr);
    plan p;
    memset(&p, 0, sizeof p);
    radi_status s = rdi_dense_build_plan(&p, a, q, RADI_ROW_MAJOR, ostride);
    pass ps;
    memset(&ps, 0, sizeof ps);
    ps.p = &p;
    ps.ctx = a->ctx;
    ps.attr = at->name;
    ps.cs = rdi_attr_cell_size(at);
    ps.out = out;
    uint8_t zero[8] = {0};
    ps.fill = at->fill && at->fill_size == ps.cs ? at->fill : zero;
    if (s == RADI_OK && !(at->fill && at->fill_size == ps.cs) && ps.cs > sizeof zero)
        s = rdi_error(RADI_E_CORRUPT, "%s: attribute %s has no fill value of its cell size", a->uri, at->name);
    ps.workers = w;
    ps.nworkers = 1;
    ps.keep = 1;
    ps.cache = cache;
    ps.budget = budget;
    ps.arena = &w->arena;
    ps.remote = a->snap ? a->snap->remote : (rdi_vfs_flags(a->ctx->vfs, a->uri) & RDI_VFS_REMOTE) != 0;
    if (s == RADI_OK) s = run_pass(&ps);
    free(p.st);
    free(p.c);
    if (stats) {
        stats->tiles_read += ps.stats.tiles_read;
        stats->bytes_read += ps.stats.bytes_read;
        stats->io_requests += ps.stats.io_requests;
        stats->batches += ps.stats.batches;
    }
    return s;
}
