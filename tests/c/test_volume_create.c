/* Volume.create and Volume.from_nifti's C entry points (radi_volume_create,
 * radi_volume_from_nifti) and the axis-code rule (radi_affine_axcodes). */
#include <math.h>

#include "dataset_fixture.h"
#include "radi/volume.h"

/* An empty volume: the schema of radi_volume_from_buffer, no fragment, so reads give
 * TileDB's fill value (the type's minimum for signed integers) until written. */
static void test_create_empty(void **state)
{
    fixture *f = *state;
    char uri[160];
    snprintf(uri, sizeof uri, "%s/empty", f->dir);
    const uint64_t shape[3] = {4, 5, 6};
    radi_volume *v = NULL;
    OK(radi_volume_create(f->ctx, uri, 3, shape, RADI_INT16, NULL, NULL, &v));
    assert_int_equal(radi_volume_ndim(v), 3);
    assert_int_equal(radi_volume_shape(v)[1], 5);
    assert_int_equal(radi_volume_dtype(v), RADI_INT16);
    assert_int_equal(radi_array_fragment_count(radi_volume_array(v)), 0);
    char buf[32];
    assert_string_equal(meta_str(v, "tile_orientation", buf, sizeof buf), "axial");
    int16_t out[120];
    const int64_t box[6] = {0, 3, 0, 4, 0, 5};
    OK(radi_volume_read(v, box, out, sizeof out, NULL));
    for (int i = 0; i < 120; i++) assert_int_equal(out[i], INT16_MIN);

    /* Written afterwards through the array, the volume reads the new voxels. */
    int16_t data[120];
    for (int i = 0; i < 120; i++) data[i] = (int16_t)(7 * i - 50);
    radi_field_buffer fb = {"voxels", data, sizeof data, NULL};
    radi_array *a = NULL;
    OK(radi_array_open(f->ctx, uri, 0, 0, &a));
    OK(radi_array_write_dense(a, box, RADI_ROW_MAJOR, 1, &fb, 0));
    radi_array_close(a);
    radi_volume_close(v);
    OK(radi_volume_open(f->ctx, uri, &v));
    OK(radi_volume_read(v, box, out, sizeof out, NULL));
    assert_memory_equal(out, data, sizeof data);
    radi_volume_close(v);

    /* The URI is taken now; shapes other than 3-D / 4-D and non-numeric types are refused. */
    assert_int_equal(radi_volume_create(f->ctx, uri, 3, shape, RADI_INT16, NULL, NULL, NULL), RADI_E_EXISTS);
    snprintf(uri, sizeof uri, "%s/flat", f->dir);
    assert_int_equal(radi_volume_create(f->ctx, uri, 2, shape, RADI_FLOAT32, NULL, NULL, NULL), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "3D or 4D"));
    assert_int_equal(radi_volume_create(f->ctx, uri, 3, shape, RADI_STRING_UTF8, NULL, NULL, NULL),
                     RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "numeric or bool"));
    assert_int_equal(exists(uri), 0);
}

/* An empty volume is never held in memory, so a shape too large for one buffer is fine. */
static void test_create_huge_4d(void **state)
{
    fixture *f = *state;
    char uri[160];
    snprintf(uri, sizeof uri, "%s/huge", f->dir);
    const uint64_t shape[4] = {100000, 100000, 100000, 3};
    radi_volume *v = NULL;
    OK(radi_volume_create(f->ctx, uri, 4, shape, RADI_FLOAT64, NULL, NULL, &v));
    assert_int_equal(radi_volume_shape(v)[3], 3);
    double one[1];
    const int64_t box[8] = {99999, 99999, 5, 5, 0, 0, 2, 2};
    OK(radi_volume_read(v, box, one, sizeof one, NULL));
    assert_true(isnan(one[0])); /* TileDB's float fill value */
    radi_volume_close(v);
}

static void test_from_nifti(void **state)
{
    fixture *f = *state;
    char path[160], uri[160], buf[256];
    nifti_at(f, path, sizeof path, "img.nii.gz", 100, 2.0, 10.0);
    snprintf(uri, sizeof uri, "%s/vol", f->dir);
    radi_volume *v = NULL;
    OK(radi_volume_from_nifti(f->ctx, uri, path, NULL, NULL, &v));
    assert_int_equal(radi_volume_shape(v)[0], 5);
    assert_int_equal(radi_volume_dtype(v), RADI_INT16);
    double slope, inter;
    int has;
    OK(radi_volume_scaling(v, &slope, &inter, &has));
    assert_true(has && slope == 2.0 && inter == 10.0);
    int16_t raw[60];
    const int64_t box[6] = {0, 4, 0, 3, 0, 2};
    OK(radi_volume_read(v, box, raw, sizeof raw, NULL));
    /* The fixture's voxel i (C order, as radi_nifti_write takes it) is 100 + i, raw. */
    for (int i = 0; i < 60; i++) assert_int_equal(raw[i], 100 + i);
    assert_string_equal(meta_str(v, "orientation_axcodes", buf, sizeof buf), "RAS");
    assert_string_equal(meta_str(v, "orientation_source", buf, sizeof buf), "nifti_sform");
    assert_string_equal(meta_str(v, "nifti_sform_code", buf, sizeof buf), "2");
    assert_string_equal(meta_str(v, "orientation_affine", buf, sizeof buf),
                        "[[1.0, 0.0, 0.0, -30.0], [0.0, 1.0, 0.0, -32.0], [0.0, 0.0, 2.0, -40.0], "
                        "[0.0, 0.0, 0.0, 1.0]]");
    radi_datatype t;
    uint32_t n;
    const void *p;
    /* A stand-alone volume has no obs_id until one is set. */
    assert_int_equal(radi_meta_get(radi_array_meta(radi_volume_array(v)), "obs_id", &t, &n, &p), RADI_E_NOT_FOUND);
    radi_volume_close(v);

    /* Errors name the file; nothing is left at the volume's URI. */
    snprintf(uri, sizeof uri, "%s/vol2", f->dir);
    snprintf(path, sizeof path, "%s/missing.nii", f->dir);
    assert_int_not_equal(radi_volume_from_nifti(f->ctx, uri, path, NULL, NULL, &v), RADI_OK);
    assert_non_null(strstr(radi_errmsg(), "missing.nii"));
    assert_null(v);
    assert_int_equal(exists(uri), 0);
    assert_int_equal(radi_volume_from_nifti(f->ctx, uri, NULL, NULL, NULL, &v), RADI_E_INVALID);
}

static void test_affine_axcodes(void **state)
{
    (void)state;
    char out[4];
    const double ident[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    radi_affine_axcodes(ident, out);
    assert_string_equal(out, "RAS");
    const double las[16] = {-1.5, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2.5, 0, 0, 0, 0, 1};
    radi_affine_axcodes(las, out);
    assert_string_equal(out, "LAS");
    /* Voxel x runs anterior, y left, z inferior. */
    const double perm[16] = {0, -2, 0, 10, 1.5, 0, 0, -3, 0, 0, -2.5, 7, 0, 0, 0, 1};
    radi_affine_axcodes(perm, out);
    assert_string_equal(out, "ALI");
    /* A zero column has no direction. */
    const double flat[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    radi_affine_axcodes(flat, out);
    assert_int_equal(out[2], '?');
}

int main(void)
{
    (void)build, (void)assert_valid; /* the shared fixture's dataset helpers: not needed here */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_huge_4d, setup, teardown),
        cmocka_unit_test_setup_teardown(test_from_nifti, setup, teardown),
        cmocka_unit_test(test_affine_axcodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
