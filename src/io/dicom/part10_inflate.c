/*
 * DICOM parser: the Deflated Explicit VR Little Endian syntax's dataset, inflated with
 * zlib into a buffer the parsed file owns.
 */
#include <stdlib.h>
#include <zlib.h>

#include "io/dicom/part10_int.h"

/* Raw deflate (no zlib header, PS3.5 A.5) of src into a buffer the caller frees. The
 * output is bounded - at most 64 times the input (at least 1 MiB) and 2 GiB - so a
 * deflate bomb is refused rather than inflated. */
radi_status rdi_dcm__inflate(const uint8_t *src, size_t n, const char *what, uint8_t **out, size_t *len)
{
    uint64_t limit = (uint64_t)n * 64;
    if (limit < ((uint64_t)1 << 20)) limit = (uint64_t)1 << 20;
    if (limit > ((uint64_t)1 << 31)) limit = (uint64_t)1 << 31;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -15) != Z_OK) return rdi_nomem();
    size_t cap = (size_t)RDI_MIN((uint64_t)n * 4 + 4096, limit + 1), have = 0, fed = 0;
    uint8_t *buf = malloc(cap);
    radi_status st = RADI_OK;
    if (!buf) st = rdi_nomem();
    while (st == RADI_OK) {
        if (have == cap) {
            if (cap > limit) {
                st = rdi_error(RADI_E_UNSUPPORTED,
                               "%s: the deflated dataset inflates to more than %llu bytes (limit: 64 times the "
                               "file, at most 2 GiB)", what, (unsigned long long)limit);
                break;
            }
            size_t ncap = (size_t)RDI_MIN((uint64_t)cap * 2, limit + 1);
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) { st = rdi_nomem(); break; }
            buf = nb, cap = ncap;
        }
        if (zs.avail_in == 0 && fed < n) {
            size_t chunk = RDI_MIN(n - fed, (size_t)1 << 30);
            zs.next_in = (Bytef *)(uintptr_t)(src + fed);
            zs.avail_in = (uInt)chunk;
            fed += chunk;
        }
        size_t room = RDI_MIN(cap - have, (size_t)1 << 30);
        zs.next_out = buf + have;
        zs.avail_out = (uInt)room;
        int r = inflate(&zs, Z_NO_FLUSH);
        have += room - zs.avail_out;
        if (r == Z_STREAM_END) break;
        if (r == Z_BUF_ERROR && zs.avail_in == 0 && fed == n) r = Z_DATA_ERROR;
        if (r != Z_OK && r != Z_BUF_ERROR)
            st = rdi_error(RADI_E_CORRUPT, "%s: the deflated dataset is %s", what,
                           r == Z_DATA_ERROR && fed == n && zs.avail_in == 0 ? "truncated or corrupt" : "corrupt");
    }
    inflateEnd(&zs);
    if (st != RADI_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    *len = have;
    return RADI_OK;
}
