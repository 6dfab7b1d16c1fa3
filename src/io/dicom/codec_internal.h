/*
 * io layer: what the DICOM pixel decoders (codec_*.c) share: the frame-format check every
 * decoder runs first, and the final sign extension from bits_stored.
 */
#ifndef RDI_IO_DICOM_CODEC_INTERNAL_H
#define RDI_IO_DICOM_CODEC_INTERNAL_H

#include "io/dicom/decode.h"

/* Checks fmt (8 or 16 bits allocated, 1 <= bits_stored <= bits_allocated, rows and cols
 * > 0) and that out_len is exactly rows*cols*bits_allocated/8; sets *nsamples. Errors
 * are RADI_E_INVALID (the caller's format, not the codestream) naming `codec` and what. */
radi_status rdi_dcm_check_fmt(const rdi_dcm_frame_fmt *fmt, size_t out_len, const char *codec,
                              const char *what, size_t *nsamples);

/* Signed data: reinterprets the low `bits` bits of every sample as two's complement
 * (bits < bits_allocated; a no-op otherwise). Decoders call it with the codestream's
 * precision where the codestream has no sign of its own, and rdi_dcm_finish_sign with
 * bits_stored at the end. */
void rdi_dcm_sign_extend(void *out, size_t n, unsigned bits_allocated, unsigned bits);

/* The decoders' last step: for pixel_representation 1, sign-extends from bits_stored. */
void rdi_dcm_finish_sign(void *out, size_t n, const rdi_dcm_frame_fmt *fmt);

#endif
