/*
 * io layer, DICOM parser internals shared by part10.c (elements, the meta group, the
 * dataset walk, values) and part10_frames.c (encapsulated pixel data, the frame table,
 * rdi_dcm_frame_bytes). Not for other files: the rest of radi sees dicom.h.
 */
#ifndef RDI_IO_DICOM_PART10_INT_H
#define RDI_IO_DICOM_PART10_INT_H

#include "io/dicom/dicom.h"

#define DCM_UNDEF 0xFFFFFFFFu
/* Sequences nest 3-4 deep in images (functional groups); structured reports go deeper,
 * but nothing radi reads is below this, and it bounds the recursion. */
#define DCM_MAX_DEPTH 32
/* The frame table costs ~200 bytes a frame: 2^20 frames is 200 MB, far beyond any
 * acquisition (large Enhanced CT/MR series hold a few thousand frames). */
#define DCM_MAX_FRAMES (1u << 20)

#define DCM_TAG(g, e) (((uint32_t)(g) << 16) | (uint32_t)(e))
#define DCM_ITEM DCM_TAG(0xFFFE, 0xE000)
#define DCM_ITEM_DELIM DCM_TAG(0xFFFE, 0xE00D)
#define DCM_SEQ_DELIM DCM_TAG(0xFFFE, 0xE0DD)
#define DCM_PIXEL_DATA DCM_TAG(0x7FE0, 0x0010)

/* Which frame attributes a record has set (so that per-frame can win over shared, and
 * shared over the top level, attribute by attribute). */
enum {
    DCM_SET_IPP = 1 << 0,
    DCM_SET_IOP = 1 << 1,
    DCM_SET_SPACING = 1 << 2,
    DCM_SET_SLOPE = 1 << 3,
    DCM_SET_INTERCEPT = 1 << 4,
    DCM_SET_THICKNESS = 1 << 5,
    DCM_SET_TEMPORAL = 1 << 6,
    DCM_SET_DIMIDX = 1 << 7,
    DCM_SET_STACKPOS = 1 << 8,
    DCM_SET_RESCALE_TYPE = 1 << 9
};

/* One source of frame attributes: the top level, the shared group, or one per-frame item. */
typedef struct dcm_geo {
    rdi_dcm_frame f;
    unsigned set;
    char rescale_type[17];
} dcm_geo;

typedef struct dcm_parser {
    const char *what;
    const uint8_t *p; /* body: the dataset (and, in the caller's buffer, the meta before it) */
    size_t n;
    rdi_dcm_info *info;
    dcm_geo top, shared;
    dcm_geo *pf; /* per-frame functional group items, in order */
    size_t npf, cap_pf;
    int has_fg;         /* (5200,9229) or (5200,9230) at the top level */
    int64_t nframes_tag; /* NumberOfFrames, -1 when absent */
    int siemens_creator, philips_creator; /* private creators of (0019,10xx), (2005,10xx) */
    int mosaic_tag;
    /* Pixel data. */
    int pix_found, pix_encaps;
    uint64_t pix_off, pix_len;
    uint64_t bot_off, bot_len; /* Basic Offset Table value */
    uint64_t frag0_hdr;        /* where the first fragment's item header starts */
    rdi_dcm_range *frags;
    size_t nfrags, cap_frags;
    int has_eot, has_eotl; /* Extended Offset Table (7FE0,0001) and its lengths (7FE0,0002) */
    uint64_t eot_off, eot_len, eotl_off, eotl_len;
} dcm_parser;

/* "Rows" for (0028,0010), "" for tags radi does not name. */
const char *rdi_dcm__tag_name(uint32_t tag);

/* The items of undefined-length pixel data (or any undefined-length OB/OW) from pos, the
 * first item header, through the sequence delimiter, all before limit (the end of what
 * holds the element); *end is the byte after the delimiter. When record is set (top-level
 * Pixel Data), the offset table and fragments go to P. */
radi_status rdi_dcm__items(dcm_parser *P, uint32_t tag, size_t pos, size_t limit, int record, size_t *end);

/* Raw deflate (no zlib header, PS3.5 A.5) of src into *out (malloc'd, the caller frees it),
 * bounded: more than 64 times the input (at least 1 MiB) or 2 GiB is refused. */
radi_status rdi_dcm__inflate(const uint8_t *src, size_t n, const char *what, uint8_t **out, size_t *len);

/* Builds info->frames (nframes entries, geometry merged top -> shared -> per-frame, pixel
 * locations) once the whole dataset has been walked. */
radi_status rdi_dcm__finish(dcm_parser *P);

#endif
