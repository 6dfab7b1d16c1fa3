/*
 * libFuzzer target: one DICOM frame decoded as JPEG 2000 through OpenJPEG (codec_j2k.c:
 * the SIZ pre-check, the memory stream, the sample conversion); the first three bytes
 * pick the frame format (fuzz/dicom_fuzz_fmt.h).
 */
#include "dicom_fuzz_fmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_dicom_decode(RDI_TS_J2K, data, size);
}
