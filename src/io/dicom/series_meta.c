/*
 * What a DICOM volume records besides its voxels: the obs row (radiobject 0.1.1's 13
 * DICOM columns first, in its order, so that 0.1.1 reads radi's collections; then radi's,
 * dicom.md §4.5) and the volume's array metadata (0.1.1's orientation keys, and the
 * scaling keys radi's reads apply, as for NIfTI). Numbers are written as Python writes
 * them (0.1.1 formats with str() and json.dumps), from the shared helpers that NIfTI
 * ingest uses too. No patient identifier leaves the files unless the caller asks.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "io/dicom/series.h"
#include "io/nifti.h"

void rdi_dcm_fields_free(rdi_dcm_fields *f)
{
    for (size_t i = 0; i < f->n; i++) free(f->items[i].value);
    free(f->items);
    memset(f, 0, sizeof *f);
}

const char *rdi_dcm_fields_get(const rdi_dcm_fields *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->items[i].name, name) == 0) return f->items[i].value;
    return NULL;
}

static radi_status add_owned(rdi_dcm_fields *f, const char *name, radi_datatype t, char *value)
{
    if (!value) return rdi_nomem();
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 32;
        rdi_dcm_field *p = realloc(f->items, cap * sizeof *p);
        if (!p) {
            free(value);
            return rdi_nomem();
        }
        f->items = p;
        f->cap = cap;
    }
    f->items[f->n++] = (rdi_dcm_field){name, value, t};
    return RADI_OK;
}

static radi_status add_str(rdi_dcm_fields *f, const char *name, const char *v)
{
    return add_owned(f, name, RADI_STRING_UTF8, rdi_strdup(v));
}

/* FLOAT64 columns: Python's repr, "NaN" for an absent value (0.1.1 writes NaN too). */
static radi_status add_f64(rdi_dcm_fields *f, const char *name, double v)
{
    char b[48];
    rdi_py_float(b, sizeof b, v);
    return add_owned(f, name, RADI_FLOAT64, rdi_strdup(b));
}

static radi_status add_i32(rdi_dcm_fields *f, const char *name, long long v)
{
    return add_owned(f, name, RADI_INT32, rdi_asprintf("%lld", v));
}

/* One element of a Python tuple's str(): repr, with nan/inf as Python spells them there. */
static void tuple_elem(char *b, size_t cap, double v)
{
    if (isnan(v)) snprintf(b, cap, "nan");
    else if (isinf(v)) snprintf(b, cap, v < 0 ? "-inf" : "inf");
    else rdi_py_float(b, cap, v);
}

static char *tuple3(double a, double b, double c)
{
    char x[48], y[48], z[48];
    tuple_elem(x, sizeof x, a);
    tuple_elem(y, sizeof y, b);
    tuple_elem(z, sizeof z, c);
    return rdi_asprintf("(%s, %s, %s)", x, y, z);
}

static char *affine_text(const double *a)
{
    rdi_buf b = RDI_BUF_INIT;
    if (rdi_affine_json(a, &b) != RADI_OK) {
        rdi_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

static double nan_if_absent(double v) { return isfinite(v) ? v : NAN; }

radi_status rdi_dcm_obs_fields(const rdi_dcm_info *const *files, const rdi_dcm_series *s,
                               const rdi_dcm_volume *v, const rdi_dcm_obs_options *opt,
                               rdi_dcm_fields *out)
{
    if (!v->nrefs) return rdi_error(RADI_E_INVALID, "DICOM volume without frames");
    /* The first frame in z order speaks for the series (0.1.1 takes the first file by
     * name, which is arbitrary). */
    const rdi_dcm_info *f = files[v->refs[0].file];
    const rdi_dcm_frame *fr = &f->frames[v->refs[0].frame];
    char axc[4];
    rdi_axcodes(v->affine, axc);
    radi_status st = RADI_OK;
#define ADD(call) \
    if (st == RADI_OK) st = (call)
    /* radiobject 0.1.1's 13, in its order. voxel_spacing keeps 0.1.1's meaning,
     * (PixelSpacing[0], PixelSpacing[1], SliceThickness), which is (row step, column
     * step) and so swapped for non-square pixels; spacing_xyz below is the true one. */
    ADD(add_owned(out, "voxel_spacing", RADI_STRING_UTF8,
                  tuple3(fr->has_spacing ? fr->spacing[0] : NAN, fr->has_spacing ? fr->spacing[1] : NAN,
                         nan_if_absent(f->slice_thickness))));
    ADD(add_owned(out, "dimensions", RADI_STRING_UTF8,
                  rdi_asprintf("(%u, %u, %llu)", v->rows, v->cols, (unsigned long long)v->shape[2])));
    ADD(add_str(out, "modality", f->modality));
    ADD(add_str(out, "series_description", f->series_description));
    ADD(add_f64(out, "kvp", nan_if_absent(f->kvp)));
    ADD(add_f64(out, "exposure", nan_if_absent(f->exposure)));
    ADD(add_f64(out, "repetition_time", nan_if_absent(f->repetition_time)));
    ADD(add_f64(out, "echo_time", nan_if_absent(f->echo_time)));
    ADD(add_f64(out, "magnetic_field_strength", nan_if_absent(f->field_strength)));
    ADD(add_str(out, "axcodes", axc));
    ADD(add_owned(out, "affine_json", RADI_STRING_UTF8, affine_text(v->affine)));
    ADD(add_str(out, "orientation_source", v->orientation_identity ? "identity" : "dicom_iop"));
    ADD(add_str(out, "source_path", opt && opt->source_path ? opt->source_path : ""));
    /* radi's. */
    ADD(add_str(out, "series_instance_uid", f->series_uid));
    ADD(add_str(out, "study_instance_uid", f->study_uid));
    ADD(add_str(out, "frame_of_reference_uid", f->frame_of_reference_uid));
    ADD(add_str(out, "sop_class_uid", f->sop_class_uid));
    ADD(add_str(out, "transfer_syntax_uid", f->ts_uid));
    ADD(add_str(out, "manufacturer", f->manufacturer));
    ADD(add_i32(out, "series_number", f->series_number));
    ADD(add_str(out, "acquisition_date", f->acquisition_date));
    ADD(add_owned(out, "spacing_xyz", RADI_STRING_UTF8, tuple3(v->spacing[0], v->spacing[1], v->spacing[2])));
    ADD(add_f64(out, "slice_thickness", nan_if_absent(f->slice_thickness)));
    ADD(add_f64(out, "spacing_between_slices", nan_if_absent(f->spacing_between_slices)));
    ADD(add_i32(out, "n_frames", (long long)v->nrefs));
    ADD(add_i32(out, "n_files", s ? (long long)s->nfiles : 0));
    ADD(add_f64(out, "gantry_tilt_deg", v->gantry_tilt_deg));
    ADD(add_f64(out, "rescale_slope", v->rescale_slope));
    ADD(add_f64(out, "rescale_intercept", v->rescale_intercept));
    ADD(add_str(out, "rescale_type", f->rescale_type));
    ADD(add_str(out, "stored_values", v->values == RDI_DCM_VALUES_RAW && !(v->slope == 1 && v->intercept == 0)
                                          ? "raw"
                                          : "physical"));
    ADD(add_str(out, "photometric_interpretation", f->photometric));
    ADD(add_i32(out, "bits_stored", v->bits_stored));
    ADD(add_f64(out, "inversion_time", nan_if_absent(f->inversion_time)));
    ADD(add_f64(out, "flip_angle", nan_if_absent(f->flip_angle)));
    ADD(add_f64(out, "echo_number", nan_if_absent(f->echo_number)));
    ADD(add_f64(out, "philips_scale_slope", nan_if_absent(f->philips_scale_slope)));
    ADD(add_str(out, "instance_order", v->instance_order > 0   ? "ascending"
                                       : v->instance_order < 0 ? "descending"
                                                               : "not spatial"));
    if (opt && opt->keep_patient_id) ADD(add_str(out, "patient_id", f->patient_id));
#undef ADD
    return st;
}

radi_status rdi_dcm_volume_meta(const rdi_dcm_info *const *files, const rdi_dcm_volume *v,
                                rdi_dcm_fields *out)
{
    char axc[4], sl[48], ic[48], rs[48], ri[48];
    rdi_axcodes(v->affine, axc);
    rdi_py_float(sl, sizeof sl, v->slope);
    rdi_py_float(ic, sizeof ic, v->intercept);
    rdi_py_float(rs, sizeof rs, v->rescale_slope);
    rdi_py_float(ri, sizeof ri, v->rescale_intercept);
    /* The SOP instances in z, t order: a multi-frame file's frames as "<uid>:<frame>"
     * (1-based, as DICOM numbers frames). */
    rdi_buf uids = RDI_BUF_INIT;
    radi_status st = rdi_buf_append(&uids, "[", 1);
    for (size_t i = 0; i < v->nrefs && st == RADI_OK; i++) {
        const rdi_dcm_info *f = files[v->refs[i].file];
        char one[96];
        int k = f->nframes > 1 ? snprintf(one, sizeof one, "%s\"%s:%u\"", i ? ", " : "", f->sop_instance_uid,
                                          v->refs[i].frame + 1)
                               : snprintf(one, sizeof one, "%s\"%s\"", i ? ", " : "", f->sop_instance_uid);
        st = rdi_buf_append(&uids, one, RDI_MIN((size_t)k, sizeof one - 1));
    }
    if (st == RADI_OK) st = rdi_buf_append(&uids, "]", 2);
    int ident = v->orientation_identity;
#define ADD(call) \
    if (st == RADI_OK) st = (call)
    ADD(add_str(out, "orientation_axcodes", axc));
    ADD(add_owned(out, "orientation_affine", RADI_STRING_UTF8, affine_text(v->affine)));
    ADD(add_str(out, "orientation_source", ident ? "identity" : "dicom_iop"));
    ADD(add_str(out, "orientation_confidence", ident ? "unknown" : "header"));
    /* The scaling radi's reads apply (include/radi/volume.h), under NIfTI's key names
     * so that volumes from either source read and export alike. */
    ADD(add_str(out, "nifti_scl_slope", sl));
    ADD(add_str(out, "nifti_scl_inter", ic));
    ADD(add_str(out, "dicom_rescale_slope", rs));
    ADD(add_str(out, "dicom_rescale_intercept", ri));
    if (st == RADI_OK) {
        st = add_owned(out, "dicom_sop_instance_uids", RADI_STRING_UTF8, (char *)uids.data);
        uids.data = NULL;
    }
#undef ADD
    rdi_buf_free(&uids);
    return st;
}
