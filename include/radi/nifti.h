/*
 * radi NIfTI I/O: NIfTI-1 and NIfTI-2 images (.nii, .nii.gz, .hdr/.img pairs), either byte
 * order, read into radi's array layout; NIfTI-1 written from it. Conventions as in radi.h.
 *
 * Layout. A NIfTI file stores x fastest (Fortran order). radi's volume arrays, like
 * numpy's np.asarray(nibabel.load(p).dataobj) copied to C order, are (x, y, z[, t]) with
 * x SLOWEST. radi_nifti_read returns that C-order array (the file's axes reversed), and
 * radi_nifti_write takes it.
 *
 * Scaling policy. scl_slope / scl_inter are reported exactly as stored. A raw read
 * returns the stored values in the stored datatype; a scaled read returns
 * value * slope + inter as float32 or float64, computed in double and rounded once.
 * As in nibabel, a slope of 0 or a non-finite slope means "no scaling"; a valid slope
 * with a non-finite intercept makes a scaled read fail (RADI_E_CORRUPT).
 *
 * Header fixes applied on read, as nibabel's load does: pixdim[0] (qfac) other than -1
 * or 1 reads as 1; pixdim[1..3] of 0 read as 1, negative ones as their absolute value.
 * vox_offset 0 in a single file means "right after the header" (352 / 544).
 *
 * Geometry. The affine is nibabel's get_best_affine: the sform if sform_code != 0, else
 * the qform (quaternion, qfac = pixdim[0] < 0 ? -1 : 1) if qform_code != 0, else the
 * pixdim-scaled fallback (x flipped, centred). axcodes are nibabel's aff2axcodes of it.
 */
#ifndef RADI_NIFTI_H
#define RADI_NIFTI_H

#include "radi/radi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum radi_nifti_affine_source {
    RADI_NIFTI_AFFINE_FALLBACK = 0, /* neither code set: pixdim scaling */
    RADI_NIFTI_AFFINE_QFORM = 1,
    RADI_NIFTI_AFFINE_SFORM = 2
} radi_nifti_affine_source;

/* Every header field radi keeps, widened to NIfTI-2's types (NIfTI-1's float32 values
 * convert exactly). Filled by radi_nifti_open; the input of radi_nifti_write. */
typedef struct radi_nifti_header {
    int32_t version;          /* 1 or 2 (read); radi_nifti_write writes NIfTI-1 */
    int32_t big_endian;       /* the file's byte order (read only) */
    int32_t gzip;             /* voxel data is gzip-compressed (read only) */
    int32_t nifti_datatype;   /* NIfTI code: 2 uint8, 4 int16, 8 int32, 16 float32, ... */
    radi_datatype datatype;   /* the same as radi's type (the stored, raw type) */
    int32_t file_ndim;        /* dim[0] as stored */
    uint32_t ndim;            /* 3 or 4: trailing 1s beyond the 4th axis dropped, 1-D/2-D padded */
    uint64_t shape[7];        /* (x, y, z[, t]); entries past ndim are 1 */
    double pixdim[8];         /* pixdim[0] = qfac; [1..3] voxel size; [4] TR */
    uint64_t vox_offset;      /* byte offset of the voxels in the (decompressed) data file */
    double scl_slope, scl_inter;
    double cal_min, cal_max;
    double slice_duration, toffset;
    int32_t xyzt_units;
    int32_t intent_code;
    double intent_p[3];
    char intent_name[17];
    char descrip[81];
    char aux_file[25];
    int32_t dim_info, slice_code;
    int64_t slice_start, slice_end;
    int32_t qform_code, sform_code;
    double quatern[3];        /* b, c, d */
    double qoffset[3];
    double srow[12];          /* srow_x, srow_y, srow_z, row-major */
    /* Derived on read (for write, only `affine` is used; see radi_nifti_write). */
    double affine[16];        /* 4x4 row-major */
    radi_nifti_affine_source affine_source;
    char axcodes[4];          /* e.g. "RAS", "LPS"; '?' for a degenerate axis */
} radi_nifti_header;

typedef struct radi_nifti radi_nifti;

/* Opens a NIfTI file through ctx's storage backends (any URI the context serves: plain
 * paths, file://, s3://) and parses its header only (for .nii.gz, inflates just the
 * start). `uri` ends in .nii or .nii.gz, or names either half of a .hdr/.img pair (.gz
 * allowed); other names are read as single files. gzip is detected by its magic.
 * Storage is read in few large requests: the first 64 KiB at open (the header), then
 * the voxels in one read (a .nii.gz: the rest of the object). ctx is borrowed and must
 * outlive the handle. */
RADI_API radi_status radi_nifti_open_ctx(radi_ctx *ctx, const char *uri, radi_nifti **out);
/* radi_nifti_open_ctx without a context: local files only (plain paths and file://),
 * through a private POSIX backend. */
RADI_API radi_status radi_nifti_open(const char *path, radi_nifti **out);
/* The same over a whole file held in memory (gzip is detected by its magic). `data` is
 * borrowed and must outlive the handle; `name` is used in messages. */
RADI_API radi_status radi_nifti_open_memory(const void *data, size_t len, const char *name,
                                            radi_nifti **out);
RADI_API void radi_nifti_close(radi_nifti *img);

/* Borrowed; valid until radi_nifti_close. */
RADI_API const radi_nifti_header *radi_nifti_get_header(const radi_nifti *img);
/* Whether a scaled read differs from a raw one (a valid slope and (slope, inter) != (1, 0)). */
RADI_API int radi_nifti_has_scaling(const radi_nifti *img);
/* Number of voxels (product of the shape). */
RADI_API uint64_t radi_nifti_voxel_count(const radi_nifti *img);

/* Reads the voxels as the C-order (x, y, z[, t]) array. scaled = 0: out_type must be the
 * stored type (or RADI_ANY); scaled = 1: out_type is RADI_FLOAT32 or RADI_FLOAT64.
 * buf_size must be at least voxel_count * size of out_type. */
RADI_API radi_status radi_nifti_read(radi_nifti *img, int scaled, radi_datatype out_type,
                                     void *buf, uint64_t buf_size);

/* nibabel's aff2axcodes(io_orientation(affine)) of a 4x4 row-major affine, as the header's
 * axcodes: e.g. "RAS"; '?' for a degenerate axis. out receives 3 letters and a NUL. */
RADI_API void radi_affine_axcodes(const double affine[16], char out[4]);

/* Defaults for writing: uint8 3-D 1x1x1, pixdim 1, no scaling (slope 0), identity
 * affine with qform_code = sform_code = 1, xyzt_units 10 (mm, s). */
RADI_API void radi_nifti_header_init(radi_nifti_header *hdr);

/* Writes a NIfTI-1 single file through ctx's storage backends: gzip-compressed when uri
 * ends in ".gz" (any case). The file is built in memory and stored with one whole-object
 * write (atomic: a temporary file and a rename on POSIX, one upload on S3). Uses from hdr:
 * datatype, ndim, shape, pixdim (pixdim[1..3] become the affine's column norms when the
 * qform is written or when all three are 0, as nibabel; pixdim[0] becomes qfac),
 * scl_slope/inter, cal_min/max, slice_duration, toffset, xyzt_units, intent_*, descrip,
 * aux_file, dim_info, slice_code/start/end, qform_code, sform_code and affine: the sform
 * is the affine (if sform_code != 0) and the qform its nearest rigid transform with
 * qfac (if qform_code != 0). data is the C-order (x, y, z[, t]) array of datatype
 * (borrowed for the call). */
RADI_API radi_status radi_nifti_write_ctx(radi_ctx *ctx, const char *uri, const radi_nifti_header *hdr,
                                          const void *data);
/* radi_nifti_write_ctx without a context: local files only, through a private POSIX
 * backend. */
RADI_API radi_status radi_nifti_write(const char *path, const radi_nifti_header *hdr,
                                      const void *data);

#ifdef __cplusplus
}
#endif

#endif /* RADI_NIFTI_H */
