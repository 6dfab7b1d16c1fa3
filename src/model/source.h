/*
 * model layer: the image-source interface ingest reads through (docs/dataset.md §7).
 *
 * A kind of source (NIfTI: source_nifti.c; DICOM: source_dicom.c) is a table of
 * functions, and the ingest transaction (ingest*.c) talks to nothing else: it opens
 * each source in the check pass (header, then describe: nothing is written until every
 * source of the call passed) and reads it in the write pass, either through that same
 * handle, kept open between the passes within a memory budget (ingest.h, ingest_hold),
 * or by opening it again (header again, compared with the first, then read). The
 * format's own knowledge stays with its kind: which header fields become volume
 * metadata and obs columns, and how they are spelled (0.1.1's conventions,
 * rdi_py_float, rdi_affine_json, rdi_axcodes).
 *
 * It lives in model rather than io because what a source produces is the RadiObject
 * layout (obs columns, volume metadata keys); the parsers stay in io (io/nifti.h,
 * io/dicom/) and a kind adapts one of them.
 *
 * Threads: the ingest calls a kind from its pool's workers, many handles at once, each
 * handle from one thread at a time. A table is constant; handles share nothing.
 * Errors: every failure names the source (its path); the ingest adds the path to a
 * message that lacks it.
 */
#ifndef RDI_MODEL_SOURCE_H
#define RDI_MODEL_SOURCE_H

#include "radi/radiobject.h"
#include "core/core.h"
#include "ctx/ctx.h"

typedef struct rdi_image_source_ops rdi_image_source_ops;

/* An open source. Each kind's handle starts with this member (and casts). */
typedef struct rdi_image_source {
    const rdi_image_source_ops *ops;
} rdi_image_source;

/* An image's geometry and values as its volume stores them. */
typedef struct rdi_image_header {
    uint32_t ndim;            /* 3 or 4 */
    uint64_t shape[4];        /* (x, y, z[, t]); shape[3] is 1 for a 3-D image */
    radi_datatype datatype;   /* of the voxels read, which the volume stores: an integer or
                               * floating type (rdi_image_dtype_ok) */
    double affine[16];        /* voxel (x, y, z) -> RAS mm, row-major 4x4, finite */
    double scl_slope, scl_inter; /* stored -> physical as reads apply it: 1 and 0 for none
                                  * (the ingest writes them as nifti_scl_slope/_inter, the
                                  * keys volume reads take their scaling from) */
} rdi_image_header;

/* One value of an obs row. */
typedef struct rdi_obs_field {
    const char *name;
    radi_datatype type;       /* RADI_STRING_UTF8, RADI_INT32, RADI_INT64 or RADI_FLOAT64 */
    union {
        const char *s;
        int32_t i32;
        int64_t i64;
        double f64;
    } v;
} rdi_obs_field;

/* What a source says besides its header: its volume's metadata and its obs row. Built
 * with rdi_image_fields_meta / _obs_*, which copy every string into strs; freed with
 * rdi_image_fields_free. RDI_IMAGE_FIELDS_INIT is empty. */
typedef struct rdi_image_fields {
    /* Volume metadata, UTF-8 strings, any order (one metadata file: keys are sorted when
     * written). Not tile_orientation, obs_id, nifti_scl_slope or nifti_scl_inter: those
     * are the ingest's (a key given twice fails the write). */
    radi_meta_item *meta;
    uint32_t nmeta, meta_cap;
    /* The obs row's attributes in column order, without the two key dimensions
     * (obs_subject_id, obs_id). A new collection's obs schema is its first source's
     * columns, and every source of one collection must give the same names and types. */
    rdi_obs_field *obs;
    uint32_t nobs, obs_cap;
    rdi_strlist strs;         /* owns the strings above */
} rdi_image_fields;
#define RDI_IMAGE_FIELDS_INIT {NULL, 0, 0, NULL, 0, 0, RDI_STRLIST_INIT}

/* A kind of source. */
struct rdi_image_source_ops {
    const char *name;         /* "NIfTI": in messages ("no NIfTI files to ingest into ...") */
    /* The obs attributes of an empty collection made for this kind (as describe gives
     * them; radi_dataset_add_collection makes NIfTI's). */
    uint32_t nobs;
    const char *const *obs_names;
    const radi_datatype *obs_types;

    /* Opens the source `desc` (the kind's own descriptor, borrowed until close: NIfTI
     * takes a radi_nifti_source) through ctx's storage; reads what header needs. */
    radi_status (*open)(radi_ctx *ctx, const void *desc, rdi_image_source **out);
    /* Fills *out. Refuses, naming the source, what cannot be stored or exported
     * faithfully: not 3-D/4-D, an unsupported voxel type, non-finite geometry. */
    radi_status (*header)(rdi_image_source *src, rdi_image_header *out);
    /* Appends the volume metadata and the obs row to *out (empty on entry). The row's
     * values may use `collection` (the collection it goes to) and `source_path` (the
     * source's canonical name, rdi_vfs_canonical of its path). */
    radi_status (*describe)(rdi_image_source *src, const char *collection, const char *source_path,
                            rdi_image_fields *out);
    /* The voxels in the volume writer's layout: column-major over the header's shape (x
     * fastest, then y, z, t), host byte order, of header.datatype, unscaled. *voxels
     * points into *own (the kind sizes it; the caller frees it) or into memory the
     * handle holds (valid until close), so a file read whole is not copied again. */
    radi_status (*read)(rdi_image_source *src, rdi_buf *own, const void **voxels);
    void (*close)(rdi_image_source *src);
};

/* The NIfTI kind (source_nifti.c): desc is a const radi_nifti_source *. */
extern const rdi_image_source_ops rdi_nifti_image_source;
/* The DICOM kind (source_dicom.c): desc is a const rdi_dicom_desc * (model/dicom_files.h). */
extern const rdi_image_source_ops rdi_dicom_image_source;

/* ---- canonical reorientation (source_reorient.c) ---- */

/* Opens desc through kind ops, wrapped, when reorient is a RADI_REORIENT_* target other
 * than NONE, in a handle that reorients it (header, describe and read give the
 * reoriented volume; see source_reorient.c). Call the handle through (*out)->ops. */
radi_status rdi_image_source_open(radi_ctx *ctx, const rdi_image_source_ops *ops, const void *desc, int reorient,
                                  int store_original_affine, rdi_image_source **out);

/* How a volume maps onto its reoriented form. */
typedef struct rdi_reorient_map {
    int reoriented;           /* 0: the source is kept as it is (already RAS) */
    uint32_t src_axis[3];     /* new axis a is old axis src_axis[a] ... */
    int flip[3];              /* ... run backwards when flip[a] */
    double affine[16];        /* the new voxel -> RAS affine, row-major */
} rdi_reorient_map;

/* The map of a volume of `shape` with `affine` to target (RADI_REORIENT_RAS/LAS/LPS),
 * computed as 0.1.1 does (so the affine matches it bit for bit). RADI_E_UNSUPPORTED for
 * a degenerate axis. */
radi_status rdi_reorient_plan(const double affine[16], const uint64_t shape[4], int target, rdi_reorient_map *m);
/* The reoriented shape (t kept). */
void rdi_reorient_shape(const rdi_reorient_map *m, const uint64_t shape[4], uint64_t out[4]);
/* Whether any voxel moves. */
int rdi_reorient_moves(const rdi_reorient_map *m);
/* Copies the column-major voxels of `shape` (elem bytes each) at src to dst in the
 * reoriented order (dst holds as many bytes; they do not overlap). */
void rdi_reorient_apply(const rdi_reorient_map *m, const uint64_t shape[4], size_t elem, const void *src, void *dst);

/* ---- helpers for kinds (source.c) ---- */

/* Whether a volume can hold voxels of type t (the integer and floating types). */
int rdi_image_dtype_ok(radi_datatype t);
/* The header contract above, checked for any kind (`what` names the source). */
radi_status rdi_image_header_check(const rdi_image_header *h, const rdi_image_source_ops *ops,
                                   const char *what);
/* Appends a volume metadata key (both strings copied). */
radi_status rdi_image_fields_meta(rdi_image_fields *f, const char *key, const char *value);
/* Append one obs value (name and string copied). */
radi_status rdi_image_fields_obs_str(rdi_image_fields *f, const char *name, const char *v);
radi_status rdi_image_fields_obs_i32(rdi_image_fields *f, const char *name, int32_t v);
radi_status rdi_image_fields_obs_i64(rdi_image_fields *f, const char *name, int64_t v);
radi_status rdi_image_fields_obs_f64(rdi_image_fields *f, const char *name, double v);
/* An obs value given as text of `type` (numbers as Python's repr, "NaN" allowed), as
 * io/dicom's field lists hold them; RADI_E_INVALID when the text is not one. */
radi_status rdi_image_fields_obs_text(rdi_image_fields *f, const char *name, radi_datatype type,
                                      const char *text);
void rdi_image_fields_free(rdi_image_fields *f);

/* ---- the ingest's input, for any kind (ingest.c) ---- */

/* One source: what the ingest needs of it, and the kind's descriptor. */
typedef struct rdi_ingest_source {
    const char *path;         /* names the source in messages and progress; its canonical
                               * form is the obs row's source_path */
    const char *subject_id;
    const char *obs_id;       /* NULL: "{subject_id}_{collection}" */
    const void *desc;         /* given to ops->open */
} rdi_ingest_source;

/* One collection's sources, all of one kind. */
typedef struct rdi_ingest_set {
    const char *name;
    const rdi_image_source_ops *ops;
    size_t n;
    const rdi_ingest_source *sources;
} rdi_ingest_set;

/* radi_dataset_ingest over sources of any kind (the same contract, the same lock). */
radi_status rdi_dataset_ingest_sets(radi_dataset *ds, size_t nsets, const rdi_ingest_set *sets,
                                    const radi_ingest_options *opt);

/* A volume's metadata as ingest writes it, in one file: `orientation` (tile_orientation),
 * the source's keys, the scaling as nifti_scl_slope / nifti_scl_inter (the keys scaled
 * reads use) and obs_id (NULL: none, a stand-alone volume). */
radi_status rdi_image_put_volume_meta(radi_meta *m, const radi_meta_item *orientation, const rdi_image_header *h,
                                      const rdi_image_fields *f, const char *obs_id);

/* A stand-alone volume at uri from one source of kind ops (Volume.from_dicom): header,
 * describe (no collection), read, written with tiling and compression, metadata as
 * ingest writes it without obs_id; reoriented as rdi_image_source_open does. *out (may
 * be NULL) gets the open volume. */
radi_status rdi_volume_from_source(radi_ctx *ctx, const char *uri, const rdi_image_source_ops *ops, const void *desc,
                                   const char *source_path, int reorient, int store_original_affine,
                                   const radi_tile_config *tile,
                                   const radi_compression *compression, radi_volume **out);

#endif
