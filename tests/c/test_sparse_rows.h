/* Test helper shared by the sparse tests: formats a query result as TSV rows, in the
 * format tests/python/tools/check_sparse_make_golden.py writes. */
#ifndef TEST_SPARSE_ROWS_H
#define TEST_SPARSE_ROWS_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "radi/sparse.h"

static inline void rows_put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = realloc(*buf, *cap);
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = 0;
}

static inline void rows_fmt_cell(const radi_sparse_column *c, uint64_t rows, uint64_t i, char **buf,
                          size_t *len, size_t *cap)
{
    char tmp[64];
    if (c->validity && !c->validity[i]) {
        rows_put(buf, len, cap, "\\N", 2);
        return;
    }
    if (c->offsets) {
        uint64_t b = c->offsets[i], e = i + 1 < rows ? c->offsets[i + 1] : c->data_size;
        const char *p = (const char *)c->data + b;
        if (e - b > 1000) {
            int n = snprintf(tmp, sizeof tmp, "#len=%llu:%c", (unsigned long long)(e - b), p[0]);
            rows_put(buf, len, cap, tmp, (size_t)n);
            return;
        }
        for (uint64_t k = 0; k < e - b; k++) {
            if (p[k] == '\\') rows_put(buf, len, cap, "\\\\", 2);
            else if (p[k] == '\t') rows_put(buf, len, cap, "\\t", 2);
            else if (p[k] == '\n') rows_put(buf, len, cap, "\\n", 2);
            else rows_put(buf, len, cap, p + k, 1);
        }
        return;
    }
    const uint8_t *p = (const uint8_t *)c->data;
    int n = 0;
    switch (c->type) {
    case RADI_INT8: { int8_t v; memcpy(&v, p + i, 1); n = snprintf(tmp, sizeof tmp, "%d", v); break; }
    case RADI_UINT8: case RADI_BOOL: n = snprintf(tmp, sizeof tmp, "%u", p[i]); break;
    case RADI_INT16: { int16_t v; memcpy(&v, p + 2 * i, 2); n = snprintf(tmp, sizeof tmp, "%d", v); break; }
    case RADI_UINT16: { uint16_t v; memcpy(&v, p + 2 * i, 2); n = snprintf(tmp, sizeof tmp, "%u", v); break; }
    case RADI_INT32: { int32_t v; memcpy(&v, p + 4 * i, 4); n = snprintf(tmp, sizeof tmp, "%d", v); break; }
    case RADI_UINT32: { uint32_t v; memcpy(&v, p + 4 * i, 4); n = snprintf(tmp, sizeof tmp, "%u", v); break; }
    case RADI_INT64: { int64_t v; memcpy(&v, p + 8 * i, 8); n = snprintf(tmp, sizeof tmp, "%" PRId64, v); break; }
    case RADI_UINT64: { uint64_t v; memcpy(&v, p + 8 * i, 8); n = snprintf(tmp, sizeof tmp, "%" PRIu64, v); break; }
    case RADI_FLOAT32: { float v; memcpy(&v, p + 4 * i, 4); n = snprintf(tmp, sizeof tmp, "%.9g", (double)v); break; }
    case RADI_FLOAT64: { double v; memcpy(&v, p + 8 * i, 8); n = snprintf(tmp, sizeof tmp, "%.17g", v); break; }
    default: n = snprintf(tmp, sizeof tmp, "?"); break;
    }
    rows_put(buf, len, cap, tmp, (size_t)n);
}

/* All rows of a submitted query, '\n'-terminated lines. malloc'd. */
static inline char *rows_format(const radi_sparse_query *q)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    rows_put(&buf, &len, &cap, "", 0);
    uint64_t rows = radi_sparse_query_rows(q);
    uint32_t nc = radi_sparse_query_ncolumns(q);
    radi_sparse_column *cols = calloc(nc ? nc : 1, sizeof *cols);
    for (uint32_t c = 0; c < nc; c++) radi_sparse_query_column(q, c, &cols[c]);
    for (uint64_t i = 0; i < rows; i++) {
        for (uint32_t c = 0; c < nc; c++) {
            if (c) rows_put(&buf, &len, &cap, "\t", 1);
            rows_fmt_cell(&cols[c], rows, i, &buf, &len, &cap);
        }
        rows_put(&buf, &len, &cap, "\n", 1);
    }
    free(cols);
    return buf;
}

static inline char *rows_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    size_t got = fread(b, 1, (size_t)n, f);
    b[got] = 0;
    fclose(f);
    return b;
}

#endif
