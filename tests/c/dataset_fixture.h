/* Per-test fixture shared by the dataset tests: a temporary directory, a context, small
 * NIfTI files and a two-collection dataset built from them. */
#ifndef RADI_TEST_DATASET_FIXTURE_H
#define RADI_TEST_DATASET_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "radi/nifti.h"
#include "radi/radiobject.h"
#include "radi/sparse.h"
#include "core/core.h"

#define OK(expr)                                                        \
    do {                                                                \
        radi_status s_ = (expr);                                        \
        if (s_ != RADI_OK) fail_msg("%s: %s", #expr, radi_errmsg());    \
    } while (0)

typedef struct fixture {
    char dir[64];
    char ds[128];
    radi_ctx *ctx;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/radi_test_ro_XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    snprintf(f->ds, sizeof f->ds, "%s/ds", f->dir);
    radi_config c;
    radi_config_init(&c);
    c.concurrency = 3;
    if (radi_ctx_create(&c, &f->ctx) != RADI_OK) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0) return -1;
    radi_ctx_free(f->ctx);
    free(f);
    return 0;
}

/* A 5x4x3 int16 image whose voxel i is base + i; optional scaling. */
static void write_nifti(const char *path, int16_t base, double slope, double inter)
{
    radi_nifti_header h;
    radi_nifti_header_init(&h);
    h.datatype = RADI_INT16;
    h.ndim = 3;
    h.shape[0] = 5, h.shape[1] = 4, h.shape[2] = 3;
    double aff[16] = {1, 0, 0, -30, 0, 1, 0, -32, 0, 0, 2, -40, 0, 0, 0, 1};
    memcpy(h.affine, aff, sizeof aff);
    h.pixdim[1] = 1, h.pixdim[2] = 1, h.pixdim[3] = 2;
    h.qform_code = 0;
    h.sform_code = 2;
    h.xyzt_units = 2;
    h.scl_slope = slope;
    h.scl_inter = inter;
    int16_t v[60];
    for (int i = 0; i < 60; i++) v[i] = (int16_t)(base + i);
    OK(radi_nifti_write(path, &h, v));
}

/* dir/name into buf, written as write_nifti(base, slope, inter) makes it. */
static const char *nifti_at(const fixture *f, char *buf, size_t cap, const char *name, int16_t base, double slope,
                            double inter)
{
    snprintf(buf, cap, "%s/%s", f->dir, name);
    write_nifti(buf, base, slope, inter);
    return buf;
}

/* The dataset validates with no message (printing any it finds). */
static void assert_valid(radi_dataset *ds)
{
    char **msgs = NULL;
    size_t nm = 0;
    OK(radi_dataset_validate(ds, &msgs, &nm));
    for (size_t i = 0; i < nm; i++) print_message("unexpected: %s\n", msgs[i]);
    assert_int_equal(nm, 0);
    radi_messages_free(msgs, nm);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static const char *meta_str(radi_volume *v, const char *key, char *buf, size_t cap)
{
    radi_datatype t;
    uint32_t n;
    const void *p;
    OK(radi_meta_get(radi_array_meta(radi_volume_array(v)), key, &t, &n, &p));
    assert_int_equal(t, RADI_STRING_UTF8);
    snprintf(buf, cap, "%.*s", (int)n, (const char *)p);
    return buf;
}

/* Collection `coll` of ds lists n rows in obs order: subject sids[i], stored at
 * volumes/<i> (0.1.1's positional lookup), holding the row's obs_id and first voxel
 * first[i]. (inline: a test that does not use it gets no unused-function warning) */
static inline void assert_sorted_volumes(fixture *f, radi_dataset *ds, const char *coll, size_t n,
                                         const char *const *sids, const int *first)
{
    const radi_volume_entry *e;
    uint64_t got;
    OK(radi_dataset_volumes(ds, coll, &e, &got));
    assert_int_equal(got, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(e[i].obs_subject_id, sids[i]);
        char suffix[32];
        snprintf(suffix, sizeof suffix, "/volumes/%zu", i);
        size_t ul = strlen(e[i].volume_uri), sl = strlen(suffix);
        assert_true(ul > sl && strcmp(e[i].volume_uri + ul - sl, suffix) == 0);
        radi_volume *v = NULL;
        OK(radi_volume_open(f->ctx, e[i].volume_uri, &v));
        int16_t x;
        int64_t box[6] = {0, 0, 0, 0, 0, 0};
        OK(radi_volume_read(v, box, &x, sizeof x, NULL));
        assert_int_equal(x, first[i]);
        char oid[64];
        assert_string_equal(meta_str(v, "obs_id", oid, sizeof oid), e[i].obs_id);
        radi_volume_close(v);
    }
}

/* Subjects given out of order: volumes are numbered in sorted order and found by obs_id. */
static void build(fixture *f, radi_dataset **out)
{
    const char *subs[3] = {"sub-03", "sub-01", "sub-02"};
    char paths[2][3][160];
    radi_nifti_source src[2][3];
    for (int m = 0; m < 2; m++)
        for (int i = 0; i < 3; i++) {
            snprintf(paths[m][i], sizeof paths[m][i], "%s/%s_%d.nii%s", f->dir, subs[i], m, m ? ".gz" : "");
            /* sub-0N holds N*100 (+1000 for T1w) */
            write_nifti(paths[m][i], (int16_t)((subs[i][5] - '0') * 100 + m * 1000), 0, 0);
            src[m][i] = (radi_nifti_source){paths[m][i], subs[i], NULL};
        }
    OK(radi_dataset_create(f->ctx, f->ds));
    radi_dataset *ds = NULL;
    OK(radi_dataset_open(f->ctx, f->ds, &ds));
    OK(radi_dataset_ingest_niftis(ds, "FLAIR", 3, src[0], NULL));
    OK(radi_dataset_ingest_niftis(ds, "T1w", 3, src[1], NULL));
    *out = ds;
}

#endif
