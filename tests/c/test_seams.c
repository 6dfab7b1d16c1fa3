/* Everything reaches storage through the context's VFS: NIfTI reads and writes (few,
 * large requests), source discovery, the public file calls and the inspection calls the
 * CLI builds on. A fault-injecting backend counts and fails the calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "ctx/ctx.h"
#include "radi/experimental.h"
#include "radi/nifti.h"
#include "radi/radiobject.h"
#include "vfs/fault.h"

static char g_root[64];

static int setup(void **state)
{
    (void)state;
    snprintf(g_root, sizeof g_root, "/tmp/radi_test_seams_XXXXXX");
    return mkdtemp(g_root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    rdi_vfs *v;
    if (rdi_vfs_create(&v) != RADI_OK) return -1;
    rdi_vfs_remove_dir(v, g_root);
    rdi_vfs_free(v);
    return 0;
}

static char *at(const char *name) { return rdi_path_join(g_root, name); }

static radi_ctx *ctx_one_thread(void)
{
    radi_config c;
    radi_config_init(&c);
    c.concurrency = 1;
    radi_ctx *ctx = NULL;
    assert_int_equal(radi_ctx_create(&c, &ctx), RADI_OK);
    return ctx;
}

/* A (nx, ny, nz) uint8 volume of pseudo-random bytes (incompressible), C order. */
static uint8_t *volume(uint64_t nx, uint64_t ny, uint64_t nz, radi_nifti_header *h)
{
    radi_nifti_header_init(h);
    h->shape[0] = nx, h->shape[1] = ny, h->shape[2] = nz;
    uint8_t *d = malloc(nx * ny * nz);
    uint32_t x = 12345;
    for (uint64_t i = 0; i < nx * ny * nz; i++) d[i] = (uint8_t)((x = x * 1103515245u + 12345u) >> 24);
    return d;
}

static void write_nifti(radi_ctx *ctx, const char *name, uint64_t n)
{
    radi_nifti_header h;
    uint8_t *d = volume(n, n, n, &h);
    char *p = at(name);
    assert_int_equal(radi_nifti_write_ctx(ctx, p, &h, d), RADI_OK);
    free(p);
    free(d);
}

/* ----------------------------------------------------------------- NIfTI -- */

static void test_nifti_few_large_requests(void **state)
{
    (void)state;
    radi_ctx *ctx = ctx_one_thread();
    rdi_fault f = {.ops_mask = RDI_FAULT_READ | RDI_FAULT_WRITE, .inner = &rdi_vfs_posix_ops};
    rdi_vfs_set_local(ctx->vfs, &rdi_vfs_fault_ops, &f);
    /* 64^3 random bytes: a .nii.gz of ~260 KiB, larger than the 64 KiB read at open. */
    static const char *names[] = {"big.nii.gz", "big.nii", "small.nii.gz", "small.nii"};
    for (int k = 0; k < 4; k++) {
        uint64_t n = k < 2 ? 64 : 4;
        f.calls = 0;
        write_nifti(ctx, names[k], n);
        assert_int_equal(f.calls, 1); /* built in memory, one write */
        char *p = at(names[k]);
        radi_nifti *img = NULL;
        f.calls = 0;
        assert_int_equal(radi_nifti_open_ctx(ctx, p, &img), RADI_OK);
        assert_int_equal(f.calls, 1); /* the header: one read */
        assert_int_equal(radi_nifti_get_header(img)->gzip, k % 2 == 0);
        uint8_t *out = malloc(n * n * n);
        assert_int_equal(radi_nifti_read(img, 0, RADI_UINT8, out, n * n * n), RADI_OK);
        /* The voxels: one more read, none for a small file already read whole. */
        assert_int_equal(f.calls, k < 2 ? 2 : 1);
        radi_nifti_header h;
        uint8_t *want = volume(n, n, n, &h);
        assert_memory_equal(out, want, n * n * n);
        free(want);
        free(out);
        radi_nifti_close(img);
        free(p);
    }
    /* A failing read of the context's backend is the NIfTI open's failure. */
    char *p = at("big.nii.gz");
    radi_nifti *img = NULL;
    f.calls = 0;
    f.fail_at = 1;
    assert_int_not_equal(radi_nifti_open_ctx(ctx, p, &img), RADI_OK);
    assert_null(img);
    f.fail_at = 0;
    free(p);
    rdi_vfs_set_local(ctx->vfs, &rdi_vfs_posix_ops, NULL);
    radi_ctx_free(ctx);
}

/* The ingest reads its NIfTI sources through the context: failing each read in turn,
 * some failure names the source file (the undo after such failures is
 * test_dataset_ops's subject). */
static void test_ingest_reads_through_ctx(void **state)
{
    (void)state;
    radi_ctx *ctx = ctx_one_thread();
    write_nifti(ctx, "s1_T1.nii.gz", 8);
    char *src = at("s1_T1.nii.gz");
    rdi_fault f = {.ops_mask = 0, .inner = &rdi_vfs_posix_ops};
    rdi_vfs_set_local(ctx->vfs, &rdi_vfs_fault_ops, &f);
    radi_nifti_source s = {src, "s1", NULL};
    int named = 0;
    uint64_t total = 0;
    /* k = 0 counts the reads of a clean ingest; k = 1.. fails the k-th of them. */
    for (uint64_t k = 0; k == 0 || k <= total; k++) {
        char name[32];
        snprintf(name, sizeof name, "ds%llu", (unsigned long long)k);
        char *ds_uri = at(name);
        radi_dataset *ds = NULL;
        f.ops_mask = 0;
        assert_int_equal(radi_dataset_create(ctx, ds_uri), RADI_OK);
        assert_int_equal(radi_dataset_open(ctx, ds_uri, &ds), RADI_OK);
        f.calls = 0;
        f.fail_at = k;
        f.ops_mask = RDI_FAULT_READ;
        radi_status st = radi_dataset_ingest_niftis(ds, "T1", 1, &s, NULL);
        if (k == 0) {
            assert_int_equal(st, RADI_OK);
            total = f.calls;
        } else if (st != RADI_OK && strstr(radi_errmsg(), "s1_T1.nii.gz")) {
            named++;
        }
        f.ops_mask = 0;
        radi_dataset_close(ds);
        free(ds_uri);
    }
    assert_true(total > 0);
    assert_true(named >= 2); /* the header read and the voxel read */
    rdi_vfs_set_local(ctx->vfs, &rdi_vfs_posix_ops, NULL);
    free(src);
    radi_ctx_free(ctx);
}

/* --------------------------------------------------------------- sources -- */

static void touch(radi_ctx *ctx, const char *name)
{
    char *p = at(name);
    assert_int_equal(radi_write_file(ctx, p, "x", 1), RADI_OK);
    free(p);
}

static void expect(radi_ctx *ctx, const char *pattern, const char *coll, size_t n, const char *const *sids,
                   const char *const *base)
{
    radi_source_list *l = NULL;
    assert_int_equal(radi_sources_from_pattern(ctx, pattern, coll, &l), RADI_OK);
    assert_int_equal(radi_source_list_count(l), n);
    const radi_nifti_source *it = radi_source_list_items(l);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(it[i].subject_id, sids[i]);
        assert_null(it[i].obs_id);
        const char *slash = strrchr(it[i].path, '/');
        assert_string_equal(slash ? slash + 1 : it[i].path, base[i]);
    }
    radi_source_list_free(l);
}

static void test_sources(void **state)
{
    (void)state;
    radi_ctx *ctx = ctx_one_thread();
    touch(ctx, "src/sub-02_T1.NII");
    touch(ctx, "src/sub-01_T1.nii.gz");
    touch(ctx, "src/sub-03.nii");
    touch(ctx, "src/.hidden_T1.nii");
    touch(ctx, "src/notes.txt");
    touch(ctx, "src/x_T1.nii.bak");
    touch(ctx, "src/deep/sub-04_T1.nii");
    touch(ctx, "src/deeper/sub-05_T1.nii.gz");
    char *dir = at("src"), pat[256];

    /* A directory: NIfTI names in any case, hidden names skipped, sorted by subject. */
    expect(ctx, dir, "T1", 3, (const char *[]){"sub-01", "sub-02", "sub-03"},
           (const char *[]){"sub-01_T1.nii.gz", "sub-02_T1.NII", "sub-03.nii"});
    snprintf(pat, sizeof pat, "%s/", dir);
    expect(ctx, pat, "T1", 3, (const char *[]){"sub-01", "sub-02", "sub-03"},
           (const char *[]){"sub-01_T1.nii.gz", "sub-02_T1.NII", "sub-03.nii"});
    /* The suffix is the collection's name, as given: another collection keeps it. */
    expect(ctx, dir, "T2", 3, (const char *[]){"sub-01_T1", "sub-02_T1", "sub-03"},
           (const char *[]){"sub-01_T1.nii.gz", "sub-02_T1.NII", "sub-03.nii"});
    /* Globs: ?, [], [!], *, and wildcards in a directory segment. */
    snprintf(pat, sizeof pat, "%s/sub-0[12]_T?.*", dir);
    expect(ctx, pat, "T1", 2, (const char *[]){"sub-01", "sub-02"},
           (const char *[]){"sub-01_T1.nii.gz", "sub-02_T1.NII"});
    snprintf(pat, sizeof pat, "%s/sub-0[!12]*", dir);
    expect(ctx, pat, "T1", 1, (const char *[]){"sub-03"}, (const char *[]){"sub-03.nii"});
    snprintf(pat, sizeof pat, "%s/dee*/*_T1.nii*", dir);
    expect(ctx, pat, "T1", 2, (const char *[]){"sub-04", "sub-05"},
           (const char *[]){"sub-04_T1.nii", "sub-05_T1.nii.gz"});
    snprintf(pat, sizeof pat, "%s/*", dir); /* matches deep/ and deeper/: not NIfTI names */
    expect(ctx, pat, "T1", 3, (const char *[]){"sub-01", "sub-02", "sub-03"},
           (const char *[]){"sub-01_T1.nii.gz", "sub-02_T1.NII", "sub-03.nii"});
    snprintf(pat, sizeof pat, "%s/.h*", dir); /* a spelled-out '.' finds hidden files */
    expect(ctx, pat, "T1", 1, (const char *[]){".hidden"}, (const char *[]){".hidden_T1.nii"});
    /* One file, whatever its name (brackets in it included). */
    touch(ctx, "lit/scan[1]_T1.nii");
    char *lit = at("lit/scan[1]_T1.nii");
    expect(ctx, lit, "T1", 1, (const char *[]){"scan[1]"}, (const char *[]){"scan[1]_T1.nii"});
    free(lit);
    snprintf(pat, sizeof pat, "%s/x_T1.nii.bak", dir);
    expect(ctx, pat, "T1", 1, (const char *[]){"x_T1.nii.bak"}, (const char *[]){"x_T1.nii.bak"});

    /* Nothing there, nothing NIfTI, an empty directory: RADI_E_NOT_FOUND naming it. */
    radi_source_list *l = NULL;
    snprintf(pat, sizeof pat, "%s/none*.nii.gz", dir);
    assert_int_equal(radi_sources_from_pattern(ctx, pat, "T1", &l), RADI_E_NOT_FOUND);
    assert_non_null(strstr(radi_errmsg(), "no files match"));
    assert_non_null(strstr(radi_errmsg(), pat));
    snprintf(pat, sizeof pat, "%s/*.txt", dir);
    assert_int_equal(radi_sources_from_pattern(ctx, pat, "T1", &l), RADI_E_NOT_FOUND);
    assert_non_null(strstr(radi_errmsg(), "no .nii or .nii.gz files match"));
    snprintf(pat, sizeof pat, "%s/missing.nii", dir);
    assert_int_equal(radi_sources_from_pattern(ctx, pat, "T1", &l), RADI_E_NOT_FOUND);
    char *empty = at("empty");
    assert_int_equal(rdi_vfs_mkdir(ctx->vfs, empty), RADI_OK);
    assert_int_equal(radi_sources_from_pattern(ctx, empty, "T1", &l), RADI_E_NOT_FOUND);
    assert_null(l);

    /* Two files giving one subject: named both. */
    touch(ctx, "src/sub-01.nii");
    assert_int_equal(radi_sources_from_pattern(ctx, dir, "T1", &l), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "sub-01.nii and "));
    assert_non_null(strstr(radi_errmsg(), "sub-01_T1.nii.gz"));
    assert_non_null(strstr(radi_errmsg(), "both give subject sub-01"));
    assert_null(l);
    free(empty);
    free(dir);
    radi_ctx_free(ctx);
}

/* ----------------------------------------------------------------- files -- */

static void test_files(void **state)
{
    (void)state;
    radi_ctx *ctx = ctx_one_thread();
    char *p = at("files/a/b.bin"), *d = at("files/a");
    radi_uri_kind k;
    assert_int_equal(radi_uri_kind_of(ctx, p, &k), RADI_OK);
    assert_int_equal(k, RADI_URI_NONE);
    assert_int_equal(radi_write_file(ctx, p, "hello", 5), RADI_OK); /* parents made */
    assert_int_equal(radi_uri_kind_of(ctx, p, &k), RADI_OK);
    assert_int_equal(k, RADI_URI_FILE);
    assert_int_equal(radi_uri_kind_of(ctx, d, &k), RADI_OK);
    assert_int_equal(k, RADI_URI_DIR);
    void *data = NULL;
    uint64_t n = 0;
    assert_int_equal(radi_read_file(ctx, p, 0, &data, &n), RADI_OK);
    assert_int_equal(n, 5);
    assert_string_equal(data, "hello"); /* NUL-terminated */
    radi_free(data);
    data = NULL;
    assert_int_equal(radi_read_file(ctx, p, 4, &data, &n), RADI_E_INVALID);
    assert_null(data);
    assert_int_equal(radi_write_file(ctx, p, NULL, 0), RADI_OK);
    assert_int_equal(radi_read_file(ctx, p, 0, &data, &n), RADI_OK);
    assert_int_equal(n, 0);
    radi_free(data);
    char *q = at("files/none");
    assert_int_equal(radi_read_file(ctx, q, 0, &data, &n), RADI_E_NOT_FOUND);
    /* s3:// goes to the S3 backend, which names the URI it refuses. */
    assert_int_equal(radi_write_file(ctx, "s3://Bad_Bucket!/x.png", "x", 1), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "s3://Bad_Bucket!/x.png"));
    free(q);
    free(p);
    free(d);
    radi_ctx_free(ctx);
}

/* ---------------------------------------------------------- experimental -- */

static void test_string_ned_and_size(void **state)
{
    (void)state;
    radi_ctx *ctx = ctx_one_thread();
    radi_schema *s = NULL;
    assert_int_equal(radi_schema_create(RADI_SPARSE, &s), RADI_OK);
    assert_int_equal(radi_schema_add_dim(s, "id", RADI_STRING_ASCII, NULL, NULL, NULL, NULL), RADI_OK);
    int64_t lo = -10, hi = 10, ext = 4;
    assert_int_equal(radi_schema_add_dim(s, "x", RADI_INT64, &lo, &hi, &ext, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_attr(s, "v", RADI_INT32, 1, 0, NULL, NULL, 0), RADI_OK);
    char *uri = at("sparse");
    assert_int_equal(radi_array_create(ctx, uri, s), RADI_OK);
    radi_schema_free(s);
    radi_array *a = NULL;
    assert_int_equal(radi_array_open(ctx, uri, 0, 0, &a), RADI_OK);
    radi_domain_range r;
    int empty = 0;
    assert_int_equal(radi_array_nonempty_domain_dim(a, 0, &r, &empty), RADI_OK);
    assert_int_equal(empty, 1);
    assert_int_equal(radi_array_nonempty_domain_dim(a, 2, &r, &empty), RADI_E_INVALID);
    /* Two fragments: ("bb", "c") x [1, 2] and ("a", "bbb") x [-3, 0]. */
    const char *ids[2] = {"bbc", "abbb"};
    uint64_t off1[2] = {0, 2}, off2[2] = {0, 1};
    int64_t x1[2] = {1, 2}, x2[2] = {-3, 0};
    int32_t v[2] = {1, 2};
    radi_sparse_buffer b1[3] = {{"id", ids[0], 3, off1, NULL}, {"x", x1, 16, NULL, NULL}, {"v", v, 8, NULL, NULL}};
    radi_sparse_buffer b2[3] = {{"id", ids[1], 4, off2, NULL}, {"x", x2, 16, NULL, NULL}, {"v", v, 8, NULL, NULL}};
    assert_int_equal(radi_array_write_sparse(a, 3, b1, 2, 0), RADI_OK);
    assert_int_equal(radi_array_write_sparse(a, 3, b2, 2, 0), RADI_OK);
    assert_int_equal(radi_array_nonempty_domain_dim(a, 0, &r, &empty), RADI_OK);
    assert_int_equal(empty, 0);
    assert_int_equal(r.lo_size, 1);
    assert_memory_equal(r.lo, "a", 1);
    assert_int_equal(r.hi_size, 1);
    assert_memory_equal(r.hi, "c", 1);
    assert_int_equal(radi_array_nonempty_domain_dim(a, 1, &r, &empty), RADI_OK);
    int64_t got[2];
    memcpy(&got[0], r.lo, 8);
    memcpy(&got[1], r.hi, 8);
    assert_true(got[0] == -3 && got[1] == 2 && r.lo_size == 8);
    assert_int_equal(radi_array_fragment_count(a), 2);
    assert_int_equal(radi_fragment_nonempty_domain_dim(a, 0, 0, &r, &empty), RADI_OK);
    assert_int_equal(r.lo_size, 2);
    assert_memory_equal(r.lo, "bb", 2);
    assert_int_equal(radi_fragment_nonempty_domain_dim(a, 2, 0, &r, &empty), RADI_E_INVALID);
    radi_array_close(a);

    uint64_t bytes = 0, sum = 0;
    assert_int_equal(radi_object_size(ctx, uri, &bytes), RADI_OK);
    rdi_dirlist l = {NULL, 0};
    assert_int_equal(rdi_vfs_ls_recursive(ctx->vfs, uri, &l), RADI_OK);
    for (size_t i = 0; i < l.n; i++) sum += l.items[i].size;
    rdi_dirlist_free(&l);
    assert_true(bytes > 0 && bytes == sum);
    char *none = at("nothing");
    assert_int_equal(radi_object_size(ctx, none, &bytes), RADI_OK);
    assert_int_equal(bytes, 0);
    free(none);
    free(uri);
    radi_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nifti_few_large_requests),
        cmocka_unit_test(test_ingest_reads_through_ctx),
        cmocka_unit_test(test_sources),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_string_ned_and_size),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
