/*
 * DICOM PS3.10 file parser: the preamble and "DICM", the file meta group (always explicit
 * VR little endian), then the dataset in the transfer syntax the meta names - implicit VR
 * LE, explicit VR LE or BE, or explicit VR LE raw-deflated. One pass over the bytes, no
 * allocation per element: values are read in place and only the ~50 tags radi uses are
 * looked at. Sequences are walked only where they must be (undefined lengths, whose end
 * is found by walking; the functional groups of Enhanced multi-frame, whose values radi
 * needs); a defined-length sequence radi does not need is jumped over whole.
 * The pixel data's fragments and the frame table are part10_frames.c's.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>

#include "io/dicom/part10_int.h"

typedef struct enc {
    uint8_t explicit_vr, swap; /* swap: big-endian values */
} enc;

typedef struct elem {
    uint32_t tag;
    uint16_t vr; /* two letters packed big-first ('U'<<8|'S'); 0 in implicit VR and items */
    uint32_t len;
    size_t hdr, val; /* where the header and the value start */
} elem;

#define VR(a, b) ((uint16_t)(((unsigned)(a) << 8) | (unsigned)(b)))

/* What the walker does with a dataset's elements. */
enum lvl {
    LV_TOP,   /* the file's top level: every tag radi reads */
    LV_FG,    /* an item of the shared or per-frame functional groups: their sub-sequences */
    LV_FGSUB, /* an item of one of those sub-sequences: frame attributes */
    LV_SKIP   /* anything else: walked only to find where it ends */
};
/* What the items of a sequence are. */
enum seqkind { SK_NONE, SK_SHARED, SK_PERFRAME, SK_SUB };

static const struct {
    uint32_t tag;
    const char *name;
} k_names[] = {
    {DCM_TAG(0x0002, 0x0010), "TransferSyntaxUID"},
    {DCM_TAG(0x0008, 0x0008), "ImageType"},
    {DCM_TAG(0x0008, 0x0016), "SOPClassUID"},
    {DCM_TAG(0x0008, 0x0018), "SOPInstanceUID"},
    {DCM_TAG(0x0018, 0x0050), "SliceThickness"},
    {DCM_TAG(0x0019, 0x100A), "NumberOfImagesInMosaic"},
    {DCM_TAG(0x0020, 0x0032), "ImagePositionPatient"},
    {DCM_TAG(0x0020, 0x0037), "ImageOrientationPatient"},
    {DCM_TAG(0x0020, 0x9111), "FrameContentSequence"},
    {DCM_TAG(0x0020, 0x9113), "PlanePositionSequence"},
    {DCM_TAG(0x0020, 0x9116), "PlaneOrientationSequence"},
    {DCM_TAG(0x0028, 0x0002), "SamplesPerPixel"},
    {DCM_TAG(0x0028, 0x0008), "NumberOfFrames"},
    {DCM_TAG(0x0028, 0x0010), "Rows"},
    {DCM_TAG(0x0028, 0x0011), "Columns"},
    {DCM_TAG(0x0028, 0x0030), "PixelSpacing"},
    {DCM_TAG(0x0028, 0x0100), "BitsAllocated"},
    {DCM_TAG(0x0028, 0x0101), "BitsStored"},
    {DCM_TAG(0x0028, 0x0102), "HighBit"},
    {DCM_TAG(0x0028, 0x0103), "PixelRepresentation"},
    {DCM_TAG(0x0028, 0x9110), "PixelMeasuresSequence"},
    {DCM_TAG(0x0028, 0x9145), "PixelValueTransformationSequence"},
    {DCM_TAG(0x5200, 0x9229), "SharedFunctionalGroupsSequence"},
    {DCM_TAG(0x5200, 0x9230), "PerFrameFunctionalGroupsSequence"},
    {DCM_TAG(0x7FE0, 0x0001), "ExtendedOffsetTable"},
    {DCM_TAG(0x7FE0, 0x0002), "ExtendedOffsetTableLengths"},
    {DCM_PIXEL_DATA, "PixelData"},
    {DCM_ITEM, "Item"},
    {DCM_ITEM_DELIM, "ItemDelimitationItem"},
    {DCM_SEQ_DELIM, "SequenceDelimitationItem"},
};

const char *rdi_dcm__tag_name(uint32_t tag)
{
    for (size_t i = 0; i < sizeof k_names / sizeof k_names[0]; i++)
        if (k_names[i].tag == tag) return k_names[i].name;
    return "";
}

/* "(0028,0010) Rows" or "(0009,1001)" for messages. */
#define TAGF "(%04X,%04X)%s%s"
#define TAGA(t) (unsigned)((t) >> 16), (unsigned)((t)&0xFFFF), *rdi_dcm__tag_name(t) ? " " : "", \
                rdi_dcm__tag_name(t)

/* ------------------------------------------------------------ elements -- */

static inline uint16_t g16(const uint8_t *p, int swap)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return swap ? __builtin_bswap16(v) : v;
}
static inline uint32_t g32(const uint8_t *p, int swap)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return swap ? __builtin_bswap32(v) : v;
}

/* VRs whose explicit form has 2 reserved bytes and a 4-byte length (PS3.5 7.1.2). */
static int vr_long(uint16_t vr)
{
    switch (vr) {
    case VR('O', 'B'): case VR('O', 'D'): case VR('O', 'F'): case VR('O', 'L'):
    case VR('O', 'V'): case VR('O', 'W'): case VR('S', 'Q'): case VR('U', 'C'):
    case VR('U', 'N'): case VR('U', 'R'): case VR('U', 'T'): case VR('S', 'V'):
    case VR('U', 'V'):
        return 1;
    default:
        return 0;
    }
}

static int vr_letters(const uint8_t *q) { return q[0] >= 'A' && q[0] <= 'Z' && q[1] >= 'A' && q[1] <= 'Z'; }

/* Reads the element header at pos; its value must end by `end` unless its length is
 * undefined. Items and delimiters (group FFFE) have no VR in either encoding. An explicit
 * VR that is two capital letters but no VR radi knows takes the short form, as pydicom
 * reads it. */
static radi_status read_elem(const dcm_parser *P, size_t pos, size_t end, enc e, elem *el)
{
    if (end - pos < 8)
        return rdi_error(RADI_E_CORRUPT, "%s: file ends inside an element header at byte %zu", P->what,
                         pos);
    const uint8_t *q = P->p + pos;
    uint16_t g = g16(q, e.swap);
    el->tag = DCM_TAG(g, g16(q + 2, e.swap));
    el->hdr = pos;
    el->vr = 0;
    if (g == 0xFFFE || !e.explicit_vr) {
        el->len = g32(q + 4, e.swap);
        el->val = pos + 8;
    } else {
        if (!vr_letters(q + 4))
            return rdi_error(RADI_E_CORRUPT, "%s: " TAGF ": invalid VR bytes %02X %02X at byte %zu", P->what,
                             TAGA(el->tag), q[4], q[5], pos + 4);
        el->vr = VR(q[4], q[5]);
        if (vr_long(el->vr)) {
            if (end - pos < 12)
                return rdi_error(RADI_E_CORRUPT, "%s: " TAGF ": file ends inside the element header",
                                 P->what, TAGA(el->tag));
            el->len = g32(q + 8, e.swap);
            el->val = pos + 12;
        } else {
            el->len = g16(q + 6, e.swap);
            el->val = pos + 8;
        }
    }
    if (el->len != DCM_UNDEF && el->len > end - el->val)
        return rdi_error(RADI_E_CORRUPT, "%s: " TAGF ": length %u at byte %zu runs past the end (%zu bytes left)",
                         P->what, TAGA(el->tag), el->len, el->val, end - el->val);
    return RADI_OK;
}

/* -------------------------------------------------------------- values -- */

static void put_str(char *dst, size_t cap, const uint8_t *s, size_t n)
{
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\0')) n--;
    while (n && s[0] == ' ') s++, n--;
    if (n > cap - 1) n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* One decimal number, strictly: optional spaces, sign, digits with at most one point,
 * an optional exponent, spaces. "1A", "", "nan", "0x10", "1,5" are not numbers. */
static int parse_num(const uint8_t *s, size_t n, double *out)
{
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\0')) n--;
    while (n && s[0] == ' ') s++, n--;
    if (n == 0 || n > 63) return 0;
    size_t i = 0, digits = 0;
    if (s[i] == '+' || s[i] == '-') i++;
    while (i < n && isdigit(s[i])) i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && isdigit(s[i])) i++, digits++;
    }
    if (digits == 0) return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t ed = 0;
        while (i < n && isdigit(s[i])) i++, ed++;
        if (ed == 0) return 0;
    }
    if (i != n) return 0;
    char buf[64];
    memcpy(buf, s, n);
    buf[n] = '\0';
    double v = strtod(buf, NULL);
    if (!isfinite(v)) return 0;
    *out = v;
    return 1;
}

/* Up to max backslash-separated numbers: their count, or -1 if one is not a number or
 * there are more than max. */
static int parse_multi(const uint8_t *s, size_t n, double *out, int max)
{
    int count = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '\\') continue;
        if (count == max) return -1;
        if (!parse_num(s + start, i - start, &out[count])) return -1;
        count++;
        start = i + 1;
    }
    return count;
}

/* Numbers of a DS/IS element, or of FD/FL when an explicit VR says so (functional groups
 * carry a few attributes as binary floats): the count read, -1 when malformed or more
 * than max, 0 when empty. */
static int nums(const dcm_parser *P, const elem *el, enc e, double *out, int max)
{
    const uint8_t *v = P->p + el->val;
    if (el->len == 0) return 0;
    if (el->vr == VR('F', 'D') || el->vr == VR('F', 'L')) {
        size_t w = el->vr == VR('F', 'D') ? 8 : 4;
        if (el->len % w || el->len / w > (size_t)max) return -1;
        for (size_t i = 0; i < el->len / w; i++) {
            if (w == 8) {
                uint64_t u;
                memcpy(&u, v + 8 * i, 8);
                if (e.swap) u = __builtin_bswap64(u);
                memcpy(&out[i], &u, 8);
            } else {
                uint32_t u = g32(v + 4 * i, e.swap);
                float f;
                memcpy(&f, &u, 4);
                out[i] = f;
            }
            if (!isfinite(out[i])) return -1;
        }
        return (int)(el->len / w);
    }
    return parse_multi(v, el->len, out, max);
}

/* One number, or NaN when absent or unusable. */
static double num1(const dcm_parser *P, const elem *el, enc e)
{
    double v;
    return nums(P, el, e, &v, 1) == 1 ? v : NAN;
}

/* An integer string (IS): -1 when absent or unusable (the fields that take it document
 * -1 as absent). "5.0" is 5, as pydicom reads it. */
static int32_t int1(const dcm_parser *P, const elem *el, enc e)
{
    double v = num1(P, el, e);
    if (!(v >= INT32_MIN && v <= INT32_MAX) || v != floor(v)) return -1;
    return (int32_t)v;
}

/* A single US value: absent (empty) keeps *v; any other length than 2 is an error. */
static radi_status us1(const dcm_parser *P, const elem *el, enc e, uint16_t *v)
{
    if (el->len == 0) return RADI_OK;
    if (el->len != 2)
        return rdi_error(RADI_E_CORRUPT, "%s: " TAGF ": length %u, expected 2", P->what, TAGA(el->tag),
                         el->len);
    *v = g16(P->p + el->val, e.swap);
    return RADI_OK;
}

/* UL values (functional-group indices): count read, or -1. */
static int uls(const dcm_parser *P, const elem *el, enc e, uint32_t *out, int max)
{
    if (el->len % 4) return -1;
    int n = (int)RDI_MIN(el->len / 4, (uint32_t)max);
    for (int i = 0; i < n; i++) out[i] = g32(P->p + el->val + 4 * (size_t)i, e.swap);
    return n;
}

/* Frame attributes, at the top level or inside a functional-group item: 1 if the tag is
 * one of them. Unparsable values leave the attribute unset (never garbage). */
static int geo_value(const dcm_parser *P, const elem *el, enc e, dcm_geo *g)
{
    double v[6];
    switch (el->tag) {
    case DCM_TAG(0x0020, 0x0032):
        if (nums(P, el, e, v, 3) == 3) memcpy(g->f.ipp, v, sizeof g->f.ipp), g->set |= DCM_SET_IPP;
        return 1;
    case DCM_TAG(0x0020, 0x0037):
        if (nums(P, el, e, v, 6) == 6) memcpy(g->f.iop, v, sizeof g->f.iop), g->set |= DCM_SET_IOP;
        return 1;
    case DCM_TAG(0x0028, 0x0030):
        if (nums(P, el, e, v, 2) == 2) memcpy(g->f.spacing, v, sizeof g->f.spacing), g->set |= DCM_SET_SPACING;
        return 1;
    case DCM_TAG(0x0018, 0x0050):
        if (nums(P, el, e, v, 1) == 1) g->f.slice_thickness = v[0], g->set |= DCM_SET_THICKNESS;
        return 1;
    case DCM_TAG(0x0028, 0x1052):
        if (nums(P, el, e, v, 1) == 1) g->f.intercept = v[0], g->set |= DCM_SET_INTERCEPT;
        return 1;
    case DCM_TAG(0x0028, 0x1053):
        if (nums(P, el, e, v, 1) == 1) g->f.slope = v[0], g->set |= DCM_SET_SLOPE;
        return 1;
    case DCM_TAG(0x0028, 0x1054):
        put_str(g->rescale_type, sizeof g->rescale_type, P->p + el->val, el->len);
        if (g->rescale_type[0]) g->set |= DCM_SET_RESCALE_TYPE;
        return 1;
    case DCM_TAG(0x0020, 0x0100): { /* TemporalPositionIdentifier (IS, top level) */
        int32_t t = int1(P, el, e);
        if (t >= 0) g->f.temporal_position = t, g->set |= DCM_SET_TEMPORAL;
        return 1;
    }
    case DCM_TAG(0x0020, 0x9128): { /* TemporalPositionIndex (UL, frame content) */
        uint32_t t;
        if (uls(P, el, e, &t, 1) == 1 && t <= INT32_MAX)
            g->f.temporal_position = (int32_t)t, g->set |= DCM_SET_TEMPORAL;
        return 1;
    }
    case DCM_TAG(0x0020, 0x9057): { /* InStackPositionNumber (UL) */
        uint32_t t;
        if (uls(P, el, e, &t, 1) == 1 && t <= INT32_MAX)
            g->f.in_stack_position = (int32_t)t, g->set |= DCM_SET_STACKPOS;
        return 1;
    }
    case DCM_TAG(0x0020, 0x9157): { /* DimensionIndexValues (UL, multi) */
        int k = uls(P, el, e, g->f.dim_index, 4);
        if (k > 0) g->f.n_dim_index = (uint32_t)k, g->set |= DCM_SET_DIMIDX;
        return 1;
    }
    default:
        return 0;
    }
}

#define STR(field) put_str(info->field, sizeof info->field, v, el->len)

/* The top level's tags (everything radi reads outside the functional groups). */
static radi_status top_value(dcm_parser *P, const elem *el, enc e)
{
    rdi_dcm_info *info = P->info;
    const uint8_t *v = P->p + el->val;
    if (geo_value(P, el, e, &P->top)) return RADI_OK;
    switch (el->tag) {
    case DCM_TAG(0x0008, 0x0008): STR(image_type); break;
    case DCM_TAG(0x0008, 0x0016): STR(sop_class_uid); break;
    case DCM_TAG(0x0008, 0x0018): STR(sop_instance_uid); break;
    case DCM_TAG(0x0008, 0x0022): STR(acquisition_date); break;
    case DCM_TAG(0x0008, 0x0060): STR(modality); break;
    case DCM_TAG(0x0008, 0x0070): STR(manufacturer); break;
    case DCM_TAG(0x0008, 0x103E): STR(series_description); break;
    case DCM_TAG(0x0010, 0x0020): STR(patient_id); break;
    case DCM_TAG(0x0020, 0x000D): STR(study_uid); break;
    case DCM_TAG(0x0020, 0x000E): STR(series_uid); break;
    case DCM_TAG(0x0020, 0x0052): STR(frame_of_reference_uid); break;
    case DCM_TAG(0x0028, 0x0004): STR(photometric); break;
    case DCM_TAG(0x0020, 0x0011): info->series_number = int1(P, el, e); break;
    case DCM_TAG(0x0020, 0x0012): P->top.f.acquisition_number = int1(P, el, e); break;
    case DCM_TAG(0x0020, 0x0013): P->top.f.instance_number = int1(P, el, e); break;
    case DCM_TAG(0x0018, 0x0088): info->spacing_between_slices = num1(P, el, e); break;
    case DCM_TAG(0x0018, 0x0060): info->kvp = num1(P, el, e); break;
    case DCM_TAG(0x0018, 0x1152): info->exposure = num1(P, el, e); break;
    case DCM_TAG(0x0018, 0x0080): info->repetition_time = num1(P, el, e); break;
    case DCM_TAG(0x0018, 0x0081): info->echo_time = num1(P, el, e); break;
    case DCM_TAG(0x0018, 0x0087): info->field_strength = num1(P, el, e); break;
    case DCM_TAG(0x0018, 0x0082): info->inversion_time = num1(P, el, e); break;
    case DCM_TAG(0x0018, 0x1314): info->flip_angle = num1(P, el, e); break;
    case DCM_TAG(0x0018, 0x0086): info->echo_number = num1(P, el, e); break;
    case DCM_TAG(0x0028, 0x0008): { /* NumberOfFrames: sizes everything after it, so strict */
        if (el->len == 0) break;
        double d = num1(P, el, e);
        if (!(d >= 0 && d <= 4294967295.0) || d != floor(d))
            return rdi_error(RADI_E_CORRUPT, "%s: " TAGF ": \"%.*s\" is not a frame count", P->what,
                             TAGA(el->tag), (int)RDI_MIN(el->len, 32u), (const char *)v);
        P->nframes_tag = (int64_t)d;
        break;
    }
    case DCM_TAG(0x0028, 0x0010): { uint16_t x = 0; RDI_TRY(us1(P, el, e, &x)); info->rows = x; break; }
    case DCM_TAG(0x0028, 0x0011): { uint16_t x = 0; RDI_TRY(us1(P, el, e, &x)); info->cols = x; break; }
    case DCM_TAG(0x0028, 0x0002): {
        uint16_t x = 1;
        RDI_TRY(us1(P, el, e, &x));
        info->samples_per_pixel = x;
        break;
    }
    case DCM_TAG(0x0028, 0x0100): RDI_TRY(us1(P, el, e, &info->bits_allocated)); break;
    case DCM_TAG(0x0028, 0x0101): RDI_TRY(us1(P, el, e, &info->bits_stored)); break;
    case DCM_TAG(0x0028, 0x0102): RDI_TRY(us1(P, el, e, &info->high_bit)); break;
    case DCM_TAG(0x0028, 0x0103): RDI_TRY(us1(P, el, e, &info->pixel_representation)); break;
    /* Private blocks: (gggg,0010) names the creator of (gggg,10xx). */
    case DCM_TAG(0x0019, 0x0010): P->siemens_creator = el->len >= 7 && !memcmp(v, "SIEMENS", 7); break;
    case DCM_TAG(0x2005, 0x0010): P->philips_creator = el->len >= 7 && !memcmp(v, "Philips", 7); break;
    case DCM_TAG(0x0019, 0x100A):
        if (P->siemens_creator) {
            P->mosaic_tag = 1;
            if (el->len == 2) info->mosaic_images = g16(v, e.swap);
            else if (el->len == 4) info->mosaic_images = g32(v, e.swap);
        }
        break;
    case DCM_TAG(0x2005, 0x100E):
        if (P->philips_creator && el->len == 4) {
            uint32_t u = g32(v, e.swap);
            float f;
            memcpy(&f, &u, 4);
            if (isfinite(f)) info->philips_scale_slope = f;
        }
        break;
    case DCM_TAG(0x7FE0, 0x0001): P->has_eot = 1, P->eot_off = el->val, P->eot_len = el->len; break;
    case DCM_TAG(0x7FE0, 0x0002): P->has_eotl = 1, P->eotl_off = el->val, P->eotl_len = el->len; break;
    case DCM_PIXEL_DATA:
        if (P->pix_found)
            return rdi_error(RADI_E_CORRUPT, "%s: (7FE0,0010) PixelData: a second one at byte %zu", P->what, el->hdr);
        P->pix_found = 1;
        P->pix_off = el->val;
        P->pix_len = el->len;
        break;
    default:
        break;
    }
    return RADI_OK;
}

/* --------------------------------------------------------- the dataset -- */

static radi_status walk(dcm_parser *P, size_t pos, size_t end, int undef, enc e, int depth, int lv,
                        dcm_geo *g, size_t *out);

static int seq_kind(int lv, uint32_t tag)
{
    if (lv == LV_TOP) {
        if (tag == DCM_TAG(0x5200, 0x9229)) return SK_SHARED;
        if (tag == DCM_TAG(0x5200, 0x9230)) return SK_PERFRAME;
    } else if (lv == LV_FG) {
        switch (tag) {
        case DCM_TAG(0x0020, 0x9113): /* PlanePosition */
        case DCM_TAG(0x0020, 0x9116): /* PlaneOrientation */
        case DCM_TAG(0x0028, 0x9110): /* PixelMeasures */
        case DCM_TAG(0x0028, 0x9145): /* PixelValueTransformation */
        case DCM_TAG(0x0020, 0x9111): /* FrameContent */
            return SK_SUB;
        default:
            break;
        }
    }
    return SK_NONE;
}

static radi_status new_perframe(dcm_parser *P, dcm_geo **g)
{
    if (P->npf == P->cap_pf) {
        if (P->npf >= DCM_MAX_FRAMES)
            return rdi_error(RADI_E_UNSUPPORTED, "%s: (5200,9230) PerFrameFunctionalGroupsSequence: more than %u items",
                             P->what, DCM_MAX_FRAMES);
        size_t cap = P->cap_pf ? 2 * P->cap_pf : 64;
        dcm_geo *pf = realloc(P->pf, cap * sizeof *pf);
        if (!pf) return rdi_nomem();
        P->pf = pf;
        P->cap_pf = cap;
    }
    *g = &P->pf[P->npf++];
    memset(*g, 0, sizeof **g);
    return RADI_OK;
}

/* The items of a sequence whose value starts at pos: up to end (defined length) or
 * through its delimiter (undefined; end is then the end of the enclosing container, so
 * that nothing nested runs past what holds it). */
static radi_status seq(dcm_parser *P, uint32_t tag, size_t pos, size_t end, int undef, enc e, int depth,
                       int kind, dcm_geo *g, size_t *out)
{
    if (depth >= DCM_MAX_DEPTH)
        return rdi_error(RADI_E_CORRUPT, "%s: " TAGF ": sequences nested deeper than %d", P->what, TAGA(tag),
                         DCM_MAX_DEPTH);
    for (;;) {
        if (pos >= end) {
            if (undef)
                return rdi_error(RADI_E_CORRUPT, "%s: " TAGF ": file ends inside the sequence", P->what,
                                 TAGA(tag));
            break;
        }
        elem it;
        RDI_TRY(read_elem(P, pos, end, e, &it));
        if (it.tag == DCM_SEQ_DELIM && undef) {
            pos = it.val;
            break;
        }
        if (it.tag != DCM_ITEM)
            return rdi_error(RADI_E_CORRUPT, "%s: " TAGF ": (%04X,%04X) at byte %zu where an item was expected",
                             P->what, TAGA(tag), (unsigned)(it.tag >> 16), (unsigned)(it.tag & 0xFFFF), pos);
        int lv = LV_SKIP;
        dcm_geo *tg = NULL;
        if (kind == SK_SHARED) lv = LV_FG, tg = &P->shared;
        else if (kind == SK_PERFRAME) { RDI_TRY(new_perframe(P, &tg)); lv = LV_FG; }
        else if (kind == SK_SUB) lv = LV_FGSUB, tg = g;
        if (it.len == DCM_UNDEF) {
            RDI_TRY(walk(P, it.val, end, 1, e, depth + 1, lv, tg, &pos));
        } else {
            size_t done;
            if (lv != LV_SKIP) RDI_TRY(walk(P, it.val, it.val + it.len, 0, e, depth + 1, lv, tg, &done));
            pos = it.val + it.len;
        }
    }
    *out = pos;
    return RADI_OK;
}

/* The elements of a dataset (the top level, or one item) from pos up to end, or (undef)
 * through the item delimiter. */
static radi_status walk(dcm_parser *P, size_t pos, size_t end, int undef, enc e, int depth, int lv,
                        dcm_geo *g, size_t *out)
{
    while (pos < end) {
        elem el;
        RDI_TRY(read_elem(P, pos, end, e, &el));
        if (el.tag == DCM_ITEM_DELIM && undef) {
            *out = el.val;
            return RADI_OK;
        }
        if ((el.tag >> 16) == 0xFFFE)
            return rdi_error(RADI_E_CORRUPT, "%s: " TAGF " at byte %zu outside a sequence", P->what,
                             TAGA(el.tag), pos);
        int kind = seq_kind(lv, el.tag);
        if (kind == SK_SHARED || kind == SK_PERFRAME) P->has_fg = 1;
        /* UN holding a sequence is implicit VR little endian inside (PS3.5 6.2.2). */
        enc inner = el.vr == VR('U', 'N') ? (enc){0, 0} : e;
        if (el.len == DCM_UNDEF) {
            if (el.tag == DCM_PIXEL_DATA || el.vr == VR('O', 'B') || el.vr == VR('O', 'W')) {
                /* Encapsulated pixel data (recorded at the top level; an icon's is skipped). */
                int rec = lv == LV_TOP && el.tag == DCM_PIXEL_DATA;
                if (rec && P->pix_found)
                    return rdi_error(RADI_E_CORRUPT, "%s: (7FE0,0010) PixelData: a second one at byte %zu", P->what,
                                     el.hdr);
                RDI_TRY(rdi_dcm__items(P, el.tag, el.val, end, rec, &pos));
                if (rec)
                    P->pix_found = 1, P->pix_encaps = 1, P->pix_off = el.val, P->pix_len = pos - el.val;
                continue;
            }
            if (e.explicit_vr && el.vr != VR('S', 'Q') && el.vr != VR('U', 'N'))
                return rdi_error(RADI_E_CORRUPT, "%s: " TAGF ": undefined length on VR %c%c", P->what,
                                 TAGA(el.tag), el.vr >> 8, el.vr & 0xFF);
            RDI_TRY(seq(P, el.tag, el.val, end, 1, inner, depth, kind, g, &pos));
            continue;
        }
        size_t next = el.val + el.len;
        if (kind != SK_NONE && (!e.explicit_vr || el.vr == VR('S', 'Q') || el.vr == VR('U', 'N'))) {
            size_t done;
            RDI_TRY(seq(P, el.tag, el.val, next, 0, inner, depth, kind, g, &done));
        } else if (lv == LV_TOP) {
            RDI_TRY(top_value(P, &el, e));
        } else if (lv == LV_FGSUB) {
            geo_value(P, &el, e, g);
        }
        pos = next;
    }
    if (undef)
        return rdi_error(RADI_E_CORRUPT, "%s: file ends inside an item (no item delimiter)", P->what);
    *out = pos;
    return RADI_OK;
}

/* ---------------------------------------------------- meta and syntaxes -- */

static const struct {
    const char *uid;
    rdi_dcm_ts ts;
} k_syntaxes[] = {
    {"1.2.840.10008.1.2", RDI_TS_IMPLICIT_LE},
    {"1.2.840.10008.1.2.1", RDI_TS_EXPLICIT_LE},
    {"1.2.840.10008.1.2.2", RDI_TS_EXPLICIT_BE},
    {"1.2.840.10008.1.2.1.99", RDI_TS_DEFLATED_LE},
    {"1.2.840.10008.1.2.5", RDI_TS_RLE},
    {"1.2.840.10008.1.2.4.50", RDI_TS_JPEG_BASELINE},
    {"1.2.840.10008.1.2.4.51", RDI_TS_JPEG_EXTENDED},
    {"1.2.840.10008.1.2.4.57", RDI_TS_JPEG_LOSSLESS},
    {"1.2.840.10008.1.2.4.70", RDI_TS_JPEG_LOSSLESS},
    {"1.2.840.10008.1.2.4.80", RDI_TS_JPEG_LS},
    {"1.2.840.10008.1.2.4.81", RDI_TS_JPEG_LS},
    {"1.2.840.10008.1.2.4.90", RDI_TS_J2K},
    {"1.2.840.10008.1.2.4.91", RDI_TS_J2K},
    {"1.2.840.10008.1.2.4.201", RDI_TS_HTJ2K},
    {"1.2.840.10008.1.2.4.202", RDI_TS_HTJ2K},
    {"1.2.840.10008.1.2.4.203", RDI_TS_HTJ2K},
};

static rdi_dcm_ts ts_of(const char *uid)
{
    for (size_t i = 0; i < sizeof k_syntaxes / sizeof k_syntaxes[0]; i++)
        if (!strcmp(k_syntaxes[i].uid, uid)) return k_syntaxes[i].ts;
    return RDI_TS_OTHER;
}

/* Whether the element at q (8+ bytes) starts with an explicit VR radi knows: how a dataset
 * that contradicts its declared syntax (or has none) is recognised, as pydicom does. */
static int looks_explicit(const uint8_t *q, size_t n)
{
    if (n < 8 || !vr_letters(q + 4)) return 0;
    static const char k_vrs[] = "AEASATCSDADSDTFLFDISLOLTOBODOFOLOVOWPNSHSLSQSSSTSVTMUCUIULUNURUSUTUV";
    for (size_t i = 0; i + 1 < sizeof k_vrs; i += 2)
        if (q[4] == (uint8_t)k_vrs[i] && q[5] == (uint8_t)k_vrs[i + 1]) return 1;
    return 0;
}

int rdi_dcm_probe(const uint8_t *p, size_t n)
{
    if (n >= 132 && !memcmp(p + 128, "DICM", 4)) return 1;
    /* Legacy (ACR-NEMA style) files: the dataset from byte 0, group 0008 first, its length
     * inside the file in either explicit or implicit VR. */
    if (n < 8) return 0;
    if (p[0] == 0x00 && p[1] == 0x08) return looks_explicit(p, n); /* explicit VR big endian */
    if (p[0] != 0x08 || p[1] != 0x00) return 0;
    if (looks_explicit(p, n)) return 1;
    return rdi_ld32(p + 4) <= n - 8;
}

/* The meta group from pos: explicit VR LE elements of group 0002 (the group length, which
 * some files lack, is not trusted: the group ends at the first other group). Leaves the
 * transfer syntax UID in info->ts_uid and *pos after the group. */
static radi_status read_meta(dcm_parser *P, size_t *pos)
{
    enc e = {1, 0};
    if (!looks_explicit(P->p + *pos, P->n - *pos)) e.explicit_vr = 0; /* a broken writer's */
    while (P->n - *pos >= 8 && g16(P->p + *pos, 0) == 0x0002) {
        elem el;
        RDI_TRY(read_elem(P, *pos, P->n, e, &el));
        if (el.len == DCM_UNDEF)
            return rdi_error(RADI_E_CORRUPT, "%s: " TAGF ": undefined length in the meta group", P->what,
                             TAGA(el.tag));
        if (el.tag == DCM_TAG(0x0002, 0x0010))
            put_str(P->info->ts_uid, sizeof P->info->ts_uid, P->p + el.val, el.len);
        *pos = el.val + el.len;
    }
    return RADI_OK;
}

void rdi_dcm_info_drop_body(rdi_dcm_info *info)
{
    if (!info) return;
    free(info->own);
    info->own = NULL;
    info->body = NULL;
    info->body_len = 0;
}

void rdi_dcm_info_free(rdi_dcm_info *info)
{
    if (!info) return;
    free(info->frames);
    free(info->frags);
    free(info->own);
    free(info);
}

radi_status rdi_dcm_parse(const uint8_t *p, size_t n, const char *what, rdi_dcm_info **out)
{
    *out = NULL;
    if (!what) what = "DICOM";
    rdi_dcm_info *info = rdi_calloc(1, sizeof *info);
    if (!info) return RADI_E_NOMEM;
    dcm_parser P;
    memset(&P, 0, sizeof P);
    P.what = what, P.p = p, P.n = n, P.info = info, P.nframes_tag = -1;
    info->series_number = -1;
    info->samples_per_pixel = 1;
    info->slice_thickness = info->spacing_between_slices = info->kvp = info->exposure = NAN;
    info->repetition_time = info->echo_time = info->field_strength = info->inversion_time = NAN;
    info->flip_angle = info->echo_number = info->philips_scale_slope = NAN;

    radi_status st = RADI_OK;
    size_t pos = 0;
    int preamble = n >= 132 && !memcmp(p + 128, "DICM", 4);
    if (preamble) pos = 132;
    else if (!rdi_dcm_probe(p, n) && !(n >= 8 && p[0] == 0x02 && p[1] == 0x00))
        st = rdi_error(RADI_E_CORRUPT, "%s: not a DICOM file (no \"DICM\" at byte 128, no group 0008 at byte 0)",
                       what);
    if (st == RADI_OK) st = read_meta(&P, &pos);
    enc e = {1, 0};
    if (st == RADI_OK) {
        if (info->ts_uid[0]) {
            info->ts = ts_of(info->ts_uid);
            if (info->ts == RDI_TS_OTHER)
                st = rdi_error(RADI_E_UNSUPPORTED, "%s: (0002,0010) TransferSyntaxUID: transfer syntax %s is not supported",
                               what, info->ts_uid);
            e.explicit_vr = info->ts != RDI_TS_IMPLICIT_LE;
            e.swap = info->ts == RDI_TS_EXPLICIT_BE;
        } else {
            /* No transfer syntax (legacy files, or a meta group without it): explicit or
             * implicit as the first element shows, big endian if its group reads 0x0800
             * little endian - pydicom's fallback too. */
            e.explicit_vr = (uint8_t)looks_explicit(p + pos, n - pos);
            e.swap = e.explicit_vr && n - pos >= 2 && p[pos] == 0x00 && p[pos + 1] != 0x00;
            info->ts = e.swap ? RDI_TS_EXPLICIT_BE : e.explicit_vr ? RDI_TS_EXPLICIT_LE : RDI_TS_IMPLICIT_LE;
        }
    }
    if (st == RADI_OK && info->ts == RDI_TS_DEFLATED_LE) {
        uint8_t *body = NULL;
        size_t blen = 0;
        st = rdi_dcm__inflate(p + pos, n - pos, what, &body, &blen);
        if (st == RADI_OK) info->own = body, P.p = body, P.n = blen, pos = 0;
    }
    info->body = P.p;
    info->body_len = P.n;
    if (st == RADI_OK && P.n - pos >= 8 && info->ts != RDI_TS_EXPLICIT_BE)
        /* A dataset that contradicts its declared VR encoding is read as it is written. */
        e.explicit_vr = (uint8_t)looks_explicit(P.p + pos, P.n - pos);
    P.top.f.acquisition_number = P.top.f.instance_number = -1;
    size_t end = 0;
    if (st == RADI_OK) st = walk(&P, pos, P.n, 0, e, 0, LV_TOP, NULL, &end);
    if (st == RADI_OK) st = rdi_dcm__finish(&P);
    free(P.pf);
    if (st != RADI_OK) {
        free(P.frags);
        info->frags = NULL;
        rdi_dcm_info_free(info);
        return st;
    }
    *out = info;
    return RADI_OK;
}
