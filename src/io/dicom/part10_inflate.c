/*
 * DICOM parser: the Deflated Explicit VR Little Endian syntax's dataset, inflated with
 * libdeflate into a buffer the parsed file owns. libdeflate inflates a whole stream in
 * one call 2-3x faster than zlib's streaming inflate; it needs room for the whole output,
 * so a too-small buffer is doubled and the stream inflated again (at most twice the work
 * of one pass, and the first guess fits the usual 2-4x compression of pixel data).
 */
#include <libdeflate.h>
#include <stdlib.h>

#include "io/dicom/part10_int.h"

/* Raw deflate (no zlib header, PS3.5 A.5) of src into a buffer the caller frees. The
 * output is bounded - at most 64 times the input (at least 1 MiB) and 2 GiB - so a
 * deflate bomb is refused rather than inflated. Bytes after the end of the deflate
 * stream are ignored, as zlib did. */
radi_status rdi_dcm__inflate(const uint8_t *src, size_t n, const char *what, uint8_t **out, size_t *len)
{
    uint64_t limit = (uint64_t)n * 64;
    if (limit < ((uint64_t)1 << 20)) limit = (uint64_t)1 << 20;
    if (limit > ((uint64_t)1 << 31)) limit = (uint64_t)1 << 31;
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    if (!d) return rdi_nomem();
    size_t cap = (size_t)RDI_MIN((uint64_t)n * 4 + 4096, limit + 1), have = 0;
    uint8_t *buf = NULL;
    radi_status st = RADI_OK;
    for (;;) {
        uint8_t *nb = realloc(buf, cap);
        if (!nb) {
            st = rdi_nomem();
            break;
        }
        buf = nb;
        size_t used = 0; /* the deflate stream may be followed by padding */
        enum libdeflate_result r = libdeflate_deflate_decompress_ex(d, src, n, buf, cap, &used, &have);
        if (r == LIBDEFLATE_SUCCESS && have <= limit) break;
        if (r != LIBDEFLATE_SUCCESS && r != LIBDEFLATE_INSUFFICIENT_SPACE) {
            st = rdi_error(RADI_E_CORRUPT, "%s: the deflated dataset is truncated or corrupt", what);
            break;
        }
        if (r == LIBDEFLATE_SUCCESS || cap > limit) {
            st = rdi_error(RADI_E_UNSUPPORTED,
                           "%s: the deflated dataset inflates to more than %llu bytes (limit: 64 times the "
                           "file, at most 2 GiB)", what, (unsigned long long)limit);
            break;
        }
        cap = (size_t)RDI_MIN((uint64_t)cap * 2, limit + 1);
    }
    libdeflate_free_decompressor(d);
    if (st != RADI_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    *len = have;
    return RADI_OK;
}
