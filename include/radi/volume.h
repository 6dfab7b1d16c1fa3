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

RADI_API radi_status radi_volume_open(radi_ctx *ctx, const char *uri, radi_volume **out);
RADI_API void radi_volume_close(radi_volume *vol);

RADI_API uint32_t radi_volume_ndim(const radi_volume *vol);
/* Borrowed, ndim values. */
RADI_API const uint64_t *radi_volume_shape(const radi_volume *vol);
RADI_API radi_datatype radi_volume_dtype(const radi_volume *vol);
RADI_API radi_array *radi_volume_array(radi_volume *vol); /* borrowed */

/* Reads the box lohi (2*ndim inclusive bounds, C order out) into out (out_size bytes). */
RADI_API radi_status radi_volume_read(radi_volume *vol, const int64_t *lohi, void *out,
                                      uint64_t out_size, radi_read_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* RADI_VOLUME_H */
