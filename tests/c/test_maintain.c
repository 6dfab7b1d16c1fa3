/* Member confinement (the lexical rules of confine.c), dataset kinds, and whole-dataset
 * consolidate/vacuum on a dataset with appends: every array ends with one fragment and
 * reads the same, progress is reported once per object, and the groups' metadata is
 * merged in array_meta mode. */
#include "dataset_fixture.h"
#include "model/dataset.h"
#include "ctx/ctx.h"

static void test_member_rules(void **state)
{
    (void)state;
    const char *root = "file:///data/ds", *canon = "file:///real/ds", *g = "file:///data/ds/collections";
    /* confined */
    assert_null(rdi_member_problem(root, canon, g, "FLAIR", "FLAIR", 1));
    assert_null(rdi_member_problem(root, canon, g, "FLAIR", "a/../FLAIR", 1));
    assert_null(rdi_member_problem(root, canon, g, "FLAIR", "file:///data/ds/collections/FLAIR", 0));
    assert_null(rdi_member_problem(root, canon, g, "FLAIR", "/data/ds/collections/FLAIR", 0));
    assert_null(rdi_member_problem(root, canon, g, "FLAIR", "file:///real/ds/collections/FLAIR", 0));
    assert_null(rdi_member_problem(root, canon, g, "FLAIR", "file:///data//ds/./x/../collections/FLAIR/", 0));
    assert_null(rdi_member_problem(root, NULL, g, NULL, "FLAIR", 1));
    assert_null(rdi_member_problem("s3://b/ds", NULL, "s3://b/ds/collections", "F", "s3://b/ds/collections/F", 0));
    /* names */
    assert_non_null(rdi_member_problem(root, canon, g, "", "FLAIR", 1));
    assert_non_null(rdi_member_problem(root, canon, g, ".", "FLAIR", 1));
    assert_non_null(rdi_member_problem(root, canon, g, "..", "FLAIR", 1));
    assert_non_null(rdi_member_problem(root, canon, g, "../x", "FLAIR", 1));
    assert_non_null(rdi_member_problem(root, canon, g, "a/b", "FLAIR", 1));
    assert_non_null(rdi_member_problem(root, canon, g, NULL, "..", 1));
    assert_non_null(rdi_member_problem(root, canon, g, NULL, "file:///data/ds/..", 0));
    /* relative URIs */
    assert_non_null(rdi_member_problem(root, canon, g, "x", "../../elsewhere", 1));
    assert_non_null(rdi_member_problem(root, canon, g, "x", "..", 1));
    assert_non_null(rdi_member_problem(root, canon, g, "x", "a/../../..", 1));
    assert_non_null(rdi_member_problem(root, canon, g, "x", "../../../../../../../../etc", 1));
    assert_non_null(rdi_member_problem(root, canon, g, "x", "/etc/passwd", 1));
    assert_non_null(rdi_member_problem(root, canon, g, "x", "s3://b/k", 1));
    /* absolute URIs and schemes */
    assert_non_null(rdi_member_problem(root, canon, g, "x", "file:///data/ds", 0));          /* the root itself */
    assert_non_null(rdi_member_problem(root, canon, g, "x", "file:///data/ds2/y", 0));       /* a sibling prefix */
    /* A moved 0.1.1 dataset: the old place, ending in the member's own name, is read at
     * <group>/<name> and never followed. */
    assert_null(rdi_member_problem(root, canon, g, "x", "file:///data/ds2/x", 0));
    assert_null(rdi_member_problem("s3://b/ds", NULL, "s3://b/ds/c", "F", "s3://b/other/F", 0));
    assert_non_null(rdi_member_problem(root, canon, g, "x", "file:///data/ds2/x", 1));
    assert_non_null(rdi_member_problem(root, canon, g, "x", "file:///data/ds/../elsewhere", 0));
    assert_non_null(rdi_member_problem(root, canon, g, "x", "/elsewhere", 0));
    assert_non_null(rdi_member_problem(root, canon, g, "x", "file://host/data/ds/x", 0));
    assert_non_null(rdi_member_problem(root, canon, g, "x", "s3://b/data/ds/x", 0));
    assert_non_null(rdi_member_problem(root, canon, g, "x", "http://example.com/x", 0));
    assert_non_null(rdi_member_problem(root, canon, g, "x", "mem://x", 0));
    assert_non_null(rdi_member_problem(root, canon, g, "x", "relative/path", 0));
    assert_non_null(rdi_member_problem("s3://b/ds", NULL, "s3://b/ds/c", "F", "s3://b/other/G", 0));
    assert_non_null(rdi_member_problem("s3://b/ds", NULL, "s3://b/ds/c", "F", "file:///b/ds/c/F", 0));
    assert_true(rdi_name_is_segment("0") && rdi_name_is_segment("..a") && !rdi_name_is_segment(NULL));
}

static uint32_t frags(fixture *f, const char *uri)
{
    radi_array *a = NULL;
    OK(radi_array_open(f->ctx, uri, 0, 0, &a));
    uint32_t n = radi_array_fragment_count(a);
    radi_array_close(a);
    return n;
}

typedef struct seen {
    uint64_t calls, last_done, total;
} seen;

static void on_progress(void *user, uint64_t done, uint64_t total, const char *uri)
{
    seen *s = user;
    assert_non_null(uri);
    assert_int_equal(done, s->last_done + 1);
    s->calls++;
    s->last_done = done;
    s->total = total;
}

static void test_dataset_consolidate_vacuum(void **state)
{
    fixture *f = *state;
    char a[160], b[160], c[160];
    radi_dataset *ds = NULL;
    OK(radi_dataset_create(f->ctx, f->ds));
    OK(radi_dataset_open(f->ctx, f->ds, &ds));
    radi_nifti_source s1 = {nifti_at(f, a, sizeof a, "a.nii", 100, 0, 0), "sub-01", NULL};
    radi_nifti_source s3 = {nifti_at(f, b, sizeof b, "b.nii", 300, 0, 0), "sub-03", NULL};
    radi_nifti_source s2 = {nifti_at(f, c, sizeof c, "c.nii", 200, 0, 0), "sub-02", NULL};
    OK(radi_dataset_ingest_niftis(ds, "FLAIR", 1, &s1, NULL));
    OK(radi_dataset_ingest_niftis(ds, "FLAIR", 1, &s3, NULL));
    OK(radi_dataset_ingest_niftis(ds, "FLAIR", 1, &s2, NULL));   /* renumbers */
    radi_dataset_kind k;
    OK(radi_dataset_kind_of(f->ctx, f->ds, &k));
    assert_int_equal(k, RADI_DATASET_ROOT);
    char obs[256], om[256], cu[256];
    snprintf(obs, sizeof obs, "%s/collections/FLAIR/obs", f->ds);
    snprintf(om, sizeof om, "%s/obs_meta", f->ds);
    snprintf(cu, sizeof cu, "%s/collections/FLAIR", f->ds);
    OK(radi_dataset_kind_of(f->ctx, cu, &k));
    assert_int_equal(k, RADI_DATASET_COLLECTION);
    OK(radi_dataset_kind_of(f->ctx, obs, &k));
    assert_int_equal(k, RADI_DATASET_NONE);
    assert_int_equal(frags(f, obs), 3);
    assert_int_equal(frags(f, om), 3);

    seen sc = {0, 0, 0};
    OK(radi_dataset_consolidate(ds, RADI_CONSOLIDATE_FRAGMENTS, on_progress, &sc));
    assert_int_equal(sc.calls, 5);          /* 3 volumes, obs, obs_meta */
    assert_int_equal(sc.total, 5);
    OK(radi_dataset_vacuum(ds, RADI_CONSOLIDATE_FRAGMENTS, NULL, NULL));
    assert_int_equal(frags(f, obs), 1);
    assert_int_equal(frags(f, om), 1);
    seen sm = {0, 0, 0};
    OK(radi_dataset_consolidate(ds, RADI_CONSOLIDATE_ARRAY_META, on_progress, &sm));
    assert_int_equal(sm.calls, 9);          /* + volumes, FLAIR, collections, root groups */
    OK(radi_dataset_vacuum(ds, RADI_CONSOLIDATE_ARRAY_META, NULL, NULL));
    char md[300];
    snprintf(md, sizeof md, "%s/__meta", cu);
    rdi_dirlist ls = {NULL, 0};
    OK(rdi_vfs_ls(f->ctx->vfs, md, &ls));
    assert_int_equal(ls.n, 1);
    rdi_dirlist_free(&ls);
    for (int m = 1; m <= 2; m++) {
        OK(radi_dataset_consolidate(ds, (radi_consolidation_mode)m, NULL, NULL));
        OK(radi_dataset_vacuum(ds, (radi_consolidation_mode)m, NULL, NULL));
    }
    assert_valid(ds);
    const char *ids[3] = {"sub-01_FLAIR", "sub-02_FLAIR", "sub-03_FLAIR"};
    for (int i = 0; i < 3; i++) {
        radi_volume *v = NULL;
        int16_t first = 0;
        int64_t box[6] = {0, 0, 0, 0, 0, 0};
        OK(radi_dataset_open_volume(ds, "FLAIR", ids[i], &v));
        OK(radi_volume_read(v, box, &first, sizeof first, NULL));
        assert_int_equal(first, 100 * (i + 1));
        radi_volume_close(v);
    }
    assert_int_equal(radi_dataset_consolidate(ds, (radi_consolidation_mode)7, NULL, NULL), RADI_E_INVALID);
    assert_int_equal(radi_dataset_vacuum(NULL, RADI_CONSOLIDATE_FRAGMENTS, NULL, NULL), RADI_E_INVALID);
    radi_dataset_close(ds);
}

int main(void)
{
    (void)build; /* fixture helpers this file does not need */
    (void)meta_str;
    (void)exists;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_member_rules),
        cmocka_unit_test_setup_teardown(test_dataset_consolidate_vacuum, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
