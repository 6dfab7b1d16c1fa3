/*
 * io layer: decoders for DICOM's compressed pixel data, one frame at a time, into a
 * caller buffer of rows * cols samples of bits_allocated/8 bytes each (8 -> uint8/int8,
 * 16 -> uint16/int16, host byte order), samples_per_pixel = 1 (colour is refused before
 * a decoder is called). Signed data (pixel_representation 1) come out sign-extended
 * from bits_stored. Every decoder checks what the codestream declares (size, precision,
 * components) against the frame format and fails with RADI_E_CORRUPT or
 * RADI_E_UNSUPPORTED naming `what` (the file and frame) rather than write past `out`.
 *   codec_rle.c    RLE Lossless (PS3.5 Annex G), radi's own
 *   codec_jpegll.c JPEG Lossless, processes 14 and 14 SV1 (ITU T.81 Annex H), radi's own
 *                  (Debian 12's libjpeg-turbo 2.1 has no lossless decoder)
 *   codec_j2k.c    JPEG 2000 and HTJ2K through OpenJPEG
 *   codec_jls.c    JPEG-LS through CharLS
 */
#ifndef RDI_IO_DICOM_DECODE_H
#define RDI_IO_DICOM_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "io/dicom/dicom.h"

typedef struct rdi_dcm_frame_fmt {
    uint32_t rows, cols;
    uint16_t bits_allocated; /* 8 or 16 */
    uint16_t bits_stored;    /* 1..bits_allocated */
    uint16_t pixel_representation; /* 0 unsigned, 1 two's complement */
} rdi_dcm_frame_fmt;

/* Decodes one encoded frame src[0..n) of transfer syntax ts (RLE, JPEG lossless, JPEG-LS,
 * J2K, HTJ2K) into out (out_len bytes, which must be rows*cols*bits_allocated/8).
 * Other syntaxes are RADI_E_UNSUPPORTED ("<what>: <syntax name> is not supported"). */
radi_status rdi_dcm_decode(rdi_dcm_ts ts, const uint8_t *src, size_t n, const rdi_dcm_frame_fmt *fmt,
                           void *out, size_t out_len, const char *what);

/* One decoder each (rdi_dcm_decode dispatches to them); same contract. */
radi_status rdi_dcm_decode_rle(const uint8_t *src, size_t n, const rdi_dcm_frame_fmt *fmt, void *out,
                               size_t out_len, const char *what);
radi_status rdi_dcm_decode_jpegll(const uint8_t *src, size_t n, const rdi_dcm_frame_fmt *fmt, void *out,
                                  size_t out_len, const char *what);
radi_status rdi_dcm_decode_j2k(const uint8_t *src, size_t n, const rdi_dcm_frame_fmt *fmt, void *out,
                               size_t out_len, const char *what);
radi_status rdi_dcm_decode_jls(const uint8_t *src, size_t n, const rdi_dcm_frame_fmt *fmt, void *out,
                               size_t out_len, const char *what);

/* A readable name for a syntax ("JPEG Lossless", ...), for messages. */
const char *rdi_dcm_ts_name(rdi_dcm_ts ts);

#endif
