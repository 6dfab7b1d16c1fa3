/*
 * Order statistics of a voxel buffer (Volume.get_statistics' median and percentiles):
 * the values at given ranks of the ascending order, found by a most-significant-digit
 * radix select. Each value becomes an unsigned key that sorts as numpy sorts the values
 * (NaN last), then every pass counts one 16-bit digit of the keys that still match the
 * digits fixed so far. 1-4 passes over the data (by type width) whatever the number of
 * ranks; the data is neither copied nor reordered (numpy's partition would reorder it or
 * need a copy), and the extra memory is one 512 KiB histogram per distinct rank.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "radi/volume.h"

enum { DIGIT = 16, CHUNK = 4096 };

/* Keys of data[start, start + m): order-preserving unsigned images of the values. */
static void keys_of(const void *data, radi_datatype t, uint64_t start, size_t m, uint64_t *out)
{
    size_t i;
    switch (t) {
    case RADI_BOOL:
    case RADI_UINT8:
        for (i = 0; i < m; i++) out[i] = ((const uint8_t *)data)[start + i];
        break;
    case RADI_INT8:
        for (i = 0; i < m; i++) out[i] = (uint8_t)((const int8_t *)data)[start + i] ^ 0x80u;
        break;
    case RADI_UINT16:
        for (i = 0; i < m; i++) out[i] = ((const uint16_t *)data)[start + i];
        break;
    case RADI_INT16:
        for (i = 0; i < m; i++) out[i] = (uint16_t)((const int16_t *)data)[start + i] ^ 0x8000u;
        break;
    case RADI_UINT32:
        for (i = 0; i < m; i++) out[i] = ((const uint32_t *)data)[start + i];
        break;
    case RADI_INT32:
        for (i = 0; i < m; i++) out[i] = (uint32_t)((const int32_t *)data)[start + i] ^ 0x80000000u;
        break;
    case RADI_UINT64:
        for (i = 0; i < m; i++) out[i] = ((const uint64_t *)data)[start + i];
        break;
    case RADI_INT64:
        for (i = 0; i < m; i++) out[i] = (uint64_t)((const int64_t *)data)[start + i] ^ (UINT64_C(1) << 63);
        break;
    case RADI_FLOAT32:
        for (i = 0; i < m; i++) {
            float f = ((const float *)data)[start + i];
            uint32_t b;
            memcpy(&b, &f, 4);
            /* Negative values: all bits inverted (larger magnitude sorts first);
             * others: the sign bit set. Every NaN is the largest key. */
            out[i] = isnan(f) ? UINT32_MAX : (b & 0x80000000u) ? (uint32_t)~b : (b | 0x80000000u);
        }
        break;
    default: /* RADI_FLOAT64, checked by the caller */
        for (i = 0; i < m; i++) {
            double f = ((const double *)data)[start + i];
            uint64_t b;
            memcpy(&b, &f, 8);
            out[i] = isnan(f) ? UINT64_MAX : (b >> 63) ? ~b : (b | (UINT64_C(1) << 63));
        }
        break;
    }
}

/* The value whose key is k, stored at out[j] in type t (the inverse of keys_of). */
static void put_value(radi_datatype t, uint64_t k, void *out, uint32_t j)
{
    switch (t) {
    case RADI_BOOL: case RADI_UINT8: ((uint8_t *)out)[j] = (uint8_t)k; break;
    case RADI_INT8: ((uint8_t *)out)[j] = (uint8_t)(k ^ 0x80u); break;
    case RADI_UINT16: ((uint16_t *)out)[j] = (uint16_t)k; break;
    case RADI_INT16: ((uint16_t *)out)[j] = (uint16_t)(k ^ 0x8000u); break;
    case RADI_UINT32: ((uint32_t *)out)[j] = (uint32_t)k; break;
    case RADI_INT32: ((uint32_t *)out)[j] = (uint32_t)(k ^ 0x80000000u); break;
    case RADI_UINT64: ((uint64_t *)out)[j] = k; break;
    case RADI_INT64: ((uint64_t *)out)[j] = k ^ (UINT64_C(1) << 63); break;
    case RADI_FLOAT32: {
        uint32_t b = (k & 0x80000000u) ? (uint32_t)(k & 0x7FFFFFFFu) : (uint32_t)~k;
        memcpy((float *)out + j, &b, 4);
        break;
    }
    default: {
        uint64_t b = (k >> 63) ? (k & ~(UINT64_C(1) << 63)) : ~k;
        memcpy((double *)out + j, &b, 8);
        break;
    }
    }
}

/* One requested rank: where it stands in the select. */
typedef struct want {
    uint64_t rank;    /* rank still to find among the keys matching `prefix` */
    uint64_t prefix;  /* the key's digits fixed so far */
    uint32_t at;      /* its index in the caller's ks / out */
    uint32_t slot;    /* its histogram this pass */
} want;

static int by_rank(const void *a, const void *b)
{
    uint64_t x = ((const want *)a)->rank, y = ((const want *)b)->rank;
    return x < y ? -1 : x > y;
}

/* Slot of prefix p among the sorted distinct prefixes, or -1. */
static long find_slot(const uint64_t *pre, uint32_t nslots, uint64_t p)
{
    uint32_t lo = 0, hi = nslots;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (pre[mid] < p) lo = mid + 1;
        else hi = mid;
    }
    return lo < nslots && pre[lo] == p ? (long)lo : -1;
}

/* One pass: fixes the digit at `shift` of every want. */
static radi_status select_pass(const void *data, radi_datatype type, uint64_t n, unsigned width, unsigned digit,
                               unsigned shift, want *w, uint32_t nk, uint64_t *keys)
{
    /* The distinct prefixes, ascending: ranks ascending give prefixes ascending. */
    uint64_t *pre = rdi_calloc(nk, sizeof *pre);
    if (!pre) return rdi_error(RADI_E_NOMEM, "order statistics: no memory for %u ranks", nk);
    uint32_t nslots = 0;
    for (uint32_t i = 0; i < nk; i++) {
        if (nslots == 0 || pre[nslots - 1] != w[i].prefix) pre[nslots++] = w[i].prefix;
        w[i].slot = nslots - 1;
    }
    size_t nbins = (size_t)1 << digit;
    uint64_t *count = rdi_calloc((size_t)nslots * nbins, sizeof *count);
    if (!count) {
        free(pre);
        return rdi_error(RADI_E_NOMEM, "order statistics: no memory for %u histograms", nslots);
    }
    unsigned high = shift + digit; /* bits above the digit: the prefix */
    uint64_t mask = nbins - 1;
    for (uint64_t start = 0; start < n; start += CHUNK) {
        size_t m = (size_t)RDI_MIN((uint64_t)CHUNK, n - start);
        keys_of(data, type, start, m, keys);
        for (size_t i = 0; i < m; i++) {
            uint64_t p = high >= width ? 0 : keys[i] >> high;
            long s = nslots == 1 ? (p == pre[0] ? 0 : -1) : find_slot(pre, nslots, p);
            if (s >= 0) count[(size_t)s * nbins + ((keys[i] >> shift) & mask)]++;
        }
    }
    for (uint32_t i = 0; i < nk; i++) {
        const uint64_t *c = count + (size_t)w[i].slot * nbins;
        uint64_t d = 0;
        while (w[i].rank >= c[d]) w[i].rank -= c[d++]; /* the rank is inside this slot: d < nbins */
        w[i].prefix = (w[i].prefix << digit) | d;
    }
    free(count);
    free(pre);
    return RADI_OK;
}

radi_status radi_order_statistics(const void *data, radi_datatype type, uint64_t n, uint32_t nk,
                                  const uint64_t *ks, void *out)
{
    if (!data || !ks || !out || n == 0 || nk == 0)
        return rdi_error(RADI_E_INVALID, "radi_order_statistics: NULL argument or nothing to select");
    switch (type) {
    case RADI_BOOL: case RADI_UINT8: case RADI_INT8: case RADI_UINT16: case RADI_INT16: case RADI_UINT32:
    case RADI_INT32: case RADI_UINT64: case RADI_INT64: case RADI_FLOAT32: case RADI_FLOAT64:
        break;
    default:
        return rdi_error(RADI_E_INVALID, "order statistics: values of type %s are not numbers",
                         radi_datatype_name(type));
    }
    want *w = rdi_calloc(nk, sizeof *w);
    uint64_t *keys = malloc(CHUNK * sizeof *keys);
    if (!w || !keys) {
        free(w);
        free(keys);
        return rdi_error(RADI_E_NOMEM, "order statistics: no memory");
    }
    radi_status s = RADI_OK;
    for (uint32_t i = 0; i < nk && s == RADI_OK; i++) {
        if (ks[i] >= n)
            s = rdi_error(RADI_E_INVALID, "order statistics: rank %llu of %llu values",
                          (unsigned long long)ks[i], (unsigned long long)n);
        w[i].rank = ks[i];
        w[i].at = i;
    }
    qsort(w, nk, sizeof *w, by_rank);
    unsigned width = (unsigned)radi_datatype_size(type) * 8;
    unsigned digit = width < DIGIT ? width : DIGIT;
    for (unsigned shift = width; shift > 0 && s == RADI_OK;) {
        shift -= digit;
        s = select_pass(data, type, n, width, digit, shift, w, nk, keys);
    }
    for (uint32_t i = 0; i < nk && s == RADI_OK; i++) put_value(type, w[i].prefix, out, w[i].at);
    free(keys);
    free(w);
    return s;
}
