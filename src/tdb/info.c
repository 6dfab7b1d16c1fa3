/*
 * Inspection calls of include/radi/experimental.h: non-empty domains of any dimension
 * type and the bytes an object occupies, so that `radi info` (and bindings) need no
 * access to the open array's internals.
 */
#include "radi/experimental.h"
#include "tdb/tdb.h"

static int is_var(const rdi_dim *d) { return d->cell_val_num == RADI_VAR_NUM; }

static int cmp_fixed(radi_datatype t, const uint8_t *a, const uint8_t *b)
{
#define RDI_CMP(T)                  \
    do {                            \
        T x, y;                     \
        memcpy(&x, a, sizeof x);    \
        memcpy(&y, b, sizeof y);    \
        return (x > y) - (x < y);   \
    } while (0)
    switch (t) {
    case RADI_INT8: RDI_CMP(int8_t);
    case RADI_UINT8: case RADI_BOOL: RDI_CMP(uint8_t);
    case RADI_INT16: RDI_CMP(int16_t);
    case RADI_UINT16: RDI_CMP(uint16_t);
    case RADI_INT32: RDI_CMP(int32_t);
    case RADI_UINT32: RDI_CMP(uint32_t);
    case RADI_FLOAT32: RDI_CMP(float);
    case RADI_FLOAT64: RDI_CMP(double);
    case RADI_UINT64: RDI_CMP(uint64_t);
    default: RDI_CMP(int64_t); /* INT64 and the datetime types */
    }
#undef RDI_CMP
}

static int cmp_str(const char *a, uint64_t al, const char *b, uint64_t bl)
{
    int c = al && bl ? memcmp(a, b, (size_t)RDI_MIN(al, bl)) : 0;
    return c ? c : (al > bl) - (al < bl);
}

/* The fragment's range of dim d, or NULL when it records none comparable. */
static const rdi_range *frag_range(const radi_array *a, uint32_t f, uint32_t d)
{
    const rdi_fragmeta *fm = a->frags[f];
    if (fm->schema->ndim != a->schema->ndim || !fm->ned) return NULL;
    return &fm->ned[d];
}

static void fill(const rdi_dim *dim, const rdi_range *lo, const rdi_range *hi, radi_domain_range *out)
{
    if (is_var(dim)) {
        *out = (radi_domain_range){lo->slo, hi->shi, lo->slo_len, hi->shi_len};
    } else {
        uint64_t sz = rdi_dim_size(dim);
        *out = (radi_domain_range){lo->lo, hi->hi, sz, sz};
    }
}

static radi_status check_dim(const radi_array *a, uint32_t dim, const char *fn)
{
    if (!a) return rdi_error(RADI_E_INVALID, "%s: NULL array", fn);
    if (dim >= a->schema->ndim)
        return rdi_error(RADI_E_INVALID, "%s: dimension %u of %u (%s)", fn, dim, a->schema->ndim, a->uri);
    return RADI_OK;
}

radi_status radi_array_nonempty_domain_dim(const radi_array *a, uint32_t dim, radi_domain_range *out, int *is_empty)
{
    RDI_TRY(check_dim(a, dim, "radi_array_nonempty_domain_dim"));
    if (!out || !is_empty) return rdi_error(RADI_E_INVALID, "radi_array_nonempty_domain_dim: NULL argument");
    const rdi_dim *d = &a->schema->dims[dim];
    const rdi_range *lo = NULL, *hi = NULL;
    for (uint32_t f = 0; f < a->nfrags; f++) {
        const rdi_range *r = frag_range(a, f, dim);
        if (!r) {
            *is_empty = 1;
            return RADI_OK;
        }
        if (!lo) {
            lo = hi = r;
        } else if (is_var(d)) {
            if (cmp_str(r->slo, r->slo_len, lo->slo, lo->slo_len) < 0) lo = r;
            if (cmp_str(r->shi, r->shi_len, hi->shi, hi->shi_len) > 0) hi = r;
        } else {
            if (cmp_fixed(d->type, r->lo, lo->lo) < 0) lo = r;
            if (cmp_fixed(d->type, r->hi, hi->hi) > 0) hi = r;
        }
    }
    *is_empty = lo == NULL;
    if (lo) fill(d, lo, hi, out);
    return RADI_OK;
}

radi_status radi_fragment_nonempty_domain_dim(const radi_array *a, uint32_t fragment, uint32_t dim,
                                              radi_domain_range *out, int *is_empty)
{
    RDI_TRY(check_dim(a, dim, "radi_fragment_nonempty_domain_dim"));
    if (!out || !is_empty) return rdi_error(RADI_E_INVALID, "radi_fragment_nonempty_domain_dim: NULL argument");
    if (fragment >= a->nfrags)
        return rdi_error(RADI_E_INVALID, "%s: fragment %u of %u", a->uri, fragment, a->nfrags);
    const rdi_range *r = frag_range(a, fragment, dim);
    *is_empty = r == NULL;
    if (r) fill(&a->schema->dims[dim], r, r, out);
    return RADI_OK;
}

radi_status radi_object_size(radi_ctx *ctx, const char *uri, uint64_t *bytes)
{
    if (!ctx || !uri || !bytes) return rdi_error(RADI_E_INVALID, "radi_object_size: NULL argument");
    rdi_dirlist l = {NULL, 0};
    RDI_TRY(rdi_vfs_ls_recursive(ctx->vfs, uri, &l));
    uint64_t total = 0;
    for (size_t i = 0; i < l.n; i++) total += l.items[i].size;
    rdi_dirlist_free(&l);
    *bytes = total;
    return RADI_OK;
}
