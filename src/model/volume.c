/*
 * Volumes: dense 3-D / 4-D arrays laid out as RadiObject 0.1.1 writes them
 * (research/radiobject-0.1.1.md §3.3): dims x, y, z[, t] INT32 over [0, n-1], tile
 * extents from the orientation clipped to the shape, attribute "voxels", row-major,
 * and the array metadata key "tile_orientation" as a STRING_UTF8 value.
 */
#include <stdlib.h>

#include "radi/volume.h"
#include "tdb/tdb.h"

#define RDI_ISOTROPIC_EXTENT 64
#define RDI_ORIENTATION_KEY "tile_orientation"
#define RDI_VOXELS "voxels"

struct radi_volume {
    radi_array *array;
    uint32_t ndim;
    uint64_t shape[4];
    int64_t lo[4];          /* domain lower bounds: 0 for what radi and RadiObject write */
    radi_datatype dtype;
};

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

/* Writes the orientation key, then the data as one fragment (0.1.1's order: create writes
 * the metadata, from_numpy then writes the voxels). */
static radi_status volume_fill(radi_ctx *ctx, const char *uri, uint32_t ndim, const uint64_t *shape,
                               radi_datatype dtype, const void *data, radi_orientation o)
{
    radi_array *a = NULL;
    RDI_TRY(radi_array_open(ctx, uri, 0, 0, &a));
    const char *name = radi_orientation_name(o);
    radi_status st = radi_meta_put(radi_array_meta(a), RDI_ORIENTATION_KEY, RADI_STRING_UTF8,
                                   (uint32_t)strlen(name), name);
    if (st == RADI_OK) {
        int64_t box[8];
        for (uint32_t d = 0; d < ndim; d++) {
            box[2 * d] = 0;
            box[2 * d + 1] = (int64_t)shape[d] - 1;
        }
        radi_field_buffer fb = {RDI_VOXELS, (void *)data, box_bytes(ndim, shape, dtype), NULL};
        st = radi_array_write_dense(a, box, RADI_ROW_MAJOR, 1, &fb, 0);
    }
    radi_array_close(a);
    return st;
}

radi_status radi_volume_from_buffer(radi_ctx *ctx, const char *uri, uint32_t ndim,
                                    const uint64_t *shape, radi_datatype dtype, const void *data,
                                    const radi_tile_config *tile,
                                    const radi_compression *compression, radi_volume **out)
{
    if (!ctx || !uri || !shape || !data)
        return rdi_error(RADI_E_INVALID, "radi_volume_from_buffer: NULL argument");
    RDI_TRY(check_shape(ndim, shape));
    if (!volume_dtype_ok(dtype))
        return rdi_error(RADI_E_INVALID, "%s: volume dtype must be numeric or bool, got %s", uri,
                         radi_datatype_name(dtype));
    if (box_bytes(ndim, shape, dtype) == 0)
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
    st = volume_fill(ctx, uri, ndim, shape, dtype, data, tile->orientation);
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
    uint32_t ai;
    if (radi_schema_attr_index(s, RDI_VOXELS, &ai) != RADI_OK)
        return rdi_error(RADI_E_INVALID, "%s: not a volume: no attribute '" RDI_VOXELS "'", uri);
    radi_attr_info at;
    RDI_TRY(radi_schema_get_attr(s, ai, &at));
    if (at.cell_val_num != 1 || at.nullable || !volume_dtype_ok(at.type))
        return rdi_error(RADI_E_INVALID,
                         "%s: not a volume: attribute '" RDI_VOXELS "' must be one non-nullable numeric value per cell",
                         uri);
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
    return RADI_OK;
}

radi_status radi_volume_open(radi_ctx *ctx, const char *uri, radi_volume **out)
{
    if (!ctx || !uri || !out) return rdi_error(RADI_E_INVALID, "radi_volume_open: NULL argument");
    radi_volume *vol = rdi_calloc(1, sizeof *vol);
    if (!vol) return RADI_E_NOMEM;
    radi_status st = radi_array_open(ctx, uri, 0, 0, &vol->array);
    if (st == RADI_OK) st = volume_check(uri, radi_array_schema(vol->array), vol);
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

radi_status radi_volume_read(radi_volume *vol, const int64_t *lohi, void *out, uint64_t out_size,
                             radi_read_stats *stats)
{
    if (!vol || !lohi || !out) return rdi_error(RADI_E_INVALID, "radi_volume_read: NULL argument");
    const char *uri = radi_array_uri(vol->array);
    int64_t box[8];
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
    uint64_t need = box_bytes(vol->ndim, span, vol->dtype);
    if (need == 0) return rdi_error(RADI_E_INVALID, "%s: read region too large", uri);
    if (out_size < need)
        return rdi_error(RADI_E_INVALID, "%s: read buffer holds %llu bytes, the region needs %llu", uri,
                         (unsigned long long)out_size, (unsigned long long)need);
    radi_field_buffer fb = {RDI_VOXELS, out, need, NULL};
    return radi_array_read_dense(vol->array, box, RADI_ROW_MAJOR, 1, &fb, stats);
}
