/*
 * libFuzzer target: a whole NIfTI file (.nii, NIfTI-1 or -2, either byte order, or
 * .nii.gz) parsed from memory, its voxels read raw and scaled, and its header encoded as
 * NIfTI-1 and parsed again (what the writer produces must be readable).
 */
#include <stdint.h>
#include <stdlib.h>

#include "core/core.h"
#include "io/nifti.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    radi_nifti *img = NULL;
    if (radi_nifti_open_memory(data, size, "fuzz.nii", &img) != RADI_OK) return 0;
    const radi_nifti_header *h = radi_nifti_get_header(img);
    uint64_t n = radi_nifti_voxel_count(img);
    /* The parser bounds n by the input (x1032 for gzip); keep each run small anyway. */
    if (n <= ((uint64_t)1 << 22)) {
        void *buf = malloc((size_t)n * 8);
        if (buf) {
            (void)radi_nifti_read(img, 0, RADI_ANY, buf, n * 8);
            (void)radi_nifti_read(img, 1, RADI_FLOAT32, buf, n * 4);
            free(buf);
        }
    }
    uint8_t head[352];
    if (h->ndim <= 7 && rdi_nifti_encode_header(h, head) == RADI_OK) {
        radi_nifti_header again;
        if (rdi_nifti_parse_header(head, sizeof head, 1, "fuzz.nii (re-encoded)", &again) != RADI_OK)
            abort(); /* the writer produced a header the reader refuses */
        if (again.datatype != h->datatype || again.ndim != h->ndim) abort();
    }
    radi_nifti_close(img);
    return 0;
}
