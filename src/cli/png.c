/* A minimal PNG writer for `radi slice`: 8-bit grayscale, no interlace, filter 0
 * ("none") on every row, one IDAT chunk compressed with the system zlib. The file is
 * built in memory and stored with one write through the context's storage. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cli.h"

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Appends one chunk at *at: length, type, data, CRC over type + data. */
static void chunk(uint8_t *out, size_t *at, const char *type, const uint8_t *data, uint32_t len)
{
    uint8_t *p = out + *at;
    be32(p, len);
    memcpy(p + 4, type, 4);
    if (len) memcpy(p + 8, data, len);
    uLong crc = crc32(0L, (const Bytef *)type, 4);
    if (len) crc = crc32(crc, data, len);
    be32(p + 8 + len, (uint32_t)crc);
    *at += 12 + (size_t)len;
}

int cli_png_write(radi_ctx *ctx, const char *path, const uint8_t *pixels, uint32_t width, uint32_t height)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (width == 0 || height == 0 || width > 0x7fffffffu || height > 0x7fffffffu)
        return cli_fail(CLI_ERR_RUNTIME, "%s: cannot write a %ux%u PNG", path, width, height);
    size_t raw_len = ((size_t)width + 1) * height;
    uint8_t *raw = malloc(raw_len);
    uLongf zlen = compressBound((uLong)raw_len);
    uint8_t *z = malloc(zlen);
    if (!raw || !z) {
        free(raw);
        free(z);
        return cli_fail(CLI_ERR_RUNTIME, "%s: out of memory", path);
    }
    for (uint32_t r = 0; r < height; r++) {
        raw[(size_t)r * (width + 1)] = 0;
        memcpy(raw + (size_t)r * (width + 1) + 1, pixels + (size_t)r * width, width);
    }
    int zrc = compress2(z, &zlen, raw, (uLong)raw_len, 6);
    free(raw);
    if (zrc != Z_OK || zlen > 0x7fffffffu) {
        free(z);
        return cli_fail(CLI_ERR_RUNTIME, "%s: zlib compression failed (%d)", path, zrc);
    }
    uint8_t ihdr[13];
    be32(ihdr, width);
    be32(ihdr + 4, height);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 0;  /* grayscale */
    ihdr[10] = ihdr[11] = ihdr[12] = 0;
    size_t cap = 8 + (12 + 13) + (12 + (size_t)zlen) + 12, at = 8;
    uint8_t *file = malloc(cap);
    if (!file) {
        free(z);
        return cli_fail(CLI_ERR_RUNTIME, "%s: out of memory", path);
    }
    memcpy(file, sig, 8);
    chunk(file, &at, "IHDR", ihdr, 13);
    chunk(file, &at, "IDAT", z, (uint32_t)zlen);
    chunk(file, &at, "IEND", NULL, 0);
    free(z);
    int rc = radi_write_file(ctx, path, file, at) == RADI_OK ? CLI_OK : cli_fail_radi();
    free(file);
    return rc;
}
