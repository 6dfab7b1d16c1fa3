/* radi_dataset_create_adopting (docs/dataset.md §8.6, "adopt"): a dataset made around a
 * stand-alone collection already at <uri>/collections/<name>, with `collections` a group
 * or a plain directory, another collection copied beside it; the adopted collection's
 * files stay byte for byte; every refusal, every injected write failure and every cut
 * rolled back by radi_dataset_repair leaves the whole tree byte for byte as it was. */
#include "dataset_fixture.h"
#include "snapshot_fixture.h"
#include "model/dataset.h"
#include "ctx/ctx.h"
#include "vfs/fault.h"

typedef struct adopt_case {
    char root[160], coll[200], flair[220];
    radi_dataset *src;   /* the fixture's dataset: T1w is copied from it */
} adopt_case;

/* <dir>/ad/collections (a group when `group`, else a plain directory) holding FLAIR,
 * a stand-alone copy of the fixture's FLAIR (sub-01..03, first voxels 100..300). */
static void prepare(fixture *f, adopt_case *c, int group)
{
    build(f, &c->src);
    snprintf(c->root, sizeof c->root, "%s/ad", f->dir);
    snprintf(c->coll, sizeof c->coll, "%s/collections", c->root);
    snprintf(c->flair, sizeof c->flair, "%s/FLAIR", c->coll);
    if (group) OK(radi_group_create(f->ctx, c->coll));
    else OK(rdi_vfs_mkdir(f->ctx->vfs, c->coll));
    OK(radi_dataset_copy_collection(c->src, "FLAIR", NULL, c->flair, "FLAIR"));
}

static radi_status adopt(fixture *f, adopt_case *c)
{
    const char *names[1] = {"FLAIR"};
    radi_collection_copy cp = {c->src, "T1w", NULL, NULL};
    return radi_dataset_create_adopting(f->ctx, c->root, 1, names, 1, &cp, NULL);
}

static void check_adopted(fixture *f, adopt_case *c)
{
    radi_dataset *ds = NULL;
    OK(radi_dataset_open(f->ctx, c->root, &ds));
    assert_int_equal(radi_dataset_collection_count(ds), 2);
    assert_int_equal(radi_dataset_subject_count(ds), 3);
    const char *sids[3] = {"sub-01", "sub-02", "sub-03"};
    const int flair[3] = {100, 200, 300}, t1w[3] = {1100, 1200, 1300};
    assert_sorted_volumes(f, ds, "FLAIR", 3, sids, flair);
    assert_sorted_volumes(f, ds, "T1w", 3, sids, t1w);
    assert_valid(ds);
    radi_group *g = NULL;
    int64_t v = -1;
    OK(radi_group_open(f->ctx, c->root, &g));
    assert_true(rdi_meta_get_i64(radi_group_meta(g), "subject_count", &v) && v == 3);
    assert_true(rdi_meta_get_i64(radi_group_meta(g), "n_collections", &v) && v == 2);
    radi_group_close(g);
    radi_dataset_close(ds);
}

static void expect_same(const rdi_buf *before, const char *root, const char *what)
{
    rdi_buf after = RDI_BUF_INIT;
    snapshot(root, &after);
    if (strcmp((const char *)before->data, (const char *)after.data) != 0)
        fail_msg("%s changed the files:\n--- before\n%s--- after\n%s", what, (const char *)before->data,
                 (const char *)after.data);
    rdi_buf_free(&after);
}

static void success(fixture *f, int group)
{
    adopt_case c;
    prepare(f, &c, group);
    rdi_buf before = RDI_BUF_INIT;
    snapshot(c.flair, &before);
    OK(adopt(f, &c));
    check_adopted(f, &c);
    expect_same(&before, c.flair, "adopting");
    char jn[200];
    snprintf(jn, sizeof jn, "%s/__radi_journal", c.root);
    assert_false(exists(jn));
    /* The result is an ordinary dataset: an append to the adopted collection works. */
    char p4[160];
    nifti_at(f, p4, sizeof p4, "s4.nii", 400, 0, 0);
    radi_nifti_source s4 = {p4, "sub-04", NULL};
    radi_dataset *ds = NULL;
    OK(radi_dataset_open(f->ctx, c.root, &ds));
    OK(radi_dataset_ingest_niftis(ds, "FLAIR", 1, &s4, NULL));
    const char *sids[4] = {"sub-01", "sub-02", "sub-03", "sub-04"};
    const int first[4] = {100, 200, 300, 400};
    assert_sorted_volumes(f, ds, "FLAIR", 4, sids, first);
    assert_valid(ds);
    radi_dataset_close(ds);
    radi_dataset_close(c.src);
    rdi_buf_free(&before);
}

static void test_adopt_into_group(void **state) { success(*state, 1); }
static void test_adopt_into_plain_directory(void **state) { success(*state, 0); }

/* Each refusal names its reason and leaves every byte under the root as it was (the
 * root's lock object included: none is left). */
static void test_refusals(void **state)
{
    fixture *f = *state;
    adopt_case c;
    prepare(f, &c, 1);
    rdi_buf before = RDI_BUF_INIT;
    snapshot(c.root, &before);
    char lock[200], extra[220];
    snprintf(lock, sizeof lock, "%s/" RDI_DS_LOCK_NAME, c.root);
    const char *flair[1] = {"FLAIR"};
    radi_collection_copy t1w = {c.src, "T1w", NULL, NULL};

    /* Something else at the root, or in collections. */
    snprintf(extra, sizeof extra, "%s/notes.txt", c.root);
    OK(radi_write_file(f->ctx, extra, "x", 1));
    assert_int_equal(adopt(f, &c), RADI_E_EXISTS);
    assert_non_null(strstr(radi_errmsg(), "'notes.txt' is already there"));
    OK(rdi_vfs_remove_file(f->ctx->vfs, extra));
    snprintf(extra, sizeof extra, "%s/other", c.coll);
    OK(rdi_vfs_mkdir(f->ctx->vfs, extra));
    assert_int_equal(adopt(f, &c), RADI_E_EXISTS);
    assert_non_null(strstr(radi_errmsg(), "collections/other is not a collection to adopt"));
    OK(rdi_vfs_remove_dir(f->ctx->vfs, extra));
    /* A copy onto a name that is there, a collection that is not there, a name given twice. */
    radi_collection_copy onto = {c.src, "T1w", NULL, "FLAIR"};
    assert_int_equal(radi_dataset_create_adopting(f->ctx, c.root, 1, flair, 1, &onto, NULL), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "given twice"));
    const char *nope[2] = {"FLAIR", "NOPE"};
    assert_int_equal(radi_dataset_create_adopting(f->ctx, c.root, 2, nope, 0, NULL, NULL), RADI_E_NOT_FOUND);
    assert_non_null(strstr(radi_errmsg(), "no collection at collections/NOPE"));
    expect_same(&before, c.root, "the refusals of foreign files");

    /* A collection named otherwise than it is adopted as; a group that is no collection. */
    char other[220];
    snprintf(other, sizeof other, "%s/T1", c.coll);
    OK(radi_dataset_copy_collection(c.src, "T1w", NULL, other, "T1w"));
    rdi_buf with_t1 = RDI_BUF_INIT;
    snapshot(c.root, &with_t1);
    const char *both[2] = {"FLAIR", "T1"};
    assert_int_equal(radi_dataset_create_adopting(f->ctx, c.root, 2, both, 0, NULL, NULL), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "the collection is named 'T1w'"));
    expect_same(&with_t1, c.root, "a name mismatch");
    OK(rdi_vfs_remove_dir(f->ctx->vfs, other));
    snprintf(other, sizeof other, "%s/G", c.coll);
    OK(radi_group_create(f->ctx, other));
    snapshot(c.root, &with_t1);
    const char *g[2] = {"FLAIR", "G"};
    assert_int_equal(radi_dataset_create_adopting(f->ctx, c.root, 2, g, 0, NULL, NULL), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "not a collection"));
    expect_same(&with_t1, c.root, "a group that is no collection");
    OK(rdi_vfs_remove_dir(f->ctx->vfs, other));

    /* Found only while writing, so rolled back: an obs_id in two collections, obs_meta
     * rows that miss a subject. */
    radi_collection_copy again = {c.src, "FLAIR", NULL, "F2"};
    assert_int_equal(radi_dataset_create_adopting(f->ctx, c.root, 1, flair, 1, &again, NULL), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "obs_id 'sub-01_FLAIR' is in collections"));
    uint64_t off[2] = {0, 6};
    const char *keys = "sub-01sub-02";
    radi_sparse_buffer rows[2] = {{K_SID, keys, 12, off, NULL}, {K_OID, keys, 12, off, NULL}};
    radi_obs_meta_rows om = {NULL, 2, rows, 2};
    assert_int_equal(radi_dataset_create_adopting(f->ctx, c.root, 1, flair, 1, &t1w, &om), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "'sub-03'"));
    expect_same(&before, c.root, "the rolled-back refusals");
    assert_false(exists(lock));
    /* Then it is adopted. */
    OK(adopt(f, &c));
    check_adopted(f, &c);
    radi_dataset_close(c.src);
    rdi_buf_free(&before);
    rdi_buf_free(&with_t1);
}

/* Fails every write of the adoption in turn: each failure leaves the tree byte for
 * byte as it was; then it succeeds. */
static void test_undone_at_every_failure(void **state)
{
    fixture *f = *state;
    adopt_case c;
    prepare(f, &c, 1);
    rdi_buf before = RDI_BUF_INIT;
    snapshot(c.root, &before);
    rdi_fault fault = {.ops_mask = RDI_FAULT_WRITE, .inner = &rdi_vfs_posix_ops};
    int failures = 0;
    radi_status st = RADI_E_IO;
    for (uint64_t k = 1; k < 400 && st != RADI_OK; k++) {
        fault.calls = 0;
        fault.fail_at = k;
        rdi_vfs_set_local(f->ctx->vfs, &rdi_vfs_fault_ops, &fault);
        st = adopt(f, &c);
        rdi_vfs_set_local(f->ctx->vfs, &rdi_vfs_posix_ops, NULL);
        if (st == RADI_OK) break;
        failures++;
        if (!strstr(radi_errmsg(), "injected fault"))
            fail_msg("failure at write %llu: unexpected message: %s", (unsigned long long)k, radi_errmsg());
        char what[64];
        snprintf(what, sizeof what, "failure at write %llu", (unsigned long long)k);
        expect_same(&before, c.root, what);
    }
    assert_int_equal(st, RADI_OK);
    assert_true(failures > 10);
    print_message("%d injected failures, each undone byte for byte\n", failures);
    check_adopted(f, &c);
    radi_dataset_close(c.src);
    rdi_buf_free(&before);
}

/* A failure whose undo fails too (every write and removal fails from then on, as when
 * the process dies) leaves the journal; radi_dataset_repair rolls the adoption back byte
 * for byte, never removing the adopted collection, and the same call then completes. */
static void test_rollback_by_repair(void **state)
{
    fixture *f = *state;
    adopt_case c;
    prepare(f, &c, 0);
    rdi_buf before = RDI_BUF_INIT;
    snapshot(c.root, &before);
    /* How many counted calls a whole adoption makes (on a probe copy of the tree). */
    adopt_case probe = c;
    snprintf(probe.root, sizeof probe.root, "%s/probe", f->dir);
    snprintf(probe.coll, sizeof probe.coll, "%s/collections", probe.root);
    snprintf(probe.flair, sizeof probe.flair, "%s/FLAIR", probe.coll);
    OK(rdi_vfs_mkdir(f->ctx->vfs, probe.coll));
    OK(radi_dataset_copy_collection(c.src, "FLAIR", NULL, probe.flair, "FLAIR"));
    rdi_fault count = {.ops_mask = RDI_FAULT_WRITE | RDI_FAULT_REMOVE, .inner = &rdi_vfs_posix_ops};
    rdi_vfs_set_local(f->ctx->vfs, &rdi_vfs_fault_ops, &count);
    OK(adopt(f, &probe));
    rdi_vfs_set_local(f->ctx->vfs, &rdi_vfs_posix_ops, NULL);
    uint64_t total = count.calls;
    assert_true(total > 20);
    int journals = 0;
    char jn[200];
    snprintf(jn, sizeof jn, "%s/__radi_journal", c.root);
    for (int q = 1; q <= 7; q++) {
        rdi_fault fault = {.ops_mask = RDI_FAULT_WRITE | RDI_FAULT_REMOVE, .persistent = 1,
                           .inner = &rdi_vfs_posix_ops, .fail_at = total * (uint64_t)q / 8};
        rdi_vfs_set_local(f->ctx->vfs, &rdi_vfs_fault_ops, &fault);
        assert_int_not_equal(adopt(f, &c), RADI_OK);
        rdi_vfs_set_local(f->ctx->vfs, &rdi_vfs_posix_ops, NULL);
        journals += exists(jn);
        char *op = NULL;
        OK(radi_dataset_repair(f->ctx, c.root, &op));
        if (exists(jn)) fail_msg("cut at %d/8: the journal survived repair", q);
        if (op) assert_string_equal(op, "adopt");
        free(op);
        char what[64];
        snprintf(what, sizeof what, "repair after the cut at %d/8", q);
        expect_same(&before, c.root, what);
    }
    assert_true(journals >= 5);
    OK(adopt(f, &c));
    check_adopted(f, &c);
    radi_dataset_close(c.src);
    rdi_buf_free(&before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_adopt_into_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adopt_into_plain_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_undone_at_every_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_by_repair, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
