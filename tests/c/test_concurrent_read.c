/* Concurrent reads of shared handles (radi.h "Thread model") and fork safety ("Fork"):
 * many threads read random boxes of one volume, of several volumes, and of a plain array
 * handle whose tile indexes load on first use (the threads race to that first read),
 * checked against the voxels written; a child forked after the parent's pool threads
 * have run gets RADI_E_FORKED at once from every call on the parent's context and
 * handles, and reads with a context of its own. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "volume_fixture.h"

#define NTHREADS 8
#define NBOXES 60

typedef struct reader {
    const tvol *vols;
    radi_volume **handles;     /* NULL: read through arr instead */
    radi_array *arr;           /* a plain array handle over vols[0] */
    int nvols;
    uint32_t seed;
    int patches;               /* also read through radi_read_patches */
    radi_ctx *ctx;
    uint64_t bad;
    radi_status err;
    char msg[256];
} reader;

static uint32_t rnd(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void *reader_main(void *arg)
{
    reader *r = arg;
    radi_patch_options opt;
    radi_patch_options_init(&opt);
    for (int b = 0; b < NBOXES && !r->err; b++) {
        int vi = (int)(rnd(&r->seed) % (uint32_t)r->nvols);
        const tvol *t = &r->vols[vi];
        int64_t start[4] = {0, 0, 0, 0}, lohi[8];
        uint64_t shape[4] = {1, 1, 1, 1}, n = 1;
        for (uint32_t d = 0; d < t->ndim; d++) {
            shape[d] = 1 + rnd(&r->seed) % (uint32_t)RDI_MIN(t->shape[d], 40);
            start[d] = (int64_t)(rnd(&r->seed) % (uint32_t)(t->shape[d] - shape[d] + 1));
            lohi[2 * d] = start[d];
            lohi[2 * d + 1] = start[d] + (int64_t)shape[d] - 1;
            n *= shape[d];
        }
        size_t cs = radi_datatype_size(t->dtype);
        void *out = malloc((size_t)(n * cs));
        radi_status s;
        if (r->arr) {
            int64_t sub[8];
            memcpy(sub, lohi, sizeof sub);
            radi_field_buffer fb = {"voxels", out, n * cs, NULL};
            s = radi_array_read_dense(r->arr, sub, RADI_ROW_MAJOR, 1, &fb, NULL);
        } else if (r->patches && (b & 1)) {
            radi_patch_request rq = {r->handles[vi], {0}, {0}, out, n * cs, RADI_E_INTERNAL};
            memcpy(rq.start, start, sizeof start);
            memcpy(rq.shape, shape, sizeof shape);
            s = radi_read_patches(r->ctx, &rq, 1, &opt, NULL);
            if (s == RADI_OK && rq.status != RADI_OK) s = RADI_E_INTERNAL;
        } else {
            s = radi_volume_read(r->handles[vi], lohi, out, n * cs, NULL);
        }
        if (s != RADI_OK) {
            r->err = s;
            snprintf(r->msg, sizeof r->msg, "%s", radi_errmsg());
        } else {
            r->bad += ref_compare(t, start, shape, out, &opt);
        }
        free(out);
    }
    return NULL;
}

static void run_readers(reader *rs, int n)
{
    pthread_t th[NTHREADS];
    for (int i = 0; i < n; i++) assert_int_equal(pthread_create(&th[i], NULL, reader_main, &rs[i]), 0);
    for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < n; i++) {
        if (rs[i].err) printf("  thread %d: %s\n", i, rs[i].msg);
        assert_int_equal(rs[i].err, RADI_OK);
        assert_int_equal(rs[i].bad, 0);
    }
}

static void make_vols(vfix *f, tvol *v)
{
    const uint64_t s0[3] = {70, 61, 45}, s1[3] = {33, 50, 41}, s2[4] = {20, 22, 19, 3};
    const uint32_t e16[3] = {16, 16, 16}, e4[4] = {8, 8, 8, 1};
    assert_int_equal(tvol_make(f, &v[0], "iso16", 3, s0, RADI_INT16, RADI_ISOTROPIC, e16, 1, 0, 1), 0);
    assert_int_equal(tvol_make(f, &v[1], "axial", 3, s1, RADI_FLOAT32, RADI_AXIAL, NULL, 1, 0, 2), 0);
    assert_int_equal(tvol_make(f, &v[2], "t4", 4, s2, RADI_UINT8, RADI_ISOTROPIC, e4, 1, 0, 3), 0);
}

/* NTHREADS threads on one volume handle, then on three handles at once (mixing
 * radi_volume_read and radi_read_patches). */
static void test_shared_volume_handles(void **state)
{
    vfix *f = *state;
    tvol v[3];
    make_vols(f, v);
    radi_volume *h[3];
    for (int i = 0; i < 3; i++) assert_int_equal(radi_volume_open(f->ctx, v[i].uri, &h[i]), RADI_OK);
    reader rs[NTHREADS];
    for (int nv = 1; nv <= 3; nv += 2) {
        memset(rs, 0, sizeof rs);
        for (int i = 0; i < NTHREADS; i++)
            rs[i] = (reader){v, h, NULL, nv, (uint32_t)(i * 7919 + nv), nv == 3, f->ctx, 0, RADI_OK, {0}};
        run_readers(rs, NTHREADS);
    }
    for (int i = 0; i < 3; i++) radi_volume_close(h[i]);
    for (int i = 0; i < 3; i++) tvol_free(&v[i]);
}

/* A fresh array handle (tile indexes not loaded): the threads' first reads race to load
 * them. Repeated on new handles so the race is exercised more than once. */
static void test_shared_array_first_read(void **state)
{
    vfix *f = *state;
    tvol v[3];
    make_vols(f, v);
    for (int round = 0; round < 4; round++) {
        radi_array *a = NULL;
        assert_int_equal(radi_array_open(f->ctx, v[0].uri, 0, 0, &a), RADI_OK);
        reader rs[NTHREADS];
        for (int i = 0; i < NTHREADS; i++)
            rs[i] = (reader){v, NULL, a, 1, (uint32_t)(round * 31 + i), 0, f->ctx, 0, RADI_OK, {0}};
        run_readers(rs, NTHREADS);
        radi_array_close(a);
    }
    for (int i = 0; i < 3; i++) tvol_free(&v[i]);
}

/* A child forked after the parent read (its pool threads ran): calls on the inherited
 * context and handles fail at once with RADI_E_FORKED; its own context reads. */
static void test_fork(void **state)
{
    vfix *f = *state;
    tvol v[3];
    make_vols(f, v);
    radi_volume *h = NULL;
    assert_int_equal(radi_volume_open(f->ctx, v[0].uri, &h), RADI_OK);
    int64_t lohi[6] = {0, 69, 0, 60, 0, 44};
    size_t bytes = (size_t)(tvol_cells(&v[0]) * 2);
    void *out = malloc(bytes);
    assert_int_equal(radi_volume_read(h, lohi, out, bytes, NULL), RADI_OK); /* the pool ran */
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(20); /* a hang is a failure, not a stuck test */
        int rc = 0;
        if (radi_volume_read(h, lohi, out, bytes, NULL) != RADI_E_FORKED) rc |= 1;
        if (!strstr(radi_errmsg(), "after fork(): create a new context in the child")) rc |= 2;
        radi_patch_request rq = {h, {0, 0, 0, 0}, {8, 8, 8, 1}, out, bytes, RADI_OK};
        if (radi_read_patches(f->ctx, &rq, 1, NULL, NULL) != RADI_E_FORKED || rq.status != RADI_E_FORKED) rc |= 4;
        radi_volume *h2 = NULL;
        if (radi_volume_open(f->ctx, v[0].uri, &h2) != RADI_E_FORKED) rc |= 8;
        /* A handle of the parent's on a context of the child's: still the parent's. */
        radi_ctx *mine = NULL;
        if (radi_ctx_create(NULL, &mine) != RADI_OK) rc |= 16;
        if (mine && radi_read_patches(mine, &rq, 1, NULL, NULL) != RADI_E_FORKED) rc |= 32;
        radi_volume *own = NULL;
        if (mine && radi_volume_open(mine, v[0].uri, &own) != RADI_OK) rc |= 64;
        void *out2 = malloc(bytes);
        if (own && (radi_volume_read(own, lohi, out2, bytes, NULL) != RADI_OK || memcmp(out, out2, bytes)))
            rc |= 128;
        radi_volume_close(own);
        radi_ctx_free(mine);
        radi_volume_close(h);   /* frees memory only */
        radi_ctx_free(f->ctx);  /* releases nothing in the child */
        free(out2);
        if (rc) printf("  child failures: %#x (%s)\n", rc, radi_errmsg());
        fflush(stdout);
        _exit(rc);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status)) printf("  child killed by signal %d\n", WTERMSIG(status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* The parent's context is untouched by the child's calls. */
    assert_int_equal(radi_volume_read(h, lohi, out, bytes, NULL), RADI_OK);
    assert_int_equal(memcmp(out, v[0].data, bytes), 0);
    assert_string_equal(radi_status_name(RADI_E_FORKED), "RADI_E_FORKED");
    radi_volume_close(h);
    free(out);
    for (int i = 0; i < 3; i++) tvol_free(&v[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shared_volume_handles, vfix_setup, vfix_teardown),
        cmocka_unit_test_setup_teardown(test_shared_array_first_read, vfix_setup, vfix_teardown),
        cmocka_unit_test_setup_teardown(test_fork, vfix_setup, vfix_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
