/*
 * libFuzzer target: a whole DICOM file parsed from memory (any transfer syntax radi reads,
 * deflated included), then every frame's bytes fetched as the series assembly would,
 * and the frame table checked against the body it points into.
 */
#include <stdint.h>
#include <stdlib.h>

#include "core/core.h"
#include "io/dicom/dicom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)rdi_dcm_probe(data, size);
    rdi_dcm_info *info = NULL;
    if (rdi_dcm_parse(data, size, "fuzz.dcm", &info) != RADI_OK) {
        if (info) abort(); /* an error must leave nothing behind */
        return 0;
    }
    rdi_buf scratch = RDI_BUF_INIT;
    for (uint32_t k = 0; k < info->nframes && info->has_pixels; k++) {
        const rdi_dcm_frame *f = &info->frames[k];
        if (f->offset > info->body_len || f->length > info->body_len - f->offset) abort();
        if (info->encapsulated && (f->nfrags == 0 || f->first_frag + (uint64_t)f->nfrags > info->nfrags)) abort();
        const uint8_t *p = NULL;
        size_t n = 0;
        if (rdi_dcm_frame_bytes(info, k, &scratch, &p, &n) != RADI_OK) abort();
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < n; i += 64) sink ^= p[i]; /* ASan checks every read */
        if (n) sink ^= p[n - 1];
        (void)sink;
    }
    for (size_t j = 0; j < info->nfrags; j++)
        if (info->frags[j].offset > info->body_len || info->frags[j].length > info->body_len - info->frags[j].offset)
            abort();
    rdi_buf_free(&scratch);
    rdi_dcm_info_free(info);
    return 0;
}
