/* A minimal DICOM Part-10 writer for the C tests (test_dicom_parse.c,
 * test_dicom_ingest.c): element headers in explicit or implicit VR, either byte order,
 * strings, US values, items and sequence delimiters, and the preamble + meta group.
 * Include after cmocka.h. */
#ifndef RADI_TEST_DICOM_WRITER_H
#define RADI_TEST_DICOM_WRITER_H

#include <string.h>

#include "core/core.h"

typedef struct dw {
    rdi_buf b;
    int explicit_vr, be;
} dw;

#define UNDEF 0xFFFFFFFFu

static inline void put16(dw *w, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)(w->be ? v >> 8 : v), (uint8_t)(w->be ? v : v >> 8)};
    assert_int_equal(rdi_buf_append(&w->b, x, 2), RADI_OK);
}
static inline void put32(dw *w, uint32_t v)
{
    if (w->be) {
        put16(w, (uint16_t)(v >> 16));
        put16(w, (uint16_t)v);
    } else {
        put16(w, (uint16_t)v);
        put16(w, (uint16_t)(v >> 16));
    }
}
static inline int is_long(const char *vr)
{
    static const char *const k_long[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"};
    for (size_t i = 0; i < sizeof k_long / sizeof k_long[0]; i++)
        if (!strcmp(vr, k_long[i])) return 1;
    return 0;
}
/* An element header (value written by the caller). */
static inline void hdr(dw *w, uint16_t g, uint16_t e, const char *vr, uint32_t len)
{
    put16(w, g);
    put16(w, e);
    if (w->explicit_vr && g != 0xFFFE) {
        assert_int_equal(rdi_buf_append(&w->b, vr, 2), RADI_OK);
        if (is_long(vr)) {
            put16(w, 0);
            put32(w, len);
        } else {
            put16(w, (uint16_t)len);
        }
    } else {
        put32(w, len);
    }
}
static inline void raw(dw *w, const void *p, size_t n) { assert_int_equal(rdi_buf_append(&w->b, p, n), RADI_OK); }
static inline void str(dw *w, uint16_t g, uint16_t e, const char *vr, const char *s)
{
    size_t n = strlen(s);
    hdr(w, g, e, vr, (uint32_t)(n + (n & 1)));
    raw(w, s, n);
    if (n & 1) raw(w, strcmp(vr, "UI") ? " " : "", 1);
}
static inline void us(dw *w, uint16_t g, uint16_t e, uint16_t v)
{
    hdr(w, g, e, "US", 2);
    put16(w, v);
}
static inline void item(dw *w, uint32_t len) { hdr(w, 0xFFFE, 0xE000, "", len); }
static inline void item_end(dw *w) { hdr(w, 0xFFFE, 0xE00D, "", 0); }
static inline void seq_end(dw *w) { hdr(w, 0xFFFE, 0xE0DD, "", 0); }

/* Preamble, "DICM" and a meta group (always explicit VR LE) naming ts. */
static inline void meta(dw *w, const char *ts)
{
    uint8_t pre[128] = {0};
    raw(w, pre, sizeof pre);
    raw(w, "DICM", 4);
    dw m = {RDI_BUF_INIT, 1, 0};
    str(&m, 0x0002, 0x0001, "OB", "\x00\x01");
    str(&m, 0x0002, 0x0010, "UI", ts);
    hdr(w, 0x0002, 0x0000, "UL", 4);
    uint32_t len = (uint32_t)m.b.len;
    raw(w, &len, 4);
    raw(w, m.b.data, m.b.len);
    rdi_buf_free(&m.b);
}

#endif
