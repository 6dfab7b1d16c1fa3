/*
 * radi batch patch reads: many boxes over many open volumes in one call, the read a
 * training loader makes once per batch. Conventions as in radi.h.
 *
 * Each request names an open volume, a box (which may overhang the volume on any side)
 * and the caller's buffer for it. The call spreads the requests over the context's thread
 * pool; each request's tiles are read, decoded and copied straight into its buffer (a
 * box that overhangs in RADI_PAD_CONSTANT mode is read into its place in the buffer, and
 * only the cells outside the volume are then filled). Only the tiles a box's part inside
 * the volume touches are read.
 */
#ifndef RADI_PATCHES_H
#define RADI_PATCHES_H

#include "radi/volume.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the cells of a box outside the volume get. */
typedef enum radi_pad_mode {
    RADI_PAD_CONSTANT = 0, /* pad_value */
    RADI_PAD_EDGE = 1,     /* the nearest voxel of the volume (numpy.pad "edge") */
    RADI_PAD_REFLECT = 2   /* mirrored about the edge voxel, which is not repeated, and
                            * again for overhangs longer than the volume (numpy.pad
                            * "reflect"); an axis of size 1 repeats its voxel */
} radi_pad_mode;

/* The type of the values written. */
typedef enum radi_patch_output {
    RADI_PATCH_STORED = 0,  /* the stored (raw) values in the volume's own type, as
                             * radi_volume_read */
    RADI_PATCH_FLOAT32 = 1, /* physical values raw * slope + inter computed in double and
                             * rounded once, as radi_volume_read_scaled(RADI_FLOAT32) */
    RADI_PATCH_FLOAT64 = 2  /* the same in float64 */
} radi_patch_output;

typedef struct radi_patch_options {
    radi_patch_output output;
    radi_pad_mode pad_mode;
    /* RADI_PAD_CONSTANT's value, in the output's units: written as is to float outputs;
     * for RADI_PATCH_STORED converted to the volume's type (rounded to nearest, clamped
     * to the type's range, NaN as 0; bool: nonzero is 1). */
    double pad_value;
} radi_patch_options;

/* RADI_PATCH_STORED, RADI_PAD_CONSTANT, pad_value 0. */
RADI_API void radi_patch_options_init(radi_patch_options *options);

typedef struct radi_patch_request {
    /* Borrowed, open. Any number of requests (and threads) may name one volume. Volumes
     * may come from any context: their storage is read through their own context, the
     * decoding runs on the pool of the context the call is given. */
    radi_volume *volume;
    /* The box: start[d] is its first voxel on axis d (x, y, z[, t]) and may be negative
     * or past the volume; shape[d] >= 1 is its extent. Only the volume's ndim entries
     * are used. */
    int64_t start[4];
    uint64_t shape[4];
    /* Borrowed: prod(shape) values of the output type, in C order (x slowest, the last
     * axis fastest: the layout of radi_volume_read). No alignment needed. Buffers of
     * different requests must not overlap. */
    void *out;
    uint64_t out_size; /* bytes at out */
    /* Written by radi_read_patches: RADI_OK, or why this request failed (its buffer is
     * then partly written or untouched). */
    radi_status status;
} radi_patch_request;

/* Reads n requests. Every request is tried, whatever happens to the others: a request
 * with a NULL volume, a volume of a context from another process, a bad box, a short
 * buffer or a damaged tile fails alone, with its status set. Returns RADI_OK when every request
 * succeeded; otherwise the status of the first failing request (lowest index), and
 * radi_errmsg() says "request <i> of <n>: <reason>". Errors of the call itself (NULL ctx,
 * NULL requests with n > 0, bad options, a context used after fork()) are returned before
 * any request is read, and set every request's status to the same value.
 *
 * options NULL: radi_patch_options_init's. stats (may be NULL) receives the sum over the
 * requests: tiles_read counts every tile each request uses (a tile two requests need
 * counts twice), whether read or found in the tile cache; bytes_read and io_requests
 * count only what was read from storage.
 *
 * Tile cache: with the option tile_cache_size (radi.h) nonzero, as by default, a volume's
 * context keeps the tiles this call decodes, whole and in the stored type, keyed by the
 * fragment file and tile index (a fragment is never rewritten, so an entry never goes
 * stale); a tile found there is neither read nor decoded again, by this call or a later
 * one, on any thread. A tile enters on its second use within a recent window (about
 * twice as many tiles as the cache holds); its first use decodes only what the box
 * needs, so random patches over a dataset much larger than the cache cost what they cost
 * without it. Tiles larger than the cache are decoded for the request alone.
 * Turning the cache off (0) reads and decodes each tile a request needs, only its chunks
 * holding the box.
 *
 * Threads: requests are spread over ctx's pool, each request read by one thread (a call
 * with one request runs on one thread; use radi_volume_read for one large box). When the
 * pool is busy with another caller's loop, this call runs its requests on the calling
 * thread. The call is reentrant: any number of threads may call it at once, over the
 * same volumes too, and may read those volumes with radi_volume_read meanwhile.
 * Memory: the tile cache (above, up to tile_cache_size plus the tiles pinned by calls
 * running); each pool thread keeps codec contexts and tile buffers for the call, and, for
 * float outputs or edge/reflect padding, one box in the stored type; the tile bytes in
 * flight for one request are capped at memory_budget / pool size (RADI_E_BUDGET for that
 * request beyond it). */
RADI_API radi_status radi_read_patches(radi_ctx *ctx, radi_patch_request *requests, size_t n,
                                       const radi_patch_options *options, radi_read_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* RADI_PATCHES_H */
