/* Dataset operations beyond ingest: appends that renumber volumes (and their undo under
 * injected faults), collection renames, materialize and collection copies, stand-alone
 * collections, imported collections, scaled reads and NIfTI export; 0.1.1's alignment
 * and uniform-append rules. */
#include "dataset_fixture.h"
#include "model/dataset.h"
#include "ctx/ctx.h"
#include "vfs/fault.h"

/* A text summary of everything a reader sees: counts, and per collection its metadata
 * and every row with its volume's directory and first voxel. Equal summaries mean equal
 * datasets for radi and for 0.1.1's positional reader. */
static void summarize(fixture *f, rdi_buf *out)
{
    radi_dataset *ds = NULL;
    OK(radi_dataset_open(f->ctx, f->ds, &ds));
    char line[512];
    radi_group *g = NULL;
    OK(radi_group_open(f->ctx, f->ds, &g));
    int64_t subjects = -1, ncoll = -1;
    rdi_meta_get_i64(radi_group_meta(g), "subject_count", &subjects);
    rdi_meta_get_i64(radi_group_meta(g), "n_collections", &ncoll);
    radi_group_close(g);
    snprintf(line, sizeof line, "subjects %lld/%llu collections %lld\n", (long long)subjects,
             (unsigned long long)radi_dataset_subject_count(ds), (long long)ncoll);
    OK(rdi_buf_append(out, line, strlen(line)));
    for (uint64_t c = 0; c < radi_dataset_collection_count(ds); c++) {
        const char *name = radi_dataset_collection_name(ds, c);
        char cu[256];
        snprintf(cu, sizeof cu, "%s/collections/%s", f->ds, name);
        OK(radi_group_open(f->ctx, cu, &g));
        int64_t nv = -1, x = -1;
        rdi_meta_get_i64(radi_group_meta(g), "n_volumes", &nv);
        rdi_meta_get_i64(radi_group_meta(g), "x_dim", &x);
        radi_group_close(g);
        snprintf(line, sizeof line, "%s n_volumes %lld x_dim %lld\n", name, (long long)nv, (long long)x);
        OK(rdi_buf_append(out, line, strlen(line)));
        const radi_volume_entry *e;
        uint64_t n;
        OK(radi_dataset_volumes(ds, name, &e, &n));
        for (uint64_t r = 0; r < n; r++) {
            radi_volume *v = NULL;
            int16_t first = -1;
            int64_t box[6] = {0, 0, 0, 0, 0, 0};
            if (e[r].volume_uri && radi_volume_open(f->ctx, e[r].volume_uri, &v) == RADI_OK)
                OK(radi_volume_read(v, box, &first, sizeof first, NULL));
            radi_volume_close(v);
            const char *vdir = e[r].volume_uri ? strstr(e[r].volume_uri, "/volumes/") : NULL;
            snprintf(line, sizeof line, "  %s %s %s %d\n", e[r].obs_subject_id, e[r].obs_id, vdir ? vdir : "-", first);
            OK(rdi_buf_append(out, line, strlen(line)));
        }
        char vd[300];
        snprintf(vd, sizeof vd, "%s/volumes", cu);
        rdi_dirlist ls = {NULL, 0};
        OK(rdi_vfs_ls(f->ctx->vfs, vd, &ls));
        for (size_t i = 0; i < ls.n; i++) {
            if (strncmp(ls.items[i].name, "__group", 7) == 0 || strncmp(ls.items[i].name, "__meta", 6) == 0 ||
                strcmp(ls.items[i].name, "__tiledb_group.tdb") == 0)
                continue;
            snprintf(line, sizeof line, "  dir %s\n", ls.items[i].name);
            OK(rdi_buf_append(out, line, strlen(line)));
        }
        rdi_dirlist_free(&ls);
    }
    /* Directories nothing lists (what a failed step could leave behind). */
    const char *roots[2] = {"", "/collections"};
    for (int r = 0; r < 2; r++) {
        char d[300];
        snprintf(d, sizeof d, "%s%s", f->ds, roots[r]);
        rdi_dirlist ls = {NULL, 0};
        OK(rdi_vfs_ls(f->ctx->vfs, d, &ls));
        for (size_t i = 0; i < ls.n; i++)
            if (strncmp(ls.items[i].name, "__", 2) != 0) {
                snprintf(line, sizeof line, "%s/ has %s\n", roots[r], ls.items[i].name);
                OK(rdi_buf_append(out, line, strlen(line)));
            }
        rdi_dirlist_free(&ls);
    }
    char **msgs = NULL;
    size_t nm = 0;
    OK(radi_dataset_validate(ds, &msgs, &nm));
    for (size_t i = 0; i < nm; i++) {
        snprintf(line, sizeof line, "invalid: %s\n", msgs[i]);
        OK(rdi_buf_append(out, line, strlen(line)));
    }
    radi_messages_free(msgs, nm);
    OK(rdi_buf_append(out, "", 1));
    radi_dataset_close(ds);
}

/* Keys that sort before and between existing ones renumber volumes/<k>: the dataset
 * stays in sorted order (0.1.1's positional reader agrees) and every obs_id keeps its
 * voxels. */
static void test_append_renumbers(void **state)
{
    fixture *f = *state;
    radi_dataset *ds = NULL;
    build(f, &ds);
    char p0[160], p15[160], p9[160];
    nifti_at(f, p0, sizeof p0, "a0.nii", 5000, 0, 0);
    nifti_at(f, p15, sizeof p15, "a15.nii", 6000, 0, 0);
    nifti_at(f, p9, sizeof p9, "a9.nii.gz", 7000, 0, 0);
    radi_nifti_source src[3] = {{p15, "sub-015", NULL}, {p0, "sub-00", NULL}, {p9, "sub-09", NULL}};
    OK(radi_dataset_ingest_niftis(ds, "FLAIR", 3, src, NULL));
    const char *want[6] = {"sub-00", "sub-01", "sub-015", "sub-02", "sub-03", "sub-09"};
    const int first[6] = {5000, 100, 6000, 200, 300, 7000};
    assert_sorted_volumes(f, ds, "FLAIR", 6, want, first);
    assert_int_equal(radi_dataset_subject_count(ds), 6);
    assert_valid(ds);
    /* No staging directory is left. */
    char vd[200];
    snprintf(vd, sizeof vd, "%s/collections/FLAIR/volumes", f->ds);
    rdi_dirlist ls = {NULL, 0};
    OK(rdi_vfs_ls(f->ctx->vfs, vd, &ls));
    for (size_t i = 0; i < ls.n; i++) assert_null(strstr(ls.items[i].name, "staging"));
    rdi_dirlist_free(&ls);
    radi_dataset_close(ds);
}

/* Fails every write (and move) of an ingest in turn: each failure must leave the
 * dataset exactly as it was, as every reader sees it; then the ingest succeeds. Returns
 * the summary after the success. */
static void ingest_under_faults(fixture *f, size_t nc, const radi_ingest_collection *colls, rdi_buf *final)
{
    rdi_buf before = RDI_BUF_INIT;
    summarize(f, &before);
    rdi_fault fault = {.ops_mask = RDI_FAULT_WRITE, .inner = &rdi_vfs_posix_ops};
    int failures = 0;
    radi_status st = RADI_E_IO;
    for (uint64_t k = 1; k < 400 && st != RADI_OK; k++) {
        radi_dataset *ds = NULL;
        OK(radi_dataset_open(f->ctx, f->ds, &ds));
        fault.calls = 0;
        fault.fail_at = k;
        rdi_vfs_set_local(f->ctx->vfs, &rdi_vfs_fault_ops, &fault);
        st = radi_dataset_ingest(ds, nc, colls, NULL);
        rdi_vfs_set_local(f->ctx->vfs, &rdi_vfs_posix_ops, NULL);
        radi_dataset_close(ds);
        if (st == RADI_OK) break;
        failures++;
        if (!strstr(radi_errmsg(), "injected fault"))
            fail_msg("failure at write %llu: unexpected message: %s", (unsigned long long)k, radi_errmsg());
        rdi_buf after = RDI_BUF_INIT;
        summarize(f, &after);
        if (strcmp((const char *)before.data, (const char *)after.data) != 0)
            fail_msg("failure at write %llu changed the dataset:\n--- before\n%s--- after\n%s", (unsigned long long)k,
                     (const char *)before.data, (const char *)after.data);
        rdi_buf_free(&after);
    }
    assert_int_equal(st, RADI_OK);
    assert_true(failures > 10);
    print_message("%d injected failures, each undone\n", failures);
    summarize(f, final);
    assert_null(strstr((const char *)final->data, "invalid:"));
    rdi_buf_free(&before);
}

static void test_append_undone_at_every_failure(void **state)
{
    fixture *f = *state;
    radi_dataset *ds = NULL;
    build(f, &ds);
    radi_dataset_close(ds);
    char p0[160], p25[160];
    nifti_at(f, p0, sizeof p0, "b0.nii", 5000, 0, 0);
    nifti_at(f, p25, sizeof p25, "b25.nii", 6000, 0, 0);
    /* Keys before and between the existing ones: volumes move. */
    radi_nifti_source src[2] = {{p0, "sub-00", NULL}, {p25, "sub-025", NULL}};
    rdi_buf done = RDI_BUF_INIT;
    ingest_under_faults(f, 1, (radi_ingest_collection[]){{"T1w", 2, src}}, &done);
    assert_non_null(strstr((const char *)done.data, "sub-00 sub-00_T1w /volumes/0 5000"));
    assert_non_null(strstr((const char *)done.data, "sub-025 sub-025_T1w /volumes/3 6000"));
    assert_non_null(strstr((const char *)done.data, "sub-03 sub-03_T1w /volumes/4 1300"));
    rdi_buf_free(&done);
    /* A new collection and an append in one ingest: a failure in either (the second
     * commit included) undoes both. */
    char p4[160];
    nifti_at(f, p4, sizeof p4, "b4.nii", 4000, 0, 0);
    radi_nifti_source more[1] = {{p4, "sub-04", NULL}};
    ingest_under_faults(f, 2, (radi_ingest_collection[]){{"T2w", 2, src}, {"FLAIR", 1, more}}, &done);
    assert_non_null(strstr((const char *)done.data, "T2w n_volumes 2 x_dim 5"));
    assert_non_null(strstr((const char *)done.data, "sub-04 sub-04_FLAIR /volumes/3 4000"));
    assert_non_null(strstr((const char *)done.data, "subjects 6/6 collections 3"));
    rdi_buf_free(&done);
}

static void count_progress(void *user, uint64_t done, uint64_t total, const char *path)
{
    uint64_t *seen = user;
    assert_true(done >= 1 && done <= total && total == 3);
    assert_non_null(strstr(path, ".nii"));
    seen[0]++;
    seen[1] = seen[1] > done ? seen[1] : done;
}

/* Several collections in one call: a bad file in one leaves every other untouched;
 * progress counts files across collections. */
static void test_multi_collection_ingest(void **state)
{
    fixture *f = *state;
    radi_dataset *ds = NULL;
    build(f, &ds);
    char good[160], bad[160];
    nifti_at(f, good, sizeof good, "g.nii", 10, 0, 0);
    nifti_at(f, bad, sizeof bad, "bad.nii.gz", 20, 0, 0);
    FILE *fp = fopen(bad, "r+b");
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fclose(fp);
    assert_int_equal(truncate(bad, len - 40), 0);
    rdi_buf before = RDI_BUF_INIT, after = RDI_BUF_INIT;
    radi_dataset_close(ds);
    summarize(f, &before);
    OK(radi_dataset_open(f->ctx, f->ds, &ds));
    radi_nifti_source a[1] = {{good, "sub-04", NULL}}, b[1] = {{bad, "sub-05", NULL}};
    radi_ingest_collection two[2] = {{"FLAIR", 1, a}, {"seg", 1, b}};
    assert_int_not_equal(radi_dataset_ingest(ds, 2, two, NULL), RADI_OK);
    assert_non_null(strstr(radi_errmsg(), "bad.nii.gz"));
    radi_dataset_close(ds);
    summarize(f, &after);
    assert_string_equal((const char *)before.data, (const char *)after.data);
    /* Duplicate names and obs_ids across the collections are refused up front. */
    OK(radi_dataset_open(f->ctx, f->ds, &ds));
    radi_ingest_collection same[2] = {{"X", 1, a}, {"X", 1, a}};
    assert_int_equal(radi_dataset_ingest(ds, 2, same, NULL), RADI_E_INVALID);
    radi_nifti_source c1[1] = {{good, "sub-07", "shared-id"}}, c2[1] = {{good, "sub-08", "shared-id"}};
    radi_ingest_collection clash[2] = {{"X", 1, c1}, {"Y", 1, c2}};
    assert_int_equal(radi_dataset_ingest(ds, 2, clash, NULL), RADI_E_EXISTS);
    /* Progress. */
    radi_ingest_options opt;
    radi_ingest_options_init(&opt);
    uint64_t seen[2] = {0, 0};
    opt.progress = count_progress;
    opt.progress_user = seen;
    radi_nifti_source x[2] = {{good, "sub-04", NULL}, {good, "sub-05", NULL}};
    radi_ingest_collection ok2[2] = {{"X", 2, x}, {"FLAIR", 1, a}};
    OK(radi_dataset_ingest(ds, 2, ok2, &opt));
    assert_int_equal(seen[0], 3);
    assert_int_equal(seen[1], 3);
    radi_dataset_close(ds);
    rdi_buf_free(&before);
    rdi_buf_free(&after);
}

static void test_rename_collection(void **state)
{
    fixture *f = *state;
    radi_dataset *ds = NULL;
    build(f, &ds);
    assert_int_equal(radi_dataset_rename_collection(ds, "FLAIR", "T1w"), RADI_E_EXISTS);
    assert_int_equal(radi_dataset_rename_collection(ds, "nope", "X"), RADI_E_NOT_FOUND);
    assert_int_equal(radi_dataset_rename_collection(ds, "FLAIR", "bad/name"), RADI_E_INVALID);
    OK(radi_dataset_rename_collection(ds, "FLAIR", "FL"));
    assert_int_equal(radi_dataset_collection_count(ds), 2);
    radi_volume *v = NULL;
    OK(radi_dataset_open_volume(ds, "FL", "sub-02_FLAIR", &v));
    int16_t x;
    int64_t box[6] = {0, 0, 0, 0, 0, 0};
    OK(radi_volume_read(v, box, &x, sizeof x, NULL));
    assert_int_equal(x, 200);
    radi_volume_close(v);
    char old[200], cu[200];
    snprintf(old, sizeof old, "%s/collections/FLAIR", f->ds);
    snprintf(cu, sizeof cu, "%s/collections/FL", f->ds);
    assert_false(exists(old));
    radi_group *g = NULL;
    OK(radi_group_open(f->ctx, cu, &g));
    char *name = rdi_meta_get_str(radi_group_meta(g), "name");
    assert_string_equal(name, "FL");
    free(name);
    for (uint64_t i = 0; i < radi_group_member_count(g); i++) {
        radi_group_member m;
        OK(radi_group_member_at(g, i, &m));
        assert_true(m.relative);
    }
    radi_group_close(g);
    radi_dataset_close(ds);
    /* A fresh open sees the same, and the dataset is consistent. */
    OK(radi_dataset_open(f->ctx, f->ds, &ds));
    assert_true(strcmp(radi_dataset_collection_name(ds, 0), "FL") == 0 ||
                strcmp(radi_dataset_collection_name(ds, 1), "FL") == 0);
    assert_valid(ds);
    radi_dataset_close(ds);
}

static const char *meta_of(radi_ctx *ctx, const char *uri, const char *key, char *buf, size_t cap)
{
    radi_volume *v = NULL;
    OK(radi_volume_open(ctx, uri, &v));
    meta_str(v, key, buf, cap);
    radi_volume_close(v);
    return buf;
}

static void test_materialize(void **state)
{
    fixture *f = *state;
    radi_dataset *ds = NULL;
    build(f, &ds);
    char all[160], part[160];
    snprintf(all, sizeof all, "%s/copy_all", f->dir);
    snprintf(part, sizeof part, "%s/copy_part", f->dir);
    OK(radi_dataset_materialize(ds, all, NULL));
    assert_int_equal(radi_dataset_materialize(ds, all, NULL), RADI_E_EXISTS);
    const char *subs[2] = {"sub-03", "sub-01"}, *colls[1] = {"T1w"};
    radi_selection sel = {1, colls, 2, subs, 0, NULL};
    OK(radi_dataset_materialize(ds, part, &sel));
    const char *nobody[1] = {"sub-99"};
    radi_selection bad = {0, NULL, 1, nobody, 0, NULL};
    char none[160];
    snprintf(none, sizeof none, "%s/copy_none", f->dir);
    assert_int_equal(radi_dataset_materialize(ds, none, &bad), RADI_E_NOT_FOUND);
    assert_false(exists(none));

    radi_dataset *c = NULL;
    OK(radi_dataset_open(f->ctx, all, &c));
    assert_int_equal(radi_dataset_collection_count(c), 2);
    assert_int_equal(radi_dataset_subject_count(c), 3);
    assert_valid(c);
    radi_dataset_close(c);

    OK(radi_dataset_open(f->ctx, part, &c));
    assert_int_equal(radi_dataset_collection_count(c), 1);
    assert_int_equal(radi_dataset_subject_count(c), 2);
    const radi_volume_entry *e;
    uint64_t n;
    OK(radi_dataset_volumes(c, "T1w", &e, &n));
    assert_int_equal(n, 2);
    assert_string_equal(e[1].obs_id, "sub-03_T1w");
    assert_non_null(strstr(e[1].volume_uri, "/volumes/1"));
    /* Voxels and every metadata key survive the copy. */
    radi_volume *v = NULL;
    OK(radi_volume_open(f->ctx, e[1].volume_uri, &v));
    int16_t buf[60];
    int64_t box[6] = {0, 4, 0, 3, 0, 2};
    OK(radi_volume_read(v, box, buf, sizeof buf, NULL));
    for (int i = 0; i < 60; i++) assert_int_equal(buf[i], 1300 + i);
    radi_volume_close(v);
    char src_uri[200], a[256], b[256];
    snprintf(src_uri, sizeof src_uri, "%s/collections/T1w/volumes/2", f->ds);
    const char *keys[] = {"orientation_affine", "orientation_axcodes", "orientation_source", "nifti_sform_code",
                          "nifti_scl_slope", "nifti_xyzt_units", "obs_id", "tile_orientation"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
        assert_string_equal(meta_of(f->ctx, e[1].volume_uri, keys[k], a, sizeof a),
                            meta_of(f->ctx, src_uri, keys[k], b, sizeof b));
    assert_valid(c);
    radi_dataset_close(c);
    radi_dataset_close(ds);
}

/* An empty dataset (obs_meta and an obs without rows) copies: the copy holds the same
 * empty tables and validates. */
static void test_materialize_empty(void **state)
{
    fixture *f = *state;
    char src[160], dst[160], coll[160];
    snprintf(src, sizeof src, "%s/empty", f->dir);
    snprintf(dst, sizeof dst, "%s/empty_copy", f->dir);
    snprintf(coll, sizeof coll, "%s/empty_coll", f->dir);
    OK(radi_dataset_create(f->ctx, src));
    radi_dataset *ds = NULL, *c = NULL;
    OK(radi_dataset_open(f->ctx, src, &ds));
    OK(radi_dataset_add_collection(ds, "X"));
    /* A declared shape (0.1.1's _create(shape=...)): copies without volumes keep it. */
    char xu[200];
    snprintf(xu, sizeof xu, "%s/collections/X", src);
    radi_group *g = NULL;
    OK(radi_group_open(f->ctx, xu, &g));
    OK(rdi_meta_put_i64(radi_group_meta(g), "x_dim", 7));
    OK(rdi_meta_put_i64(radi_group_meta(g), "y_dim", 8));
    OK(rdi_meta_put_i64(radi_group_meta(g), "z_dim", 9));
    radi_group_close(g);
    OK(radi_dataset_materialize(ds, dst, NULL));
    OK(radi_dataset_copy_collection(ds, "X", NULL, coll, NULL));
    const char *copies[2] = {coll, NULL};
    char dx[200];
    snprintf(dx, sizeof dx, "%s/collections/X", dst);
    copies[1] = dx;
    for (int i = 0; i < 2; i++) {
        int64_t d[3] = {0, 0, 0};
        OK(radi_group_open(f->ctx, copies[i], &g));
        assert_true(rdi_meta_get_i64(radi_group_meta(g), "x_dim", &d[0]) &&
                    rdi_meta_get_i64(radi_group_meta(g), "y_dim", &d[1]) &&
                    rdi_meta_get_i64(radi_group_meta(g), "z_dim", &d[2]));
        radi_group_close(g);
        assert_true(d[0] == 7 && d[1] == 8 && d[2] == 9);
    }
    OK(radi_dataset_open(f->ctx, dst, &c));
    assert_int_equal(radi_dataset_subject_count(c), 0);
    assert_int_equal(radi_dataset_collection_count(c), 1);
    const radi_volume_entry *e;
    uint64_t n = 1;
    OK(radi_dataset_volumes(c, "X", &e, &n));
    assert_int_equal(n, 0);
    assert_valid(c);
    radi_dataset_close(c);
    OK(radi_collection_open(f->ctx, coll, &c));
    assert_string_equal(radi_dataset_collection_name(c, 0), "X");
    assert_valid(c);
    radi_dataset_close(c);
    radi_dataset_close(ds);
}

/* Moves publish a staged dataset or collection: the same result as a copy, the volumes
 * renamed out of the source; a destination that exists is refused before anything moves. */
static void test_move(void **state)
{
    fixture *f = *state;
    radi_dataset *ds = NULL, *c = NULL;
    build(f, &ds);
    char dst[160], coll[160];
    snprintf(dst, sizeof dst, "%s/moved", f->dir);
    snprintf(coll, sizeof coll, "%s/moved_t1", f->dir);
    OK(radi_dataset_move_collection(ds, "T1w", coll, "T1"));
    radi_dataset_close(ds);
    char src_vol[200];
    snprintf(src_vol, sizeof src_vol, "%s/collections/T1w/volumes/2", f->ds);
    assert_false(exists(src_vol)); /* moved, not copied */
    OK(radi_collection_open(f->ctx, coll, &c));
    assert_string_equal(radi_dataset_collection_name(c, 0), "T1");
    radi_volume *v = NULL;
    OK(radi_dataset_open_volume(c, "T1", "sub-03_T1w", &v));
    int16_t x;
    int64_t box[6] = {0, 0, 0, 0, 0, 0};
    OK(radi_volume_read(v, box, &x, sizeof x, NULL));
    assert_int_equal(x, 1300);
    radi_volume_close(v);
    assert_valid(c);
    radi_dataset_close(c);

    OK(radi_object_remove(f->ctx, f->ds)); /* what a caller does with a moved-out source */
    build(f, &ds);
    OK(radi_dataset_move(ds, dst));
    assert_int_equal(radi_dataset_move(ds, dst), RADI_E_EXISTS);
    radi_dataset_close(ds);
    OK(radi_dataset_open(f->ctx, dst, &c));
    assert_int_equal(radi_dataset_collection_count(c), 2);
    assert_int_equal(radi_dataset_subject_count(c), 3);
    assert_valid(c);
    radi_dataset_close(c);
}

static void test_collection_copy_and_standalone(void **state)
{
    fixture *f = *state;
    radi_dataset *ds = NULL;
    build(f, &ds);
    char dst[160];
    snprintf(dst, sizeof dst, "%s/flair_copy", f->dir);
    const char *ids[2] = {"sub-02_FLAIR", "sub-03_FLAIR"};
    radi_selection sel = {0, NULL, 0, NULL, 2, ids};
    OK(radi_dataset_copy_collection(ds, "FLAIR", &sel, dst, "FLAIR2"));
    radi_dataset *c = NULL;
    assert_int_equal(radi_dataset_open(f->ctx, dst, &c), RADI_E_NOT_FOUND); /* not a dataset */
    OK(radi_collection_open(f->ctx, dst, &c));
    assert_true(radi_dataset_is_collection(c));
    assert_int_equal(radi_dataset_collection_count(c), 1);
    assert_string_equal(radi_dataset_collection_name(c, 0), "FLAIR2");
    assert_int_equal(radi_dataset_subject_count(c), 2);
    assert_string_equal(radi_dataset_subject_id(c, 0), "sub-02");
    radi_volume *v = NULL;
    OK(radi_dataset_open_volume(c, "FLAIR2", "sub-03_FLAIR", &v));
    int16_t x;
    int64_t box[6] = {0, 0, 0, 0, 0, 0};
    OK(radi_volume_read(v, box, &x, sizeof x, NULL));
    assert_int_equal(x, 300);
    radi_volume_close(v);
    assert_valid(c);
    assert_int_equal(radi_dataset_add_collection(c, "X"), RADI_E_UNSUPPORTED);
    char other[160];
    snprintf(other, sizeof other, "%s/ds2", f->dir);
    assert_int_equal(radi_dataset_materialize(c, other, NULL), RADI_E_UNSUPPORTED);
    radi_dataset_close(c);
    /* A collection inside a dataset opens stand-alone too. */
    char cu[200];
    snprintf(cu, sizeof cu, "%s/collections/T1w", f->ds);
    OK(radi_collection_open(f->ctx, cu, &c));
    assert_int_equal(radi_dataset_subject_count(c), 3);
    radi_dataset_close(c);
    radi_dataset_close(ds);
}

static void test_scaled_read_and_export(void **state)
{
    fixture *f = *state;
    radi_dataset *ds = NULL;
    build(f, &ds);
    char p[160], out[160];
    snprintf(out, sizeof out, "%s/exported.nii.gz", f->dir);
    nifti_at(f, p, sizeof p, "scaled.nii.gz", -20, 0.5, -3.0);
    OK(radi_dataset_ingest_niftis(ds, "ADC", 1, (radi_nifti_source[]){{p, "sub-01", NULL}}, NULL));
    radi_volume *v = NULL;
    OK(radi_dataset_open_volume(ds, "ADC", "sub-01_ADC", &v));
    double slope, inter;
    int has;
    OK(radi_volume_scaling(v, &slope, &inter, &has));
    assert_true(has);
    assert_true(slope == 0.5 && inter == -3.0);
    float fl[60];
    double db[60];
    int16_t raw[60];
    int64_t box[6] = {0, 4, 0, 3, 0, 2};
    OK(radi_volume_read(v, box, raw, sizeof raw, NULL));
    OK(radi_volume_read_scaled(v, box, RADI_FLOAT32, fl, sizeof fl, NULL));
    OK(radi_volume_read_scaled(v, box, RADI_FLOAT64, db, sizeof db, NULL));
    for (int i = 0; i < 60; i++) {
        assert_int_equal(raw[i], -20 + i);
        assert_true(fl[i] == (float)((-20 + i) * 0.5 - 3.0));
        assert_true(db[i] == (-20 + i) * 0.5 - 3.0);
    }
    assert_int_equal(radi_volume_read_scaled(v, box, RADI_INT16, raw, sizeof raw, NULL), RADI_E_INVALID);
    assert_int_equal(radi_volume_read_scaled(v, box, RADI_FLOAT32, fl, sizeof fl - 1, NULL), RADI_E_INVALID);
    OK(radi_volume_to_nifti(v, out));
    radi_volume_close(v);

    radi_nifti *img = NULL;
    OK(radi_nifti_open(out, &img));
    const radi_nifti_header *h = radi_nifti_get_header(img);
    assert_int_equal(h->datatype, RADI_INT16);
    assert_true(h->scl_slope == 0.5 && h->scl_inter == -3.0);
    assert_int_equal(h->sform_code, 2);
    assert_int_equal(h->qform_code, 0);
    assert_int_equal(h->xyzt_units, 2);
    double aff[16] = {1, 0, 0, -30, 0, 1, 0, -32, 0, 0, 2, -40, 0, 0, 0, 1};
    for (int i = 0; i < 16; i++) assert_true(h->affine[i] == aff[i]);
    int16_t back[60];
    OK(radi_nifti_read(img, 0, RADI_ANY, back, sizeof back));
    assert_memory_equal(back, raw, sizeof raw);
    radi_nifti_close(img);

    /* An unscaled volume: scaled reads are plain conversions. */
    OK(radi_dataset_open_volume(ds, "T1w", "sub-01_T1w", &v));
    OK(radi_volume_scaling(v, &slope, &inter, &has));
    assert_false(has);
    OK(radi_volume_read_scaled(v, box, RADI_FLOAT32, fl, sizeof fl, NULL));
    assert_true(fl[59] == 1100.0f + 59);
    radi_volume_close(v);
    radi_dataset_close(ds);
}

static void test_vfs_move_and_copy(void **state)
{
    fixture *f = *state;
    rdi_vfs *vfs = f->ctx->vfs;
    char a[160], b[160], c[160], file[200];
    snprintf(a, sizeof a, "%s/a/x/y", f->dir);
    snprintf(file, sizeof file, "%s/a/x/y/f", f->dir);
    OK(rdi_vfs_mkdir(vfs, a));
    OK(rdi_vfs_write(vfs, file, "hello", 5));
    snprintf(a, sizeof a, "%s/a", f->dir);
    snprintf(b, sizeof b, "%s/b", f->dir);
    snprintf(c, sizeof c, "%s/c", f->dir);
    OK(rdi_vfs_copy_tree(vfs, a, b));
    assert_int_equal(rdi_vfs_copy_tree(vfs, a, b), RADI_E_EXISTS);
    OK(rdi_vfs_move(vfs, b, c));
    assert_int_equal(rdi_vfs_move(vfs, a, c), RADI_E_EXISTS);
    char d[160];
    snprintf(d, sizeof d, "%s/d", f->dir);
    assert_int_equal(rdi_vfs_move(vfs, b, d), RADI_E_NOT_FOUND);
    snprintf(file, sizeof file, "%s/c/x/y/f", f->dir);
    rdi_buf got = RDI_BUF_INIT;
    OK(rdi_vfs_read_all(vfs, file, &got));
    assert_int_equal(got.len, 5);
    assert_memory_equal(got.data, "hello", 5);
    rdi_buf_free(&got);
    assert_false(exists(b));
}

/* radi_dataset_import_collection: a copy of another dataset's collection (a selection of
 * it) becomes a new collection; subjects without an obs_meta row, a taken name and a
 * missing source are refused and leave the dataset as it was. */
static void test_import_collection(void **state)
{
    fixture *f = *state;
    radi_dataset *ds = NULL;
    build(f, &ds);
    char dst[160], p[3][160];
    snprintf(dst, sizeof dst, "%s/ds2", f->dir);
    OK(radi_dataset_create(f->ctx, dst));
    radi_dataset *d2 = NULL;
    OK(radi_dataset_open(f->ctx, dst, &d2));
    /* No obs_meta rows yet: refused, nothing left behind. */
    assert_int_equal(radi_dataset_import_collection(d2, ds, "FLAIR", NULL, NULL), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "has no obs_meta row"));
    char left[200];
    snprintf(left, sizeof left, "%s/collections/FLAIR", dst);
    assert_false(exists(left));
    assert_int_equal(radi_dataset_collection_count(d2), 0);
    radi_nifti_source src[2] = {{nifti_at(f, p[0], sizeof p[0], "a.nii", 7, 0, 0), "sub-02", NULL},
                                {nifti_at(f, p[1], sizeof p[1], "b.nii", 8, 0, 0), "sub-03", NULL}};
    OK(radi_dataset_ingest_niftis(d2, "seg", 2, src, NULL));
    const char *ids[2] = {"sub-03_FLAIR", "sub-02_FLAIR"};
    radi_selection sel = {0, NULL, 0, NULL, 2, ids};
    OK(radi_dataset_import_collection(d2, ds, "FLAIR", &sel, "FL"));
    assert_int_equal(radi_dataset_collection_count(d2), 2);
    assert_string_equal(radi_dataset_collection_name(d2, 1), "FL");
    const radi_volume_entry *e = NULL;
    uint64_t n = 0;
    OK(radi_dataset_volumes(d2, "FL", &e, &n));
    assert_int_equal(n, 2);
    assert_string_equal(e[0].obs_id, "sub-02_FLAIR");
    radi_volume *v = NULL;
    OK(radi_dataset_open_volume(d2, "FL", "sub-03_FLAIR", &v));
    int16_t x;
    int64_t box[6] = {0, 0, 0, 0, 0, 0};
    OK(radi_volume_read(v, box, &x, sizeof x, NULL));
    assert_int_equal(x, 300);
    char a[600];
    assert_string_equal(meta_str(v, "orientation_affine", a, sizeof a), "[[1.0, 0.0, 0.0, -30.0], [0.0, 1.0, 0.0, "
                                                                        "-32.0], [0.0, 0.0, 2.0, -40.0], [0.0, 0.0, "
                                                                        "0.0, 1.0]]");
    radi_volume_close(v);
    assert_valid(d2);
    /* A taken name, an unknown collection, all of FLAIR (sub-01 has no row here). */
    assert_int_equal(radi_dataset_import_collection(d2, ds, "T1w", &sel, "FL"), RADI_E_EXISTS);
    assert_int_equal(radi_dataset_import_collection(d2, ds, "nope", NULL, "X"), RADI_E_NOT_FOUND);
    assert_int_equal(radi_dataset_import_collection(d2, ds, "FLAIR", NULL, "F2"), RADI_E_INVALID);
    assert_int_equal(radi_dataset_import_collection(d2, d2, "FL", NULL, "F3"), RADI_E_INVALID);
    assert_int_equal(radi_dataset_collection_count(d2), 2);
    assert_valid(d2);
    radi_dataset_close(d2);
    radi_dataset_close(ds);
}

/* A 5x4x2 int16 image (another shape than write_nifti's). */
static const char *short_nifti(const fixture *f, char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", f->dir, name);
    radi_nifti_header h;
    radi_nifti_header_init(&h);
    h.datatype = RADI_INT16;
    h.ndim = 3;
    h.shape[0] = 5, h.shape[1] = 4, h.shape[2] = 2;
    double aff[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    memcpy(h.affine, aff, sizeof aff);
    h.pixdim[1] = h.pixdim[2] = h.pixdim[3] = 1;
    h.sform_code = 1;
    int16_t v[40] = {0};
    OK(radi_nifti_write(buf, &h, v));
    return buf;
}

/* 0.1.1's rules, in C so the CLI shares them: validate_alignment refuses collections of
 * one call covering different subjects; an append to a uniform collection must bring its
 * shape (a mixed collection takes any). */
static void test_alignment_and_uniform_append(void **state)
{
    fixture *f = *state;
    char p[4][160];
    nifti_at(f, p[0], sizeof p[0], "s1.nii", 1, 0, 0);
    nifti_at(f, p[1], sizeof p[1], "s2.nii", 2, 0, 0);
    nifti_at(f, p[2], sizeof p[2], "s3.nii", 3, 0, 0);
    short_nifti(f, p[3], sizeof p[3], "short.nii");
    radi_nifti_source a[2] = {{p[0], "sub-01", NULL}, {p[1], "sub-02", NULL}};
    radi_nifti_source b[3] = {{p[0], "sub-01", NULL}, {p[1], "sub-02", NULL}, {p[2], "sub-03", NULL}};
    radi_ingest_collection colls[2] = {{"A", 2, a}, {"B", 3, b}};
    radi_ingest_options opt;
    radi_ingest_options_init(&opt);
    opt.validate_alignment = 1;
    OK(radi_dataset_create(f->ctx, f->ds));
    radi_dataset *ds = NULL;
    OK(radi_dataset_open(f->ctx, f->ds, &ds));
    assert_int_equal(radi_dataset_ingest(ds, 2, colls, &opt), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "Subject ID mismatch between 'A' and 'B' (validate_alignment): "
                                          "missing in 'A': ['sub-03'], missing in 'B': []"));
    assert_int_equal(radi_dataset_collection_count(ds), 0);
    OK(radi_dataset_ingest(ds, 2, colls, NULL)); /* without the check: accepted */
    radi_nifti_source odd[1] = {{p[3], "sub-03", NULL}};
    assert_int_equal(radi_dataset_ingest_niftis(ds, "A", 1, odd, NULL), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "Dimension mismatch: "));
    assert_non_null(strstr(radi_errmsg(), "has shape (5, 4, 2), expected (5, 4, 3)"));
    const radi_volume_entry *e = NULL;
    uint64_t n = 0;
    OK(radi_dataset_volumes(ds, "A", &e, &n));
    assert_int_equal(n, 2);
    /* A mixed collection (made so) takes any shape. */
    radi_nifti_source mixed[2] = {{p[0], "sub-01", NULL}, {p[3], "sub-02", NULL}};
    OK(radi_dataset_ingest_niftis(ds, "M", 2, mixed, NULL));
    radi_nifti_source more[1] = {{p[2], "sub-03", NULL}};
    OK(radi_dataset_ingest_niftis(ds, "M", 1, more, NULL));
    assert_valid(ds);
    radi_dataset_close(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_renumbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_undone_at_every_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multi_collection_ingest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename_collection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_materialize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_materialize_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_move, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collection_copy_and_standalone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scaled_read_and_export, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vfs_move_and_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_collection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alignment_and_uniform_append, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
