/*
 * radi volumes: 3-D / 4-D dense arrays with RadiObject's layout
 * (dimensions x, y, z[, t] int32 over [0, n-1], attribute "voxels", row-major,
 * array metadata "tile_orientation"). Conventions as in radi.h.
 */
#ifndef RADI_VOLUME_H
#define RADI_VOLUME_H

#include "radi/radi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum radi_orientation {
    RADI_AXIAL = 0,     /* tiles (X, Y, 1) */
    RADI_SAGITTAL = 1,  /* tiles (1, Y, Z) */
    RADI_CORONAL = 2,   /* tiles (X, 1, Z) */
    RADI_ISOTROPIC = 3  /* tiles (64, 64, 64) */
} radi_orientation;

/* "axial", "sagittal", "coronal", "isotropic"; NULL for unknown values. */
RADI_API const char *radi_orientation_name(radi_orientation o);
RADI_API radi_status radi_orientation_parse(const char *name, radi_orientation *out);

typedef struct radi_tile_config {
    radi_orientation orientation;
    uint32_t x, y, z;   /* per-axis overrides; 0 = the orientation's default */
    uint32_t t;         /* 4th-axis extent; default 1 */
} radi_tile_config;

RADI_API void radi_tile_config_init(radi_tile_config *tc); /* AXIAL, no overrides, t = 1 */

/* Tile extents for `shape` (ndim 3 or 4), not clipped to the shape (as RadiObject's
 * TileConfig.extents_for_shape). */
RADI_API radi_status radi_tile_extents_for_shape(const radi_tile_config *tc, uint32_t ndim,
                                                 const uint64_t *shape, uint64_t *extents);

typedef struct radi_compression {
    radi_filter_type algorithm; /* RADI_FILTER_ZSTD, _LZ4, _GZIP or _NONE */
    int32_t level;              /* default 3 */
    int shuffle;                /* 0 none, 1 byte-shuffle, 2 bit-shuffle before the codec */
} radi_compression;

RADI_API void radi_compression_init(radi_compression *c); /* ZSTD level 3, no shuffle */

typedef struct radi_volume radi_volume;

/* Creates a volume array at uri and writes `data` (C order, shape[0] slowest) as one
 * fragment. tile / compression NULL = defaults. *out (may be NULL) is an open handle. */
RADI_API radi_status radi_volume_from_buffer(radi_ctx *ctx, const char *uri, uint32_t ndim,
                                             const uint64_t *shape, radi_datatype dtype,
                                             const void *data, const radi_tile_config *tile,
                                             const radi_compression *compression,
                                             radi_volume **out);

/* Creates an empty volume array at uri (schema and "tile_orientation" as
 * radi_volume_from_buffer, no fragment: reads return the fill value until written).
 * *out (may be NULL) is an open handle. */
RADI_API radi_status radi_volume_create(radi_ctx *ctx, const char *uri, uint32_t ndim, const uint64_t *shape,
                                        radi_datatype dtype, const radi_tile_config *tile,
                                        const radi_compression *compression, radi_volume **out);

/* Creates a volume at uri from the NIfTI file `path` (any URI ctx serves) with the voxels,
 * geometry and metadata an ingest gives a collection's volume, without obs_id (the
 * stored raw values and scaling, see the scaling policy below). tile / compression NULL
 * = defaults. *out (may be NULL) is an open handle. */
RADI_API radi_status radi_volume_from_nifti(radi_ctx *ctx, const char *uri, const char *path,
                                            const radi_tile_config *tile,
                                            const radi_compression *compression, radi_volume **out);

/* Canonical reorientation targets (radiobject 0.1.1's OrientationConfig.canonical_target):
 * the voxel axes are permuted and flipped (no resampling, the time axis untouched) to run
 * along RAS, LAS or LPS; a source already RAS is kept as it is, as 0.1.1 does. */
enum { RADI_REORIENT_NONE = 0, RADI_REORIENT_RAS = 1, RADI_REORIENT_LAS = 2, RADI_REORIENT_LPS = 3 };

/* radi_volume_from_nifti with 0.1.1's reorient=True: the voxels reoriented to `reorient`
 * (a RADI_REORIENT_* target; NONE is radi_volume_from_nifti), orientation_* metadata
 * describing the stored voxels as 0.1.1 writes them, and, with store_original_affine,
 * the file's affine as original_affine. A degenerate affine is RADI_E_UNSUPPORTED. */
RADI_API radi_status radi_volume_from_nifti_reoriented(radi_ctx *ctx, const char *uri, const char *path,
                                                       int reorient, int store_original_affine,
                                                       const radi_tile_config *tile,
                                                       const radi_compression *compression, radi_volume **out);

/* Opens a volume, loading everything its reads need (schema, fragment metadata, every
 * tile index), so that afterwards reads only read the handle.
 * Which arrays are volumes: dense, 3 or 4 integer dimensions, and the voxels in attribute
 * "voxels" (one non-nullable numeric value per cell). An array without "voxels" whose
 * only attribute is such a numeric one (written by other TileDB code, e.g. "data") is
 * read through that attribute everywhere (reads, patches, export); with several
 * attributes and none named "voxels" the open fails with RADI_E_INVALID.
 * Threads: radi_volume_read, radi_volume_read_scaled, radi_read_patches (patches.h) and
 * the accessors below (ndim, shape, dtype, scaling, the array's schema, URI and metadata
 * gets) may be called on one handle from any number of threads at once; each read uses
 * its own scratch. radi_volume_close, radi_volume_to_nifti's write and anything writing
 * through radi_volume_array need the handle to themselves (no read running). A handle
 * belongs to the process that opened it (radi.h, "Fork"). */
RADI_API radi_status radi_volume_open(radi_ctx *ctx, const char *uri, radi_volume **out);
RADI_API void radi_volume_close(radi_volume *vol);

RADI_API uint32_t radi_volume_ndim(const radi_volume *vol);
/* Borrowed, ndim values. */
RADI_API const uint64_t *radi_volume_shape(const radi_volume *vol);
RADI_API radi_datatype radi_volume_dtype(const radi_volume *vol);
RADI_API radi_array *radi_volume_array(radi_volume *vol); /* borrowed */

/* Reads the box lohi (2*ndim inclusive bounds, C order out) into out (out_size bytes):
 * the stored (raw) values in the stored type. */
RADI_API radi_status radi_volume_read(radi_volume *vol, const int64_t *lohi, void *out,
                                      uint64_t out_size, radi_read_stats *stats);

/* Scaling policy. A volume ingested from NIfTI keeps the file's raw values in its own
 * datatype and records scl_slope / scl_inter in its metadata (nifti_scl_slope,
 * nifti_scl_inter, decimal strings). The physical value is raw * slope + inter. A slope
 * of 0 or non-finite means "no scaling" (as NIfTI), and so does a volume without the
 * keys (radi_volume_from_buffer, RadiObject 0.1.1, which stores scaled float64). Every
 * out-parameter may be NULL; *has_scaling is 1 when (slope, inter) != (1, 0). */
RADI_API radi_status radi_volume_scaling(const radi_volume *vol, double *slope, double *inter,
                                         int *has_scaling);

/* As radi_volume_read, returning physical values: raw * slope + inter computed in double
 * and rounded once to out_type (RADI_FLOAT32 or RADI_FLOAT64); without scaling, the raw
 * values converted. out_size is in bytes of out_type. */
RADI_API radi_status radi_volume_read_scaled(radi_volume *vol, const int64_t *lohi,
                                             radi_datatype out_type, void *out,
                                             uint64_t out_size, radi_read_stats *stats);

/* Writes the whole volume as a NIfTI-1 file (gzip when path ends in ".gz"; replaced
 * atomically): the raw voxels in the stored type with the recorded scl_slope/scl_inter,
 * the affine of "orientation_affine" with the recorded sform/qform codes, and
 * xyzt_units. A volume without orientation metadata gets the identity affine. */
RADI_API radi_status radi_volume_to_nifti(radi_volume *vol, const char *path);

/* Order statistics of n values of `type` at data (any numeric type or bool): out[i]
 * receives the value of rank ks[i] (0-based) in ascending order, NaN sorting last as in
 * numpy; out holds nk values of `type`. data is only read (not reordered); the extra
 * memory is 512 KiB per distinct rank. Used for Volume.get_statistics' median and
 * percentiles. RADI_E_INVALID for a rank >= n or a non-numeric type. */
RADI_API radi_status radi_order_statistics(const void *data, radi_datatype type, uint64_t n, uint32_t nk,
                                           const uint64_t *ks, void *out);

#ifdef __cplusplus
}
#endif

#endif /* RADI_VOLUME_H */
