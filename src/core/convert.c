/* Value conversion with linear scaling, shared by NIfTI reads and scaled volume reads. */
#include "core/core.h"

/* Blocks of a fixed BLOCK values: gcc's -O2 vectorizes loops of a known trip count (its
 * "very cheap" cost model), which makes the int16 -> float32 conversion of a patch read
 * 4x faster than one loop over n; the tail runs value by value. The arithmetic is the
 * same either way (in double, rounded once). */
#define BLOCK 16
#define CONVERT_LOOP(TIN, TOUT, F)                                                     \
    do {                                                                               \
        const uint8_t *src = in;                                                       \
        uint8_t *dst = out;                                                            \
        uint64_t i = 0;                                                                \
        for (; i + BLOCK <= n; i += BLOCK) {                                           \
            TIN a[BLOCK];                                                              \
            TOUT b[BLOCK];                                                             \
            memcpy(a, src + i * sizeof(TIN), sizeof a);                                \
            for (int k = 0; k < BLOCK; k++) b[k] = (TOUT)F(a[k]);                      \
            memcpy(dst + i * sizeof(TOUT), b, sizeof b);                               \
        }                                                                              \
        for (; i < n; i++) {                                                           \
            TIN a;                                                                     \
            memcpy(&a, src + i * sizeof a, sizeof a);                                  \
            TOUT b = (TOUT)F(a);                                                       \
            memcpy(dst + i * sizeof b, &b, sizeof b);                                  \
        }                                                                              \
    } while (0)
#define SCALED(x) ((double)(x) * slope + inter)
/* slope 1, inter 0 (unscaled volumes): an integer type that double holds exactly
 * converts straight to the output, which rounds once as the general formula does (and
 * is twice as fast: no double lanes). */
#define AS_IS(x) (x)
#define SCALE_LOOP(TIN, TOUT) CONVERT_LOOP(TIN, TOUT, SCALED)
#define CAST_LOOP(TIN, TOUT) CONVERT_LOOP(TIN, TOUT, AS_IS)

#define CAST_ALL(TOUT)                                                        \
    switch (t) {                                                              \
    case RADI_UINT8: case RADI_BOOL: CAST_LOOP(uint8_t, TOUT); return;        \
    case RADI_INT8: CAST_LOOP(int8_t, TOUT); return;                          \
    case RADI_INT16: CAST_LOOP(int16_t, TOUT); return;                        \
    case RADI_UINT16: CAST_LOOP(uint16_t, TOUT); return;                      \
    case RADI_INT32: CAST_LOOP(int32_t, TOUT); return;                        \
    case RADI_UINT32: CAST_LOOP(uint32_t, TOUT); return;                      \
    default: break; /* floats: x * 1 + 0 turns -0 into +0 */ \
    }

#define SCALE_ALL(TOUT)                                                       \
    switch (t) {                                                              \
    case RADI_UINT8: case RADI_BOOL: SCALE_LOOP(uint8_t, TOUT); break;        \
    case RADI_INT8: SCALE_LOOP(int8_t, TOUT); break;                          \
    case RADI_INT16: SCALE_LOOP(int16_t, TOUT); break;                        \
    case RADI_UINT16: SCALE_LOOP(uint16_t, TOUT); break;                      \
    case RADI_INT32: SCALE_LOOP(int32_t, TOUT); break;                        \
    case RADI_UINT32: SCALE_LOOP(uint32_t, TOUT); break;                      \
    case RADI_INT64: SCALE_LOOP(int64_t, TOUT); break;                        \
    case RADI_UINT64: SCALE_LOOP(uint64_t, TOUT); break;                      \
    case RADI_FLOAT32: SCALE_LOOP(float, TOUT); break;                        \
    default: SCALE_LOOP(double, TOUT); break;                                 \
    }

void rdi_scale_convert(const void *in, radi_datatype t, void *out, radi_datatype ot, uint64_t n, double slope,
                       double inter)
{
    if (slope == 1.0 && inter == 0.0) {
        if (ot == RADI_FLOAT32) {
            CAST_ALL(float)
        } else {
            CAST_ALL(double)
        }
    }
    if (ot == RADI_FLOAT32) {
        SCALE_ALL(float)
    } else {
        SCALE_ALL(double)
    }
}
