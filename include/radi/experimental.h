/*
 * radi's experimental API: calls that are public (the CLI builds on them, bindings may)
 * but not yet frozen; they may change between minor versions, as zstd's
 * ZSTD_STATIC_LINKING_ONLY section does. Conventions as in radi.h.
 */
#ifndef RADI_EXPERIMENTAL_H
#define RADI_EXPERIMENTAL_H

#include "radi/radi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One dimension's range of a non-empty domain, for a dimension of any type. */
typedef struct radi_domain_range {
    /* Fixed-size dimensions: one value of the dimension's type each (little-endian).
     * String dimensions: the bytes of the lowest and highest string (no NUL; may be
     * NULL when the size is 0). Borrowed until the array is closed or written through
     * (a write reloads its fragment list). */
    const void *lo, *hi;
    uint64_t lo_size, hi_size;   /* bytes at lo and hi */
} radi_domain_range;

/* Non-empty domain of dimension `dim` (any type, strings and floats included): the union
 * over the visible fragments. *is_empty = 1, *out untouched, when no fragment is visible
 * or one of them records no domain comparable to the schema's (an older schema with
 * other dimensions). */
RADI_API radi_status radi_array_nonempty_domain_dim(const radi_array *array, uint32_t dim,
                                                    radi_domain_range *out, int *is_empty);

/* The same for one visible fragment (0 .. radi_array_fragment_count - 1). */
RADI_API radi_status radi_fragment_nonempty_domain_dim(const radi_array *array, uint32_t fragment,
                                                       uint32_t dim, radi_domain_range *out,
                                                       int *is_empty);

/* Bytes of every file (object) below uri: an array or a group with its members stored
 * under it. One recursive listing (one paged listing on S3). 0 for nothing there. */
RADI_API radi_status radi_object_size(radi_ctx *ctx, const char *uri, uint64_t *bytes);

#ifdef __cplusplus
}
#endif

#endif /* RADI_EXPERIMENTAL_H */
