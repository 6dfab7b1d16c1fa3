/* Value conversion with linear scaling, shared by NIfTI reads and scaled volume reads. */
#include "core/core.h"

#define SCALE_LOOP(TIN, TOUT)                                                          \
    do {                                                                               \
        const uint8_t *src = in;                                                       \
        uint8_t *dst = out;                                                            \
        for (uint64_t i = 0; i < n; i++) {                                             \
            TIN a;                                                                     \
            memcpy(&a, src + i * sizeof a, sizeof a);                                  \
            TOUT b = (TOUT)((double)a * slope + inter);                                \
            memcpy(dst + i * sizeof b, &b, sizeof b);                                  \
        }                                                                              \
    } while (0)

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
    if (ot == RADI_FLOAT32) {
        SCALE_ALL(float)
    } else {
        SCALE_ALL(double)
    }
}
