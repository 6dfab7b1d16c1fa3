/*
 * The DICOM kind of image source (source.h): one series of a directory, read through
 * the context's storage (dicom_files.c), assembled by io/dicom/series.h. Its obs row is
 * radiobject 0.1.1's 13 DICOM columns, then radi's (rdi_dcm_obs_fields); its volume
 * metadata the orientation keys and the DICOM rescale (rdi_dcm_volume_meta, whose
 * nifti_scl_* keys are left to the ingest, which writes them from the header).
 *
 * The volume's datatype can depend on the voxels (rdi_dcm_narrow_int16: CT whose HU fit
 * int16 is stored as int16 HU), and the header must say it before any voxel is read and
 * the same in both passes of the ingest. So when narrowing is possible, open decodes
 * the volume and decides; read then hands over those voxels (the ingest usually keeps
 * the check pass's handle for the write pass, so this happens once). Otherwise open keeps only
 * the series' file bytes, and read decodes them. File bytes go as soon as the voxels
 * are decoded, files of other series as soon as the series is picked.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/dicom_files.h"
#include "model/source.h"

/* The obs columns of a DICOM collection (rdi_dcm_obs_fields without patient_id):
 * 0.1.1's 13 in its order, then radi's. test_dicom_ingest checks that describe gives
 * exactly these. */
enum { DICOM_NOBS = 38 };
static const char *const obs_names[DICOM_NOBS] = {
    "voxel_spacing", "dimensions", "modality", "series_description", "kvp", "exposure", "repetition_time",
    "echo_time", "magnetic_field_strength", "axcodes", "affine_json", "orientation_source", "source_path",
    "series_instance_uid", "study_instance_uid", "frame_of_reference_uid", "sop_class_uid",
    "transfer_syntax_uid", "manufacturer", "series_number", "acquisition_date", "spacing_xyz",
    "slice_thickness", "spacing_between_slices", "n_frames", "n_files", "gantry_tilt_deg", "rescale_slope",
    "rescale_intercept", "rescale_type", "stored_values", "photometric_interpretation", "bits_stored",
    "inversion_time", "flip_angle", "echo_number", "philips_scale_slope", "instance_order"};
#define S_ RADI_STRING_UTF8
#define F_ RADI_FLOAT64
#define I_ RADI_INT32
static const radi_datatype obs_types[DICOM_NOBS] = {
    S_, S_, S_, S_, F_, F_, F_, F_, F_, S_, S_, S_, S_,
    S_, S_, S_, S_, S_, S_, I_, S_, S_, F_, F_, I_, I_, F_, F_, F_, S_, S_, S_, I_, F_, F_, F_, F_, S_};
#undef S_
#undef F_
#undef I_

typedef struct dicom_source {
    rdi_image_source base;
    radi_ctx *ctx;
    const radi_dicom_source *src;
    radi_dicom_options opt;
    rdi_dicom_files files;
    rdi_dcm_series *series;
    size_t nseries, pick;
    rdi_dcm_volume vol;
    int have_vol;
    rdi_buf voxels;   /* decoded by open (narrowing decided there) */
    int decoded;
} dicom_source;

static void dicom_close(rdi_image_source *base)
{
    dicom_source *d = (dicom_source *)base;
    if (d->have_vol) rdi_dcm_volume_free(&d->vol);
    rdi_dcm_series_free(d->series, d->nseries);
    rdi_dicom_files_free(&d->files);
    rdi_buf_free(&d->voxels);
    free(d);
}

static const char *const *uri_names(const dicom_source *d) { return (const char *const *)d->files.uris; }
static const rdi_dcm_info *const *infos(const dicom_source *d)
{
    return (const rdi_dcm_info *const *)d->files.infos;
}

/* rdi_dcm_read_volume's done callback: a file whose frames are all in the volume gives
 * up its bytes at once, so the series' files and its volume are never both held whole. */
static void file_decoded(void *arg, uint32_t file)
{
    rdi_dicom_files_drop_bytes(arg, file);
}

/* Decodes the volume into out (sized here). */
static radi_status decode(dicom_source *d, rdi_buf *out)
{
    uint64_t nb = rdi_dcm_volume_nbytes(&d->vol);
    if (nb > SIZE_MAX / 2)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: the volume needs %llu bytes", d->src->path, (unsigned long long)nb);
    /* Every frame is written whole: no zeros first. */
    RDI_TRY(rdi_buf_resize_uninit(out, (size_t)nb));
    return rdi_dcm_read_volume(infos(d), uri_names(d), &d->vol, d->ctx->pool, out->data, out->len, file_decoded,
                               &d->files);
}

/* Whether rdi_dcm_narrow_int16 could convert: its preconditions that do not need the
 * voxels. */
static int may_narrow(const rdi_dcm_volume *v)
{
    return v->values == RDI_DCM_VALUES_RAW && v->bits_allocated == 16 && !(v->slope == 1 && v->intercept == 0) &&
           v->slope == floor(v->slope) && v->intercept == floor(v->intercept);
}

static void drop_bytes(dicom_source *d)
{
    for (size_t i = 0; i < d->files.n; i++) rdi_dicom_files_drop_bytes(&d->files, i);
}

static radi_status dicom_open(radi_ctx *ctx, const void *desc, rdi_image_source **out)
{
    const rdi_dicom_desc *dd = desc;
    const radi_dicom_source *src = dd->src;
    if (!src || !src->path || !*src->path) return rdi_error(RADI_E_INVALID, "DICOM source without a path");
    dicom_source *d = rdi_calloc(1, sizeof *d);
    if (!d) return RADI_E_NOMEM;
    d->base.ops = &rdi_dicom_image_source;
    d->ctx = ctx;
    d->src = src;
    if (dd->opt) d->opt = *dd->opt;
    else radi_dicom_options_init(&d->opt);
    const char *uid = src->series_uid && *src->series_uid ? src->series_uid : NULL;
    radi_status s = rdi_dicom_files_load(ctx, src->path, uid, 1, &d->files);
    if (s == RADI_OK) s = rdi_dicom_files_pick(&d->files, src->path, uid, &d->series, &d->nseries, &d->pick);
    if (s == RADI_OK) {
        /* Files of the other series go now. */
        const rdi_dcm_series *ser = &d->series[d->pick];
        uint8_t *keep = rdi_calloc(d->files.n ? d->files.n : 1, 1);
        if (!keep) s = RADI_E_NOMEM;
        for (size_t i = 0; keep && i < ser->nfiles; i++) keep[ser->files[i]] = 1;
        for (size_t i = 0; keep && i < d->files.n; i++)
            if (!keep[i]) rdi_dicom_files_release(&d->files, i);
        free(keep);
    }
    if (s == RADI_OK) {
        rdi_dcm_assemble_options ao = {d->opt.gap_tolerance_mm, d->opt.gap_tolerance_rel};
        s = rdi_dcm_assemble(infos(d), uri_names(d), &d->series[d->pick], &ao, &d->vol);
        d->have_vol = s == RADI_OK;
    }
    /* The datatype may depend on the voxels: decide now, so header is final. */
    if (s == RADI_OK && may_narrow(&d->vol)) {
        /* Each frame's range is taken as it is read, not in a pass of its own after. */
        d->vol.frame_range = rdi_calloc(d->vol.nrefs ? 2 * d->vol.nrefs : 1, sizeof *d->vol.frame_range);
        s = d->vol.frame_range ? decode(d, &d->voxels) : RADI_E_NOMEM;
        if (s == RADI_OK) {
            rdi_dcm_narrow_int16(&d->vol, d->voxels.data, d->ctx->pool);
            d->decoded = 1;
            drop_bytes(d);
        }
    }
    if (s != RADI_OK) {
        if (!strstr(radi_errmsg(), src->path)) rdi_error_wrap(s, "%s", src->path);
        dicom_close(&d->base);
        return s;
    }
    *out = &d->base;
    return RADI_OK;
}

static radi_status dicom_header(rdi_image_source *base, rdi_image_header *h)
{
    dicom_source *d = (dicom_source *)base;
    const rdi_dcm_volume *v = &d->vol;
    memset(h, 0, sizeof *h);
    h->ndim = v->ndim;
    for (int k = 0; k < 4; k++) h->shape[k] = k < (int)v->ndim ? v->shape[k] : 1;
    h->datatype = v->dtype;
    memcpy(h->affine, v->affine, sizeof h->affine);
    int scaled = isfinite(v->slope) && v->slope != 0 && isfinite(v->intercept);
    h->scl_slope = scaled ? v->slope : 1.0;
    h->scl_inter = scaled ? v->intercept : 0.0;
    for (int k = 0; k < 16; k++)
        if (!isfinite(h->affine[k]))
            return rdi_error(RADI_E_CORRUPT, "%s: the affine from ImagePositionPatient/ImageOrientationPatient/"
                             "PixelSpacing is not finite", d->src->path);
    return RADI_OK;
}

static radi_status dicom_describe(rdi_image_source *base, const char *collection, const char *source_path,
                                  rdi_image_fields *out)
{
    (void)collection;
    dicom_source *d = (dicom_source *)base;
    rdi_dcm_fields meta = {0}, obs = {0};
    rdi_dcm_obs_options oo = {source_path, d->opt.keep_patient_id};
    radi_status s = rdi_dcm_volume_meta(infos(d), &d->vol, &meta);
    if (s == RADI_OK) s = rdi_dcm_obs_fields(infos(d), &d->series[d->pick], &d->vol, &oo, &obs);
    for (size_t i = 0; i < meta.n && s == RADI_OK; i++) {
        /* The scaling keys are the ingest's (from the header). */
        if (!strcmp(meta.items[i].name, "nifti_scl_slope") || !strcmp(meta.items[i].name, "nifti_scl_inter")) continue;
        s = rdi_image_fields_meta(out, meta.items[i].name, meta.items[i].value);
    }
    for (size_t i = 0; i < obs.n && s == RADI_OK; i++)
        s = rdi_image_fields_obs_text(out, obs.items[i].name, obs.items[i].type, obs.items[i].value);
    rdi_dcm_fields_free(&meta);
    rdi_dcm_fields_free(&obs);
    return s;
}

static radi_status dicom_read(rdi_image_source *base, rdi_buf *own, const void **voxels)
{
    dicom_source *d = (dicom_source *)base;
    if (d->decoded) {
        *voxels = d->voxels.data;
        return RADI_OK;
    }
    RDI_TRY(decode(d, own));
    drop_bytes(d);
    *voxels = own->data;
    return RADI_OK;
}

const rdi_image_source_ops rdi_dicom_image_source = {
    "DICOM", DICOM_NOBS, obs_names, obs_types,
    dicom_open, dicom_header, dicom_describe, dicom_read, dicom_close,
};
