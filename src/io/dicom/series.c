/*
 * DICOM series: grouping parsed files into series (rdi_dcm_group) and one series into a
 * volume (rdi_dcm_assemble): refusals, sort along the slice normal, 4-D stacking,
 * spacing checks, the RAS affine and the stored-value decision. The rule is the one
 * dcm2niix, ITK/GDCM, dicom-numpy and highdicom share (docs: dicom.md §0.2, §4.4):
 * InstanceNumber never orders slices, since scanners number them in acquisition order,
 * which is often not spatial (pydicom's CT5N runs against its positions).
 * Frame pixels are put into the volume by series_values.c; metadata by series_meta.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "io/dicom/series.h"

/* Tolerances. IOP values are decimal strings of about 6 digits; 1e-4 is dcm2niix's
 * split threshold. Positions closer than POS_TOL along the normal are one slice. */
#define IOP_TOL 1e-4
#define SPACING_TOL 1e-4
#define POS_TOL 0.01
/* How far ImageOrientationPatient's cosines may be from unit length and orthogonality. */
#define IOP_UNIT_TOL 1e-3
/* PixelSpacing (mm) at or above which a file is refused: 1 km pixels are no image, and
 * larger values overflow the affine's norms. */
#define PIXEL_SPACING_MAX 1e6

static const char *name_of(const char *const *names, size_t i, char tmp[32])
{
    if (names && names[i]) return names[i];
    snprintf(tmp, 32, "file #%zu", i);
    return tmp;
}

/* ------------------------------------------------------------------ grouping -- */

/* SOP classes that carry (7FE0,0010) but are not images of the patient to stack
 * (PS3.4 Annex B): Segmentation, registrations and raw data (66.x), RT objects but RT
 * Image (481.x), SR (88.x), presentation states (11.x), encapsulated documents (104.x),
 * waveforms (9.x), and the DICOMDIR. */
static int is_non_image_class(const char *uid)
{
    static const char *const deny[] = {
        "1.2.840.10008.5.1.4.1.1.66", "1.2.840.10008.5.1.4.1.1.481", "1.2.840.10008.5.1.4.1.1.88",
        "1.2.840.10008.5.1.4.1.1.11", "1.2.840.10008.5.1.4.1.1.104", "1.2.840.10008.5.1.4.1.1.9",
        "1.2.840.10008.1.3.10",
    };
    if (strcmp(uid, "1.2.840.10008.5.1.4.1.1.481.1") == 0) return 0; /* RT Image */
    for (size_t i = 0; i < sizeof deny / sizeof deny[0]; i++) {
        size_t n = strlen(deny[i]);
        if (strncmp(uid, deny[i], n) == 0 && (uid[n] == '\0' || uid[n] == '.')) return 1;
    }
    return 0;
}

static int iop_equal(const rdi_dcm_frame *a, const rdi_dcm_frame *b)
{
    if (a->has_iop != b->has_iop) return 0;
    if (!a->has_iop) return 1;
    for (int i = 0; i < 6; i++)
        if (!(fabs(a->iop[i] - b->iop[i]) <= IOP_TOL)) return 0;
    return 1;
}

static int spacing_equal(const rdi_dcm_frame *a, const rdi_dcm_frame *b)
{
    if (a->has_spacing != b->has_spacing) return 0;
    if (!a->has_spacing) return 1;
    return fabs(a->spacing[0] - b->spacing[0]) <= SPACING_TOL &&
           fabs(a->spacing[1] - b->spacing[1]) <= SPACING_TOL;
}

/* Whether two files may be frames of one volume: what the split compares. */
static int same_part(const rdi_dcm_info *a, const rdi_dcm_info *b)
{
    return a->rows == b->rows && a->cols == b->cols && iop_equal(&a->frames[0], &b->frames[0]) &&
           spacing_equal(&a->frames[0], &b->frames[0]);
}

typedef struct gkey {
    const char *uid, *name;
    uint32_t index;
} gkey;

static int cmp_gkey(const void *pa, const void *pb)
{
    const gkey *a = pa, *b = pb;
    int c = strcmp(a->uid, b->uid);
    if (c) return c;
    c = strcmp(a->name, b->name);
    if (c) return c;
    return a->index < b->index ? -1 : a->index > b->index;
}

static int cmp_series(const void *pa, const void *pb)
{
    const rdi_dcm_series *a = pa, *b = pb;
    if (a->series_number != b->series_number) return a->series_number < b->series_number ? -1 : 1;
    int c = strcmp(a->series_uid, b->series_uid);
    if (c) return c;
    return a->part < b->part ? -1 : a->part > b->part;
}

void rdi_dcm_series_free(rdi_dcm_series *s, size_t n)
{
    if (!s) return;
    for (size_t i = 0; i < n; i++) free(s[i].files);
    free(s);
}

/* Adds the files keys[lo..hi) (one SeriesInstanceUID, in name order) to *out as parts:
 * first which part each file joins, then each part's file list at its exact size (a
 * UID whose every file has its own orientation makes as many parts as files). */
static radi_status split_uid(const rdi_dcm_info *const *files, const gkey *keys, size_t lo, size_t hi,
                             rdi_dcm_series *out, size_t *nout)
{
    size_t first = *nout, np = 0;
    uint32_t *part = rdi_calloc(hi - lo, sizeof *part), *lead = rdi_calloc(hi - lo, sizeof *lead);
    radi_status st = part && lead ? RADI_OK : RADI_E_NOMEM;
    for (size_t i = lo; i < hi && st == RADI_OK; i++) {
        const rdi_dcm_info *f = files[keys[i].index];
        size_t p = 0;
        while (p < np && !same_part(files[lead[p]], f)) p++;
        if (p == np) {
            lead[np++] = keys[i].index;
            rdi_dcm_series *s = &out[first + p];
            memset(s, 0, sizeof *s);
            memcpy(s->series_uid, f->series_uid, sizeof s->series_uid);
            memcpy(s->description, f->series_description, sizeof s->description);
            memcpy(s->modality, f->modality, sizeof s->modality);
            s->series_number = f->series_number;
            s->part = (uint32_t)p;
            s->rows = f->rows;
            s->cols = f->cols;
            *nout = first + np; /* so that a failure below frees what was made */
        }
        part[i - lo] = (uint32_t)p;
        out[first + p].nfiles++;
        out[first + p].nframes += f->nframes;
    }
    for (size_t p = 0; p < np && st == RADI_OK; p++) {
        rdi_dcm_series *s = &out[first + p];
        s->nparts = (uint32_t)np;
        if (!(s->files = rdi_calloc(s->nfiles, sizeof *s->files))) st = RADI_E_NOMEM;
        s->nfiles = 0;
    }
    for (size_t i = lo; i < hi && st == RADI_OK; i++) {
        rdi_dcm_series *s = &out[first + part[i - lo]];
        s->files[s->nfiles++] = keys[i].index;
    }
    free(part);
    free(lead);
    return st;
}

radi_status rdi_dcm_group(const rdi_dcm_info *const *files, size_t n, const char *const *names,
                          rdi_dcm_series **out, size_t *nout, rdi_dcm_skipped *skipped)
{
    *out = NULL;
    *nout = 0;
    rdi_dcm_skipped sk = {0, 0, NULL, NULL};
    if (n > UINT32_MAX) return rdi_error(RADI_E_INVALID, "too many DICOM files (%zu)", n);
    gkey *keys = rdi_calloc(n ? n : 1, sizeof *keys);
    /* Names order files within a series; a missing one is "file #i". */
    char (*tmp)[32] = rdi_calloc(n ? n : 1, 32);
    rdi_dcm_series *ser = rdi_calloc(n ? n : 1, sizeof *ser);
    size_t nk = 0, ns = 0;
    radi_status s = keys && tmp && ser ? RADI_OK : RADI_E_NOMEM;
    for (size_t i = 0; i < n && s == RADI_OK; i++) {
        const rdi_dcm_info *f = files[i];
        const char *nm = name_of(names, i, tmp[i]);
        if (!f->has_pixels || f->rows == 0 || f->cols == 0 || f->nframes == 0 || !f->frames) {
            if (!sk.no_pixels++) sk.first_no_pixels = names ? names[i] : NULL;
        } else if (is_non_image_class(f->sop_class_uid)) {
            if (!sk.not_image++) sk.first_not_image = names ? names[i] : NULL;
        } else {
            keys[nk++] = (gkey){f->series_uid, nm, (uint32_t)i};
        }
    }
    if (s == RADI_OK) qsort(keys, nk, sizeof *keys, cmp_gkey);
    for (size_t lo = 0; lo < nk && s == RADI_OK;) {
        size_t hi = lo + 1;
        while (hi < nk && strcmp(keys[hi].uid, keys[lo].uid) == 0) hi++;
        s = split_uid(files, keys, lo, hi, ser, &ns);
        lo = hi;
    }
    if (s == RADI_OK) {
        qsort(ser, ns, sizeof *ser, cmp_series);
        if (skipped) *skipped = sk;
        *out = ser;
        *nout = ns;
        ser = NULL;
    }
    rdi_dcm_series_free(ser, ns);
    free(keys);
    free(tmp);
    return s;
}

/* ------------------------------------------------------------------ refusals -- */

/* Whether file f can give radi faithful grey values; RADI_E_UNSUPPORTED naming it if not. */
static radi_status check_format(const rdi_dcm_info *f, const char *nm)
{
    const char *pi = f->photometric;
    if (f->samples_per_pixel != 1 || strcmp(pi, "PALETTE COLOR") == 0 || strcmp(pi, "RGB") == 0 ||
        strncmp(pi, "YBR", 3) == 0)
        return rdi_error(RADI_E_UNSUPPORTED,
                         "%s: colour images are not supported (PhotometricInterpretation %s, "
                         "SamplesPerPixel %u); radi stores grey-level volumes",
                         nm, pi[0] ? pi : "absent", f->samples_per_pixel);
    if (f->mosaic)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: Siemens mosaic: convert with dcm2niix first", nm);
    if (f->bits_allocated != 8 && f->bits_allocated != 16 && f->bits_allocated != 32)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: BitsAllocated %u is not supported (8, 16 or 32)", nm,
                         f->bits_allocated);
    if (f->bits_stored == 0 || f->bits_stored > f->bits_allocated)
        return rdi_error(RADI_E_CORRUPT, "%s: BitsStored %u with BitsAllocated %u", nm, f->bits_stored,
                         f->bits_allocated);
    switch (f->ts) {
    case RDI_TS_JPEG_BASELINE:
        return rdi_error(RADI_E_UNSUPPORTED,
                         "%s: JPEG Baseline (lossy 8-bit, transfer syntax %s) is not supported: its "
                         "values are not the scanner's",
                         nm, f->ts_uid);
    case RDI_TS_JPEG_EXTENDED:
        return rdi_error(RADI_E_UNSUPPORTED,
                         "%s: JPEG Extended (lossy 12-bit, transfer syntax %s) is not supported: its "
                         "values are not the scanner's",
                         nm, f->ts_uid);
    case RDI_TS_OTHER:
        return rdi_error(RADI_E_UNSUPPORTED, "%s: transfer syntax %s is not supported", nm,
                         f->ts_uid[0] ? f->ts_uid : "(absent)");
    default: break;
    }
    if (f->encapsulated && f->bits_allocated == 32)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: compressed 32-bit pixel data is not supported", nm);
    return RADI_OK;
}

/* ---------------------------------------------------------------- the sort -- */

typedef struct fkey {
    double d;          /* IPP . n */
    double ipp[3];
    int32_t temporal, acquisition, instance;
    const char *name;
    const char *sop;
    uint32_t file, frame;
} fkey;

/* -1 (absent) orders first, as a missing number is no evidence of a later one. */
static int cmp_i32(int32_t a, int32_t b) { return a < b ? -1 : a > b; }

/* Within a position (the caller has grouped by d): the 4-D order of dicom.md §4.4. */
static int cmp_in_position(const fkey *a, const fkey *b)
{
    int c = cmp_i32(a->temporal, b->temporal);
    if (!c) c = cmp_i32(a->acquisition, b->acquisition);
    if (!c) c = cmp_i32(a->instance, b->instance);
    if (!c) c = strcmp(a->name, b->name);
    if (!c) c = a->frame < b->frame ? -1 : a->frame > b->frame;
    return c;
}

static int cmp_fkey(const void *pa, const void *pb)
{
    const fkey *a = pa, *b = pb;
    if (a->d < b->d) return -1;
    if (a->d > b->d) return 1;
    return cmp_in_position(a, b);
}

static int cmp_fkey_pos(const void *pa, const void *pb) { return cmp_in_position(pa, pb); }

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return a < b ? -1 : a > b;
}

static void cross(const double *a, const double *b, double *c)
{
    c[0] = a[1] * b[2] - a[2] * b[1];
    c[1] = a[2] * b[0] - a[0] * b[2];
    c[2] = a[0] * b[1] - a[1] * b[0];
}

static double dot(const double *a, const double *b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }


/* Positions (cluster starts in sorted keys) with unequal frame counts: names them. */
static radi_status refuse_counts(const fkey *k, const size_t *start, size_t nz, size_t kmin)
{
    rdi_buf m = RDI_BUF_INIT;
    size_t listed = 0, bad = 0;
    for (size_t z = 0; z < nz; z++) {
        size_t c = start[z + 1] - start[z];
        if (c == kmin) continue;
        if (bad++ >= 6) continue;
        rdi_msg_add(&m, "%s%.6g mm: %zu frames (", listed++ ? "; " : "", k[start[z]].d, c);
        for (size_t j = start[z]; j < start[z + 1] && j < start[z] + 4; j++)
            rdi_msg_add(&m, "%s%s%s", j > start[z] ? ", " : "", k[j].name,
                    k[j].frame ? " (a frame)" : "");
        rdi_msg_add(&m, "%s)", c > 4 ? ", ..." : "");
    }
    if (bad > 6) rdi_msg_add(&m, "; and %zu more positions", bad - 6);
    radi_status s = rdi_error(RADI_E_UNSUPPORTED,
                              "duplicate slice positions: %s; other positions have %zu frame%s. A 4-D "
                              "series needs the same number of frames at every position",
                              rdi_msg_text(&m), kmin, kmin == 1 ? "" : "s");
    rdi_buf_free(&m);
    return s;
}

static radi_status refuse_gaps(const fkey *k, const size_t *start, size_t nz, const double *gap, double med)
{
    rdi_buf m = RDI_BUF_INIT;
    double sum = 0;
    size_t ng = nz - 1, shown = RDI_MIN(ng, (size_t)16);
    for (size_t i = 0; i < ng; i++) sum += gap[i];
    for (size_t i = 0; i < shown; i++) rdi_msg_add(&m, "%s%.6g", i ? ", " : "", gap[i]);
    if (shown < ng) rdi_msg_add(&m, ", ... (%zu gaps)", ng);
    /* A gap near a small multiple of the usual one is most likely a missing file. */
    const char *hint = "";
    for (size_t i = 0; i < ng; i++) {
        double r = gap[i] / med;
        if (r > 1.5 && r < 10.5 && fabs(r - floor(r + 0.5)) < 0.1) hint = " (a gap of a multiple of the others: missing slices?)";
    }
    radi_status s = rdi_error(
        RADI_E_UNSUPPORTED,
        "uneven slice spacing (%zu positions, %s to %s): gaps %s mm along the slice normal (median %.6g)%s. "
        "radi refuses such a series rather than store a wrong geometry; dcm2niix writes it with the first "
        "gap and adds an interpolated _Eq volume, SimpleITK assumes the mean gap (%.6g mm)",
        nz, k[start[0]].name, k[start[nz - 1]].name, rdi_msg_text(&m), med, hint, sum / (double)ng);
    rdi_buf_free(&m);
    return s;
}

/* ---------------------------------------------------------------- assemble -- */

void rdi_dcm_volume_free(rdi_dcm_volume *v)
{
    if (!v) return;
    free(v->refs);
    v->refs = NULL;
    v->nrefs = 0;
    free(v->frame_range);
    v->frame_range = NULL;
}

uint64_t rdi_dcm_volume_nbytes(const rdi_dcm_volume *v)
{
    uint64_t n = radi_datatype_size(v->dtype);
    for (uint32_t i = 0; i < 4; i++) n *= v->shape[i] ? v->shape[i] : 1;
    return n;
}

static const rdi_dcm_frame *frame_of(const rdi_dcm_info *const *files, rdi_dcm_ref r)
{
    return &files[r.file]->frames[r.frame];
}

/* The stored-value decision of dicom.md §4.4 item 7 (see rdi_dcm_values). */
static radi_status decide_values(const rdi_dcm_info *const *files, const char *const *names, rdi_dcm_volume *v)
{
    int sg = v->is_signed;
    v->raw_dtype = v->bits_allocated == 8 ? (sg ? RADI_INT8 : RADI_UINT8)
                   : v->bits_allocated == 16 ? (sg ? RADI_INT16 : RADI_UINT16)
                                              : (sg ? RADI_INT32 : RADI_UINT32);
    double lo = sg ? -ldexp(1, v->bits_stored - 1) : 0;
    double hi = sg ? ldexp(1, v->bits_stored - 1) - 1 : ldexp(1, v->bits_stored) - 1;
    const rdi_dcm_frame *f0 = frame_of(files, v->refs[0]);
    double sl = f0->slope, ic = f0->intercept;
    int varies = 0;
    for (size_t i = 0; i < v->nrefs; i++) {
        const rdi_dcm_frame *f = frame_of(files, v->refs[i]);
        if (!isfinite(f->slope) || f->slope == 0 || !isfinite(f->intercept)) {
            char tmp[32];
            return rdi_error(RADI_E_CORRUPT, "%s: frame %u: RescaleSlope %g, RescaleIntercept %g",
                             name_of(names, v->refs[i].file, tmp), v->refs[i].frame, f->slope, f->intercept);
        }
        varies |= f->slope != sl || f->intercept != ic;
    }
    v->rescale_varies = varies;
    v->rescale_slope = varies ? NAN : sl;
    v->rescale_intercept = varies ? NAN : ic;
    v->slope = 1;
    v->intercept = 0;
    double p0 = lo * sl + ic, p1 = hi * sl + ic;
    int integral = sl == floor(sl) && ic == floor(ic) && fabs(sl) < 65536 && fabs(ic) < 1e9;
    if (varies) {
        v->values = RDI_DCM_VALUES_FLOAT32;
        v->dtype = RADI_FLOAT32;
    } else if (sl == 1 && ic == 0) {
        /* Nothing to apply: the stored values are the physical ones. */
        v->values = RDI_DCM_VALUES_RAW;
        v->dtype = v->raw_dtype;
    } else if (integral && RDI_MIN(p0, p1) >= -32768 && RDI_MAX(p0, p1) <= 32767) {
        v->values = RDI_DCM_VALUES_INT16;
        v->dtype = RADI_INT16;
    } else {
        v->values = RDI_DCM_VALUES_RAW;
        v->dtype = v->raw_dtype;
        v->slope = sl;
        v->intercept = ic;
    }
    return RADI_OK;
}

/* The most frequent frame count per position (the smaller on a tie). */
static size_t usual_count(const size_t *start, size_t nz)
{
    size_t best = 0, best_n = 0;
    for (size_t z = 0; z < nz; z++) {
        size_t c = start[z + 1] - start[z], n = 0;
        for (size_t w = 0; w < nz; w++) n += start[w + 1] - start[w] == c;
        if (n > best_n || (n == best_n && c < best)) best = c, best_n = n;
        if (best_n * 2 > nz) break; /* a majority: no other count can beat it */
    }
    return best;
}

static double median_of(const double *g, size_t n, double *scratch)
{
    memcpy(scratch, g, n * sizeof *g);
    qsort(scratch, n, sizeof *scratch, cmp_double);
    return n % 2 ? scratch[n / 2] : 0.5 * (scratch[n / 2 - 1] + scratch[n / 2]);
}

/* Checks the series' files against each other and makes the sort keys (*keys, *nkeys). */
static radi_status collect(const rdi_dcm_info *const *files, const char *const *names, const rdi_dcm_series *s,
                           rdi_dcm_volume *v, fkey **keys, size_t *nkeys, char (*tmp)[32])
{
    const rdi_dcm_info *f0 = files[s->files[0]];
    const char *n0 = name_of(names, s->files[0], tmp[0]);
    uint64_t nf = 0;
    for (size_t i = 0; i < s->nfiles; i++) {
        const rdi_dcm_info *f = files[s->files[i]];
        const char *nm = name_of(names, s->files[i], tmp[1]);
        if (!f->has_pixels || !f->frames || f->nframes == 0 || f->rows == 0 || f->cols == 0)
            return rdi_error(RADI_E_UNSUPPORTED, "%s: no image (pixel data, Rows, Columns) to stack", nm);
        RDI_TRY(check_format(f, nm));
        if (f->rows != f0->rows || f->cols != f0->cols || f->bits_allocated != f0->bits_allocated ||
            f->pixel_representation != f0->pixel_representation)
            return rdi_error(RADI_E_UNSUPPORTED,
                             "%s (%ux%u, %u bits, %s) and %s (%ux%u, %u bits, %s) cannot be one volume", n0,
                             f0->cols, f0->rows, f0->bits_allocated, f0->pixel_representation ? "signed" : "unsigned",
                             nm, f->cols, f->rows, f->bits_allocated, f->pixel_representation ? "signed" : "unsigned");
        v->bits_stored = RDI_MAX(v->bits_stored, f->bits_stored);
        nf += f->nframes;
    }
    v->rows = f0->rows;
    v->cols = f0->cols;
    v->bits_allocated = f0->bits_allocated;
    v->is_signed = f0->pixel_representation == 1;
    if (nf > UINT32_MAX || (uint64_t)v->rows * v->cols > (UINT64_MAX / 8) / nf)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: %llu frames of %ux%u are too many for one volume", n0,
                         (unsigned long long)nf, v->cols, v->rows);
    fkey *k = rdi_calloc(nf, sizeof *k);
    if (!k) return RADI_E_NOMEM;
    size_t j = 0;
    for (size_t i = 0; i < s->nfiles; i++) {
        const rdi_dcm_info *f = files[s->files[i]];
        for (uint32_t fr = 0; fr < f->nframes; fr++, j++) {
            const rdi_dcm_frame *x = &f->frames[fr];
            k[j] = (fkey){0, {x->ipp[0], x->ipp[1], x->ipp[2]}, x->temporal_position, x->acquisition_number,
                          x->instance_number, names[s->files[i]],
                          f->sop_instance_uid, s->files[i], fr};
        }
    }
    *keys = k;
    *nkeys = j;
    return RADI_OK;
}

/* The slice normal and each key's position along it; refuses frames without geometry
 * (unless *identity may be set: one frame) and orientation or spacing that varies. */
static radi_status positions(const rdi_dcm_info *const *files, const char *const *names, fkey *k, size_t nk,
                             double n[3], const rdi_dcm_frame **ref, int *identity)
{
    char t0[32], t1[32];
    const rdi_dcm_frame *r0 = &files[k[0].file]->frames[k[0].frame];
    *ref = r0;
    *identity = 0;
    for (size_t j = 0; j < nk; j++) {
        const rdi_dcm_frame *x = &files[k[j].file]->frames[k[j].frame];
        if (!x->has_ipp || !x->has_iop) {
            if (nk == 1) {
                *identity = 1;
                return RADI_OK;
            }
            return rdi_error(RADI_E_UNSUPPORTED,
                             "%s: frame %u has no %s: only a single image can be stored without geometry",
                             name_of(names, k[j].file, t0), k[j].frame,
                             !x->has_ipp ? "ImagePositionPatient (Plane Position)"
                                         : "ImageOrientationPatient (Plane Orientation)");
        }
        if (!iop_equal(x, r0) || !spacing_equal(x, r0))
            return rdi_error(RADI_E_UNSUPPORTED,
                             "%s differs from %s (frame %u) in %s: slices not stacked (a localizer?)",
                             name_of(names, k[0].file, t0), name_of(names, k[j].file, t1), k[j].frame,
                             iop_equal(x, r0) ? "PixelSpacing" : "orientation (ImageOrientationPatient)");
    }
    cross(r0->iop, r0->iop + 3, n);
    double len = sqrt(dot(n, n));
    if (!(len > 0.5))
        return rdi_error(RADI_E_CORRUPT, "%s: ImageOrientationPatient has no slice normal (row and column cosines %s)",
                         name_of(names, k[0].file, t0), len > 0 ? "are not orthogonal unit vectors" : "are parallel");
    /* The affine takes the cosines as they are (times PixelSpacing), so they must be
     * unit vectors and orthogonal: a normal longer than 0.5 alone let "2\0\0\0\3\0"
     * through as a 2x and 3x too large voxel. Real files write them to 4-6 digits. */
    double lr = sqrt(dot(r0->iop, r0->iop)), lc = sqrt(dot(r0->iop + 3, r0->iop + 3));
    double rc = dot(r0->iop, r0->iop + 3);
    if (!(fabs(lr - 1) <= IOP_UNIT_TOL && fabs(lc - 1) <= IOP_UNIT_TOL && fabs(rc) <= IOP_UNIT_TOL))
        return rdi_error(RADI_E_CORRUPT, "%s: (0020,0037) ImageOrientationPatient: row and column cosines are not "
                         "orthogonal unit vectors (lengths %.6g and %.6g, dot product %.6g)",
                         name_of(names, k[0].file, t0), lr, lc, rc);
    /* PixelSpacing scales the affine: zero, negative (a flipped axis) or huge values would
     * store a singular, mirrored or infinite geometry. */
    if (r0->has_spacing && !(r0->spacing[0] > 0 && r0->spacing[1] > 0 && r0->spacing[0] < PIXEL_SPACING_MAX &&
                             r0->spacing[1] < PIXEL_SPACING_MAX))
        return rdi_error(RADI_E_CORRUPT, "%s: (0028,0030) PixelSpacing %.6g\\%.6g: not a positive spacing below %g mm",
                         name_of(names, k[0].file, t0), r0->spacing[0], r0->spacing[1], PIXEL_SPACING_MAX);
    for (int i = 0; i < 3; i++) n[i] /= len;
    for (size_t j = 0; j < nk; j++) k[j].d = dot(k[j].ipp, n);
    return RADI_OK;
}

/* Clusters the sorted keys into positions (start[0..nz]), orders each for 4-D and
 * checks counts, duplicates of one image and the gaps. */
static radi_status stack(const rdi_dcm_assemble_options *opt, fkey *k, size_t nk, size_t *start, size_t *nz_out)
{
    size_t nz = 0;
    for (size_t j = 0; j < nk; j++)
        if (j == 0 || k[j].d - k[start[nz - 1]].d > POS_TOL) start[nz++] = j;
    start[nz] = nk;
    *nz_out = nz;
    for (size_t z = 0; z < nz; z++) {
        size_t c = start[z + 1] - start[z];
        qsort(k + start[z], c, sizeof *k, cmp_fkey_pos);
        for (size_t a = start[z]; a < start[z + 1]; a++)
            for (size_t b = a + 1; b < start[z + 1]; b++)
                if (k[a].sop[0] && strcmp(k[a].sop, k[b].sop) == 0 && k[a].frame == k[b].frame)
                    return rdi_error(RADI_E_UNSUPPORTED, "%s and %s are the same image (SOPInstanceUID %s)",
                                     k[a].name, k[b].name, k[a].sop);
    }
    size_t usual = usual_count(start, nz);
    for (size_t z = 0; z < nz; z++)
        if (start[z + 1] - start[z] != usual) return refuse_counts(k, start, nz, usual);
    if (nz < 3) return RADI_OK;
    double *g = rdi_calloc(2 * (nz - 1), sizeof *g);
    if (!g) return RADI_E_NOMEM;
    for (size_t z = 0; z + 1 < nz; z++) g[z] = k[start[z + 1]].d - k[start[z]].d;
    double med = median_of(g, nz - 1, g + nz - 1);
    double tol_mm = opt && opt->gap_tol_mm > 0 ? opt->gap_tol_mm : 0.01;
    double tol_rel = opt && opt->gap_tol_rel > 0 ? opt->gap_tol_rel : 0.01;
    double tol = RDI_MAX(tol_mm, tol_rel * med);
    radi_status s = RADI_OK;
    for (size_t z = 0; z + 1 < nz && s == RADI_OK; z++)
        if (fabs(g[z] - med) > tol) s = refuse_gaps(k, start, nz, g, med);
    free(g);
    return s;
}

/* The RAS affine (dicom.md §4.4 item 6), spacing and tilt of the stacked frames. */
static radi_status geometry(const rdi_dcm_info *const *files, const char *const *names, const rdi_dcm_frame *r0,
                            const double n[3], rdi_dcm_volume *v)
{
    const rdi_dcm_info *f0 = files[v->refs[0].file];
    size_t nz = (size_t)v->shape[2];
    const rdi_dcm_frame *first = frame_of(files, v->refs[0]), *last = frame_of(files, v->refs[nz - 1]);
    /* PixelSpacing is (between rows, between columns): x (columns) steps by [1]. */
    double dy = r0->has_spacing ? r0->spacing[0] : 1, dx = r0->has_spacing ? r0->spacing[1] : 1;
    double m[3][4];
    for (int i = 0; i < 3; i++) {
        m[i][0] = r0->iop[i] * dx;
        m[i][1] = r0->iop[3 + i] * dy;
        m[i][3] = first->ipp[i];
    }
    if (nz > 1) {
        /* First to last position: exact under gantry tilt, where it is not along n. */
        for (int i = 0; i < 3; i++) m[i][2] = (last->ipp[i] - first->ipp[i]) / (double)(nz - 1);
    } else {
        double dz = f0->spacing_between_slices > 0 ? f0->spacing_between_slices
                    : f0->slice_thickness > 0      ? f0->slice_thickness
                                                   : 1;
        for (int i = 0; i < 3; i++) m[i][2] = n[i] * dz;
    }
    double col[3][3];
    for (int c = 0; c < 3; c++) {
        for (int i = 0; i < 3; i++) col[c][i] = m[i][c];
        v->spacing[c] = sqrt(dot(col[c], col[c]));
    }
    double cosang = v->spacing[2] > 0 ? fabs(dot(col[2], n)) / v->spacing[2] : 1;
    v->gantry_tilt_deg = nz > 1 ? acos(RDI_MIN(cosang, 1.0)) * (180.0 / M_PI) : 0;
    /* LPS -> RAS: negate the first two world rows. */
    for (int i = 0; i < 3; i++)
        for (int c = 0; c < 4; c++) v->affine[4 * i + c] = (i < 2 ? -m[i][c] : m[i][c]) + 0.0;
    v->affine[12] = v->affine[13] = v->affine[14] = 0;
    v->affine[15] = 1;
    /* Positions near DBL_MAX (parsed, so finite) can still overflow the step or its norm:
     * an infinite affine is no geometry to store. */
    int finite = 1;
    for (int i = 0; i < 12; i++) finite &= isfinite(v->affine[i]) != 0;
    for (int c = 0; c < 3; c++) finite &= isfinite(v->spacing[c]) != 0;
    if (!finite) {
        char t0[32], t1[32];
        return rdi_error(RADI_E_CORRUPT, "%s to %s: (0020,0032) ImagePositionPatient out of range: the affine is not finite",
                         name_of(names, v->refs[0].file, t0), name_of(names, v->refs[nz - 1].file, t1));
    }
    return RADI_OK;
}

static int instance_order(const rdi_dcm_info *const *files, const rdi_dcm_volume *v)
{
    size_t nz = (size_t)v->shape[2];
    int up = 1, down = 1;
    for (size_t z = 0; z < nz; z++) {
        int32_t a = frame_of(files, v->refs[z])->instance_number;
        if (a < 0) return 0;
        if (z) {
            int32_t b = frame_of(files, v->refs[z - 1])->instance_number;
            up &= a > b;
            down &= a < b;
        }
    }
    return nz < 2 ? 0 : up ? 1 : down ? -1 : 0;
}

radi_status rdi_dcm_assemble(const rdi_dcm_info *const *files, const char *const *names,
                             const rdi_dcm_series *s, const rdi_dcm_assemble_options *opt,
                             rdi_dcm_volume *out)
{
    memset(out, 0, sizeof *out);
    if (!files || !s || s->nfiles == 0) return rdi_error(RADI_E_INVALID, "DICOM series without files");
    /* Every file gets a name for messages and tie-breaks: "file #i" where none is given. */
    uint32_t nmax = 0;
    for (size_t i = 0; i < s->nfiles; i++) nmax = RDI_MAX(nmax, s->files[i] + 1);
    char (*auto_names)[32] = rdi_calloc(nmax, sizeof *auto_names);
    const char **auto_tab = rdi_calloc(nmax, sizeof *auto_tab);
    if (!auto_names || !auto_tab) {
        free(auto_names);
        free(auto_tab);
        return RADI_E_NOMEM;
    }
    for (uint32_t i = 0; i < nmax; i++) auto_tab[i] = name_of(names, i, auto_names[i]);
    names = auto_tab;
    char tmp[2][32];
    fkey *k = NULL;
    size_t nk = 0, nz = 0, *start = NULL;
    double n[3] = {0, 0, 1};
    const rdi_dcm_frame *r0 = NULL;
    int identity = 0;
    radi_status st = collect(files, names, s, out, &k, &nk, tmp);
    if (st == RADI_OK) st = positions(files, names, k, nk, n, &r0, &identity);
    if (st == RADI_OK && !identity) {
        qsort(k, nk, sizeof *k, cmp_fkey);
        if (!(start = rdi_calloc(nk + 1, sizeof *start))) st = RADI_E_NOMEM;
        if (st == RADI_OK) st = stack(opt, k, nk, start, &nz);
    } else if (st == RADI_OK) {
        nz = 1;
    }
    size_t nt = nz ? nk / nz : 0;
    if (st == RADI_OK && !(out->refs = rdi_calloc(nk, sizeof *out->refs))) st = RADI_E_NOMEM;
    if (st == RADI_OK) {
        out->nrefs = nk;
        for (size_t z = 0; z < nz; z++)
            for (size_t t = 0; t < nt; t++) {
                const fkey *x = &k[identity ? 0 : start[z] + t];
                out->refs[t * nz + z] = (rdi_dcm_ref){x->file, x->frame};
            }
        out->shape[0] = out->cols;
        out->shape[1] = out->rows;
        out->shape[2] = nz;
        out->shape[3] = nt;
        out->ndim = nt > 1 ? 4 : 3;
        if (identity) {
            out->orientation_identity = 1;
            for (int i = 0; i < 16; i++) out->affine[i] = i % 5 == 0;
            out->spacing[0] = out->spacing[1] = out->spacing[2] = 1;
        } else {
            st = geometry(files, names, r0, n, out);
        }
        out->instance_order = instance_order(files, out);
        if (st == RADI_OK) st = decide_values(files, names, out);
    }
    free(k);
    free(start);
    free(auto_names);
    free(auto_tab);
    if (st != RADI_OK) rdi_dcm_volume_free(out);
    return st;
}
