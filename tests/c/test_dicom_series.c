/* DICOM series assembly: grouping, sort, geometry, refusals, values and metadata, on
 * hand-built rdi_dcm_info records (no parser involved). Affines are checked against
 * ones computed here by hand from dicom.md §4.4. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "io/dicom/series.h"

#define MAXF 40

typedef struct fx {
    rdi_dcm_info info[MAXF];
    rdi_dcm_frame fr[MAXF][4];
    const rdi_dcm_info *ptr[MAXF];
    const char *names[MAXF];
    char namebuf[MAXF][32];
    uint32_t idx[MAXF];
    size_t n;
} fx;

static fx X;

static const double AXIAL[6] = {1, 0, 0, 0, 1, 0};

static void reset(void) { memset(&X, 0, sizeof X); }

/* A 16-bit unsigned CT slice, 4 columns x 3 rows, PixelSpacing (0.7, 0.8). */
static rdi_dcm_info *add(const char *series, const double iop[6], double x, double y, double z, int32_t inst)
{
    size_t i = X.n++;
    assert_true(i < MAXF);
    rdi_dcm_info *f = &X.info[i];
    rdi_dcm_frame *fr = X.fr[i];
    f->ts = RDI_TS_EXPLICIT_LE;
    strcpy(f->ts_uid, "1.2.840.10008.1.2.1");
    strcpy(f->sop_class_uid, "1.2.840.10008.5.1.4.1.1.2");
    snprintf(f->sop_instance_uid, sizeof f->sop_instance_uid, "1.2.826.0.9.%zu", i);
    strcpy(f->study_uid, "1.2.826.0.1");
    strcpy(f->series_uid, series);
    strcpy(f->modality, "CT");
    strcpy(f->photometric, "MONOCHROME2");
    strcpy(f->series_description, "demo");
    strcpy(f->patient_id, "PAT-0042");
    f->series_number = 3;
    f->rows = 3;
    f->cols = 4;
    f->samples_per_pixel = 1;
    f->nframes = 1;
    f->bits_allocated = 16;
    f->bits_stored = 12;
    f->high_bit = 11;
    f->slice_thickness = f->spacing_between_slices = f->kvp = f->exposure = f->repetition_time = NAN;
    f->echo_time = f->field_strength = f->inversion_time = f->flip_angle = f->echo_number = NAN;
    f->philips_scale_slope = NAN;
    f->kvp = 120;
    f->has_pixels = 1;
    f->frames = fr;
    fr->ipp[0] = x, fr->ipp[1] = y, fr->ipp[2] = z;
    memcpy(fr->iop, iop, sizeof fr->iop);
    fr->spacing[0] = 0.7, fr->spacing[1] = 0.8;
    fr->slope = 1, fr->intercept = 0;
    fr->has_ipp = fr->has_iop = fr->has_spacing = 1;
    fr->temporal_position = fr->acquisition_number = -1;
    fr->instance_number = inst;
    snprintf(X.namebuf[i], 32, "f%02zu.dcm", i);
    X.names[i] = X.namebuf[i];
    X.ptr[i] = f;
    X.idx[i] = (uint32_t)i;
    return f;
}

/* All files as one series, in the order given. */
static rdi_dcm_series all(void)
{
    rdi_dcm_series s;
    memset(&s, 0, sizeof s);
    s.files = X.idx;
    s.nfiles = X.n;
    return s;
}

static radi_status assemble(rdi_dcm_volume *v)
{
    rdi_dcm_series s = all();
    return rdi_dcm_assemble(X.ptr, X.names, &s, NULL, v);
}

static void assert_affine(const rdi_dcm_volume *v, const double want[16], double tol)
{
    for (int i = 0; i < 16; i++)
        if (fabs(v->affine[i] - want[i]) > tol) fail_msg("affine[%d] = %.10g, want %.10g", i, v->affine[i], want[i]);
}

/* RADI_SHOW_MESSAGES=1 prints each checked message, to read their wording. */
static void assert_msg_has(const char *what)
{
    if (getenv("RADI_SHOW_MESSAGES")) print_message("%s\n", radi_errmsg());
    if (!strstr(radi_errmsg(), what)) fail_msg("message lacks \"%s\": %s", what, radi_errmsg());
}

/* ------------------------------------------------------------------- sort -- */

static void test_sorted_by_position_not_instance(void **state)
{
    (void)state;
    reset();
    /* Positions 0, 2.5, ..., 10 given shuffled; InstanceNumber runs against z. */
    const int order[5] = {3, 0, 4, 1, 2};
    for (int i = 0; i < 5; i++) add("1.2.9", AXIAL, -10, -20, 2.5 * order[i], 10 - order[i]);
    rdi_dcm_volume v;
    assert_int_equal(assemble(&v), RADI_OK);
    assert_int_equal(v.ndim, 3);
    assert_int_equal(v.shape[0], 4); /* x = columns */
    assert_int_equal(v.shape[1], 3); /* y = rows */
    assert_int_equal(v.shape[2], 5);
    assert_int_equal(v.shape[3], 1);
    for (int z = 0; z < 5; z++) assert_true(X.fr[v.refs[z].file][0].ipp[2] == 2.5 * z);
    assert_int_equal(v.instance_order, -1);
    /* Non-square pixels: x steps by PixelSpacing[1] = 0.8 along the row cosine, y by
     * PixelSpacing[0] = 0.7; LPS (-10, -20, 0) is RAS (10, 20, 0). */
    const double want[16] = {-0.8, 0, 0, 10, 0, -0.7, 0, 20, 0, 0, 2.5, 0, 0, 0, 0, 1};
    assert_affine(&v, want, 1e-12);
    assert_true(fabs(v.spacing[0] - 0.8) < 1e-12 && fabs(v.spacing[1] - 0.7) < 1e-12);
    assert_true(fabs(v.spacing[2] - 2.5) < 1e-12);
    assert_true(v.gantry_tilt_deg < 1e-9);
    assert_int_equal(v.orientation_identity, 0);
    rdi_dcm_volume_free(&v);

    /* The same files in another order give the same volume. */
    rdi_dcm_info copy[5];
    memcpy(copy, X.info, sizeof copy);
    const char *names[5];
    for (int i = 0; i < 5; i++) {
        X.ptr[i] = &copy[4 - i];
        names[i] = X.names[4 - i];
    }
    rdi_dcm_series s = all();
    rdi_dcm_volume w;
    assert_int_equal(rdi_dcm_assemble(X.ptr, names, &s, NULL, &w), RADI_OK);
    assert_affine(&w, want, 1e-12);
    for (int z = 0; z < 5; z++) assert_true(X.ptr[w.refs[z].file]->frames[0].ipp[2] == 2.5 * z);
    rdi_dcm_volume_free(&w);
}

static void test_oblique(void **state)
{
    (void)state;
    reset();
    /* R = Rz(30 deg) Rx(20 deg): rows are R's first column, columns its second; the
     * slices step 3 mm along the third (the normal). */
    double a = 30 * M_PI / 180, b = 20 * M_PI / 180;
    double r[3][3] = {{cos(a), -sin(a) * cos(b), sin(a) * sin(b)},
                      {sin(a), cos(a) * cos(b), -cos(a) * sin(b)},
                      {0, sin(b), cos(b)}};
    double iop[6] = {r[0][0], r[1][0], r[2][0], r[0][1], r[1][1], r[2][1]};
    double o[3] = {-100, 50, 20};
    for (int k = 3; k >= 0; k--)
        add("1.2.9", iop, o[0] + 3 * k * r[0][2], o[1] + 3 * k * r[1][2], o[2] + 3 * k * r[2][2], k + 1);
    rdi_dcm_volume v;
    assert_int_equal(assemble(&v), RADI_OK);
    double want[16] = {0};
    for (int i = 0; i < 3; i++) {
        double f = i < 2 ? -1 : 1;
        want[4 * i + 0] = f * r[i][0] * 0.8;
        want[4 * i + 1] = f * r[i][1] * 0.7;
        want[4 * i + 2] = f * r[i][2] * 3;
        want[4 * i + 3] = f * o[i];
    }
    want[15] = 1;
    assert_affine(&v, want, 1e-9);
    assert_true(v.gantry_tilt_deg < 1e-6);
    assert_true(fabs(v.spacing[2] - 3) < 1e-9);
    assert_int_equal(v.instance_order, 1);
    rdi_dcm_volume_free(&v);
}

static void test_gantry_tilt(void **state)
{
    (void)state;
    reset();
    /* Axial slices 2 mm apart along z whose origin also moves 2 tan(15 deg) in y per
     * slice: a 15-degree gantry tilt. The z column is the sheared first-to-last step. */
    double t = tan(15 * M_PI / 180);
    for (int k = 0; k < 6; k++) add("1.2.9", AXIAL, 0, 2 * t * k, 2.0 * k, k + 1);
    rdi_dcm_volume v;
    assert_int_equal(assemble(&v), RADI_OK);
    const double want[16] = {-0.8, 0, 0, 0, 0, -0.7, -2 * t, 0, 0, 0, 2, 0, 0, 0, 0, 1};
    assert_affine(&v, want, 1e-12);
    assert_true(fabs(v.gantry_tilt_deg - 15) < 1e-9);
    assert_true(fabs(v.spacing[2] - 2 / cos(15 * M_PI / 180)) < 1e-12);
    rdi_dcm_volume_free(&v);
}

/* --------------------------------------------------------- refused geometry -- */

static void test_uneven_gaps_refused(void **state)
{
    (void)state;
    reset();
    /* pydicom's GE CT2: z -99.48, 103.02, 104.27, 105.52. */
    const double z[4] = {-99.48, 103.02, 104.27, 105.52};
    const int inst[4] = {18, 180, 181, 182};
    for (int i = 3; i >= 0; i--) add("1.2.9", AXIAL, 0, 0, z[i], inst[i]);
    rdi_dcm_volume v;
    assert_int_equal(assemble(&v), RADI_E_UNSUPPORTED);
    assert_msg_has("uneven slice spacing");
    assert_msg_has("202.5, 1.25, 1.25 mm");
    assert_msg_has("_Eq");
    assert_msg_has("SimpleITK");
    assert_msg_has("68.3333");
    assert_null(v.refs);
}

static void test_missing_slice_refused(void **state)
{
    (void)state;
    reset();
    const double z[5] = {0, 2.5, 5, 10, 12.5};
    for (int i = 0; i < 5; i++) add("1.2.9", AXIAL, 0, 0, z[i], i + 1);
    rdi_dcm_volume v;
    assert_int_equal(assemble(&v), RADI_E_UNSUPPORTED);
    assert_msg_has("2.5, 2.5, 5, 2.5 mm");
    assert_msg_has("missing slices");

    /* Within 1% of the median (and above 0.01 mm) passes: 2.5 +- 0.02. */
    reset();
    const double z2[5] = {0, 2.5, 5.02, 7.5, 10};
    for (int i = 0; i < 5; i++) add("1.2.9", AXIAL, 0, 0, z2[i], i + 1);
    assert_int_equal(assemble(&v), RADI_OK);
    rdi_dcm_volume_free(&v);
    /* A caller's tighter tolerance refuses it. */
    rdi_dcm_series s = all();
    rdi_dcm_assemble_options opt = {0.001, 0.001};
    assert_int_equal(rdi_dcm_assemble(X.ptr, X.names, &s, &opt, &v), RADI_E_UNSUPPORTED);
}

static void test_duplicate_positions_refused(void **state)
{
    (void)state;
    reset();
    for (int i = 0; i < 4; i++) add("1.2.9", AXIAL, 0, 0, 2.0 * i, i + 1);
    add("1.2.9", AXIAL, 0, 0, 4.0, 9); /* f04.dcm: a second frame at z = 4 */
    rdi_dcm_volume v;
    assert_int_equal(assemble(&v), RADI_E_UNSUPPORTED);
    assert_msg_has("duplicate slice positions");
    assert_msg_has("4 mm: 2 frames (f02.dcm, f04.dcm)");

    /* The same instance twice (a copied file) is named as such. */
    reset();
    for (int i = 0; i < 3; i++) add("1.2.9", AXIAL, 0, 0, 2.0 * i, i + 1);
    for (int i = 0; i < 3; i++) {
        rdi_dcm_info *f = add("1.2.9", AXIAL, 0, 0, 2.0 * i, i + 1);
        strcpy(f->sop_instance_uid, X.info[i].sop_instance_uid);
    }
    assert_int_equal(assemble(&v), RADI_E_UNSUPPORTED);
    assert_msg_has("same image");
}

/* ----------------------------------------------------------------- 4-D -- */

static void test_4d_by_temporal_position(void **state)
{
    (void)state;
    reset();
    /* 3 positions x 2 time points; files in scrambled order, InstanceNumber misleading. */
    const int tp[6] = {2, 1, 1, 2, 2, 1}, zs[6] = {0, 2, 1, 1, 2, 0};
    for (int i = 0; i < 6; i++) {
        rdi_dcm_info *f = add("1.2.9", AXIAL, 0, 0, 5.0 * zs[i], 100 - i);
        f->frames[0].temporal_position = tp[i];
    }
    rdi_dcm_volume v;
    assert_int_equal(assemble(&v), RADI_OK);
    assert_int_equal(v.ndim, 4);
    assert_int_equal(v.shape[2], 3);
    assert_int_equal(v.shape[3], 2);
    assert_int_equal(v.nrefs, 6);
    for (int t = 0; t < 2; t++)
        for (int z = 0; z < 3; z++) {
            const rdi_dcm_frame *fr = &X.fr[v.refs[t * 3 + z].file][0];
            assert_int_equal(fr->temporal_position, t + 1);
            assert_true(fr->ipp[2] == 5.0 * z);
        }
    const double want[16] = {-0.8, 0, 0, 0, 0, -0.7, 0, 0, 0, 0, 5, 0, 0, 0, 0, 1};
    assert_affine(&v, want, 1e-12);
    rdi_dcm_volume_free(&v);

    /* Without temporal positions: AcquisitionNumber, then InstanceNumber. */
    reset();
    for (int i = 0; i < 4; i++) {
        rdi_dcm_info *f = add("1.2.9", AXIAL, 0, 0, 3.0 * (i % 2), 10 - i);
        f->frames[0].acquisition_number = i < 2 ? 2 : 1;
    }
    assert_int_equal(assemble(&v), RADI_OK);
    assert_int_equal(v.shape[3], 2);
    assert_int_equal(X.fr[v.refs[0].file][0].acquisition_number, 1);
    assert_int_equal(X.fr[v.refs[2].file][0].acquisition_number, 2);
    rdi_dcm_volume_free(&v);
}

static void test_multiframe_file(void **state)
{
    (void)state;
    reset();
    /* One Enhanced file: 3 frames given in reverse z, per-frame rescale equal. */
    rdi_dcm_info *f = add("1.2.9", AXIAL, 0, 0, 0, 1);
    f->nframes = 3;
    f->enhanced = 1;
    for (int k = 1; k < 3; k++) X.fr[0][k] = X.fr[0][0];
    for (int k = 0; k < 3; k++) X.fr[0][k].ipp[2] = 4.0 * (2 - k);
    rdi_dcm_volume v;
    assert_int_equal(assemble(&v), RADI_OK);
    assert_int_equal(v.shape[2], 3);
    for (int z = 0; z < 3; z++) assert_int_equal(v.refs[z].frame, 2 - z);
    rdi_dcm_fields m = {0};
    assert_int_equal(rdi_dcm_volume_meta(X.ptr, &v, &m), RADI_OK);
    assert_string_equal(rdi_dcm_fields_get(&m, "dicom_sop_instance_uids"),
                        "[\"1.2.826.0.9.0:3\", \"1.2.826.0.9.0:2\", \"1.2.826.0.9.0:1\"]");
    rdi_dcm_fields_free(&m);
    rdi_dcm_volume_free(&v);
}

/* ----------------------------------------------------------------- grouping -- */

static void test_group_split_and_skip(void **state)
{
    (void)state;
    reset();
    const double SAG[6] = {0, 1, 0, 0, 0, -1};
    add("1.2.7", AXIAL, 0, 0, 0, 1);                 /* 0: series A, axial */
    add("1.2.7", SAG, 0, 0, 0, 2);                   /* 1: series A, sagittal plane */
    add("1.2.7", AXIAL, 0, 0, 5, 3);                 /* 2: series A, axial */
    add("1.2.7", AXIAL, 0, 0, 10, 4)->rows = 8;      /* 3: series A, other size */
    rdi_dcm_info *b = add("1.2.5", AXIAL, 0, 0, 0, 1); /* 4: series B */
    b->series_number = 2;
    double iop[6] = {1, 0, 0, 0, 1, 0.00005};         /* 5: series A, within 1e-4 of axial */
    add("1.2.7", iop, 0, 0, 10, 5);
    add("1.2.7", AXIAL, 0, 0, 20, 6)->has_pixels = 0; /* 6: no pixel data */
    strcpy(add("1.2.7", AXIAL, 0, 0, 25, 7)->sop_class_uid, "1.2.840.10008.5.1.4.1.1.66.4"); /* 7: SEG */
    add("1.2.7", AXIAL, 0, 0, 30, 8)->frames[0].spacing[0] = 0.5; /* 8: other pixel spacing */

    rdi_dcm_series *s = NULL;
    size_t ns = 0;
    rdi_dcm_skipped sk;
    assert_int_equal(rdi_dcm_group(X.ptr, X.n, X.names, &s, &ns, &sk), RADI_OK);
    assert_int_equal(sk.no_pixels, 1);
    assert_string_equal(sk.first_no_pixels, "f06.dcm");
    assert_int_equal(sk.not_image, 1);
    assert_string_equal(sk.first_not_image, "f07.dcm");
    assert_int_equal(ns, 5);
    /* Series B (number 2) first, then A's four parts in name order of their first file. */
    assert_string_equal(s[0].series_uid, "1.2.5");
    assert_int_equal(s[0].nfiles, 1);
    assert_int_equal(s[0].nparts, 1);
    const size_t want_n[4] = {3, 1, 1, 1};
    const uint32_t want_first[4] = {0, 1, 3, 8};
    for (int p = 0; p < 4; p++) {
        assert_string_equal(s[1 + p].series_uid, "1.2.7");
        assert_int_equal(s[1 + p].part, p);
        assert_int_equal(s[1 + p].nparts, 4);
        assert_int_equal(s[1 + p].nfiles, want_n[p]);
        assert_int_equal(s[1 + p].files[0], want_first[p]);
        assert_string_equal(s[1 + p].modality, "CT");
        assert_int_equal(s[1 + p].series_number, 3);
    }
    assert_int_equal(s[1].files[1], 2);
    assert_int_equal(s[1].files[2], 5);
    assert_int_equal(s[1].nframes, 3);
    /* The first part assembles. */
    rdi_dcm_volume v;
    assert_int_equal(rdi_dcm_assemble(X.ptr, X.names, &s[1], NULL, &v), RADI_OK);
    assert_int_equal(v.shape[2], 3);
    rdi_dcm_volume_free(&v);
    rdi_dcm_series_free(s, ns);

    /* The input order does not change the result. */
    const rdi_dcm_info *rev[MAXF];
    const char *rnames[MAXF];
    for (size_t i = 0; i < X.n; i++) rev[i] = X.ptr[X.n - 1 - i], rnames[i] = X.names[X.n - 1 - i];
    assert_int_equal(rdi_dcm_group(rev, X.n, rnames, &s, &ns, NULL), RADI_OK);
    assert_int_equal(ns, 5);
    assert_int_equal(s[1].nfiles, 3);
    assert_string_equal(rnames[s[1].files[0]], "f00.dcm");
    assert_string_equal(rnames[s[2].files[0]], "f01.dcm");
    rdi_dcm_series_free(s, ns);

    /* Assembled directly, a series whose orientation varies is refused by name. */
    reset();
    add("1.2.7", AXIAL, 0, 0, 0, 1);
    add("1.2.7", SAG, 0, 0, 5, 2);
    assert_int_equal(assemble(&v), RADI_E_UNSUPPORTED);
    assert_msg_has("f00.dcm differs from f01.dcm");
    assert_msg_has("orientation");

    /* Nothing but non-images: no series, no error. */
    reset();
    add("1.2.7", AXIAL, 0, 0, 0, 1)->has_pixels = 0;
    assert_int_equal(rdi_dcm_group(X.ptr, X.n, X.names, &s, &ns, &sk), RADI_OK);
    assert_int_equal(ns, 0);
    assert_int_equal(sk.no_pixels, 1);
    rdi_dcm_series_free(s, ns);
}

/* ------------------------------------------------------- single and identity -- */

static void test_single_frame(void **state)
{
    (void)state;
    reset();
    rdi_dcm_info *f = add("1.2.9", AXIAL, -1, -2, 3, 1);
    f->slice_thickness = 5;
    f->spacing_between_slices = 6;
    rdi_dcm_volume v;
    assert_int_equal(assemble(&v), RADI_OK);
    const double want[16] = {-0.8, 0, 0, 1, 0, -0.7, 0, 2, 0, 0, 6, 3, 0, 0, 0, 1};
    assert_affine(&v, want, 1e-12);
    assert_int_equal(v.shape[2], 1);
    rdi_dcm_volume_free(&v);
    f->spacing_between_slices = NAN; /* SliceThickness next */
    assert_int_equal(assemble(&v), RADI_OK);
    assert_true(v.affine[10] == 5);
    rdi_dcm_volume_free(&v);
    f->slice_thickness = NAN; /* then 1 */
    assert_int_equal(assemble(&v), RADI_OK);
    assert_true(v.affine[10] == 1);
    rdi_dcm_volume_free(&v);
}

static void test_identity_fallback(void **state)
{
    (void)state;
    reset();
    add("1.2.9", AXIAL, 0, 0, 0, 1)->frames[0].has_ipp = 0;
    rdi_dcm_volume v;
    assert_int_equal(assemble(&v), RADI_OK);
    assert_int_equal(v.orientation_identity, 1);
    for (int i = 0; i < 16; i++) assert_true(v.affine[i] == (i % 5 == 0 ? 1.0 : 0.0));
    rdi_dcm_fields m = {0};
    assert_int_equal(rdi_dcm_volume_meta(X.ptr, &v, &m), RADI_OK);
    assert_string_equal(rdi_dcm_fields_get(&m, "orientation_source"), "identity");
    assert_string_equal(rdi_dcm_fields_get(&m, "orientation_confidence"), "unknown");
    rdi_dcm_fields_free(&m);
    rdi_dcm_volume_free(&v);

    /* More than one frame without geometry is refused. */
    add("1.2.9", AXIAL, 0, 0, 2, 2)->frames[0].has_iop = 0;
    assert_int_equal(assemble(&v), RADI_E_UNSUPPORTED);
    assert_msg_has("f00.dcm: frame 0 has no ImagePositionPatient");
}

/* ------------------------------------------------------------------ refusals -- */

static void refused(void (*edit)(rdi_dcm_info *), radi_status want, const char *text)
{
    reset();
    add("1.2.9", AXIAL, 0, 0, 0, 1);
    edit(add("1.2.9", AXIAL, 0, 0, 2, 2));
    rdi_dcm_volume v;
    assert_int_equal(assemble(&v), want);
    assert_msg_has("f01.dcm");
    assert_msg_has(text);
}

static void e_rgb(rdi_dcm_info *f) { f->samples_per_pixel = 3, strcpy(f->photometric, "RGB"); }
static void e_palette(rdi_dcm_info *f) { strcpy(f->photometric, "PALETTE COLOR"); }
static void e_ybr(rdi_dcm_info *f) { strcpy(f->photometric, "YBR_FULL_422"); }
static void e_bits(rdi_dcm_info *f) { f->bits_allocated = 12; }
static void e_stored(rdi_dcm_info *f) { f->bits_stored = 17; }
static void e_mosaic(rdi_dcm_info *f) { f->mosaic = 1; }
static void e_baseline(rdi_dcm_info *f) { f->ts = RDI_TS_JPEG_BASELINE, f->encapsulated = 1; }
static void e_extended(rdi_dcm_info *f) { f->ts = RDI_TS_JPEG_EXTENDED, f->encapsulated = 1; }
static void e_other(rdi_dcm_info *f) { f->ts = RDI_TS_OTHER, strcpy(f->ts_uid, "1.2.840.10008.1.2.4.100"); }
static void e_j2k32(rdi_dcm_info *f) { f->ts = RDI_TS_J2K, f->encapsulated = 1, f->bits_allocated = 32; }
static void e_size(rdi_dcm_info *f) { f->cols = 5; }
static void e_sign(rdi_dcm_info *f) { f->pixel_representation = 1; }
static void e_slope0(rdi_dcm_info *f) { f->frames[0].slope = 0; }

static void test_refusals(void **state)
{
    (void)state;
    refused(e_rgb, RADI_E_UNSUPPORTED, "colour images are not supported (PhotometricInterpretation RGB");
    refused(e_palette, RADI_E_UNSUPPORTED, "PALETTE COLOR");
    refused(e_ybr, RADI_E_UNSUPPORTED, "YBR_FULL_422");
    refused(e_bits, RADI_E_UNSUPPORTED, "BitsAllocated 12 is not supported");
    refused(e_stored, RADI_E_CORRUPT, "BitsStored 17");
    refused(e_mosaic, RADI_E_UNSUPPORTED, "Siemens mosaic: convert with dcm2niix first");
    refused(e_baseline, RADI_E_UNSUPPORTED, "JPEG Baseline (lossy 8-bit");
    refused(e_extended, RADI_E_UNSUPPORTED, "JPEG Extended (lossy 12-bit");
    refused(e_other, RADI_E_UNSUPPORTED, "transfer syntax 1.2.840.10008.1.2.4.100 is not supported");
    refused(e_j2k32, RADI_E_UNSUPPORTED, "compressed 32-bit");
    refused(e_size, RADI_E_UNSUPPORTED, "cannot be one volume");
    refused(e_sign, RADI_E_UNSUPPORTED, "signed");
    refused(e_slope0, RADI_E_CORRUPT, "RescaleSlope 0");
}

/* -------------------------------------------------------------------- values -- */

static void three_slices(double slope, double inter)
{
    reset();
    for (int i = 0; i < 3; i++) {
        rdi_dcm_info *f = add("1.2.9", AXIAL, 0, 0, 2.0 * i, i + 1);
        f->frames[0].slope = slope;
        f->frames[0].intercept = inter;
    }
}

static void test_values_ct_hu_int16(void **state)
{
    (void)state;
    /* CT: 12 bits stored unsigned, slope 1, intercept -1024: [-1024, 3071] fits int16. */
    three_slices(1, -1024);
    rdi_dcm_volume v;
    assert_int_equal(assemble(&v), RADI_OK);
    assert_int_equal(v.values, RDI_DCM_VALUES_INT16);
    assert_int_equal(v.dtype, RADI_INT16);
    assert_int_equal(v.raw_dtype, RADI_UINT16);
    assert_true(v.slope == 1 && v.intercept == 0);
    assert_true(v.rescale_slope == 1 && v.rescale_intercept == -1024);
    assert_int_equal(v.rescale_varies, 0);
    assert_int_equal(rdi_dcm_volume_nbytes(&v), 4 * 3 * 3 * 2);
    /* Frame 1 (z = 2): 12 samples, one with a stray bit above BitsStored. */
    uint16_t in[12] = {0, 1024, 4095, 0x1000 | 5, 1, 2, 3, 4, 5, 6, 7, 8};
    int16_t out[36];
    memset(out, 0x55, sizeof out);
    assert_int_equal(rdi_dcm_put_frame(&v, X.ptr, X.names, 1, in, sizeof in, 0, out), RADI_OK);
    assert_int_equal(out[12], -1024);
    assert_int_equal(out[13], 0);
    assert_int_equal(out[14], 3071);
    assert_int_equal(out[15], -1019);
    assert_int_equal(out[23], 8 - 1024);
    assert_int_equal((uint16_t)out[0], 0x5555); /* other slabs untouched */
    /* Big-endian samples (Explicit VR Big Endian) are swapped. */
    uint16_t be[12];
    for (int i = 0; i < 12; i++) be[i] = __builtin_bswap16(in[i]);
    assert_int_equal(rdi_dcm_put_frame(&v, X.ptr, X.names, 2, be, sizeof be, 1, out), RADI_OK);
    assert_int_equal(out[24 + 2], 3071);
    /* A short frame is named. */
    assert_int_equal(rdi_dcm_put_frame(&v, X.ptr, X.names, 0, in, 20, 0, out), RADI_E_CORRUPT);
    assert_msg_has("pixel data 20 bytes, expected 24");
    rdi_dcm_fields m = {0};
    assert_int_equal(rdi_dcm_volume_meta(X.ptr, &v, &m), RADI_OK);
    assert_string_equal(rdi_dcm_fields_get(&m, "nifti_scl_slope"), "1.0");
    assert_string_equal(rdi_dcm_fields_get(&m, "nifti_scl_inter"), "0.0");
    assert_string_equal(rdi_dcm_fields_get(&m, "dicom_rescale_intercept"), "-1024.0");
    rdi_dcm_fields_free(&m);
    rdi_dcm_volume_free(&v);

    /* 16 bits stored: -1024 + 65535 does not fit int16, so raw uint16 + intercept. */
    three_slices(1, -1024);
    for (int i = 0; i < 3; i++) X.info[i].bits_stored = 16;
    assert_int_equal(assemble(&v), RADI_OK);
    assert_int_equal(v.values, RDI_DCM_VALUES_RAW);
    assert_int_equal(v.dtype, RADI_UINT16);
    assert_true(v.slope == 1 && v.intercept == -1024);
    /* ... unless the data read fit: then int16 HU after all, in place. */
    uint16_t vox[36];
    for (int i = 0; i < 36; i++) vox[i] = (uint16_t)(i * 100);
    assert_int_equal(rdi_dcm_narrow_int16(&v, vox, NULL), 1);
    assert_int_equal(v.values, RDI_DCM_VALUES_INT16);
    assert_int_equal(v.dtype, RADI_INT16);
    assert_true(v.slope == 1 && v.intercept == 0 && v.rescale_intercept == -1024);
    assert_int_equal((int16_t)vox[0], -1024);
    assert_int_equal((int16_t)vox[35], 3500 - 1024);
    assert_int_equal(rdi_dcm_narrow_int16(&v, vox, NULL), 0); /* already physical */
    rdi_dcm_volume_free(&v);
    assert_int_equal(assemble(&v), RADI_OK);
    for (int i = 0; i < 36; i++) vox[i] = (uint16_t)(i * 100);
    vox[7] = 65535; /* 64511 HU does not fit */
    assert_int_equal(rdi_dcm_narrow_int16(&v, vox, NULL), 0);
    assert_int_equal(v.dtype, RADI_UINT16);
    rdi_dcm_volume_free(&v);
    /* A non-integer slope is never narrowed. */
    three_slices(2.5, 0);
    for (int i = 0; i < 3; i++) X.info[i].bits_stored = 16;
    assert_int_equal(assemble(&v), RADI_OK);
    assert_int_equal(rdi_dcm_narrow_int16(&v, vox, NULL), 0);
    rdi_dcm_volume_free(&v);
}

/* rdi_dcm_narrow_int16 in several parts on a pool (a CT volume is many): the range is the
 * whole volume's (a value out of range in the last part keeps every part raw), and every
 * part is converted when it fits. */
static void test_narrow_parts_on_pool(void **state)
{
    (void)state;
    rdi_dcm_volume v;
    memset(&v, 0, sizeof v);
    v.shape[0] = 512, v.shape[1] = 512, v.shape[2] = 3, v.shape[3] = 1;
    v.ndim = 3;
    v.rows = v.cols = 512;
    v.bits_allocated = v.bits_stored = 16;
    v.raw_dtype = v.dtype = RADI_UINT16;
    v.values = RDI_DCM_VALUES_RAW;
    v.slope = 1, v.intercept = -1024;
    const size_t n = 512 * 512 * 3;
    uint16_t *vox = malloc(n * 2);
    assert_non_null(vox);
    for (size_t i = 0; i < n; i++) vox[i] = (uint16_t)(i % 4000);
    vox[n - 1] = 65535; /* 64511 HU: out of int16, in the last part only */
    rdi_pool *pool = NULL;
    assert_int_equal(rdi_pool_create(2, &pool), RADI_OK);
    assert_int_equal(rdi_dcm_narrow_int16(&v, vox, pool), 0);
    assert_int_equal(v.dtype, RADI_UINT16);
    assert_int_equal(vox[3999], 3999);
    assert_int_equal(vox[n - 2], (n - 2) % 4000);
    vox[n - 1] = 100;
    assert_int_equal(rdi_dcm_narrow_int16(&v, vox, pool), 1);
    assert_int_equal(v.dtype, RADI_INT16);
    assert_true(v.slope == 1 && v.intercept == 0);
    assert_int_equal((int16_t)vox[0], -1024);
    assert_int_equal((int16_t)vox[300001], (int)(300001 % 4000) - 1024);
    assert_int_equal((int16_t)vox[n - 2], (int)((n - 2) % 4000) - 1024);
    assert_int_equal((int16_t)vox[n - 1], 100 - 1024);
    rdi_pool_free(pool);
    free(vox);
}

static void test_values_raw_with_slope(void **state)
{
    (void)state;
    three_slices(2.5, -10);
    rdi_dcm_volume v;
    assert_int_equal(assemble(&v), RADI_OK);
    assert_int_equal(v.values, RDI_DCM_VALUES_RAW);
    assert_int_equal(v.dtype, RADI_UINT16);
    assert_true(v.slope == 2.5 && v.intercept == -10);
    uint16_t in[12] = {0, 7, 4095, 0xF000 | 9};
    uint16_t out[36];
    assert_int_equal(rdi_dcm_put_frame(&v, X.ptr, X.names, 0, in, sizeof in, 0, out), RADI_OK);
    assert_int_equal(out[1], 7);
    assert_int_equal(out[2], 4095);
    assert_int_equal(out[3], 9);
    rdi_dcm_fields m = {0};
    assert_int_equal(rdi_dcm_volume_meta(X.ptr, &v, &m), RADI_OK);
    assert_string_equal(rdi_dcm_fields_get(&m, "nifti_scl_slope"), "2.5");
    assert_string_equal(rdi_dcm_fields_get(&m, "nifti_scl_inter"), "-10.0");
    rdi_dcm_fields_free(&m);
    rdi_dcm_volume_free(&v);

    /* Signed 12-bit samples are sign-extended; no rescale keeps them as they are. */
    three_slices(1, 0);
    for (int i = 0; i < 3; i++) X.info[i].pixel_representation = 1;
    assert_int_equal(assemble(&v), RADI_OK);
    assert_int_equal(v.dtype, RADI_INT16);
    assert_int_equal(v.values, RDI_DCM_VALUES_RAW);
    uint16_t s12[12] = {0x0FFF, 0x0800, 0x07FF, 0xF001};
    int16_t o12[36];
    assert_int_equal(rdi_dcm_put_frame(&v, X.ptr, X.names, 0, s12, sizeof s12, 0, o12), RADI_OK);
    assert_int_equal(o12[0], -1);
    assert_int_equal(o12[1], -2048);
    assert_int_equal(o12[2], 2047);
    assert_int_equal(o12[3], 1);
    rdi_dcm_volume_free(&v);

    /* 8-bit unsigned without rescale stays uint8 (no widening). */
    three_slices(1, 0);
    for (int i = 0; i < 3; i++) X.info[i].bits_allocated = X.info[i].bits_stored = 8;
    assert_int_equal(assemble(&v), RADI_OK);
    assert_int_equal(v.dtype, RADI_UINT8);
    rdi_dcm_volume_free(&v);
}

static void test_values_varying_float32(void **state)
{
    (void)state;
    three_slices(1, 0);
    X.fr[1][0].slope = 2;
    X.fr[2][0].intercept = 0.5;
    rdi_dcm_volume v;
    assert_int_equal(assemble(&v), RADI_OK);
    assert_int_equal(v.values, RDI_DCM_VALUES_FLOAT32);
    assert_int_equal(v.dtype, RADI_FLOAT32);
    assert_int_equal(v.rescale_varies, 1);
    assert_true(isnan(v.rescale_slope) && isnan(v.rescale_intercept));
    assert_true(v.slope == 1 && v.intercept == 0);
    uint16_t in[12] = {3, 4};
    float out[36];
    for (size_t r = 0; r < 3; r++)
        assert_int_equal(rdi_dcm_put_frame(&v, X.ptr, X.names, r, in, sizeof in, 0, out), RADI_OK);
    assert_true(out[0] == 3 && out[12] == 6 && out[13] == 8 && out[24] == 3.5f);
    rdi_dcm_fields o = {0};
    assert_int_equal(rdi_dcm_obs_fields(X.ptr, NULL, &v, NULL, &o), RADI_OK);
    assert_string_equal(rdi_dcm_fields_get(&o, "rescale_slope"), "NaN");
    assert_string_equal(rdi_dcm_fields_get(&o, "stored_values"), "physical");
    rdi_dcm_fields_free(&o);
    rdi_dcm_volume_free(&v);
}

/* ------------------------------------------------------------------ metadata -- */

static void test_obs_and_volume_meta(void **state)
{
    (void)state;
    /* radiobject 0.1.1's S10 series: 6 rows x 5 columns, PixelSpacing (0.7, 0.8),
     * SliceThickness 2.5, IPP (-10, -20, 5k), InstanceNumber reversed. */
    reset();
    for (int k = 0; k < 3; k++) {
        rdi_dcm_info *f = add("1.2.9", AXIAL, -10, -20, 5.0 * k, 3 - k);
        f->rows = 6, f->cols = 5, f->slice_thickness = 2.5;
        f->frames[0].slope = 2, f->frames[0].intercept = -1024;
    }
    rdi_dcm_series s = all();
    rdi_dcm_volume v;
    assert_int_equal(rdi_dcm_assemble(X.ptr, X.names, &s, NULL, &v), RADI_OK);
    rdi_dcm_fields o = {0};
    rdi_dcm_obs_options opt = {"/data/p1/ct", 0};
    assert_int_equal(rdi_dcm_obs_fields(X.ptr, &s, &v, &opt, &o), RADI_OK);
    static const char *const first13[13] = {
        "voxel_spacing", "dimensions", "modality", "series_description", "kvp", "exposure",
        "repetition_time", "echo_time", "magnetic_field_strength", "axcodes", "affine_json",
        "orientation_source", "source_path"};
    assert_true(o.n > 13);
    for (int i = 0; i < 13; i++) assert_string_equal(o.items[i].name, first13[i]);
    assert_int_equal(o.items[4].type, RADI_FLOAT64);
    assert_string_equal(rdi_dcm_fields_get(&o, "voxel_spacing"), "(0.7, 0.8, 2.5)");
    assert_string_equal(rdi_dcm_fields_get(&o, "dimensions"), "(6, 5, 3)");
    assert_string_equal(rdi_dcm_fields_get(&o, "kvp"), "120.0");
    assert_string_equal(rdi_dcm_fields_get(&o, "exposure"), "NaN");
    assert_string_equal(rdi_dcm_fields_get(&o, "axcodes"), "LPS");
    /* 0.1.1 wrote 2.5 (SliceThickness) for z; the true step is 5. */
    assert_string_equal(rdi_dcm_fields_get(&o, "affine_json"),
                        "[[-0.8, 0.0, 0.0, 10.0], [0.0, -0.7, 0.0, 20.0], [0.0, 0.0, 5.0, 0.0], [0.0, 0.0, 0.0, 1.0]]");
    assert_string_equal(rdi_dcm_fields_get(&o, "orientation_source"), "dicom_iop");
    assert_string_equal(rdi_dcm_fields_get(&o, "source_path"), "/data/p1/ct");
    assert_string_equal(rdi_dcm_fields_get(&o, "spacing_xyz"), "(0.8, 0.7, 5.0)");
    assert_string_equal(rdi_dcm_fields_get(&o, "series_number"), "3");
    assert_string_equal(rdi_dcm_fields_get(&o, "n_frames"), "3");
    assert_string_equal(rdi_dcm_fields_get(&o, "rescale_slope"), "2.0");
    assert_string_equal(rdi_dcm_fields_get(&o, "rescale_intercept"), "-1024.0");
    assert_string_equal(rdi_dcm_fields_get(&o, "stored_values"), "physical"); /* int16 HU-like */
    assert_string_equal(rdi_dcm_fields_get(&o, "instance_order"), "descending");
    assert_string_equal(rdi_dcm_fields_get(&o, "gantry_tilt_deg"), "0.0");
    assert_null(rdi_dcm_fields_get(&o, "patient_id"));
    for (size_t i = 0; i < o.n; i++) assert_null(strstr(o.items[i].value, "PAT-0042"));
    rdi_dcm_fields_free(&o);
    opt.keep_patient_id = 1;
    assert_int_equal(rdi_dcm_obs_fields(X.ptr, &s, &v, &opt, &o), RADI_OK);
    assert_string_equal(rdi_dcm_fields_get(&o, "patient_id"), "PAT-0042");
    rdi_dcm_fields_free(&o);

    rdi_dcm_fields m = {0};
    assert_int_equal(rdi_dcm_volume_meta(X.ptr, &v, &m), RADI_OK);
    assert_string_equal(rdi_dcm_fields_get(&m, "orientation_axcodes"), "LPS");
    assert_string_equal(rdi_dcm_fields_get(&m, "orientation_source"), "dicom_iop");
    assert_string_equal(rdi_dcm_fields_get(&m, "orientation_confidence"), "header");
    assert_string_equal(rdi_dcm_fields_get(&m, "orientation_affine"),
                        "[[-0.8, 0.0, 0.0, 10.0], [0.0, -0.7, 0.0, 20.0], [0.0, 0.0, 5.0, 0.0], [0.0, 0.0, 0.0, 1.0]]");
    assert_string_equal(rdi_dcm_fields_get(&m, "dicom_sop_instance_uids"),
                        "[\"1.2.826.0.9.0\", \"1.2.826.0.9.1\", \"1.2.826.0.9.2\"]");
    for (size_t i = 0; i < m.n; i++) assert_int_equal(m.items[i].type, RADI_STRING_UTF8);
    rdi_dcm_fields_free(&m);
    rdi_dcm_volume_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sorted_by_position_not_instance),
        cmocka_unit_test(test_oblique),
        cmocka_unit_test(test_gantry_tilt),
        cmocka_unit_test(test_uneven_gaps_refused),
        cmocka_unit_test(test_missing_slice_refused),
        cmocka_unit_test(test_duplicate_positions_refused),
        cmocka_unit_test(test_4d_by_temporal_position),
        cmocka_unit_test(test_multiframe_file),
        cmocka_unit_test(test_group_split_and_skip),
        cmocka_unit_test(test_single_frame),
        cmocka_unit_test(test_identity_fallback),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_values_ct_hu_int16),
        cmocka_unit_test(test_narrow_parts_on_pool),
        cmocka_unit_test(test_values_raw_with_slope),
        cmocka_unit_test(test_values_varying_float32),
        cmocka_unit_test(test_obs_and_volume_meta),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
