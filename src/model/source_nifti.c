/*
 * The NIfTI kind of image source (source.h): a radi_nifti_source read through
 * io/nifti.h. Its volume metadata are 0.1.1's from_nifti keys (§3.3: orientation_*,
 * nifti_*) and its obs row the 15 NIfTI attributes of a 0.1.1 collection (§3.4).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "radi/nifti.h"
#include "io/nifti.h"
#include "model/source.h"

/* The 15 obs attributes of a NIfTI collection, in 0.1.1's order (§3.4). */
enum { NIFTI_NOBS = 15 };
static const char *const obs_names[NIFTI_NOBS] = {
    "series_type", "voxel_spacing", "dimensions", "datatype", "bitpix", "scl_slope", "scl_inter",
    "xyzt_units", "spatial_units", "qform_code", "sform_code", "axcodes", "affine_json",
    "orientation_source", "source_path"};
static const radi_datatype obs_types[NIFTI_NOBS] = {
    RADI_STRING_UTF8, RADI_STRING_UTF8, RADI_STRING_UTF8, RADI_INT32, RADI_INT32, RADI_FLOAT64,
    RADI_FLOAT64, RADI_INT32, RADI_STRING_UTF8, RADI_INT32, RADI_INT32, RADI_STRING_UTF8,
    RADI_STRING_UTF8, RADI_STRING_UTF8, RADI_STRING_UTF8};

typedef struct nifti_source {
    rdi_image_source base;
    radi_nifti *img;
    const char *path;          /* the caller's radi_nifti_source path */
} nifti_source;

static radi_status nifti_open(radi_ctx *ctx, const void *desc, rdi_image_source **out)
{
    const radi_nifti_source *d = desc;
    nifti_source *n = rdi_calloc(1, sizeof *n);
    if (!n) return RADI_E_NOMEM;
    n->base.ops = &rdi_nifti_image_source;
    n->path = d->path;
    radi_status s = rdi_nifti_open_vfs(ctx->vfs, d->path, &n->img);
    if (s != RADI_OK) {
        free(n);
        return s;
    }
    *out = &n->base;
    return RADI_OK;
}

static void nifti_close(rdi_image_source *src)
{
    nifti_source *n = (nifti_source *)src;
    radi_nifti_close(n->img);
    free(n);
}

/* Scaling as recorded: a usable slope is kept with its intercept; otherwise 1 and 0. */
static void scaling(const radi_nifti_header *h, double *slope, double *inter)
{
    int valid = isfinite(h->scl_slope) && h->scl_slope != 0;
    *slope = valid ? h->scl_slope : 1.0;
    *inter = valid && isfinite(h->scl_inter) ? h->scl_inter : 0.0;
}

static radi_status nifti_header(rdi_image_source *src, rdi_image_header *out)
{
    nifti_source *n = (nifti_source *)src;
    const radi_nifti_header *h = radi_nifti_get_header(n->img);
    if (!rdi_image_dtype_ok(h->datatype))
        return rdi_error(RADI_E_UNSUPPORTED, "%s: NIfTI datatype %d is not supported for volumes", n->path,
                         h->nifti_datatype);
    /* file_ndim: the reader pads 1-D and 2-D images to 3-D; a volume is 3-D or 4-D as stored. */
    if (h->file_ndim < 3 || (h->ndim != 3 && h->ndim != 4))
        return rdi_error(RADI_E_UNSUPPORTED, "%s: a volume must be 3-D or 4-D, this image is %d-D", n->path,
                         h->file_ndim < 3 ? h->file_ndim : (int)h->ndim);
    /* Geometry that cannot be stored or exported faithfully is refused, not guessed. */
    for (int k = 0; k < 16; k++)
        if (!isfinite(h->affine[k]))
            return rdi_error(RADI_E_CORRUPT, "%s: the affine (from the %s) is not finite", n->path,
                             h->affine_source == RADI_NIFTI_AFFINE_SFORM   ? "sform"
                             : h->affine_source == RADI_NIFTI_AFFINE_QFORM ? "qform"
                                                                           : "voxel sizes");
    for (int k = 1; k <= 3; k++)
        if (!isfinite(h->pixdim[k]))
            return rdi_error(RADI_E_CORRUPT, "%s: voxel size pixdim[%d] is not finite", n->path, k);
    memset(out, 0, sizeof *out);
    out->ndim = h->ndim;
    for (int d = 0; d < 4; d++) out->shape[d] = h->shape[d];
    out->datatype = h->datatype;
    memcpy(out->affine, h->affine, sizeof out->affine);
    scaling(h, &out->scl_slope, &out->scl_inter);
    return RADI_OK;
}

static const char *affine_source_name(const radi_nifti_header *h)
{
    return h->affine_source == RADI_NIFTI_AFFINE_SFORM   ? "nifti_sform"
           : h->affine_source == RADI_NIFTI_AFFINE_QFORM ? "nifti_qform"
                                                        : "identity";
}

/* The volume metadata of §3.3 (as 0.1.1's from_nifti; the ingest adds obs_id and the
 * scaling keys nifti_scl_slope / nifti_scl_inter). */
static radi_status volume_meta(const radi_nifti_header *h, const char *affine_json, rdi_image_fields *f)
{
    int ident = 1;
    for (int i = 0; i < 16; i++) ident &= h->affine[i] == ((i % 5 == 0) ? 1.0 : 0.0);
    /* 0.1.1 labels a fallback or numerically identity affine identity/unknown here. */
    int header = h->affine_source != RADI_NIFTI_AFFINE_FALLBACK && !ident;
    char sform[16], qform[16], units[16], tr[48];
    rdi_py_float(tr, sizeof tr, h->pixdim[4]);
    snprintf(sform, sizeof sform, "%d", h->sform_code);
    snprintf(qform, sizeof qform, "%d", h->qform_code);
    snprintf(units, sizeof units, "%d", h->xyzt_units);
    const char *kv[][2] = {
        {"orientation_axcodes", h->axcodes},
        {"orientation_affine", affine_json},
        {"orientation_source", header ? affine_source_name(h) : "identity"},
        {"orientation_confidence", header ? "header" : "unknown"},
        {"nifti_sform_code", sform},
        {"nifti_qform_code", qform},
        {"nifti_xyzt_units", units},
        /* The time step of a 4-D image (0.1.1 loses it); last, so 3-D skips it. */
        {"nifti_pixdim4", tr},
    };
    enum { NKV = sizeof kv / sizeof kv[0] };
    radi_status s = RADI_OK;
    for (size_t k = 0; k < (h->ndim == 4 ? NKV : NKV - 1) && s == RADI_OK; k++)
        s = rdi_image_fields_meta(f, kv[k][0], kv[k][1]);
    return s;
}

/* The obs row: the 15 NIfTI attributes (§3.4). */
static radi_status obs_row(const radi_nifti_header *h, const char *affine_json, const char *collection,
                           const char *source_path, rdi_image_fields *f)
{
    char t1[160], t2[96];
    char a[48], b[48], c[48];
    double slope, inter;
    scaling(h, &slope, &inter);
    rdi_py_float(a, sizeof a, h->pixdim[1]);
    rdi_py_float(b, sizeof b, h->pixdim[2]);
    rdi_py_float(c, sizeof c, h->pixdim[3]);
    snprintf(t1, sizeof t1, "(%s, %s, %s)", a, b, c);
    snprintf(t2, sizeof t2, "(%llu, %llu, %llu)", (unsigned long long)h->shape[0],
             (unsigned long long)h->shape[1], (unsigned long long)h->shape[2]);
    int u = h->xyzt_units & 7;
    const char *units = u == 1 ? "m" : u == 2 ? "mm" : u == 3 ? "um" : "unknown";
    /* series_type: the collection, which radi uses as the series name. */
    radi_status s = rdi_image_fields_obs_str(f, obs_names[0], collection);
    if (s == RADI_OK) s = rdi_image_fields_obs_str(f, obs_names[1], t1);
    if (s == RADI_OK) s = rdi_image_fields_obs_str(f, obs_names[2], t2);
    if (s == RADI_OK) s = rdi_image_fields_obs_i32(f, obs_names[3], h->nifti_datatype);
    if (s == RADI_OK) s = rdi_image_fields_obs_i32(f, obs_names[4], (int32_t)(radi_datatype_size(h->datatype) * 8));
    if (s == RADI_OK) s = rdi_image_fields_obs_f64(f, obs_names[5], slope);
    if (s == RADI_OK) s = rdi_image_fields_obs_f64(f, obs_names[6], inter);
    if (s == RADI_OK) s = rdi_image_fields_obs_i32(f, obs_names[7], h->xyzt_units);
    if (s == RADI_OK) s = rdi_image_fields_obs_str(f, obs_names[8], units);
    if (s == RADI_OK) s = rdi_image_fields_obs_i32(f, obs_names[9], h->qform_code);
    if (s == RADI_OK) s = rdi_image_fields_obs_i32(f, obs_names[10], h->sform_code);
    if (s == RADI_OK) s = rdi_image_fields_obs_str(f, obs_names[11], h->axcodes);
    if (s == RADI_OK) s = rdi_image_fields_obs_str(f, obs_names[12], affine_json);
    if (s == RADI_OK) s = rdi_image_fields_obs_str(f, obs_names[13], affine_source_name(h));
    if (s == RADI_OK) s = rdi_image_fields_obs_str(f, obs_names[14], source_path);
    return s;
}

static radi_status nifti_describe(rdi_image_source *src, const char *collection, const char *source_path,
                                  rdi_image_fields *f)
{
    nifti_source *n = (nifti_source *)src;
    const radi_nifti_header *h = radi_nifti_get_header(n->img);
    rdi_buf aff = RDI_BUF_INIT;
    radi_status s = rdi_affine_json(h->affine, &aff);
    if (s == RADI_OK) s = volume_meta(h, (const char *)aff.data, f);
    if (s == RADI_OK) s = obs_row(h, (const char *)aff.data, collection, source_path, f);
    rdi_buf_free(&aff);
    return s;
}

static radi_status nifti_read(rdi_image_source *src, rdi_buf *own, const void **voxels)
{
    nifti_source *n = (nifti_source *)src;
    const uint8_t *raw = NULL;
    /* The voxels as the file stores them (x fastest): the dense writer cuts each tile
     * straight out of them, with no C-order copy of the volume in between. */
    RDI_TRY(rdi_nifti_read_raw(n->img, own, &raw));
    *voxels = raw;
    return RADI_OK;
}

const rdi_image_source_ops rdi_nifti_image_source = {
    "NIfTI", NIFTI_NOBS, obs_names, obs_types,
    nifti_open, nifti_header, nifti_describe, nifti_read, nifti_close,
};
