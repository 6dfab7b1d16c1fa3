/*
 * DICOM voxels: decodes each frame of an assembled volume (native bodies in place,
 * compressed ones through part10.c's fragment gathering and decode.h's decoders) and
 * puts it into the volume buffer with rdi_dcm_put_frame. Frames are independent, so
 * they run on the context's pool, each worker with its own scratch buffers.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "io/dicom/decode.h"
#include "io/dicom/series.h"

typedef struct scratch {
    rdi_buf frags;   /* a frame's fragments, concatenated */
    rdi_buf decoded; /* the decoder's output */
} scratch;

typedef struct read_job {
    const rdi_dcm_info *const *files;
    const char *const *names;
    const rdi_dcm_volume *vol;
    void *out;
    scratch *sc; /* one per worker */
    rdi_dcm_file_done_fn done;
    void *done_arg;
    atomic_uint *left; /* with done: per file, its frames not yet put */
} read_job;

/* Tells the caller when the last frame of a file is in the volume (it may then drop the
 * file's bytes, so that the files and the volume are not both held whole). Takes the
 * frame's value range first if asked (vol->frame_range), while it is in cache. */
static radi_status frame_done(read_job *j, radi_status s, size_t ref, uint32_t file)
{
    const rdi_dcm_volume *v = j->vol;
    if (s == RADI_OK && v->frame_range && v->values == RDI_DCM_VALUES_RAW && v->bits_allocated == 16) {
        uint64_t npix = (uint64_t)v->rows * v->cols;
        if (npix)
            rdi_dcm_range16((const uint8_t *)j->out + ref * npix * 2, npix, v->is_signed ? 0x8000u : 0,
                            &v->frame_range[2 * ref], &v->frame_range[2 * ref + 1]);
    }
    if (s == RADI_OK && j->done && atomic_fetch_sub(&j->left[file], 1) == 1) j->done(j->done_arg, file);
    return s;
}

static radi_status frame_task(void *arg, size_t i, unsigned worker)
{
    read_job *j = arg;
    rdi_dcm_ref r = j->vol->refs[i];
    const rdi_dcm_info *f = j->files[r.file];
    char what[320], tmp[32];
    const char *nm = j->names && j->names[r.file] ? j->names[r.file] : tmp;
    snprintf(tmp, sizeof tmp, "file #%u", r.file);
    snprintf(what, sizeof what, "%s frame %u", nm, r.frame);
    if (r.frame >= f->nframes) return rdi_error(RADI_E_INTERNAL, "%s: no such frame", what);
    if (!f->encapsulated) {
        /* Native: the samples are in the body as stored; Explicit VR Big Endian stores
         * 16- and 32-bit samples byte-swapped (rdi_dcm_put_frame swaps them back). */
        const rdi_dcm_frame *fr = &f->frames[r.frame];
        if (fr->offset > f->body_len || fr->length > f->body_len - fr->offset)
            return rdi_error(RADI_E_CORRUPT, "%s: pixel data past the end of the file", what);
        return frame_done(j, rdi_dcm_put_frame(j->vol, j->files, j->names, i, f->body + fr->offset,
                                               (size_t)fr->length, f->ts == RDI_TS_EXPLICIT_BE, j->out), i, r.file);
    }
    scratch *sc = &j->sc[worker];
    const uint8_t *p = NULL;
    size_t n = 0;
    RDI_TRY(rdi_dcm_frame_bytes(f, r.frame, &sc->frags, &p, &n));
    rdi_dcm_frame_fmt fmt = {f->rows, f->cols, f->bits_allocated, f->bits_stored, f->pixel_representation};
    size_t need = (size_t)f->rows * f->cols * (f->bits_allocated / 8u);
    RDI_TRY(rdi_buf_resize(&sc->decoded, need));
    RDI_TRY(rdi_dcm_decode(f->ts, p, n, &fmt, sc->decoded.data, need, what));
    return frame_done(j, rdi_dcm_put_frame(j->vol, j->files, j->names, i, sc->decoded.data, need, 0, j->out), i,
                      r.file);
}

radi_status rdi_dcm_read_volume(const rdi_dcm_info *const *files, const char *const *names,
                                const rdi_dcm_volume *vol, rdi_pool *pool, void *out, size_t out_len,
                                rdi_dcm_file_done_fn done, void *done_arg)
{
    if ((uint64_t)out_len < rdi_dcm_volume_nbytes(vol))
        return rdi_error(RADI_E_INVALID, "DICOM volume needs %llu bytes, the buffer has %zu",
                         (unsigned long long)rdi_dcm_volume_nbytes(vol), out_len);
    unsigned nw = pool ? rdi_pool_size(pool) : 1;
    scratch *sc = rdi_calloc(nw, sizeof *sc);
    if (!sc) return RADI_E_NOMEM;
    read_job j = {files, names, vol, out, sc, done, done_arg, NULL};
    radi_status s = RADI_OK;
    if (done) {
        uint32_t nfiles = 0;
        for (size_t i = 0; i < vol->nrefs; i++) nfiles = RDI_MAX(nfiles, vol->refs[i].file + 1);
        if (!(j.left = rdi_calloc(nfiles ? nfiles : 1, sizeof *j.left))) s = RADI_E_NOMEM;
        for (size_t i = 0; j.left && i < vol->nrefs; i++) atomic_fetch_add(&j.left[vol->refs[i].file], 1);
    }
    if (s == RADI_OK) s = rdi_pool_for(pool, vol->nrefs, frame_task, &j);
    free(j.left);
    for (unsigned w = 0; w < nw; w++) {
        rdi_buf_free(&sc[w].frags);
        rdi_buf_free(&sc[w].decoded);
    }
    free(sc);
    return s;
}
