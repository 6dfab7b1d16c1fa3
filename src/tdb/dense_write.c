/*
 * The dense writer (docs/format.md §7): one fragment per write holding every
 * tile the written box touches, each tile complete (cells outside the box padded with
 * zeros, or with the fill value for consolidation), statistics over the written cells
 * only, NED = the exact box. Files are written data first, then
 * __fragment_metadata.tdb, then the empty commit marker, so a failed write leaves an
 * invisible fragment at worst (and we remove what we wrote).
 *
 * Tiles are independent: (tile group, attribute) tasks are cut, summarized and filtered on
 * the context's pool in batches of a few tasks per worker, and each batch's filtered tiles
 * are appended in tile order to the attribute's file buffer. A group is one tile, or, when
 * neighbouring tiles interleave in the input (an axial tile of a row-major volume is one
 * cell out of every z), the few neighbours that share the input's cache lines: they are
 * cut together in one pass, so the input is read once instead of once per tile. Memory
 * held: one group of unfiltered tiles (+ validity tiles) per worker, one group of filtered
 * tiles per batch slot, and the filtered files themselves (about the fragment's size on
 * disk), since each file is written with one atomic rdi_vfs_write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/pool.h"
#include "core/transpose.h"
#include "tdb/fragment_write.h"

typedef struct dw_attr {
    const rdi_attr *attr;
    rdi_field_kind kind;
    uint32_t cs;                /* bytes per cell */
    const uint8_t *data;        /* the caller's cells over the box, in the input layout */
    const uint8_t *validity;    /* nullable: one byte per cell */
    uint8_t *pad;               /* one cell of padding (zeros or the fill value) */
    uint8_t vpad;               /* validity of padding cells */
    rdi_buf file, vfile;        /* filtered tiles, concatenated */
} dw_attr;

typedef struct dw_worker {
    rdi_scratch *scratch;
    uint8_t *tile, *vtile;      /* `group` tiles (validity tiles) back to back */
} dw_worker;

typedef struct dw {
    const radi_schema *s;
    const char *uri;            /* the array, for messages */
    uint32_t ndim, nattr;
    rdi_grid g;
    int64_t box[8];
    uint64_t cpt;               /* cells per tile */
    uint64_t tile_bytes_max;    /* largest attribute tile */
    uint64_t src_stride[4];     /* input-layout stride of each dim, in cells of the box */
    uint64_t tile_stride[4];    /* cell-order stride of each dim inside a tile */
    uint32_t fast;              /* the dim along which tile cells are contiguous */
    uint64_t row_tiles;         /* tiles along the grid dim where tile numbers are consecutive */
    uint64_t group;             /* consecutive tiles cut together (plan_groups) */
    dw_attr *attrs;
    dw_worker *workers;
    unsigned nworkers;
    rdi_fmb fmb;
    uint64_t task0;             /* first task of the running batch */
    uint64_t batch;             /* tasks per batch */
    rdi_buf *slots, *vslots;    /* per batch task: its filtered tiles / validity tiles */
    uint64_t *sizes, *vsizes;   /* per batch task and tile of its group: filtered bytes */
    uint64_t t1;
} dw;

/* Strides (in cells) of an N-D block with extents ext in row- or col-major order. */
static void strides(uint32_t ndim, const uint64_t *ext, radi_layout order, uint64_t *out)
{
    uint64_t m = 1;
    if (order == RADI_COL_MAJOR) {
        for (uint32_t d = 0; d < ndim; d++) { out[d] = m; m *= ext[d]; }
    } else {
        for (uint32_t d = ndim; d-- > 0;) { out[d] = m; m *= ext[d]; }
    }
}

/* Copies n cells of cs bytes from a strided source (stride in cells) to contiguous dst. */
static void gather(uint8_t *dst, const uint8_t *src, uint64_t n, uint64_t stride, uint32_t cs)
{
    if (stride == 1) {
        memcpy(dst, src, (size_t)(n * cs));
        return;
    }
    switch (cs) {
    case 1: for (uint64_t i = 0; i < n; i++) dst[i] = src[i * stride]; break;
    case 2: for (uint64_t i = 0; i < n; i++) memcpy(dst + 2 * i, src + 2 * i * stride, 2); break;
    case 4: for (uint64_t i = 0; i < n; i++) memcpy(dst + 4 * i, src + 4 * i * stride, 4); break;
    case 8: for (uint64_t i = 0; i < n; i++) memcpy(dst + 8 * i, src + 8 * i * stride, 8); break;
    default:
        for (uint64_t i = 0; i < n; i++) memcpy(dst + i * cs, src + i * stride * cs, cs);
    }
}

static void fill_cells(uint8_t *dst, uint64_t n, const uint8_t *cell, uint32_t cs)
{
    int zero = 1;
    for (uint32_t i = 0; i < cs && zero; i++) zero = cell[i] == 0;
    if (zero) {
        memset(dst, 0, (size_t)(n * cs));
        return;
    }
    memcpy(dst, cell, cs);
    /* Doubling copies keep this a handful of memcpy calls per tile. */
    uint64_t done = 1;
    while (done < n) {
        uint64_t k = RDI_MIN(done, n - done);
        memcpy(dst + done * cs, dst, (size_t)(k * cs));
        done += k;
    }
}

/* How a tile's written cells [lo, hi] (relative to the tile's origin) are laid out: runs
 * contiguous in the tile and evenly strided in the input. A run starts along the tile's
 * fastest dim and absorbs the next dims (in cell order) while the tile stays contiguous
 * and the input stays one stride: a whole aligned tile is one memcpy, and an axial tile
 * (z extent 1) cut from row-major input is one strided run instead of a cell-by-cell
 * walk. Runs follow one another along ord[merged..] (cell order, fastest first). */
typedef struct dw_cut {
    uint32_t ord[4], merged;
    uint64_t run, sstep;        /* cells per run; input stride between them */
    int64_t lo[4], hi[4];
} dw_cut;

static void plan_cut(const dw *w, const int64_t *lo, const int64_t *hi, dw_cut *c)
{
    const uint32_t nd = w->ndim, f = w->fast;
    for (uint32_t d = 0; d < nd; d++) {
        c->lo[d] = lo[d];
        c->hi[d] = hi[d];
        c->ord[d] = w->s->cell_order == RADI_COL_MAJOR ? d : nd - 1 - d;
    }
    uint64_t run = (uint64_t)(hi[f] - lo[f] + 1), sstep = w->src_stride[f];
    uint32_t merged = 1;
    for (; merged < nd; merged++) {
        uint32_t d = c->ord[merged];
        uint64_t len = (uint64_t)(hi[d] - lo[d] + 1);
        if (w->tile_stride[d] != run) break;
        if (run == 1) sstep = w->src_stride[d];
        else if (w->src_stride[d] != run * sstep) break;
        run *= len;
    }
    c->merged = merged;
    c->run = run;
    c->sstep = sstep;
}

/* Steps pos[] to the next run: an odometer over ord[from..] (fastest first), skipping
 * dim `skip` (or none: -1). Returns 0 after the last. */
static int next_run(const dw_cut *c, uint32_t nd, uint32_t from, int skip, int64_t *pos)
{
    for (uint32_t k = from; k < nd; k++) {
        uint32_t d = c->ord[k];
        if ((int)d == skip) continue;
        if (++pos[d] <= c->hi[d]) return 1;
        pos[d] = c->lo[d];
    }
    return 0;
}

/* Cuts tiles first .. first+n-1 of attribute `at` (n > 1: a group of plan_groups, all of
 * them whole inside the box, so their cuts are alike) into the worker's tile buffers, and
 * says in *cut where the written cells are. data[t] / vdata[t] get where tile t's cells
 * are: the worker's buffer, or the input itself when the tile is one contiguous span of it. */
static void cut_tiles(dw *w, dw_attr *at, dw_worker *wk, uint64_t first, uint64_t n,
                      const uint8_t **data, const uint8_t **vdata, dw_cut *cut)
{
    const uint32_t nd = w->ndim, cs = at->cs;
    int64_t tc[4], tb[8], lo[4] = {0}, hi[4] = {0};
    rdi_grid_coords(&w->g, first, tc);
    rdi_grid_tile_box(&w->g, tc, tb);
    int full = 1;
    for (uint32_t d = 0; d < nd; d++) {
        lo[d] = RDI_MAX(tb[2 * d], w->box[2 * d]) - tb[2 * d];
        hi[d] = RDI_MIN(tb[2 * d + 1], w->box[2 * d + 1]) - tb[2 * d];
        full &= lo[d] == 0 && hi[d] == w->g.ext[d] - 1;
    }
    if (!full) {
        fill_cells(wk->tile, w->cpt, at->pad, cs);
        if (at->kind.nullable) memset(wk->vtile, at->vpad, (size_t)w->cpt);
    }
    for (uint64_t t = 0; t < n; t++) {
        data[t] = wk->tile + t * w->cpt * cs;
        vdata[t] = at->kind.nullable ? wk->vtile + t * w->cpt : NULL;
    }
    plan_cut(w, lo, hi, cut);
    const uint64_t run = cut->run, sstep = cut->sstep;
    /* A run strided in the input is cut together with runs that start 1, 2, ... cells
     * after it there, as one transpose (rows: the run's cells; columns: the runs): the
     * other tiles of the group (tile t's run starts t cells later and lands cpt cells
     * further on), or else the runs along a dim in which the input is contiguous (a
     * column-major input). Other runs are gathered one by one. */
    uint64_t cols = 1, dstride = 0;
    int across = -1;
    if (n > 1) {
        cols = n;
        dstride = w->cpt;
    } else if (sstep > 1) {
        for (uint32_t k = cut->merged; k < nd && across < 0; k++) {
            uint32_t d = cut->ord[k];
            if (w->src_stride[d] == 1 && hi[d] > lo[d]) {
                across = (int)d;
                cols = (uint64_t)(hi[d] - lo[d] + 1);
                dstride = w->tile_stride[d];
            }
        }
    }
    int64_t pos[4];
    memcpy(pos, lo, sizeof pos);
    do {
        uint64_t src = 0, dst = 0;
        for (uint32_t d = 0; d < nd; d++) {
            src += (uint64_t)(tb[2 * d] + pos[d] - w->box[2 * d]) * w->src_stride[d];
            dst += (uint64_t)pos[d] * w->tile_stride[d];
        }
        if (n == 1 && run == w->cpt && sstep == 1) {
            /* The whole tile is one contiguous span of the input: filter it in place. */
            data[0] = at->data + src * cs;
            if (at->kind.nullable) vdata[0] = at->validity + src;
        } else if (cols == 1) {
            gather(wk->tile + dst * cs, at->data + src * cs, run, sstep, cs);
            if (at->kind.nullable) gather(wk->vtile + dst, at->validity + src, run, sstep, 1);
        } else {
            rdi_transpose(at->data + src * cs, sstep, wk->tile + dst * cs, dstride, run, cols, cs);
            if (at->kind.nullable)
                rdi_transpose(at->validity + src, sstep, wk->vtile + dst, dstride, run, cols, 1);
        }
    } while (next_run(cut, nd, cut->merged, across, pos));
}

/* The statistics of a cut tile's written cells, run by run in the tile's memory order:
 * float sums accumulate in TileDB's order, and sums saturate per run as they did when
 * each run was summed while being copied. */
static void cut_stats(const dw *w, const dw_attr *at, const dw_cut *cut, const uint8_t *data,
                      const uint8_t *vdata, rdi_tile_stats *st)
{
    rdi_tile_stats_init(st);
    int whole = 1;
    for (uint32_t d = 0; d < w->ndim; d++) whole &= cut->lo[d] == 0 && cut->hi[d] == w->g.ext[d] - 1;
    if (whole) {
        /* A whole tile's runs follow one another in memory. */
        rdi_tile_stats_add_runs(st, &at->kind, data, vdata, w->cpt / cut->run, cut->run);
        return;
    }
    int64_t pos[4];
    memcpy(pos, cut->lo, sizeof pos);
    do {
        uint64_t off = 0;
        for (uint32_t d = 0; d < w->ndim; d++) off += (uint64_t)pos[d] * w->tile_stride[d];
        rdi_tile_stats_add(st, &at->kind, data + off * at->cs, vdata ? vdata + off : NULL, cut->run);
    } while (next_run(cut, w->ndim, cut->merged, -1, pos));
}

/* Whether tile `tile` lies whole inside the written box. */
static int tile_full(const dw *w, uint64_t tile)
{
    int64_t tc[4], tb[8];
    rdi_grid_coords(&w->g, tile, tc);
    rdi_grid_tile_box(&w->g, tc, tb);
    for (uint32_t d = 0; d < w->ndim; d++)
        if (tb[2 * d] < w->box[2 * d] || tb[2 * d + 1] > w->box[2 * d + 1]) return 0;
    return 1;
}

/* The tiles of group grp: *first and the count. Groups never straddle a row of the grid
 * (the tiles along the dim in which tile numbers are consecutive). */
static uint64_t group_tiles(const dw *w, uint64_t grp, uint64_t *first)
{
    const uint64_t per_row = (w->row_tiles + w->group - 1) / w->group;
    const uint64_t in_row = (grp % per_row) * w->group;
    *first = (grp / per_row) * w->row_tiles + in_row;
    return RDI_MIN(w->group, w->row_tiles - in_row);
}

/* Task i of the batch: a group of tiles of one attribute, cut into the worker's buffers,
 * summarized and filtered into the batch slot (tiles back to back, sizes alongside). */
static radi_status cut_task(void *arg, size_t i, unsigned worker)
{
    dw *w = arg;
    const uint64_t task = w->task0 + i;
    const uint64_t grp = task / w->nattr;
    const uint32_t ai = (uint32_t)(task % w->nattr);
    dw_attr *at = &w->attrs[ai];
    dw_worker *wk = &w->workers[worker];
    const uint32_t cs = at->cs;

    if (!wk->scratch) RDI_TRY(rdi_scratch_create(&wk->scratch));
    if (!wk->tile && !(wk->tile = rdi_malloc((size_t)(w->tile_bytes_max * w->group)))) return RADI_E_NOMEM;
    if (at->kind.nullable && !wk->vtile && !(wk->vtile = rdi_malloc((size_t)(w->cpt * w->group))))
        return RADI_E_NOMEM;

    uint64_t first;
    const uint64_t count = group_tiles(w, grp, &first);
    uint64_t n = count;
    for (uint64_t t = 0; t < n && n > 1; t++)
        if (!tile_full(w, first + t)) n = 1; /* cut one by one below */

    rdi_buf *slot = &w->slots[i], *vslot = &w->vslots[i];
    uint64_t *sizes = &w->sizes[i * w->group], *vsizes = &w->vsizes[i * w->group];
    slot->len = vslot->len = 0;
    const uint8_t *data[64], *vdata[64];
    for (uint64_t t0 = 0; t0 < count; t0 += n) {
        dw_cut cut;
        cut_tiles(w, at, wk, first + t0, n, data, vdata, &cut);
        for (uint64_t t = 0; t < n; t++) {
            const uint64_t tile = first + t0 + t;
            /* Summarized and filtered while the tile is in cache from the cut. */
            rdi_tile_stats st;
            cut_stats(w, at, &cut, data[t], vdata[t], &st);
            rdi_fmb_set_stats(&w->fmb, rdi_field_attr(ai), tile, &st);
            size_t before = slot->len;
            radi_status s = rdi_tile_filter(&at->attr->filters, at->attr->type, cs, data[t],
                                            w->cpt * cs, wk->scratch, slot);
            sizes[t0 + t] = slot->len - before;
            if (s == RADI_OK && at->kind.nullable) {
                before = vslot->len;
                s = rdi_tile_filter(&w->s->validity_filters, RADI_UINT8, 1, vdata[t], w->cpt,
                                    wk->scratch, vslot);
                vsizes[t0 + t] = vslot->len - before;
            }
            if (s != RADI_OK)
                return rdi_error_wrap(s, "%s: attribute %s tile %llu", w->uri, at->attr->name,
                                      (unsigned long long)tile);
        }
    }
    return RADI_OK;
}

/* Checks the request and binds the caller's buffers to the schema's attributes. */
static radi_status dw_prepare(dw *w, radi_array *a, const int64_t *box, radi_layout layout,
                              uint32_t nbuffers, const radi_field_buffer *buffers, int fill_padding)
{
    const radi_schema *s = a->schema;
    w->s = s;
    w->uri = a->uri;
    w->ndim = s->ndim;
    w->nattr = s->nattr;
    if (s->type != RADI_DENSE)
        return rdi_error(RADI_E_INVALID, "%s: dense write to a sparse array", a->uri);
    if (layout != RADI_ROW_MAJOR && layout != RADI_COL_MAJOR)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: dense writes take row- or col-major cells",
                         a->uri);
    if (s->cell_order != RADI_ROW_MAJOR && s->cell_order != RADI_COL_MAJOR)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: cell order %d is not supported for dense writes",
                         a->uri, (int)s->cell_order);
    if (s->nattr == 0) return rdi_error(RADI_E_INVALID, "%s: the schema has no attribute", a->uri);
    RDI_TRY(rdi_grid_init(s, box, &w->g));
    memcpy(w->box, box, 2 * s->ndim * sizeof *box);

    uint64_t ext[4], text[4], ncells = 1;
    w->cpt = 1;
    for (uint32_t d = 0; d < s->ndim; d++) {
        const rdi_dim *dim = &s->dims[d];
        if (box[2 * d] < rdi_dim_lo(dim) || box[2 * d + 1] > rdi_dim_hi(dim))
            return rdi_error(RADI_E_INVALID, "%s: dimension %s: range [%lld, %lld] is outside the domain [%lld, %lld]",
                             a->uri, dim->name, (long long)box[2 * d], (long long)box[2 * d + 1],
                             (long long)rdi_dim_lo(dim), (long long)rdi_dim_hi(dim));
        ext[d] = (uint64_t)(box[2 * d + 1] - box[2 * d]) + 1;
        text[d] = (uint64_t)w->g.ext[d];
        if (ncells > UINT64_MAX / ext[d] || w->cpt > UINT64_MAX / text[d])
            return rdi_error(RADI_E_INVALID, "%s: the write box or the tile is too large", a->uri);
        ncells *= ext[d];
        w->cpt *= text[d];
    }
    strides(s->ndim, ext, layout, w->src_stride);
    strides(s->ndim, text, s->cell_order, w->tile_stride);
    w->fast = s->cell_order == RADI_COL_MAJOR ? 0 : s->ndim - 1;

    w->attrs = rdi_calloc(s->nattr, sizeof *w->attrs);
    if (!w->attrs) return RADI_E_NOMEM;
    for (uint32_t i = 0; i < nbuffers; i++) {
        uint32_t ai = 0;
        if (!buffers[i].attr)
            return rdi_error(RADI_E_INVALID, "%s: buffer %u has no attribute name", a->uri, i);
        while (ai < s->nattr && strcmp(s->attrs[ai].name, buffers[i].attr) != 0) ai++;
        if (ai == s->nattr)
            return rdi_error(RADI_E_NOT_FOUND, "%s: no attribute named %s", a->uri, buffers[i].attr);
        dw_attr *at = &w->attrs[ai];
        if (at->attr)
            return rdi_error(RADI_E_INVALID, "%s: attribute %s given twice", a->uri, buffers[i].attr);
        const rdi_attr *attr = &s->attrs[ai];
        at->attr = attr;
        if (attr->cell_val_num == RADI_VAR_NUM || radi_datatype_size(attr->type) == 0)
            return rdi_error(RADI_E_UNSUPPORTED,
                             "%s: attribute %s: dense writes support fixed-size numeric attributes",
                             a->uri, attr->name);
        at->cs = rdi_attr_cell_size(attr);
        rdi_field_kind_of(s, rdi_field_attr(ai), 1, &at->kind);
        if (ncells > UINT64_MAX / at->cs || buffers[i].size < ncells * at->cs || !buffers[i].data)
            return rdi_error(RADI_E_INVALID,
                             "%s: attribute %s: the buffer holds %llu bytes, the box needs %llu cells of %u bytes",
                             a->uri, attr->name, (unsigned long long)buffers[i].size,
                             (unsigned long long)ncells, at->cs);
        if (attr->nullable && !buffers[i].validity)
            return rdi_error(RADI_E_INVALID, "%s: attribute %s is nullable: a validity buffer is required",
                             a->uri, attr->name);
        if (!attr->nullable && buffers[i].validity)
            return rdi_error(RADI_E_INVALID, "%s: attribute %s is not nullable but a validity buffer was given",
                             a->uri, attr->name);
        at->data = buffers[i].data;
        at->validity = buffers[i].validity;
        RDI_TRY(rdi_pipeline_check(&attr->filters, attr->type, attr->name));
        if (attr->nullable) RDI_TRY(rdi_pipeline_check(&s->validity_filters, RADI_UINT8, "validity"));
        if (w->cpt > UINT64_MAX / at->cs)
            return rdi_error(RADI_E_INVALID, "%s: attribute %s: the tile is too large", a->uri, attr->name);
        w->tile_bytes_max = RDI_MAX(w->tile_bytes_max, w->cpt * at->cs);
        at->pad = rdi_calloc(1, at->cs);
        if (!at->pad) return RADI_E_NOMEM;
        if (fill_padding) {
            /* Consolidation pads with the fill value (repeated per value if the schema
             * stores one value for a multi-value cell). */
            size_t vs = radi_datatype_size(attr->type);
            if (attr->fill && attr->fill_size == at->cs) memcpy(at->pad, attr->fill, at->cs);
            else if (attr->fill && attr->fill_size == vs)
                for (uint32_t k = 0; k < attr->cell_val_num; k++) memcpy(at->pad + k * vs, attr->fill, vs);
            at->vpad = attr->fill_validity;
        }
    }
    for (uint32_t ai = 0; ai < s->nattr; ai++)
        if (!w->attrs[ai].attr)
            return rdi_error(RADI_E_INVALID, "%s: dense writes need every attribute; %s is missing",
                             a->uri, s->attrs[ai].name);
    /* Each worker holds a tile and its filtered copy at once. */
    if (w->tile_bytes_max + w->cpt > a->ctx->config.memory_budget)
        return rdi_error(RADI_E_BUDGET, "%s: a tile of %llu bytes exceeds the memory budget of %llu bytes",
                         a->uri, (unsigned long long)w->tile_bytes_max,
                         (unsigned long long)a->ctx->config.memory_budget);
    return RADI_OK;
}

/* How many consecutive tiles to cut together: more than one only when a tile's cells are
 * strided in the input and the next tile's start one cell later (an axial tile of a
 * C-order volume, a sagittal one of an x-fastest volume), so that cutting tiles one at a
 * time would fetch every input cache line once per tile. Consecutive tiles differ along
 * gdim, the fastest dim in tile order that has more than one tile. A group spans a cache
 * line of each input row; bounded so the workers' group buffers stay within half the
 * memory budget. */
static void plan_groups(dw *w, uint64_t budget)
{
    const uint32_t nd = w->ndim;
    uint32_t gdim = w->g.tile_order == RADI_COL_MAJOR ? 0 : nd - 1;
    for (uint32_t k = 0; k < nd; k++) {
        uint32_t d = w->g.tile_order == RADI_COL_MAJOR ? k : nd - 1 - k;
        if (w->g.thi[d] > w->g.tlo[d]) {
            gdim = d;
            break;
        }
    }
    w->row_tiles = (uint64_t)(w->g.thi[gdim] - w->g.tlo[gdim] + 1);
    /* Input cells between the origins of two consecutive tiles. */
    const uint64_t gstep = (uint64_t)w->g.ext[gdim] * w->src_stride[gdim];
    w->group = 1;
    int64_t lo[4] = {0}, hi[4] = {0};
    for (uint32_t d = 0; d < nd; d++) hi[d] = w->g.ext[d] - 1;
    dw_cut cut;
    plan_cut(w, lo, hi, &cut);
    uint32_t cs_min = UINT32_MAX;
    for (uint32_t i = 0; i < w->nattr; i++) cs_min = RDI_MIN(cs_min, w->attrs[i].cs);
    const uint64_t row_bytes = 64, max_group = 64;
    if (cut.sstep <= 1 || gstep != 1 || cs_min > row_bytes / 2) return;
    uint64_t g = RDI_MIN(row_bytes / cs_min, RDI_MIN(max_group, w->row_tiles));
    const uint64_t per_tile = (w->tile_bytes_max + w->cpt) * w->nworkers;
    while (g > 1 && g * per_tile > budget / 2) g--;
    /* Groups are few and large: as many per row as a multiple of the workers, so that no
     * worker is left with a last group alone (155 axial tiles on 4 workers: 8 groups of
     * 20, not 5 of 32). */
    const uint64_t groups = (w->row_tiles + g - 1) / g;
    const uint64_t even = (groups + w->nworkers - 1) / w->nworkers * w->nworkers;
    w->group = (w->row_tiles + even - 1) / even;
}

/* Cuts and filters every tile of every attribute into the attributes' file buffers. */
static radi_status dw_tile_all(dw *w, rdi_pool *pool, uint64_t budget)
{
    /* A write made from inside a pool task (a volume of a parallel ingest) runs its loop
     * inline: one worker, so one group buffer and one batch slot in flight. */
    w->nworkers = rdi_pool_in_task() ? 1 : rdi_pool_size(pool);
    w->workers = rdi_calloc(w->nworkers, sizeof *w->workers);
    if (!w->workers) return RADI_E_NOMEM;
    plan_groups(w, budget);
    const uint64_t ngroups = w->g.ntiles / w->row_tiles * ((w->row_tiles + w->group - 1) / w->group);
    const uint64_t ntasks = ngroups * w->nattr;
    /* Groups are large: one per worker per batch. Single tiles come several per worker,
     * so that a worker slowed down (other processes on its core) holds the others up
     * at fewer batch ends; the batch's filtered tiles (at most a tile each) stay within
     * an eighth of the memory budget. */
    uint64_t per = 1;
    if (w->group == 1) {
        const uint64_t slot = RDI_MAX(w->tile_bytes_max, (uint64_t)1) * w->nworkers;
        per = RDI_MAX((uint64_t)2, RDI_MIN((uint64_t)8, budget / 8 / slot));
    }
    w->batch = RDI_MIN(ntasks, (uint64_t)w->nworkers * per);
    w->slots = rdi_calloc((size_t)w->batch, sizeof *w->slots);
    w->vslots = rdi_calloc((size_t)w->batch, sizeof *w->vslots);
    w->sizes = rdi_calloc((size_t)(w->batch * w->group), sizeof *w->sizes);
    w->vsizes = rdi_calloc((size_t)(w->batch * w->group), sizeof *w->vsizes);
    if (!w->slots || !w->vslots || !w->sizes || !w->vsizes) return RADI_E_NOMEM;
    for (w->task0 = 0; w->task0 < ntasks; w->task0 += w->batch) {
        uint64_t nb = RDI_MIN(w->batch, ntasks - w->task0);
        RDI_TRY(rdi_pool_for(pool, (size_t)nb, cut_task, w));
        for (uint64_t j = 0; j < nb; j++) {
            uint64_t task = w->task0 + j, grp = task / w->nattr;
            uint32_t ai = (uint32_t)(task % w->nattr);
            dw_attr *at = &w->attrs[ai];
            uint64_t first, n = group_tiles(w, grp, &first);
            for (uint64_t t = 0; t < n; t++) {
                rdi_fmb_add_tile(&w->fmb, rdi_field_attr(ai), first + t, w->sizes[j * w->group + t]);
                if (at->kind.nullable)
                    rdi_fmb_add_validity_tile(&w->fmb, rdi_field_attr(ai), first + t,
                                              w->vsizes[j * w->group + t]);
            }
            RDI_TRY(rdi_buf_append(&at->file, w->slots[j].data, w->slots[j].len));
            if (at->kind.nullable) RDI_TRY(rdi_buf_append(&at->vfile, w->vslots[j].data, w->vslots[j].len));
        }
    }
    return RADI_OK;
}

static void dw_free(dw *w)
{
    if (w->attrs)
        for (uint32_t i = 0; i < w->nattr; i++) {
            free(w->attrs[i].pad);
            rdi_buf_free(&w->attrs[i].file);
            rdi_buf_free(&w->attrs[i].vfile);
        }
    if (w->workers)
        for (unsigned i = 0; i < w->nworkers; i++) {
            rdi_scratch_free(w->workers[i].scratch);
            free(w->workers[i].tile);
            free(w->workers[i].vtile);
        }
    for (uint64_t j = 0; j < w->batch; j++) {
        if (w->slots) rdi_buf_free(&w->slots[j]);
        if (w->vslots) rdi_buf_free(&w->vslots[j]);
    }
    free(w->attrs);
    free(w->workers);
    free(w->slots);
    free(w->vslots);
    free(w->sizes);
    free(w->vsizes);
    if (w->fmb.fields) rdi_fmb_free(&w->fmb);
}

static radi_status write_file(rdi_vfs *vfs, const char *dir, const char *name, const rdi_buf *b)
{
    char *uri = rdi_path_join(dir, name);
    if (!uri) return rdi_nomem();
    radi_status s = rdi_vfs_write(vfs, uri, b->data ? (const void *)b->data : "", b->len);
    free(uri);
    return s;
}

/* Writes the fragment's files, metadata last but one and the commit marker last. */
static radi_status dw_store(dw *w, radi_array *a, const char *name, const char *frag_dir)
{
    rdi_vfs *vfs = a->ctx->vfs;
    RDI_TRY(rdi_vfs_mkdir(vfs, frag_dir));
    /* The data files and the fragment metadata go out as one vectored write (parallel
     * PUTs on S3); the commit marker follows once all of them are stored. */
    size_t cap = (size_t)w->nattr * 2 + 1, n = 0;
    rdi_vfs_wobj *wo = rdi_calloc(cap, sizeof *wo);
    char **uris = rdi_calloc(cap, sizeof *uris);
    rdi_scratch *scratch = NULL;
    rdi_buf meta = RDI_BUF_INIT;
    radi_status s = wo && uris ? RADI_OK : RADI_E_NOMEM;
    char fname[32];
    for (uint32_t i = 0; i < w->nattr && s == RADI_OK; i++) {
        snprintf(fname, sizeof fname, "a%u.tdb", i);
        if (!(uris[n] = rdi_path_join(frag_dir, fname))) { s = RADI_E_NOMEM; break; }
        wo[n] = (rdi_vfs_wobj){uris[n], w->attrs[i].file.data ? (const void *)w->attrs[i].file.data : "",
                               w->attrs[i].file.len, RADI_OK};
        n++;
        if (w->attrs[i].kind.nullable) {
            snprintf(fname, sizeof fname, "a%u_validity.tdb", i);
            if (!(uris[n] = rdi_path_join(frag_dir, fname))) { s = RADI_E_NOMEM; break; }
            wo[n] = (rdi_vfs_wobj){uris[n], w->attrs[i].vfile.data ? (const void *)w->attrs[i].vfile.data : "",
                                   w->attrs[i].vfile.len, RADI_OK};
            n++;
        }
    }
    if (s == RADI_OK) s = rdi_scratch_create(&scratch);
    if (s == RADI_OK) s = rdi_fmb_serialize(&w->fmb, w->s->name, scratch, &meta);
    rdi_scratch_free(scratch);
    if (s == RADI_OK && !(uris[n] = rdi_path_join(frag_dir, "__fragment_metadata.tdb"))) s = RADI_E_NOMEM;
    if (s == RADI_OK) {
        wo[n] = (rdi_vfs_wobj){uris[n], meta.data ? (const void *)meta.data : "", meta.len, RADI_OK};
        n++;
        s = rdi_vfs_write_many(vfs, wo, n);
    }
    rdi_buf_free(&meta);
    for (size_t i = 0; uris && i < cap; i++) free(uris[i]);
    free(uris);
    free(wo);
    RDI_TRY(s);

    rdi_wait_for_clock(w->t1);
    char *commits = rdi_path_join(a->uri, "__commits");
    char *wrt = rdi_asprintf("%s.wrt", name);
    rdi_buf empty = RDI_BUF_INIT;
    s = commits && wrt ? rdi_vfs_mkdir(vfs, commits) : rdi_nomem();
    if (s == RADI_OK) s = write_file(vfs, commits, wrt, &empty);
    free(commits);
    free(wrt);
    return s;
}

radi_status rdi_dense_write(radi_array *a, const int64_t *box, radi_layout layout,
                            uint32_t nbuffers, const radi_field_buffer *buffers, uint64_t t1,
                            uint64_t t2, int fill_padding, char **name_out)
{
    if (!a || !box || (nbuffers && !buffers))
        return rdi_error(RADI_E_INVALID, "dense write: array, box and buffers are required");
    const radi_schema *s = a->schema;
    if (!s || !s->name)
        return rdi_error(RADI_E_INVALID, "%s: the array has no stored schema", a->uri);
    if (t1 == 0) {
        /* Distinct increasing t1 keeps TileDB's t1-only fragment sort deterministic (§2). */
        t1 = RDI_MAX(rdi_now_ms(), a->last_t1 + 1);
        if (t2 < t1) t2 = t1;
    }
    if (t2 < t1)
        return rdi_error(RADI_E_INVALID, "%s: timestamp range [%llu, %llu] is empty", a->uri,
                         (unsigned long long)t1, (unsigned long long)t2);

    dw w;
    memset(&w, 0, sizeof w);
    w.t1 = t1;
    char *name = NULL, *frag_dir = NULL;
    int dir_made = 0;
    radi_status st = dw_prepare(&w, a, box, layout, nbuffers, buffers, fill_padding);
    if (st == RADI_OK) st = rdi_fmb_init(&w.fmb, s, s->version, 1, w.g.ntiles);
    if (st == RADI_OK) {
        w.fmb.last_tile_cell_num = w.cpt;
        rdi_fmb_set_ned_box(&w.fmb, box);
        st = dw_tile_all(&w, a->ctx->pool, a->ctx->config.memory_budget);
    }
    if (st == RADI_OK) st = rdi_tsname_make(t1, t2, s->version, &name);
    if (st == RADI_OK) {
        char *rel = rdi_asprintf("__fragments/%s", name);
        frag_dir = rel ? rdi_path_join(a->uri, rel) : NULL;
        free(rel);
        if (!frag_dir) st = rdi_nomem();
    }
    if (st == RADI_OK) {
        dir_made = 1;
        st = dw_store(&w, a, name, frag_dir);
    }
    dw_free(&w);
    if (st != RADI_OK) {
        if (dir_made) {
            /* Best effort: keep the original message if the cleanup fails too. */
            char msg[512];
            snprintf(msg, sizeof msg, "%s", radi_errmsg());
            (void)rdi_vfs_remove_dir(a->ctx->vfs, frag_dir);
            rdi_error(st, "%s", msg);
        }
        free(name);
        free(frag_dir);
        return st;
    }
    free(frag_dir);
    if (t1 > a->last_t1) a->last_t1 = t1;
    st = rdi_array_reload_fragments(a);
    if (st != RADI_OK) {
        rdi_error_wrap(st, "%s: fragment %s was written, but reloading the fragment list failed",
                       a->uri, name);
        free(name);
        return st;
    }
    if (name_out) *name_out = name;
    else free(name);
    return RADI_OK;
}

radi_status radi_array_write_dense(radi_array *array, const int64_t *subarray, radi_layout layout,
                                   uint32_t nbuffers, const radi_field_buffer *buffers,
                                   uint64_t timestamp)
{
    return rdi_dense_write(array, subarray, layout, nbuffers, buffers, timestamp, timestamp, 0,
                           NULL);
}
