/*
 * Array schemas (docs/format.md §5): the in-memory form, writer-side
 * validation, the payload codec for format versions 12..22 (read) and 20..22 (write),
 * and the public radi_schema_* API.
 */
#include <math.h>
#include <stdlib.h>

#include "tdb/tdb.h"

#define SCHEMA_WRITE_MIN 20
#define SCHEMA_WRITE_MAX 22

/* ------------------------------------------------------------- small helpers -- */

static int is_var(uint32_t cell_val_num) { return cell_val_num == RADI_VAR_NUM; }

uint32_t rdi_attr_cell_size(const rdi_attr *a)
{
    /* Var-size attributes: the size of one value (their cells have no fixed size). */
    uint32_t sz = (uint32_t)radi_datatype_size(a->type);
    return is_var(a->cell_val_num) ? sz : sz * a->cell_val_num;
}

size_t rdi_dim_size(const rdi_dim *d) { return radi_datatype_size(d->type); }

/* One value of an integer or float type as int64 (floats truncate; dense dims are integer). */
static int64_t value_i64(radi_datatype t, const uint8_t *p)
{
    switch (t) {
    case RADI_INT8: return (int8_t)p[0];
    case RADI_UINT8: case RADI_BOOL: return p[0];
    case RADI_INT16: { int16_t v; memcpy(&v, p, 2); return v; }
    case RADI_UINT16: { uint16_t v; memcpy(&v, p, 2); return v; }
    case RADI_INT32: { int32_t v; memcpy(&v, p, 4); return v; }
    case RADI_UINT32: { uint32_t v; memcpy(&v, p, 4); return v; }
    case RADI_INT64: { int64_t v; memcpy(&v, p, 8); return v; }
    case RADI_UINT64: { uint64_t v; memcpy(&v, p, 8); return (int64_t)v; }
    case RADI_FLOAT32: { float v; memcpy(&v, p, 4); return (int64_t)v; }
    case RADI_FLOAT64: { double v; memcpy(&v, p, 8); return (int64_t)v; }
    default: return 0;
    }
}

static double value_f64(radi_datatype t, const uint8_t *p)
{
    if (t == RADI_FLOAT32) { float v; memcpy(&v, p, 4); return v; }
    if (t == RADI_FLOAT64) { double v; memcpy(&v, p, 8); return v; }
    if (t == RADI_UINT64) { uint64_t v; memcpy(&v, p, 8); return (double)v; }
    return (double)value_i64(t, p);
}

int64_t rdi_dim_lo(const rdi_dim *d) { return value_i64(d->type, d->lo); }
int64_t rdi_dim_hi(const rdi_dim *d) { return value_i64(d->type, d->hi); }
int64_t rdi_dim_extent(const rdi_dim *d) { return value_i64(d->type, d->extent); }

const radi_filter_list *rdi_dim_filters(const radi_schema *s, uint32_t d)
{
    return s->dims[d].filters.count ? &s->dims[d].filters : &s->coords_filters;
}

/* Exact bounds of an integer type, for the extent-overflow check. */
static void int_limits(radi_datatype t, int64_t *min, uint64_t *max)
{
    size_t sz = radi_datatype_size(t);
    if (rdi_datatype_is_signed(t)) {
        *max = (UINT64_C(1) << (8 * sz - 1)) - 1;
        *min = -(int64_t)(*max) - 1;
    } else {
        *min = 0;
        *max = sz == 8 ? UINT64_MAX : (UINT64_C(1) << (8 * sz)) - 1;
    }
}

/* TileDB's "empty" value of one element of type t (format.md §5). */
static void default_fill_value(radi_datatype t, uint8_t out[8])
{
    memset(out, 0, 8);
    switch (t) {
    case RADI_INT8: out[0] = 0x80; break;
    case RADI_INT16: out[1] = 0x80; break;
    case RADI_INT32: out[3] = 0x80; break;
    case RADI_INT64: out[7] = 0x80; break;
    case RADI_UINT8: case RADI_UINT16: case RADI_UINT32: case RADI_UINT64:
        memset(out, 0xff, radi_datatype_size(t));
        break;
    case RADI_FLOAT32: { float v = NAN; memcpy(out, &v, 4); break; }
    case RADI_FLOAT64: { double v = NAN; memcpy(out, &v, 8); break; }
    case RADI_CHAR: out[0] = 0x80; break;   /* numeric_limits<char>::min() */
    default: break;                         /* ASCII, UTF-8, BLOB, BOOL, ANY: 0 */
    }
}

/* Default fill of an attribute: one value per fixed cell element, or one value for
 * var-size attributes (as TileDB stores it). */
static radi_status default_fill(radi_datatype t, uint32_t cell_val_num, uint8_t **fill,
                                uint64_t *size)
{
    uint8_t v[8];
    default_fill_value(t, v);
    size_t vs = radi_datatype_size(t);
    uint64_t n = is_var(cell_val_num) ? 1 : cell_val_num;
    uint8_t *f = rdi_malloc((size_t)(n * vs));
    if (!f) return RADI_E_NOMEM;
    for (uint64_t i = 0; i < n; i++) memcpy(f + i * vs, v, vs);
    *fill = f;
    *size = n * vs;
    return RADI_OK;
}

/* ----------------------------------------------------------------- lifecycle -- */

void radi_schema_free(radi_schema *s)
{
    if (!s) return;
    for (uint32_t i = 0; i < s->ndim; i++) free(s->dims[i].name);
    for (uint32_t i = 0; i < s->nattr; i++) {
        free(s->attrs[i].name);
        free(s->attrs[i].fill);
    }
    free(s->dims);
    free(s->attrs);
    free(s->name);
    free(s);
}

static void default_filters(radi_schema *s)
{
    radi_filter_list_init(&s->coords_filters);
    radi_filter_list_init(&s->offsets_filters);
    radi_filter_list_init(&s->validity_filters);
    /* Cannot fail on an empty list. */
    radi_filter_list_add(&s->coords_filters, RADI_FILTER_ZSTD, -1);
    radi_filter_list_add(&s->offsets_filters, RADI_FILTER_ZSTD, -1);
    radi_filter_list_add(&s->validity_filters, RADI_FILTER_RLE, -1);
}

radi_status radi_schema_create(radi_array_type type, radi_schema **out)
{
    if (!out) return rdi_error(RADI_E_INVALID, "radi_schema_create: out is NULL");
    if (type != RADI_DENSE && type != RADI_SPARSE)
        return rdi_error(RADI_E_INVALID, "radi_schema_create: array type %d is not dense or sparse",
                         (int)type);
    radi_schema *s = rdi_calloc(1, sizeof *s);
    if (!s) return RADI_E_NOMEM;
    s->type = type;
    s->tile_order = RADI_ROW_MAJOR;
    s->cell_order = RADI_ROW_MAJOR;
    s->capacity = 10000;
    default_filters(s);
    *out = s;
    return RADI_OK;
}

radi_status rdi_schema_clone(const radi_schema *src, radi_schema **out)
{
    radi_schema *s = rdi_calloc(1, sizeof *s);
    if (!s) return RADI_E_NOMEM;
    *s = *src;
    s->dims = NULL;
    s->attrs = NULL;
    s->name = NULL;
    s->ndim = s->nattr = 0;
    if (src->ndim && !(s->dims = rdi_calloc(src->ndim, sizeof *s->dims))) goto nomem;
    for (; s->ndim < src->ndim; s->ndim++) {
        rdi_dim *d = &s->dims[s->ndim];
        *d = src->dims[s->ndim];
        if (!(d->name = rdi_strdup(d->name))) goto nomem;
    }
    if (src->nattr && !(s->attrs = rdi_calloc(src->nattr, sizeof *s->attrs))) goto nomem;
    for (; s->nattr < src->nattr; s->nattr++) {
        rdi_attr *a = &s->attrs[s->nattr];
        const rdi_attr *sa = &src->attrs[s->nattr];
        *a = *sa;
        a->fill = NULL;
        if (!(a->name = rdi_strdup(sa->name))) goto nomem;
        if (!(a->fill = rdi_malloc((size_t)sa->fill_size))) goto nomem;
        memcpy(a->fill, sa->fill, (size_t)sa->fill_size);
    }
    if (src->name && !(s->name = rdi_strdup(src->name))) goto nomem;
    *out = s;
    return RADI_OK;
nomem:
    radi_schema_free(s);
    return RADI_E_NOMEM;
}

/* ------------------------------------------------------------------ validate -- */

static int name_taken(const radi_schema *s, const char *name)
{
    for (uint32_t i = 0; i < s->ndim; i++)
        if (strcmp(s->dims[i].name, name) == 0) return 1;
    for (uint32_t i = 0; i < s->nattr; i++)
        if (strcmp(s->attrs[i].name, name) == 0) return 1;
    return 0;
}

static radi_status check_new_name(const radi_schema *s, const char *name, const char *kind)
{
    if (!name || !*name) return rdi_error(RADI_E_INVALID, "%s name is empty", kind);
    if (strncmp(name, "__", 2) == 0)
        return rdi_error(RADI_E_INVALID, "%s '%s': names starting with \"__\" are reserved", kind, name);
    if (name_taken(s, name))
        return rdi_error(RADI_E_INVALID, "%s '%s': a dimension or attribute has that name", kind, name);
    return RADI_OK;
}

static radi_status check_order(radi_layout l, const char *what)
{
    if (l != RADI_ROW_MAJOR && l != RADI_COL_MAJOR)
        return rdi_error(RADI_E_INVALID, "%s must be row- or col-major, got %d", what, (int)l);
    return RADI_OK;
}

static radi_status check_dim(const radi_schema *s, const rdi_dim *d)
{
    if (d->type == RADI_STRING_ASCII) {
        if (s->type == RADI_DENSE)
            return rdi_error(RADI_E_INVALID, "dimension '%s': dense arrays need integer dimensions", d->name);
        if (!is_var(d->cell_val_num) || d->has_domain || d->has_extent)
            return rdi_error(RADI_E_INVALID, "dimension '%s': string dimensions are var-sized with no domain or extent",
                             d->name);
        return RADI_OK;
    }
    int integer = rdi_datatype_is_integer(d->type) && d->type != RADI_BOOL;
    if (!integer && !rdi_datatype_is_float(d->type))
        return rdi_error(RADI_E_INVALID, "dimension '%s': type %s cannot be a dimension", d->name,
                         radi_datatype_name(d->type));
    if (s->type == RADI_DENSE && !integer)
        return rdi_error(RADI_E_INVALID, "dimension '%s': dense arrays need integer dimensions", d->name);
    if (d->cell_val_num != 1 || !d->has_domain)
        return rdi_error(RADI_E_INVALID, "dimension '%s': needs one value per cell and a domain", d->name);
    if (s->type == RADI_DENSE && !d->has_extent)
        return rdi_error(RADI_E_INVALID, "dimension '%s': dense dimensions need a tile extent", d->name);
    if (!integer) {
        double lo = value_f64(d->type, d->lo), hi = value_f64(d->type, d->hi);
        if (!(lo <= hi) || !isfinite(lo) || !isfinite(hi))
            return rdi_error(RADI_E_INVALID, "dimension '%s': domain [%g, %g] is invalid", d->name, lo, hi);
        if (d->has_extent) {
            double e = value_f64(d->type, d->extent);
            if (!(e > 0) || !isfinite(e))
                return rdi_error(RADI_E_INVALID, "dimension '%s': tile extent %g is not positive", d->name, e);
        }
        return RADI_OK;
    }
    /* Integers: compare as wide values so uint64 domains work too. */
    int64_t tmin;
    uint64_t tmax;
    int_limits(d->type, &tmin, &tmax);
    int sgn = rdi_datatype_is_signed(d->type);
    uint64_t ulo, uhi, span;
    if (sgn) {
        int64_t lo = value_i64(d->type, d->lo), hi = value_i64(d->type, d->hi);
        if (lo > hi)
            return rdi_error(RADI_E_INVALID, "dimension '%s': domain [%lld, %lld] has lo > hi", d->name,
                             (long long)lo, (long long)hi);
        /* Offset to unsigned so the arithmetic below is the same for both kinds. */
        ulo = (uint64_t)lo - (uint64_t)tmin;
        uhi = (uint64_t)hi - (uint64_t)tmin;
    } else {
        ulo = (uint64_t)value_i64(d->type, d->lo);
        uhi = (uint64_t)value_i64(d->type, d->hi);
        if (ulo > uhi)
            return rdi_error(RADI_E_INVALID, "dimension '%s': domain [%llu, %llu] has lo > hi", d->name,
                             (unsigned long long)ulo, (unsigned long long)uhi);
    }
    span = uhi - ulo; /* cells - 1 */
    if (s->type == RADI_DENSE && span == UINT64_MAX)
        return rdi_error(RADI_E_INVALID, "dimension '%s': domain covers the whole type", d->name);
    if (d->has_extent) {
        uint64_t ext = (uint64_t)value_i64(d->type, d->extent);
        if (sgn ? value_i64(d->type, d->extent) <= 0 : ext == 0)
            return rdi_error(RADI_E_INVALID, "dimension '%s': tile extent must be positive", d->name);
        if (ext - 1 > span)
            return rdi_error(RADI_E_INVALID, "dimension '%s': tile extent %llu exceeds the domain span %llu",
                             d->name, (unsigned long long)ext, (unsigned long long)span + 1);
        /* TileDB refuses domains whose last tile would end past the type's maximum:
         * ulo + ntiles*ext - 1 <= top, rearranged so nothing overflows. */
        uint64_t ntiles = span / ext + 1;
        uint64_t top = tmax - (uint64_t)tmin; /* the type's maximum in the offset space */
        if (ntiles - 1 > (top - ulo - (ext - 1)) / ext)
            return rdi_error(RADI_E_INVALID,
                             "dimension '%s': the domain expanded to whole tiles exceeds the type's range",
                             d->name);
    }
    return RADI_OK;
}

static radi_status check_attr(const rdi_attr *a)
{
    if (!rdi_datatype_is_known(a->type) || a->type == RADI_ANY)
        return rdi_error(RADI_E_INVALID, "attribute '%s': unsupported type code %d", a->name, (int)a->type);
    if (a->cell_val_num == 0)
        return rdi_error(RADI_E_INVALID, "attribute '%s': cell_val_num is 0", a->name);
    if (!a->fill || a->fill_size == 0)
        return rdi_error(RADI_E_INVALID, "attribute '%s': empty fill value", a->name);
    if (!is_var(a->cell_val_num) && a->fill_size != rdi_attr_cell_size(a))
        return rdi_error(RADI_E_INVALID, "attribute '%s': fill value has %llu bytes, cells have %u",
                         a->name, (unsigned long long)a->fill_size, rdi_attr_cell_size(a));
    return RADI_OK;
}

radi_status rdi_schema_validate(const radi_schema *s)
{
    if (!s) return rdi_error(RADI_E_INVALID, "schema is NULL");
    if (s->type != RADI_DENSE && s->type != RADI_SPARSE)
        return rdi_error(RADI_E_INVALID, "schema: array type %d is not dense or sparse", (int)s->type);
    RDI_TRY(check_order(s->tile_order, "schema tile order"));
    RDI_TRY(check_order(s->cell_order, "schema cell order"));
    if (s->capacity == 0) return rdi_error(RADI_E_INVALID, "schema: capacity is 0");
    if (s->type == RADI_DENSE && s->allows_dups)
        return rdi_error(RADI_E_INVALID, "schema: dense arrays cannot allow duplicates");
    if (s->ndim == 0) return rdi_error(RADI_E_INVALID, "schema: no dimensions");
    if (s->type == RADI_DENSE && s->nattr == 0)
        return rdi_error(RADI_E_INVALID, "schema: dense arrays need at least one attribute");
    RDI_TRY(rdi_pipeline_check(&s->coords_filters, RADI_ANY, "schema coords filters"));
    RDI_TRY(rdi_pipeline_check(&s->offsets_filters, RADI_UINT64, "schema offsets filters"));
    RDI_TRY(rdi_pipeline_check(&s->validity_filters, RADI_UINT8, "schema validity filters"));
    for (uint32_t i = 0; i < s->ndim + s->nattr; i++) {
        const char *name = i < s->ndim ? s->dims[i].name : s->attrs[i - s->ndim].name;
        if (!name || !*name || strncmp(name, "__", 2) == 0)
            return rdi_error(RADI_E_INVALID, "schema: invalid name '%s' (empty or \"__\" prefix)",
                             name ? name : "");
        for (uint32_t j = 0; j < i; j++) {
            const char *other = j < s->ndim ? s->dims[j].name : s->attrs[j - s->ndim].name;
            if (strcmp(name, other) == 0)
                return rdi_error(RADI_E_INVALID, "schema: name '%s' is used twice", name);
        }
    }
    for (uint32_t i = 0; i < s->ndim; i++) {
        RDI_TRY(check_dim(s, &s->dims[i]));
        RDI_TRY(rdi_pipeline_check(rdi_dim_filters(s, i), s->dims[i].type, s->dims[i].name));
    }
    for (uint32_t i = 0; i < s->nattr; i++) {
        RDI_TRY(check_attr(&s->attrs[i]));
        RDI_TRY(rdi_pipeline_check(&s->attrs[i].filters, s->attrs[i].type, s->attrs[i].name));
    }
    return RADI_OK;
}

/* ----------------------------------------------------------------- serialize -- */

radi_status rdi_schema_serialize(const radi_schema *s, uint32_t version, rdi_buf *b)
{
    if (version < SCHEMA_WRITE_MIN || version > SCHEMA_WRITE_MAX)
        return rdi_error(RADI_E_INVALID, "schema: cannot write format version %u (20..22)", version);
    RDI_TRY(rdi_schema_validate(s));
    RDI_TRY(rdi_buf_put_u32(b, version));
    RDI_TRY(rdi_buf_put_u8(b, (uint8_t)(s->allows_dups ? 1 : 0)));
    RDI_TRY(rdi_buf_put_u8(b, (uint8_t)s->type));
    RDI_TRY(rdi_buf_put_u8(b, (uint8_t)s->tile_order));
    RDI_TRY(rdi_buf_put_u8(b, (uint8_t)s->cell_order));
    RDI_TRY(rdi_buf_put_u64(b, s->capacity));
    RDI_TRY(rdi_pipeline_write(&s->coords_filters, version, b));
    RDI_TRY(rdi_pipeline_write(&s->offsets_filters, version, b));
    RDI_TRY(rdi_pipeline_write(&s->validity_filters, version, b));
    RDI_TRY(rdi_buf_put_u32(b, s->ndim));
    for (uint32_t i = 0; i < s->ndim; i++) {
        const rdi_dim *d = &s->dims[i];
        size_t vs = rdi_dim_size(d);
        RDI_TRY(rdi_buf_put_str32(b, d->name));
        RDI_TRY(rdi_buf_put_u8(b, (uint8_t)d->type));
        RDI_TRY(rdi_buf_put_u32(b, d->cell_val_num));
        RDI_TRY(rdi_pipeline_write(&d->filters, version, b));
        if (d->has_domain) {
            RDI_TRY(rdi_buf_put_u64(b, 2 * vs));
            RDI_TRY(rdi_buf_append(b, d->lo, vs));
            RDI_TRY(rdi_buf_append(b, d->hi, vs));
        } else {
            RDI_TRY(rdi_buf_put_u64(b, 0));
        }
        RDI_TRY(rdi_buf_put_u8(b, (uint8_t)(d->has_extent ? 0 : 1)));
        if (d->has_extent) RDI_TRY(rdi_buf_append(b, d->extent, vs));
    }
    RDI_TRY(rdi_buf_put_u32(b, s->nattr));
    for (uint32_t i = 0; i < s->nattr; i++) {
        const rdi_attr *a = &s->attrs[i];
        RDI_TRY(rdi_buf_put_str32(b, a->name));
        RDI_TRY(rdi_buf_put_u8(b, (uint8_t)a->type));
        RDI_TRY(rdi_buf_put_u32(b, a->cell_val_num));
        RDI_TRY(rdi_pipeline_write(&a->filters, version, b));
        RDI_TRY(rdi_buf_put_u64(b, a->fill_size));
        RDI_TRY(rdi_buf_append(b, a->fill, (size_t)a->fill_size));
        RDI_TRY(rdi_buf_put_u8(b, (uint8_t)(a->nullable ? 1 : 0)));
        RDI_TRY(rdi_buf_put_u8(b, a->fill_validity));
        RDI_TRY(rdi_buf_put_u8(b, a->order));
        RDI_TRY(rdi_buf_put_u32(b, 0)); /* v20+: no enumeration */
    }
    RDI_TRY(rdi_buf_put_u32(b, 0)); /* v18+: no dimension labels */
    RDI_TRY(rdi_buf_put_u32(b, 0)); /* v20+: no enumerations */
    if (version >= 22) {
        /* The empty current domain: version 0 (TileDB refuses 1), empty = 1. */
        RDI_TRY(rdi_buf_put_u32(b, 0));
        RDI_TRY(rdi_buf_put_u8(b, 1));
    }
    return RADI_OK;
}

/* --------------------------------------------------------------- deserialize -- */

static radi_status read_dim(rdi_rd *r, uint32_t version, uint32_t idx, rdi_dim *d)
{
    uint8_t type, null_extent;
    uint64_t dom_size;
    RDI_TRY(rdi_rd_str32(r, &d->name, "dimension name"));
    RDI_TRY(rdi_rd_u8(r, &type, "dimension type"));
    d->type = (radi_datatype)type;
    RDI_TRY(rdi_rd_u32(r, &d->cell_val_num, "dimension cell_val_num"));
    RDI_TRY(rdi_pipeline_read(r, version, &d->filters));
    RDI_TRY(rdi_rd_u64(r, &dom_size, "dimension domain size"));
    int string_dim = d->type == RADI_STRING_ASCII;
    if (!string_dim && (!rdi_datatype_is_known(d->type) ||
                        !(rdi_datatype_is_integer(d->type) || rdi_datatype_is_float(d->type))))
        return rdi_error(RADI_E_UNSUPPORTED, "%s: dimension %u ('%s') has unsupported type code %u",
                         r->what, idx, d->name, type);
    size_t vs = rdi_dim_size(d);
    if (string_dim) {
        if (!is_var(d->cell_val_num) || dom_size != 0)
            return rdi_error(RADI_E_CORRUPT, "%s: string dimension '%s' must be var-sized with no domain",
                             r->what, d->name);
    } else {
        if (d->cell_val_num != 1)
            return rdi_error(RADI_E_CORRUPT, "%s: dimension '%s' has cell_val_num %u (expected 1)",
                             r->what, d->name, d->cell_val_num);
        if (dom_size != 2 * vs)
            return rdi_error(RADI_E_CORRUPT, "%s: dimension '%s' domain has %llu bytes, expected %zu",
                             r->what, d->name, (unsigned long long)dom_size, 2 * vs);
        RDI_TRY(rdi_rd_bytes(r, d->lo, vs, "dimension domain"));
        RDI_TRY(rdi_rd_bytes(r, d->hi, vs, "dimension domain"));
        d->has_domain = 1;
    }
    RDI_TRY(rdi_rd_u8(r, &null_extent, "dimension null tile extent"));
    if (null_extent == 0) {
        if (string_dim)
            return rdi_error(RADI_E_CORRUPT, "%s: string dimension '%s' has a tile extent", r->what, d->name);
        RDI_TRY(rdi_rd_bytes(r, d->extent, vs, "dimension tile extent"));
        d->has_extent = 1;
    }
    return RADI_OK;
}

static radi_status read_attr(rdi_rd *r, uint32_t version, uint32_t idx, rdi_attr *a)
{
    uint8_t type, u8;
    RDI_TRY(rdi_rd_str32(r, &a->name, "attribute name"));
    RDI_TRY(rdi_rd_u8(r, &type, "attribute type"));
    a->type = (radi_datatype)type;
    if (!rdi_datatype_is_known(a->type) || a->type == RADI_ANY)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: attribute %u ('%s') has unsupported type code %u",
                         r->what, idx, a->name, type);
    RDI_TRY(rdi_rd_u32(r, &a->cell_val_num, "attribute cell_val_num"));
    if (a->cell_val_num == 0)
        return rdi_error(RADI_E_CORRUPT, "%s: attribute '%s' has cell_val_num 0", r->what, a->name);
    RDI_TRY(rdi_pipeline_read(r, version, &a->filters));
    RDI_TRY(rdi_rd_u64(r, &a->fill_size, "attribute fill size"));
    if (a->fill_size == 0 || a->fill_size > rdi_rd_left(r))
        return rdi_error(RADI_E_CORRUPT, "%s: attribute '%s' fill size %llu is invalid", r->what, a->name,
                         (unsigned long long)a->fill_size);
    if (!is_var(a->cell_val_num) && a->fill_size != rdi_attr_cell_size(a))
        return rdi_error(RADI_E_CORRUPT, "%s: attribute '%s' fill has %llu bytes, cells have %u",
                         r->what, a->name, (unsigned long long)a->fill_size, rdi_attr_cell_size(a));
    if (!(a->fill = rdi_malloc((size_t)a->fill_size))) return RADI_E_NOMEM;
    RDI_TRY(rdi_rd_bytes(r, a->fill, (size_t)a->fill_size, "attribute fill"));
    RDI_TRY(rdi_rd_u8(r, &u8, "attribute nullable"));
    a->nullable = u8 != 0;
    RDI_TRY(rdi_rd_u8(r, &a->fill_validity, "attribute fill validity"));
    if (version >= 17) RDI_TRY(rdi_rd_u8(r, &a->order, "attribute order"));
    if (a->order != 0)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: attribute '%s' is ordered (order %u)", r->what,
                         a->name, a->order);
    if (version >= 20) {
        uint32_t enum_len;
        RDI_TRY(rdi_rd_u32(r, &enum_len, "attribute enumeration name length"));
        if (enum_len)
            return rdi_error(RADI_E_UNSUPPORTED, "%s: attribute '%s' uses an enumeration", r->what,
                             a->name);
    }
    return RADI_OK;
}

/* v22's current domain: parsed to stay in sync, then dropped (radi writes only the empty
 * one; a non-empty one only narrows where writes may go). */
static radi_status skip_current_domain(rdi_rd *r, const radi_schema *s)
{
    uint32_t cd_version;
    uint8_t empty, kind;
    RDI_TRY(rdi_rd_u32(r, &cd_version, "current domain version"));
    if (cd_version != 0)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: current domain version %u (only 0 is known)", r->what,
                         cd_version);
    RDI_TRY(rdi_rd_u8(r, &empty, "current domain empty flag"));
    if (empty) return RADI_OK;
    RDI_TRY(rdi_rd_u8(r, &kind, "current domain type"));
    if (kind != 0)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: current domain type %u", r->what, kind);
    for (uint32_t i = 0; i < s->ndim; i++) {
        const uint8_t *skip;
        if (s->dims[i].type == RADI_STRING_ASCII) {
            uint64_t range_len, lo_len;
            RDI_TRY(rdi_rd_u64(r, &range_len, "current domain range size"));
            RDI_TRY(rdi_rd_u64(r, &lo_len, "current domain range start size"));
            if (range_len > rdi_rd_left(r) || lo_len > range_len)
                return rdi_error(RADI_E_CORRUPT, "%s: current domain range of %llu bytes is invalid",
                                 r->what, (unsigned long long)range_len);
            RDI_TRY(rdi_rd_view(r, &skip, (size_t)range_len, "current domain range"));
        } else {
            RDI_TRY(rdi_rd_view(r, &skip, 2 * rdi_dim_size(&s->dims[i]), "current domain range"));
        }
    }
    return RADI_OK;
}

static radi_status deserialize(rdi_rd *r, radi_schema *s)
{
    uint8_t u8;
    uint32_t v;
    RDI_TRY(rdi_rd_u32(r, &v, "schema version"));
    if (v < RDI_FORMAT_MIN || v > RDI_FORMAT_MAX_READ)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: array format version %u is not supported (%d..%d)",
                         r->what, v, RDI_FORMAT_MIN, RDI_FORMAT_MAX_READ);
    s->version = v;
    RDI_TRY(rdi_rd_u8(r, &u8, "allows_dups"));
    s->allows_dups = u8 != 0;
    RDI_TRY(rdi_rd_u8(r, &u8, "array type"));
    if (u8 > 1) return rdi_error(RADI_E_CORRUPT, "%s: array type %u is invalid", r->what, u8);
    s->type = (radi_array_type)u8;
    RDI_TRY(rdi_rd_u8(r, &u8, "tile order"));
    if (u8 > 1) return rdi_error(RADI_E_CORRUPT, "%s: tile order %u is invalid", r->what, u8);
    s->tile_order = (radi_layout)u8;
    RDI_TRY(rdi_rd_u8(r, &u8, "cell order"));
    if (u8 == 4)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: Hilbert cell order is not supported", r->what);
    if (u8 > 1) return rdi_error(RADI_E_CORRUPT, "%s: cell order %u is invalid", r->what, u8);
    s->cell_order = (radi_layout)u8;
    RDI_TRY(rdi_rd_u64(r, &s->capacity, "capacity"));
    RDI_TRY(rdi_pipeline_read(r, v, &s->coords_filters));
    RDI_TRY(rdi_pipeline_read(r, v, &s->offsets_filters));
    RDI_TRY(rdi_pipeline_read(r, v, &s->validity_filters));

    uint32_t ndim, nattr;
    RDI_TRY(rdi_rd_u32(r, &ndim, "dimension count"));
    /* A dimension or attribute takes at least 26 bytes: bounds the allocation by the input. */
    if (ndim == 0 || ndim > rdi_rd_left(r) / 26)
        return rdi_error(RADI_E_CORRUPT, "%s: dimension count %u is invalid", r->what, ndim);
    if (!(s->dims = rdi_calloc(ndim, sizeof *s->dims))) return RADI_E_NOMEM;
    s->ndim = ndim; /* zeroed entries: a failure part way frees cleanly */
    for (uint32_t i = 0; i < ndim; i++) RDI_TRY(read_dim(r, v, i, &s->dims[i]));

    RDI_TRY(rdi_rd_u32(r, &nattr, "attribute count"));
    if (nattr > rdi_rd_left(r) / 26)
        return rdi_error(RADI_E_CORRUPT, "%s: attribute count %u is invalid", r->what, nattr);
    if (nattr && !(s->attrs = rdi_calloc(nattr, sizeof *s->attrs))) return RADI_E_NOMEM;
    s->nattr = nattr;
    for (uint32_t i = 0; i < nattr; i++) RDI_TRY(read_attr(r, v, i, &s->attrs[i]));

    if (v >= 18) {
        uint32_t nlabels;
        RDI_TRY(rdi_rd_u32(r, &nlabels, "dimension label count"));
        if (nlabels)
            return rdi_error(RADI_E_UNSUPPORTED, "%s: dimension labels (%u) are not supported", r->what, nlabels);
    }
    if (v >= 20) {
        uint32_t nenums;
        RDI_TRY(rdi_rd_u32(r, &nenums, "enumeration count"));
        if (nenums)
            return rdi_error(RADI_E_UNSUPPORTED, "%s: enumerations (%u) are not supported", r->what, nenums);
    }
    if (v >= 22) RDI_TRY(skip_current_domain(r, s));

    if (s->type == RADI_DENSE) {
        for (uint32_t i = 0; i < s->ndim; i++)
            if (!s->dims[i].has_domain || !rdi_datatype_is_integer(s->dims[i].type))
                return rdi_error(RADI_E_CORRUPT, "%s: dense array with non-integer dimension '%s'",
                                 r->what, s->dims[i].name);
        if (s->nattr == 0)
            return rdi_error(RADI_E_CORRUPT, "%s: dense array without attributes", r->what);
    }
    return RADI_OK;
}

radi_status rdi_schema_deserialize(const void *payload, size_t len, const char *what,
                                   radi_schema **out)
{
    rdi_rd r;
    rdi_rd_init(&r, payload, len, what);
    radi_schema *s = rdi_calloc(1, sizeof *s);
    if (!s) return RADI_E_NOMEM;
    radi_status st = deserialize(&r, s);
    if (st != RADI_OK) {
        radi_schema_free(s);
        return st;
    }
    *out = s;
    return RADI_OK;
}

/* ---------------------------------------------------------------- public API -- */

#define NEED(x, fn)                                                          \
    do {                                                                     \
        if (!(x)) return rdi_error(RADI_E_INVALID, fn ": " #x " is NULL");   \
    } while (0)

radi_status radi_schema_set_order(radi_schema *s, radi_layout tile_order, radi_layout cell_order)
{
    NEED(s, "radi_schema_set_order");
    RDI_TRY(check_order(tile_order, "tile order"));
    RDI_TRY(check_order(cell_order, "cell order"));
    s->tile_order = tile_order;
    s->cell_order = cell_order;
    return RADI_OK;
}

radi_status radi_schema_set_capacity(radi_schema *s, uint64_t capacity)
{
    NEED(s, "radi_schema_set_capacity");
    if (capacity == 0) return rdi_error(RADI_E_INVALID, "radi_schema_set_capacity: capacity is 0");
    s->capacity = capacity;
    return RADI_OK;
}

radi_status radi_schema_set_allows_dups(radi_schema *s, int allows_dups)
{
    NEED(s, "radi_schema_set_allows_dups");
    if (allows_dups && s->type == RADI_DENSE)
        return rdi_error(RADI_E_INVALID, "radi_schema_set_allows_dups: dense arrays cannot allow duplicates");
    s->allows_dups = allows_dups != 0;
    return RADI_OK;
}

static radi_status set_filters(radi_schema *s, radi_filter_list *dst, const radi_filter_list *f,
                               const char *fn)
{
    if (!s || !f) return rdi_error(RADI_E_INVALID, "%s: NULL argument", fn);
    if (f->count > RADI_MAX_FILTERS)
        return rdi_error(RADI_E_INVALID, "%s: %u filters (at most %d)", fn, f->count, RADI_MAX_FILTERS);
    *dst = *f;
    return RADI_OK;
}

radi_status radi_schema_set_coords_filters(radi_schema *s, const radi_filter_list *f)
{
    return set_filters(s, s ? &s->coords_filters : NULL, f, "radi_schema_set_coords_filters");
}
radi_status radi_schema_set_offsets_filters(radi_schema *s, const radi_filter_list *f)
{
    return set_filters(s, s ? &s->offsets_filters : NULL, f, "radi_schema_set_offsets_filters");
}
radi_status radi_schema_set_validity_filters(radi_schema *s, const radi_filter_list *f)
{
    return set_filters(s, s ? &s->validity_filters : NULL, f, "radi_schema_set_validity_filters");
}

radi_status radi_schema_add_dim(radi_schema *s, const char *name, radi_datatype type, const void *lo,
                                const void *hi, const void *extent, const radi_filter_list *filters)
{
    NEED(s, "radi_schema_add_dim");
    RDI_TRY(check_new_name(s, name, "dimension"));
    rdi_dim d;
    memset(&d, 0, sizeof d);
    d.type = type;
    if (filters) {
        if (filters->count > RADI_MAX_FILTERS)
            return rdi_error(RADI_E_INVALID, "dimension '%s': too many filters", name);
        d.filters = *filters;
    } else {
        radi_filter_list_init(&d.filters);
    }
    if (type == RADI_STRING_ASCII) {
        if (lo || hi || extent)
            return rdi_error(RADI_E_INVALID, "dimension '%s': string dimensions take no domain or extent", name);
        d.cell_val_num = RADI_VAR_NUM;
    } else {
        if (!rdi_datatype_is_known(type) || radi_datatype_size(type) > 8)
            return rdi_error(RADI_E_INVALID, "dimension '%s': unknown type %d", name, (int)type);
        if (!lo || !hi) return rdi_error(RADI_E_INVALID, "dimension '%s': lo and hi are required", name);
        size_t vs = radi_datatype_size(type);
        d.cell_val_num = 1;
        d.has_domain = 1;
        memcpy(d.lo, lo, vs);
        memcpy(d.hi, hi, vs);
        if (extent) {
            d.has_extent = 1;
            memcpy(d.extent, extent, vs);
        }
    }
    d.name = (char *)name; /* borrowed only for the check below */
    RDI_TRY(check_dim(s, &d));
    rdi_dim *nd = realloc(s->dims, (s->ndim + 1) * sizeof *nd);
    if (!nd) return rdi_nomem();
    s->dims = nd;
    if (!(d.name = rdi_strdup(name))) return RADI_E_NOMEM;
    s->dims[s->ndim++] = d;
    return RADI_OK;
}

radi_status radi_schema_add_attr(radi_schema *s, const char *name, radi_datatype type,
                                 uint32_t cell_val_num, int nullable, const radi_filter_list *filters,
                                 const void *fill, uint64_t fill_size)
{
    NEED(s, "radi_schema_add_attr");
    RDI_TRY(check_new_name(s, name, "attribute"));
    rdi_attr a;
    memset(&a, 0, sizeof a);
    a.type = type;
    a.cell_val_num = cell_val_num;
    a.nullable = nullable != 0;
    a.name = (char *)name;
    if (filters) {
        if (filters->count > RADI_MAX_FILTERS)
            return rdi_error(RADI_E_INVALID, "attribute '%s': too many filters", name);
        a.filters = *filters;
    } else {
        radi_filter_list_init(&a.filters);
    }
    if (!rdi_datatype_is_known(type) || type == RADI_ANY)
        return rdi_error(RADI_E_INVALID, "attribute '%s': unsupported type %d", name, (int)type);
    if (cell_val_num == 0) return rdi_error(RADI_E_INVALID, "attribute '%s': cell_val_num is 0", name);
    if (fill) {
        if (fill_size == 0 || (!is_var(cell_val_num) && fill_size != rdi_attr_cell_size(&a)))
            return rdi_error(RADI_E_INVALID, "attribute '%s': fill value has %llu bytes, cells have %u",
                             name, (unsigned long long)fill_size, rdi_attr_cell_size(&a));
        if (!(a.fill = rdi_malloc((size_t)fill_size))) return RADI_E_NOMEM;
        memcpy(a.fill, fill, (size_t)fill_size);
        a.fill_size = fill_size;
    } else {
        RDI_TRY(default_fill(type, cell_val_num, &a.fill, &a.fill_size));
    }
    rdi_attr *na = realloc(s->attrs, (s->nattr + 1) * sizeof *na);
    if (!na) {
        free(a.fill);
        return rdi_nomem();
    }
    s->attrs = na;
    if (!(a.name = rdi_strdup(name))) {
        free(a.fill);
        return RADI_E_NOMEM;
    }
    s->attrs[s->nattr++] = a;
    return RADI_OK;
}

radi_status radi_schema_get_info(const radi_schema *s, radi_schema_info *out)
{
    if (!s || !out) return rdi_error(RADI_E_INVALID, "radi_schema_get_info: NULL argument");
    out->version = s->version;
    out->type = s->type;
    out->tile_order = s->tile_order;
    out->cell_order = s->cell_order;
    out->capacity = s->capacity;
    out->allows_dups = s->allows_dups;
    out->ndim = s->ndim;
    out->nattr = s->nattr;
    out->coords_filters = s->coords_filters;
    out->offsets_filters = s->offsets_filters;
    out->validity_filters = s->validity_filters;
    return RADI_OK;
}

radi_status radi_schema_get_dim(const radi_schema *s, uint32_t i, radi_dim_info *out)
{
    if (!s || !out) return rdi_error(RADI_E_INVALID, "radi_schema_get_dim: NULL argument");
    if (i >= s->ndim)
        return rdi_error(RADI_E_NOT_FOUND, "radi_schema_get_dim: index %u out of %u dimensions", i, s->ndim);
    const rdi_dim *d = &s->dims[i];
    memset(out, 0, sizeof *out);
    out->name = d->name;
    out->type = d->type;
    out->cell_val_num = d->cell_val_num;
    out->has_domain = d->has_domain;
    memcpy(out->lo, d->lo, 8);
    memcpy(out->hi, d->hi, 8);
    out->has_extent = d->has_extent;
    memcpy(out->extent, d->extent, 8);
    out->filters = d->filters;
    return RADI_OK;
}

radi_status radi_schema_get_attr(const radi_schema *s, uint32_t i, radi_attr_info *out)
{
    if (!s || !out) return rdi_error(RADI_E_INVALID, "radi_schema_get_attr: NULL argument");
    if (i >= s->nattr)
        return rdi_error(RADI_E_NOT_FOUND, "radi_schema_get_attr: index %u out of %u attributes", i, s->nattr);
    const rdi_attr *a = &s->attrs[i];
    out->name = a->name;
    out->type = a->type;
    out->cell_val_num = a->cell_val_num;
    out->nullable = a->nullable;
    out->fill = a->fill;
    out->fill_size = a->fill_size;
    out->filters = a->filters;
    return RADI_OK;
}

radi_status radi_schema_attr_index(const radi_schema *s, const char *name, uint32_t *out)
{
    if (!s || !name || !out) return rdi_error(RADI_E_INVALID, "radi_schema_attr_index: NULL argument");
    for (uint32_t i = 0; i < s->nattr; i++) {
        if (strcmp(s->attrs[i].name, name) == 0) {
            *out = i;
            return RADI_OK;
        }
    }
    return rdi_error(RADI_E_NOT_FOUND, "schema has no attribute '%s'", name);
}
