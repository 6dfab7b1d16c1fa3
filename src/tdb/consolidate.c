/*
 * Consolidation and vacuum (docs/format.md §9–§11), in the four
 * modes TileDB has. Consolidation only adds objects; vacuum deletes what they made
 * obsolete. Every step is ordered so that a crash at any point leaves an array that
 * reads the same values: the superseding object is committed before anything it
 * supersedes is deleted, and the file that records the supersession (.vac, .con) goes
 * last.
 */
#include <stdlib.h>
#include <string.h>

#include "tdb/consolidate_int.h"

/* ------------------------------------------------------ fragment consolidation -- */

/* Tile-aligned pieces of a dense box that each fit in `cap` bytes: single tiles along
 * dims < k, `step` tiles along dim k and the whole box along dims > k, with k as small
 * (pieces as large) as the cap allows. k = 0 with every tile is the whole box. */
typedef struct pieces {
    rdi_grid g;
    int64_t box[8];
    uint32_t k;
    int64_t step;
    uint64_t count, max_cells;
} pieces;

static uint64_t span_of(const int64_t *box, uint32_t d)
{
    return (uint64_t)(box[2 * d + 1] - box[2 * d]) + 1;
}

/* Cells of a piece with `t` tiles along dim k (an upper bound: tiles unclipped). */
static uint64_t piece_cells(const pieces *p, uint32_t k, uint64_t t)
{
    uint64_t n = 1;
    for (uint32_t d = 0; d < p->g.ndim; d++) {
        uint64_t span = span_of(p->box, d), ext = (uint64_t)p->g.ext[d];
        uint64_t c = d < k ? RDI_MIN(ext, span) : d == k ? RDI_MIN(t * ext, span) : span;
        if (n > UINT64_MAX / c) return UINT64_MAX;
        n *= c;
    }
    return n;
}

static radi_status pieces_init(const radi_array *a, const int64_t *box, uint64_t per, uint64_t cap,
                               pieces *p)
{
    memset(p, 0, sizeof *p);
    RDI_TRY(rdi_grid_init(a->schema, box, &p->g));
    memcpy(p->box, box, 2 * p->g.ndim * sizeof *box);
    uint64_t max_cells = per ? cap / per : UINT64_MAX;
    for (uint32_t k = 0; k < p->g.ndim; k++) {
        uint64_t ntk = (uint64_t)(p->g.thi[k] - p->g.tlo[k] + 1), t = 1, hi = ntk;
        if (piece_cells(p, k, 1) > max_cells) continue;
        while (t < hi) {   /* the most tiles along k that fit */
            uint64_t mid = t + (hi - t + 1) / 2;
            if (piece_cells(p, k, mid) <= max_cells) t = mid;
            else hi = mid - 1;
        }
        p->k = k;
        p->step = (int64_t)t;
        p->max_cells = piece_cells(p, k, t);
        p->count = (ntk + t - 1) / t;
        for (uint32_t d = 0; d < k; d++) p->count *= (uint64_t)(p->g.thi[d] - p->g.tlo[d] + 1);
        return RADI_OK;
    }
    return rdi_error(RADI_E_BUDGET,
                     "%s: consolidation needs %llu bytes for one tile, over half the memory "
                     "budget of %llu bytes", a->uri,
                     (unsigned long long)(piece_cells(p, p->g.ndim - 1, 1) * per),
                     (unsigned long long)a->ctx->config.memory_budget);
}

/* The i-th piece's box (i < count), clipped to the box. */
static void piece_box(const pieces *p, uint64_t i, int64_t *out)
{
    const rdi_grid *g = &p->g;
    uint64_t nk = (uint64_t)(g->thi[p->k] - g->tlo[p->k]) / (uint64_t)p->step + 1;
    memcpy(out, p->box, 2 * g->ndim * sizeof *out);
    int64_t tk = g->tlo[p->k] + (int64_t)(i % nk) * p->step;
    out[2 * p->k] = RDI_MAX(p->box[2 * p->k], g->lo[p->k] + tk * g->ext[p->k]);
    out[2 * p->k + 1] = RDI_MIN(p->box[2 * p->k + 1], g->lo[p->k] + (tk + p->step) * g->ext[p->k] - 1);
    i /= nk;
    for (uint32_t d = p->k; d-- > 0;) {
        uint64_t nt = (uint64_t)(g->thi[d] - g->tlo[d] + 1);
        int64_t td = g->tlo[d] + (int64_t)(i % nt);
        i /= nt;
        out[2 * d] = RDI_MAX(p->box[2 * d], g->lo[d] + td * g->ext[d]);
        out[2 * d + 1] = RDI_MIN(p->box[2 * d + 1], g->lo[d] + (td + 1) * g->ext[d] - 1);
    }
}

/* Dense: the bounding box of every visible fragment's non-empty domain, read through
 * the reader (newest wins, fill where nothing was written) and written back stamped
 * [t1 of the first, newest t2], padding tiles with the fill value. The read buffers plus
 * the reader's tiles in flight stay within the memory budget: a box larger than half of
 * it is written as several fragments over disjoint tile-aligned pieces (they share the
 * timestamps, and only the last one names the .vac). */
static radi_status consolidate_dense(radi_array *a, uint64_t t1, uint64_t t2, char **name)
{
    const radi_schema *sc = a->schema;
    int64_t box[8];
    int empty = 0;
    RDI_TRY(radi_array_nonempty_domain(a, box, &empty));
    if (empty) return rdi_error(RADI_E_INTERNAL, "%s: fragments but an empty domain", a->uri);
    uint64_t per = 0;
    for (uint32_t i = 0; i < sc->nattr; i++) {
        const rdi_attr *at = &sc->attrs[i];
        if (at->cell_val_num == RADI_VAR_NUM)
            return rdi_error(RADI_E_UNSUPPORTED, "%s: consolidating var-sized attribute '%s'",
                             a->uri, at->name);
        per += (uint64_t)rdi_attr_cell_size(at) + (at->nullable ? 1 : 0);
    }
    pieces p;
    RDI_TRY(pieces_init(a, box, per, RDI_MIN(a->ctx->config.memory_budget / 2, (uint64_t)SIZE_MAX), &p));

    radi_layout layout = sc->cell_order == RADI_COL_MAJOR ? RADI_COL_MAJOR : RADI_ROW_MAJOR;
    radi_field_buffer *fb = rdi_calloc(sc->nattr, sizeof *fb);
    if (!fb) return RADI_E_NOMEM;
    radi_status s = RADI_OK;
    for (uint32_t i = 0; i < sc->nattr && s == RADI_OK; i++) {
        const rdi_attr *at = &sc->attrs[i];
        fb[i].attr = at->name;
        if (!(fb[i].data = rdi_malloc(RDI_MAX(p.max_cells * rdi_attr_cell_size(at), 1)))) s = RADI_E_NOMEM;
        else if (at->nullable && !(fb[i].validity = rdi_malloc(p.max_cells))) s = RADI_E_NOMEM;
    }
    for (uint64_t i = 0; i < p.count && s == RADI_OK; i++) {
        int64_t pb[8];
        piece_box(&p, i, pb);
        uint64_t cells = 1;
        for (uint32_t d = 0; d < sc->ndim; d++) cells *= span_of(pb, d);
        for (uint32_t j = 0; j < sc->nattr; j++) fb[j].size = cells * rdi_attr_cell_size(&sc->attrs[j]);
        free(*name);
        *name = NULL;
        s = radi_array_read_dense(a, pb, layout, sc->nattr, fb, NULL);
        if (s == RADI_OK) s = rdi_dense_write(a, pb, layout, sc->nattr, fb, t1, t2, 1, name);
    }
    for (uint32_t i = 0; i < sc->nattr; i++) {
        free(fb[i].data);
        free(fb[i].validity);
    }
    free(fb);
    return s;
}

static radi_status consolidate_fragments(radi_array *a)
{
    if (a->nfrags < 2) return RADI_OK;   /* nothing to merge */
    uint64_t t1 = a->frags[0]->t1, t2 = 0;
    int same = t1 < a->frags[0]->t2;
    for (uint32_t i = 0; i < a->nfrags; i++) {
        t2 = RDI_MAX(t2, a->frags[i]->t2);
        same = same && a->frags[i]->t1 == t1 && a->frags[i]->t2 == a->frags[0]->t2;
    }
    /* The pieces of one earlier consolidation (identical spans): nothing to gain. */
    if (same) return RADI_OK;
    /* The inputs' lines now: the write reloads the array's fragment list. */
    rdi_buf text = RDI_BUF_INIT;
    radi_status s = RADI_OK;
    for (uint32_t i = 0; i < a->nfrags && s == RADI_OK; i++)
        s = rdi_cv_append_line(&text, "/" FRAGMENTS_DIR "/", a->frags[i]->name, "");

    char *name = NULL;
    if (s == RADI_OK && a->schema->type == RADI_DENSE) s = consolidate_dense(a, t1, t2, &name);
    else if (s == RADI_OK) s = rdi_sparse_consolidate(a, t1, t2, &name);
    if (s == RADI_OK && !name) {   /* sparse inputs without a cell: nothing replaces them */
        rdi_buf_free(&text);
        return RADI_OK;
    }

    /* The new fragment is committed; the .vac now hides its inputs. Until it exists both
     * are visible, which reads the same: the new fragment holds the merged values. */
    char *vac = s == RADI_OK ? rdi_asprintf("%s/" COMMITS_DIR "/%s.vac", a->uri, name) : NULL;
    if (s == RADI_OK && !vac) s = RADI_E_NOMEM;
    if (s == RADI_OK) s = rdi_cv_write_text(a->ctx, vac, &text);
    free(vac);
    free(name);
    rdi_buf_free(&text);
    return s;
}

/* -------------------------------------------------------- commit consolidation -- */

static radi_status consolidate_commits(radi_array *a)
{
    radi_ctx *ctx = a->ctx;
    commits c;
    RDI_TRY(rdi_cv_commits_load(ctx, a->uri, &c));

    /* As TileDB: the lines already consolidated, then every .wrt not among them. */
    rdi_strlist all = RDI_STRLIST_INIT;
    radi_status s = RADI_OK;
    for (size_t i = 0; i < c.covered.n && s == RADI_OK; i++) s = rdi_strlist_push(&all, c.covered.items[i]);
    size_t nnew = 0;
    for (size_t i = 0; i < c.ls.n && s == RADI_OK; i++) {
        const char *n = c.ls.items[i].name;
        if (c.ls.items[i].is_dir || !rdi_cv_ends_with(n, ".wrt")) continue;
        char *rel = rdi_asprintf(COMMITS_DIR "/%s", n);
        if (!rel) { s = RADI_E_NOMEM; break; }
        if (rdi_cv_sorted_has(&c.covered, rel)) { free(rel); continue; }
        s = rdi_strlist_push_owned(&all, rel);
        nnew++;
    }
    /* Nothing new and one .con already lists exactly the covered set: done. */
    size_t full = c.ls.n;
    if (s == RADI_OK && nnew == 0) s = rdi_cv_commits_full(&c, &full);
    int done = all.n == 0 || (nnew == 0 && full < c.ls.n);

    uint64_t t1 = UINT64_MAX, t2 = 0;
    rdi_buf text = RDI_BUF_INIT;
    for (size_t i = 0; s == RADI_OK && !done && i < all.n; i++) {
        rdi_tsname tn;
        const char *base = rdi_path_basename(all.items[i], NULL);
        if (!rdi_cv_ends_with(base, ".wrt")) {
            s = rdi_error(RADI_E_CORRUPT, "%s/" COMMITS_DIR ": unexpected commit line '%s'", a->uri,
                          all.items[i]);
            break;
        }
        s = rdi_cv_parse_name(base, ".wrt", a->uri, &tn);
        if (s != RADI_OK) break;
        t1 = RDI_MIN(t1, tn.t1);
        t2 = RDI_MAX(t2, tn.t2);
        s = rdi_cv_append_line(&text, "", all.items[i], "");
    }
    char *name = NULL, *file = NULL;
    if (s == RADI_OK && !done) s = rdi_tsname_make(t1, t2, rdi_cv_write_version(ctx, a->schema), &name);
    if (s == RADI_OK && !done && !(file = rdi_asprintf("%s/" COMMITS_DIR "/%s.con", a->uri, name)))
        s = RADI_E_NOMEM;
    if (s == RADI_OK && !done) s = rdi_cv_write_text(ctx, file, &text);
    free(name);
    free(file);
    rdi_buf_free(&text);
    rdi_strlist_free(&all);
    rdi_cv_commits_free(&c);
    return s;
}

/* ---------------------------------------------- fragment metadata consolidation -- */

/* Appends the footer of fragment fm (the plain bytes before the trailing u64 length of
 * its __fragment_metadata.tdb, format.md §8.1) to out. */
static radi_status append_footer(radi_ctx *ctx, const rdi_fragmeta *fm, rdi_buf *out)
{
    if (fm->version < 10)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: fragment version %u has no footer length",
                         fm->uri, fm->version);
    char *file = rdi_path_join(fm->uri, "__fragment_metadata.tdb");
    if (!file) return RADI_E_NOMEM;
    uint64_t size = 0, flen = 0;
    uint8_t tail[8];
    radi_status s = rdi_vfs_size(ctx->vfs, file, &size);
    if (s == RADI_OK && size < 8) s = rdi_error(RADI_E_CORRUPT, "%s: truncated footer", file);
    if (s == RADI_OK) s = rdi_vfs_read(ctx->vfs, file, size - 8, tail, 8);
    if (s == RADI_OK && (flen = rdi_ld64(tail)) > size - 8)
        s = rdi_error(RADI_E_CORRUPT, "%s: footer length %llu exceeds the file", file,
                      (unsigned long long)flen);
    size_t at = out->len;
    if (s == RADI_OK) s = rdi_buf_resize(out, at + flen);
    if (s == RADI_OK) s = rdi_vfs_read(ctx->vfs, file, size - 8 - flen, out->data + at, flen);
    free(file);
    return s;
}

/* Whether the newest .meta already holds exactly the visible fragments' footers. */
static radi_status fragment_meta_current(radi_array *a, int *out)
{
    *out = 0;
    rdi_dirlist ls;
    RDI_TRY(rdi_cv_list_sub(a->ctx, a->uri, FRAG_META_DIR, &ls));
    const char *newest = NULL;
    rdi_tsname best = {0, 0, {0}, 0}, tn;
    for (size_t i = 0; i < ls.n; i++) {
        const char *n = ls.items[i].name;
        if (ls.items[i].is_dir || !rdi_cv_ends_with(n, ".meta")) continue;
        char *base = rdi_cv_strip_ext(n, ".meta");
        int ok = base && rdi_tsname_parse(base, &tn) == RADI_OK;
        free(base);
        if (ok && (!newest || tn.t2 > best.t2 || (tn.t2 == best.t2 && strcmp(n, newest) > 0))) {
            newest = n;
            best = tn;
        }
    }
    radi_status s = RADI_OK;
    if (newest) {
        char *file = rdi_cv_join3(a->uri, FRAG_META_DIR, newest);
        rdi_scratch *scratch = NULL;
        rdi_buf payload = RDI_BUF_INIT;
        if (!file) s = RADI_E_NOMEM;
        if (s == RADI_OK) s = rdi_scratch_create(&scratch);
        if (s == RADI_OK) s = rdi_generic_tile_read(a->ctx->vfs, file, 0, scratch, &payload);
        rdi_rd r;
        uint32_t n = 0;
        if (s == RADI_OK) {
            rdi_rd_init(&r, payload.data, payload.len, file);
            s = rdi_rd_u32(&r, &n, "fragment count");
        }
        int same = s == RADI_OK && n == a->nfrags;
        for (uint32_t i = 0; same && i < n; i++) {
            char *name = NULL;
            uint64_t off;
            same = rdi_rd_str64(&r, &name, NULL, "fragment name") == RADI_OK &&
                   rdi_rd_u64(&r, &off, "footer offset") == RADI_OK &&
                   strcmp(name, a->frags[i]->name) == 0;
            free(name);
        }
        *out = same;
        /* A damaged .meta is no reason not to write a good one. */
        if (s != RADI_OK && s != RADI_E_NOMEM) s = RADI_OK;
        rdi_buf_free(&payload);
        rdi_scratch_free(scratch);
        free(file);
    }
    rdi_dirlist_free(&ls);
    return s;
}

static radi_status consolidate_fragment_meta(radi_array *a)
{
    if (a->nfrags < 2) return RADI_OK;
    int current = 0;
    RDI_TRY(fragment_meta_current(a, &current));
    if (current) return RADI_OK;
    radi_ctx *ctx = a->ctx;
    uint32_t version = rdi_cv_write_version(ctx, a->schema);
    /* Payload: u32 nfrag | nfrag × (u64 len | name | u64 offset) | footers, offsets
     * relative to the payload (format.md §9). Names (not URIs) since format 9. */
    uint64_t off = 4, t2 = 0;
    for (uint32_t i = 0; i < a->nfrags; i++) {
        off += 16 + strlen(a->frags[i]->name);
        t2 = RDI_MAX(t2, a->frags[i]->t2);
    }
    rdi_buf footers = RDI_BUF_INIT, payload = RDI_BUF_INIT, tile = RDI_BUF_INIT;
    uint64_t *offs = rdi_calloc(a->nfrags, sizeof *offs);
    radi_status s = offs ? RADI_OK : RADI_E_NOMEM;
    for (uint32_t i = 0; i < a->nfrags && s == RADI_OK; i++) {
        offs[i] = off + footers.len;
        s = append_footer(ctx, a->frags[i], &footers);
    }
    if (s == RADI_OK) s = rdi_buf_put_u32(&payload, a->nfrags);
    for (uint32_t i = 0; i < a->nfrags && s == RADI_OK; i++) {
        const char *n = a->frags[i]->name;
        s = rdi_buf_put_str64(&payload, n, strlen(n));
        if (s == RADI_OK) s = rdi_buf_put_u64(&payload, offs[i]);
    }
    if (s == RADI_OK) s = rdi_buf_append(&payload, footers.data, footers.len);

    rdi_scratch *scratch = NULL;
    char *name = NULL, *file = NULL;
    if (s == RADI_OK) s = rdi_scratch_create(&scratch);
    if (s == RADI_OK) s = rdi_generic_tile_encode(payload.data, payload.len, version, scratch, &tile);
    if (s == RADI_OK) s = rdi_tsname_make(a->frags[0]->t1, t2, version, &name);
    if (s == RADI_OK && !(file = rdi_asprintf("%s/" FRAG_META_DIR "/%s.meta", a->uri, name)))
        s = RADI_E_NOMEM;
    if (s == RADI_OK) s = rdi_cv_write_text(ctx, file, &tile);
    rdi_scratch_free(scratch);
    free(name);
    free(file);
    free(offs);
    rdi_buf_free(&footers);
    rdi_buf_free(&payload);
    rdi_buf_free(&tile);
    return s;
}

/* ------------------------------------------------- array metadata consolidation -- */

/* The metadata files of <uri>/__meta a reader at [0, t_end] applies: not listed in any
 * .vac, wholly inside the range; sorted by t1. Also the .vac files and their targets. */
typedef struct meta_files {
    rdi_dirlist ls;
    rdi_strlist live;      /* visible file names, t1 order */
    rdi_strlist vacs;      /* .vac file names */
    rdi_strlist targets;   /* sorted names listed by the .vac files */
    uint64_t t1, t2;       /* span of `live` */
} meta_files;

static void meta_files_free(meta_files *m)
{
    rdi_dirlist_free(&m->ls);
    rdi_strlist_free(&m->live);
    rdi_strlist_free(&m->vacs);
    rdi_strlist_free(&m->targets);
}

typedef struct stamped {
    uint64_t t1;
    const char *name;
} stamped;

static int cmp_stamped(const void *a, const void *b)
{
    const stamped *x = a, *y = b;
    if (x->t1 != y->t1) return x->t1 < y->t1 ? -1 : 1;
    return strcmp(x->name, y->name);
}

static radi_status meta_files_load(radi_ctx *ctx, const char *uri, uint64_t t_end, meta_files *m)
{
    memset(m, 0, sizeof *m);
    m->t1 = UINT64_MAX;
    radi_status s = rdi_cv_list_sub(ctx, uri, META_DIR, &m->ls);
    rdi_strlist lines = RDI_STRLIST_INIT;
    for (size_t i = 0; s == RADI_OK && i < m->ls.n; i++) {
        const char *n = m->ls.items[i].name;
        if (m->ls.items[i].is_dir || !rdi_cv_ends_with(n, ".vac")) continue;
        char *file = rdi_cv_join3(uri, META_DIR, n);
        if (!file) { s = RADI_E_NOMEM; break; }
        s = rdi_cv_read_lines(ctx, file, &lines);
        free(file);
        if (s == RADI_OK) s = rdi_strlist_push(&m->vacs, n);
    }
    for (size_t i = 0; s == RADI_OK && i < lines.n; i++) {
        char *t = rdi_cv_vac_target(lines.items[i], META_DIR);
        if (t) s = rdi_strlist_push_owned(&m->targets, t);
    }
    if (s == RADI_OK) rdi_cv_sort_unique(&m->targets);
    rdi_strlist_free(&lines);

    stamped *st = s == RADI_OK && m->ls.n ? rdi_calloc(m->ls.n, sizeof *st) : NULL;
    if (s == RADI_OK && m->ls.n && !st) s = RADI_E_NOMEM;
    size_t n = 0;
    for (size_t i = 0; s == RADI_OK && i < m->ls.n; i++) {
        const char *name = m->ls.items[i].name;
        if (m->ls.items[i].is_dir || rdi_cv_ends_with(name, ".vac") || rdi_cv_sorted_has(&m->targets, name))
            continue;
        rdi_tsname tn;
        s = rdi_cv_parse_name(name, "", uri, &tn);
        if (s != RADI_OK || tn.t2 > t_end) continue;
        st[n].t1 = tn.t1;
        st[n++].name = name;
        m->t1 = RDI_MIN(m->t1, tn.t1);
        m->t2 = RDI_MAX(m->t2, tn.t2);
    }
    if (s == RADI_OK && n) qsort(st, n, sizeof *st, cmp_stamped);
    for (size_t i = 0; s == RADI_OK && i < n; i++) s = rdi_strlist_push(&m->live, st[i].name);
    free(st);
    if (s != RADI_OK) meta_files_free(m);
    return s;
}

static radi_status consolidate_array_meta(radi_ctx *ctx, const char *uri, uint32_t version)
{
    uint64_t now = rdi_now_ms();
    meta_files m;
    RDI_TRY(meta_files_load(ctx, uri, now, &m));
    if (m.live.n < 2) {
        meta_files_free(&m);
        return RADI_OK;
    }
    /* The merged values are exactly what a reader sees now. */
    radi_meta meta;
    memset(&meta, 0, sizeof meta);
    rdi_buf payload = RDI_BUF_INIT, tile = RDI_BUF_INIT, text = RDI_BUF_INIT;
    rdi_scratch *scratch = NULL;
    char *name = NULL, *file = NULL, *vac = NULL;
    radi_status s = rdi_meta_load(ctx, uri, 0, now, version, &meta);
    if (s == RADI_OK) s = rdi_meta_serialize(&meta, &payload);
    if (s == RADI_OK) s = rdi_scratch_create(&scratch);
    if (s == RADI_OK) s = rdi_generic_tile_encode(payload.data, payload.len, version, scratch, &tile);
    if (s == RADI_OK) s = rdi_tsname_make(m.t1, m.t2, 0, &name);
    if (s == RADI_OK && (!(file = rdi_cv_join3(uri, META_DIR, name)) ||
                         !(vac = rdi_asprintf("%s.vac", file))))
        s = RADI_E_NOMEM;
    for (size_t i = 0; s == RADI_OK && i < m.live.n; i++)
        s = rdi_cv_append_line(&text, "/" META_DIR "/", m.live.items[i], "");
    /* Merged file first: until the .vac exists both are applied, which reads the same
     * (the merged state re-applied under the same updates is unchanged). */
    if (s == RADI_OK) s = rdi_cv_write_text(ctx, file, &tile);
    if (s == RADI_OK) s = rdi_cv_write_text(ctx, vac, &text);
    rdi_meta_clear(&meta);
    rdi_scratch_free(scratch);
    rdi_buf_free(&payload);
    rdi_buf_free(&tile);
    rdi_buf_free(&text);
    free(name);
    free(file);
    free(vac);
    meta_files_free(&m);
    return s;
}

/* ------------------------------------------------------------------ public API -- */

radi_status radi_consolidate(radi_ctx *ctx, const char *uri, radi_consolidation_mode mode)
{
    if (!ctx || !uri) return rdi_error(RADI_E_INVALID, "radi_consolidate: ctx or uri is NULL");
    if (mode < RADI_CONSOLIDATE_FRAGMENTS || mode > RADI_CONSOLIDATE_ARRAY_META)
        return rdi_error(RADI_E_INVALID, "radi_consolidate: unknown mode %d", (int)mode);
    radi_array *a = NULL;
    RDI_TRY(radi_array_open(ctx, uri, 0, 0, &a));
    radi_status s;
    switch (mode) {
    case RADI_CONSOLIDATE_FRAGMENTS: s = consolidate_fragments(a); break;
    case RADI_CONSOLIDATE_COMMITS: s = consolidate_commits(a); break;
    case RADI_CONSOLIDATE_FRAGMENT_META: s = consolidate_fragment_meta(a); break;
    default: s = consolidate_array_meta(ctx, a->uri, rdi_cv_write_version(ctx, a->schema)); break;
    }
    radi_array_close(a);
    return s;
}

/* Group metadata (__meta of a group has the array's layout, format.md §11): merged and
 * vacuumed as array metadata is, as TileDB's group metadata consolidation does. */
radi_status rdi_group_meta_consolidate(radi_ctx *ctx, const char *uri)
{
    char *u = rdi_uri_normalize(uri);
    if (!u) return RADI_E_NOMEM;
    radi_status s = rdi_cv_check_group(ctx, u);
    if (s == RADI_OK) s = consolidate_array_meta(ctx, u, ctx->config.format_version);
    free(u);
    return s;
}
