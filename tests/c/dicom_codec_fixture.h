/*
 * Small encoders for the DICOM decoder tests: RLE Lossless (PackBits per byte plane) and
 * JPEG Lossless (SOF3, any predictor, point transform, restart intervals, DNL), written
 * from PS3.5 Annex G and T.81 Annex H so that the decoders can be checked on streams
 * whose every parameter the test chooses. Output goes to an rdi_buf.
 */
#ifndef RDI_TEST_DICOM_CODEC_FIXTURE_H
#define RDI_TEST_DICOM_CODEC_FIXTURE_H

#include <stdint.h>
#include <string.h>

#include "core/core.h"

/* ------------------------------------------------------------------- RLE -- */

/* PackBits of n bytes taken every `stride` bytes from p: replicate runs of 3+ equal
 * bytes (up to 128), literal runs otherwise (up to 128). */
static void fx_packbits(rdi_buf *o, const uint8_t *p, size_t n, size_t stride)
{
    size_t i = 0;
    while (i < n) {
        size_t run = 1;
        while (i + run < n && run < 128 && p[(i + run) * stride] == p[i * stride]) run++;
        if (run >= 3) {
            rdi_buf_put_u8(o, (uint8_t)(int8_t)(1 - (int)run));
            rdi_buf_put_u8(o, p[i * stride]);
            i += run;
            continue;
        }
        size_t lit = 0;
        while (i + lit < n && lit < 128) {
            size_t r = 1;
            while (i + lit + r < n && r < 3 && p[(i + lit + r) * stride] == p[(i + lit) * stride]) r++;
            if (r >= 3) break;
            lit++;
        }
        rdi_buf_put_u8(o, (uint8_t)(lit - 1));
        for (size_t k = 0; k < lit; k++) rdi_buf_put_u8(o, p[(i + k) * stride]);
        i += lit;
    }
}

/* One RLE frame of ns samples of `bytes` bytes each (host order), segments MSB first. */
static void fx_rle_encode(rdi_buf *o, const void *samples, size_t ns, unsigned bytes)
{
    o->len = 0;
    rdi_buf_resize(o, 64);
    memset(o->data, 0, 64);
    rdi_st32(o->data, bytes);
    for (unsigned s = 0; s < bytes; s++) {
        rdi_st32(o->data + 4 + 4 * s, (uint32_t)o->len);
        fx_packbits(o, (const uint8_t *)samples + (bytes - 1 - s), ns, bytes);
    }
}

/* ------------------------------------------------------- JPEG Lossless -- */

/* Two Huffman tables over the 17 difference categories: FX_TABLE_SHORT gives small
 * categories short codes (2 bits for 0-2 ... 16 bits for 16); FX_TABLE_SKEWED gives them
 * long ones, so the decoder's slow path (codes over its lookahead) is exercised. */
enum { FX_TABLE_SHORT = 0, FX_TABLE_SKEWED = 1 };
static const uint8_t fx_counts[16] = {0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
static const uint8_t fx_vals[2][17] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
    {8, 9, 10, 7, 6, 5, 4, 3, 2, 1, 0, 11, 12, 13, 14, 15, 16},
};

typedef struct fx_bits {
    rdi_buf *o;
    uint32_t acc;
    int n;
} fx_bits;

static void fx_put(fx_bits *b, uint32_t v, int len)
{
    for (int i = len - 1; i >= 0; i--) {
        b->acc = b->acc << 1 | ((v >> i) & 1);
        if (++b->n == 8) {
            rdi_buf_put_u8(b->o, (uint8_t)b->acc);
            if ((b->acc & 0xFF) == 0xFF) rdi_buf_put_u8(b->o, 0x00); /* stuffing */
            b->acc = 0;
            b->n = 0;
        }
    }
}

static void fx_flush(fx_bits *b)
{
    while (b->n) fx_put(b, 1, 1); /* pad with 1-bits */
}

static void fx_marker(rdi_buf *o, uint8_t m, const uint8_t *body, size_t len)
{
    rdi_buf_put_u8(o, 0xFF);
    rdi_buf_put_u8(o, m);
    rdi_buf_put_u8(o, (uint8_t)((len + 2) >> 8));
    rdi_buf_put_u8(o, (uint8_t)(len + 2));
    rdi_buf_append(o, body, len);
}

typedef struct fx_jpegll {
    unsigned prec, pred, pt;
    unsigned table;          /* FX_TABLE_SHORT or FX_TABLE_SKEWED */
    unsigned slot;           /* DHT destination 0..3 */
    uint32_t restart_rows;   /* 0 = no DRI */
    int dnl;                 /* height 0 in SOF3, a DNL after the scan */
} fx_jpegll;

/* Encodes rows x cols samples (values < 2^prec; only the bits above pt survive). */
static void fx_jpegll_encode(rdi_buf *o, const uint16_t *img, uint32_t rows, uint32_t cols, const fx_jpegll *c)
{
    o->len = 0;
    uint32_t code[17];
    int clen[17];
    {
        uint32_t cd = 0;
        unsigned k = 0;
        for (int l = 1; l <= 16; l++) {
            for (unsigned i = 0; i < fx_counts[l - 1]; i++, k++) {
                code[fx_vals[c->table][k]] = cd++;
                clen[fx_vals[c->table][k]] = l;
            }
            cd <<= 1;
        }
    }
    rdi_buf_put_u8(o, 0xFF);
    rdi_buf_put_u8(o, 0xD8);
    fx_marker(o, 0xFE, (const uint8_t *)"radi test", 9); /* a COM to skip */
    uint8_t dht[1 + 16 + 17];
    dht[0] = (uint8_t)c->slot;
    memcpy(dht + 1, fx_counts, 16);
    memcpy(dht + 17, fx_vals[c->table], 17);
    fx_marker(o, 0xC4, dht, sizeof dht);
    if (c->restart_rows) {
        uint32_t ri = c->restart_rows * cols;
        uint8_t dri[2] = {(uint8_t)(ri >> 8), (uint8_t)ri};
        fx_marker(o, 0xDD, dri, 2);
    }
    uint32_t y_sof = c->dnl ? 0 : rows;
    uint8_t sof[9] = {(uint8_t)c->prec, (uint8_t)(y_sof >> 8), (uint8_t)y_sof, (uint8_t)(cols >> 8),
                      (uint8_t)cols, 1, 7, 0x11, 0};
    fx_marker(o, 0xC3, sof, sizeof sof);
    uint8_t sos[6] = {1, 7, (uint8_t)(c->slot << 4), (uint8_t)c->pred, 0, (uint8_t)c->pt};
    fx_marker(o, 0xDA, sos, sizeof sos);
    fx_bits b = {o, 0, 0};
    unsigned interval = 0;
    for (uint32_t y = 0; y < rows; y++) {
        uint32_t iy = c->restart_rows ? y % c->restart_rows : y;
        if (c->restart_rows && y > 0 && iy == 0) {
            fx_flush(&b);
            rdi_buf_put_u8(o, 0xFF);
            rdi_buf_put_u8(o, (uint8_t)(0xD0 + (interval++ & 7)));
        }
        for (uint32_t x = 0; x < cols; x++) {
            int32_t ra = x ? img[y * cols + x - 1] >> c->pt : 0;
            int32_t rb = y ? img[(y - 1) * cols + x] >> c->pt : 0;
            int32_t rc = x && y ? img[(y - 1) * cols + x - 1] >> c->pt : 0;
            int32_t px;
            if (iy == 0) px = x == 0 ? 1 << (c->prec - c->pt - 1) : ra;
            else if (x == 0) px = rb;
            else switch (c->pred) {
                case 1: px = ra; break;
                case 2: px = rb; break;
                case 3: px = rc; break;
                case 4: px = ra + rb - rc; break;
                case 5: px = ra + ((rb - rc) >> 1); break;
                case 6: px = rb + ((ra - rc) >> 1); break;
                default: px = (ra + rb) >> 1; break;
                }
            int32_t d = (int32_t)(((img[y * cols + x] >> c->pt) - px) & 0xFFFF);
            if (d > 32768) d -= 65536;
            int s = 0;
            for (int32_t a = d < 0 ? -d : d; a; a >>= 1) s++;
            fx_put(&b, code[s], clen[s]);
            if (s > 0 && s < 16) fx_put(&b, (uint32_t)(d < 0 ? d - 1 : d) & ((1u << s) - 1), s);
        }
    }
    fx_flush(&b);
    if (c->dnl) {
        uint8_t dnl[2] = {(uint8_t)(rows >> 8), (uint8_t)rows};
        fx_marker(o, 0xDC, dnl, 2);
    }
    rdi_buf_put_u8(o, 0xFF);
    rdi_buf_put_u8(o, 0xD9);
}

#endif
