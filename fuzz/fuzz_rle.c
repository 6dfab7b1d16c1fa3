/*
 * libFuzzer target: one DICOM frame decoded as RLE Lossless (codec_rle.c); the
 * first three bytes pick the frame format (fuzz/dicom_fuzz_fmt.h).
 */
#include "dicom_fuzz_fmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_dicom_decode(RDI_TS_RLE, data, size);
}
