/*
 * DICOM parser, second half: encapsulated pixel data (the offset tables and fragments),
 * the frame table (geometry merged from the top level, the shared and the per-frame
 * functional groups; where each frame's pixels are) and rdi_dcm_frame_bytes.
 */
#include <math.h>
#include <stdlib.h>

#include "io/dicom/part10_int.h"

#define PIXF "(7FE0,0010) PixelData"

static radi_status push_frag(dcm_parser *P, uint64_t off, uint64_t len)
{
    if (P->nfrags == P->cap_frags) {
        /* Every fragment costs at least its 8-byte item header, so the count is bounded
         * by the input; the array doubles. */
        size_t cap = P->cap_frags ? 2 * P->cap_frags : 16;
        rdi_dcm_range *f = realloc(P->frags, cap * sizeof *f);
        if (!f) return rdi_nomem();
        P->frags = f;
        P->cap_frags = cap;
    }
    P->frags[P->nfrags].offset = off;
    P->frags[P->nfrags].length = len;
    P->nfrags++;
    return RADI_OK;
}

radi_status rdi_dcm__items(dcm_parser *P, uint32_t tag, size_t pos, size_t limit, int record, size_t *end)
{
    /* Encapsulated data is always little endian (every encapsulated syntax is). */
    for (int first = 1;; first = 0) {
        if (limit - pos < 8)
            return rdi_error(RADI_E_CORRUPT, "%s: (%04X,%04X)%s: file ends inside the fragments (no sequence delimiter)",
                             P->what, (unsigned)(tag >> 16), (unsigned)(tag & 0xFFFF),
                             tag == DCM_PIXEL_DATA ? " PixelData" : "");
        uint32_t t = DCM_TAG(rdi_ld32(P->p + pos) & 0xFFFF, rdi_ld32(P->p + pos) >> 16);
        uint32_t len = rdi_ld32(P->p + pos + 4);
        if (t == DCM_SEQ_DELIM) {
            *end = pos + 8;
            return RADI_OK;
        }
        if (t != DCM_ITEM)
            return rdi_error(RADI_E_CORRUPT, "%s: (%04X,%04X): (%04X,%04X) at byte %zu where a fragment item was expected",
                             P->what, (unsigned)(tag >> 16), (unsigned)(tag & 0xFFFF), (unsigned)(t >> 16),
                             (unsigned)(t & 0xFFFF), pos);
        if (len == DCM_UNDEF || len > limit - pos - 8)
            return rdi_error(RADI_E_CORRUPT, "%s: (%04X,%04X): fragment at byte %zu: length %u runs past the end (%zu bytes left)",
                             P->what, (unsigned)(tag >> 16), (unsigned)(tag & 0xFFFF), pos, len,
                             limit - pos - 8);
        if (record) {
            if (first) {
                P->bot_off = pos + 8;
                P->bot_len = len;
            } else {
                if (P->nfrags == 0) P->frag0_hdr = pos;
                RDI_TRY(push_frag(P, pos + 8, len));
            }
        }
        pos += 8 + (size_t)len;
    }
}

/* Fragment j whose item header is `rel` bytes after the first fragment's, or -1. */
static int64_t frag_at(const dcm_parser *P, uint64_t rel)
{
    size_t lo = 0, hi = P->nfrags;
    uint64_t want = P->frag0_hdr + rel + 8;
    if (rel > P->n) return -1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (P->frags[mid].offset < want) lo = mid + 1;
        else hi = mid;
    }
    return lo < P->nfrags && P->frags[lo].offset == want ? (int64_t)lo : -1;
}

/* Whether a fragment starts a frame of its syntax: a JPEG SOI (FFD8; JPEG, JPEG lossless
 * and JPEG-LS), a JPEG 2000 codestream SOC (FF4F) or a JP2 signature box. */
static int starts_frame(const dcm_parser *P, const rdi_dcm_range *f)
{
    const uint8_t *q = P->p + f->offset;
    rdi_dcm_ts ts = P->info->ts;
    if (ts == RDI_TS_JPEG_BASELINE || ts == RDI_TS_JPEG_EXTENDED || ts == RDI_TS_JPEG_LOSSLESS ||
        ts == RDI_TS_JPEG_LS)
        return f->length >= 2 && q[0] == 0xFF && q[1] == 0xD8;
    if (ts == RDI_TS_J2K || ts == RDI_TS_HTJ2K)
        return (f->length >= 2 && q[0] == 0xFF && q[1] == 0x4F) ||
               (f->length >= 8 && !memcmp(q, "\0\0\0\x0CjP  ", 8));
    return 0;
}

static void set_frame_frags(dcm_parser *P, rdi_dcm_frame *f, size_t first, size_t count)
{
    f->first_frag = (uint32_t)first;
    f->nfrags = (uint32_t)count;
    f->offset = P->frags[first].offset;
    f->length = 0;
    for (size_t j = first; j < first + count; j++) f->length += P->frags[j].length;
}

/* Which fragments make which frame. In order of preference:
 *  1. the Extended Offset Table (7FE0,0001/0002): one fragment per frame, at the given
 *     offsets, of the given lengths;
 *  2. a Basic Offset Table with one entry per frame, each the start of a fragment (an
 *     offset table that does not fit the fragments is ignored, as if empty);
 *  3. without offsets: one fragment per frame when the counts are equal; every fragment
 *     for a single frame; otherwise (JPEG and JPEG 2000 families) a new frame at each
 *     fragment that starts with the codestream's first marker (JPEG SOI FFD8, J2K SOC
 *     FF4F), which must give exactly NumberOfFrames frames. Anything else is refused. */
static radi_status map_fragments(dcm_parser *P, rdi_dcm_frame *fr, uint64_t nf)
{
    size_t nfr = P->nfrags;
    if (nf > nfr)
        return rdi_error(RADI_E_CORRUPT, "%s: " PIXF ": %zu fragments for %llu frames", P->what, nfr,
                         (unsigned long long)nf);
    if (P->has_eot || P->has_eotl) {
        if (!P->has_eot || !P->has_eotl || P->eot_len != P->eotl_len || P->eot_len != nf * 8)
            return rdi_error(RADI_E_CORRUPT, "%s: (7FE0,0001) ExtendedOffsetTable: %llu and %llu bytes of offsets "
                             "and lengths for %llu frames", P->what, (unsigned long long)P->eot_len,
                             (unsigned long long)P->eotl_len, (unsigned long long)nf);
        for (uint64_t k = 0; k < nf; k++) {
            uint64_t off = rdi_ld64(P->p + P->eot_off + 8 * k), len = rdi_ld64(P->p + P->eotl_off + 8 * k);
            int64_t j = frag_at(P, off);
            if (j < 0 || len > P->frags[j].length)
                return rdi_error(RADI_E_CORRUPT, "%s: (7FE0,0001) ExtendedOffsetTable: frame %llu (offset %llu, "
                                 "length %llu) is not one fragment", P->what, (unsigned long long)k,
                                 (unsigned long long)off, (unsigned long long)len);
            set_frame_frags(P, &fr[k], (size_t)j, 1);
            fr[k].length = len;
        }
        return RADI_OK;
    }
    if (P->bot_len % 4)
        return rdi_error(RADI_E_CORRUPT, "%s: " PIXF ": Basic Offset Table of %llu bytes (not a multiple of 4)",
                         P->what, (unsigned long long)P->bot_len);
    if (P->bot_len / 4 == nf && nf > 1) {
        int ok = 1;
        int64_t prev = -1;
        for (uint64_t k = 0; k < nf && ok; k++) {
            int64_t j = frag_at(P, rdi_ld32(P->p + P->bot_off + 4 * k));
            if (j <= prev || (k == 0 && j != 0)) ok = 0;
            else fr[k].first_frag = (uint32_t)j;
            prev = j;
        }
        if (ok) {
            for (uint64_t k = 0; k < nf; k++) {
                size_t next = k + 1 < nf ? fr[k + 1].first_frag : nfr;
                set_frame_frags(P, &fr[k], fr[k].first_frag, next - fr[k].first_frag);
            }
            return RADI_OK;
        }
    }
    if (nfr == nf) {
        for (size_t k = 0; k < nfr; k++) set_frame_frags(P, &fr[k], k, 1);
        return RADI_OK;
    }
    if (nf == 1) {
        set_frame_frags(P, &fr[0], 0, nfr);
        return RADI_OK;
    }
    uint64_t k = 0;
    size_t start = 0;
    int ok = starts_frame(P, &P->frags[0]);
    for (size_t j = 1; ok && j <= nfr; j++) {
        if (j < nfr && !starts_frame(P, &P->frags[j])) continue;
        if (k == nf) { ok = 0; break; }
        set_frame_frags(P, &fr[k++], start, j - start);
        start = j;
    }
    if (!ok || k != nf)
        return rdi_error(RADI_E_CORRUPT, "%s: " PIXF ": cannot tell which of %zu fragments make which of %llu frames "
                         "(no offset table, and the fragments do not start frames one for one)", P->what, nfr,
                         (unsigned long long)nf);
    return RADI_OK;
}

static void apply(rdi_dcm_frame *f, const dcm_geo *g)
{
    if (g->set & DCM_SET_IPP) memcpy(f->ipp, g->f.ipp, sizeof f->ipp), f->has_ipp = 1;
    if (g->set & DCM_SET_IOP) memcpy(f->iop, g->f.iop, sizeof f->iop), f->has_iop = 1;
    if (g->set & DCM_SET_SPACING) memcpy(f->spacing, g->f.spacing, sizeof f->spacing), f->has_spacing = 1;
    if (g->set & DCM_SET_SLOPE) f->slope = g->f.slope;
    if (g->set & DCM_SET_INTERCEPT) f->intercept = g->f.intercept;
    if (g->set & DCM_SET_THICKNESS) f->slice_thickness = g->f.slice_thickness;
    if (g->set & DCM_SET_TEMPORAL) f->temporal_position = g->f.temporal_position;
    if (g->set & DCM_SET_STACKPOS) f->in_stack_position = g->f.in_stack_position;
    if (g->set & DCM_SET_DIMIDX) {
        f->n_dim_index = g->f.n_dim_index;
        memcpy(f->dim_index, g->f.dim_index, sizeof f->dim_index);
    }
}

/* Whether a backslash-separated value list holds the value `word`. */
static int has_value(const char *list, const char *word)
{
    size_t w = strlen(word);
    for (const char *s = list; *s;) {
        const char *e = strchr(s, '\\');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        while (n && s[n - 1] == ' ') n--;
        const char *b = s;
        while (n && *b == ' ') b++, n--;
        if (n == w && !memcmp(b, word, w)) return 1;
        if (!e) break;
        s = e + 1;
    }
    return 0;
}

radi_status rdi_dcm__finish(dcm_parser *P)
{
    rdi_dcm_info *info = P->info;
    uint64_t nf;
    if (P->nframes_tag >= 0) nf = (uint64_t)P->nframes_tag;
    else if (P->npf) nf = P->npf;
    else nf = P->pix_found || info->rows || P->has_fg ? 1 : 0;
    if (nf > DCM_MAX_FRAMES)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: (0028,0008) NumberOfFrames: %llu frames (radi reads at most %u)",
                         P->what, (unsigned long long)nf, DCM_MAX_FRAMES);
    if (P->npf && P->npf != nf)
        return rdi_error(RADI_E_CORRUPT, "%s: (5200,9230) PerFrameFunctionalGroupsSequence: %zu items for %llu frames",
                         P->what, P->npf, (unsigned long long)nf);
    info->enhanced = P->has_fg;
    info->mosaic = P->mosaic_tag && has_value(info->image_type, "MOSAIC");
    info->has_pixels = P->pix_found;
    info->encapsulated = P->pix_encaps;
    info->pixel_offset = P->pix_off;
    info->pixel_length = P->pix_len;

    uint64_t frame_size = 0;
    if (P->pix_found) {
        int native_ts = info->ts == RDI_TS_IMPLICIT_LE || info->ts == RDI_TS_EXPLICIT_LE ||
                        info->ts == RDI_TS_EXPLICIT_BE || info->ts == RDI_TS_DEFLATED_LE;
        if (native_ts == P->pix_encaps)
            return rdi_error(RADI_E_CORRUPT, "%s: " PIXF ": %s pixel data in a file of transfer syntax %s", P->what,
                             P->pix_encaps ? "encapsulated" : "native", info->ts_uid[0] ? info->ts_uid : "(none)");
        if (!info->rows || !info->cols)
            return rdi_error(RADI_E_CORRUPT, "%s: " PIXF ": present, but (0028,0010) Rows or (0028,0011) Columns "
                             "is missing or 0", P->what);
        if (!info->bits_allocated)
            return rdi_error(RADI_E_CORRUPT, "%s: " PIXF ": present, but (0028,0100) BitsAllocated is missing or 0",
                             P->what);
        if (info->bits_allocated == 1)
            return rdi_error(RADI_E_UNSUPPORTED, "%s: (0028,0100) BitsAllocated: 1-bit (bit-packed) pixel data is "
                             "not supported", P->what);
        if (info->bits_allocated % 8 || info->bits_allocated > 64)
            return rdi_error(RADI_E_UNSUPPORTED, "%s: (0028,0100) BitsAllocated: %u is not supported", P->what,
                             info->bits_allocated);
        if (info->samples_per_pixel < 1 || info->samples_per_pixel > 4)
            return rdi_error(RADI_E_CORRUPT, "%s: (0028,0002) SamplesPerPixel: %u", P->what,
                             info->samples_per_pixel);
        if (nf == 0)
            return rdi_error(RADI_E_CORRUPT, "%s: (0028,0008) NumberOfFrames: 0, but there is pixel data", P->what);
        frame_size = (uint64_t)info->rows * info->cols * info->samples_per_pixel * (info->bits_allocated / 8);
        /* Native YBR_FULL_422 keeps two chroma samples per two pixels (PS3.3 C.7.6.3.1.2). */
        if (!strcmp(info->photometric, "YBR_FULL_422") && info->samples_per_pixel == 3)
            frame_size = frame_size / 3 * 2;
        if (!P->pix_encaps && P->pix_len < nf * frame_size)
            return rdi_error(RADI_E_CORRUPT, "%s: " PIXF ": %llu bytes, expected %llu (%llu frames of %u x %u x %u "
                             "samples of %u bits)", P->what, (unsigned long long)P->pix_len,
                             (unsigned long long)(nf * frame_size), (unsigned long long)nf, info->rows, info->cols,
                             info->samples_per_pixel, info->bits_allocated);
    }

    rdi_dcm_frame *fr = NULL;
    if (nf) {
        fr = rdi_calloc((size_t)nf, sizeof *fr);
        if (!fr) return RADI_E_NOMEM;
    }
    for (uint64_t k = 0; k < nf; k++) {
        rdi_dcm_frame *f = &fr[k];
        f->slope = 1;
        f->intercept = 0;
        f->slice_thickness = NAN;
        f->temporal_position = f->in_stack_position = -1;
        f->acquisition_number = P->top.f.acquisition_number;
        f->instance_number = P->top.f.instance_number;
        /* The top level first (non-enhanced multi-frame: every frame shares it), then the
         * shared groups, then this frame's own, each winning attribute by attribute. */
        apply(f, &P->top);
        apply(f, &P->shared);
        if (P->npf) apply(f, &P->pf[k]);
        if (P->pix_found && !P->pix_encaps) f->offset = P->pix_off + k * frame_size, f->length = frame_size;
    }
    if (P->pix_found && P->pix_encaps) {
        radi_status st = map_fragments(P, fr, nf);
        if (st != RADI_OK) {
            free(fr);
            return st;
        }
    }
    info->frames = fr;
    info->nframes = (uint32_t)nf;
    const dcm_geo *rt = P->top.set & DCM_SET_RESCALE_TYPE      ? &P->top
                        : P->shared.set & DCM_SET_RESCALE_TYPE ? &P->shared
                        : P->npf                               ? &P->pf[0]
                                                               : &P->top;
    memcpy(info->rescale_type, rt->rescale_type, sizeof info->rescale_type);
    info->slice_thickness = nf ? fr[0].slice_thickness
                               : (P->top.set & DCM_SET_THICKNESS ? P->top.f.slice_thickness : NAN);
    if (P->pix_encaps) {
        info->frags = P->frags;
        info->nfrags = P->nfrags;
        P->frags = NULL;
    }
    return RADI_OK;
}

radi_status rdi_dcm_frame_bytes(const rdi_dcm_info *info, uint32_t k, rdi_buf *scratch, const uint8_t **p,
                                size_t *n)
{
    if (!info->has_pixels || k >= info->nframes)
        return rdi_error(RADI_E_INVALID, "DICOM frame %u: the file has %u frames%s", k, info->nframes,
                         info->has_pixels ? "" : " and no pixel data");
    const rdi_dcm_frame *f = &info->frames[k];
    unsigned w = info->bits_allocated / 8;
    if (!info->encapsulated && info->ts == RDI_TS_EXPLICIT_BE && w > 1) {
        RDI_TRY(rdi_buf_resize(scratch, (size_t)f->length));
        const uint8_t *s = info->body + f->offset;
        uint8_t *d = scratch->data;
        for (size_t i = 0; i + w <= f->length; i += w)
            for (unsigned b = 0; b < w; b++) d[i + b] = s[i + w - 1 - b];
        *p = scratch->data;
        *n = (size_t)f->length;
        return RADI_OK;
    }
    if (!info->encapsulated || f->nfrags == 1) {
        *p = info->body + f->offset;
        *n = (size_t)f->length;
        return RADI_OK;
    }
    RDI_TRY(rdi_buf_resize(scratch, (size_t)f->length));
    size_t at = 0;
    for (uint32_t j = f->first_frag; j < f->first_frag + f->nfrags; j++) {
        memcpy(scratch->data + at, info->body + info->frags[j].offset, (size_t)info->frags[j].length);
        at += (size_t)info->frags[j].length;
    }
    *p = scratch->data;
    *n = at;
    return RADI_OK;
}
