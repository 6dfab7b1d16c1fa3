/*
 * Canonical reorientation at ingest (source.h, rdi_image_source_open): a handle that
 * wraps any kind's handle and gives its volume with the voxel axes permuted and flipped
 * to run along RAS, LAS or LPS, as radiobject 0.1.1's reorient=True does (nibabel's
 * as_closest_canonical, then a flip of x, or of x and y): no resampling, the time axis
 * untouched. The kind stays ignorant of it: only the header (shape, affine), the voxels
 * and the four orientation_* keys change, plus original_affine.
 *
 * 0.1.1's rules kept here, bit for bit:
 *  - a source already RAS is stored as it is, whatever the target (0.1.1 tests
 *    is_canonical, which means RAS); original_affine is still recorded;
 *  - the new affine is composed as nibabel's inv_ornt_aff (flip about the centre after
 *    undoing the transpose), then the LAS/LPS flips add (n-1) * column to the origin;
 *  - the orientation_* keys describe the result as a fresh NIfTI image of it would:
 *    an sform (source nifti_sform, confidence header) held in float32 rows, the
 *    identity labelled identity/unknown;
 *  - original_affine is the source's full-precision affine.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/nifti.h"
#include "model/source.h"

radi_status rdi_reorient_plan(const double affine[16], const uint64_t shape[4], int target, rdi_reorient_map *m)
{
    memset(m, 0, sizeof *m);
    for (int a = 0; a < 3; a++) m->src_axis[a] = (uint32_t)a;
    memcpy(m->affine, affine, sizeof m->affine);
    if (target != RADI_REORIENT_RAS && target != RADI_REORIENT_LAS && target != RADI_REORIENT_LPS)
        return rdi_error(RADI_E_INVALID, "reorient target %d is not RAS, LAS or LPS", target);
    char codes[4];
    rdi_axcodes(affine, codes);
    if (!strcmp(codes, "RAS")) return RADI_OK; /* 0.1.1: canonical already, left alone */
    int world[3], dir[3];
    for (int i = 0; i < 3; i++) {
        const char *p = strchr("RLAPSI", codes[i]);
        if (codes[i] == '?' || !p)
            return rdi_error(RADI_E_UNSUPPORTED, "cannot reorient: the affine has a degenerate axis (axcodes %s)",
                             codes);
        world[i] = (int)(p - "RLAPSI") / 2;
        dir[i] = (p - "RLAPSI") % 2 ? -1 : 1;
    }
    m->reoriented = 1;
    /* New axis world[i] holds old axis i, reversed where it ran backwards. */
    for (int i = 0; i < 3; i++) {
        m->src_axis[world[i]] = (uint32_t)i;
        m->flip[world[i]] = dir[i] < 0;
    }
    /* inv_ornt_aff: M = undo_flip . undo_reorder, where undo_reorder's row i is e_world[i]
     * and undo_flip = diag(dir, 1) with translation dir*c - c, c = -(n_i - 1) / 2. */
    double M[4][4] = {{0}};
    for (int i = 0; i < 3; i++) {
        double c = -((double)shape[i] - 1) / 2.0;
        M[i][world[i]] = dir[i];
        M[i][3] = dir[i] * c - c;
    }
    M[3][3] = 1;
    double out[16];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) {
            /* numpy's dot order (k = 0..3), so the origin rounds as 0.1.1's does */
            double s = affine[r * 4] * M[0][c];
            for (int k = 1; k < 4; k++) s += affine[r * 4 + k] * M[k][c];
            out[r * 4 + c] = s;
        }
    /* LAS / LPS: from RAS, flip x (and y): the origin moves to the far end first. */
    int nflip = target == RADI_REORIENT_LAS ? 1 : target == RADI_REORIENT_LPS ? 2 : 0;
    for (int a = 0; a < nflip; a++) {
        double n1 = (double)shape[m->src_axis[a]] - 1;
        for (int r = 0; r < 3; r++) out[r * 4 + 3] += n1 * out[r * 4 + a];
        for (int r = 0; r < 3; r++) out[r * 4 + a] = -out[r * 4 + a];
        m->flip[a] = !m->flip[a];
    }
    memcpy(m->affine, out, sizeof out);
    return RADI_OK;
}

void rdi_reorient_shape(const rdi_reorient_map *m, const uint64_t shape[4], uint64_t out[4])
{
    for (int a = 0; a < 3; a++) out[a] = shape[m->src_axis[a]];
    out[3] = shape[3];
}

int rdi_reorient_moves(const rdi_reorient_map *m)
{
    for (int a = 0; a < 3; a++)
        if (m->src_axis[a] != (uint32_t)a || m->flip[a]) return 1;
    return 0;
}

void rdi_reorient_apply(const rdi_reorient_map *m, const uint64_t shape[4], size_t elem, const void *src, void *dst)
{
    /* Column-major both sides (x fastest). dst is walked in order; each new axis steps
     * through its old axis's stride, backwards where flipped. */
    int64_t ostride[4] = {1, 0, 0, 0};
    for (int d = 1; d < 4; d++) ostride[d] = ostride[d - 1] * (int64_t)shape[d - 1];
    uint64_t n[3];
    int64_t step[3], start = 0;
    for (int a = 0; a < 3; a++) {
        uint32_t o = m->src_axis[a];
        n[a] = shape[o];
        step[a] = m->flip[a] ? -ostride[o] : ostride[o];
        if (m->flip[a]) start += ((int64_t)shape[o] - 1) * ostride[o];
    }
    const uint8_t *s = src;
    uint8_t *d = dst;
    for (uint64_t t = 0; t < shape[3]; t++) {
        int64_t base_t = start + (int64_t)t * ostride[3];
        for (uint64_t z = 0; z < n[2]; z++)
            for (uint64_t y = 0; y < n[1]; y++) {
                int64_t off = base_t + (int64_t)z * step[2] + (int64_t)y * step[1];
                switch (elem) {
                case 1:
                    for (uint64_t x = 0; x < n[0]; x++, off += step[0]) *d++ = s[off];
                    break;
                case 2:
                    for (uint64_t x = 0; x < n[0]; x++, off += step[0], d += 2) memcpy(d, s + off * 2, 2);
                    break;
                case 4:
                    for (uint64_t x = 0; x < n[0]; x++, off += step[0], d += 4) memcpy(d, s + off * 4, 4);
                    break;
                default:
                    for (uint64_t x = 0; x < n[0]; x++, off += step[0], d += elem)
                        memcpy(d, s + off * (int64_t)elem, elem);
                }
            }
    }
}

/* ---- the wrapping handle ---- */

typedef struct reorient_source {
    rdi_image_source base;
    rdi_image_source *inner;
    int target, store_original;
    int have_header;
    rdi_image_header orig;     /* the inner source's header */
    rdi_reorient_map map;
} reorient_source;

static const rdi_image_source_ops reorient_ops;

static radi_status ro_header(rdi_image_source *src, rdi_image_header *out)
{
    reorient_source *r = (reorient_source *)src;
    RDI_TRY(r->inner->ops->header(r->inner, &r->orig));
    r->have_header = 1;
    *out = r->orig;
    memset(&r->map, 0, sizeof r->map);
    for (uint32_t a = 0; a < 3; a++) r->map.src_axis[a] = a; /* kept as it is until planned */
    for (int k = 0; k < 16; k++)
        if (!isfinite(r->orig.affine[k])) return RADI_OK; /* the header check refuses it, naming the source */
    RDI_TRY(rdi_reorient_plan(r->orig.affine, r->orig.shape, r->target, &r->map));
    rdi_reorient_shape(&r->map, r->orig.shape, out->shape);
    memcpy(out->affine, r->map.affine, sizeof out->affine);
    return RADI_OK;
}

/* Drops volume metadata key `key` from f (its strings stay in f->strs until freed). */
static void drop_meta(rdi_image_fields *f, const char *key)
{
    for (uint32_t k = 0; k < f->nmeta; k++)
        if (!strcmp(f->meta[k].key, key)) {
            memmove(&f->meta[k], &f->meta[k + 1], (f->nmeta - k - 1) * sizeof f->meta[0]);
            f->nmeta--;
            return;
        }
}

static radi_status set_meta(rdi_image_fields *f, const char *key, const char *value)
{
    drop_meta(f, key);
    return rdi_image_fields_meta(f, key, value);
}

static radi_status ro_describe(rdi_image_source *src, const char *collection, const char *source_path,
                               rdi_image_fields *out)
{
    reorient_source *r = (reorient_source *)src;
    if (!r->have_header) return rdi_error(RADI_E_INTERNAL, "reorient: describe before header");
    RDI_TRY(r->inner->ops->describe(r->inner, collection, source_path, out));
    rdi_buf js = RDI_BUF_INIT;
    radi_status s = RADI_OK;
    if (r->map.reoriented) {
        /* As a NIfTI image of the result would describe it: the sform's float32 rows. */
        double sform[16];
        memcpy(sform, r->map.affine, sizeof sform);
        for (int k = 0; k < 12; k++) sform[k] = (double)(float)sform[k];
        int ident = 1;
        for (int k = 0; k < 16; k++) ident &= sform[k] == (k % 5 == 0 ? 1.0 : 0.0);
        char codes[4];
        rdi_axcodes(sform, codes);
        s = rdi_affine_json(sform, &js);
        if (s == RADI_OK) s = set_meta(out, "orientation_axcodes", codes);
        if (s == RADI_OK) s = set_meta(out, "orientation_affine", (const char *)js.data);
        if (s == RADI_OK) s = set_meta(out, "orientation_source", ident ? "identity" : "nifti_sform");
        if (s == RADI_OK) s = set_meta(out, "orientation_confidence", ident ? "unknown" : "header");
    }
    if (s == RADI_OK && r->store_original) {
        js.len = 0;
        s = rdi_affine_json(r->orig.affine, &js);
        if (s == RADI_OK) s = set_meta(out, "original_affine", (const char *)js.data);
    }
    rdi_buf_free(&js);
    return s;
}

static radi_status ro_read(rdi_image_source *src, rdi_buf *own, const void **voxels)
{
    reorient_source *r = (reorient_source *)src;
    if (!r->have_header) return rdi_error(RADI_E_INTERNAL, "reorient: read before header");
    if (!rdi_reorient_moves(&r->map)) return r->inner->ops->read(r->inner, own, voxels);
    rdi_buf in = RDI_BUF_INIT;
    const void *raw = NULL;
    RDI_TRY(r->inner->ops->read(r->inner, &in, &raw));
    size_t elem = radi_datatype_size(r->orig.datatype);
    size_t nb = elem;
    for (int d = 0; d < 4; d++) nb *= (size_t)r->orig.shape[d];
    own->len = 0;
    radi_status s = rdi_buf_reserve(own, nb ? nb : 1);
    if (s == RADI_OK) {
        rdi_reorient_apply(&r->map, r->orig.shape, elem, raw, own->data);
        own->len = nb;
        *voxels = own->data;
    }
    rdi_buf_free(&in);
    return s;
}

static void ro_close(rdi_image_source *src)
{
    reorient_source *r = (reorient_source *)src;
    if (r->inner) r->inner->ops->close(r->inner);
    free(r);
}

/* Reached only through rdi_image_source_open, which opens the inner kind itself. */
static radi_status ro_open(radi_ctx *ctx, const void *desc, rdi_image_source **out)
{
    (void)ctx, (void)desc, (void)out;
    return rdi_error(RADI_E_INTERNAL, "the reorienting source wraps an open source");
}

static const rdi_image_source_ops reorient_ops = {
    "reoriented", 0, NULL, NULL, ro_open, ro_header, ro_describe, ro_read, ro_close,
};

radi_status rdi_image_source_open(radi_ctx *ctx, const rdi_image_source_ops *ops, const void *desc, int reorient,
                                  int store_original_affine, rdi_image_source **out)
{
    *out = NULL;
    if (reorient != RADI_REORIENT_NONE && reorient != RADI_REORIENT_RAS && reorient != RADI_REORIENT_LAS &&
        reorient != RADI_REORIENT_LPS)
        return rdi_error(RADI_E_INVALID, "reorient target %d is not RAS, LAS or LPS", reorient);
    rdi_image_source *inner = NULL;
    RDI_TRY(ops->open(ctx, desc, &inner));
    if (reorient == RADI_REORIENT_NONE) {
        *out = inner;
        return RADI_OK;
    }
    reorient_source *r = rdi_calloc(1, sizeof *r);
    if (!r) {
        ops->close(inner);
        return RADI_E_NOMEM;
    }
    r->base.ops = &reorient_ops;
    r->inner = inner;
    r->target = reorient;
    r->store_original = store_original_affine;
    *out = &r->base;
    return RADI_OK;
}
