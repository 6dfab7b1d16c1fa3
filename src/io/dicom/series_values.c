/*
 * DICOM frame values into a volume buffer: byte order, the bits outside BitsStored, and
 * the value transform rdi_dcm_assemble decided (raw, int16 physical, float32 physical).
 * Kept apart from the decoding loop (series_pixels.c) so that it is tested on its own,
 * with hand-made samples.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/pool.h"

#include "io/dicom/series.h"

/* Runs BODY for i in [0, n): in blocks of a fixed count, which GCC's -O2 vectorizes (its
 * cheap cost model leaves a loop of unknown count scalar), then the tail. */
#define DCM_BLOCK 64
#define FOR_BLOCKED(i, n, BODY)                                                       \
    do {                                                                              \
        uint64_t b_ = 0;                                                              \
        for (; b_ + DCM_BLOCK <= (n); b_ += DCM_BLOCK)                                \
            for (uint64_t i = b_; i < b_ + DCM_BLOCK; i++) BODY                       \
        for (uint64_t i = b_; i < (n); i++) BODY                                      \
    } while (0)

/* One sample as a signed 64-bit integer: swapped if big-endian, high bits masked
 * (unsigned) or sign-extended from bits_stored (signed). Old files and some encoders
 * leave overlay or garbage bits above BitsStored; they are no part of the value. */
static inline int64_t sample(const uint8_t *p, unsigned bytes, int big, unsigned bits, int sg)
{
    uint64_t u;
    if (bytes == 1) {
        u = p[0];
    } else if (bytes == 2) {
        uint16_t x;
        memcpy(&x, p, 2);
        u = big ? __builtin_bswap16(x) : x;
    } else {
        uint32_t x;
        memcpy(&x, p, 4);
        u = big ? __builtin_bswap32(x) : x;
    }
    uint64_t mask = bits >= 64 ? ~0ull : (1ull << bits) - 1;
    u &= mask;
    if (sg && bits > 0 && (u >> (bits - 1)) & 1) return (int64_t)(u | ~mask);
    return (int64_t)u;
}

/* The common case, 16-bit samples in host order (little-endian files): a loop per sign
 * without per-sample branches, in blocks the compiler vectorizes. Returns 0 (nothing done)
 * for the other value modes. */
static int put_frame_16(const rdi_dcm_volume *vol, const rdi_dcm_frame *fr, unsigned bits, int sg,
                        const uint8_t *src, uint64_t npix, uint8_t *dst)
{
    if (vol->values == RDI_DCM_VALUES_RAW && bits >= 16) {
        memcpy(dst, src, npix * 2); /* nothing above BitsStored */
        return 1;
    }
    if (vol->values != RDI_DCM_VALUES_RAW && vol->values != RDI_DCM_VALUES_INT16) return 0;
    uint32_t mask = bits >= 16 ? 0xffffu : (1u << bits) - 1;
    /* Sign extension from `bits` without branches: (v ^ m) - m, m the sign bit. */
    int32_t m = sg && bits ? (int32_t)1 << (RDI_MIN(bits, 16u) - 1) : 0;
    if (vol->values == RDI_DCM_VALUES_RAW) {
        FOR_BLOCKED(i, npix, {
            uint16_t u;
            memcpy(&u, src + 2 * i, 2);
            uint16_t y = (uint16_t)((((int32_t)(u & mask) ^ m) - m));
            memcpy(dst + 2 * i, &y, 2);
        });
        return 1;
    }
    /* INT16: integer slope and intercept (|slope| < 2^16, |intercept| < 1e9) whose
     * physical range over BitsStored fits int16 (rdi_dcm_assemble), so value * slope
     * (= physical - intercept) and the sum stay within int32. */
    int32_t sl = (int32_t)fr->slope, ic = (int32_t)fr->intercept;
    FOR_BLOCKED(i, npix, {
        uint16_t u;
        memcpy(&u, src + 2 * i, 2);
        int32_t v = ((int32_t)(u & mask) ^ m) - m;
        uint16_t y = (uint16_t)(v * sl + ic);
        memcpy(dst + 2 * i, &y, 2);
    });
    return 1;
}

radi_status rdi_dcm_put_frame(const rdi_dcm_volume *vol, const rdi_dcm_info *const *files,
                              const char *const *names, size_t ref, const void *samples,
                              size_t nbytes, int big_endian, void *out)
{
    if (ref >= vol->nrefs) return rdi_error(RADI_E_INVALID, "frame %zu of a %zu-frame volume", ref, vol->nrefs);
    rdi_dcm_ref r = vol->refs[ref];
    const rdi_dcm_info *f = files[r.file];
    const rdi_dcm_frame *fr = &f->frames[r.frame];
    unsigned bytes = vol->bits_allocated / 8;
    uint64_t npix = (uint64_t)vol->rows * vol->cols;
    if ((uint64_t)nbytes < npix * bytes) {
        char tmp[32];
        const char *nm = names && names[r.file] ? names[r.file] : tmp;
        snprintf(tmp, sizeof tmp, "file #%u", r.file);
        return rdi_error(RADI_E_CORRUPT, "%s: frame %u: pixel data %zu bytes, expected %llu", nm, r.frame, nbytes,
                         (unsigned long long)(npix * bytes));
    }
    /* Each file's own BitsStored: the volume's is the largest. */
    unsigned bits = f->bits_stored;
    int sg = vol->is_signed;
    size_t osz = radi_datatype_size(vol->dtype);
    uint8_t *dst = (uint8_t *)out + (uint64_t)ref * npix * osz;
    const uint8_t *src = samples;
    if (bytes == 2 && !big_endian && put_frame_16(vol, fr, bits, sg, src, npix, dst)) return RADI_OK;
    switch (vol->values) {
    case RDI_DCM_VALUES_RAW:
        /* Same width as the samples: copy the value back in host order. */
        for (uint64_t i = 0; i < npix; i++) {
            int64_t v = sample(src + i * bytes, bytes, big_endian, bits, sg);
            if (bytes == 1) dst[i] = (uint8_t)v;
            else if (bytes == 2) { uint16_t x = (uint16_t)v; memcpy(dst + 2 * i, &x, 2); }
            else { uint32_t x = (uint32_t)v; memcpy(dst + 4 * i, &x, 4); }
        }
        break;
    case RDI_DCM_VALUES_INT16: {
        /* Integer slope and intercept whose physical range fits (checked at assembly):
         * exact in integers. */
        int64_t sl = (int64_t)fr->slope, ic = (int64_t)fr->intercept;
        for (uint64_t i = 0; i < npix; i++) {
            int16_t x = (int16_t)(sample(src + i * bytes, bytes, big_endian, bits, sg) * sl + ic);
            memcpy(dst + 2 * i, &x, 2);
        }
        break;
    }
    case RDI_DCM_VALUES_FLOAT32:
        for (uint64_t i = 0; i < npix; i++) {
            float x = (float)((double)sample(src + i * bytes, bytes, big_endian, bits, sg) * fr->slope + fr->intercept);
            memcpy(dst + 4 * i, &x, 4);
        }
        break;
    }
    return RADI_OK;
}

/* rdi_dcm_narrow_int16's two passes over the volume, each in parts on the pool: the
 * range of the stored values, then (if the physical range fits int16) the conversion.
 * Signed samples are handled as offset binary (x ^ 0x8000), so one unsigned loop
 * serves both signs and vectorizes. */
enum { NARROW_PART = 1 << 18 }; /* samples per task: 512 KiB, a CT slice */

typedef struct narrow_job {
    uint8_t *p;
    uint64_t n;
    uint16_t flip;
    uint16_t *lo, *hi;          /* per part, pass 1 */
    int32_t isl, iic, off;      /* pass 2 */
} narrow_job;

void rdi_dcm_range16(const uint8_t *p, uint64_t n, uint16_t flip, uint16_t *lo, uint16_t *hi)
{
    uint64_t i = 0;
    uint16_t ulo = 0xffffu, uhi = 0;
    for (; i + DCM_BLOCK <= n; i += DCM_BLOCK) {
        uint16_t v[DCM_BLOCK], bl, bh;
        memcpy(v, p + 2 * i, sizeof v);
        bl = bh = v[0] ^ flip;
        for (int k = 0; k < DCM_BLOCK; k++) {
            uint16_t u = v[k] ^ flip;
            bl = u < bl ? u : bl;
            bh = u > bh ? u : bh;
        }
        ulo = bl < ulo ? bl : ulo;
        uhi = bh > uhi ? bh : uhi;
    }
    for (; i < n; i++) {
        uint16_t u;
        memcpy(&u, p + 2 * i, 2);
        u ^= flip;
        ulo = u < ulo ? u : ulo;
        uhi = u > uhi ? u : uhi;
    }
    *lo = ulo;
    *hi = uhi;
}

static radi_status narrow_range_task(void *arg, size_t t, unsigned worker)
{
    (void)worker;
    narrow_job *j = arg;
    uint64_t i = (uint64_t)t * NARROW_PART, end = RDI_MIN(j->n, i + NARROW_PART);
    rdi_dcm_range16(j->p + 2 * i, end - i, j->flip, &j->lo[t], &j->hi[t]);
    return RADI_OK;
}

static radi_status narrow_convert_task(void *arg, size_t t, unsigned worker)
{
    (void)worker;
    narrow_job *j = arg;
    uint64_t i0 = (uint64_t)t * NARROW_PART, m = RDI_MIN(j->n - i0, (uint64_t)NARROW_PART);
    uint8_t *p = j->p + 2 * i0;
    const uint16_t flip = j->flip;
    const int32_t isl = j->isl, iic = j->iic, off = j->off;
    FOR_BLOCKED(i, m, {
        uint16_t u;
        memcpy(&u, p + 2 * i, 2);
        uint16_t y = (uint16_t)(((int32_t)(uint16_t)(u ^ flip) - off) * isl + iic);
        memcpy(p + 2 * i, &y, 2);
    });
    return RADI_OK;
}

int rdi_dcm_narrow_int16(rdi_dcm_volume *vol, void *buf, rdi_pool *pool)
{
    double sl = vol->slope, ic = vol->intercept;
    if (vol->values != RDI_DCM_VALUES_RAW || vol->bits_allocated != 16 || (sl == 1 && ic == 0) ||
        sl != floor(sl) || ic != floor(ic) || fabs(sl) >= 65536 || fabs(ic) >= 1e9)
        return 0;
    uint64_t n = rdi_dcm_volume_nbytes(vol) / 2;
    if (n == 0) return 0;
    int sg = vol->is_signed;
    size_t nparts = (size_t)((n + NARROW_PART - 1) / NARROW_PART);
    narrow_job j = {buf, n, sg ? 0x8000u : 0, NULL, NULL, 0, 0, 0};
    uint16_t ulo = 0xffffu, uhi = 0;
    if (vol->frame_range) {
        /* Taken frame by frame while reading (rdi_dcm_read_volume). */
        for (size_t r = 0; r < vol->nrefs; r++) {
            ulo = RDI_MIN(ulo, vol->frame_range[2 * r]);
            uhi = RDI_MAX(uhi, vol->frame_range[2 * r + 1]);
        }
    } else {
        j.lo = rdi_calloc(nparts, 2);
        j.hi = rdi_calloc(nparts, 2);
        /* Without memory for the per-part ranges the volume stays as stored (still correct). */
        int ok = j.lo && j.hi && rdi_pool_for(pool, nparts, narrow_range_task, &j) == RADI_OK;
        for (size_t t = 0; ok && t < nparts; t++) {
            ulo = j.lo[t] < ulo ? j.lo[t] : ulo;
            uhi = j.hi[t] > uhi ? j.hi[t] : uhi;
        }
        free(j.lo);
        free(j.hi);
        if (!ok) return 0;
    }
    int32_t lo = (int32_t)ulo - (sg ? 32768 : 0), hi = (int32_t)uhi - (sg ? 32768 : 0);
    double p0 = lo * sl + ic, p1 = hi * sl + ic;
    if (RDI_MIN(p0, p1) < -32768 || RDI_MAX(p0, p1) > 32767) return 0;
    /* The physical values fit int16 and |intercept| < 1e9, so x * slope (= physical -
     * intercept) and the sum stay within int32. The tasks cannot fail. */
    j.isl = (int32_t)sl;
    j.iic = (int32_t)ic;
    j.off = sg ? 32768 : 0;
    (void)rdi_pool_for(pool, nparts, narrow_convert_task, &j);
    vol->values = RDI_DCM_VALUES_INT16;
    vol->dtype = RADI_INT16;
    vol->slope = 1;
    vol->intercept = 0;
    return 1;
}
