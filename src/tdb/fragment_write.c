/*
 * Writing __fragment_metadata.tdb (docs/format.md §8.1). The statistics rules
 * mirror TileDB's own writer (tile_metadata_generator.cc, fragment_metadata.cc), since
 * TileDB answers aggregate queries from these numbers without reading the tiles:
 * min/max start at the type's limits and use `<`/`>` (so NaN behaves as in TileDB), sums
 * saturate and stop at the first overflow of a run, nulls are skipped, and every slot
 * gets tile_num entries.
 */
#include <float.h>
#include <stdlib.h>

#include "tdb/fragment_write.h"

/* ------------------------------------------------------------- field kinds -- */

static int is_char_type(radi_datatype t) { return t == RADI_CHAR || t == RADI_STRING_ASCII; }

static int has_mm_rule(radi_datatype t, int is_dim, int var, uint32_t cvn)
{
    if (is_dim) return 0;
    if (var && !is_char_type(t)) return 0;
    if (cvn != 1 && !is_char_type(t)) return 0;
    switch (t) {
    case RADI_ANY: case RADI_BLOB: case RADI_STRING_UTF8: return 0;
    default: return rdi_datatype_is_known(t);
    }
}

static int has_sum_rule(radi_datatype t, int var, uint32_t cvn)
{
    if (var || cvn != 1) return 0;
    switch (t) {
    case RADI_ANY: case RADI_BLOB: case RADI_STRING_UTF8: case RADI_STRING_ASCII: return 0;
    default: return rdi_datatype_is_known(t);
    }
}

void rdi_field_kind_of(const radi_schema *s, uint32_t field, int dense, rdi_field_kind *k)
{
    memset(k, 0, sizeof *k);
    if (field < s->nattr) {
        const rdi_attr *a = &s->attrs[field];
        k->type = a->type;
        k->var = a->cell_val_num == RADI_VAR_NUM;
        k->cell_size = k->var ? 8 : rdi_attr_cell_size(a);
        k->nullable = a->nullable;
        k->has_mm = has_mm_rule(a->type, 0, k->var, a->cell_val_num);
        k->has_sum = has_sum_rule(a->type, k->var, a->cell_val_num);
    } else if (field == s->nattr) {
        /* The legacy zipped-coordinates slot: TileDB sizes its lists as a field of the
         * first dimension's type with ndim values per cell, and fills them with zeros. */
        k->type = s->dims[0].type;
        k->cell_size = s->ndim * (uint32_t)radi_datatype_size(k->type);
        k->has_mm = has_mm_rule(k->type, 0, 0, 1);
        k->has_sum = has_sum_rule(k->type, 0, 1);
    } else {
        const rdi_dim *d = &s->dims[field - s->nattr - 1];
        k->type = d->type;
        k->var = d->cell_val_num == RADI_VAR_NUM;
        k->cell_size = k->var ? 8 : (uint32_t)rdi_dim_size(d);
        /* Dense dimensions have no tiles and no metadata; sparse ones get sums only. */
        k->has_sum = !dense && has_sum_rule(d->type, k->var, d->cell_val_num);
    }
    k->mm_numeric = k->has_mm && !is_char_type(k->type);
}

/* -------------------------------------------------------------- statistics -- */

void rdi_tile_stats_init(rdi_tile_stats *st) { memset(st, 0, sizeof *st); }

/* Min/max over n cells of numeric type T, starting from the type's limits. */
#define MM_LOOP(T, TMAX, TLOW)                                                        \
    do {                                                                              \
        const T *v = cells;                                                           \
        T mn = (TMAX), mx = (TLOW);                                                   \
        if (st->has_minmax) { memcpy(&mn, st->min, sizeof mn); memcpy(&mx, st->max, sizeof mx); } \
        if (!validity) {                                                              \
            for (uint64_t i = 0; i < n; i++) {                                        \
                mn = mn < v[i] ? mn : v[i];                                           \
                mx = mx > v[i] ? mx : v[i];                                           \
            }                                                                         \
        } else {                                                                      \
            for (uint64_t i = 0; i < n; i++) {                                        \
                if (!validity[i]) continue;                                           \
                mn = mn < v[i] ? mn : v[i];                                           \
                mx = mx > v[i] ? mx : v[i];                                           \
            }                                                                         \
        }                                                                             \
        memcpy(st->min, &mn, sizeof mn);                                              \
        memcpy(st->max, &mx, sizeof mx);                                              \
        st->has_minmax = 1;                                                           \
    } while (0)

#define SUM_SIGNED(T)                                                                 \
    do {                                                                              \
        const T *v = cells;                                                           \
        int64_t s;                                                                    \
        memcpy(&s, st->sum, 8);                                                       \
        for (uint64_t i = 0; i < n; i++) {                                            \
            if (validity && !validity[i]) continue;                                   \
            int64_t x = (int64_t)v[i];                                                \
            if (s > 0 && x > 0 && s > INT64_MAX - x) { s = INT64_MAX; break; }        \
            if (s < 0 && x < 0 && s < INT64_MIN - x) { s = INT64_MIN; break; }        \
            s += x;                                                                   \
        }                                                                             \
        memcpy(st->sum, &s, 8);                                                       \
    } while (0)

#define SUM_UNSIGNED(T)                                                               \
    do {                                                                              \
        const T *v = cells;                                                           \
        uint64_t s;                                                                   \
        memcpy(&s, st->sum, 8);                                                       \
        for (uint64_t i = 0; i < n; i++) {                                            \
            if (validity && !validity[i]) continue;                                   \
            uint64_t x = (uint64_t)v[i];                                              \
            if (s > UINT64_MAX - x) { s = UINT64_MAX; break; }                        \
            s += x;                                                                   \
        }                                                                             \
        memcpy(st->sum, &s, 8);                                                       \
    } while (0)

static int dbl_sum_overflows(double s, double x)
{
    return (s < 0.0) == (x < 0.0) && __builtin_fabs(s) > DBL_MAX - __builtin_fabs(x);
}

#define SUM_FLOAT(T)                                                                  \
    do {                                                                              \
        const T *v = cells;                                                           \
        double s;                                                                     \
        memcpy(&s, st->sum, 8);                                                       \
        for (uint64_t i = 0; i < n; i++) {                                            \
            if (validity && !validity[i]) continue;                                   \
            double x = (double)v[i];                                                  \
            if (dbl_sum_overflows(s, x)) { s = s < 0.0 ? -DBL_MAX : DBL_MAX; break; } \
            s += x;                                                                   \
        }                                                                             \
        memcpy(st->sum, &s, 8);                                                       \
    } while (0)

/* Fixed-size CHAR/ASCII cells compare with strncmp over the cell, as TileDB does. */
static void mm_chars(rdi_tile_stats *st, uint32_t cs, const uint8_t *cells,
                     const uint8_t *validity, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        if (validity && !validity[i]) continue;
        const char *c = (const char *)cells + i * cs;
        if (!st->smin || strncmp(st->smin, c, cs) > 0) st->smin = c;
        if (!st->smax || strncmp(st->smax, c, cs) < 0) st->smax = c;
    }
}

/* Min, max and sum of n integer cells of at most 32 bits without validity, in blocks of a
 * fixed count that the compiler vectorizes (the loops above check every addition and
 * cannot be). BT holds a block's sum exactly. Used only when no partial sum can reach the
 * int64 / uint64 limits, so the result is the checked loops' exactly. */
#define STATS_BLOCK 64
#define MMS_FAST(T, TMAX, TLOW, BT, ST)                                                 \
    do {                                                                              \
        const T *v = cells;                                                           \
        T mn = (TMAX), mx = (TLOW);                                                   \
        if (st->has_minmax) { memcpy(&mn, st->min, sizeof mn); memcpy(&mx, st->max, sizeof mx); } \
        ST sum;                                                                       \
        memcpy(&sum, st->sum, 8);                                                     \
        uint64_t i = 0;                                                               \
        for (; i + STATS_BLOCK <= n; i += STATS_BLOCK) {                              \
            T bmn = v[i], bmx = v[i];                                                 \
            BT bs = 0;                                                                \
            for (int j = 0; j < STATS_BLOCK; j++) {                                   \
                T x = v[i + j];                                                       \
                bmn = bmn < x ? bmn : x;                                              \
                bmx = bmx > x ? bmx : x;                                              \
                bs += (BT)x;                                                          \
            }                                                                         \
            mn = mn < bmn ? mn : bmn;                                                 \
            mx = mx > bmx ? mx : bmx;                                                 \
            sum += (ST)bs;                                                            \
        }                                                                             \
        for (; i < n; i++) {                                                          \
            mn = mn < v[i] ? mn : v[i];                                               \
            mx = mx > v[i] ? mx : v[i];                                               \
            sum += (ST)v[i];                                                          \
        }                                                                             \
        memcpy(st->min, &mn, sizeof mn);                                              \
        memcpy(st->max, &mx, sizeof mx);                                              \
        st->has_minmax = 1;                                                           \
        memcpy(st->sum, &sum, 8);                                                     \
    } while (0)

/* The fast path of rdi_tile_stats_add, when it applies; returns whether it did. */
static int stats_fast(rdi_tile_stats *st, const rdi_field_kind *k, const void *cells, uint64_t n)
{
    if (!k->mm_numeric || !k->has_sum || n > ((uint64_t)1 << 30)) return 0;
    /* A cell moves the sum by less than 2^32, so every partial sum stays within
     * |sum so far| + grow: if that fits, no step of the checked loop would saturate. */
    const uint64_t grow = n << 32;
    int64_t s;
    uint64_t u;
    memcpy(&s, st->sum, 8);
    memcpy(&u, st->sum, 8);
    switch (k->type) {
    case RADI_INT8: case RADI_INT16: case RADI_INT32:
        if ((s < 0 ? (uint64_t)-(s + 1) : (uint64_t)s) > (uint64_t)INT64_MAX - grow) return 0;
        break;
    case RADI_UINT8: case RADI_UINT16: case RADI_UINT32:
        if (u > UINT64_MAX - grow) return 0;
        break;
    default:
        return 0;
    }
    switch (k->type) {
    case RADI_INT8: MMS_FAST(int8_t, INT8_MAX, INT8_MIN, int32_t, int64_t); break;
    case RADI_INT16: MMS_FAST(int16_t, INT16_MAX, INT16_MIN, int32_t, int64_t); break;
    case RADI_INT32: MMS_FAST(int32_t, INT32_MAX, INT32_MIN, int64_t, int64_t); break;
    case RADI_UINT8: MMS_FAST(uint8_t, UINT8_MAX, 0, uint32_t, uint64_t); break;
    case RADI_UINT16: MMS_FAST(uint16_t, UINT16_MAX, 0, uint32_t, uint64_t); break;
    default: MMS_FAST(uint32_t, UINT32_MAX, 0, uint64_t, uint64_t); break;
    }
    return 1;
}

void rdi_tile_stats_add_runs(rdi_tile_stats *st, const rdi_field_kind *k, const void *cells,
                             const uint8_t *validity, uint64_t runs, uint64_t run)
{
    if (!k->nullable) validity = NULL;
    /* The fast path applies only where no sum can saturate: then runs are one range. */
    if (!validity && runs > 1 && runs <= UINT64_MAX / run && stats_fast(st, k, cells, runs * run)) return;
    for (uint64_t r = 0; r < runs; r++)
        rdi_tile_stats_add(st, k, (const uint8_t *)cells + r * run * k->cell_size,
                           validity ? validity + r * run : NULL, run);
}

void rdi_tile_stats_add(rdi_tile_stats *st, const rdi_field_kind *k, const void *cells,
                        const uint8_t *validity, uint64_t n)
{
    if (!k->nullable) validity = NULL;
    if (!validity && stats_fast(st, k, cells, n)) return;
    if (validity)
        for (uint64_t i = 0; i < n; i++) st->null_count += validity[i] == 0;
    if (k->has_mm && !k->mm_numeric) mm_chars(st, k->cell_size, cells, validity, n);
    switch (k->type) {
    case RADI_INT8:
        if (k->mm_numeric) MM_LOOP(int8_t, INT8_MAX, INT8_MIN);
        if (k->has_sum) SUM_SIGNED(int8_t);
        break;
    case RADI_INT16:
        if (k->mm_numeric) MM_LOOP(int16_t, INT16_MAX, INT16_MIN);
        if (k->has_sum) SUM_SIGNED(int16_t);
        break;
    case RADI_INT32:
        if (k->mm_numeric) MM_LOOP(int32_t, INT32_MAX, INT32_MIN);
        if (k->has_sum) SUM_SIGNED(int32_t);
        break;
    case RADI_INT64:
        if (k->mm_numeric) MM_LOOP(int64_t, INT64_MAX, INT64_MIN);
        if (k->has_sum) SUM_SIGNED(int64_t);
        break;
    case RADI_UINT8:
    case RADI_BOOL:
        if (k->mm_numeric) MM_LOOP(uint8_t, UINT8_MAX, 0);
        if (k->has_sum) SUM_UNSIGNED(uint8_t);
        break;
    case RADI_UINT16:
        if (k->mm_numeric) MM_LOOP(uint16_t, UINT16_MAX, 0);
        if (k->has_sum) SUM_UNSIGNED(uint16_t);
        break;
    case RADI_UINT32:
        if (k->mm_numeric) MM_LOOP(uint32_t, UINT32_MAX, 0);
        if (k->has_sum) SUM_UNSIGNED(uint32_t);
        break;
    case RADI_UINT64:
        if (k->mm_numeric) MM_LOOP(uint64_t, UINT64_MAX, 0);
        if (k->has_sum) SUM_UNSIGNED(uint64_t);
        break;
    case RADI_FLOAT32:
        if (k->mm_numeric) MM_LOOP(float, FLT_MAX, -FLT_MAX);
        if (k->has_sum) SUM_FLOAT(float);
        break;
    case RADI_FLOAT64:
        if (k->mm_numeric) MM_LOOP(double, DBL_MAX, -DBL_MAX);
        if (k->has_sum) SUM_FLOAT(double);
        break;
    case RADI_CHAR:
        /* TileDB sums CHAR cells as int64 of the (signed) char values. */
        if (k->has_sum) SUM_SIGNED(int8_t);
        break;
    default:
        break;
    }
}

/* ----------------------------------------------------------------- builder -- */

static void *zalloc(uint64_t n, uint64_t size, int *fail)
{
    if (*fail) return NULL;
    if (size != 0 && n > SIZE_MAX / size) {
        *fail = 1;
        return NULL;
    }
    void *p = calloc(n ? (size_t)n : 1, size ? (size_t)size : 1);
    if (!p) *fail = 1;
    return p;
}

radi_status rdi_fmb_init(rdi_fmb *b, const radi_schema *s, uint32_t version, int dense,
                         uint64_t tile_num)
{
    memset(b, 0, sizeof *b);
    if (version < 16 || version > RDI_FORMAT_MAX_READ)
        return rdi_error(RADI_E_UNSUPPORTED,
                         "writing fragments of format version %u is not supported (16..%u)",
                         version, RDI_FORMAT_MAX_READ);
    b->schema = s;
    b->version = version;
    b->dense = dense;
    b->tile_num = tile_num;
    b->nfields = s->nattr + 1 + s->ndim;
    int fail = 0;
    b->fields = zalloc(b->nfields, sizeof *b->fields, &fail);
    b->ned = zalloc(s->ndim, sizeof *b->ned, &fail);
    for (uint32_t i = 0; !fail && i < b->nfields; i++) {
        rdi_fmb_field *f = &b->fields[i];
        rdi_field_kind_of(s, i, dense, &f->kind);
        f->offsets = zalloc(tile_num, 8, &fail);
        f->var_offsets = zalloc(tile_num, 8, &fail);
        f->var_sizes = zalloc(tile_num, 8, &fail);
        f->validity_offsets = zalloc(tile_num, 8, &fail);
        if (f->kind.has_mm && !f->kind.var) {
            f->mins = zalloc(tile_num, f->kind.cell_size, &fail);
            f->maxs = zalloc(tile_num, f->kind.cell_size, &fail);
        }
        if (f->kind.has_mm && f->kind.var) {
            f->vmins = zalloc(tile_num, sizeof(char *), &fail);
            f->vmaxs = zalloc(tile_num, sizeof(char *), &fail);
            f->vmin_len = zalloc(tile_num, 8, &fail);
            f->vmax_len = zalloc(tile_num, 8, &fail);
        }
        if (f->kind.has_sum && !f->kind.var) f->sums = zalloc(tile_num, 8, &fail);
        if (f->kind.nullable) f->null_counts = zalloc(tile_num, 8, &fail);
    }
    if (fail) {
        rdi_fmb_free(b);
        return rdi_error(RADI_E_NOMEM, "fragment metadata for %llu tiles: out of memory",
                         (unsigned long long)tile_num);
    }
    return RADI_OK;
}

static void range_clear(rdi_range *r)
{
    free(r->slo);
    free(r->shi);
    r->slo = r->shi = NULL;
}

void rdi_fmb_free(rdi_fmb *b)
{
    if (b->fields) {
        for (uint32_t i = 0; i < b->nfields; i++) {
            rdi_fmb_field *f = &b->fields[i];
            free(f->offsets);
            free(f->var_offsets);
            free(f->var_sizes);
            free(f->validity_offsets);
            free(f->mins);
            free(f->maxs);
            if (f->vmins)
                for (uint64_t t = 0; t < b->tile_num; t++) free(f->vmins[t]);
            if (f->vmaxs)
                for (uint64_t t = 0; t < b->tile_num; t++) free(f->vmaxs[t]);
            free(f->vmins);
            free(f->vmaxs);
            free(f->vmin_len);
            free(f->vmax_len);
            free(f->sums);
            free(f->null_counts);
        }
    }
    if (b->ned)
        for (uint32_t d = 0; d < b->schema->ndim; d++) range_clear(&b->ned[d]);
    free(b->fields);
    free(b->ned);
    memset(b, 0, sizeof *b);
}

/* Stores an int64 as a value of an integer type (little-endian truncation). */
static void store_int(radi_datatype t, int64_t v, uint8_t *out)
{
    memset(out, 0, 8);
    size_t n = radi_datatype_size(t);
    memcpy(out, &v, n ? n : 8);
}

void rdi_fmb_set_ned_box(rdi_fmb *b, const int64_t *box)
{
    for (uint32_t d = 0; d < b->schema->ndim; d++) {
        store_int(b->schema->dims[d].type, box[2 * d], b->ned[d].lo);
        store_int(b->schema->dims[d].type, box[2 * d + 1], b->ned[d].hi);
    }
}

void rdi_fmb_set_stats(rdi_fmb *b, uint32_t field, uint64_t tile, const rdi_tile_stats *st)
{
    rdi_fmb_field *f = &b->fields[field];
    uint32_t cs = f->kind.cell_size;
    if (f->mins) {
        if (f->kind.mm_numeric) {
            /* A tile with no valid cell keeps the type limits, as TileDB's generator. */
            rdi_tile_stats init;
            const rdi_tile_stats *src = st;
            if (!st->has_minmax) {
                rdi_tile_stats_init(&init);
                rdi_tile_stats_add(&init, &(rdi_field_kind){.type = f->kind.type,
                                                            .cell_size = cs,
                                                            .has_mm = 1,
                                                            .mm_numeric = 1},
                                   NULL, NULL, 0);
                src = &init;
            }
            memcpy(f->mins + tile * cs, src->min, cs);
            memcpy(f->maxs + tile * cs, src->max, cs);
        } else {
            if (st->smin) memcpy(f->mins + tile * cs, st->smin, cs);
            if (st->smax) memcpy(f->maxs + tile * cs, st->smax, cs);
        }
    }
    if (f->sums) memcpy(f->sums + tile * 8, st->sum, 8);
    if (f->null_counts) f->null_counts[tile] = st->null_count;
}

radi_status rdi_fmb_set_var_minmax(rdi_fmb *b, uint32_t field, uint64_t tile, const void *min,
                                   uint64_t min_len, const void *max, uint64_t max_len)
{
    rdi_fmb_field *f = &b->fields[field];
    if (!f->vmins) return RADI_OK;
    char *mn = rdi_strndup(min ? min : "", min ? (size_t)min_len : 0);
    char *mx = rdi_strndup(max ? max : "", max ? (size_t)max_len : 0);
    if (!mn || !mx) {
        free(mn);
        free(mx);
        return RADI_E_NOMEM;
    }
    free(f->vmins[tile]);
    free(f->vmaxs[tile]);
    f->vmins[tile] = mn;
    f->vmaxs[tile] = mx;
    f->vmin_len[tile] = min ? min_len : 0;
    f->vmax_len[tile] = max ? max_len : 0;
    return RADI_OK;
}

void rdi_fmb_add_tile(rdi_fmb *b, uint32_t field, uint64_t tile, uint64_t bytes)
{
    rdi_fmb_field *f = &b->fields[field];
    f->offsets[tile] = f->file_size;
    f->file_size += bytes;
}

void rdi_fmb_add_var_tile(rdi_fmb *b, uint32_t field, uint64_t tile, uint64_t bytes,
                          uint64_t var_unfiltered)
{
    rdi_fmb_field *f = &b->fields[field];
    f->var_offsets[tile] = f->file_var_size;
    f->var_sizes[tile] = var_unfiltered;
    f->file_var_size += bytes;
}

void rdi_fmb_add_validity_tile(rdi_fmb *b, uint32_t field, uint64_t tile, uint64_t bytes)
{
    rdi_fmb_field *f = &b->fields[field];
    f->validity_offsets[tile] = f->file_validity_size;
    f->file_validity_size += bytes;
}

/* ------------------------------------------------------------ serializing -- */

/* One range as TileDB serializes it in an R-tree MBR or a non-empty domain. */
static radi_status put_range(rdi_buf *o, const rdi_dim *dim, const rdi_range *r)
{
    if (dim->cell_val_num == RADI_VAR_NUM) {
        RDI_TRY(rdi_buf_put_u64(o, r->slo_len + r->shi_len));
        RDI_TRY(rdi_buf_put_u64(o, r->slo_len));
        RDI_TRY(rdi_buf_append(o, r->slo, (size_t)r->slo_len));
        return rdi_buf_append(o, r->shi, (size_t)r->shi_len);
    }
    size_t n = rdi_dim_size(dim);
    RDI_TRY(rdi_buf_append(o, r->lo, n));
    return rdi_buf_append(o, r->hi, n);
}

/* R-tree payload: dense fragments have fanout 10 and no levels (format.md §8.1). */
static radi_status rtree_payload(const rdi_fmb *b, rdi_buf *o)
{
    if (b->rtree) return rdi_buf_append(o, b->rtree, b->rtree_len);
    RDI_TRY(rdi_buf_put_u32(o, 10));
    return rdi_buf_put_u32(o, 0);
}

static radi_status put_u64_list(rdi_buf *o, const uint64_t *v, uint64_t n)
{
    RDI_TRY(rdi_buf_put_u64(o, v ? n : 0));
    return v ? rdi_buf_append(o, v, (size_t)(n * 8)) : RADI_OK;
}

/* Tile mins or maxs: u64 fixed_bytes | u64 var_bytes | fixed | var (byte counts). */
static radi_status minmax_payload(const rdi_fmb *b, const rdi_fmb_field *f, int max, rdi_buf *o)
{
    const uint8_t *fixed = max ? f->maxs : f->mins;
    char *const *vv = max ? f->vmaxs : f->vmins;
    const uint64_t *vl = max ? f->vmax_len : f->vmin_len;
    if (fixed) {
        uint64_t n = b->tile_num * f->kind.cell_size;
        RDI_TRY(rdi_buf_put_u64(o, n));
        RDI_TRY(rdi_buf_put_u64(o, 0));
        return rdi_buf_append(o, fixed, (size_t)n);
    }
    if (vv) {
        uint64_t total = 0;
        for (uint64_t t = 0; t < b->tile_num; t++) total += vl[t];
        RDI_TRY(rdi_buf_put_u64(o, b->tile_num * 8));
        RDI_TRY(rdi_buf_put_u64(o, total));
        uint64_t off = 0;
        for (uint64_t t = 0; t < b->tile_num; t++) {
            RDI_TRY(rdi_buf_put_u64(o, off));
            off += vl[t];
        }
        for (uint64_t t = 0; t < b->tile_num; t++)
            RDI_TRY(rdi_buf_append(o, vv[t], (size_t)vl[t]));
        return RADI_OK;
    }
    RDI_TRY(rdi_buf_put_u64(o, 0));
    return rdi_buf_put_u64(o, 0);
}

static uint64_t tile_cell_num(const rdi_fmb *b, uint64_t t)
{
    if (b->dense || t + 1 == b->tile_num) return b->last_tile_cell_num;
    return b->schema->capacity;
}

/* Whether TileDB skips tile t of field f in fragment-level aggregates (all cells null). */
static int tile_all_null(const rdi_fmb *b, const rdi_fmb_field *f, uint64_t t)
{
    return f->kind.nullable && f->null_counts && f->null_counts[t] == tile_cell_num(b, t);
}

#define FRAG_MM(T)                                                                       \
    do {                                                                                 \
        T mn = (T)lim_hi, mx = (T)lim_lo, v;                                             \
        for (uint64_t t = 0; t < b->tile_num; t++) {                                     \
            if (tile_all_null(b, f, t)) continue;                                        \
            memcpy(&v, f->mins + t * sizeof(T), sizeof v);                               \
            mn = mn < v ? mn : v;                                                        \
            memcpy(&v, f->maxs + t * sizeof(T), sizeof v);                               \
            mx = mx > v ? mx : v;                                                        \
        }                                                                                \
        memcpy(mnb, &mn, sizeof mn);                                                     \
        memcpy(mxb, &mx, sizeof mx);                                                     \
        *len = sizeof(T);                                                                \
    } while (0)

/* Fragment-level min and max of a fixed numeric field (compute_fragment_min_max_sum). */
static void frag_minmax_numeric(const rdi_fmb *b, const rdi_fmb_field *f, uint8_t *mnb,
                                uint8_t *mxb, uint64_t *len)
{
    switch (f->kind.type) {
    case RADI_INT8: { int64_t lim_hi = INT8_MAX, lim_lo = INT8_MIN; FRAG_MM(int8_t); break; }
    case RADI_INT16: { int64_t lim_hi = INT16_MAX, lim_lo = INT16_MIN; FRAG_MM(int16_t); break; }
    case RADI_INT32: { int64_t lim_hi = INT32_MAX, lim_lo = INT32_MIN; FRAG_MM(int32_t); break; }
    case RADI_INT64: { int64_t lim_hi = INT64_MAX, lim_lo = INT64_MIN; FRAG_MM(int64_t); break; }
    case RADI_UINT8:
    case RADI_BOOL: { uint64_t lim_hi = UINT8_MAX, lim_lo = 0; FRAG_MM(uint8_t); break; }
    case RADI_UINT16: { uint64_t lim_hi = UINT16_MAX, lim_lo = 0; FRAG_MM(uint16_t); break; }
    case RADI_UINT32: { uint64_t lim_hi = UINT32_MAX, lim_lo = 0; FRAG_MM(uint32_t); break; }
    case RADI_UINT64: { uint64_t lim_hi = UINT64_MAX, lim_lo = 0; FRAG_MM(uint64_t); break; }
    case RADI_FLOAT32: { double lim_hi = FLT_MAX, lim_lo = -FLT_MAX; FRAG_MM(float); break; }
    case RADI_FLOAT64: { double lim_hi = DBL_MAX, lim_lo = -DBL_MAX; FRAG_MM(double); break; }
    default: *len = 0; break;
    }
}

/* Fragment-level sum over the tile sums, saturating (compute_fragment_sum). */
static void frag_sum(const rdi_fmb *b, const rdi_fmb_field *f, uint8_t out[8])
{
    memset(out, 0, 8);
    if (!f->sums) return;
    radi_datatype t = f->kind.type;
    if (rdi_datatype_is_float(t)) {
        double s = 0, x;
        for (uint64_t i = 0; i < b->tile_num; i++) {
            if (tile_all_null(b, f, i)) continue;
            memcpy(&x, f->sums + i * 8, 8);
            if (dbl_sum_overflows(s, x)) { s = s < 0.0 ? -DBL_MAX : DBL_MAX; break; }
            s += x;
        }
        memcpy(out, &s, 8);
    } else if (rdi_datatype_is_signed(t) || t == RADI_CHAR) {
        int64_t s = 0, x;
        for (uint64_t i = 0; i < b->tile_num; i++) {
            if (tile_all_null(b, f, i)) continue;
            memcpy(&x, f->sums + i * 8, 8);
            if (s > 0 && x > 0 && s > INT64_MAX - x) { s = INT64_MAX; break; }
            if (s < 0 && x < 0 && s < INT64_MIN - x) { s = INT64_MIN; break; }
            s += x;
        }
        memcpy(out, &s, 8);
    } else {
        uint64_t s = 0, x;
        for (uint64_t i = 0; i < b->tile_num; i++) {
            if (tile_all_null(b, f, i)) continue;
            memcpy(&x, f->sums + i * 8, 8);
            if (s > UINT64_MAX - x) { s = UINT64_MAX; break; }
            s += x;
        }
        memcpy(out, &s, 8);
    }
}

/* TileDB's string order for min/max: strncmp over the shorter length, then length. */
static int tdb_strcmp(const char *a, uint64_t al, const char *b, uint64_t bl)
{
    int c = strncmp(a, b, (size_t)RDI_MIN(al, bl));
    if (c) return c;
    return (al > bl) - (al < bl);
}

/* fragment_min_max_sum_null_count payload: per field u64 len | min | u64 len | max |
 * u64 sum | u64 null_count. */
static radi_status frag_mmsn_payload(const rdi_fmb *b, rdi_buf *o)
{
    for (uint32_t i = 0; i < b->nfields; i++) {
        const rdi_fmb_field *f = &b->fields[i];
        uint64_t nulls = 0;
        if (f->null_counts)
            for (uint64_t t = 0; t < b->tile_num; t++) nulls += f->null_counts[t];
        uint8_t mn[8], mx[8], sum[8];
        const void *pmn = mn, *pmx = mx;
        uint64_t mnl = 0, mxl = 0;
        if (f->mins && f->kind.mm_numeric) {
            frag_minmax_numeric(b, f, mn, mx, &mnl);
            mxl = mnl;
        } else if (f->mins) {
            const uint32_t cs = f->kind.cell_size;
            const uint8_t *bmn = NULL, *bmx = NULL;
            for (uint64_t t = 0; t < b->tile_num; t++) {
                if (tile_all_null(b, f, t)) continue;
                const uint8_t *a = f->mins + t * cs, *z = f->maxs + t * cs;
                if (!bmn || strncmp((const char *)bmn, (const char *)a, cs) > 0) bmn = a;
                if (!bmx || strncmp((const char *)bmx, (const char *)z, cs) < 0) bmx = z;
            }
            if (bmn) { pmn = bmn; pmx = bmx; mnl = mxl = cs; }
        } else if (f->vmins) {
            int64_t imn = -1, imx = -1;
            for (uint64_t t = 0; t < b->tile_num; t++) {
                if (tile_all_null(b, f, t)) continue;
                const char *a = f->vmins[t] ? f->vmins[t] : "", *z = f->vmaxs[t] ? f->vmaxs[t] : "";
                if (imn < 0 || tdb_strcmp(f->vmins[imn] ? f->vmins[imn] : "", f->vmin_len[imn], a,
                                          f->vmin_len[t]) > 0)
                    imn = (int64_t)t;
                if (imx < 0 || tdb_strcmp(f->vmaxs[imx] ? f->vmaxs[imx] : "", f->vmax_len[imx], z,
                                          f->vmax_len[t]) < 0)
                    imx = (int64_t)t;
            }
            if (imn >= 0) {
                pmn = f->vmins[imn];
                mnl = f->vmin_len[imn];
                pmx = f->vmaxs[imx];
                mxl = f->vmax_len[imx];
            }
        }
        frag_sum(b, f, sum);
        RDI_TRY(rdi_buf_put_u64(o, mnl));
        RDI_TRY(rdi_buf_append(o, pmn, (size_t)mnl));
        RDI_TRY(rdi_buf_put_u64(o, mxl));
        RDI_TRY(rdi_buf_append(o, pmx, (size_t)mxl));
        RDI_TRY(rdi_buf_append(o, sum, 8));
        RDI_TRY(rdi_buf_put_u64(o, nulls));
    }
    return RADI_OK;
}

/* Appends payload as a generic tile to out, records where it starts, and empties payload. */
static radi_status put_gt(const rdi_fmb *b, rdi_buf *payload, rdi_scratch *scratch, rdi_buf *out,
                          uint64_t *off)
{
    *off = out->len;
    RDI_TRY(rdi_generic_tile_encode(payload->data, payload->len, b->version, scratch, out));
    payload->len = 0;
    return RADI_OK;
}

radi_status rdi_fmb_serialize(const rdi_fmb *b, const char *schema_name, rdi_scratch *scratch,
                              rdi_buf *out)
{
    const radi_schema *s = b->schema;
    const uint32_t n = b->nfields;
    out->len = 0;
    rdi_buf p = RDI_BUF_INIT, foot = RDI_BUF_INIT;
    uint64_t *gt = calloc((size_t)n * RDI_GT_COUNT + 3, 8);
    if (!gt) return rdi_nomem();
    uint64_t *rtree_off = &gt[(size_t)n * RDI_GT_COUNT], *mmsn_off = rtree_off + 1,
             *cond_off = rtree_off + 2;
    radi_status st = rtree_payload(b, &p);
    if (st == RADI_OK) st = put_gt(b, &p, scratch, out, rtree_off);
    for (int g = 0; g < RDI_GT_COUNT && st == RADI_OK; g++) {
        for (uint32_t i = 0; i < n && st == RADI_OK; i++) {
            const rdi_fmb_field *f = &b->fields[i];
            switch (g) {
            case RDI_GT_TILE_OFFSETS: st = put_u64_list(&p, f->offsets, b->tile_num); break;
            case RDI_GT_VAR_OFFSETS: st = put_u64_list(&p, f->var_offsets, b->tile_num); break;
            case RDI_GT_VAR_SIZES: st = put_u64_list(&p, f->var_sizes, b->tile_num); break;
            case RDI_GT_VALIDITY_OFFSETS:
                st = put_u64_list(&p, f->validity_offsets, b->tile_num);
                break;
            case RDI_GT_MINS: st = minmax_payload(b, f, 0, &p); break;
            case RDI_GT_MAXS: st = minmax_payload(b, f, 1, &p); break;
            case RDI_GT_SUMS:
                st = rdi_buf_put_u64(&p, f->sums ? b->tile_num : 0);
                if (st == RADI_OK && f->sums)
                    st = rdi_buf_append(&p, f->sums, (size_t)(b->tile_num * 8));
                break;
            case RDI_GT_NULL_COUNTS: st = put_u64_list(&p, f->null_counts, b->tile_num); break;
            }
            if (st == RADI_OK) st = put_gt(b, &p, scratch, out, &gt[(size_t)g * n + i]);
        }
    }
    if (st == RADI_OK) st = frag_mmsn_payload(b, &p);
    if (st == RADI_OK) st = put_gt(b, &p, scratch, out, mmsn_off);
    if (st == RADI_OK) st = rdi_buf_put_u64(&p, 0); /* no processed conditions */
    if (st == RADI_OK) st = put_gt(b, &p, scratch, out, cond_off);

    /* Footer (v16+ layout; 20..22 are identical here). */
    rdi_buf *o = &foot;
    if (st == RADI_OK) st = rdi_buf_put_u32(o, b->version);
    if (st == RADI_OK) st = rdi_buf_put_str64(o, schema_name, strlen(schema_name));
    if (st == RADI_OK) st = rdi_buf_put_u8(o, (uint8_t)(b->dense ? 1 : 0));
    if (st == RADI_OK) st = rdi_buf_put_u8(o, 0); /* the NED is present */
    for (uint32_t d = 0; d < s->ndim && st == RADI_OK; d++)
        st = put_range(o, &s->dims[d], &b->ned[d]);
    if (st == RADI_OK) st = rdi_buf_put_u64(o, b->dense ? 0 : b->tile_num);
    if (st == RADI_OK) st = rdi_buf_put_u64(o, b->last_tile_cell_num);
    if (st == RADI_OK) st = rdi_buf_put_u8(o, 0); /* has_timestamps */
    if (st == RADI_OK) st = rdi_buf_put_u8(o, 0); /* has_delete_meta */
    for (uint32_t i = 0; i < n && st == RADI_OK; i++) st = rdi_buf_put_u64(o, b->fields[i].file_size);
    for (uint32_t i = 0; i < n && st == RADI_OK; i++)
        st = rdi_buf_put_u64(o, b->fields[i].file_var_size);
    for (uint32_t i = 0; i < n && st == RADI_OK; i++)
        st = rdi_buf_put_u64(o, b->fields[i].file_validity_size);
    if (st == RADI_OK) st = rdi_buf_put_u64(o, *rtree_off);
    if (st == RADI_OK) st = rdi_buf_append(o, gt, (size_t)n * RDI_GT_COUNT * 8);
    if (st == RADI_OK) st = rdi_buf_put_u64(o, *mmsn_off);
    if (st == RADI_OK) st = rdi_buf_put_u64(o, *cond_off);
    if (st == RADI_OK) st = rdi_buf_append(out, foot.data, foot.len);
    if (st == RADI_OK) st = rdi_buf_put_u64(out, foot.len);
    free(gt);
    rdi_buf_free(&p);
    rdi_buf_free(&foot);
    return st;
}
