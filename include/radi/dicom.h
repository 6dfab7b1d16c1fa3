/*
 * radi DICOM ingest: series of DICOM Part-10 files (CT, MR, PET, ... single-frame or
 * Enhanced multi-frame; uncompressed, deflated, RLE, JPEG Lossless, JPEG-LS, JPEG 2000,
 * HTJ2K) become volumes of a dataset, with the geometry rule dcm2niix and ITK/GDCM share
 * (slices sorted by position along the slice normal, never by InstanceNumber; spacing
 * from the first and last positions; LPS -> RAS affine; gantry tilt recorded; uneven
 * gaps and duplicate positions refused, named). Conventions as in radi.h.
 *
 * Values: the stored values are kept and RescaleSlope/Intercept recorded (the volume's
 * nifti_scl_slope / nifti_scl_inter keys, as for NIfTI), so scaled reads return physical
 * values (Hounsfield units for CT) and raw reads the stored ones. When slope and
 * intercept are integers and the physical values fit int16 (CT), the volume stores int16
 * physical values directly, as dcm2niix writes them. Frames with differing rescale are
 * stored as float32 physical values.
 *
 * obs columns: radiobject 0.1.1's 13 DICOM columns in its order (so 0.1.1 reads radi's
 * collections), then radi's (true spacing, UIDs, transfer syntax, rescale, tilt, ...).
 * No patient identifier is stored unless keep_patient_id is set.
 */
#ifndef RADI_DICOM_H
#define RADI_DICOM_H

#include "radi/radiobject.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One volume to ingest: one series found under `path`. */
typedef struct radi_dicom_source {
    const char *path;        /* a directory (its files, not its subdirectories) or one file */
    const char *subject_id;  /* required */
    const char *obs_id;      /* NULL: "<subject_id>_<collection>" */
    const char *series_uid;  /* NULL: `path` must hold exactly one image series (else
                              * RADI_E_INVALID listing the series found) */
} radi_dicom_source;

/* One collection's DICOM sources for radi_dataset_ingest_dicoms. */
typedef struct radi_dicom_collection {
    const char *name;
    size_t n;
    const radi_dicom_source *sources;
} radi_dicom_collection;

typedef struct radi_dicom_options {
    int keep_patient_id;     /* store PatientID in obs (default 0: no patient identifier) */
    double gap_tolerance_mm; /* uneven-gap tolerance: max(this, gap_tolerance_rel * median);
                              * default 0.01 */
    double gap_tolerance_rel; /* default 0.01 */
} radi_dicom_options;

/* keep_patient_id 0, tolerances 0.01 mm and 1 %. */
RADI_API void radi_dicom_options_init(radi_dicom_options *opt);

/* Ingests DICOM series into one or more collections of ds, with the contract of
 * radi_dataset_ingest (all-or-nothing across every collection, journaled, obs_ids unique,
 * the lock taken, appends renumbered in obs order; opt may be NULL for the defaults;
 * dopt may be NULL for radi_dicom_options_init's). Every file is parsed and every series
 * assembled before anything is written; an unusable series is refused naming the file
 * and the reason (colour, Siemens mosaic, lossy JPEG, uneven gaps, ...). */
RADI_API radi_status radi_dataset_ingest_dicoms(radi_dataset *ds, size_t ncollections,
                                                const radi_dicom_collection *collections,
                                                const radi_ingest_options *opt,
                                                const radi_dicom_options *dopt);

/* Writes one series as a stand-alone volume array at uri (0.1.1's Volume.from_dicom):
 * the voxels, geometry and metadata an ingest gives a collection's volume (no obs_id;
 * subject_id and obs_id of source are not used). tile / compression NULL: axial tiles,
 * ZSTD 3. *out (may be NULL) receives the open volume (close with radi_volume_close). */
RADI_API radi_status radi_volume_from_dicom(radi_ctx *ctx, const char *uri, const radi_dicom_source *source,
                                            const radi_dicom_options *opt, const radi_tile_config *tile,
                                            const radi_compression *compression, radi_volume **out);
/* radi_volume_from_dicom with 0.1.1's reorient=True (see radi_volume_from_nifti_reoriented). */
RADI_API radi_status radi_volume_from_dicom_reoriented(radi_ctx *ctx, const char *uri,
                                                       const radi_dicom_source *source,
                                                       const radi_dicom_options *opt, int reorient,
                                                       int store_original_affine, const radi_tile_config *tile,
                                                       const radi_compression *compression, radi_volume **out);

/* NIfTI and DICOM collections in one call (a mixed `radi ingest`), with the contract of
 * radi_dataset_ingest across all of them; either list may be empty (n 0, NULL). */
RADI_API radi_status radi_dataset_ingest_images(radi_dataset *ds, size_t nnifti,
                                                const radi_ingest_collection *nifti, size_t ndicom,
                                                const radi_dicom_collection *dicom,
                                                const radi_ingest_options *opt,
                                                const radi_dicom_options *dopt);

/* Source discovery for DICOM (the CLI's `radi ingest NAME=DIR_OR_GLOB`), through ctx's
 * storage (local paths, file://, s3:// prefixes alike):
 *  - a directory that itself holds DICOM files (probed: "DICM" at byte 128, or a legacy
 *    group-0008 start; DICOMDIR and hidden names skipped): one subject, named after it;
 *  - any other directory: each immediate subdirectory (hidden ones skipped) is one
 *    subject, named after it;
 *  - a glob ('*', '?', '[...]' in any segment, as radi_sources_from_pattern matches
 *    them): each matching directory is one subject, named by the path segment that the
 *    pattern's last wildcard segment matched (so "dcm/sub-?" names sub-1, and a pattern
 *    "dcm/<star>/CT" names each subject by the directory between dcm and CT); matching
 *    files are ignored;
 *  - one file: one subject, its name without a ".dcm" extension.
 * obs_id NULL (the default "<subject>_<collection>"), series_uid NULL. Sorted by
 * subject_id. RADI_E_NOT_FOUND when nothing matches; RADI_E_INVALID naming both paths
 * when two give one subject. Free with radi_dicom_source_list_free. */
typedef struct radi_dicom_source_list radi_dicom_source_list;
RADI_API radi_status radi_dicom_sources_from_pattern(radi_ctx *ctx, const char *pattern,
                                                     const char *collection,
                                                     radi_dicom_source_list **out);
RADI_API size_t radi_dicom_source_list_count(const radi_dicom_source_list *list);
/* count entries, borrowed until radi_dicom_source_list_free: usable as is as
 * radi_dicom_collection.sources. */
RADI_API const radi_dicom_source *radi_dicom_source_list_items(const radi_dicom_source_list *list);
RADI_API void radi_dicom_source_list_free(radi_dicom_source_list *list);

/* What radi_dicom_scan finds: one image series (a part of one, when orientation or size
 * changes inside it). Strings are owned by the list. */
typedef struct radi_dicom_series_info {
    const char *series_uid;
    const char *modality;           /* "CT", "MR", ... */
    const char *series_description;
    int32_t series_number;          /* -1 when absent */
    uint64_t nfiles, nframes;
    uint32_t rows, cols;
} radi_dicom_series_info;

typedef struct radi_dicom_series_list radi_dicom_series_list;

/* Scans `path` (a directory's files, or one file) through ctx's storage: every DICOM file
 * is parsed (headers only) and grouped into image series; non-image files are skipped.
 * *out (free with radi_dicom_series_list_free) lists the series in a stable order
 * (series number, then UID). */
RADI_API radi_status radi_dicom_scan(radi_ctx *ctx, const char *path, radi_dicom_series_list **out);
RADI_API size_t radi_dicom_series_count(const radi_dicom_series_list *l);
/* Series i, borrowed from l; NULL when i is out of range. */
RADI_API const radi_dicom_series_info *radi_dicom_series_at(const radi_dicom_series_list *l, size_t i);
RADI_API void radi_dicom_series_list_free(radi_dicom_series_list *l);

#ifdef __cplusplus
}
#endif

#endif /* RADI_DICOM_H */
