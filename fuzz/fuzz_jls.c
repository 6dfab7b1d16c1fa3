/*
 * libFuzzer target: one DICOM frame decoded as JPEG-LS through CharLS (codec_jls.c: the
 * header pre-check against the frame format, the decode into the caller's buffer, the
 * sign handling); the first three bytes pick the frame format (fuzz/dicom_fuzz_fmt.h).
 */
#include "dicom_fuzz_fmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_dicom_decode(RDI_TS_JPEG_LS, data, size);
}
