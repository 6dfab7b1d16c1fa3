/*
 * The sparse read engine's tile level (sparse_read.c plans and merges): which
 * fragment slot holds a field, fragment checks and index loading, and fetching and
 * unfiltering tile parts on the pool into candidate columns.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/pool.h"
#include "tdb/prefetch.h"
#include "tdb/sparse_query.h"

/* ------------------------------------------------------- fragment access -- */

/* The fragment's slot for field k of the array schema (matched by name, so fragments
 * written under an older schema version still map). */
radi_status rdi_sq_frag_slot(const radi_sparse_query *q, const rdi_fragmeta *fm, uint32_t k,
                             uint32_t *slot)
{
    const radi_schema *fs = fm->schema ? fm->schema : q->s;
    if (k < q->s->ndim) {
        if (fs->ndim != q->s->ndim || strcmp(fs->dims[k].name, q->s->dims[k].name) != 0)
            return rdi_error(RADI_E_UNSUPPORTED, "%s: fragment dimensions differ from the schema", fm->uri);
        *slot = rdi_field_dim(fs, k);
        return RADI_OK;
    }
    const char *name = q->s->attrs[k - q->s->ndim].name;
    for (uint32_t i = 0; i < fs->nattr; i++)
        if (strcmp(fs->attrs[i].name, name) == 0) {
            if (fs->attrs[i].type != q->s->attrs[k - q->s->ndim].type ||
                fs->attrs[i].cell_val_num != q->s->attrs[k - q->s->ndim].cell_val_num)
                return rdi_error(RADI_E_UNSUPPORTED, "%s: attribute '%s' changed type", fm->uri, name);
            *slot = rdi_field_attr(i);
            return RADI_OK;
        }
    return rdi_error(RADI_E_UNSUPPORTED, "%s: fragment has no attribute '%s' (schema evolution)",
                     fm->uri, name);
}

uint64_t rdi_sq_tile_cells(const rdi_fragmeta *fm, uint64_t t)
{
    const radi_schema *fs = fm->schema;
    return t + 1 == fm->tile_num ? fm->last_tile_cell_num : fs->capacity;
}

radi_status rdi_sq_check_fragment(const rdi_fragmeta *fm)
{
    if (fm->dense) return rdi_error(RADI_E_CORRUPT, "%s: dense fragment in a sparse array", fm->uri);
    if (fm->has_delete_meta)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: fragment carries delete metadata (deletes are not applied)",
                         fm->uri);
    const radi_schema *fs = fm->schema;
    if (!fs || fs->capacity == 0) return rdi_error(RADI_E_CORRUPT, "%s: schema capacity 0", fm->uri);
    if (fm->tile_num &&
        (fm->last_tile_cell_num == 0 || fm->last_tile_cell_num > fs->capacity))
        return rdi_error(RADI_E_CORRUPT, "%s: last tile holds %llu cells (capacity %llu)", fm->uri,
                         (unsigned long long)fm->last_tile_cell_num, (unsigned long long)fs->capacity);
    return RADI_OK;
}

/* Every fragment's tile index, in one wave (tile_index.c). */
radi_status rdi_sq_load_all_index(radi_array *a)
{
    uint32_t *all = rdi_malloc((a->nfrags ? a->nfrags : 1) * sizeof *all);
    if (!all) return RADI_E_NOMEM;
    for (uint32_t f = 0; f < a->nfrags; f++) all[f] = f;
    radi_status st = rdi_array_load_tile_index(a, all, a->nfrags);
    free(all);
    return st;
}

radi_status rdi_sq_load_rtree(radi_ctx *ctx, const rdi_snap *snap, const rdi_gorder *g, const rdi_fragmeta *fm,
                              rdi_scratch *sc, rdi_rtree *t)
{
    char *md = rdi_path_join(fm->uri, "__fragment_metadata.tdb");
    if (!md) return RADI_E_NOMEM;
    rdi_buf p = RDI_BUF_INIT;
    /* Loaded with the tile index (tile_index.c) where the caller loaded that first. */
    const rdi_buf *src = fm->rtree.data ? &fm->rtree : &p;
    radi_status st = src == &p ? rdi_generic_tile_read_snap(ctx->vfs, snap, md, fm->rtree_off, sc, &p) : RADI_OK;
    if (st == RADI_OK) st = rdi_rtree_parse(g, src->data, src->len, md, fm->tile_num, t);
    rdi_buf_free(&p);
    free(md);
    return st;
}

/* ---------------------------------------------------------- tile decoding -- */



static char *data_file(const rdi_fragmeta *fm, uint32_t slot, const char *suffix)
{
    const radi_schema *fs = fm->schema;
    if (slot < fs->nattr) return rdi_asprintf("%s/a%u%s.tdb", fm->uri, slot, suffix);
    if (slot == fs->nattr + 1 + fs->ndim) return rdi_asprintf("%s/t%s.tdb", fm->uri, suffix);
    return rdi_asprintf("%s/d%u%s.tdb", fm->uri, slot - fs->nattr - 1, suffix);
}

/* Fetches and unfilters one tile part (fixed/offsets, var or validity) of `expect`
 * unfiltered bytes into dst. */
static radi_status decode_part(rjob *j, uint64_t ti, rdi_scratch *sc, rdi_buf *inb, const rdi_fragmeta *fm,
                               uint32_t slot, const char *suffix, const uint64_t *offsets,
                               uint64_t file_size, const radi_filter_list *fl, radi_datatype type,
                               uint32_t cell_size, uint64_t expect, uint8_t *dst)
{
    uint64_t t = j->tiles[ti].tile;
    char *uri = data_file(fm, slot, suffix);
    if (!uri) return RADI_E_NOMEM;
    char what[600];
    snprintf(what, sizeof what, "%s tile %llu", uri, (unsigned long long)t);
    radi_status st = RADI_OK;
    if (!offsets) st = rdi_error(RADI_E_CORRUPT, "%s: no tile offsets", what);
    uint64_t off = 0, end = 0;
    if (st == RADI_OK) {
        off = offsets[t];
        end = t + 1 < fm->tile_num ? offsets[t + 1] : file_size;
        if (off > end || end > file_size)
            st = rdi_error(RADI_E_CORRUPT, "%s: tile bytes [%llu, %llu) outside the file's %llu",
                           what, (unsigned long long)off, (unsigned long long)end,
                           (unsigned long long)file_size);
        /* file_size is the footer's claim, not the object's: bound the buffer before
         * the read that would find the file shorter. */
        else if (end - off > j->ctx->config.memory_budget)
            st = rdi_error(RADI_E_BUDGET, "%s: %llu stored bytes exceed the memory budget", what,
                           (unsigned long long)(end - off));
    }
    const uint8_t *in = st == RADI_OK ? rdi_rcache_get(j->pre, uri, off, end - off) : NULL;
    if (st == RADI_OK && !in) {
        uint8_t *b = NULL;
        inb->len = 0;
        st = rdi_buf_extend(inb, (size_t)(end - off ? end - off : 1), &b);
        if (st == RADI_OK) st = rdi_vfs_read(j->ctx->vfs, uri, off, b, end - off);
        if (st == RADI_OK) {
            j->bytes[ti] += end - off;
            j->reqs[ti]++;
        }
        in = b;
    }
    uint64_t usize = 0;
    if (st == RADI_OK) st = rdi_tile_unfiltered_size(in, end - off, what, &usize);
    if (st == RADI_OK && usize != expect)
        st = rdi_error(RADI_E_CORRUPT, "%s: unfilters to %llu bytes, expected %llu", what,
                       (unsigned long long)usize, (unsigned long long)expect);
    if (st == RADI_OK) st = rdi_tile_unfilter(fl, type, cell_size, in, end - off, dst, expect, sc, what);
    free(uri);
    return st;
}

static int is_string_coded(const radi_filter_list *fl, radi_datatype t)
{
    if (t != RADI_STRING_ASCII && t != RADI_STRING_UTF8 && t != RADI_CHAR) return 0;
    for (uint32_t i = 0; i < fl->count; i++)
        if (fl->filters[i].type == RADI_FILTER_RLE || fl->filters[i].type == RADI_FILTER_DICTIONARY)
            return 1;
    return 0;
}

/* What decoding field k of tile ti produces: its cells, and (var-size) its data bytes. */
radi_status rdi_sq_field_tile_size(rjob *j, uint64_t ti, uint32_t k, uint64_t *ncells, uint64_t *vsize)
{
    const rdi_fragmeta *fm = j->frags[j->tiles[ti].frag];
    uint64_t t = j->tiles[ti].tile;
    uint32_t slot;
    RDI_TRY(rdi_sq_frag_slot(j->q, fm, k, &slot));
    *ncells = rdi_sq_tile_cells(fm, t);
    *vsize = 0;
    finfo fi;
    field_info(j->q->s, k, &fi);
    if (!fi.cell_size) {
        if (!fm->tile_var_sizes[slot])
            return rdi_error(RADI_E_CORRUPT, "%s: field '%s' has no var tile sizes", fm->uri,
                             field_name(j->q->s, k));
        *vsize = fm->tile_var_sizes[slot][t];
    }
    return RADI_OK;
}

/* Decodes field k of tile ti into caller memory sized by rdi_sq_field_tile_size: data, offsets
 * (var-size; stored + var_base, so tiles can be decoded straight into one column) and
 * validity (nullable). */
static radi_status decode_field_to(rjob *j, uint64_t ti, rdi_scratch *sc, rdi_buf *inb, uint32_t k,
                                   uint8_t *data, uint64_t *offs, uint8_t *valid, uint64_t var_base)
{
    const rdi_fragmeta *fm = j->frags[j->tiles[ti].frag];
    const radi_schema *fs = fm->schema;
    uint64_t t = j->tiles[ti].tile, n, vsize;
    RDI_TRY(rdi_sq_field_tile_size(j, ti, k, &n, &vsize));
    uint32_t slot;
    RDI_TRY(rdi_sq_frag_slot(j->q, fm, k, &slot));
    finfo fi;
    field_info(j->q->s, k, &fi);
    const radi_filter_list *fl = slot < fs->nattr ? &fs->attrs[slot].filters
                                                  : rdi_dim_filters(fs, slot - fs->nattr - 1);
    if (fi.cell_size) {
        RDI_TRY(decode_part(j, ti, sc, inb, fm, slot, "", fm->tile_offsets[slot], fm->file_sizes[slot], fl,
                            fi.type, fi.cell_size, n * fi.cell_size, data));
    } else {
        if (is_string_coded(fl, fi.type))
            return rdi_error(RADI_E_UNSUPPORTED, "%s: field '%s' uses RLE/dictionary string coding",
                             fm->uri, field_name(j->q->s, k));
        RDI_TRY(decode_part(j, ti, sc, inb, fm, slot, "", fm->tile_offsets[slot], fm->file_sizes[slot],
                            &fs->offsets_filters, RADI_UINT64, 8, n * 8, (uint8_t *)offs));
        RDI_TRY(decode_part(j, ti, sc, inb, fm, slot, "_var", fm->tile_var_offsets[slot],
                            fm->file_var_sizes[slot], fl, fi.type,
                            (uint32_t)RDI_MAX(radi_datatype_size(fi.type), 1), vsize, data));
        /* Offsets must rise inside the var tile, or cells would read past it. */
        for (uint64_t i = 0; i < n; i++) {
            if (offs[i] > vsize || (i && offs[i] < offs[i - 1] - var_base))
                return rdi_error(RADI_E_CORRUPT,
                                 "%s: field '%s' tile %llu: offset %llu of cell %llu is out of order or "
                                 "past the %llu data bytes",
                                 fm->uri, field_name(j->q->s, k), (unsigned long long)t,
                                 (unsigned long long)offs[i], (unsigned long long)i,
                                 (unsigned long long)vsize);
            offs[i] += var_base;
        }
    }
    if (fi.nullable) {
        RDI_TRY(decode_part(j, ti, sc, inb, fm, slot, "_validity", fm->tile_validity_offsets[slot],
                            fm->file_validity_sizes[slot], &fs->validity_filters, RADI_UINT8, 1, n, valid));
        /* Writers store 0 or 1; anything else is a damaged tile, not a value to pass on
         * (callers test validity == 1, others != 0: they would disagree). */
        for (uint64_t i = 0; i < n; i++)
            if (valid[i] > 1)
                return rdi_error(RADI_E_CORRUPT, "%s: field '%s' tile %llu: validity of cell %llu is %u, not 0 or 1",
                                 fm->uri, field_name(j->q->s, k), (unsigned long long)t, (unsigned long long)i,
                                 (unsigned)valid[i]);
    }
    return RADI_OK;
}

/* Decodes field k of tile ti into col (fresh). */
static radi_status decode_field(rjob *j, uint64_t ti, rdi_scratch *sc, rdi_buf *inb, uint32_t k,
                                rdi_ocol *col)
{
    uint64_t n, vsize, bytes;
    RDI_TRY(rdi_sq_field_tile_size(j, ti, k, &n, &vsize));
    finfo fi;
    field_info(j->q->s, k, &fi);
    if ((fi.cell_size && __builtin_mul_overflow(n, (uint64_t)fi.cell_size, &bytes)) ||
        n > j->ctx->config.memory_budget / 8 || vsize > j->ctx->config.memory_budget ||
        (fi.cell_size && bytes > j->ctx->config.memory_budget))
        return rdi_error(RADI_E_BUDGET, "%s: a tile of field '%s' (%llu cells) exceeds the memory budget",
                         j->frags[j->tiles[ti].frag]->uri, field_name(j->q->s, k), (unsigned long long)n);
    col->cell_size = fi.cell_size;
    col->nullable = fi.nullable;
    col->n = n;
    uint8_t *data, *offs = NULL, *valid = NULL;
    RDI_TRY(rdi_buf_extend(&col->data, (size_t)(fi.cell_size ? n * fi.cell_size : vsize), &data));
    if (!fi.cell_size) RDI_TRY(rdi_buf_extend(&col->offsets, (size_t)n * 8, &offs));
    if (fi.nullable) RDI_TRY(rdi_buf_extend(&col->validity, (size_t)n, &valid));
    return decode_field_to(j, ti, sc, inb, k, data, (uint64_t *)(void *)offs, valid, 0);
}

/* Per-cell timestamps of a fragment consolidated with timestamps (t.tdb, the slot after
 * the dimensions; filtered like the coordinates). */
static radi_status decode_timestamps(rjob *j, uint64_t ti, rdi_scratch *sc, rdi_buf *inb,
                                     rdi_ocol *col)
{
    const rdi_fragmeta *fm = j->frags[j->tiles[ti].frag];
    const radi_schema *fs = fm->schema;
    uint32_t slot = fs->nattr + 1 + fs->ndim;
    uint64_t n = rdi_sq_tile_cells(fm, j->tiles[ti].tile);
    if (slot >= fm->nfields) return rdi_error(RADI_E_CORRUPT, "%s: no timestamps slot", fm->uri);
    col->cell_size = 8;
    col->n = n;
    char *what = rdi_asprintf("%s/t.tdb", fm->uri);
    if (!what) return RADI_E_NOMEM;
    radi_status st = RADI_OK;
    if (!fm->tile_offsets[slot]) st = rdi_error(RADI_E_CORRUPT, "%s: no tile offsets", what);
    free(what);
    if (st != RADI_OK) return st;
    uint8_t *dst;
    RDI_TRY(rdi_buf_extend(&col->data, (size_t)n * 8, &dst));
    return decode_part(j, ti, sc, inb, fm, slot, "", fm->tile_offsets[slot], fm->file_sizes[slot],
                       &fs->coords_filters, RADI_UINT64, 8, n * 8, dst);
}

/* Adds the bytes of tile t of one part file (as decode_part will read them). */
static radi_status want_part(rjob *j, const rdi_fragmeta *fm, uint32_t slot, const char *suffix,
                             const uint64_t *offsets, uint64_t file_size, uint64_t t)
{
    if (!offsets) return RADI_OK;  /* decode_part reports it */
    uint64_t off = offsets[t], end = t + 1 < fm->tile_num ? offsets[t + 1] : file_size;
    if (off > end || end > file_size) return RADI_OK;
    char *uri = data_file(fm, slot, suffix);
    if (!uri) return RADI_E_NOMEM;
    radi_status st = rdi_rcache_add(j->pre, uri, off, end - off);
    free(uri);
    return st;
}

/* On a remote backend, every part every tile task will decode (the needed fields'
 * data, offsets, var data and validity, and per-cell timestamps) is fetched in one wave
 * first, instead of one blocking read per part on the pool. Skipped when the parts
 * would not fit the memory budget; the tasks then read as before. */
radi_status rdi_sq_prefetch_tiles(rjob *j)
{
    radi_status st = RADI_OK;
    for (uint64_t ti = 0; ti < j->ntiles && st == RADI_OK; ti++) {
        const rdi_fragmeta *fm = j->frags[j->tiles[ti].frag];
        uint64_t t = j->tiles[ti].tile;
        for (uint32_t f = 0; f < j->nneed && st == RADI_OK; f++) {
            uint32_t slot;
            if (rdi_sq_frag_slot(j->q, fm, j->need[f], &slot) != RADI_OK) {
                rdi_error_clear();
                continue;
            }
            finfo fi;
            field_info(j->q->s, j->need[f], &fi);
            st = want_part(j, fm, slot, "", fm->tile_offsets[slot], fm->file_sizes[slot], t);
            if (st == RADI_OK && !fi.cell_size)
                st = want_part(j, fm, slot, "_var", fm->tile_var_offsets[slot], fm->file_var_sizes[slot], t);
            if (st == RADI_OK && fi.nullable)
                st = want_part(j, fm, slot, "_validity", fm->tile_validity_offsets[slot],
                               fm->file_validity_sizes[slot], t);
        }
        uint32_t ts = fm->schema->nattr + 1 + fm->schema->ndim;
        if (st == RADI_OK && fm->has_timestamps && ts < fm->nfields)
            st = want_part(j, fm, ts, "", fm->tile_offsets[ts], fm->file_sizes[ts], t);
        if (j->pre->bytes > j->ctx->config.memory_budget) {
            rdi_rcache_free(j->pre);
            return RADI_OK;
        }
    }
    if (st == RADI_OK) st = rdi_rcache_fetch(j->ctx, j->pre);
    return st;
}

radi_status rdi_sq_tile_task(void *arg, size_t ti, unsigned worker)
{
    rjob *j = arg;
    rdi_scratch *sc = j->scratch[worker];
    rdi_buf *inb = &j->inbuf[worker];
    if (j->direct) {
        uint64_t r0 = j->cell_base[ti];
        for (uint32_t f = 0; f < j->nneed; f++) {
            rdi_ocol *c = &j->cand[f];
            uint64_t vb = j->var_base[ti * j->nneed + f];
            uint8_t *data = c->cell_size ? c->data.data + r0 * c->cell_size : c->data.data + vb;
            uint64_t *offs = c->cell_size ? NULL : (uint64_t *)(void *)c->offsets.data + r0;
            uint8_t *valid = c->nullable ? c->validity.data + r0 : NULL;
            RDI_TRY(decode_field_to(j, ti, sc, inb, j->need[f], data, offs, valid, vb));
        }
        return RADI_OK;
    }
    rdi_ocol *out = &j->out[ti * j->nneed];
    uint32_t nd = j->q->s->ndim;
    rdi_ocol tmp[RDI_SPARSE_MAX_DIMS];
    memset(tmp, 0, sizeof tmp);
    radi_status st = RADI_OK;
    uint64_t *keep = NULL, nkeep = 0;
    const rdi_fragmeta *fm = j->frags[j->tiles[ti].frag];
    rdi_ocol ts;
    memset(&ts, 0, sizeof ts);
    for (uint32_t d = 0; d < nd && st == RADI_OK; d++) st = decode_field(j, ti, sc, inb, j->need[d], &tmp[d]);
    if (st == RADI_OK && fm->has_timestamps) st = decode_timestamps(j, ti, sc, inb, &ts);
    int all = (j->tiles[ti].full || !j->any_range) && !fm->has_timestamps;
    if (st == RADI_OK && !all) {
        rdi_scol dims[RDI_SPARSE_MAX_DIMS];
        for (uint32_t d = 0; d < nd; d++) dims[d] = rdi_ocol_view(&tmp[d]);
        uint64_t n = tmp[0].n;
        int check = j->any_range && !j->tiles[ti].full;
        uint64_t t_lo = j->q->a->t_start, t_hi = j->q->a->t_end;
        if (!(keep = malloc((n ? n : 1) * sizeof *keep))) st = rdi_nomem();
        for (uint64_t i = 0; st == RADI_OK && i < n; i++) {
            if (check && !rdi_cell_in_query(&j->q->g, dims, i, j->qd)) continue;
            /* Cells of a consolidated fragment written outside the open range are not
             * visible (time travel across a consolidation). */
            if (fm->has_timestamps) {
                uint64_t t = rdi_ld64(ts.data.data + i * 8);
                if (t < t_lo || t > t_hi) continue;
            }
            keep[nkeep++] = i;
        }
        if (nkeep == n) all = 1;
    }
    if (st == RADI_OK && fm->has_timestamps) {
        if (all) {
            j->ts[ti] = ts;
            memset(&ts, 0, sizeof ts);
        } else {
            rdi_scol v = rdi_ocol_view(&ts);
            j->ts[ti].cell_size = 8;
            st = rdi_ocol_gather(&j->ts[ti], &v, keep, nkeep);
        }
    }
    rdi_ocol_free(&ts);
    for (uint32_t f = 0; f < j->nneed && st == RADI_OK; f++) {
        rdi_ocol src;
        memset(&src, 0, sizeof src);
        if (f < nd) src = tmp[f];
        else if (all || nkeep) st = decode_field(j, ti, sc, inb, j->need[f], &src);
        if (st == RADI_OK && all) {
            out[f] = src;
            if (f < nd) memset(&tmp[f], 0, sizeof tmp[f]);
            continue;
        }
        finfo fi;
        field_info(j->q->s, j->need[f], &fi);
        out[f].cell_size = fi.cell_size;
        out[f].nullable = fi.nullable;
        if (st == RADI_OK && nkeep) {
            rdi_scol v = rdi_ocol_view(&src);
            st = rdi_ocol_gather(&out[f], &v, keep, nkeep);
        }
        if (f >= nd) rdi_ocol_free(&src);
    }
    for (uint32_t d = 0; d < nd; d++) rdi_ocol_free(&tmp[d]);
    free(keep);
    return st;
}

/* Appends all of src to dst (var offsets shifted). */
radi_status rdi_sq_ocol_concat(rdi_ocol *dst, rdi_ocol *src)
{
    if (dst->n == 0 && dst->data.len == 0 && dst->offsets.len == 0 && dst->validity.len == 0) {
        /* The first piece: take it over instead of copying. */
        rdi_buf_free(&dst->data);
        rdi_buf_free(&dst->offsets);
        rdi_buf_free(&dst->validity);
        dst->data = src->data;
        dst->offsets = src->offsets;
        dst->validity = src->validity;
        dst->n = src->n;
        memset(&src->data, 0, sizeof src->data);
        memset(&src->offsets, 0, sizeof src->offsets);
        memset(&src->validity, 0, sizeof src->validity);
        src->n = 0;
        if (dst->nullable && dst->validity.len < dst->n) return rdi_error(RADI_E_INTERNAL, "validity lost");
        return RADI_OK;
    }
    if (!dst->cell_size) {
        size_t at = dst->offsets.len;
        RDI_TRY(rdi_buf_append(&dst->offsets, src->offsets.data, src->offsets.len));
        uint64_t base = dst->data.len;
        uint64_t *o = (uint64_t *)(void *)(dst->offsets.data + at);
        for (uint64_t i = 0; i < src->n; i++) o[i] += base;
    }
    RDI_TRY(rdi_buf_append(&dst->data, src->data.data, src->data.len));
    if (dst->nullable) RDI_TRY(rdi_buf_append(&dst->validity, src->validity.data, src->validity.len));
    dst->n += src->n;
    return RADI_OK;
}

