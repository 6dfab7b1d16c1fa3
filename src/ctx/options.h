/* String options (radi_options) as the context reads them. */
#ifndef RDI_CTX_OPTIONS_H
#define RDI_CTX_OPTIONS_H

#include "core/core.h"
#include "vfs/s3/s3.h"

/* A sorted key/value store: keys[i] < keys[i+1] in byte order; every key and value
 * malloc'd and owned. Every stored pair was validated when it was set. */
struct radi_options {
    char **keys;
    char **values;
    size_t n, cap;
};

/* Overrides the radi_config fields named by the memory_budget, concurrency and
 * format_version options (opts may be NULL). Does not check the result: see
 * rdi_config_check. */
radi_status rdi_options_apply_config(const radi_options *opts, radi_config *c);
/* Applies every vfs.s3.* option to *c, in key order (opts may be NULL). */
radi_status rdi_options_apply_s3(const radi_options *opts, rdi_s3_config *c);
/* A millisecond setting (dataset.lock_wait_ms), dflt when unset (opts may be NULL). */
radi_status rdi_options_ms(const radi_options *opts, const char *key, uint32_t dflt, uint32_t *out);

/* A byte-count option's value (tile_cache_size), dflt when unset (opts may be NULL). */
radi_status rdi_options_bytes(const radi_options *opts, const char *key, uint64_t dflt, uint64_t *out);

/* A true/false option's value (dflt when unset). */
radi_status rdi_options_bool(const radi_options *o, const char *key, int dflt, int *out);

#endif
