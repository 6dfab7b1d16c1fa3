/*
 * Volumes: dense 3-D / 4-D arrays laid out as RadiObject 0.1.1 writes them
 * (docs/dataset.md §4): dims x, y, z[, t] INT32 over [0, n-1], tile
 * extents from the orientation clipped to the shape, attribute "voxels", row-major,
 * and the array metadata key "tile_orientation" as a STRING_UTF8 value. Opens also
 * take a dense array whose single numeric attribute has another name (volume.h).
 */
#include <math.h>
#include <stdlib.h>

#include "radi/nifti.h"
#include "radi/volume.h"
#include "ctx/ctx.h"
#include "tdb/tdb.h"
#include "model/dataset.h"
#include "model/volume_int.h"

#define RDI_ISOTROPIC_EXTENT 64
#define RDI_ORIENTATION_KEY "tile_orientation"
#define RDI_META_SCL_SLOPE "nifti_scl_slope"
#define RDI_META_SCL_INTER "nifti_scl_inter"

static const char *const rdi_orientation_names[] = {"axial", "sagittal", "coronal", "isotropic"};
static const char *const rdi_axis_names[] = {"x", "y", "z", "t"};

/* Bytes of a box with extent[d] cells per axis; 0 on overflow (the caller reports it). */
static uint64_t box_bytes(uint32_t ndim, const uint64_t *extent, radi_datatype dtype)
{
    uint64_t n = radi_datatype_size(dtype);
    for (uint32_t d = 0; d < ndim; d++)
        if (__builtin_mul_overflow(n, extent[d], &n)) return 0;
    return n;
}

const char *radi_orientation_name(radi_orientation o)
{
    if ((unsigned)o > RADI_ISOTROPIC) return NULL;
    return rdi_orientation_names[o];
}

radi_status radi_orientation_parse(const char *name, radi_orientation *out)
{
    if (!name || !out) return rdi_error(RADI_E_INVALID, "radi_orientation_parse: NULL argument");
    for (int i = 0; i <= RADI_ISOTROPIC; i++) {
        if (strcmp(name, rdi_orientation_names[i]) == 0) {
            *out = (radi_orientation)i;
            return RADI_OK;
        }
    }
    return rdi_error(RADI_E_INVALID,
                     "unknown tile orientation '%s' (expected axial, sagittal, coronal or isotropic)",
                     name);
}

void radi_tile_config_init(radi_tile_config *tc)
{
    tc->orientation = RADI_AXIAL;
    tc->x = tc->y = tc->z = 0;
    tc->t = 1;
}

void radi_compression_init(radi_compression *c)
{
    c->algorithm = RADI_FILTER_ZSTD;
    c->level = 3;
    c->shuffle = 0;
}

static radi_status check_shape(uint32_t ndim, const uint64_t *shape)
{
    if (ndim != 3 && ndim != 4)
        return rdi_error(RADI_E_INVALID, "volume shape must be 3D or 4D, got %uD", ndim);
    for (uint32_t d = 0; d < ndim; d++) {
        /* The domain is INT32 [0, n-1], so n - 1 must fit in an int32. */
        if (shape[d] < 1 || shape[d] > (uint64_t)INT32_MAX + 1)
            return rdi_error(RADI_E_INVALID, "volume shape: axis %s has size %llu (must be 1..2^31)",
                             rdi_axis_names[d], (unsigned long long)shape[d]);
    }
    return RADI_OK;
}

radi_status radi_tile_extents_for_shape(const radi_tile_config *tc, uint32_t ndim,
                                        const uint64_t *shape, uint64_t *extents)
{
    if (!tc || !shape || !extents)
        return rdi_error(RADI_E_INVALID, "radi_tile_extents_for_shape: NULL argument");
    RDI_TRY(check_shape(ndim, shape));
    if ((unsigned)tc->orientation > RADI_ISOTROPIC)
        return rdi_error(RADI_E_INVALID, "unknown tile orientation %d", (int)tc->orientation);
    if (tc->t < 1) return rdi_error(RADI_E_INVALID, "tile extent t must be >= 1, got 0");
    uint64_t e[3];
    switch (tc->orientation) {
    case RADI_AXIAL: e[0] = shape[0]; e[1] = shape[1]; e[2] = 1; break;
    case RADI_SAGITTAL: e[0] = 1; e[1] = shape[1]; e[2] = shape[2]; break;
    case RADI_CORONAL: e[0] = shape[0]; e[1] = 1; e[2] = shape[2]; break;
    default: e[0] = e[1] = e[2] = RDI_ISOTROPIC_EXTENT; break;
    }
    const uint32_t over[3] = {tc->x, tc->y, tc->z};
    for (int d = 0; d < 3; d++) extents[d] = over[d] ? over[d] : e[d];
    if (ndim == 4) extents[3] = tc->t;
    return RADI_OK;
}

/* The attribute filter list of a compression setting: [shuffle,] codec, or nothing. */
static radi_status compression_filters(const radi_compression *c, radi_filter_list *fl)
{
    radi_filter_list_init(fl);
    if (c->shuffle < 0 || c->shuffle > 2)
        return rdi_error(RADI_E_INVALID, "compression shuffle must be 0 (none), 1 (byte) or 2 (bit), got %d",
                         c->shuffle);
    if (c->shuffle == 1) RDI_TRY(radi_filter_list_add(fl, RADI_FILTER_BYTESHUFFLE, -1));
    if (c->shuffle == 2) RDI_TRY(radi_filter_list_add(fl, RADI_FILTER_BITSHUFFLE, -1));
    switch (c->algorithm) {
    case RADI_FILTER_NONE: return RADI_OK;
    case RADI_FILTER_ZSTD:
    case RADI_FILTER_LZ4:
        /* RadiObject's CompressionConfig accepts -1..22 for every codec. */
        if (c->level < -1 || c->level > 22)
            return rdi_error(RADI_E_INVALID, "%s compression level must be -1..22, got %d",
                             radi_filter_type_name(c->algorithm), c->level);
        break;
    case RADI_FILTER_GZIP:
        /* zlib refuses anything else at write time; say so before creating the array. */
        if (c->level < -1 || c->level > 9)
            return rdi_error(RADI_E_INVALID, "gzip compression level must be -1..9, got %d", c->level);
        break;
    default:
        return rdi_error(RADI_E_INVALID, "volume compression must be zstd, lz4, gzip or none, got %s",
                         radi_filter_type_name(c->algorithm));
    }
    return radi_filter_list_add(fl, c->algorithm, c->level);
}

static int volume_dtype_ok(radi_datatype t)
{
    switch (t) {
    case RADI_INT8: case RADI_UINT8: case RADI_INT16: case RADI_UINT16:
    case RADI_INT32: case RADI_UINT32: case RADI_INT64: case RADI_UINT64:
    case RADI_FLOAT32: case RADI_FLOAT64: case RADI_BOOL:
        return 1;
    default:
        return 0;
    }
}

static radi_status volume_schema(uint32_t ndim, const uint64_t *shape, radi_datatype dtype,
                                 const radi_tile_config *tile, const radi_compression *comp,
                                 radi_schema **out)
{
    uint64_t ext[4];
    RDI_TRY(radi_tile_extents_for_shape(tile, ndim, shape, ext));
    radi_filter_list fl;
    RDI_TRY(compression_filters(comp, &fl));
    radi_schema *s = NULL;
    RDI_TRY(radi_schema_create(RADI_DENSE, &s));
    radi_status st = radi_schema_set_order(s, RADI_ROW_MAJOR, RADI_ROW_MAJOR);
    for (uint32_t d = 0; d < ndim && st == RADI_OK; d++) {
        int32_t lo = 0, hi = (int32_t)(shape[d] - 1);
        /* Clipped at creation as RadiObject does (TileDB refuses extents beyond the domain). */
        int32_t e = (int32_t)RDI_MIN(ext[d], shape[d]);
        /* NULL filters: dimensions keep TileDB's default (inherit the coords filters). */
        st = radi_schema_add_dim(s, rdi_axis_names[d], RADI_INT32, &lo, &hi, &e, NULL);
    }
    if (st == RADI_OK) st = radi_schema_add_attr(s, RDI_VOXELS, dtype, 1, 0, &fl, NULL, 0);
    if (st != RADI_OK) {
        radi_schema_free(s);
        return st;
    }
    *out = s;
    return RADI_OK;
}

/* Writes the orientation key, then the data (if any) as one fragment (0.1.1's order: create writes
 * the metadata, from_numpy then writes the voxels). */
static radi_status volume_fill(radi_ctx *ctx, const char *uri, uint32_t ndim, const uint64_t *shape,
                               radi_datatype dtype, const void *data, radi_layout layout, radi_orientation o,
                               rdi_volume_meta_fn meta_fn, void *meta_arg)
{
    radi_array *a = NULL;
    RDI_TRY(radi_array_open(ctx, uri, 0, 0, &a));
    const char *name = radi_orientation_name(o);
    radi_meta_item orient = {RDI_ORIENTATION_KEY, RADI_STRING_UTF8, (uint32_t)strlen(name), name};
    radi_status st = meta_fn ? meta_fn(radi_array_meta(a), &orient, meta_arg)
                             : radi_meta_put_many(radi_array_meta(a), 1, &orient);
    if (st == RADI_OK && data) {
        int64_t box[8];
        for (uint32_t d = 0; d < ndim; d++) {
            box[2 * d] = 0;
            box[2 * d + 1] = (int64_t)shape[d] - 1;
        }
        radi_field_buffer fb = {RDI_VOXELS, (void *)data, box_bytes(ndim, shape, dtype), NULL};
        st = radi_array_write_dense(a, box, layout, 1, &fb, 0);
    }
    radi_array_close(a);
    return st;
}

radi_status radi_volume_create(radi_ctx *ctx, const char *uri, uint32_t ndim, const uint64_t *shape,
                               radi_datatype dtype, const radi_tile_config *tile,
                               const radi_compression *compression, radi_volume **out)
{
    return rdi_volume_from_buffer_layout(ctx, uri, ndim, shape, dtype, NULL, RADI_ROW_MAJOR, tile,
                                         compression, NULL, NULL, out);
}

radi_status radi_volume_from_buffer(radi_ctx *ctx, const char *uri, uint32_t ndim,
                                    const uint64_t *shape, radi_datatype dtype, const void *data,
                                    const radi_tile_config *tile,
                                    const radi_compression *compression, radi_volume **out)
{
    return rdi_volume_from_buffer_layout(ctx, uri, ndim, shape, dtype, data, RADI_ROW_MAJOR, tile,
                                         compression, NULL, NULL, out);
}

radi_status rdi_volume_from_buffer_layout(radi_ctx *ctx, const char *uri, uint32_t ndim,
                                          const uint64_t *shape, radi_datatype dtype,
                                          const void *data, radi_layout layout,
                                          const radi_tile_config *tile,
                                          const radi_compression *compression, rdi_volume_meta_fn meta_fn,
                                          void *meta_arg, radi_volume **out)
{
    if (!ctx || !uri || !shape)
        return rdi_error(RADI_E_INVALID, "radi_volume_from_buffer: NULL argument");
    RDI_TRY(check_shape(ndim, shape));
    if (!volume_dtype_ok(dtype))
        return rdi_error(RADI_E_INVALID, "%s: volume dtype must be numeric or bool, got %s", uri,
                         radi_datatype_name(dtype));
    /* An empty volume (data NULL) is never held in memory, so any shape the array takes. */
    if (data && box_bytes(ndim, shape, dtype) == 0)
        return rdi_error(RADI_E_INVALID, "%s: volume of this shape does not fit in memory", uri);
    radi_tile_config tdef;
    radi_compression cdef;
    if (!tile) {
        radi_tile_config_init(&tdef);
        tile = &tdef;
    }
    if (!compression) {
        radi_compression_init(&cdef);
        compression = &cdef;
    }
    radi_schema *schema = NULL;
    radi_status st = volume_schema(ndim, shape, dtype, tile, compression, &schema);
    if (st != RADI_OK) return rdi_error_wrap(st, "%s", uri);
    st = radi_array_create(ctx, uri, schema);
    radi_schema_free(schema);
    RDI_TRY(st);
    st = volume_fill(ctx, uri, ndim, shape, dtype, data, layout, tile->orientation, meta_fn, meta_arg);
    if (st != RADI_OK) {
        /* Leave nothing half-made behind; keep the original reason. */
        char *why = rdi_strdup(radi_errmsg());
        radi_object_remove(ctx, uri);
        rdi_error(st, "%s", why ? why : "volume write failed");
        free(why);
        return st;
    }
    if (out) return radi_volume_open(ctx, uri, out);
    return RADI_OK;
}

/* Checks that an open array has a volume's layout and fills vol's shape and dtype. */
static radi_status volume_check(const char *uri, const radi_schema *s, radi_volume *vol)
{
    radi_schema_info si;
    RDI_TRY(radi_schema_get_info(s, &si));
    if (si.type != RADI_DENSE)
        return rdi_error(RADI_E_INVALID, "%s: not a volume: the array is sparse", uri);
    if (si.ndim != 3 && si.ndim != 4)
        return rdi_error(RADI_E_INVALID, "%s: not a volume: %u dimensions (a volume has 3 or 4)", uri,
                         si.ndim);
    /* The voxels are "voxels"; an array without it whose only attribute is numeric
     * (written by other TileDB code, e.g. TileDB-Py with attribute "data") is read
     * through that one, as 0.1.1 reads it. With several attributes and no "voxels" none
     * can be chosen without guessing. */
    uint32_t ai;
    if (radi_schema_attr_index(s, RDI_VOXELS, &ai) != RADI_OK) {
        if (si.nattr != 1)
            return rdi_error(RADI_E_INVALID,
                             "%s: not a volume: no attribute '" RDI_VOXELS "' and %u attributes, so none "
                             "stands for the voxels",
                             uri, si.nattr);
        ai = 0;
    }
    radi_attr_info at;
    RDI_TRY(radi_schema_get_attr(s, ai, &at));
    if (at.cell_val_num != 1 || at.nullable || !volume_dtype_ok(at.type))
        return rdi_error(RADI_E_INVALID,
                         "%s: not a volume: attribute '%s' must be one non-nullable numeric value per cell",
                         uri, at.name);
    for (uint32_t d = 0; d < si.ndim; d++) {
        radi_dim_info di;
        RDI_TRY(radi_schema_get_dim(s, d, &di));
        if (!di.has_domain || !rdi_datatype_is_integer(di.type))
            return rdi_error(RADI_E_INVALID, "%s: not a volume: dimension '%s' is not an integer dimension",
                             uri, di.name);
        /* The engine's own widening of the stored domain (any integer type). */
        int64_t lo = rdi_dim_lo(&s->dims[d]), hi = rdi_dim_hi(&s->dims[d]);
        if (hi < lo)
            return rdi_error(RADI_E_CORRUPT, "%s: dimension '%s' has an empty domain", uri, di.name);
        vol->lo[d] = lo;
        vol->shape[d] = (uint64_t)(hi - lo) + 1;
    }
    vol->ndim = si.ndim;
    vol->dtype = at.type;
    vol->attr = at.name;
    return RADI_OK;
}

/* A string metadata value copied into buf (NUL-terminated): 1, or 0 when absent or not
 * a string, or -1 when it does not fit. */
static int meta_str(const radi_meta *m, const char *key, char *buf, size_t cap)
{
    radi_datatype t;
    uint32_t n;
    const void *p;
    if (radi_meta_get(m, key, &t, &n, &p) != RADI_OK) return 0;
    if (t != RADI_STRING_UTF8 && t != RADI_STRING_ASCII && t != RADI_CHAR) return 0;
    if (n >= cap) return -1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return 1;
}

/* A string metadata value as a number: 1, or 0 when absent, or -1 when it is not one. */
static int meta_double(const radi_meta *m, const char *key, double *out)
{
    char buf[64], *end;
    int r = meta_str(m, key, buf, sizeof buf);
    if (r <= 0) return r;
    double v = strtod(buf, &end);
    if (end == buf || *end) return -1;
    *out = v;
    return 1;
}

/* The scaling policy of include/radi/volume.h: a finite, non-zero slope with a finite
 * intercept scales reads; (1, 0) and a missing or zero slope do not. */
static radi_status load_scaling(const char *uri, const radi_meta *m, radi_volume *vol)
{
    double slope = 1, inter = 0;
    int has_slope = meta_double(m, RDI_META_SCL_SLOPE, &slope);
    if (has_slope < 0 || meta_double(m, RDI_META_SCL_INTER, &inter) < 0)
        return rdi_error(RADI_E_CORRUPT, "%s: metadata " RDI_META_SCL_SLOPE "/" RDI_META_SCL_INTER
                         " is not a number", uri);
    if (has_slope == 0 || slope == 0 || !isfinite(slope)) slope = 1, inter = 0;
    if (!isfinite(inter))
        return rdi_error(RADI_E_CORRUPT, "%s: metadata " RDI_META_SCL_INTER " is not finite", uri);
    vol->slope = slope;
    vol->inter = inter;
    vol->has_scaling = !(slope == 1 && inter == 0);
    return RADI_OK;
}

radi_status radi_volume_open(radi_ctx *ctx, const char *uri, radi_volume **out)
{
    if (!ctx || !uri || !out) return rdi_error(RADI_E_INVALID, "radi_volume_open: NULL argument");
    radi_volume *vol = rdi_calloc(1, sizeof *vol);
    if (!vol) return RADI_E_NOMEM;
    radi_status st = radi_array_open(ctx, uri, 0, 0, &vol->array);
    if (st == RADI_OK) st = volume_check(uri, radi_array_schema(vol->array), vol);
    if (st == RADI_OK) st = load_scaling(uri, radi_array_meta(vol->array), vol);
    /* Every tile index now, so reads of the handle only read it (volume.h: concurrent reads). */
    if (st == RADI_OK) st = rdi_array_load_all_tile_index(vol->array);
    if (st != RADI_OK) {
        radi_volume_close(vol);
        return st;
    }
    *out = vol;
    return RADI_OK;
}

void radi_volume_close(radi_volume *vol)
{
    if (!vol) return;
    radi_array_close(vol->array);
    free(vol);
}

uint32_t radi_volume_ndim(const radi_volume *vol) { return vol->ndim; }
const uint64_t *radi_volume_shape(const radi_volume *vol) { return vol->shape; }
radi_datatype radi_volume_dtype(const radi_volume *vol) { return vol->dtype; }
radi_array *radi_volume_array(radi_volume *vol) { return vol->array; }

/* Checks lohi against the shape; fills the array box and the element count. */
static radi_status volume_box(const radi_volume *vol, const int64_t *lohi, int64_t *box, uint64_t *cells)
{
    const char *uri = radi_array_uri(vol->array);
    uint64_t span[4];
    for (uint32_t d = 0; d < vol->ndim; d++) {
        int64_t lo = lohi[2 * d], hi = lohi[2 * d + 1];
        if (lo < 0 || hi < lo || (uint64_t)hi >= vol->shape[d])
            return rdi_error(RADI_E_INVALID, "%s: read range [%lld, %lld] of axis %s is outside [0, %llu]",
                             uri, (long long)lo, (long long)hi, rdi_axis_names[d],
                             (unsigned long long)(vol->shape[d] - 1));
        box[2 * d] = lo + vol->lo[d];
        box[2 * d + 1] = hi + vol->lo[d];
        span[d] = (uint64_t)(hi - lo) + 1;
    }
    uint64_t bytes = box_bytes(vol->ndim, span, RADI_UINT8);
    if (bytes == 0 || box_bytes(vol->ndim, span, RADI_FLOAT64) == 0)
        return rdi_error(RADI_E_INVALID, "%s: read region too large", uri);
    *cells = bytes;
    return RADI_OK;
}

static radi_status check_out_size(const radi_volume *vol, uint64_t need, uint64_t out_size)
{
    if (out_size < need)
        return rdi_error(RADI_E_INVALID, "%s: read buffer holds %llu bytes, the region needs %llu",
                         radi_array_uri(vol->array), (unsigned long long)out_size, (unsigned long long)need);
    return RADI_OK;
}

radi_status radi_volume_read(radi_volume *vol, const int64_t *lohi, void *out, uint64_t out_size,
                             radi_read_stats *stats)
{
    if (!vol || !lohi || !out) return rdi_error(RADI_E_INVALID, "radi_volume_read: NULL argument");
    int64_t box[8];
    uint64_t cells;
    RDI_TRY(volume_box(vol, lohi, box, &cells));
    uint64_t need = cells * radi_datatype_size(vol->dtype);
    RDI_TRY(check_out_size(vol, need, out_size));
    radi_field_buffer fb = {vol->attr, out, need, NULL};
    return radi_array_read_dense(vol->array, box, RADI_ROW_MAJOR, 1, &fb, stats);
}

radi_status radi_volume_scaling(const radi_volume *vol, double *slope, double *inter, int *has_scaling)
{
    if (!vol) return rdi_error(RADI_E_INVALID, "radi_volume_scaling: NULL volume");
    if (slope) *slope = vol->slope;
    if (inter) *inter = vol->inter;
    if (has_scaling) *has_scaling = vol->has_scaling;
    return RADI_OK;
}

/* Converts a raw box in chunks on the context's pool. */
typedef struct convert_job {
    const uint8_t *in;
    uint8_t *out;
    radi_datatype t, ot;
    uint64_t n;
    double slope, inter;
} convert_job;

enum { CONVERT_CHUNK = 1 << 18 };

static radi_status convert_task(void *arg, size_t i, unsigned worker)
{
    RDI_UNUSED(worker);
    const convert_job *j = arg;
    uint64_t lo = (uint64_t)i * CONVERT_CHUNK, n = RDI_MIN((uint64_t)CONVERT_CHUNK, j->n - lo);
    rdi_scale_convert(j->in + lo * radi_datatype_size(j->t), j->t, j->out + lo * radi_datatype_size(j->ot), j->ot,
                      n, j->slope, j->inter);
    return RADI_OK;
}

radi_status radi_volume_read_scaled(radi_volume *vol, const int64_t *lohi, radi_datatype out_type, void *out,
                                    uint64_t out_size, radi_read_stats *stats)
{
    if (!vol || !lohi || !out) return rdi_error(RADI_E_INVALID, "radi_volume_read_scaled: NULL argument");
    if (out_type != RADI_FLOAT32 && out_type != RADI_FLOAT64)
        return rdi_error(RADI_E_INVALID, "%s: a scaled read returns float32 or float64, not %s",
                         radi_array_uri(vol->array), radi_datatype_name(out_type));
    int64_t box[8];
    uint64_t cells;
    RDI_TRY(volume_box(vol, lohi, box, &cells));
    RDI_TRY(check_out_size(vol, cells * radi_datatype_size(out_type), out_size));
    if (vol->dtype == out_type && !vol->has_scaling) return radi_volume_read(vol, lohi, out, out_size, stats);
    uint64_t raw_bytes = cells * radi_datatype_size(vol->dtype);
    uint8_t *raw = rdi_malloc(raw_bytes ? (size_t)raw_bytes : 1);
    if (!raw) return RADI_E_NOMEM;
    radi_status s = radi_volume_read(vol, lohi, raw, raw_bytes, stats);
    if (s == RADI_OK) {
        convert_job j = {raw, out, vol->dtype, out_type, cells, vol->slope, vol->inter};
        s = rdi_pool_for(vol->array->ctx->pool, (size_t)((cells + CONVERT_CHUNK - 1) / CONVERT_CHUNK), convert_task,
                         &j);
    }
    free(raw);
    return s;
}

/* ---------------------------------------------------------------- export -- */

static void meta_code(const radi_meta *m, const char *key, int32_t *out)
{
    char buf[32], *end;
    if (meta_str(m, key, buf, sizeof buf) != 1) return;
    long v = strtol(buf, &end, 10);
    if (end != buf && !*end && v >= INT32_MIN && v <= INT32_MAX) *out = (int32_t)v;
}

/* The 16 numbers of a JSON 4x4 matrix ("[[a, b, c, d], ...]"), row-major. */
static int parse_affine(const char *s, double *a)
{
    int n = 0;
    while (*s && n < 16) {
        if (*s == '[' || *s == ']' || *s == ',' || *s == ' ') {
            s++;
            continue;
        }
        char *end;
        a[n] = strtod(s, &end);
        if (end == s || !isfinite(a[n])) return -1;
        n++;
        s = end;
    }
    while (*s == ']' || *s == ' ') s++;
    return n == 16 && *s == '\0' ? 0 : -1;
}

radi_status radi_volume_to_nifti(radi_volume *vol, const char *path)
{
    if (!vol || !path) return rdi_error(RADI_E_INVALID, "radi_volume_to_nifti: NULL argument");
    const char *uri = radi_array_uri(vol->array);
    const radi_meta *m = radi_array_meta(vol->array);
    radi_nifti_header hdr;
    radi_nifti_header_init(&hdr);
    hdr.datatype = vol->dtype;
    hdr.ndim = vol->ndim;
    uint64_t n = 1;
    for (uint32_t d = 0; d < hdr.ndim; d++) n *= hdr.shape[d] = vol->shape[d];
    /* Voxel sizes come from the affine's column norms (radi_nifti_write). */
    hdr.pixdim[1] = hdr.pixdim[2] = hdr.pixdim[3] = 0;
    char aff[1024];
    int has_affine = meta_str(m, "orientation_affine", aff, sizeof aff);
    if (has_affine < 0)
        return rdi_error(RADI_E_CORRUPT, "%s: metadata orientation_affine is too long for a 4x4 matrix", uri);
    if (has_affine && parse_affine(aff, hdr.affine) != 0)
        return rdi_error(RADI_E_CORRUPT, "%s: metadata orientation_affine is not a 4x4 matrix: %.80s", uri, aff);
    /* Codes as the source file had them; volumes without them keep the defaults (1, 1). */
    meta_code(m, "nifti_sform_code", &hdr.sform_code);
    meta_code(m, "nifti_qform_code", &hdr.qform_code);
    meta_code(m, "nifti_xyzt_units", &hdr.xyzt_units);
    double tr;
    if (hdr.ndim == 4 && meta_double(m, "nifti_pixdim4", &tr) == 1 && isfinite(tr)) hdr.pixdim[4] = tr;
    /* (1, 0) is "no scaling" and is written as such (slope 0), as the file likely had. */
    if (vol->has_scaling) {
        hdr.scl_slope = vol->slope;
        hdr.scl_inter = vol->inter;
    }
    if (hdr.qform_code == 0 && hdr.sform_code == 0 && has_affine) {
        /* Neither form in the source: the stored affine is nibabel's pixdim fallback,
         * which a reader rebuilds from pixdim alone. */
        for (int c = 0; c < 3; c++)
            hdr.pixdim[c + 1] = sqrt(hdr.affine[c] * hdr.affine[c] + hdr.affine[4 + c] * hdr.affine[4 + c] +
                                     hdr.affine[8 + c] * hdr.affine[8 + c]);
    }
    uint64_t bytes = n * radi_datatype_size(hdr.datatype);
    void *buf = rdi_malloc(bytes ? (size_t)bytes : 1);
    if (!buf) return RADI_E_NOMEM;
    int64_t lohi[8];
    for (uint32_t d = 0; d < hdr.ndim; d++) {
        lohi[2 * d] = 0;
        lohi[2 * d + 1] = (int64_t)hdr.shape[d] - 1;
    }
    radi_status s = radi_volume_read(vol, lohi, buf, bytes, NULL);
    if (s == RADI_OK) s = radi_nifti_write_ctx(vol->array->ctx, path, &hdr, buf);
    free(buf);
    return s;
}
