/*
 * io layer: DICOM series assembly. Files (parsed by part10.c) are grouped into series by
 * SeriesInstanceUID, split where orientation, size or pixel spacing changes, and each
 * part becomes one volume by the rule dcm2niix, ITK/GDCM, dicom-numpy and highdicom share:
 * frames sorted by position along the slice normal n = row x column cosines (never by
 * InstanceNumber), spacing from the first and last positions, LPS -> RAS affine, gantry
 * tilt recorded, uneven gaps and duplicate positions refused by name; equal position
 * counts k > 1 make a 4-D volume (t = k).
 */
#ifndef RDI_IO_DICOM_SERIES_H
#define RDI_IO_DICOM_SERIES_H

#include "core/pool.h"
#include "io/dicom/dicom.h"

/* One frame of a volume: which file, which frame of it. */
typedef struct rdi_dcm_ref {
    uint32_t file, frame;
} rdi_dcm_ref;

/* ------------------------------------------------------------------ grouping -- */

/* One series, or one part of a series split where orientation, size or pixel spacing
 * changes (a localizer's planes, dcm2niix's "orientation varies"). */
typedef struct rdi_dcm_series {
    char series_uid[65], description[65], modality[17]; /* from the part's first file */
    int32_t series_number;  /* -1 when absent */
    uint32_t part, nparts;  /* this part (0-based) of how many the SeriesInstanceUID made */
    uint32_t rows, cols;
    uint32_t *files;        /* indices into the caller's arrays, in byte order of name (owned) */
    size_t nfiles;
    uint64_t nframes;       /* frames over the files */
} rdi_dcm_series;

/* The files no series took, and why (for the ingest summary). */
typedef struct rdi_dcm_skipped {
    size_t no_pixels; /* no (7FE0,0010), or no Rows/Columns: SR, RT plans, presentation states, DICOMDIR */
    size_t not_image; /* pixel data in a SOP class that is not an image: SEG, RT Dose, raw data ... */
    const char *first_no_pixels, *first_not_image; /* one name of each (borrowed; NULL if none) */
} rdi_dcm_skipped;

/* Groups n parsed files into series by SeriesInstanceUID and splits each where
 * ImageOrientationPatient differs by more than 1e-4 or Rows/Columns/PixelSpacing differ
 * (compared on each file's first frame). names[i] names files[i] in messages and orders
 * files within a series, so the result does not depend on the input order. Series come
 * out ordered by SeriesNumber, then UID, then part. *out (free with rdi_dcm_series_free)
 * may be empty (*nout 0) when every file was skipped; skipped (may be NULL) gets the
 * counts. */
radi_status rdi_dcm_group(const rdi_dcm_info *const *files, size_t n, const char *const *names,
                          rdi_dcm_series **out, size_t *nout, rdi_dcm_skipped *skipped);
void rdi_dcm_series_free(rdi_dcm_series *s, size_t n);

/* ------------------------------------------------------------------- volumes -- */

/* How the volume stores values (dicom.md §4.4 item 7; radi's NIfTI scaling policy). */
typedef enum rdi_dcm_values {
    /* The stored samples as they are (raw_dtype), with slope/intercept recorded so that
     * reads return physical values: one integer-free or wide rescale for the series. */
    RDI_DCM_VALUES_RAW = 0,
    /* raw * slope + intercept as int16 (CT in HU, as dcm2niix): one integer rescale
     * whose physical range fits int16; the volume records slope 1, intercept 0. */
    RDI_DCM_VALUES_INT16,
    /* raw * slope + intercept as float32: the rescale varies between frames. */
    RDI_DCM_VALUES_FLOAT32
} rdi_dcm_values;

/* One volume: frames in x-y-z(-t) order; shape (x = columns, y = rows, z, t). */
typedef struct rdi_dcm_volume {
    uint64_t shape[4];
    uint32_t ndim;          /* 3 or 4 */
    double affine[16];      /* RAS, row-major 4x4, voxel (x, y, z) -> mm */
    double spacing[3];      /* true spacing: column, row, slice step */
    double gantry_tilt_deg; /* angle between the slice step and the normal */
    rdi_dcm_ref *refs;      /* shape[2] * shape[3] entries, z fastest then t (owned) */
    size_t nrefs;
    int orientation_identity; /* no IPP/IOP: identity geometry (one frame only) */
    /* The frames' sample format (the same in every file). */
    uint32_t rows, cols;
    uint16_t bits_allocated, bits_stored; /* bits_stored: the largest over the files */
    int is_signed;                        /* PixelRepresentation 1 */
    /* Values: what the files store, what the volume stores, and how they relate. */
    radi_datatype raw_dtype; /* uint8/int8/uint16/int16/uint32/int32 by bits and sign */
    radi_datatype dtype;     /* the volume's datatype: raw_dtype, int16 or float32 */
    rdi_dcm_values values;
    double slope, intercept; /* stored -> physical as the volume records it (1, 0 unless RAW) */
    double rescale_slope, rescale_intercept; /* the files' RescaleSlope/Intercept; NaN if varying */
    int rescale_varies;
    int instance_order; /* InstanceNumber along z: 1 ascending, -1 descending, 0 other or absent */
    /* Optional (owned; the caller allocates 2 * nrefs entries before rdi_dcm_read_volume):
     * each frame's value range (lo, hi) in offset binary (x ^ 0x8000 for signed samples)
     * for a RAW volume of 16-bit samples, taken by rdi_dcm_read_volume while the frame is
     * still in cache, so that rdi_dcm_narrow_int16 needs no pass of its own over the
     * volume to find it. NULL: not taken. */
    uint16_t *frame_range;
} rdi_dcm_volume;

typedef struct rdi_dcm_assemble_options {
    /* Gaps g_i between sorted slice positions are uneven (refused) when
     * max |g_i - median| > max(gap_tol_mm, gap_tol_rel * median); 0 means the defaults
     * 0.01 mm and 0.01 (dicom.md §4.4 item 5). */
    double gap_tol_mm, gap_tol_rel;
} rdi_dcm_assemble_options;

/* Makes one volume of series s (from rdi_dcm_group, or built by the caller): refuses what
 * radi cannot store faithfully (colour, BitsAllocated other than 8/16/32, Siemens mosaic,
 * lossy JPEG Baseline/Extended, unknown syntaxes: RADI_E_UNSUPPORTED naming the file);
 * sorts the frames by position along n = row x column cosines (never by InstanceNumber);
 * makes equal positions with equal counts k > 1 a 4-D volume (t = k, ordered by
 * TemporalPositionIdentifier, AcquisitionNumber, InstanceNumber); refuses unequal counts,
 * the same instance twice, uneven gaps (a missing slice included), varying orientation
 * or pixel spacing and frames without position (except a lone frame, which gets identity
 * geometry) with RADI_E_UNSUPPORTED naming positions, gaps (mm) and files; computes the
 * RAS affine, true spacing and gantry tilt; and decides the stored values. Malformed
 * values (BitsStored > BitsAllocated, RescaleSlope 0) are RADI_E_CORRUPT. names may be
 * NULL ("file #i"). opt may be NULL. *out needs rdi_dcm_volume_free on success only. */
radi_status rdi_dcm_assemble(const rdi_dcm_info *const *files, const char *const *names,
                             const rdi_dcm_series *s, const rdi_dcm_assemble_options *opt,
                             rdi_dcm_volume *out);
void rdi_dcm_volume_free(rdi_dcm_volume *v);

/* Bytes of the whole volume as rdi_dcm_read_volume and rdi_dcm_put_frame fill it. */
uint64_t rdi_dcm_volume_nbytes(const rdi_dcm_volume *v);

/* Puts frame vol->refs[ref] into out, the whole volume in the layout radi's volume writer
 * takes from NIfTI (column-major over vol->shape: x fastest, then y, z, t; vol->dtype):
 * the frame's rows are already x-fastest, so it is one contiguous slab. samples holds
 * rows * cols samples of bits_allocated bits (nbytes at least that many bytes), in host
 * order or, big_endian set, as Explicit VR Big Endian stores them. Bits above bits_stored
 * are masked off (unsigned) or replaced by the sign (signed), then the volume's value
 * transform is applied with the frame's own slope and intercept. RADI_E_CORRUPT names
 * the file when the frame is short. Frames may be put from several threads at once. */
radi_status rdi_dcm_put_frame(const rdi_dcm_volume *vol, const rdi_dcm_info *const *files,
                              const char *const *names, size_t ref, const void *samples,
                              size_t nbytes, int big_endian, void *out);

/* Decodes every frame of vol (native: in place from the body, byte-swapped for Explicit
 * VR Big Endian; compressed: rdi_dcm_frame_bytes + rdi_dcm_decode) and puts it into out
 * (out_len >= rdi_dcm_volume_nbytes(vol)) with rdi_dcm_put_frame: column-major over
 * vol->shape, vol->dtype, ready for the volume writer (RADI_COL_MAJOR). Frames run in
 * parallel on pool (may be NULL). Errors name the file and frame. done (may be NULL) is
 * called, from the worker that put it, once the last frame of a file is in out: the
 * caller may drop that file's bytes (not its rdi_dcm_info) there. */
typedef void (*rdi_dcm_file_done_fn)(void *arg, uint32_t file);
radi_status rdi_dcm_read_volume(const rdi_dcm_info *const *files, const char *const *names,
                                const rdi_dcm_volume *vol, rdi_pool *pool, void *out, size_t out_len,
                                rdi_dcm_file_done_fn done, void *done_arg);

/* After the voxels are read into buf (rdi_dcm_read_volume): a RAW volume of 16-bit
 * samples with an integer rescale whose physical values over the data actually present
 * fit int16 is converted in place to int16 physical (values, dtype, slope and intercept
 * updated; the files' rescale kept). The decision of rdi_dcm_assemble can only use the
 * BitsStored range, which for CT with BitsStored 16 and intercept -1024 never fits,
 * while its data do: dcm2niix stores such series as int16 HU too. Returns 1 if it
 * converted. Call it before the metadata, which describe the final values. Both passes
 * (range, conversion) run in parts on pool (may be NULL). */
int rdi_dcm_narrow_int16(rdi_dcm_volume *vol, void *buf, rdi_pool *pool);
/* The range of n 16-bit values at p, each XORed with flip (0x8000 reads signed values as
 * offset binary, so one unsigned comparison serves both signs). n > 0. */
void rdi_dcm_range16(const uint8_t *p, uint64_t n, uint16_t flip, uint16_t *lo, uint16_t *hi);

/* ------------------------------------------------------------------ metadata -- */

/* One named value for an obs column or a volume metadata key. value is the text (Python's
 * repr for numbers, "NaN" when absent); type is the column type the ingest gives it
 * (RADI_STRING_UTF8, RADI_FLOAT64 or RADI_INT32). */
typedef struct rdi_dcm_field {
    const char *name; /* static */
    char *value;      /* owned */
    radi_datatype type;
} rdi_dcm_field;

typedef struct rdi_dcm_fields {
    rdi_dcm_field *items;
    size_t n, cap;
} rdi_dcm_fields;

void rdi_dcm_fields_free(rdi_dcm_fields *f);
/* The value of name, or NULL. */
const char *rdi_dcm_fields_get(const rdi_dcm_fields *f, const char *name);

typedef struct rdi_dcm_obs_options {
    const char *source_path; /* the series' directory (or first file), as given */
    int keep_patient_id;     /* add patient_id; off by default: no identifiers in obs */
} rdi_dcm_obs_options;

/* Appends the obs row of volume v (made from series s): first radiobject 0.1.1's 13
 * DICOM columns in its order (voxel_spacing, dimensions, modality, series_description,
 * kvp, exposure, repetition_time, echo_time, magnetic_field_strength, axcodes,
 * affine_json, orientation_source, source_path), then radi's (dicom.md §4.5). No patient
 * identifier unless opt->keep_patient_id. */
radi_status rdi_dcm_obs_fields(const rdi_dcm_info *const *files, const rdi_dcm_series *s,
                               const rdi_dcm_volume *v, const rdi_dcm_obs_options *opt,
                               rdi_dcm_fields *out);

/* Appends the volume's array metadata (all UTF8): the orientation keys as 0.1.1's
 * from_dicom writes them (orientation_axcodes, orientation_affine, orientation_source,
 * orientation_confidence), nifti_scl_slope/nifti_scl_inter (the scaling radi's reads
 * apply, as for NIfTI), the files' rescale and dicom_sop_instance_uids (JSON list in z,
 * t order). tile_orientation and obs_id are the ingest's. */
radi_status rdi_dcm_volume_meta(const rdi_dcm_info *const *files, const rdi_dcm_volume *v,
                                rdi_dcm_fields *out);

#endif
