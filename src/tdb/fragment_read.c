/*
 * Reading fragment metadata (docs/format.md §8–§9): footers from each
 * fragment's __fragment_metadata.tdb or from consolidated `.meta` files (through the
 * open's snapshot where it took one, tdb/prefetch.h). The per-field tile index sections
 * are loaded by tile_index.c. Also the array-level queries built on the footers
 * (non-empty domain, fragment info).
 */
#include <stdlib.h>

#include "tdb/tdb.h"
#include "tdb/prefetch.h"

/* One ranged read at the end of the file usually holds the whole footer (574 bytes for
 * a small 2-D array; ~100 bytes per field), saving the second round trip on S3. */
#define FOOTER_TAIL ((uint64_t)64 * 1024)
/* Footer versions read: 23 only adds optional sections after the v22 layout. */
#define FOOTER_VERSION_MAX 23

/* ------------------------------------------------------------------ helpers -- */

/* A coordinate of an integer dimension as int64; 0 when it does not fit (uint64 > 2^63). */
static int coord_i64(radi_datatype t, const uint8_t *p, int64_t *out)
{
    switch (t) {
    case RADI_INT8: *out = (int8_t)p[0]; return 1;
    case RADI_UINT8: *out = p[0]; return 1;
    case RADI_INT16: { int16_t v; memcpy(&v, p, 2); *out = v; return 1; }
    case RADI_UINT16: { uint16_t v; memcpy(&v, p, 2); *out = v; return 1; }
    case RADI_INT32: { int32_t v; memcpy(&v, p, 4); *out = v; return 1; }
    case RADI_UINT32: { uint32_t v; memcpy(&v, p, 4); *out = v; return 1; }
    case RADI_INT64: { int64_t v; memcpy(&v, p, 8); *out = v; return 1; }
    case RADI_UINT64: {
        uint64_t v = rdi_ld64(p);
        if (v > (uint64_t)INT64_MAX) return 0;
        *out = (int64_t)v;
        return 1;
    }
    default: return 0;
    }
}

static radi_status ned_box(const rdi_fragmeta *fm, const char *what, int64_t *box)
{
    const radi_schema *s = fm->schema;
    for (uint32_t d = 0; d < s->ndim; d++) {
        const rdi_dim *dim = &s->dims[d];
        if (!dim->has_domain || !rdi_datatype_is_integer(dim->type) ||
            !coord_i64(dim->type, fm->ned[d].lo, &box[2 * d]) ||
            !coord_i64(dim->type, fm->ned[d].hi, &box[2 * d + 1]))
            return rdi_error(RADI_E_UNSUPPORTED, "%s: dimension %s: non-empty domain is not an int64 range",
                             what, dim->name);
    }
    return RADI_OK;
}

radi_status rdi_fragmeta_ned_box(const rdi_fragmeta *fm, int64_t *box)
{
    return ned_box(fm, fm->uri, box);
}

/* ----------------------------------------------------------------- footer -- */

static radi_status parse_footer(const void *footer, size_t len, const char *what,
                                radi_schema *const *schemas, uint32_t nschemas, rdi_fragmeta *fm,
                                size_t *consumed)
{
    rdi_rd r;
    rdi_rd_init(&r, footer, len, what);
    RDI_TRY(rdi_rd_u32(&r, &fm->version, "footer version"));
    if (fm->version < RDI_FORMAT_MIN || fm->version > FOOTER_VERSION_MAX)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: fragment format version %u is not supported (%d..%d)",
                         what, fm->version, RDI_FORMAT_MIN, FOOTER_VERSION_MAX);
    size_t nlen = 0;
    RDI_TRY(rdi_rd_str64(&r, &fm->schema_name, &nlen, "schema name"));
    if (nlen == 0) return rdi_error(RADI_E_CORRUPT, "%s: empty schema name in footer", what);
    for (uint32_t i = 0; i < nschemas && !fm->schema; i++)
        if (schemas[i]->name && strcmp(schemas[i]->name, fm->schema_name) == 0) fm->schema = schemas[i];
    if (!fm->schema)
        return rdi_error(RADI_E_CORRUPT, "%s: footer names schema '%s', which is not in __schema",
                         what, fm->schema_name);
    const radi_schema *s = fm->schema;

    uint8_t dense, null_ned;
    RDI_TRY(rdi_rd_u8(&r, &dense, "dense flag"));
    RDI_TRY(rdi_rd_u8(&r, &null_ned, "null non-empty domain flag"));
    fm->dense = dense != 0;
    fm->ned = rdi_calloc(s->ndim ? s->ndim : 1, sizeof *fm->ned);
    if (!fm->ned) return RADI_E_NOMEM;
    if (null_ned) {
        if (fm->dense) return rdi_error(RADI_E_CORRUPT, "%s: dense fragment without a non-empty domain", what);
    } else {
        for (uint32_t d = 0; d < s->ndim; d++) {
            const rdi_dim *dim = &s->dims[d];
            rdi_range *rg = &fm->ned[d];
            if (dim->cell_val_num == RADI_VAR_NUM) {
                uint64_t range_len, lo_len;
                const uint8_t *p;
                RDI_TRY(rdi_rd_u64(&r, &range_len, "var non-empty domain size"));
                RDI_TRY(rdi_rd_u64(&r, &lo_len, "var non-empty domain start size"));
                if (lo_len > range_len || range_len > rdi_rd_left(&r))
                    return rdi_error(RADI_E_CORRUPT, "%s: dimension %s: bad var non-empty domain sizes",
                                     what, dim->name);
                RDI_TRY(rdi_rd_view(&r, &p, (size_t)range_len, "var non-empty domain"));
                rg->slo = rdi_strndup((const char *)p, (size_t)lo_len);
                rg->shi = rdi_strndup((const char *)p + lo_len, (size_t)(range_len - lo_len));
                if (!rg->slo || !rg->shi) return RADI_E_NOMEM;
                rg->slo_len = lo_len;
                rg->shi_len = range_len - lo_len;
            } else {
                size_t sz = rdi_dim_size(dim);
                if (sz == 0 || sz > 8)
                    return rdi_error(RADI_E_CORRUPT, "%s: dimension %s has no fixed coordinate size", what,
                                     dim->name);
                RDI_TRY(rdi_rd_bytes(&r, rg->lo, sz, "non-empty domain"));
                RDI_TRY(rdi_rd_bytes(&r, rg->hi, sz, "non-empty domain"));
            }
        }
    }
    RDI_TRY(rdi_rd_u64(&r, &fm->sparse_tile_num, "sparse tile count"));
    RDI_TRY(rdi_rd_u64(&r, &fm->last_tile_cell_num, "last tile cell count"));
    uint8_t flag = 0;
    if (fm->version >= 14) {
        RDI_TRY(rdi_rd_u8(&r, &flag, "has_timestamps"));
        fm->has_timestamps = flag != 0;
    }
    if (fm->version >= 15) {
        RDI_TRY(rdi_rd_u8(&r, &flag, "has_delete_meta"));
        fm->has_delete_meta = flag != 0;
    }
    /* The index space: attributes, the hidden __coords slot, dimensions, extras (format.md §8.1). */
    uint32_t n = s->nattr + 1 + s->ndim + (fm->has_timestamps ? 1 : 0) + (fm->has_delete_meta ? 2 : 0);
    fm->nfields = n;
    uint64_t **lists[3 + RDI_GT_COUNT];
    lists[0] = &fm->file_sizes;
    lists[1] = &fm->file_var_sizes;
    lists[2] = &fm->file_validity_sizes;
    for (int k = 0; k < RDI_GT_COUNT; k++) lists[3 + k] = &fm->gt_off[k];
    static const char *const names[3 + RDI_GT_COUNT] = {
        "file sizes", "file var sizes", "file validity sizes", "tile offsets offsets",
        "tile var offsets offsets", "tile var sizes offsets", "tile validity offsets offsets",
        "tile mins offsets", "tile maxs offsets", "tile sums offsets", "tile null counts offsets"};
    for (int k = 0; k < 3 + RDI_GT_COUNT; k++) {
        *lists[k] = rdi_calloc(n, sizeof(uint64_t));
        if (!*lists[k]) return RADI_E_NOMEM;
        if (k == 3) RDI_TRY(rdi_rd_u64(&r, &fm->rtree_off, "R-tree offset"));
        RDI_TRY(rdi_rd_bytes(&r, *lists[k], (size_t)n * sizeof(uint64_t), names[k]));
    }
    RDI_TRY(rdi_rd_u64(&r, &fm->frag_mmsn_off, "fragment min/max/sum offset"));
    if (fm->version >= 16) RDI_TRY(rdi_rd_u64(&r, &fm->proc_cond_off, "processed conditions offset"));
    /* v23 optional sections follow; nothing in them is needed to read dense cells. */
    *consumed = r.pos;

    fm->tile_offsets = rdi_calloc(n, sizeof(uint64_t *));
    fm->tile_var_offsets = rdi_calloc(n, sizeof(uint64_t *));
    fm->tile_var_sizes = rdi_calloc(n, sizeof(uint64_t *));
    fm->tile_validity_offsets = rdi_calloc(n, sizeof(uint64_t *));
    fm->field_loaded = rdi_calloc(n, 1);
    if (!fm->tile_offsets || !fm->tile_var_offsets || !fm->tile_var_sizes ||
        !fm->tile_validity_offsets || !fm->field_loaded)
        return RADI_E_NOMEM;

    if (fm->dense) {
        int64_t box[8];
        if (s->ndim < 1 || s->ndim > 4)
            return rdi_error(RADI_E_UNSUPPORTED, "%s: dense fragments with %u dimensions are not supported",
                             what, s->ndim);
        RDI_TRY(ned_box(fm, what, box));
        uint64_t ntiles = 1;
        rdi_grid g;
        for (uint32_t d = 0; d < s->ndim; d++) {
            const rdi_dim *dim = &s->dims[d];
            if (box[2 * d] > box[2 * d + 1] || box[2 * d] < rdi_dim_lo(dim) || box[2 * d + 1] > rdi_dim_hi(dim))
                return rdi_error(RADI_E_CORRUPT,
                                 "%s: dimension %s: non-empty domain [%lld, %lld] is outside the array domain",
                                 what, dim->name, (long long)box[2 * d], (long long)box[2 * d + 1]);
        }
        RDI_TRY(rdi_grid_init(s, box, &g));
        /* rdi_grid_init multiplies without overflow checks; redo it checked. */
        for (uint32_t d = 0; d < s->ndim; d++)
            if (__builtin_mul_overflow(ntiles, (uint64_t)(g.thi[d] - g.tlo[d] + 1), &ntiles))
                return rdi_error(RADI_E_UNSUPPORTED, "%s: too many tiles in the non-empty domain", what);
        uint64_t cpt = 1;
        for (uint32_t d = 0; d < s->ndim; d++)
            if (__builtin_mul_overflow(cpt, (uint64_t)g.ext[d], &cpt) ||
                __builtin_mul_overflow(cpt, ntiles, &fm->cell_num))
                return rdi_error(RADI_E_UNSUPPORTED, "%s: too many cells in the non-empty domain", what);
        fm->tile_num = ntiles;
    } else {
        fm->tile_num = fm->sparse_tile_num;
        fm->cell_num = fm->tile_num ? (fm->tile_num - 1) * s->capacity + fm->last_tile_cell_num : 0;
    }
    return RADI_OK;
}

radi_status rdi_fragmeta_parse_footer(const void *footer, size_t len, const char *what,
                                      radi_schema *const *schemas, uint32_t nschemas,
                                      rdi_fragmeta *fm)
{
    size_t consumed;
    return parse_footer(footer, len, what, schemas, nschemas, fm, &consumed);
}

radi_status rdi_fragmeta_check_offsets(const rdi_fragmeta *fm, uint64_t limit, const char *what)
{
    int bad = fm->rtree_off >= limit || fm->frag_mmsn_off >= limit ||
              (fm->version >= 16 && fm->proc_cond_off >= limit);
    for (int k = 0; k < RDI_GT_COUNT && !bad; k++)
        for (uint32_t i = 0; i < fm->nfields && !bad; i++) bad = fm->gt_off[k][i] >= limit;
    if (bad)
        return rdi_error(RADI_E_CORRUPT, "%s: footer offsets point past the metadata (%llu bytes)", what,
                         (unsigned long long)limit);
    return RADI_OK;
}

static rdi_fragmeta *fragmeta_new(const char *array_uri, const char *frag_name)
{
    rdi_fragmeta *fm = rdi_calloc(1, sizeof *fm);
    if (!fm) return NULL;
    char *dir = rdi_path_join(array_uri, FRAGMENTS_DIR);
    fm->name = rdi_strdup(frag_name);
    fm->uri = dir ? rdi_path_join(dir, frag_name) : NULL;
    free(dir);
    if (!fm->name || !fm->uri) {
        rdi_fragmeta_free(fm);
        rdi_nomem();
        return NULL;
    }
    return fm;
}

static radi_status set_timestamps(rdi_fragmeta *fm)
{
    rdi_tsname ts;
    radi_status s = rdi_tsname_parse(fm->name, &ts);
    if (s != RADI_OK) return rdi_error_wrap(s, "fragment %s", fm->uri);
    fm->t1 = ts.t1;
    fm->t2 = ts.t2;
    return RADI_OK;
}

radi_status rdi_fragmeta_load(radi_ctx *ctx, const rdi_snap *snap, const char *array_uri,
                              const char *frag_name, radi_schema *const *schemas, uint32_t nschemas,
                              rdi_fragmeta **out)
{
    rdi_fragmeta *fm = fragmeta_new(array_uri, frag_name);
    if (!fm) return RADI_E_NOMEM;
    char *md = rdi_path_join(fm->uri, "__fragment_metadata.tdb");
    uint8_t *buf = NULL;
    radi_status s = md ? set_timestamps(fm) : rdi_nomem();
    uint64_t size = 0;
    if (s == RADI_OK) {
        s = rdi_snap_size(snap, ctx->vfs, md, &size);
        if (s == RADI_E_NOT_FOUND) s = rdi_error(RADI_E_CORRUPT, "%s: missing (fragment without metadata)", md);
    }
    if (s == RADI_OK && size < 8) s = rdi_error(RADI_E_CORRUPT, "%s: truncated footer (%llu bytes)", md,
                                                (unsigned long long)size);
    uint64_t tail = RDI_MIN(size, FOOTER_TAIL), footer_len = 0;
    if (s == RADI_OK) {
        buf = rdi_malloc((size_t)tail);
        s = buf ? rdi_snap_read(snap, ctx->vfs, md, size - tail, buf, tail) : RADI_E_NOMEM;
    }
    const uint8_t *footer = NULL;
    if (s == RADI_OK) {
        footer_len = rdi_ld64(buf + tail - 8);
        if (footer_len > size - 8)
            s = rdi_error(RADI_E_CORRUPT, "%s: truncated footer (footer length %llu, file %llu bytes)", md,
                          (unsigned long long)footer_len, (unsigned long long)size);
        else if (footer_len + 8 <= tail)
            footer = buf + tail - 8 - footer_len;
        else {
            /* A footer longer than the tail (thousands of fields): one more read. */
            uint8_t *big = rdi_malloc((size_t)footer_len);
            s = big ? rdi_snap_read(snap, ctx->vfs, md, size - 8 - footer_len, big, footer_len) : RADI_E_NOMEM;
            free(buf);
            buf = big;
            footer = big;
        }
    }
    if (s == RADI_OK) {
        size_t consumed = 0;
        s = parse_footer(footer, (size_t)footer_len, md, schemas, nschemas, fm, &consumed);
        /* Up to v22 the footer has no optional part: leftover bytes mean a wrong length. */
        if (s == RADI_OK && fm->version <= 22 && consumed != footer_len)
            s = rdi_error(RADI_E_CORRUPT, "%s: footer length %llu does not match its content (%zu bytes)", md,
                          (unsigned long long)footer_len, consumed);
    }
    if (s == RADI_OK) s = rdi_fragmeta_check_offsets(fm, size - 8 - footer_len, md);
    if (s == RADI_OK) fm->meta_size = size;
    free(buf);
    free(md);
    if (s != RADI_OK) {
        rdi_fragmeta_free(fm);
        return s;
    }
    *out = fm;
    return RADI_OK;
}

void rdi_fragmeta_free(rdi_fragmeta *fm)
{
    if (!fm) return;
    free(fm->name);
    free(fm->uri);
    free(fm->schema_name);
    if (fm->ned && fm->schema)
        for (uint32_t d = 0; d < fm->schema->ndim; d++) {
            free(fm->ned[d].slo);
            free(fm->ned[d].shi);
        }
    free(fm->ned);
    free(fm->file_sizes);
    free(fm->file_var_sizes);
    free(fm->file_validity_sizes);
    for (int k = 0; k < RDI_GT_COUNT; k++) free(fm->gt_off[k]);
    uint64_t **lists[4] = {fm->tile_offsets, fm->tile_var_offsets, fm->tile_var_sizes,
                           fm->tile_validity_offsets};
    for (int k = 0; k < 4; k++) {
        if (!lists[k]) continue;
        for (uint32_t i = 0; i < fm->nfields; i++) free(lists[k][i]);
        free(lists[k]);
    }
    free(fm->field_loaded);
    rdi_buf_free(&fm->rtree);
    free(fm);
}

/* ------------------------------------------------------------- load all (format.md §9) -- */

typedef struct cons_file {
    rdi_buf payload;
    uint32_t n;
    char **names;        /* fragment names (basenames) */
    uint64_t *offs;      /* footer offsets inside the payload */
} cons_file;

typedef struct load_all_job {
    radi_ctx *ctx;
    const rdi_snap *snap;
    const char *array_uri;
    const rdi_strlist *frag_names, *meta_files;
    radi_schema *const *schemas;
    uint32_t nschemas;
    cons_file *cons;
    int32_t *src_file;   /* per fragment: index of the .meta holding its footer, or -1 */
    uint64_t *src_off;
    rdi_fragmeta **out;
} load_all_job;

static radi_status load_cons_task(void *arg, size_t i, unsigned worker)
{
    RDI_UNUSED(worker);
    load_all_job *j = arg;
    cons_file *c = &j->cons[i];
    char *dir = rdi_path_join(j->array_uri, "__fragment_meta");
    char *uri = dir ? rdi_path_join(dir, j->meta_files->items[i]) : NULL;
    free(dir);
    if (!uri) return rdi_nomem();
    rdi_scratch *scratch = NULL;
    radi_status s = rdi_scratch_create(&scratch);
    if (s == RADI_OK) s = rdi_generic_tile_read_snap(j->ctx->vfs, j->snap, uri, 0, scratch, &c->payload);
    rdi_scratch_free(scratch);
    rdi_rd r;
    rdi_rd_init(&r, c->payload.data, c->payload.len, uri);
    if (s == RADI_OK) s = rdi_rd_u32(&r, &c->n, "fragment count");
    /* Each entry needs at least 16 bytes: bound the allocation by the payload. */
    if (s == RADI_OK && c->n > rdi_rd_left(&r) / 16)
        s = rdi_error(RADI_E_CORRUPT, "%s: %u fragments do not fit in %zu bytes", uri, c->n, c->payload.len);
    if (s == RADI_OK) {
        c->names = rdi_calloc(c->n ? c->n : 1, sizeof(char *));
        c->offs = rdi_calloc(c->n ? c->n : 1, sizeof(uint64_t));
        if (!c->names || !c->offs) s = RADI_E_NOMEM;
    }
    for (uint32_t k = 0; k < c->n && s == RADI_OK; k++) {
        char *name = NULL;
        size_t len;
        s = rdi_rd_str64(&r, &name, &len, "fragment name");
        if (s == RADI_OK) s = rdi_rd_u64(&r, &c->offs[k], "footer offset");
        if (s == RADI_OK && c->offs[k] >= c->payload.len)
            s = rdi_error(RADI_E_CORRUPT, "%s: footer offset %llu of %s is past the end", uri,
                          (unsigned long long)c->offs[k], name);
        if (s == RADI_OK) {
            /* Before v9 entries were absolute URIs: compare by the last component. */
            size_t blen;
            const char *base = rdi_path_basename(name, &blen);
            c->names[k] = rdi_strndup(base, blen);
            if (!c->names[k]) s = RADI_E_NOMEM;
        }
        free(name);
    }
    free(uri);
    return s;
}

static radi_status load_frag_task(void *arg, size_t i, unsigned worker)
{
    RDI_UNUSED(worker);
    load_all_job *j = arg;
    const char *name = j->frag_names->items[i];
    if (j->src_file[i] < 0)
        return rdi_fragmeta_load(j->ctx, j->snap, j->array_uri, name, j->schemas, j->nschemas, &j->out[i]);
    cons_file *c = &j->cons[j->src_file[i]];
    rdi_fragmeta *fm = fragmeta_new(j->array_uri, name);
    if (!fm) return RADI_E_NOMEM;
    char *what = rdi_asprintf("%s/__fragment_meta/%s (footer of %s)", j->array_uri,
                              j->meta_files->items[j->src_file[i]], name);
    radi_status s = what ? set_timestamps(fm) : rdi_nomem();
    size_t consumed;
    /* Consolidated footers carry no length: parse to the end of the payload, ignoring the rest. */
    if (s == RADI_OK)
        s = parse_footer(c->payload.data + j->src_off[i], c->payload.len - j->src_off[i], what, j->schemas,
                         j->nschemas, fm, &consumed);
    free(what);
    if (s != RADI_OK) {
        rdi_fragmeta_free(fm);
        return s;
    }
    j->out[i] = fm;
    return RADI_OK;
}

radi_status rdi_fragmeta_load_all(radi_ctx *ctx, const rdi_snap *snap, const char *array_uri,
                                  const rdi_strlist *frag_names, const rdi_strlist *meta_files,
                                  radi_schema *const *schemas, uint32_t nschemas,
                                  rdi_fragmeta ***out)
{
    size_t nf = frag_names->n, nm = meta_files ? meta_files->n : 0;
    load_all_job j = {ctx, snap, array_uri, frag_names, meta_files, schemas, nschemas, NULL, NULL, NULL, NULL};
    j.out = rdi_calloc(nf ? nf : 1, sizeof *j.out);
    j.cons = rdi_calloc(nm ? nm : 1, sizeof *j.cons);
    j.src_file = rdi_calloc(nf ? nf : 1, sizeof *j.src_file);
    j.src_off = rdi_calloc(nf ? nf : 1, sizeof *j.src_off);
    radi_status s = (j.out && j.cons && j.src_file && j.src_off) ? RADI_OK : RADI_E_NOMEM;
    if (s == RADI_OK && nm) s = rdi_pool_for(ctx->pool, nm, load_cons_task, &j);
    /* The first .meta that lists a fragment supplies its footer (as TileDB does). */
    for (size_t i = 0; i < nf && s == RADI_OK; i++) {
        j.src_file[i] = -1;
        for (size_t m = 0; m < nm && j.src_file[i] < 0; m++)
            for (uint32_t k = 0; k < j.cons[m].n; k++)
                if (strcmp(j.cons[m].names[k], frag_names->items[i]) == 0) {
                    j.src_file[i] = (int32_t)m;
                    j.src_off[i] = j.cons[m].offs[k];
                    break;
                }
    }
    if (s == RADI_OK && nf) s = rdi_pool_for(ctx->pool, nf, load_frag_task, &j);
    for (size_t m = 0; j.cons && m < nm; m++) {
        rdi_buf_free(&j.cons[m].payload);
        for (uint32_t k = 0; j.cons[m].names && k < j.cons[m].n; k++) free(j.cons[m].names[k]);
        free(j.cons[m].names);
        free(j.cons[m].offs);
    }
    free(j.cons);
    free(j.src_file);
    free(j.src_off);
    if (s != RADI_OK) {
        for (size_t i = 0; j.out && i < nf; i++) rdi_fragmeta_free(j.out[i]);
        free(j.out);
        return s;
    }
    *out = j.out;
    return RADI_OK;
}

/* ------------------------------------------------------ array-level queries -- */

radi_status radi_array_nonempty_domain(const radi_array *array, int64_t *lohi, int *is_empty)
{
    if (!array || !lohi || !is_empty)
        return rdi_error(RADI_E_INVALID, "radi_array_nonempty_domain: NULL argument");
    const radi_schema *s = array->schema;
    if (s->ndim > 4)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: non-empty domain of %u dimensions", array->uri, s->ndim);
    int64_t acc[8];
    for (uint32_t f = 0; f < array->nfrags; f++) {
        int64_t box[8];
        const rdi_fragmeta *fm = array->frags[f];
        if (fm->schema->ndim != s->ndim)
            return rdi_error(RADI_E_CORRUPT, "%s: fragment has %u dimensions, the schema %u", fm->uri,
                             fm->schema->ndim, s->ndim);
        RDI_TRY(ned_box(fm, fm->uri, box));
        for (uint32_t d = 0; d < s->ndim; d++) {
            acc[2 * d] = f ? RDI_MIN(acc[2 * d], box[2 * d]) : box[2 * d];
            acc[2 * d + 1] = f ? RDI_MAX(acc[2 * d + 1], box[2 * d + 1]) : box[2 * d + 1];
        }
    }
    *is_empty = array->nfrags == 0;
    if (array->nfrags) memcpy(lohi, acc, 2 * s->ndim * sizeof(int64_t));
    return RADI_OK;
}

uint32_t radi_array_fragment_count(const radi_array *array) { return array ? array->nfrags : 0; }

/* Bytes of every file in a fragment directory (it holds no subdirectories). */
static radi_status dir_bytes(rdi_vfs *vfs, const char *uri, uint64_t *out)
{
    rdi_dirlist l = {NULL, 0};
    RDI_TRY(rdi_vfs_ls(vfs, uri, &l));
    uint64_t n = 0;
    for (size_t i = 0; i < l.n; i++)
        if (!l.items[i].is_dir) n += l.items[i].size;
    rdi_dirlist_free(&l);
    *out = n;
    return RADI_OK;
}

radi_status radi_array_fragment(const radi_array *array, uint32_t i, radi_fragment_info *out)
{
    if (!array || !out) return rdi_error(RADI_E_INVALID, "radi_array_fragment: NULL argument");
    if (i >= array->nfrags)
        return rdi_error(RADI_E_INVALID, "%s: fragment %u out of range (%u fragments)", array->uri, i,
                         array->nfrags);
    const rdi_fragmeta *fm = array->frags[i];
    radi_fragment_info info;
    memset(&info, 0, sizeof info);
    info.name = fm->name;
    info.t1 = fm->t1;
    info.t2 = fm->t2;
    info.version = fm->version;
    info.dense = fm->dense;
    info.tile_count = fm->tile_num;
    info.cell_count = fm->cell_num;
    info.size_bytes = fm->total_size;
    if (!info.size_bytes) RDI_TRY(dir_bytes(array->ctx->vfs, fm->uri, &info.size_bytes));
    if (fm->schema->ndim <= 4) {
        int64_t box[8];
        /* String dimensions have no integer NED: leave zeros. */
        if (ned_box(fm, fm->uri, box) == RADI_OK) memcpy(info.ned, box, 2 * fm->schema->ndim * sizeof(int64_t));
        else rdi_error_clear();
    }
    *out = info;
    return RADI_OK;
}
