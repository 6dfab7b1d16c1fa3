/* DICOM ingest (include/radi/dicom.h, model/source_dicom.c) on small series written
 * here: voxels in position order (not InstanceNumber), the RAS affine, int16 HU, raw
 * values with a slope, the obs columns (0.1.1's 13 first) and volume metadata; appends
 * that renumber; a NIfTI and a DICOM collection in one call; refusals (two series
 * without series_uid, uneven gaps) and all-or-nothing on a bad file; the series scan
 * and source discovery. */
#include <math.h>

#include "dataset_fixture.h"
#include "dicom_writer.h"
#include "radi/dicom.h"
#include "model/source.h"

/* One slice of a synthetic series. */
typedef struct slice_opt {
    const char *series_uid, *description, *modality;
    int series_number, instance;
    double z;             /* ImagePositionPatient z (x = -10, y = 20) */
    int rank;             /* its index along z: raw samples are 1000 + 100 rank + 10 y + x */
    const char *slope, *intercept;
    int unsigned_pixels;  /* PixelRepresentation 0 */
} slice_opt;

enum { ROWS = 3, COLS = 4 };

static radi_ctx *g_wctx; /* the test's context, for the writes below */

static void write_file(const char *path, const dw *w)
{
    OK(radi_write_file(g_wctx, path, w->b.data, w->b.len));
}

static void write_slice(const char *path, const slice_opt *o)
{
    dw w = {RDI_BUF_INIT, 1, 0};
    meta(&w, "1.2.840.10008.1.2.1");
    char s[96];
    str(&w, 0x0008, 0x0008, "CS", "ORIGINAL\\PRIMARY\\AXIAL");
    str(&w, 0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.2");
    snprintf(s, sizeof s, "%s.%d", o->series_uid, o->instance);
    str(&w, 0x0008, 0x0018, "UI", s);
    str(&w, 0x0008, 0x0060, "CS", o->modality ? o->modality : "CT");
    str(&w, 0x0008, 0x103E, "LO", o->description ? o->description : "test series");
    str(&w, 0x0010, 0x0020, "LO", "PID-42");
    str(&w, 0x0018, 0x0050, "DS", "2.5");
    str(&w, 0x0018, 0x0060, "DS", "120");
    str(&w, 0x0020, 0x000D, "UI", "1.2.3");
    str(&w, 0x0020, 0x000E, "UI", o->series_uid);
    snprintf(s, sizeof s, "%d", o->series_number);
    str(&w, 0x0020, 0x0011, "IS", s);
    snprintf(s, sizeof s, "%d", o->instance);
    str(&w, 0x0020, 0x0013, "IS", s);
    snprintf(s, sizeof s, "-10\\20\\%g", o->z);
    str(&w, 0x0020, 0x0032, "DS", s);
    str(&w, 0x0020, 0x0037, "DS", "1\\0\\0\\0\\1\\0");
    us(&w, 0x0028, 0x0002, 1);
    str(&w, 0x0028, 0x0004, "CS", "MONOCHROME2");
    us(&w, 0x0028, 0x0010, ROWS);
    us(&w, 0x0028, 0x0011, COLS);
    str(&w, 0x0028, 0x0030, "DS", "0.5\\0.75");
    us(&w, 0x0028, 0x0100, 16);
    us(&w, 0x0028, 0x0101, 16);
    us(&w, 0x0028, 0x0102, 15);
    us(&w, 0x0028, 0x0103, o->unsigned_pixels ? 0 : 1);
    str(&w, 0x0028, 0x1052, "DS", o->intercept ? o->intercept : "-1024");
    str(&w, 0x0028, 0x1053, "DS", o->slope ? o->slope : "1");
    hdr(&w, 0x7FE0, 0x0010, "OW", ROWS * COLS * 2);
    for (int y = 0; y < ROWS; y++)
        for (int x = 0; x < COLS; x++) put16(&w, (uint16_t)(1000 + 100 * o->rank + 10 * y + x));
    write_file(path, &w);
    rdi_buf_free(&w.b);
}

/* A 5-slice series in dir: z = 0, 2.5, ... 10; files named so that their name order,
 * their InstanceNumbers and their positions all disagree. */
static void write_series(const char *dir, const char *uid, int number, const slice_opt *base)
{
    static const int order[5] = {3, 0, 4, 1, 2}; /* rank of file f<i> */
    mkdir(dir, 0755);
    for (int i = 0; i < 5; i++) {
        slice_opt o = base ? *base : (slice_opt){0};
        o.series_uid = uid;
        o.series_number = number;
        o.rank = order[i];
        o.z = 2.5 * order[i];
        o.instance = 10 - order[i];
        char p[256];
        snprintf(p, sizeof p, "%s/%s_f%d", dir, uid, i);
        write_slice(p, &o);
    }
}

static char *path_in(const fixture *f, char *buf, size_t cap, const char *rel)
{
    g_wctx = f->ctx;
    snprintf(buf, cap, "%s/%s", f->dir, rel);
    return buf;
}

/* The volume's voxels (C order, x slowest) are those of write_series: value(x, y, z). */
static void check_volume(radi_dataset *ds, const char *coll, const char *oid, int hu)
{
    radi_volume *v = NULL;
    OK(radi_dataset_open_volume(ds, coll, oid, &v));
    assert_int_equal(radi_volume_ndim(v), 3);
    const uint64_t *sh = radi_volume_shape(v);
    assert_int_equal(sh[0], COLS);
    assert_int_equal(sh[1], ROWS);
    assert_int_equal(sh[2], 5);
    int64_t box[6] = {0, COLS - 1, 0, ROWS - 1, 0, 4};
    float phys[COLS * ROWS * 5];
    OK(radi_volume_read_scaled(v, box, RADI_FLOAT32, phys, sizeof phys, NULL));
    for (int x = 0; x < COLS; x++)
        for (int y = 0; y < ROWS; y++)
            for (int z = 0; z < 5; z++) {
                double raw = 1000 + 100 * z + 10 * y + x;
                double want = hu ? raw - 1024 : raw * 2.5 + 1;
                assert_float_equal(phys[(x * ROWS + y) * 5 + z], want, 1e-4);
            }
    char s[512];
    /* LPS -> RAS: x along -L (columns 0.75 mm apart), y along -P (rows 0.5 mm), z 2.5 mm. */
    assert_string_equal(meta_str(v, "orientation_affine", s, sizeof s),
                        "[[-0.75, 0.0, 0.0, 10.0], [0.0, -0.5, 0.0, -20.0], [0.0, 0.0, 2.5, 0.0], "
                        "[0.0, 0.0, 0.0, 1.0]]");
    assert_string_equal(meta_str(v, "orientation_source", s, sizeof s), "dicom_iop");
    assert_string_equal(meta_str(v, "orientation_axcodes", s, sizeof s), "LPS");
    assert_string_equal(meta_str(v, "obs_id", s, sizeof s), oid);
    if (hu) {
        /* HU fit int16: stored as int16 physical values, no scaling left. */
        assert_int_equal(radi_volume_dtype(v), RADI_INT16);
        assert_string_equal(meta_str(v, "nifti_scl_slope", s, sizeof s), "1.0");
        assert_string_equal(meta_str(v, "nifti_scl_inter", s, sizeof s), "0.0");
        assert_string_equal(meta_str(v, "dicom_rescale_intercept", s, sizeof s), "-1024.0");
    } else {
        assert_int_equal(radi_volume_dtype(v), RADI_UINT16);
        assert_string_equal(meta_str(v, "nifti_scl_slope", s, sizeof s), "2.5");
        assert_string_equal(meta_str(v, "nifti_scl_inter", s, sizeof s), "1.0");
    }
    radi_volume_close(v);
}

/* The obs columns of collection coll: the DICOM kind's, in its order. */
static void check_obs_columns(const fixture *f, const char *coll, int patient_id)
{
    char obs[256];
    snprintf(obs, sizeof obs, "%s/collections/%s/obs", f->ds, coll);
    radi_array *a = NULL;
    OK(radi_array_open(f->ctx, obs, 0, 0, &a));
    radi_schema_info si;
    OK(radi_schema_get_info(radi_array_schema(a), &si));
    const rdi_image_source_ops *k = &rdi_dicom_image_source;
    assert_int_equal(si.nattr, k->nobs + (patient_id ? 1 : 0));
    static const char *const first13[13] = {
        "voxel_spacing", "dimensions", "modality", "series_description", "kvp", "exposure", "repetition_time",
        "echo_time", "magnetic_field_strength", "axcodes", "affine_json", "orientation_source", "source_path"};
    for (uint32_t i = 0; i < si.nattr; i++) {
        radi_attr_info ai;
        OK(radi_schema_get_attr(radi_array_schema(a), i, &ai));
        if (i < 13) assert_string_equal(ai.name, first13[i]);
        if (i < k->nobs) {
            assert_string_equal(ai.name, k->obs_names[i]);
            assert_int_equal(ai.type, k->obs_types[i]);
        } else {
            assert_string_equal(ai.name, "patient_id");
        }
    }
    radi_array_close(a);
}

/* The string value of obs column `col` in row `row` (byte order of the keys). */
static void obs_value(const fixture *f, const char *coll, uint64_t row, const char *col, char *out, size_t cap)
{
    char obs[256];
    snprintf(obs, sizeof obs, "%s/collections/%s/obs", f->ds, coll);
    radi_array *a = NULL;
    radi_sparse_query *q = NULL;
    OK(radi_array_open(f->ctx, obs, 0, 0, &a));
    OK(radi_sparse_query_create(a, &q));
    OK(radi_sparse_query_submit(q, NULL));
    uint32_t idx = 0;
    OK(radi_schema_attr_index(radi_array_schema(a), col, &idx));
    radi_sparse_column c;
    OK(radi_sparse_query_column(q, 2 + idx, &c));
    assert_true(row < radi_sparse_query_rows(q));
    if (c.type == RADI_FLOAT64) {
        snprintf(out, cap, "%g", ((const double *)c.data)[row]);
    } else {
        uint64_t lo = c.offsets[row], hi = row + 1 < radi_sparse_query_rows(q) ? c.offsets[row + 1] : c.data_size;
        snprintf(out, cap, "%.*s", (int)(hi - lo), (const char *)c.data + lo);
    }
    radi_sparse_query_free(q);
    radi_array_close(a);
}

static void test_ingest_series(void **state)
{
    fixture *f = *state;
    char d1[200], d2[200], p[200];
    write_series(path_in(f, d1, sizeof d1, "p2"), "1.2.3.4", 3, NULL);
    write_series(path_in(f, d2, sizeof d2, "p1"), "1.2.3.5", 3, NULL);
    /* Files that are not part of any series are skipped. */
    OK(radi_write_file(f->ctx, path_in(f, p, sizeof p, "p1/README"), "not dicom", 9));
    OK(radi_write_file(f->ctx, path_in(f, p, sizeof p, "p1/DICOMDIR"), "ignored", 7));
    OK(radi_dataset_create(f->ctx, f->ds));
    radi_dataset *ds = NULL;
    OK(radi_dataset_open(f->ctx, f->ds, &ds));
    radi_dicom_source src[2] = {{d1, "p2", NULL, NULL}, {d2, "p1", NULL, NULL}};
    radi_dicom_collection c = {"CT", 2, src};
    OK(radi_dataset_ingest_dicoms(ds, 1, &c, NULL, NULL));
    check_volume(ds, "CT", "p1_CT", 1);
    check_volume(ds, "CT", "p2_CT", 1);
    check_obs_columns(f, "CT", 0);
    char v[256];
    obs_value(f, "CT", 0, "source_path", v, sizeof v);
    assert_string_equal(v, d2);
    obs_value(f, "CT", 0, "dimensions", v, sizeof v);
    assert_string_equal(v, "(3, 4, 5)"); /* 0.1.1's (Rows, Columns, n) */
    obs_value(f, "CT", 0, "spacing_xyz", v, sizeof v);
    assert_string_equal(v, "(0.75, 0.5, 2.5)");
    obs_value(f, "CT", 0, "instance_order", v, sizeof v);
    assert_string_equal(v, "descending");
    obs_value(f, "CT", 1, "rescale_intercept", v, sizeof v);
    assert_string_equal(v, "-1024");
    obs_value(f, "CT", 1, "kvp", v, sizeof v);
    assert_string_equal(v, "120");
    assert_valid(ds);
    radi_dataset_close(ds);
}

/* Raw values with a non-integer slope stay raw (uint16) with the slope recorded;
 * keep_patient_id adds the column. */
static void test_raw_with_slope_and_patient_id(void **state)
{
    fixture *f = *state;
    char d[200];
    slice_opt o = {.slope = "2.5", .intercept = "1", .unsigned_pixels = 1, .modality = "MR"};
    write_series(path_in(f, d, sizeof d, "m1"), "1.2.9", 1, &o);
    OK(radi_dataset_create(f->ctx, f->ds));
    radi_dataset *ds = NULL;
    OK(radi_dataset_open(f->ctx, f->ds, &ds));
    radi_dicom_options opt;
    radi_dicom_options_init(&opt);
    opt.keep_patient_id = 1;
    radi_dicom_source src = {d, "m1", "m1_T2", NULL};
    radi_dicom_collection c = {"T2", 1, &src};
    OK(radi_dataset_ingest_dicoms(ds, 1, &c, NULL, &opt));
    check_volume(ds, "T2", "m1_T2", 0);
    check_obs_columns(f, "T2", 1);
    char v[64];
    obs_value(f, "T2", 0, "patient_id", v, sizeof v);
    assert_string_equal(v, "PID-42");
    obs_value(f, "T2", 0, "stored_values", v, sizeof v);
    assert_string_equal(v, "raw");
    radi_dataset_close(ds);
}

/* An append between existing subjects renumbers; NIfTI and DICOM in one call. */
static void test_append_and_mixed(void **state)
{
    fixture *f = *state;
    radi_dataset *ds = NULL;
    build(f, &ds); /* FLAIR and T1w (sub-01..03) from NIfTI */
    char d[3][200], nii[200];
    write_series(path_in(f, d[0], sizeof d[0], "sub-03"), "1.2.3.7", 2, NULL);
    write_series(path_in(f, d[1], sizeof d[1], "sub-01"), "1.2.3.8", 2, NULL);
    radi_dicom_source s1[2] = {{d[0], "sub-03", NULL, NULL}, {d[1], "sub-01", NULL, NULL}};
    radi_dicom_collection c1 = {"CT", 2, s1};
    radi_nifti_source ns = {nifti_at(f, nii, sizeof nii, "x.nii", 5, 0, 0), "sub-01", NULL};
    radi_ingest_collection nc = {"PD", 1, &ns};
    OK(radi_dataset_ingest_images(ds, 1, &nc, 1, &c1, NULL, NULL));
    assert_int_equal(radi_dataset_collection_count(ds), 4);
    /* sub-02 sorts between: volumes/1 moves to volumes/2. */
    write_series(path_in(f, d[2], sizeof d[2], "sub-02"), "1.2.3.9", 2, NULL);
    radi_dicom_source s2 = {d[2], "sub-02", NULL, NULL};
    radi_dicom_collection c2 = {"CT", 1, &s2};
    OK(radi_dataset_ingest_dicoms(ds, 1, &c2, NULL, NULL));
    const radi_volume_entry *e = NULL;
    uint64_t n = 0;
    OK(radi_dataset_volumes(ds, "CT", &e, &n));
    assert_int_equal(n, 3);
    for (uint64_t i = 0; i < n; i++) {
        char want[32];
        snprintf(want, sizeof want, "/volumes/%llu", (unsigned long long)i);
        assert_non_null(strstr(e[i].volume_uri, want));
        check_volume(ds, "CT", e[i].obs_id, 1);
    }
    assert_string_equal(e[1].obs_id, "sub-02_CT");
    /* A DICOM series into a NIfTI collection, or with another set of columns: refused
     * before anything is written. */
    radi_dicom_source s3 = {d[2], "sub-04", NULL, NULL};
    radi_dicom_collection c3 = {"FLAIR", 1, &s3};
    assert_int_equal(radi_dataset_ingest_dicoms(ds, 1, &c3, NULL, NULL), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "has no column 'modality'"));
    radi_dicom_options o;
    radi_dicom_options_init(&o);
    o.keep_patient_id = 1;
    c3.name = "CT";
    assert_int_equal(radi_dataset_ingest_dicoms(ds, 1, &c3, NULL, &o), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "has no column 'patient_id'"));
    OK(radi_dataset_volumes(ds, "CT", &e, &n));
    assert_int_equal(n, 3);
    assert_valid(ds);
    radi_dataset_close(ds);
}

/* The dataset has no collection (nothing was left by a failed ingest). */
static void assert_empty(const fixture *f)
{
    radi_dataset *ds = NULL;
    OK(radi_dataset_open(f->ctx, f->ds, &ds));
    assert_int_equal(radi_dataset_collection_count(ds), 0);
    assert_valid(ds);
    radi_dataset_close(ds);
}

static void test_refusals(void **state)
{
    fixture *f = *state;
    char d[200], g[200], p[320];
    /* Two series in one directory. */
    path_in(f, d, sizeof d, "two");
    write_series(d, "1.2.3.10", 4, NULL);
    slice_opt other = {.description = "other one"};
    write_series(d, "1.2.3.11", 5, &other);
    OK(radi_dataset_create(f->ctx, f->ds));
    radi_dataset *ds = NULL;
    OK(radi_dataset_open(f->ctx, f->ds, &ds));
    radi_dicom_source src = {d, "s", NULL, NULL};
    radi_dicom_collection c = {"CT", 1, &src};
    assert_int_equal(radi_dataset_ingest_dicoms(ds, 1, &c, NULL, NULL), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "2 DICOM image series"));
    assert_non_null(strstr(radi_errmsg(), "'other one' #5 CT, 5 files"));
    assert_non_null(strstr(radi_errmsg(), "1.2.3.10"));
    assert_non_null(strstr(radi_errmsg(), d));
    /* A series UID that is not there. */
    src.series_uid = "9.9.9";
    assert_int_equal(radi_dataset_ingest_dicoms(ds, 1, &c, NULL, NULL), RADI_E_NOT_FOUND);
    assert_non_null(strstr(radi_errmsg(), "9.9.9"));
    radi_dataset_close(ds);
    assert_empty(f);

    /* Uneven gaps: one slice moved. */
    path_in(f, g, sizeof g, "gaps");
    mkdir(g, 0755);
    static const double zs[4] = {0, 2.5, 5, 11};
    for (int i = 0; i < 4; i++) {
        slice_opt o = {.series_uid = "1.2.3.12", .series_number = 1, .instance = i + 1, .z = zs[i], .rank = i};
        snprintf(p, sizeof p, "%s/s%d", g, i);
        write_slice(p, &o);
    }
    OK(radi_dataset_open(f->ctx, f->ds, &ds));
    radi_dicom_source gs = {g, "g", NULL, NULL};
    radi_dicom_collection gc = {"CT", 1, &gs};
    assert_int_equal(radi_dataset_ingest_dicoms(ds, 1, &gc, NULL, NULL), RADI_E_UNSUPPORTED);
    assert_non_null(strstr(radi_errmsg(), "uneven slice spacing"));
    assert_non_null(strstr(radi_errmsg(), "2.5, 2.5, 6"));
    /* A looser tolerance does not make it even: the gap is 2.4 times the others. */
    radi_dicom_options o;
    radi_dicom_options_init(&o);
    o.gap_tolerance_mm = 4;
    OK(radi_dataset_ingest_dicoms(ds, 1, &gc, NULL, &o));
    radi_dataset_close(ds);

    /* An empty directory, a missing one. */
    char e[200];
    mkdir(path_in(f, e, sizeof e, "empty"), 0755);
    OK(radi_dataset_open(f->ctx, f->ds, &ds));
    radi_dicom_source es = {e, "e", NULL, NULL};
    radi_dicom_collection ec = {"MR", 1, &es};
    assert_int_equal(radi_dataset_ingest_dicoms(ds, 1, &ec, NULL, NULL), RADI_E_NOT_FOUND);
    assert_non_null(strstr(radi_errmsg(), "no DICOM image series"));
    es.path = "/nonexistent/radi/dir";
    assert_int_equal(radi_dataset_ingest_dicoms(ds, 1, &ec, NULL, NULL), RADI_E_NOT_FOUND);
    assert_non_null(strstr(radi_errmsg(), "/nonexistent/radi/dir"));
    radi_dataset_close(ds);
}

/* A bad file in one subject: nothing of the call is written, a new collection or an
 * append alike. */
static void test_all_or_nothing(void **state)
{
    fixture *f = *state;
    char good[200], bad[200], p[320];
    write_series(path_in(f, good, sizeof good, "good"), "1.2.3.20", 1, NULL);
    write_series(path_in(f, bad, sizeof bad, "bad"), "1.2.3.21", 1, NULL);
    /* Cut one file inside its pixel data. */
    snprintf(p, sizeof p, "%s/1.2.3.21_f2", bad);
    void *data = NULL;
    uint64_t len = 0;
    OK(radi_read_file(f->ctx, p, 1 << 20, &data, &len));
    OK(radi_write_file(f->ctx, p, data, len - 7));
    radi_free(data);
    OK(radi_dataset_create(f->ctx, f->ds));
    radi_dataset *ds = NULL;
    OK(radi_dataset_open(f->ctx, f->ds, &ds));
    radi_dicom_source src[2] = {{good, "a", NULL, NULL}, {bad, "b", NULL, NULL}};
    radi_dicom_collection c = {"CT", 2, src};
    assert_int_not_equal(radi_dataset_ingest_dicoms(ds, 1, &c, NULL, NULL), RADI_OK);
    assert_non_null(strstr(radi_errmsg(), p));
    radi_dataset_close(ds);
    assert_empty(f);
    char vols[256];
    snprintf(vols, sizeof vols, "%s/collections/CT", f->ds);
    assert_false(exists(vols));
    /* The append of the same: the collection made by the good one is kept as it was. */
    OK(radi_dataset_open(f->ctx, f->ds, &ds));
    c.n = 1;
    OK(radi_dataset_ingest_dicoms(ds, 1, &c, NULL, NULL));
    radi_dicom_collection c2 = {"CT", 1, &src[1]};
    assert_int_not_equal(radi_dataset_ingest_dicoms(ds, 1, &c2, NULL, NULL), RADI_OK);
    const radi_volume_entry *e = NULL;
    uint64_t n = 0;
    OK(radi_dataset_volumes(ds, "CT", &e, &n));
    assert_int_equal(n, 1);
    check_volume(ds, "CT", "a_CT", 1);
    assert_valid(ds);
    radi_dataset_close(ds);
}

static void test_scan(void **state)
{
    fixture *f = *state;
    char d[200];
    path_in(f, d, sizeof d, "mixed");
    write_series(d, "1.2.3.31", 7, NULL);
    slice_opt o = {.description = "second", .modality = "MR"};
    write_series(d, "1.2.3.30", 2, &o);
    radi_dicom_series_list *l = NULL;
    OK(radi_dicom_scan(f->ctx, d, &l));
    assert_int_equal(radi_dicom_series_count(l), 2);
    const radi_dicom_series_info *a = radi_dicom_series_at(l, 0), *b = radi_dicom_series_at(l, 1);
    assert_null(radi_dicom_series_at(l, 2));
    /* By series number. */
    assert_string_equal(a->series_uid, "1.2.3.30");
    assert_string_equal(a->modality, "MR");
    assert_string_equal(a->series_description, "second");
    assert_int_equal(a->series_number, 2);
    assert_int_equal(a->nfiles, 5);
    assert_int_equal(a->nframes, 5);
    assert_int_equal(a->rows, ROWS);
    assert_int_equal(a->cols, COLS);
    assert_string_equal(b->series_uid, "1.2.3.31");
    radi_dicom_series_list_free(l);
    /* Picking one of them by UID ingests it. */
    OK(radi_dataset_create(f->ctx, f->ds));
    radi_dataset *ds = NULL;
    OK(radi_dataset_open(f->ctx, f->ds, &ds));
    radi_dicom_source src = {d, "x", NULL, "1.2.3.31"};
    radi_dicom_collection c = {"CT", 1, &src};
    OK(radi_dataset_ingest_dicoms(ds, 1, &c, NULL, NULL));
    check_volume(ds, "CT", "x_CT", 1);
    radi_dataset_close(ds);
}

static void test_discovery(void **state)
{
    fixture *f = *state;
    char root[200], d[256], pat[256];
    path_in(f, root, sizeof root, "subjects");
    mkdir(root, 0755);
    const char *subs[3] = {"s2", "s1", ".hidden"};
    for (int i = 0; i < 3; i++) {
        snprintf(d, sizeof d, "%s/%s", root, subs[i]);
        mkdir(d, 0755);
        snprintf(d, sizeof d, "%s/%s/CT", root, subs[i]);
        write_series(d, "1.2.3.40", 1, NULL);
    }
    /* A directory of subject directories. */
    radi_dicom_source_list *l = NULL;
    snprintf(pat, sizeof pat, "%s/s1/CT", root);
    OK(radi_dicom_sources_from_pattern(f->ctx, pat, "CT", &l));
    assert_int_equal(radi_dicom_source_list_count(l), 1);
    assert_string_equal(radi_dicom_source_list_items(l)[0].subject_id, "CT"); /* a series directory */
    radi_dicom_source_list_free(l);
    OK(radi_dicom_sources_from_pattern(f->ctx, root, "CT", &l));
    assert_int_equal(radi_dicom_source_list_count(l), 2);
    assert_string_equal(radi_dicom_source_list_items(l)[0].subject_id, "s1");
    assert_string_equal(radi_dicom_source_list_items(l)[1].subject_id, "s2");
    radi_dicom_source_list_free(l);
    /* A glob with a literal segment after the wildcard: named by the '*' segment. */
    snprintf(pat, sizeof pat, "%s/s*/CT", root);
    OK(radi_dicom_sources_from_pattern(f->ctx, pat, "CT", &l));
    assert_int_equal(radi_dicom_source_list_count(l), 2);
    assert_string_equal(radi_dicom_source_list_items(l)[0].subject_id, "s1");
    snprintf(d, sizeof d, "%s/s1/CT", root);
    assert_string_equal(radi_dicom_source_list_items(l)[0].path, d);
    OK(radi_dataset_create(f->ctx, f->ds));
    radi_dataset *ds = NULL;
    OK(radi_dataset_open(f->ctx, f->ds, &ds));
    radi_dicom_collection c = {"CT", radi_dicom_source_list_count(l), radi_dicom_source_list_items(l)};
    OK(radi_dataset_ingest_dicoms(ds, 1, &c, NULL, NULL));
    check_volume(ds, "CT", "s2_CT", 1);
    radi_dataset_close(ds);
    radi_dicom_source_list_free(l);
    /* Nothing. */
    snprintf(pat, sizeof pat, "%s/z*", root);
    assert_int_equal(radi_dicom_sources_from_pattern(f->ctx, pat, "CT", &l), RADI_E_NOT_FOUND);
    snprintf(pat, sizeof pat, "%s/s1/CT/missing", root);
    assert_int_equal(radi_dicom_sources_from_pattern(f->ctx, pat, "CT", &l), RADI_E_NOT_FOUND);
    /* Two matches giving one subject (the last wildcard segment matched CT twice). */
    snprintf(d, sizeof d, "%s/s1/CX", root);
    mkdir(d, 0755);
    snprintf(pat, sizeof pat, "%s/s*/C?", root);
    assert_int_equal(radi_dicom_sources_from_pattern(f->ctx, pat, "CT", &l), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "both give subject"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ingest_series, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_with_slope_and_patient_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_and_mixed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discovery, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
