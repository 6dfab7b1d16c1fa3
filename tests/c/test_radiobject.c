/* Datasets: create, ingest NIfTIs, open, resolve volumes by obs_id, validate, and
 * all-or-nothing failures (duplicate ids, bad files). */
#include "dataset_fixture.h"

static void test_create_ingest_open(void **state)
{
    fixture *f = *state;
    radi_dataset *w = NULL;
    build(f, &w);
    radi_dataset_close(w);
    assert_int_equal(radi_dataset_create(f->ctx, f->ds), RADI_E_EXISTS);

    radi_dataset *ds = NULL;
    OK(radi_dataset_open(f->ctx, f->ds, &ds));
    assert_int_equal(radi_dataset_collection_count(ds), 2);
    int seen = 0;
    for (int i = 0; i < 2; i++) {
        const char *n = radi_dataset_collection_name(ds, (uint64_t)i);
        seen |= strcmp(n, "FLAIR") == 0 ? 1 : strcmp(n, "T1w") == 0 ? 2 : 0;
    }
    assert_int_equal(seen, 3);
    assert_int_equal(radi_dataset_subject_count(ds), 3);
    assert_string_equal(radi_dataset_subject_id(ds, 0), "sub-01");
    assert_string_equal(radi_dataset_subject_id(ds, 2), "sub-03");

    const radi_volume_entry *e;
    uint64_t n;
    OK(radi_dataset_volumes(ds, "FLAIR", &e, &n));
    assert_int_equal(n, 3);
    for (uint64_t i = 0; i < 3; i++) {
        char want[64];
        snprintf(want, sizeof want, "sub-0%llu_FLAIR", (unsigned long long)i + 1);
        assert_string_equal(e[i].obs_id, want);
        /* Sorted numbering: row i is volumes/i, so 0.1.1's positional lookup agrees. */
        snprintf(want, sizeof want, "/volumes/%llu", (unsigned long long)i);
        assert_non_null(strstr(e[i].volume_uri, want));
    }

    radi_volume *v = NULL;
    OK(radi_dataset_open_volume(ds, "T1w", "sub-02_T1w", &v));
    int16_t buf[60];
    int64_t box[6] = {0, 4, 0, 3, 0, 2};
    OK(radi_volume_read(v, box, buf, sizeof buf, NULL));
    for (int i = 0; i < 60; i++) assert_int_equal(buf[i], 1200 + i);
    char s[256];
    assert_string_equal(meta_str(v, "obs_id", s, sizeof s), "sub-02_T1w");
    assert_string_equal(meta_str(v, "orientation_affine", s, sizeof s),
                        "[[1.0, 0.0, 0.0, -30.0], [0.0, 1.0, 0.0, -32.0], [0.0, 0.0, 2.0, -40.0], [0.0, 0.0, 0.0, 1.0]]");
    assert_string_equal(meta_str(v, "orientation_source", s, sizeof s), "nifti_sform");
    assert_string_equal(meta_str(v, "orientation_axcodes", s, sizeof s), "RAS");
    assert_string_equal(meta_str(v, "nifti_sform_code", s, sizeof s), "2");
    assert_string_equal(meta_str(v, "nifti_scl_slope", s, sizeof s), "1.0");
    assert_string_equal(meta_str(v, "tile_orientation", s, sizeof s), "axial");
    radi_volume_close(v);
    assert_int_equal(radi_dataset_open_volume(ds, "T1w", "sub-09_T1w", &v), RADI_E_NOT_FOUND);
    assert_int_equal(radi_dataset_open_volume(ds, "T2w", "sub-01_T2w", &v), RADI_E_NOT_FOUND);

    assert_valid(ds);
    radi_dataset_close(ds);
}

static void test_duplicates_rejected(void **state)
{
    fixture *f = *state;
    radi_dataset *ds = NULL;
    build(f, &ds);
    char a[160], b[160], cu[200];
    nifti_at(f, a, sizeof a, "a.nii", 1, 0, 0);
    nifti_at(f, b, sizeof b, "b.nii", 2, 0, 0);
    snprintf(cu, sizeof cu, "%s/collections/T2w", f->ds);
    /* The same subject twice in one collection. */
    radi_nifti_source dup[2] = {{a, "s1", NULL}, {b, "s1", NULL}};
    assert_int_equal(radi_dataset_ingest_niftis(ds, "T2w", 2, dup, NULL), RADI_E_EXISTS);
    assert_non_null(strstr(radi_errmsg(), "duplicate"));
    assert_false(exists(cu));
    /* An obs_id another collection already uses. */
    radi_nifti_source clash[1] = {{a, "sub-01", "sub-01_FLAIR"}};
    assert_int_equal(radi_dataset_ingest_niftis(ds, "T2w", 1, clash, NULL), RADI_E_EXISTS);
    assert_non_null(strstr(radi_errmsg(), "sub-01_FLAIR"));
    assert_false(exists(cu));
    assert_int_equal(radi_dataset_collection_count(ds), 2);
    assert_int_equal(radi_dataset_subject_count(ds), 3);
    radi_dataset_close(ds);
}

static void test_bad_nifti_leaves_nothing(void **state)
{
    fixture *f = *state;
    radi_dataset *ds = NULL;
    build(f, &ds);
    char good[160], bad[160], trunc[160], cu[200];
    snprintf(bad, sizeof bad, "%s/bad.nii", f->dir);
    snprintf(trunc, sizeof trunc, "%s/trunc.nii.gz", f->dir);
    nifti_at(f, good, sizeof good, "good.nii", 7, 0, 0);
    FILE *fp = fopen(bad, "wb");
    fputs("this is not a NIfTI file at all", fp);
    fclose(fp);
    snprintf(cu, sizeof cu, "%s/collections/seg", f->ds);
    radi_nifti_source src[2] = {{good, "sub-01", NULL}, {bad, "sub-04", NULL}};
    assert_int_not_equal(radi_dataset_ingest_niftis(ds, "seg", 2, src, NULL), RADI_OK);
    assert_non_null(strstr(radi_errmsg(), bad));
    assert_false(exists(cu));

    /* A .nii.gz whose header is fine but whose voxels are cut off: found while writing,
     * after the collection was started, so it must be removed again. */
    char full[160];
    nifti_at(f, full, sizeof full, "full.nii.gz", 9, 0, 0);
    FILE *in = fopen(full, "rb");
    unsigned char bytes[4096];
    size_t len = fread(bytes, 1, sizeof bytes, in);
    fclose(in);
    FILE *out = fopen(trunc, "wb");
    fwrite(bytes, 1, len - 30, out);
    fclose(out);
    radi_nifti_source src2[2] = {{good, "sub-01", NULL}, {trunc, "sub-05", NULL}};
    radi_status st = radi_dataset_ingest_niftis(ds, "seg", 2, src2, NULL);
    assert_int_not_equal(st, RADI_OK);
    assert_non_null(strstr(radi_errmsg(), "trunc.nii.gz"));
    assert_false(exists(cu));

    /* The same failure while appending to an existing collection. */
    radi_nifti_source src3[2] = {{good, "sub-06", NULL}, {trunc, "sub-07", NULL}};
    assert_int_not_equal(radi_dataset_ingest_niftis(ds, "FLAIR", 2, src3, NULL), RADI_OK);
    assert_non_null(strstr(radi_errmsg(), "trunc.nii.gz"));
    char v3[200];
    snprintf(v3, sizeof v3, "%s/collections/FLAIR/volumes/3", f->ds);
    assert_false(exists(v3));
    const radi_volume_entry *e;
    uint64_t n;
    OK(radi_dataset_volumes(ds, "FLAIR", &e, &n));
    assert_int_equal(n, 3);

    /* The dataset is as before: still consistent, no new subject. */
    assert_int_equal(radi_dataset_collection_count(ds), 2);
    assert_valid(ds);
    assert_int_equal(radi_dataset_subject_count(ds), 3);
    radi_dataset_close(ds);
}

static void test_scaled_raw_and_new_subjects(void **state)
{
    fixture *f = *state;
    radi_dataset *ds = NULL;
    build(f, &ds);
    char p[160];
    nifti_at(f, p, sizeof p, "scaled.nii.gz", 5, 2.0, 10.0);
    radi_nifti_source src[1] = {{p, "sub-04", "custom-id"}};
    radi_ingest_options opt;
    radi_ingest_options_init(&opt);
    opt.tile.orientation = RADI_SAGITTAL;
    OK(radi_dataset_ingest_niftis(ds, "ADC", 1, src, &opt));
    assert_int_equal(radi_dataset_subject_count(ds), 4);
    assert_int_equal(radi_dataset_collection_count(ds), 3);
    radi_volume *v = NULL;
    OK(radi_dataset_open_volume(ds, "ADC", "custom-id", &v));
    assert_int_equal(radi_volume_dtype(v), RADI_INT16);
    int16_t buf[60];
    int64_t box[6] = {0, 4, 0, 3, 0, 2};
    OK(radi_volume_read(v, box, buf, sizeof buf, NULL));
    assert_int_equal(buf[7], 12); /* raw, not 2*12+10 */
    char s[64];
    assert_string_equal(meta_str(v, "nifti_scl_slope", s, sizeof s), "2.0");
    assert_string_equal(meta_str(v, "nifti_scl_inter", s, sizeof s), "10.0");
    assert_string_equal(meta_str(v, "tile_orientation", s, sizeof s), "sagittal");
    radi_volume_close(v);
    assert_valid(ds);
    radi_dataset_close(ds);
}

/* Appends after the existing keys; an empty collection takes an ingest. */
static void test_append(void **state)
{
    fixture *f = *state;
    radi_dataset *ds = NULL;
    build(f, &ds);
    char p4[160], p5[160];
    nifti_at(f, p4, sizeof p4, "sub-04.nii", 400, 0, 0);
    nifti_at(f, p5, sizeof p5, "sub-05.nii.gz", 500, 0, 0);
    radi_nifti_source src[2] = {{p5, "sub-05", NULL}, {p4, "sub-04", NULL}};
    OK(radi_dataset_ingest_niftis(ds, "FLAIR", 2, src, NULL));
    assert_int_equal(radi_dataset_subject_count(ds), 5);
    const radi_volume_entry *e;
    uint64_t n;
    OK(radi_dataset_volumes(ds, "FLAIR", &e, &n));
    assert_int_equal(n, 5);
    assert_string_equal(e[3].obs_id, "sub-04_FLAIR");
    assert_non_null(strstr(e[3].volume_uri, "/volumes/3"));
    radi_volume *v = NULL;
    OK(radi_dataset_open_volume(ds, "FLAIR", "sub-05_FLAIR", &v));
    int16_t buf[60];
    int64_t box[6] = {0, 4, 0, 3, 0, 2};
    OK(radi_volume_read(v, box, buf, sizeof buf, NULL));
    assert_int_equal(buf[0], 500);
    radi_volume_close(v);
    /* Re-appending an existing id changes nothing. */
    assert_int_equal(radi_dataset_ingest_niftis(ds, "FLAIR", 1, src, NULL), RADI_E_EXISTS);
    OK(radi_dataset_add_collection(ds, "seg"));
    OK(radi_dataset_ingest_niftis(ds, "seg", 1, (radi_nifti_source[]){{p4, "sub-04", NULL}}, NULL));
    assert_valid(ds);
    assert_int_equal(radi_dataset_subject_count(ds), 5);
    radi_dataset_close(ds);
}

/* obs_meta with a user column: rows written first, then the ingest refers to them. */
static void test_obs_meta_user_columns(void **state)
{
    fixture *f = *state;
    radi_schema *bad = NULL;
    OK(radi_schema_create(RADI_SPARSE, &bad));
    OK(radi_schema_add_dim(bad, "obs_subject_id", RADI_STRING_ASCII, NULL, NULL, NULL, NULL));
    assert_int_equal(radi_dataset_create_with_obs_meta(f->ctx, f->ds, bad), RADI_E_INVALID);
    radi_schema_free(bad);
    assert_false(exists(f->ds));

    radi_schema *sc = NULL;
    OK(radi_schema_create(RADI_SPARSE, &sc));
    OK(radi_schema_add_dim(sc, "obs_subject_id", RADI_STRING_ASCII, NULL, NULL, NULL, NULL));
    OK(radi_schema_add_dim(sc, "obs_id", RADI_STRING_ASCII, NULL, NULL, NULL, NULL));
    OK(radi_schema_add_attr(sc, "age", RADI_INT64, 1, 0, NULL, NULL, 0));
    OK(radi_dataset_create_with_obs_meta(f->ctx, f->ds, sc));
    radi_schema_free(sc);
    radi_dataset *ds = NULL;
    OK(radi_dataset_open(f->ctx, f->ds, &ds));

    char om[200];
    snprintf(om, sizeof om, "%s/obs_meta", f->ds);
    radi_array *a = NULL;
    OK(radi_array_open(f->ctx, om, 0, 0, &a));
    const char keys[] = "s1s2";
    uint64_t off[2] = {0, 2};
    int64_t age[2] = {40, 50};
    radi_sparse_buffer b[3] = {{"obs_subject_id", keys, 4, off, NULL}, {"obs_id", keys, 4, off, NULL},
                               {"age", age, sizeof age, NULL, NULL}};
    OK(radi_array_write_sparse(a, 3, b, 2, 0));
    radi_array_close(a);

    char p1[160], p2[160], p3[160];
    nifti_at(f, p1, sizeof p1, "1.nii", 1, 0, 0);
    nifti_at(f, p2, sizeof p2, "2.nii", 2, 0, 0);
    nifti_at(f, p3, sizeof p3, "3.nii", 3, 0, 0);
    radi_nifti_source src[2] = {{p2, "s2", NULL}, {p1, "s1", NULL}};
    OK(radi_dataset_ingest_niftis(ds, "T1w", 2, src, NULL));
    assert_int_equal(radi_dataset_subject_count(ds), 2);
    /* A new subject needs its user columns: refused without them, taken with them. */
    radi_nifti_source extra[1] = {{p3, "s3", NULL}};
    assert_int_equal(radi_dataset_ingest_niftis(ds, "T2w", 1, extra, NULL), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "'s3'"));
    radi_ingest_options opt;
    radi_ingest_options_init(&opt);
    const char k3[] = "s3s4";
    uint64_t off3[2] = {0, 2};
    int64_t age3[2] = {60, 70};
    radi_sparse_buffer rows[3] = {{"obs_subject_id", k3, 2, off3, NULL}, {"obs_id", k3, 2, off3, NULL},
                                  {"age", age3, 8, NULL, NULL}};
    opt.obs_meta_nbuffers = 3;
    opt.obs_meta_buffers = rows;
    opt.obs_meta_rows = 1;
    rows[0].data_size = rows[1].data_size = 2;
    OK(radi_dataset_ingest_niftis(ds, "T2w", 1, extra, &opt));
    assert_int_equal(radi_dataset_subject_count(ds), 3);
    /* Rows that miss a new subject are refused before anything is written. */
    radi_nifti_source extra2[1] = {{p3, "s5", NULL}};
    assert_int_equal(radi_dataset_ingest_niftis(ds, "T2w", 1, extra2, &opt), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "'s5'"));
    OK(radi_array_open(f->ctx, om, 0, 0, &a));
    radi_sparse_query *q = NULL;
    OK(radi_sparse_query_create(a, &q));
    OK(radi_sparse_query_submit(q, NULL));
    assert_int_equal(radi_sparse_query_rows(q), 3);
    radi_sparse_column col;
    OK(radi_sparse_query_column(q, 2, &col));
    assert_string_equal(col.name, "age");
    assert_int_equal(((const int64_t *)col.data)[2], 60);
    radi_sparse_query_free(q);
    radi_array_close(a);
    assert_valid(ds);
    radi_dataset_close(ds);
}

/* validate names what is wrong: a volume whose obs_id no longer matches its obs row. */
static void test_validate_finds_mismatch(void **state)
{
    fixture *f = *state;
    radi_dataset *ds = NULL;
    build(f, &ds);
    char u[200];
    snprintf(u, sizeof u, "%s/collections/FLAIR/volumes/0", f->ds);
    radi_array *a = NULL;
    OK(radi_array_open(f->ctx, u, 0, 0, &a));
    OK(radi_meta_put(radi_array_meta(a), "obs_id", RADI_STRING_UTF8, 8, "stranger"));
    radi_array_close(a);
    radi_dataset_close(ds);
    OK(radi_dataset_open(f->ctx, f->ds, &ds));
    char **msgs = NULL;
    size_t nm = 0;
    OK(radi_dataset_validate(ds, &msgs, &nm));
    int orphan = 0, missing = 0;
    for (size_t i = 0; i < nm; i++) {
        orphan |= strstr(msgs[i], "orphan volume '0'") != NULL;
        missing |= strstr(msgs[i], "'sub-01_FLAIR' has no volume") != NULL;
    }
    assert_true(orphan);
    assert_true(missing);
    radi_messages_free(msgs, nm);
    radi_volume *v = NULL;
    assert_int_equal(radi_dataset_open_volume(ds, "FLAIR", "sub-01_FLAIR", &v), RADI_E_NOT_FOUND);
    OK(radi_dataset_open_volume(ds, "FLAIR", "sub-02_FLAIR", &v));
    radi_volume_close(v);
    radi_dataset_close(ds);
}

static void test_bad_arguments(void **state)
{
    fixture *f = *state;
    OK(radi_dataset_create(f->ctx, f->ds));
    radi_dataset *ds = NULL;
    OK(radi_dataset_open(f->ctx, f->ds, &ds));
    assert_int_equal(radi_dataset_add_collection(ds, "bad/name"), RADI_E_INVALID);
    OK(radi_dataset_add_collection(ds, "empty"));
    assert_int_equal(radi_dataset_add_collection(ds, "empty"), RADI_E_EXISTS);
    assert_int_equal(radi_dataset_ingest_niftis(ds, "x", 0, NULL, NULL), RADI_E_INVALID);
    radi_nifti_source missing[1] = {{"/nonexistent/x.nii", "s", NULL}};
    assert_int_not_equal(radi_dataset_ingest_niftis(ds, "x", 1, missing, NULL), RADI_OK);
    assert_non_null(strstr(radi_errmsg(), "/nonexistent/x.nii"));
    assert_valid(ds);
    radi_dataset_close(ds);
    assert_int_equal(radi_dataset_open(f->ctx, f->dir, &ds), RADI_E_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_ingest_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_nifti_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scaled_raw_and_new_subjects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validate_finds_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_obs_meta_user_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
