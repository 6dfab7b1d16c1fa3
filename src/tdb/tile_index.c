/*
 * Tile index sections of fragment metadata (docs/format.md §8.1): the per-field tile
 * offsets, var offsets, var sizes and validity offsets a read needs to locate tiles.
 * They are loaded once per open array, on the first read that needs a fragment, for all
 * of that read's fragments at once: one wave of reads for whatever the open's snapshot
 * does not already hold (usually nothing: it fetched small metadata files whole), then
 * decoding on the pool. The handle's lock makes the load safe for concurrent reads of
 * one handle; once every fragment's index is in, a flag lets reads skip the lock, and
 * the handle is read-only for reads (volumes load it all at open).
 */
#include <stdlib.h>

#include "core/pool.h"
#include "tdb/tdb.h"
#include "tdb/prefetch.h"

/* The smallest generic-tile offset of the file greater than off (or the file size): the
 * end of the section starting at off, since TileDB writes sections back to back. */
static uint64_t section_end(const rdi_fragmeta *fm, uint64_t off)
{
    uint64_t end = fm->meta_size;
#define CONSIDER(v) do { if ((v) > off && (v) < end) end = (v); } while (0)
    CONSIDER(fm->rtree_off);
    CONSIDER(fm->frag_mmsn_off);
    if (fm->version >= 16) CONSIDER(fm->proc_cond_off);
    for (int k = 0; k < RDI_GT_COUNT; k++)
        for (uint32_t i = 0; i < fm->nfields; i++) CONSIDER(fm->gt_off[k][i]);
#undef CONSIDER
    return end;
}

/* Decodes one `u64 count | count × u64` section from the span read at span_off, and checks
 * it against the fragment's tile count and the data file's size. */
static radi_status load_section(rdi_fragmeta *fm, const uint8_t *span, uint64_t span_off,
                                uint64_t span_len, int kind, uint32_t field, uint64_t file_size,
                                const char *what, rdi_scratch *scratch, uint64_t **out)
{
    static const char *const kinds[] = {"tile offsets", "tile var offsets", "tile var sizes",
                                        "tile validity offsets"};
    uint64_t off = fm->gt_off[kind][field] - span_off;
    char *where = rdi_asprintf("%s (%s of field %u)", what, kinds[kind], field);
    if (!where) return RADI_E_NOMEM;
    rdi_rd r;
    rdi_rd_init(&r, span + off, (size_t)(span_len - off), where);
    rdi_buf payload = RDI_BUF_INIT;
    radi_status s = rdi_generic_tile_decode(&r, scratch, &payload);
    free(where);
    if (s != RADI_OK) {
        rdi_buf_free(&payload);
        return s;
    }
    uint64_t count = 0;
    if (payload.len >= 8) count = rdi_ld64(payload.data);
    if (payload.len < 8 || (payload.len - 8) / 8 < count) {
        rdi_buf_free(&payload);
        return rdi_error(RADI_E_CORRUPT, "%s: %s of field %u: truncated section", what, kinds[kind], field);
    }
    if (count == 0 && file_size == 0) { /* an unused slot (TileDB may write count 0) */
        rdi_buf_free(&payload);
        return RADI_OK;
    }
    if (count != fm->tile_num) {
        rdi_buf_free(&payload);
        return rdi_error(RADI_E_CORRUPT, "%s: %s of field %u: %llu entries for %llu tiles", what, kinds[kind],
                         field, (unsigned long long)count, (unsigned long long)fm->tile_num);
    }
    uint64_t *v = rdi_malloc((size_t)(count ? count : 1) * sizeof(uint64_t));
    if (!v) {
        rdi_buf_free(&payload);
        return RADI_E_NOMEM;
    }
    memcpy(v, payload.data + 8, (size_t)count * sizeof(uint64_t));
    rdi_buf_free(&payload);
    /* Offsets index a data file: ascending and inside it (the last tile ends at its size). */
    if (kind != RDI_GT_VAR_SIZES && file_size > 0) {
        for (uint64_t t = 0; t < count; t++)
            if (v[t] >= file_size || (t > 0 && v[t] < v[t - 1])) {
                uint64_t bad = v[t];
                free(v);
                return rdi_error(RADI_E_CORRUPT,
                                 "%s: %s of field %u: tile %llu at byte %llu is out of order or past the "
                                 "file's %llu bytes",
                                 what, kinds[kind], field, (unsigned long long)t, (unsigned long long)bad,
                                 (unsigned long long)file_size);
            }
    }
    *out = v;
    return RADI_OK;
}

/* Field kinds in the index space: what sections a field has. */
static void field_kind(const rdi_fragmeta *fm, uint32_t field, int *var, int *nullable, int *none)
{
    const radi_schema *s = fm->schema;
    *var = *nullable = *none = 0;
    if (field < s->nattr) {
        *var = s->attrs[field].cell_val_num == RADI_VAR_NUM;
        *nullable = s->attrs[field].nullable;
    } else if (field == s->nattr) {
        *none = 1; /* the legacy __coords slot: always empty */
    } else if (field < s->nattr + 1 + s->ndim) {
        *var = s->dims[field - s->nattr - 1].cell_val_num == RADI_VAR_NUM;
        *none = fm->dense; /* dense fragments store no coordinates */
    }
}

/* One fragment whose index is being loaded. */
typedef struct ix_item {
    rdi_fragmeta *fm;
    char *md;              /* its __fragment_metadata.tdb */
    uint64_t lo, len;      /* the span of every field's index sections */
    const uint8_t *span;   /* the span's bytes: in the snapshot, or in `own` */
    uint8_t *own;
} ix_item;

static int index_loaded(const rdi_fragmeta *fm)
{
    if (!fm->dense && !fm->rtree_tried) return 0;
    for (uint32_t f = 0; f < fm->nfields; f++)
        if (!fm->field_loaded[f]) return 0;
    return 1;
}

/* Where the sections lie. Every field's tile index sections (offsets, var offsets, var
 * sizes, validity offsets) sit back to back in the file: one range holds all of them. */
static radi_status plan_item(radi_array *a, ix_item *it)
{
    rdi_fragmeta *fm = it->fm;
    if (!(it->md = rdi_path_join(fm->uri, "__fragment_metadata.tdb"))) return RADI_E_NOMEM;
    if (fm->meta_size == 0) {
        /* The footer came from a consolidated .meta: the file's size bounds the reads
         * (from the snapshot's listing when the open took one). */
        radi_status s = rdi_snap_size(a->snap, a->ctx->vfs, it->md, &fm->meta_size);
        if (s == RADI_E_NOT_FOUND) s = rdi_error(RADI_E_CORRUPT, "%s: missing", it->md);
        if (s == RADI_OK) s = rdi_fragmeta_check_offsets(fm, fm->meta_size, it->md);
        if (s != RADI_OK) {
            fm->meta_size = 0;
            return s;
        }
    }
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int k = RDI_GT_TILE_OFFSETS; k <= RDI_GT_VALIDITY_OFFSETS; k++)
        for (uint32_t i = 0; i < fm->nfields; i++) {
            lo = RDI_MIN(lo, fm->gt_off[k][i]);
            hi = RDI_MAX(hi, fm->gt_off[k][i]);
        }
    /* A sparse fragment's R-tree is the section just before (§8.1, §8.2): the same range
     * brings it, and queries then parse it from memory. */
    if (!fm->dense && fm->rtree_off < lo) lo = fm->rtree_off;
    it->lo = lo;
    it->len = section_end(fm, hi) - lo;
    it->span = rdi_snap_view(a->snap, it->md, it->lo, it->len);
    if (!it->span && !(it->own = rdi_malloc((size_t)(it->len ? it->len : 1)))) return RADI_E_NOMEM;
    return RADI_OK;
}

/* Decodes every field's sections of one fragment from its span. */
static radi_status decode_task(void *arg, size_t i, unsigned w)
{
    RDI_UNUSED(w);
    ix_item *it = &((ix_item *)arg)[i];
    rdi_fragmeta *fm = it->fm;
    const uint8_t *span = it->span ? it->span : it->own;
    rdi_scratch *scratch = NULL;
    /* Nested loops share worker slots, so each fragment brings its own scratch. */
    radi_status s = rdi_scratch_create(&scratch);
    uint64_t rt = fm->rtree_off - it->lo;
    if (s == RADI_OK && !fm->dense && !fm->rtree_tried && fm->rtree_off >= it->lo && rt < it->len) {
        rdi_rd r;
        rdi_rd_init(&r, span + rt, (size_t)(it->len - rt), it->md);
        s = rdi_generic_tile_decode(&r, scratch, &fm->rtree);
        if (s != RADI_OK) rdi_buf_free(&fm->rtree);
    }
    if (s == RADI_OK) fm->rtree_tried = 1;
    for (uint32_t f = 0; f < fm->nfields && s == RADI_OK; f++) {
        if (fm->field_loaded[f]) continue;
        /* What an earlier, failed attempt left behind. */
        uint64_t **slots[4] = {&fm->tile_offsets[f], &fm->tile_var_offsets[f], &fm->tile_var_sizes[f],
                               &fm->tile_validity_offsets[f]};
        for (int k = 0; k < 4; k++) {
            free(*slots[k]);
            *slots[k] = NULL;
        }
        int var, nullable, none;
        field_kind(fm, f, &var, &nullable, &none);
        const char *md = it->md;
        if (!none)
            s = load_section(fm, span, it->lo, it->len, RDI_GT_TILE_OFFSETS, f, fm->file_sizes[f], md, scratch,
                             &fm->tile_offsets[f]);
        if (s == RADI_OK && var && !none) {
            s = load_section(fm, span, it->lo, it->len, RDI_GT_VAR_OFFSETS, f, fm->file_var_sizes[f], md,
                             scratch, &fm->tile_var_offsets[f]);
            if (s == RADI_OK)
                s = load_section(fm, span, it->lo, it->len, RDI_GT_VAR_SIZES, f, fm->file_var_sizes[f], md,
                                 scratch, &fm->tile_var_sizes[f]);
        }
        if (s == RADI_OK && nullable)
            s = load_section(fm, span, it->lo, it->len, RDI_GT_VALIDITY_OFFSETS, f, fm->file_validity_sizes[f],
                             md, scratch, &fm->tile_validity_offsets[f]);
        if (s == RADI_OK) fm->field_loaded[f] = 1;
    }
    rdi_scratch_free(scratch);
    return s;
}

static radi_status load_locked(radi_array *a, const uint32_t *which, uint32_t n)
{
    ix_item *items = rdi_calloc(n ? n : 1, sizeof *items);
    rdi_vfs_range *r = rdi_calloc(n ? n : 1, sizeof *r);
    radi_status s = items && r ? RADI_OK : RADI_E_NOMEM;
    uint32_t ni = 0, nr = 0;
    for (uint32_t i = 0; i < n && s == RADI_OK; i++) {
        if (which[i] >= a->nfrags) {
            s = rdi_error(RADI_E_INTERNAL, "%s: fragment %u out of range", a->uri, which[i]);
            break;
        }
        rdi_fragmeta *fm = a->frags[which[i]];
        int dup = 0;
        for (uint32_t k = 0; k < ni && !dup; k++) dup = items[k].fm == fm;
        if (dup || index_loaded(fm)) continue;
        items[ni].fm = fm;
        s = plan_item(a, &items[ni]);
        if (s == RADI_OK && !items[ni].span)
            r[nr++] = (rdi_vfs_range){items[ni].md, items[ni].lo, items[ni].len, items[ni].own, RADI_OK};
        ni++;
    }
    int remote = a->snap ? a->snap->remote : (rdi_vfs_flags(a->ctx->vfs, a->uri) & RDI_VFS_REMOTE) != 0;
    if (s == RADI_OK) s = rdi_read_ranges(a->ctx, remote, r, nr);
    if (s == RADI_OK && ni) s = rdi_pool_for(a->ctx->pool, ni, decode_task, items);
    for (uint32_t k = 0; items && k < ni; k++) {
        free(items[k].md);
        free(items[k].own);
    }
    free(items);
    free(r);
    return s;
}

radi_status rdi_array_load_tile_index(radi_array *a, const uint32_t *which, uint32_t n)
{
    /* Everything loaded: nothing to take the lock for (reads are then read-only). */
    if (atomic_load_explicit(&a->index_complete, memory_order_acquire)) return RADI_OK;
    /* A forked child must not wait on a lock a parent's thread held at the fork. */
    RDI_TRY(rdi_ctx_check(a->ctx));
    pthread_mutex_lock(&a->lock);
    radi_status s = load_locked(a, which, n);
    if (s == RADI_OK) {
        int all = 1;
        for (uint32_t f = 0; f < a->nfrags && all; f++) all = index_loaded(a->frags[f]);
        if (all) atomic_store_explicit(&a->index_complete, 1, memory_order_release);
    }
    pthread_mutex_unlock(&a->lock);
    return s;
}

radi_status rdi_array_load_all_tile_index(radi_array *a)
{
    if (atomic_load_explicit(&a->index_complete, memory_order_acquire) || a->nfrags == 0) return RADI_OK;
    uint32_t *all = rdi_malloc((size_t)a->nfrags * sizeof *all);
    if (!all) return RADI_E_NOMEM;
    for (uint32_t f = 0; f < a->nfrags; f++) all[f] = f;
    radi_status s = rdi_array_load_tile_index(a, all, a->nfrags);
    free(all);
    return s;
}
