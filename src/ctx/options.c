/*
 * radi_options: string key/value settings that grow without changing a public struct
 * (as TileDB's Config and curl's options). A value is validated when it is set, by the
 * same code that later applies it, so a context never meets a bad stored value.
 */
#include <stdlib.h>

#include "ctx/ctx.h"
#include "ctx/options.h"
#include "vfs/s3/s3_config.h"

#define S3_PREFIX "vfs.s3."
#define S3_PREFIX_LEN 7

static const char *const CONFIG_KEYS[] = {"memory_budget", "concurrency", "format_version"};

static int is_config_key(const char *k)
{
    for (size_t i = 0; i < sizeof CONFIG_KEYS / sizeof CONFIG_KEYS[0]; i++)
        if (!strcmp(k, CONFIG_KEYS[i])) return 1;
    return 0;
}

static int is_s3_key(const char *k) { return !strncmp(k, S3_PREFIX, S3_PREFIX_LEN); }

/* Settings of the dataset layer that the context carries: milliseconds. */
static const char *const MS_KEYS[] = {"dataset.lock_wait_ms"};

static int is_ms_key(const char *k)
{
    for (size_t i = 0; i < sizeof MS_KEYS / sizeof MS_KEYS[0]; i++)
        if (!strcmp(k, MS_KEYS[i])) return 1;
    return 0;
}

/* Sizes in bytes. */
static const char *const BYTES_KEYS[] = {"tile_cache_size"};

static int is_bytes_key(const char *k)
{
    for (size_t i = 0; i < sizeof BYTES_KEYS / sizeof BYTES_KEYS[0]; i++)
        if (!strcmp(k, BYTES_KEYS[i])) return 1;
    return 0;
}

/* The one check of a byte count, for set (validate) and for use. */
static radi_status parse_bytes(const char *key, const char *value, uint64_t *out)
{
    if (!rdi_parse_u64(value, 0, UINT64_MAX, out))
        return rdi_error(RADI_E_INVALID, "%s: expected a number of bytes, got '%.80s'", key, value);
    return RADI_OK;
}

radi_status rdi_options_bytes(const radi_options *o, const char *key, uint64_t dflt, uint64_t *out)
{
    const char *v = NULL;
    *out = dflt;
    if (!o || radi_options_get(o, key, &v) != RADI_OK || !v) return RADI_OK;
    return parse_bytes(key, v, out);
}

/* Switches: "true"/"false" (or 1/0). */
static const char *const BOOL_KEYS[] = {"vfs.posix.sync"};

static int is_bool_key(const char *k)
{
    for (size_t i = 0; i < sizeof BOOL_KEYS / sizeof BOOL_KEYS[0]; i++)
        if (!strcmp(k, BOOL_KEYS[i])) return 1;
    return 0;
}

static radi_status parse_bool(const char *key, const char *value, int *out)
{
    if (!strcmp(value, "true") || !strcmp(value, "1")) *out = 1;
    else if (!strcmp(value, "false") || !strcmp(value, "0")) *out = 0;
    else return rdi_error(RADI_E_INVALID, "%s: expected true or false, got '%.80s'", key, value);
    return RADI_OK;
}

radi_status rdi_options_bool(const radi_options *o, const char *key, int dflt, int *out)
{
    const char *v = NULL;
    *out = dflt;
    if (!o || radi_options_get(o, key, &v) != RADI_OK || !v) return RADI_OK;
    return parse_bool(key, v, out);
}

/* The one check of a millisecond value, for set (validate) and for use. */
static radi_status parse_ms(const char *key, const char *value, uint32_t *out)
{
    uint64_t n;
    if (!rdi_parse_u64(value, 0, UINT32_MAX, &n))
        return rdi_error(RADI_E_INVALID, "%s: expected milliseconds, got '%.80s'", key, value);
    *out = (uint32_t)n;
    return RADI_OK;
}

radi_status rdi_options_ms(const radi_options *o, const char *key, uint32_t dflt, uint32_t *out)
{
    const char *v = NULL;
    *out = dflt;
    if (!o || radi_options_get(o, key, &v) != RADI_OK || !v) return RADI_OK;
    return parse_ms(key, v, out);
}

/* Applies one radi_config key; the caller checks the whole config afterwards. */
static radi_status apply_config_key(radi_config *c, const char *key, const char *value)
{
    uint64_t v;
    if (!strcmp(key, "memory_budget")) {
        if (!rdi_parse_u64(value, 0, UINT64_MAX, &v))
            return rdi_error(RADI_E_INVALID, "memory_budget: expected a number of bytes, got '%.80s'", value);
        c->memory_budget = v;
        return RADI_OK;
    }
    if (!rdi_parse_u64(value, 0, UINT32_MAX, &v))
        return rdi_error(RADI_E_INVALID, "%s: expected an integer, got '%.80s'", key, value);
    if (!strcmp(key, "concurrency")) c->concurrency = (uint32_t)v;
    else c->format_version = (uint32_t)v;
    return RADI_OK;
}

/* Checks key = value without storing it: on a scratch config, as the context would. */
static radi_status validate(const char *key, const char *value)
{
    if (is_config_key(key)) {
        if (!value) return RADI_OK;
        radi_config c;
        radi_config_init(&c);
        RDI_TRY(apply_config_key(&c, key, value));
        return rdi_config_check(&c);
    }
    if (is_ms_key(key)) {
        uint32_t ms;
        return value ? parse_ms(key, value, &ms) : RADI_OK;
    }
    if (is_bytes_key(key)) {
        uint64_t n;
        return value ? parse_bytes(key, value, &n) : RADI_OK;
    }
    if (is_bool_key(key)) {
        int b;
        return value ? parse_bool(key, value, &b) : RADI_OK;
    }
    if (is_s3_key(key)) {
        rdi_s3_config s3;
        rdi_s3_config_init(&s3);
        radi_status s = rdi_s3_config_set(&s3, key + S3_PREFIX_LEN, value);
        rdi_s3_config_free(&s3);
        return s;
    }
    return rdi_error(RADI_E_INVALID, "unknown option '%.120s'", key);
}

/* Index of key, or where it would go (with *found 0). */
static size_t find(const radi_options *o, const char *key, int *found)
{
    size_t lo = 0, hi = o->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(o->keys[mid], key);
        if (cmp == 0) {
            *found = 1;
            return mid;
        }
        if (cmp < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = 0;
    return lo;
}

/* Frees a stored value, wiping it first: it may be a secret. */
static void free_value(char *v)
{
    if (!v) return;
    volatile char *p = v;
    while (*p) *p++ = '\0';
    free(v);
}

static void remove_at(radi_options *o, size_t i)
{
    free(o->keys[i]);
    free_value(o->values[i]);
    memmove(o->keys + i, o->keys + i + 1, (o->n - i - 1) * sizeof *o->keys);
    memmove(o->values + i, o->values + i + 1, (o->n - i - 1) * sizeof *o->values);
    o->n--;
}

radi_status radi_options_create(radi_options **out)
{
    if (!out) return rdi_error(RADI_E_INVALID, "radi_options_create: out is NULL");
    radi_options *o = rdi_calloc(1, sizeof *o);
    if (!o) return RADI_E_NOMEM;
    *out = o;
    return RADI_OK;
}

void radi_options_free(radi_options *o)
{
    if (!o) return;
    while (o->n) remove_at(o, o->n - 1);
    free(o->keys);
    free(o->values);
    free(o);
}

radi_status radi_options_set(radi_options *o, const char *key, const char *value)
{
    if (!o || !key) return rdi_error(RADI_E_INVALID, "radi_options_set: NULL argument");
    RDI_TRY(validate(key, value));
    int found;
    size_t i = find(o, key, &found);
    if (!value) {
        if (found) remove_at(o, i);
        return RADI_OK;
    }
    char *v = rdi_strdup(value);
    if (!v) return RADI_E_NOMEM;
    if (found) {
        free_value(o->values[i]);
        o->values[i] = v;
    } else {
        if (o->n == o->cap) {
            size_t cap = o->cap ? 2 * o->cap : 8;
            char **k2 = realloc(o->keys, cap * sizeof *k2);
            if (k2) o->keys = k2;
            char **v2 = k2 ? realloc(o->values, cap * sizeof *v2) : NULL;
            if (v2) o->values = v2;
            if (!k2 || !v2) {
                free_value(v);
                return rdi_nomem();
            }
            o->cap = cap;
        }
        char *k = rdi_strdup(key);
        if (!k) {
            free_value(v);
            return RADI_E_NOMEM;
        }
        memmove(o->keys + i + 1, o->keys + i, (o->n - i) * sizeof *o->keys);
        memmove(o->values + i + 1, o->values + i, (o->n - i) * sizeof *o->values);
        o->keys[i] = k;
        o->values[i] = v;
        o->n++;
    }
    /* The part size has two spellings; the one set last is the one that counts. */
    const char *other = !strcmp(key, S3_PREFIX "multipart_part_size") ? S3_PREFIX "multipart_part_size_mb"
                      : !strcmp(key, S3_PREFIX "multipart_part_size_mb") ? S3_PREFIX "multipart_part_size"
                      : NULL;
    if (other) {
        size_t j = find(o, other, &found);
        if (found) remove_at(o, j);
    }
    return RADI_OK;
}

radi_status radi_options_get(const radi_options *o, const char *key, const char **value)
{
    if (!o || !key || !value) return rdi_error(RADI_E_INVALID, "radi_options_get: NULL argument");
    RDI_TRY(validate(key, NULL)); /* unknown keys are errors, not "unset" */
    int found;
    size_t i = find(o, key, &found);
    if (!found) *value = NULL;
    else if (is_s3_key(key) && rdi_s3_config_is_secret(key + S3_PREFIX_LEN)) *value = "***";
    else *value = o->values[i];
    return RADI_OK;
}

radi_status rdi_options_apply_config(const radi_options *o, radi_config *c)
{
    for (size_t i = 0; o && i < o->n; i++)
        if (is_config_key(o->keys[i])) RDI_TRY(apply_config_key(c, o->keys[i], o->values[i]));
    return RADI_OK;
}

radi_status rdi_options_apply_s3(const radi_options *o, rdi_s3_config *c)
{
    for (size_t i = 0; o && i < o->n; i++)
        if (is_s3_key(o->keys[i])) RDI_TRY(rdi_s3_config_set(c, o->keys[i] + S3_PREFIX_LEN, o->values[i]));
    return RADI_OK;
}
