/* Appends to a stand-alone collection (docs/dataset.md §8.8): volumes renumbered as a
 * dataset append renumbers them, metadata updated, duplicate obs_ids, a foreign shape,
 * another collection's name, obs_meta rows and a dataset's own collection refused; every
 * injected write failure leaves the files byte for byte as they were; a failure whose
 * undo is also cut off leaves a journal that radi_dataset_repair rolls back exactly. */
#include "dataset_fixture.h"
#include "snapshot_fixture.h"
#include "model/dataset.h"
#include "ctx/ctx.h"
#include "vfs/fault.h"

/* The FLAIR collection of the fixture's dataset (sub-01..03, first voxels 100..300),
 * copied out as a stand-alone collection at coll. */
static void build_standalone(fixture *f, char *coll, size_t cap)
{
    radi_dataset *ds = NULL;
    build(f, &ds);
    snprintf(coll, cap, "%s/flair", f->dir);
    OK(radi_dataset_copy_collection(ds, "FLAIR", NULL, coll, "FLAIR"));
    radi_dataset_close(ds);
}

static int64_t group_i64(fixture *f, const char *uri, const char *key)
{
    radi_group *g = NULL;
    int64_t v = -1;
    OK(radi_group_open(f->ctx, uri, &g));
    if (!rdi_meta_get_i64(radi_group_meta(g), key, &v)) v = -1;
    radi_group_close(g);
    return v;
}

static void test_append_renumbers(void **state)
{
    fixture *f = *state;
    char coll[160];
    build_standalone(f, coll, sizeof coll);
    char p0[160], p15[160], p9[160];
    nifti_at(f, p0, sizeof p0, "a0.nii", 5000, 0, 0);
    nifti_at(f, p15, sizeof p15, "a15.nii.gz", 6000, 0, 0);
    nifti_at(f, p9, sizeof p9, "a9.nii", 7000, 0, 0);
    radi_dataset *c = NULL;
    OK(radi_collection_open(f->ctx, coll, &c));
    /* Before, between and after the existing keys: volumes 1..3 move. */
    radi_nifti_source src[3] = {{p15, "sub-015", NULL}, {p0, "sub-00", NULL}, {p9, "sub-09", NULL}};
    OK(radi_dataset_ingest_niftis(c, "FLAIR", 3, src, NULL));
    const char *sids[6] = {"sub-00", "sub-01", "sub-015", "sub-02", "sub-03", "sub-09"};
    const int first[6] = {5000, 100, 6000, 200, 300, 7000};
    assert_sorted_volumes(f, c, "FLAIR", 6, sids, first);
    assert_int_equal(radi_dataset_subject_count(c), 6);
    assert_int_equal(group_i64(f, coll, "n_volumes"), 6);
    assert_int_equal(group_i64(f, coll, "x_dim"), 5);
    assert_int_equal(group_i64(f, coll, "z_dim"), 3);
    assert_valid(c);
    radi_dataset_close(c);
    /* Reopened: the same, and nothing left beside the volumes (staging, journal). */
    OK(radi_collection_open(f->ctx, coll, &c));
    assert_sorted_volumes(f, c, "FLAIR", 6, sids, first);
    radi_dataset_close(c);
    char vd[200], jn[200];
    snprintf(vd, sizeof vd, "%s/volumes", coll);
    snprintf(jn, sizeof jn, "%s/__radi_journal", coll);
    assert_false(exists(jn));
    rdi_dirlist ls = {NULL, 0};
    OK(rdi_vfs_ls(f->ctx->vfs, vd, &ls));
    for (size_t i = 0; i < ls.n; i++) assert_null(strstr(ls.items[i].name, "staging"));
    rdi_dirlist_free(&ls);
}

/* Each refusal names its reason and leaves every byte as it was. */
static void test_refusals(void **state)
{
    fixture *f = *state;
    char coll[160];
    build_standalone(f, coll, sizeof coll);
    rdi_buf before = RDI_BUF_INIT, after = RDI_BUF_INIT;
    snapshot(coll, &before);
    radi_dataset *c = NULL;
    OK(radi_collection_open(f->ctx, coll, &c));
    char p4[160];
    nifti_at(f, p4, sizeof p4, "c4.nii", 4000, 0, 0);

    radi_nifti_source dup[2] = {{p4, "sub-04", NULL}, {p4, "sub-05", "sub-02_FLAIR"}};
    assert_int_equal(radi_dataset_ingest_niftis(c, "FLAIR", 2, dup, NULL), RADI_E_EXISTS);
    assert_non_null(strstr(radi_errmsg(), "obs_id 'sub-02_FLAIR' already exists"));

    /* A 6x4x3 file in a collection of 5x4x3 volumes. */
    char wide[160];
    snprintf(wide, sizeof wide, "%s/wide.nii", f->dir);
    radi_nifti_header h;
    radi_nifti_header_init(&h);
    h.datatype = RADI_INT16;
    h.ndim = 3;
    h.shape[0] = 6, h.shape[1] = 4, h.shape[2] = 3;
    h.sform_code = 2;
    double aff[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    memcpy(h.affine, aff, sizeof aff);
    int16_t vox[72] = {0};
    OK(radi_nifti_write(wide, &h, vox));
    radi_nifti_source bad[1] = {{wide, "sub-06", NULL}};
    assert_int_equal(radi_dataset_ingest_niftis(c, "FLAIR", 1, bad, NULL), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "Dimension mismatch"));
    assert_non_null(strstr(radi_errmsg(), "wide.nii"));

    radi_nifti_source one[1] = {{p4, "sub-04", NULL}};
    assert_int_equal(radi_dataset_ingest_niftis(c, "T1w", 1, one, NULL), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "named 'FLAIR'"));
    radi_ingest_collection two[2] = {{"FLAIR", 1, one}, {"T1w", 1, one}};
    assert_int_equal(radi_dataset_ingest(c, 2, two, NULL), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "2 collections"));

    radi_ingest_options opt;
    radi_ingest_options_init(&opt);
    uint64_t off = 0;
    radi_sparse_buffer rows[1] = {{"obs_subject_id", "sub-04", 6, &off, NULL}};
    opt.obs_meta_nbuffers = 1, opt.obs_meta_buffers = rows, opt.obs_meta_rows = 1;
    assert_int_equal(radi_dataset_ingest_niftis(c, "FLAIR", 1, one, &opt), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "no obs_meta"));
    radi_dataset_close(c);
    snapshot(coll, &after);
    assert_string_equal((const char *)before.data, (const char *)after.data);

    /* A dataset's collection opened stand-alone is written through its dataset. */
    char cu[200];
    snprintf(cu, sizeof cu, "%s/collections/T1w", f->ds);
    snapshot(f->ds, &before);
    OK(radi_collection_open(f->ctx, cu, &c));
    assert_int_equal(radi_dataset_ingest_niftis(c, "T1w", 1, one, NULL), RADI_E_UNSUPPORTED);
    assert_non_null(strstr(radi_errmsg(), "append through the dataset"));
    radi_dataset_close(c);
    snapshot(f->ds, &after);
    assert_string_equal((const char *)before.data, (const char *)after.data);
    rdi_buf_free(&before);
    rdi_buf_free(&after);
}

/* The failure tests' collection (at coll, its files' snapshot in *before) and their
 * append: sub-00 and sub-025 sort before and between, so volumes move. */
static void two_new(fixture *f, char *coll, size_t cap, char (*p)[160], radi_nifti_source *src, rdi_buf *before)
{
    build_standalone(f, coll, cap);
    nifti_at(f, p[0], sizeof p[0], "d0.nii", 5000, 0, 0);
    nifti_at(f, p[1], sizeof p[1], "d25.nii.gz", 6000, 0, 0);
    src[0] = (radi_nifti_source){p[0], "sub-00", NULL};
    src[1] = (radi_nifti_source){p[1], "sub-025", NULL};
    snapshot(coll, before);
}

/* What the append of two_new leaves when it completes. */
static void check_two_new(fixture *f, radi_dataset *c)
{
    const char *sids[5] = {"sub-00", "sub-01", "sub-02", "sub-025", "sub-03"};
    const int first[5] = {5000, 100, 200, 6000, 300};
    assert_sorted_volumes(f, c, "FLAIR", 5, sids, first);
    assert_valid(c);
}

/* Fails every write (moves included) of a renumbering append in turn: each failure
 * leaves the collection's files byte for byte as they were; then it succeeds. */
static void test_append_undone_at_every_failure(void **state)
{
    fixture *f = *state;
    char coll[160], p[2][160];
    radi_nifti_source src[2];
    rdi_buf before = RDI_BUF_INIT, after = RDI_BUF_INIT;
    two_new(f, coll, sizeof coll, p, src, &before);
    rdi_fault fault = {.ops_mask = RDI_FAULT_WRITE, .inner = &rdi_vfs_posix_ops};
    int failures = 0;
    radi_status st = RADI_E_IO;
    for (uint64_t k = 1; k < 400 && st != RADI_OK; k++) {
        radi_dataset *c = NULL;
        OK(radi_collection_open(f->ctx, coll, &c));
        fault.calls = 0;
        fault.fail_at = k;
        rdi_vfs_set_local(f->ctx->vfs, &rdi_vfs_fault_ops, &fault);
        st = radi_dataset_ingest_niftis(c, "FLAIR", 2, src, NULL);
        rdi_vfs_set_local(f->ctx->vfs, &rdi_vfs_posix_ops, NULL);
        radi_dataset_close(c);
        if (st == RADI_OK) break;
        failures++;
        if (!strstr(radi_errmsg(), "injected fault"))
            fail_msg("failure at write %llu: unexpected message: %s", (unsigned long long)k, radi_errmsg());
        snapshot(coll, &after);
        if (strcmp((const char *)before.data, (const char *)after.data) != 0)
            fail_msg("failure at write %llu changed the collection:\n--- before\n%s--- after\n%s",
                     (unsigned long long)k, (const char *)before.data, (const char *)after.data);
    }
    assert_int_equal(st, RADI_OK);
    assert_true(failures > 10);
    print_message("%d injected failures, each undone byte for byte\n", failures);
    radi_dataset *c = NULL;
    OK(radi_collection_open(f->ctx, coll, &c));
    check_two_new(f, c);
    radi_dataset_close(c);
    rdi_buf_free(&before);
    rdi_buf_free(&after);
}

/* A failure whose undo fails too (every write and removal fails from then on, as when
 * the process dies) leaves the journal; radi_dataset_repair rolls the append back byte
 * for byte, and the same append then completes. Cut at several points: before, among
 * and after the moves. */
static void test_journal_rollback_by_repair(void **state)
{
    fixture *f = *state;
    char coll[160], p[2][160];
    radi_nifti_source src[2];
    rdi_buf before = RDI_BUF_INIT, after = RDI_BUF_INIT;
    two_new(f, coll, sizeof coll, p, src, &before);
    /* How many counted calls a whole append makes. */
    rdi_fault count = {.ops_mask = RDI_FAULT_WRITE | RDI_FAULT_REMOVE, .inner = &rdi_vfs_posix_ops};
    radi_dataset *c = NULL;
    char copy[160];
    snprintf(copy, sizeof copy, "%s/flair_probe", f->dir);
    OK(radi_collection_open(f->ctx, coll, &c));
    OK(radi_dataset_copy_collection(c, "FLAIR", NULL, copy, "FLAIR"));
    radi_dataset_close(c);
    OK(radi_collection_open(f->ctx, copy, &c));
    rdi_vfs_set_local(f->ctx->vfs, &rdi_vfs_fault_ops, &count);
    OK(radi_dataset_ingest_niftis(c, "FLAIR", 2, src, NULL));
    rdi_vfs_set_local(f->ctx->vfs, &rdi_vfs_posix_ops, NULL);
    radi_dataset_close(c);
    uint64_t total = count.calls;
    assert_true(total > 20);
    int journals = 0;
    for (int q = 1; q <= 7; q++) {
        rdi_fault fault = {.ops_mask = RDI_FAULT_WRITE | RDI_FAULT_REMOVE, .persistent = 1,
                           .inner = &rdi_vfs_posix_ops, .fail_at = total * (uint64_t)q / 8};
        OK(radi_collection_open(f->ctx, coll, &c));
        rdi_vfs_set_local(f->ctx->vfs, &rdi_vfs_fault_ops, &fault);
        assert_int_not_equal(radi_dataset_ingest_niftis(c, "FLAIR", 2, src, NULL), RADI_OK);
        rdi_vfs_set_local(f->ctx->vfs, &rdi_vfs_posix_ops, NULL);
        radi_dataset_close(c);
        char jn[200];
        snprintf(jn, sizeof jn, "%s/__radi_journal", coll);
        journals += exists(jn);
        char *op = NULL;
        OK(radi_dataset_repair(f->ctx, coll, &op));
        if (exists(jn)) fail_msg("cut at %d/8: the journal survived repair", q);
        if (op) assert_string_equal(op, "ingest");
        free(op);
        snapshot(coll, &after);
        if (strcmp((const char *)before.data, (const char *)after.data) != 0)
            fail_msg("cut at %d/8: repair did not restore the collection:\n--- before\n%s--- after\n%s", q,
                     (const char *)before.data, (const char *)after.data);
    }
    /* Once the journal is written, a cut-off undo can only leave it behind. */
    assert_true(journals >= 5);
    OK(radi_collection_open(f->ctx, coll, &c));
    OK(radi_dataset_ingest_niftis(c, "FLAIR", 2, src, NULL));
    check_two_new(f, c);
    radi_dataset_close(c);
    rdi_buf_free(&before);
    rdi_buf_free(&after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_renumbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_undone_at_every_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_rollback_by_repair, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
