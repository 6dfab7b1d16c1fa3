/*
 * What every kind of image source shares (source.h): the header contract checked for
 * any kind, and the builders of a source's volume metadata and obs row.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/source.h"

int rdi_image_dtype_ok(radi_datatype t)
{
    switch (t) {
    case RADI_INT8: case RADI_UINT8: case RADI_INT16: case RADI_UINT16: case RADI_INT32:
    case RADI_UINT32: case RADI_INT64: case RADI_UINT64: case RADI_FLOAT32: case RADI_FLOAT64:
        return 1;
    default:
        return 0;
    }
}

radi_status rdi_image_header_check(const rdi_image_header *h, const rdi_image_source_ops *ops, const char *what)
{
    if (h->ndim != 3 && h->ndim != 4)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: a volume must be 3-D or 4-D, this %s source gives %u-D", what,
                         ops->name, h->ndim);
    for (uint32_t d = 0; d < 4; d++)
        if (h->shape[d] == 0 || (d >= h->ndim && h->shape[d] != 1))
            return rdi_error(RADI_E_CORRUPT, "%s: bad shape from the %s source (axis %u is %llu)", what, ops->name, d,
                             (unsigned long long)h->shape[d]);
    if (!rdi_image_dtype_ok(h->datatype))
        return rdi_error(RADI_E_UNSUPPORTED, "%s: datatype %d of the %s source is not supported for volumes", what,
                         (int)h->datatype, ops->name);
    for (int k = 0; k < 16; k++)
        if (!isfinite(h->affine[k]))
            return rdi_error(RADI_E_CORRUPT, "%s: the affine is not finite", what);
    return RADI_OK;
}

/* Copies s into f's strings; NULL when out of memory. */
static const char *keep(rdi_image_fields *f, const char *s)
{
    return rdi_strlist_push(&f->strs, s) == RADI_OK ? f->strs.items[f->strs.n - 1] : NULL;
}

radi_status rdi_image_fields_meta(rdi_image_fields *f, const char *key, const char *value)
{
    if (f->nmeta == f->meta_cap) {
        uint32_t cap = f->meta_cap ? 2 * f->meta_cap : 16;
        radi_meta_item *m = realloc(f->meta, cap * sizeof *m);
        if (!m) return RADI_E_NOMEM;
        f->meta = m;
        f->meta_cap = cap;
    }
    const char *k = keep(f, key), *v = k ? keep(f, value) : NULL;
    if (!v) return RADI_E_NOMEM;
    f->meta[f->nmeta++] = (radi_meta_item){k, RADI_STRING_UTF8, (uint32_t)strlen(v), v};
    return RADI_OK;
}

/* A new obs field named `name` of `type` (its value is the caller's to set). */
static rdi_obs_field *obs_add(rdi_image_fields *f, const char *name, radi_datatype type)
{
    if (f->nobs == f->obs_cap) {
        uint32_t cap = f->obs_cap ? 2 * f->obs_cap : 16;
        rdi_obs_field *o = realloc(f->obs, cap * sizeof *o);
        if (!o) return NULL;
        f->obs = o;
        f->obs_cap = cap;
    }
    const char *n = keep(f, name);
    if (!n) return NULL;
    rdi_obs_field *o = &f->obs[f->nobs++];
    memset(o, 0, sizeof *o);
    o->name = n;
    o->type = type;
    return o;
}

radi_status rdi_image_fields_obs_str(rdi_image_fields *f, const char *name, const char *v)
{
    const char *s = keep(f, v);
    rdi_obs_field *o = s ? obs_add(f, name, RADI_STRING_UTF8) : NULL;
    if (!o) return RADI_E_NOMEM;
    o->v.s = s;
    return RADI_OK;
}

radi_status rdi_image_fields_obs_i32(rdi_image_fields *f, const char *name, int32_t v)
{
    rdi_obs_field *o = obs_add(f, name, RADI_INT32);
    if (!o) return RADI_E_NOMEM;
    o->v.i32 = v;
    return RADI_OK;
}

radi_status rdi_image_fields_obs_i64(rdi_image_fields *f, const char *name, int64_t v)
{
    rdi_obs_field *o = obs_add(f, name, RADI_INT64);
    if (!o) return RADI_E_NOMEM;
    o->v.i64 = v;
    return RADI_OK;
}

radi_status rdi_image_fields_obs_f64(rdi_image_fields *f, const char *name, double v)
{
    rdi_obs_field *o = obs_add(f, name, RADI_FLOAT64);
    if (!o) return RADI_E_NOMEM;
    o->v.f64 = v;
    return RADI_OK;
}

radi_status rdi_image_fields_obs_text(rdi_image_fields *f, const char *name, radi_datatype type, const char *text)
{
    if (type == RADI_STRING_UTF8) return rdi_image_fields_obs_str(f, name, text);
    char *end = NULL;
    errno = 0;
    if (type == RADI_FLOAT64) {
        /* strtod reads Python's reprs: "NaN", "Infinity", "-Infinity", "1e-05". */
        double v = strtod(text, &end);
        if (end != text && !*end) return rdi_image_fields_obs_f64(f, name, v);
    } else if (type == RADI_INT32 || type == RADI_INT64) {
        long long v = strtoll(text, &end, 10);
        int fits = type == RADI_INT64 || (v >= INT32_MIN && v <= INT32_MAX);
        if (end != text && !*end && !errno && fits)
            return type == RADI_INT32 ? rdi_image_fields_obs_i32(f, name, (int32_t)v)
                                      : rdi_image_fields_obs_i64(f, name, (int64_t)v);
    } else {
        return rdi_error(RADI_E_INVALID, "obs column '%s': type %d is not an obs value type", name, (int)type);
    }
    return rdi_error(RADI_E_INVALID, "obs column '%s': '%.40s' is not a %s", name, text,
                     type == RADI_FLOAT64 ? "number" : "32/64-bit integer");
}

void rdi_image_fields_free(rdi_image_fields *f)
{
    free(f->meta);
    free(f->obs);
    rdi_strlist_free(&f->strs);
    memset(f, 0, sizeof *f);
}

radi_status rdi_image_put_volume_meta(radi_meta *m, const radi_meta_item *orientation, const rdi_image_header *h,
                                      const rdi_image_fields *f, const char *obs_id)
{
    char slope_s[48], inter_s[48];
    rdi_py_float(slope_s, sizeof slope_s, h->scl_slope);
    rdi_py_float(inter_s, sizeof inter_s, h->scl_inter);
    radi_meta_item *items = rdi_calloc((size_t)f->nmeta + 4, sizeof *items);
    if (!items) return RADI_E_NOMEM;
    uint32_t n = 0;
    /* tile_orientation first, in the same file as the source's keys. */
    items[n++] = *orientation;
    for (uint32_t k = 0; k < f->nmeta; k++) items[n++] = f->meta[k];
    items[n++] = (radi_meta_item){"nifti_scl_slope", RADI_STRING_UTF8, (uint32_t)strlen(slope_s), slope_s};
    items[n++] = (radi_meta_item){"nifti_scl_inter", RADI_STRING_UTF8, (uint32_t)strlen(inter_s), inter_s};
    if (obs_id) items[n++] = (radi_meta_item){"obs_id", RADI_STRING_UTF8, (uint32_t)strlen(obs_id), obs_id};
    /* One metadata file per volume: one write and one timestamp instead of eleven. */
    radi_status s = radi_meta_put_many(m, n, items);
    free(items);
    return s;
}
