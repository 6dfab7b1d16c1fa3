/*
 * libFuzzer target: filter expressions (src/query/expr.c). The input is the expression
 * text (cut at its first NUL, as the C API sees it). rdi_expr_parse must either fail
 * with a message or give an expression whose column list it can report; an expression
 * that parses is evaluated over a fixed 9-row table holding every column kind the sparse
 * reader hands over (signed/unsigned ints of each width, bool, float32/64 with NaN and
 * infinities, fixed CHAR cells, var-size strings with an empty cell, nullable columns).
 * Invariants checked, as they follow from the documented three-valued semantics:
 *   - the mask holds only 0 and 1;
 *   - "(E) and (E)" and "(E) or (E)" select exactly what E selects;
 *   - "not (E)" never selects a row E selects (NULL comparisons stay unselected);
 *   - wrapping never changes whether parsing or evaluation succeeds;
 *   - zero rows evaluate without touching the data.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "query/expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NROWS 9

static const int8_t I8[NROWS] = {-128, -1, 0, 1, 2, 3, 100, 127, 5};
static const uint8_t U8[NROWS] = {0, 1, 2, 3, 255, 128, 7, 8, 9};
static const int16_t I16[NROWS] = {-32768, -2, 0, 2, 300, 32767, 40, 41, 42};
static const uint16_t U16[NROWS] = {0, 1, 65535, 2, 3, 4, 5, 6, 7};
static const int32_t AGE[NROWS] = {40, 41, 39, -5, 0, 2147483647, -2147483647 - 1, 40, 90};
static const uint32_t U32[NROWS] = {0, 1, 4294967295u, 3, 4, 5, 6, 7, 8};
static const int64_t I64[NROWS] = {INT64_MIN, -1, 0, 1, INT64_MAX, 9007199254740993, 2, 3, 4};
static const uint64_t BIG[NROWS] = {0, 1, UINT64_MAX, (uint64_t)INT64_MAX + 1, 5, 6, 7, 8, 9};
static const uint8_t FLAG[NROWS] = {0, 1, 1, 0, 1, 0, 2, 1, 0};
static const char GRADE[NROWS] = {'A', 'B', 'C', 'A', 'F', 'a', '\0', 'z', 'B'};
static const uint8_t AGE_VALID[NROWS] = {1, 1, 1, 0, 1, 1, 1, 0, 1};
static const uint8_t SITE_VALID[NROWS] = {1, 1, 0, 1, 1, 1, 1, 1, 1};
/* "A", "B", "", "AB", "b", "A\0", "Zürich", "F", "M" */
static const char SITE[] = "AB" "" "ABb" "A\0" "Z\xc3\xbcrich" "FM";
static const uint64_t SITE_OFF[NROWS] = {0, 1, 2, 2, 4, 5, 7, 14, 15};

static void fill_columns(rdi_column *c, float *f32, double *f64)
{
    const float fv[NROWS] = {0.5f, -0.0f, 1e30f, -1e30f, 3.0f, 2.5f, 40.0f, 0.0f, 1.0f};
    const double dv[NROWS] = {1.5, -2.0, 0.0, 1e308, -1e-308, 40.0, 41.0, 0.0, 1.0};
    memcpy(f32, fv, sizeof fv);
    memcpy(f64, dv, sizeof dv);
    f32[7] = __builtin_nanf("");
    f64[7] = __builtin_nan("");
    f64[8] = __builtin_inf();
    f32[8] = -__builtin_inff();
    rdi_column cols[] = {
        {"i8", RADI_INT8, I8, NULL, 0, NULL},
        {"u8", RADI_UINT8, U8, NULL, 0, NULL},
        {"i16", RADI_INT16, I16, NULL, 0, NULL},
        {"u16", RADI_UINT16, U16, NULL, 0, NULL},
        {"age", RADI_INT32, AGE, NULL, 0, AGE_VALID},
        {"u32", RADI_UINT32, U32, NULL, 0, NULL},
        {"i64", RADI_INT64, I64, NULL, 0, NULL},
        {"big", RADI_UINT64, BIG, NULL, 0, NULL},
        {"flag", RADI_BOOL, FLAG, NULL, 0, NULL},
        {"f32", RADI_FLOAT32, f32, NULL, 0, NULL},
        {"score", RADI_FLOAT64, f64, NULL, 0, AGE_VALID},
        {"grade", RADI_CHAR, GRADE, NULL, 0, NULL},
        {"site", RADI_STRING_ASCII, SITE, SITE_OFF, sizeof SITE - 1, SITE_VALID},
        {"obs.id", RADI_STRING_UTF8, SITE, SITE_OFF, sizeof SITE - 1, NULL},
    };
    memcpy(c, cols, sizeof cols);
}
#define NCOLS 14

/* Parses and evaluates text; returns -1 when parsing fails, 0 when evaluation fails,
 * 1 with mask filled. */
static int run(const char *text, const rdi_column *cols, uint8_t *mask)
{
    rdi_expr *e = NULL;
    if (rdi_expr_parse(text, &e) != RADI_OK) {
        if (!radi_errmsg()[0]) abort(); /* a syntax error always says where */
        return -1;
    }
    const char *const *names;
    uint32_t n;
    if (rdi_expr_columns(e, &names, &n) != RADI_OK) abort();
    for (uint32_t i = 0; i < n; i++)
        if (!names[i]) abort();
    uint8_t none[1] = {0xEE};
    int ok = rdi_expr_eval(e, cols, NCOLS, NROWS, mask) == RADI_OK;
    /* No rows: the same verdict, and nothing written. */
    if ((rdi_expr_eval(e, cols, NCOLS, 0, none) == RADI_OK) != ok || none[0] != 0xEE) abort();
    rdi_expr_free(e);
    if (!ok) return 0;
    for (int i = 0; i < NROWS; i++)
        if (mask[i] > 1) abort();
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t len = strlen(text);

    float f32[NROWS];
    double f64[NROWS];
    rdi_column cols[NCOLS];
    fill_columns(cols, f32, f64);

    uint8_t mask[NROWS];
    int r = run(text, cols, mask);
    if (r < 0) {
        free(text);
        return 0;
    }
    char *w = malloc(2 * len + 32);
    if (!w) {
        free(text);
        return 0;
    }
    static const char *const forms[3] = {"(%s) and (%s)", "(%s) or (%s)", "not (%s)"};
    for (int k = 0; k < 3; k++) {
        sprintf(w, forms[k], text, text);
        uint8_t m2[NROWS];
        int r2 = run(w, cols, m2);
        if (r2 != r) abort();
        if (r2 != 1) continue;
        for (int i = 0; i < NROWS; i++) {
            if (k < 2 && m2[i] != mask[i]) abort();
            if (k == 2 && m2[i] && mask[i]) abort();
        }
    }
    free(w);
    free(text);
    return 0;
}
