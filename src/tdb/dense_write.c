/*
 * The dense writer (research/tiledb-format.md §4): one fragment per write holding every
 * tile the written box touches, each tile complete (cells outside the box padded with
 * zeros, or with the fill value for consolidation), statistics over the written cells
 * only, NED = the exact box. Files are written data first, then
 * __fragment_metadata.tdb, then the empty commit marker, so a failed write leaves an
 * invisible fragment at worst (and we remove what we wrote).
 *
 * Tiles are independent: (tile, attribute) tasks are cut, summarized and filtered on the
 * context's pool in batches of a few tasks per worker, and each batch's filtered tiles
 * are appended in tile order to the attribute's file buffer. Memory held: one unfiltered
 * tile (+ validity tile) per worker, one filtered tile per batch slot, and the filtered
 * files themselves (about the fragment's size on disk), since each file is written with
 * one atomic rdi_vfs_write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/pool.h"
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
    uint8_t *tile, *vtile;
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
    dw_attr *attrs;
    dw_worker *workers;
    unsigned nworkers;
    rdi_fmb fmb;
    uint64_t task0;             /* first task of the running batch */
    rdi_buf *slots, *vslots;    /* per batch task: its filtered tile / validity tile */
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

/* Cuts tile `tile` of attribute `ai` into the worker's tile buffer, accumulating the
 * statistics of the written cells, and filters it into the batch slot. */
static radi_status cut_task(void *arg, size_t i, unsigned worker)
{
    dw *w = arg;
    const uint64_t task = w->task0 + i;
    const uint64_t tile = task / w->nattr;
    const uint32_t ai = (uint32_t)(task % w->nattr);
    dw_attr *at = &w->attrs[ai];
    dw_worker *wk = &w->workers[worker];
    const uint32_t nd = w->ndim, cs = at->cs, f = w->fast;

    if (!wk->scratch) RDI_TRY(rdi_scratch_create(&wk->scratch));
    if (!wk->tile && !(wk->tile = rdi_malloc((size_t)w->tile_bytes_max))) return RADI_E_NOMEM;
    if (at->kind.nullable && !wk->vtile && !(wk->vtile = rdi_malloc((size_t)w->cpt)))
        return RADI_E_NOMEM;

    int64_t tc[4], tb[8], lo[4] = {0}, hi[4] = {0};
    rdi_grid_coords(&w->g, tile, tc);
    rdi_grid_tile_box(&w->g, tc, tb);
    int full = 1;
    for (uint32_t d = 0; d < nd; d++) {
        lo[d] = RDI_MAX(tb[2 * d], w->box[2 * d]);
        hi[d] = RDI_MIN(tb[2 * d + 1], w->box[2 * d + 1]);
        full &= lo[d] == tb[2 * d] && hi[d] == tb[2 * d + 1];
    }
    if (!full) {
        fill_cells(wk->tile, w->cpt, at->pad, cs);
        if (at->kind.nullable) memset(wk->vtile, at->vpad, (size_t)w->cpt);
    }

    /* The intersection is copied as runs that are contiguous in the tile and evenly
     * strided in the input. A run starts along the tile's fastest dim and absorbs the
     * next dims (in cell order) while the tile stays contiguous and the input stays one
     * stride: a whole aligned tile is one memcpy, and an axial tile (z extent 1) cut from
     * row-major input is one strided gather instead of a cell-by-cell walk. */
    uint32_t ord[4];
    for (uint32_t k = 0; k < nd; k++) ord[k] = w->s->cell_order == RADI_COL_MAJOR ? k : nd - 1 - k;
    uint64_t run = (uint64_t)(hi[f] - lo[f] + 1), sstep = w->src_stride[f];
    uint32_t merged = 1;
    for (; merged < nd; merged++) {
        uint32_t d = ord[merged];
        uint64_t len = (uint64_t)(hi[d] - lo[d] + 1);
        if (w->tile_stride[d] != run) break;
        if (run == 1) sstep = w->src_stride[d];
        else if (w->src_stride[d] != run * sstep) break;
        run *= len;
    }
    int64_t c[4];
    for (uint32_t d = 0; d < nd; d++) c[d] = lo[d];
    const uint8_t *tdata = wk->tile, *tvalid = wk->vtile;
    rdi_tile_stats st;
    rdi_tile_stats_init(&st);
    for (;;) {
        uint64_t src = 0, dst = 0;
        for (uint32_t d = 0; d < nd; d++) {
            src += (uint64_t)(c[d] - w->box[2 * d]) * w->src_stride[d];
            dst += (uint64_t)(c[d] - tb[2 * d]) * w->tile_stride[d];
        }
        const uint8_t *out, *vout = NULL;
        if (run == w->cpt && sstep == 1) {
            /* The whole tile is one contiguous span of the input: filter it in place. */
            tdata = out = at->data + src * cs;
            if (at->kind.nullable) tvalid = vout = at->validity + src;
        } else {
            gather(wk->tile + dst * cs, at->data + src * cs, run, sstep, cs);
            out = wk->tile + dst * cs;
            if (at->kind.nullable) {
                gather(wk->vtile + dst, at->validity + src, run, sstep, 1);
                vout = wk->vtile + dst;
            }
        }
        rdi_tile_stats_add(&st, &at->kind, out, vout, run);
        /* Next run: odometer over the remaining dims in cell order, so runs are visited
         * (and float sums accumulated) in the tile's memory order, as TileDB does. */
        uint32_t k = merged;
        for (; k < nd; k++) {
            uint32_t d = ord[k];
            if (++c[d] <= hi[d]) break;
            c[d] = lo[d];
        }
        if (k == nd) break;
    }
    rdi_fmb_set_stats(&w->fmb, rdi_field_attr(ai), tile, &st);

    rdi_buf *slot = &w->slots[i];
    slot->len = 0;
    radi_status s = rdi_tile_filter(&at->attr->filters, at->attr->type, cs, tdata,
                                    w->cpt * cs, wk->scratch, slot);
    if (s == RADI_OK && at->kind.nullable) {
        w->vslots[i].len = 0;
        s = rdi_tile_filter(&w->s->validity_filters, RADI_UINT8, 1, tvalid, w->cpt,
                            wk->scratch, &w->vslots[i]);
    }
    if (s != RADI_OK)
        return rdi_error_wrap(s, "%s: attribute %s tile %llu", w->uri, at->attr->name,
                              (unsigned long long)tile);
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

/* Cuts and filters every tile of every attribute into the attributes' file buffers. */
static radi_status dw_tile_all(dw *w, rdi_pool *pool)
{
    w->nworkers = rdi_pool_size(pool);
    w->workers = rdi_calloc(w->nworkers, sizeof *w->workers);
    const uint64_t ntasks = w->g.ntiles * w->nattr;
    const uint64_t batch = RDI_MIN(ntasks, (uint64_t)w->nworkers * 2);
    w->slots = rdi_calloc((size_t)batch, sizeof *w->slots);
    w->vslots = rdi_calloc((size_t)batch, sizeof *w->vslots);
    if (!w->workers || !w->slots || !w->vslots) return RADI_E_NOMEM;
    for (w->task0 = 0; w->task0 < ntasks; w->task0 += batch) {
        uint64_t nb = RDI_MIN(batch, ntasks - w->task0);
        RDI_TRY(rdi_pool_for(pool, (size_t)nb, cut_task, w));
        for (uint64_t j = 0; j < nb; j++) {
            uint64_t task = w->task0 + j, tile = task / w->nattr;
            uint32_t ai = (uint32_t)(task % w->nattr);
            dw_attr *at = &w->attrs[ai];
            rdi_fmb_add_tile(&w->fmb, rdi_field_attr(ai), tile, w->slots[j].len);
            RDI_TRY(rdi_buf_append(&at->file, w->slots[j].data, w->slots[j].len));
            if (at->kind.nullable) {
                rdi_fmb_add_validity_tile(&w->fmb, rdi_field_attr(ai), tile, w->vslots[j].len);
                RDI_TRY(rdi_buf_append(&at->vfile, w->vslots[j].data, w->vslots[j].len));
            }
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
    if (w->slots) {
        uint64_t batch = RDI_MIN(w->g.ntiles * w->nattr, (uint64_t)w->nworkers * 2);
        for (uint64_t j = 0; j < batch; j++) {
            rdi_buf_free(&w->slots[j]);
            rdi_buf_free(&w->vslots[j]);
        }
    }
    free(w->attrs);
    free(w->workers);
    free(w->slots);
    free(w->vslots);
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
    char fname[32];
    for (uint32_t i = 0; i < w->nattr; i++) {
        snprintf(fname, sizeof fname, "a%u.tdb", i);
        RDI_TRY(write_file(vfs, frag_dir, fname, &w->attrs[i].file));
        if (w->attrs[i].kind.nullable) {
            snprintf(fname, sizeof fname, "a%u_validity.tdb", i);
            RDI_TRY(write_file(vfs, frag_dir, fname, &w->attrs[i].vfile));
        }
    }
    rdi_scratch *scratch = NULL;
    rdi_buf meta = RDI_BUF_INIT;
    radi_status s = rdi_scratch_create(&scratch);
    if (s == RADI_OK) s = rdi_fmb_serialize(&w->fmb, w->s->name, scratch, &meta);
    rdi_scratch_free(scratch);
    if (s == RADI_OK) s = write_file(vfs, frag_dir, "__fragment_metadata.tdb", &meta);
    rdi_buf_free(&meta);
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
        st = dw_tile_all(&w, a->ctx->pool);
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
