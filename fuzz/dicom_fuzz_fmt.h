/*
 * Shared by the DICOM decoder fuzz targets: the first three input bytes choose the frame
 * format (rows and columns 1..256, bits allocated 8 or 16, bits stored, sign), the rest
 * is the encoded frame. 256 x 256 bounds every run's output (and, since the decoders
 * check the codestream's size against it first, their work).
 */
#ifndef RDI_FUZZ_DICOM_FMT_H
#define RDI_FUZZ_DICOM_FMT_H

#include <stdint.h>
#include <stdlib.h>

#include "io/dicom/decode.h"

static int fuzz_dicom_decode(rdi_dcm_ts ts, const uint8_t *data, size_t size)
{
    if (size < 3) return 0;
    rdi_dcm_frame_fmt fmt;
    fmt.rows = (uint32_t)data[0] + 1;
    fmt.cols = (uint32_t)data[1] + 1;
    fmt.bits_allocated = (data[2] & 1) ? 16 : 8;
    fmt.bits_stored = (uint16_t)(1 + ((data[2] >> 1) & 15) % fmt.bits_allocated);
    fmt.pixel_representation = (uint16_t)(data[2] >> 7);
    size_t out_len = (size_t)fmt.rows * fmt.cols * (fmt.bits_allocated / 8u);
    void *out = malloc(out_len);
    if (!out) return 0;
    /* An exact-size copy of the frame, so ASan catches any read past it. */
    size_t n = size - 3;
    uint8_t *src = malloc(n ? n : 1);
    if (src) {
        if (n) memcpy(src, data + 3, n);
        (void)rdi_dcm_decode(ts, src, n, &fmt, out, out_len, "fuzz.dcm");
        free(src);
    }
    free(out);
    return 0;
}

#endif
