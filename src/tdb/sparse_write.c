/*
 * Sparse writes (docs/format.md §8): the cells are sorted into global
 * order (deduplicated, the last given cell per key winning, unless the schema allows
 * duplicates), cut into tiles of `capacity` cells (only the last may be shorter, or
 * TileDB misreads the fragment, §3), and every dimension and attribute is written
 * tile by tile: d<j>.tdb (+ d<j>_var.tdb), a<i>.tdb (+ _var, + _validity). Var-size
 * fields store per-tile u64 offsets that restart at 0, exactly one per cell. The
 * fragment metadata (leaf MBRs, NED, tile statistics) comes from the shared builder,
 * and the commit file is written last.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/pool.h"
#include "tdb/fragment_write.h"
#include "tdb/sparse.h"

/* One field of the write: where its cells are, and what its tiles become. */
typedef struct wfield {
    uint32_t slot;              /* fragment field index */
    const char *name;
    radi_datatype type;
    uint32_t cell_size;         /* 0 = var-size */
    int nullable, is_dim;
    const radi_filter_list *filters;
    rdi_scol in;                /* the caller's cells */
    rdi_ocol sorted;            /* the cells in global order (deduplicated) */
    rdi_buf *fixed, *var, *validity; /* [tile_num] filtered tiles */
    uint64_t *var_unfiltered;   /* [tile_num] */
} wfield;

typedef struct wjob {
    radi_array *a;
    const radi_schema *s;
    rdi_gorder g;
    uint64_t n, tile_num, capacity;
    uint32_t nf;                /* ndim + nattr: dims first */
    wfield *f;
    rdi_fmb fmb;
    rdi_range *leaves;          /* [tile_num * ndim] leaf MBRs */
    rdi_buf rtree;              /* serialized R-tree, borrowed by fmb */
    rdi_scratch **scratch;      /* per pool worker */
} wjob;

static radi_status check_buffer(const wfield *w, const radi_sparse_buffer *b, uint64_t n)
{
    if (!b->data && b->data_size)
        return rdi_error(RADI_E_INVALID, "sparse write: field '%s': NULL data", w->name);
    if (w->cell_size) {
        if (n > UINT64_MAX / w->cell_size || b->data_size < n * w->cell_size)
            return rdi_error(RADI_E_INVALID,
                             "sparse write: field '%s': %llu bytes for %llu cells of %u bytes",
                             w->name, (unsigned long long)b->data_size, (unsigned long long)n,
                             w->cell_size);
        if (b->offsets)
            return rdi_error(RADI_E_INVALID, "sparse write: field '%s' is fixed-size but has offsets",
                             w->name);
    } else {
        if (!b->offsets && n)
            return rdi_error(RADI_E_INVALID, "sparse write: var-size field '%s' needs offsets", w->name);
        for (uint64_t i = 0; i < n; i++) {
            uint64_t e = i + 1 < n ? b->offsets[i + 1] : b->data_size;
            if (b->offsets[i] > e || e > b->data_size)
                return rdi_error(RADI_E_INVALID,
                                 "sparse write: field '%s': offset %llu of cell %llu is out of order "
                                 "or past the data (%llu bytes)",
                                 w->name, (unsigned long long)b->offsets[i], (unsigned long long)i,
                                 (unsigned long long)b->data_size);
        }
    }
    if (b->validity && !w->nullable)
        return rdi_error(RADI_E_INVALID, "sparse write: field '%s' is not nullable", w->name);
    return RADI_OK;
}

/* Integer coordinates must lie in the dimension's domain, as TileDB enforces. */
static radi_status check_domain(const radi_schema *s, uint32_t d, const rdi_scol *c)
{
    const rdi_dim *dim = &s->dims[d];
    if (dim->cell_val_num == RADI_VAR_NUM || !dim->has_domain) return RADI_OK;
    uint64_t lo = rdi_coord_key(dim->type, dim->lo), hi = rdi_coord_key(dim->type, dim->hi);
    for (uint64_t i = 0; i < c->n; i++) {
        uint64_t k = rdi_coord_key(dim->type, c->data + i * c->cell_size);
        if (k < lo || k > hi)
            return rdi_error(RADI_E_INVALID,
                             "sparse write: cell %llu: coordinate of dimension '%s' is outside its domain",
                             (unsigned long long)i, dim->name);
    }
    return RADI_OK;
}

/* Filters tile t of every field, computes its statistics and MBR. Tiles are
 * independent, so this runs on the pool; each task writes only its own slots. */
static radi_status tile_task(void *arg, size_t t, unsigned worker)
{
    wjob *j = arg;
    rdi_scratch *sc = j->scratch[worker];
    uint64_t b = (uint64_t)t * j->capacity, e = RDI_MIN(j->n, b + j->capacity), n = e - b;
    uint64_t *offs = NULL;
    radi_status st = RADI_OK;
    for (uint32_t k = 0; k < j->nf && st == RADI_OK; k++) {
        wfield *w = &j->f[k];
        rdi_scol c = rdi_ocol_view(&w->sorted);
        const uint8_t *valid = c.validity ? c.validity + b : NULL;
        rdi_field_kind kind = j->fmb.fields[w->slot].kind;
        rdi_tile_stats ts;
        rdi_tile_stats_init(&ts);
        if (w->cell_size) {
            const uint8_t *p = c.data + b * w->cell_size;
            st = rdi_tile_filter(w->filters, w->type, w->cell_size, p, n * w->cell_size, sc,
                                 &w->fixed[t]);
            if (st == RADI_OK) rdi_tile_stats_add(&ts, &kind, p, valid, n);
        } else {
            /* Offsets restart at 0 in every tile; exactly n of them. */
            uint64_t base = c.offsets[b], end = e < c.n ? c.offsets[e] : c.data_size;
            free(offs);
            offs = malloc((n ? n : 1) * sizeof *offs);
            if (!offs) { st = rdi_nomem(); break; }
            for (uint64_t i = 0; i < n; i++) offs[i] = c.offsets[b + i] - base;
            st = rdi_tile_filter(&j->s->offsets_filters, RADI_UINT64, 8, offs, n * 8, sc,
                                 &w->fixed[t]);
            if (st == RADI_OK)
                st = rdi_tile_filter_var(w->filters, w->type, c.data + base, end - base, offs, n,
                                         sc, &w->var[t]);
            w->var_unfiltered[t] = end - base;
            if (valid)
                for (uint64_t i = 0; i < n; i++) ts.null_count += valid[i] == 0;
            /* Var-size min/max (ASCII attributes only): byte order, NULLs skipped. */
            if (st == RADI_OK && kind.has_mm) {
                const uint8_t *mn = NULL, *mx = NULL;
                uint64_t mnl = 0, mxl = 0, len;
                for (uint64_t i = b; i < e; i++) {
                    if (valid && !valid[i - b]) continue;
                    const uint8_t *p = rdi_scol_cell(&c, i, &len);
                    if (!mn || rdi_str_cmp(p, len, mn, mnl) < 0) { mn = p; mnl = len; }
                    if (!mx || rdi_str_cmp(p, len, mx, mxl) > 0) { mx = p; mxl = len; }
                }
                if (mn) st = rdi_fmb_set_var_minmax(&j->fmb, w->slot, t, mn, mnl, mx, mxl);
            }
        }
        if (st == RADI_OK && w->nullable) {
            uint8_t *ones = NULL;
            if (!valid) {
                if (!(ones = malloc(n ? n : 1))) { st = rdi_nomem(); break; }
                memset(ones, 1, n);
            }
            st = rdi_tile_filter(&j->s->validity_filters, RADI_UINT8, 1, valid ? valid : ones, n,
                                 sc, &w->validity[t]);
            free(ones);
        }
        if (st == RADI_OK) rdi_fmb_set_stats(&j->fmb, w->slot, t, &ts);
    }
    free(offs);
    if (st != RADI_OK) return st;
    /* The leaf MBR of this tile over the sorted coordinates. */
    rdi_scol cols[RDI_SPARSE_MAX_DIMS];
    for (uint32_t d = 0; d < j->s->ndim; d++) cols[d] = rdi_ocol_view(&j->f[d].sorted);
    return rdi_mbr_compute(&j->g, cols, b, e, &j->leaves[(uint64_t)t * j->s->ndim]);
}

/* One file of the fragment: its tiles concatenated into out, queued for the vectored
 * write (the data files and the metadata go out together, the commit after them). */
static radi_status queue_file(const char *dir, const char *name, const rdi_buf *tiles, uint64_t ntiles,
                              rdi_buf *out, char **uri)
{
    out->len = 0;
    for (uint64_t t = 0; t < ntiles; t++) RDI_TRY(rdi_buf_append(out, tiles[t].data, tiles[t].len));
    if (!(*uri = rdi_path_join(dir, name))) return RADI_E_NOMEM;
    return RADI_OK;
}

static void job_free(wjob *j)
{
    if (j->f) {
        for (uint32_t k = 0; k < j->nf; k++) {
            wfield *w = &j->f[k];
            rdi_ocol_free(&w->sorted);
            for (uint64_t t = 0; t < j->tile_num; t++) {
                if (w->fixed) rdi_buf_free(&w->fixed[t]);
                if (w->var) rdi_buf_free(&w->var[t]);
                if (w->validity) rdi_buf_free(&w->validity[t]);
            }
            free(w->fixed);
            free(w->var);
            free(w->validity);
            free(w->var_unfiltered);
        }
    }
    free(j->f);
    rdi_fmb_free(&j->fmb);
    if (j->leaves)
        for (uint64_t t = 0; t < j->tile_num; t++) rdi_mbr_clear(&j->g, &j->leaves[t * j->s->ndim]);
    free(j->leaves);
    rdi_buf_free(&j->rtree);
    if (j->scratch) {
        unsigned nw = rdi_pool_size(j->a->ctx->pool);
        for (unsigned i = 0; i < nw; i++) rdi_scratch_free(j->scratch[i]);
    }
    free(j->scratch);
}

static uint32_t write_version(const radi_ctx *ctx, const radi_schema *s)
{
    if (s->version >= 20 && s->version <= 22) return s->version;
    return ctx->config.format_version;
}

/* Writes the sorted job as fragment `name`, commit last. */
static radi_status write_fragment(wjob *j, const char *name)
{
    radi_ctx *ctx = j->a->ctx;
    const radi_schema *s = j->s;
    char *dir = rdi_asprintf("%s/__fragments/%s", j->a->uri, name);
    char *wrt = rdi_asprintf("%s/__commits/%s.wrt", j->a->uri, name);
    char *commits = rdi_path_join(j->a->uri, COMMITS_DIR);
    /* At most three files per field, plus the fragment metadata. */
    size_t cap = (size_t)j->nf * 3 + 1, nfile = 0;
    rdi_buf *bufs = rdi_calloc(cap, sizeof *bufs);
    char **uris = rdi_calloc(cap, sizeof *uris);
    rdi_vfs_wobj *wo = rdi_calloc(cap, sizeof *wo);
    radi_status st = dir && wrt && commits && bufs && uris && wo ? RADI_OK : RADI_E_NOMEM;
    if (st == RADI_OK) st = rdi_vfs_mkdir(ctx->vfs, dir);
    if (st == RADI_OK) st = rdi_vfs_mkdir(ctx->vfs, commits);
    for (uint32_t k = 0; k < j->nf && st == RADI_OK; k++) {
        wfield *w = &j->f[k];
        char fname[64];
        char pre = w->is_dim ? 'd' : 'a';
        uint32_t idx = w->is_dim ? w->slot - s->nattr - 1 : w->slot;
        for (uint64_t t = 0; t < j->tile_num; t++) {
            rdi_fmb_add_tile(&j->fmb, w->slot, t, w->fixed[t].len);
            if (!w->cell_size) rdi_fmb_add_var_tile(&j->fmb, w->slot, t, w->var[t].len, w->var_unfiltered[t]);
            if (w->nullable) rdi_fmb_add_validity_tile(&j->fmb, w->slot, t, w->validity[t].len);
        }
        snprintf(fname, sizeof fname, "%c%u.tdb", pre, idx);
        st = queue_file(dir, fname, w->fixed, j->tile_num, &bufs[nfile], &uris[nfile]);
        nfile++;
        if (st == RADI_OK && !w->cell_size) {
            snprintf(fname, sizeof fname, "%c%u_var.tdb", pre, idx);
            st = queue_file(dir, fname, w->var, j->tile_num, &bufs[nfile], &uris[nfile]);
            nfile++;
        }
        if (st == RADI_OK && w->nullable) {
            snprintf(fname, sizeof fname, "%c%u_validity.tdb", pre, idx);
            st = queue_file(dir, fname, w->validity, j->tile_num, &bufs[nfile], &uris[nfile]);
            nfile++;
        }
    }
    if (st == RADI_OK) st = rdi_fmb_serialize(&j->fmb, s->name, j->scratch[0], &bufs[nfile]);
    if (st == RADI_OK && !(uris[nfile++] = rdi_path_join(dir, "__fragment_metadata.tdb"))) st = RADI_E_NOMEM;
    for (size_t i = 0; st == RADI_OK && i < nfile; i++)
        wo[i] = (rdi_vfs_wobj){uris[i], bufs[i].data ? (const void *)bufs[i].data : "", bufs[i].len, RADI_OK};
    /* One vectored write (parallel PUTs on S3); nothing is visible before the commit. */
    if (st == RADI_OK) st = rdi_vfs_write_many(ctx->vfs, wo, nfile);
    for (size_t i = 0; i < nfile; i++) {
        rdi_buf_free(&bufs[i]);
        free(uris[i]);
    }
    free(bufs);
    free(uris);
    free(wo);
    rdi_tsname tn;
    if (st == RADI_OK && rdi_tsname_parse(name, &tn) == RADI_OK) rdi_wait_for_clock(tn.t1);
    if (st == RADI_OK) st = rdi_vfs_write(ctx->vfs, wrt, "", 0);
    if (st != RADI_OK && dir) {
        /* Leave no uncommitted debris behind (it would be invisible anyway). */
        radi_status keep = st;
        char msg[512];
        snprintf(msg, sizeof msg, "%s", radi_errmsg());
        rdi_vfs_remove_dir(ctx->vfs, dir);
        st = rdi_error(keep, "%s", msg);
    }
    free(dir);
    free(wrt);
    free(commits);
    return st;
}

radi_status rdi_sparse_write(radi_array *a, uint32_t nbuffers, const radi_sparse_buffer *buffers,
                             uint64_t ncells, uint64_t t1, uint64_t t2, char **name_out)
{
    if (name_out) *name_out = NULL;
    const radi_schema *s = a->schema;
    if (s->type != RADI_SPARSE)
        return rdi_error(RADI_E_INVALID, "%s: sparse write to a dense array", a->uri);
    if (!s->name) return rdi_error(RADI_E_INTERNAL, "%s: schema has no file name", a->uri);
    if (ncells == 0) return RADI_OK;
    wjob j;
    memset(&j, 0, sizeof j);
    j.a = a;
    j.s = s;
    RDI_TRY(rdi_gorder_init(s, &j.g));
    j.nf = s->ndim + s->nattr;
    j.n = ncells;
    j.capacity = s->capacity ? s->capacity : 10000;
    uint64_t *idx = NULL;
    char *name = NULL;
    radi_status st = (j.f = rdi_calloc(j.nf, sizeof *j.f)) ? RADI_OK : RADI_E_NOMEM;

    /* Match the buffers to the fields. */
    for (uint32_t k = 0; k < j.nf && st == RADI_OK; k++) {
        wfield *w = &j.f[k];
        if (k < s->ndim) {
            const rdi_dim *d = &s->dims[k];
            w->slot = rdi_field_dim(s, k);
            w->name = d->name;
            w->type = d->type;
            w->cell_size = d->cell_val_num == RADI_VAR_NUM ? 0 : (uint32_t)rdi_dim_size(d);
            w->is_dim = 1;
            w->filters = rdi_dim_filters(s, k);
        } else {
            const rdi_attr *at = &s->attrs[k - s->ndim];
            w->slot = rdi_field_attr(k - s->ndim);
            w->name = at->name;
            w->type = at->type;
            w->cell_size = at->cell_val_num == RADI_VAR_NUM ? 0 : rdi_attr_cell_size(at);
            w->nullable = at->nullable;
            w->filters = &at->filters;
        }
        const radi_sparse_buffer *b = NULL;
        for (uint32_t i = 0; i < nbuffers; i++)
            if (buffers[i].name && strcmp(buffers[i].name, w->name) == 0) {
                if (b) { st = rdi_error(RADI_E_INVALID, "sparse write: field '%s' given twice", w->name); break; }
                b = &buffers[i];
            }
        if (st != RADI_OK) break;
        if (!b) { st = rdi_error(RADI_E_INVALID, "%s: sparse write: no buffer for '%s'", a->uri, w->name); break; }
        if ((st = check_buffer(w, b, ncells)) != RADI_OK) break;
        w->in.data = b->data;
        w->in.offsets = b->offsets;
        w->in.data_size = b->data_size;
        w->in.validity = b->validity;
        w->in.cell_size = w->cell_size;
        w->in.n = ncells;
        w->sorted.cell_size = w->cell_size;
        w->sorted.nullable = w->nullable;
        if (k < s->ndim) st = check_domain(s, k, &w->in);
    }
    for (uint32_t i = 0; i < nbuffers && st == RADI_OK; i++) {
        int known = 0;
        for (uint32_t k = 0; k < j.nf; k++) known |= buffers[i].name && strcmp(buffers[i].name, j.f[k].name) == 0;
        if (!known)
            st = rdi_error(RADI_E_INVALID, "%s: sparse write: no field named '%s'", a->uri,
                           buffers[i].name ? buffers[i].name : "(null)");
    }

    /* Global order, then one copy of every field in that order. */
    if (st == RADI_OK && ncells > SIZE_MAX / sizeof *idx)
        st = rdi_error(RADI_E_INVALID, "%s: sparse write of %llu cells is too large", a->uri,
                       (unsigned long long)ncells);
    if (st == RADI_OK && !(idx = rdi_malloc(ncells * sizeof *idx))) st = RADI_E_NOMEM;
    if (st == RADI_OK) {
        for (uint64_t i = 0; i < ncells; i++) idx[i] = i;
        rdi_scol dims[RDI_SPARSE_MAX_DIMS];
        for (uint32_t d = 0; d < s->ndim; d++) dims[d] = j.f[d].in;
        st = rdi_gorder_sort(&j.g, dims, idx, ncells);
        if (st == RADI_OK && !s->allows_dups) j.n = rdi_gorder_dedup(&j.g, dims, idx, ncells);
    }
    for (uint32_t k = 0; k < j.nf && st == RADI_OK; k++)
        st = rdi_ocol_gather(&j.f[k].sorted, &j.f[k].in, idx, j.n);
    free(idx);

    j.tile_num = (j.n + j.capacity - 1) / j.capacity;
    uint32_t version = write_version(a->ctx, s);
    if (st == RADI_OK) st = rdi_fmb_init(&j.fmb, s, version, 0, j.tile_num);
    if (st == RADI_OK) j.fmb.last_tile_cell_num = j.n - (j.tile_num - 1) * j.capacity;
    for (uint32_t k = 0; k < j.nf && st == RADI_OK; k++) {
        wfield *w = &j.f[k];
        w->fixed = rdi_calloc(j.tile_num, sizeof(rdi_buf));
        w->var = rdi_calloc(j.tile_num, sizeof(rdi_buf));
        w->validity = rdi_calloc(j.tile_num, sizeof(rdi_buf));
        w->var_unfiltered = rdi_calloc(j.tile_num, 8);
        if (!w->fixed || !w->var || !w->validity || !w->var_unfiltered) st = RADI_E_NOMEM;
    }
    if (st == RADI_OK && !(j.leaves = rdi_calloc(j.tile_num * s->ndim, sizeof *j.leaves)))
        st = RADI_E_NOMEM;
    /* Non-empty domain: the MBR of all cells. */
    if (st == RADI_OK) {
        rdi_scol dims[RDI_SPARSE_MAX_DIMS];
        for (uint32_t d = 0; d < s->ndim; d++) dims[d] = rdi_ocol_view(&j.f[d].sorted);
        st = rdi_mbr_compute(&j.g, dims, 0, j.n, j.fmb.ned);
    }
    unsigned nw = rdi_pool_size(a->ctx->pool);
    if (nw == 0) nw = 1;
    if (st == RADI_OK && !(j.scratch = rdi_calloc(nw, sizeof *j.scratch))) st = RADI_E_NOMEM;
    for (unsigned i = 0; i < nw && st == RADI_OK; i++) st = rdi_scratch_create(&j.scratch[i]);
    if (st == RADI_OK) {
        if (rdi_pool_in_task() || nw == 1) {
            for (uint64_t t = 0; t < j.tile_num && st == RADI_OK; t++) st = tile_task(&j, t, 0);
        } else {
            st = rdi_pool_for(a->ctx->pool, j.tile_num, tile_task, &j);
        }
    }
    /* The R-tree over the leaf MBRs, with a single root. */
    if (st == RADI_OK) {
        rdi_rtree tree;
        st = rdi_rtree_build(&j.g, j.leaves, j.tile_num, RDI_RTREE_FANOUT, &tree);
        if (st == RADI_OK) {
            st = rdi_rtree_serialize(&j.g, &tree, &j.rtree);
            rdi_rtree_free(&tree);
        }
        j.fmb.rtree = j.rtree.data;
        j.fmb.rtree_len = j.rtree.len;
    }
    if (st == RADI_OK) st = rdi_tsname_make(t1, t2, version, &name);
    if (st == RADI_OK) st = write_fragment(&j, name);
    job_free(&j);
    if (st != RADI_OK) {
        free(name);
        return st;
    }
    st = rdi_array_reload_fragments(a);
    if (st == RADI_OK && name_out) *name_out = name;
    else free(name);
    return st;
}

radi_status radi_array_write_sparse(radi_array *array, uint32_t nbuffers,
                                    const radi_sparse_buffer *buffers, uint64_t ncells,
                                    uint64_t timestamp)
{
    if (!array || (nbuffers && !buffers))
        return rdi_error(RADI_E_INVALID, "radi_array_write_sparse: NULL argument");
    uint64_t t = timestamp ? timestamp : RDI_MAX(rdi_now_ms(), array->last_t1 + 1);
    return rdi_sparse_write(array, nbuffers, buffers, ncells, t, t, NULL);
}
