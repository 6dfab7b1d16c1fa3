/*
 * io layer: DICOM (PS3.10 files). Three parts, one file each:
 *   part10.c  - the file parser: meta group, implicit/explicit VR little and big endian,
 *               deflated datasets, defined and undefined lengths, sequences (the
 *               functional groups of Enhanced multi-frame), encapsulated pixel data;
 *               produces one rdi_dcm_info per file with one rdi_dcm_frame per frame.
 *   codec_*.c - pixel decoders for the compressed transfer syntaxes (decode.h).
 *   series.c  - grouping files into series and volumes, the geometry (sort along the
 *               slice normal, spacing, LPS -> RAS affine, tilt) and the voxel assembly.
 * Everything is bounded by the input: lengths are checked against what remains before
 * anything is allocated, and every error names the file and the tag.
 */
#ifndef RDI_IO_DICOM_H
#define RDI_IO_DICOM_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* Transfer syntaxes radi knows (by UID); RDI_TS_OTHER for the rest (refused). */
typedef enum rdi_dcm_ts {
    RDI_TS_OTHER = 0,
    RDI_TS_IMPLICIT_LE,   /* 1.2.840.10008.1.2 */
    RDI_TS_EXPLICIT_LE,   /* 1.2.840.10008.1.2.1 */
    RDI_TS_EXPLICIT_BE,   /* 1.2.840.10008.1.2.2 (retired) */
    RDI_TS_DEFLATED_LE,   /* 1.2.840.10008.1.2.1.99 */
    RDI_TS_RLE,           /* 1.2.840.10008.1.2.5 */
    RDI_TS_JPEG_BASELINE, /* 1.2.840.10008.1.2.4.50 */
    RDI_TS_JPEG_EXTENDED, /* 1.2.840.10008.1.2.4.51 */
    RDI_TS_JPEG_LOSSLESS, /* 1.2.840.10008.1.2.4.57 and .70 (SV1) */
    RDI_TS_JPEG_LS,       /* 1.2.840.10008.1.2.4.80 and .81 */
    RDI_TS_J2K,           /* 1.2.840.10008.1.2.4.90 and .91 */
    RDI_TS_HTJ2K          /* 1.2.840.10008.1.2.4.201, .202 and .203 */
} rdi_dcm_ts;

/* What one frame holds: its geometry and value transform (from the file's top level for
 * single-frame images; from the shared and per-frame functional groups for Enhanced
 * multi-frame, the per-frame group winning), and where its pixels are. */
typedef struct rdi_dcm_frame {
    double ipp[3];     /* ImagePositionPatient (LPS, mm) */
    double iop[6];     /* ImageOrientationPatient: row cosines, then column cosines */
    double spacing[2]; /* PixelSpacing: between rows (dy), then between columns (dx) */
    double slope, intercept; /* RescaleSlope/Intercept; 1 and 0 when absent */
    int has_ipp, has_iop, has_spacing;
    int32_t temporal_position; /* TemporalPositionIdentifier (or -1) */
    int32_t acquisition_number, instance_number; /* -1 when absent */
    /* Native (uncompressed) pixel data: the frame's bytes are body[offset, offset+length),
     * in the file's byte order (big endian for RDI_TS_EXPLICIT_BE: rdi_dcm_frame_bytes
     * swaps them). Encapsulated: the frame is the concatenation of frags[first_frag ..
     * +nfrags); when it is one fragment, offset/length are that fragment's (or the
     * Extended Offset Table's length, which leaves out the padding byte). */
    uint64_t offset, length;
    uint32_t first_frag, nfrags;
    /* Added by the parser (after the fields above, which others code against). */
    double slice_thickness;     /* PixelMeasures (0018,0050) or the top level; NaN if absent */
    int32_t in_stack_position;  /* FrameContent InStackPositionNumber (0020,9057), or -1 */
    uint32_t n_dim_index;       /* FrameContent DimensionIndexValues (0020,9157), up to 4 */
    uint32_t dim_index[4];
} rdi_dcm_frame;

typedef struct rdi_dcm_range {
    uint64_t offset, length; /* into body */
} rdi_dcm_range;

/* One parsed file. Strings are NUL-terminated, trailing spaces trimmed, "" when absent;
 * numbers are NaN when absent. */
typedef struct rdi_dcm_info {
    rdi_dcm_ts ts;
    char ts_uid[65];
    char sop_class_uid[65], sop_instance_uid[65];
    char study_uid[65], series_uid[65], frame_of_reference_uid[65];
    char modality[17], photometric[17], rescale_type[17];
    char series_description[65], manufacturer[65], acquisition_date[9], patient_id[65];
    char image_type[129]; /* the whole multi-valued string, backslashes kept */
    int32_t series_number; /* -1 when absent */
    uint32_t rows, cols, samples_per_pixel, nframes;
    uint16_t bits_allocated, bits_stored, high_bit, pixel_representation;
    double slice_thickness, spacing_between_slices, kvp, exposure, repetition_time, echo_time,
        field_strength, inversion_time, flip_angle, echo_number, philips_scale_slope;
    int mosaic;       /* Siemens mosaic: ImageType has MOSAIC and (0019,100A) is present */
    int enhanced;     /* the geometry came from functional groups */
    int has_pixels;   /* a (7FE0,0010) element was found */
    int encapsulated; /* pixel data in fragments */
    /* The bytes the offsets refer to: the caller's file buffer, or (deflated syntax) the
     * inflated dataset owned by this struct. */
    const uint8_t *body;
    size_t body_len;
    rdi_dcm_frame *frames; /* nframes entries (owned) */
    rdi_dcm_range *frags;  /* encapsulated: every fragment after the offset table (owned) */
    size_t nfrags;
    void *own; /* internal: owned buffers */
    /* Added by the parser. */
    uint64_t pixel_offset, pixel_length; /* the (7FE0,0010) value in body (encapsulated:
                                          * from the offset table item to the delimiter) */
    uint32_t mosaic_images; /* Siemens (0019,100A) NumberOfImagesInMosaic, 0 if absent */
} rdi_dcm_info;

/* Whether p looks like a DICOM file: "DICM" at byte 128, or (legacy, no preamble) a
 * group 0008 element at byte 0 in implicit VR little endian. */
int rdi_dcm_probe(const uint8_t *p, size_t n);

/* Parses the whole file p[0..n) (which must outlive *out: offsets point into it, except
 * for deflated files, whose inflated body *out owns). `what` names the file in errors.
 * Pixel data are located, not decoded. RADI_E_CORRUPT for malformed input,
 * RADI_E_UNSUPPORTED for valid files radi cannot use (named). *out is freed with
 * rdi_dcm_info_free. */
radi_status rdi_dcm_parse(const uint8_t *p, size_t n, const char *what, rdi_dcm_info **out);
void rdi_dcm_info_free(rdi_dcm_info *info);
/* Once the pixels are decoded: frees the body the info owns (a deflated file's inflated
 * dataset) and forgets body (the caller frees a file buffer it refers to). The metadata
 * fields stay; rdi_dcm_frame_bytes and decoding no longer work on it. */
void rdi_dcm_info_drop_body(rdi_dcm_info *info);

/* Frame k's encoded bytes: a pointer into info->body when the frame is one range, else
 * the fragments concatenated into *scratch (reused across calls; the caller frees it).
 * Native frames of an Explicit VR Big Endian file with 16-, 32- or 64-bit samples are
 * returned swapped to host order in *scratch, so callers always see host order. */
radi_status rdi_dcm_frame_bytes(const rdi_dcm_info *info, uint32_t k, rdi_buf *scratch,
                                const uint8_t **p, size_t *n);

#endif
