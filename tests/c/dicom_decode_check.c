/*
 * Decodes one encoded DICOM frame with radi's decoders (src/io/dicom/decode.h), for
 * tests/python/test_dicom_codecs.py:
 *   dicom_decode_check TS ROWS COLS BITS_ALLOC BITS_STORED PIXREP INFILE OUTFILE [REPEAT]
 * TS is rle, jpegll, jls, j2k, htj2k (or anything else, which must be refused). Writes the
 * raw host-order samples to OUTFILE. With REPEAT > 1 the frame is decoded that many times
 * and the output rate (MB/s of decoded samples, best of the runs) is printed on stdout.
 * Exit 0 on success, 1 on a decode error (message on stderr), 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "io/dicom/decode.h"

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    uint8_t *p = malloc(cap);
    size_t k;
    while (p && (k = fread(p + len, 1, cap - len, f)) > 0) {
        len += k;
        if (len == cap) {
            uint8_t *q = realloc(p, cap *= 2);
            if (!q) { free(p); p = NULL; }
            p = q;
        }
    }
    fclose(f);
    *n = len;
    return p;
}

int main(int argc, char **argv)
{
    if (argc != 9 && argc != 10) {
        fprintf(stderr, "usage: %s TS ROWS COLS BITS_ALLOC BITS_STORED PIXREP INFILE OUTFILE [REPEAT]\n", argv[0]);
        return 2;
    }
    static const struct { const char *name; rdi_dcm_ts ts; } names[] = {
        {"rle", RDI_TS_RLE}, {"jpegll", RDI_TS_JPEG_LOSSLESS}, {"jls", RDI_TS_JPEG_LS},
        {"j2k", RDI_TS_J2K}, {"htj2k", RDI_TS_HTJ2K}, {"baseline", RDI_TS_JPEG_BASELINE},
        {"extended", RDI_TS_JPEG_EXTENDED},
    };
    rdi_dcm_ts ts = RDI_TS_OTHER;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(argv[1], names[i].name) == 0) ts = names[i].ts;
    rdi_dcm_frame_fmt fmt = {(uint32_t)strtoul(argv[2], NULL, 10), (uint32_t)strtoul(argv[3], NULL, 10),
                             (uint16_t)atoi(argv[4]), (uint16_t)atoi(argv[5]), (uint16_t)atoi(argv[6])};
    int repeat = argc == 10 ? atoi(argv[9]) : 1;
    if (repeat < 1) repeat = 1;
    size_t n = 0;
    uint8_t *src = slurp(argv[7], &n);
    if (!src) { fprintf(stderr, "cannot read %s\n", argv[7]); return 2; }
    size_t out_len = (size_t)fmt.rows * fmt.cols * (fmt.bits_allocated / 8u);
    uint8_t *out = malloc(out_len ? out_len : 1);
    if (!out) { free(src); return 2; }
    double best = 1e30;
    for (int r = 0; r < repeat; r++) {
        double t0 = rdi_monotonic_s();
        radi_status st = rdi_dcm_decode(ts, src, n, &fmt, out, out_len, argv[7]);
        double t = rdi_monotonic_s() - t0;
        if (st != RADI_OK) {
            fprintf(stderr, "%s: %s\n", radi_status_name(st), radi_errmsg());
            free(out);
            free(src);
            return 1;
        }
        if (t < best) best = t;
    }
    if (repeat > 1) printf("%.1f MB/s (%zu bytes in %.3f ms)\n", out_len / best / 1e6, out_len, best * 1e3);
    FILE *f = fopen(argv[8], "wb");
    int ok = f && fwrite(out, 1, out_len, f) == out_len;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) {
        fprintf(stderr, "cannot write %s\n", argv[8]);
        free(out);
        free(src);
        return 2;
    }
    free(out);
    free(src);
    return 0;
}
