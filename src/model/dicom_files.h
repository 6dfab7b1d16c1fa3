/*
 * model layer: the DICOM files of one directory (or one file), read through a context's
 * storage and parsed with io/dicom; shared by the DICOM image-source kind
 * (source_dicom.c), radi_dicom_scan and DICOM source discovery (ingest_dicom.c).
 */
#ifndef RDI_MODEL_DICOM_FILES_H
#define RDI_MODEL_DICOM_FILES_H

#include "radi/dicom.h"
#include "ctx/ctx.h"
#include "io/dicom/series.h"

/* Files are read into shared slabs (dicom_files.c), each freed when the last of its
 * files drops its bytes. */
typedef struct rdi_dcm_slab rdi_dcm_slab;

/* The parsed DICOM files of a path, in byte order of name. */
typedef struct rdi_dicom_files {
    size_t n;
    char **uris;           /* each file's URI (owned): names it in messages */
    rdi_buf *bytes;        /* each file's contents while kept (see keep_bytes): a view
                            * into slab[i] (cap 0), never freed on its own */
    rdi_dcm_slab **slab;   /* the slab holding each file's bytes; NULL once dropped */
    rdi_dcm_info **infos;  /* parsed (owned); NULL once released */
    size_t not_dicom;      /* files skipped: not DICOM by their first bytes, empty */
    size_t other_series;   /* DICOM files of another SeriesInstanceUID (series_uid given) */
} rdi_dicom_files;

/* Lists `path` (a directory's files, not its subdirectories; or one file; an s3://
 * prefix), reads each file whole (in batches, vectored reads on remote storage), skips
 * hidden names, DICOMDIR and files that do not probe as DICOM, and parses the rest: a
 * file that probes as DICOM but does not parse fails the call, naming it. With
 * series_uid, files of other series are dropped as soon as they are parsed. With
 * keep_bytes 0 each file's bytes are dropped once parsed (headers only: no pixel data
 * can be read). *out is freed with rdi_dicom_files_free, also on failure. */
radi_status rdi_dicom_files_load(radi_ctx *ctx, const char *path, const char *series_uid, int keep_bytes,
                                 rdi_dicom_files *out);
/* Frees file i's bytes and parsed header (its URI stays). */
void rdi_dicom_files_release(rdi_dicom_files *f, size_t i);
/* Frees file i's bytes and a deflated file's inflated body, once its pixels are decoded
 * (its parsed header stays usable for metadata, not for pixels). */
void rdi_dicom_files_drop_bytes(rdi_dicom_files *f, size_t i);
void rdi_dicom_files_free(rdi_dicom_files *f);

/* Groups the files into series (rdi_dcm_group) and picks the one to ingest: the one
 * whose SeriesInstanceUID is series_uid, or (NULL) the only one. Refuses, naming path
 * and listing what was found (description, number, modality, files, UID):
 * RADI_E_NOT_FOUND when there is no image series (or none with that UID),
 * RADI_E_INVALID when several series (or parts of one whose orientation or size
 * changes) are found. *series (free with rdi_dcm_series_free(*series, *nseries)) gets
 * every series, *pick the chosen one's index. */
radi_status rdi_dicom_files_pick(const rdi_dicom_files *f, const char *path, const char *series_uid,
                                 rdi_dcm_series **series, size_t *nseries, size_t *pick);

/* A DICOM image source's descriptor (source.h: desc of rdi_dicom_image_source). */
typedef struct rdi_dicom_desc {
    const radi_dicom_source *src;
    const radi_dicom_options *opt;
} rdi_dicom_desc;

#endif
