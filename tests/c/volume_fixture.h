/* Shared by test_concurrent_read.c and test_patches.c: a temporary directory with a
 * context, volumes written from known voxels, and a reference box reader (with the
 * padding rules of include/radi/patches.h) over those voxels. */
#ifndef RADI_TEST_VOLUME_FIXTURE_H
#define RADI_TEST_VOLUME_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "radi/patches.h"
#include "core/core.h"

typedef struct vfix {
    char dir[64];
    radi_ctx *ctx;
} vfix;

static int vfix_setup(void **state)
{
    vfix *f = calloc(1, sizeof *f);
    if (!f) return -1;
    strcpy(f->dir, "/tmp/radi_test_patches_XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    radi_config c;
    radi_config_init(&c);
    c.concurrency = 4;
    if (radi_ctx_create(&c, &f->ctx) != RADI_OK) return -1;
    *state = f;
    return 0;
}

static int vfix_teardown(void **state)
{
    vfix *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    radi_ctx_free(f->ctx);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* A known volume: its voxels (C order) and where it was written. */
typedef struct tvol {
    char uri[128];
    uint32_t ndim;
    uint64_t shape[4];
    radi_datatype dtype;
    void *data;
    double slope, inter;
} tvol;

static uint64_t tvol_cells(const tvol *t)
{
    uint64_t n = 1;
    for (uint32_t d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

/* Writes a volume of voxels f(i) = pseudo-random but deterministic, tiled by ext (0 =
 * the orientation's default), ZSTD; with slope != 1 or inter != 0 the scaling keys. */
static int tvol_make(vfix *f, tvol *t, const char *name, uint32_t ndim, const uint64_t *shape, radi_datatype dt,
                     radi_orientation o, const uint32_t *ext, double slope, double inter, uint32_t seed)
{
    snprintf(t->uri, sizeof t->uri, "%s/%s", f->dir, name);
    t->ndim = ndim;
    memcpy(t->shape, shape, ndim * sizeof *shape);
    t->dtype = dt;
    t->slope = slope;
    t->inter = inter;
    uint64_t n = tvol_cells(t);
    size_t cs = radi_datatype_size(dt);
    t->data = malloc((size_t)(n * cs));
    uint32_t x = seed * 2654435761u + 1;
    for (uint64_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        /* smooth-ish content with some noise, so ZSTD has something to do */
        double v = (double)(i % 997) * 0.5 + (double)(x >> 28);
        uint8_t *p = (uint8_t *)t->data + i * cs;
        switch (dt) {
        case RADI_INT16: { int16_t w = (int16_t)((int)v - 200); memcpy(p, &w, 2); break; }
        case RADI_UINT8: { uint8_t w = (uint8_t)((unsigned)v & 0xff); memcpy(p, &w, 1); break; }
        case RADI_FLOAT32: { float w = (float)(v * 0.25 - 3.0); memcpy(p, &w, 4); break; }
        case RADI_FLOAT64: { double w = v * 0.125 + 1e-3; memcpy(p, &w, 8); break; }
        case RADI_INT32: { int32_t w = (int32_t)v * 1000 - 7; memcpy(p, &w, 4); break; }
        default: return -1;
        }
    }
    radi_tile_config tc;
    radi_tile_config_init(&tc);
    tc.orientation = o;
    if (ext) {
        tc.x = ext[0];
        tc.y = ext[1];
        tc.z = ext[2];
        if (ndim == 4) tc.t = ext[3];
    }
    radi_volume *v = NULL;
    if (radi_volume_from_buffer(f->ctx, t->uri, ndim, shape, dt, t->data, &tc, NULL, &v) != RADI_OK) return -1;
    if (slope != 1 || inter != 0) {
        char a[64], b[64];
        snprintf(a, sizeof a, "%.17g", slope);
        snprintf(b, sizeof b, "%.17g", inter);
        radi_meta_item items[2] = {{"nifti_scl_slope", RADI_STRING_UTF8, (uint32_t)strlen(a), a},
                                   {"nifti_scl_inter", RADI_STRING_UTF8, (uint32_t)strlen(b), b}};
        if (radi_meta_put_many(radi_array_meta(radi_volume_array(v)), 2, items) != RADI_OK) return -1;
    }
    radi_volume_close(v);
    return 0;
}

static void tvol_free(tvol *t)
{
    free(t->data);
    t->data = NULL;
}

/* The volume coordinate box coordinate c takes on an axis of n voxels (patches.h). */
static int64_t ref_map(int64_t c, int64_t n, radi_pad_mode mode, int *outside)
{
    *outside = c < 0 || c >= n;
    if (!*outside) return c;
    if (mode == RADI_PAD_EDGE || n == 1) return c < 0 ? 0 : n - 1;
    /* reflect, unrolled as numpy does it: bounce between the edges */
    int64_t x = c;
    while (x < 0 || x >= n) x = x < 0 ? -x : 2 * (n - 1) - x;
    return x;
}

static double ref_value(const tvol *t, uint64_t idx)
{
    const uint8_t *p = (const uint8_t *)t->data + idx * radi_datatype_size(t->dtype);
    switch (t->dtype) {
    case RADI_INT16: { int16_t w; memcpy(&w, p, 2); return w; }
    case RADI_UINT8: return p[0];
    case RADI_FLOAT32: { float w; memcpy(&w, p, 4); return w; }
    case RADI_FLOAT64: { double w; memcpy(&w, p, 8); return w; }
    case RADI_INT32: { int32_t w; memcpy(&w, p, 4); return w; }
    default: return NAN;
    }
}

/* Compares out (the box start/shape of t as radi_read_patches writes it with opt) with
 * the reference, cell by cell. Returns the number of mismatches (prints the first). */
static uint64_t ref_compare(const tvol *t, const int64_t *start, const uint64_t *shape, const void *out,
                            const radi_patch_options *opt)
{
    size_t cs = radi_datatype_size(t->dtype);
    int scaled = opt->output != RADI_PATCH_STORED;
    int has_scaling = !(t->slope == 1 && t->inter == 0);
    uint64_t n = 1, bad = 0;
    for (uint32_t d = 0; d < t->ndim; d++) n *= shape[d];
    for (uint64_t k = 0; k < n; k++) {
        uint64_t rem = k, idx = 0, acc = 1;
        int outside = 0;
        for (uint32_t d = t->ndim; d-- > 0;) {
            int64_t c = start[d] + (int64_t)(rem % shape[d]);
            rem /= shape[d];
            int o;
            int64_t m = ref_map(c, (int64_t)t->shape[d], opt->pad_mode, &o);
            outside |= o;
            idx += (uint64_t)m * acc;
            acc *= t->shape[d];
        }
        int pad = outside && opt->pad_mode == RADI_PAD_CONSTANT;
        int ok;
        if (!scaled) {
            uint8_t want[8];
            if (pad) {
                double v = nearbyint(opt->pad_value);
                if (t->dtype == RADI_FLOAT32) { float w = (float)opt->pad_value; memcpy(want, &w, 4); }
                else if (t->dtype == RADI_FLOAT64) memcpy(want, &opt->pad_value, 8);
                else if (t->dtype == RADI_INT16) { int16_t w = (int16_t)(v < -32768 ? -32768 : v > 32767 ? 32767 : v); memcpy(want, &w, 2); }
                else if (t->dtype == RADI_UINT8) want[0] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
                else { int32_t w = (int32_t)v; memcpy(want, &w, 4); }
            } else {
                memcpy(want, (const uint8_t *)t->data + idx * cs, cs);
            }
            ok = memcmp(want, (const uint8_t *)out + k * cs, cs) == 0;
        } else {
            double want = pad ? opt->pad_value
                              : has_scaling ? ref_value(t, idx) * t->slope + t->inter : ref_value(t, idx);
            double got;
            if (opt->output == RADI_PATCH_FLOAT32) {
                float g;
                memcpy(&g, (const uint8_t *)out + k * 4, 4);
                got = g;
                ok = g == (float)want;
            } else {
                memcpy(&got, (const uint8_t *)out + k * 8, 8);
                ok = got == want;
            }
        }
        if (!ok && bad++ == 0) printf("  mismatch at cell %llu of %s\n", (unsigned long long)k, t->uri);
    }
    return bad;
}

#endif
