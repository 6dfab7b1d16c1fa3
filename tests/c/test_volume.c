/* Volumes: tile extents, clipping, schema layout, metadata, create/open/read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "radi/patches.h"
#include "radi/volume.h"
#include "core/core.h"

static void expect_extents(radi_orientation o, uint32_t ndim, const uint64_t *shape,
                           const uint64_t *want)
{
    radi_tile_config tc;
    radi_tile_config_init(&tc);
    tc.orientation = o;
    uint64_t got[4] = {0};
    assert_int_equal(radi_tile_extents_for_shape(&tc, ndim, shape, got), RADI_OK);
    for (uint32_t d = 0; d < ndim; d++) assert_int_equal(got[d], want[d]);
}

/* radiobject 0.1.1's TileConfig extents for each orientation (its radiobject.ctx): not clipped. */
static void test_extents_table(void **state)
{
    (void)state;
    const uint64_t s3[3] = {240, 240, 155}, s4[4] = {240, 240, 155, 4}, small[3] = {60, 64, 40};
    expect_extents(RADI_AXIAL, 3, s3, (const uint64_t[]){240, 240, 1});
    expect_extents(RADI_SAGITTAL, 3, s3, (const uint64_t[]){1, 240, 155});
    expect_extents(RADI_CORONAL, 3, s3, (const uint64_t[]){240, 1, 155});
    expect_extents(RADI_ISOTROPIC, 3, s3, (const uint64_t[]){64, 64, 64});
    expect_extents(RADI_AXIAL, 4, s4, (const uint64_t[]){240, 240, 1, 1});
    expect_extents(RADI_SAGITTAL, 4, s4, (const uint64_t[]){1, 240, 155, 1});
    expect_extents(RADI_CORONAL, 4, s4, (const uint64_t[]){240, 1, 155, 1});
    expect_extents(RADI_ISOTROPIC, 4, s4, (const uint64_t[]){64, 64, 64, 1});
    expect_extents(RADI_ISOTROPIC, 3, small, (const uint64_t[]){64, 64, 64});

    radi_tile_config tc;
    radi_tile_config_init(&tc);
    tc.z = 4;
    tc.t = 2;
    uint64_t got[4];
    assert_int_equal(radi_tile_extents_for_shape(&tc, 4, s4, got), RADI_OK);
    assert_int_equal(got[0], 240);
    assert_int_equal(got[2], 4);
    assert_int_equal(got[3], 2);

    const uint64_t s2[2] = {4, 4};
    assert_int_equal(radi_tile_extents_for_shape(&tc, 2, s2, got), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "3D or 4D"));
    const uint64_t zero[3] = {4, 0, 4};
    assert_int_equal(radi_tile_extents_for_shape(&tc, 3, zero, got), RADI_E_INVALID);
    tc.t = 0;
    assert_int_equal(radi_tile_extents_for_shape(&tc, 4, s4, got), RADI_E_INVALID);
}

static void test_orientation_names(void **state)
{
    (void)state;
    radi_orientation o;
    for (int i = 0; i <= RADI_ISOTROPIC; i++) {
        assert_int_equal(radi_orientation_parse(radi_orientation_name((radi_orientation)i), &o), RADI_OK);
        assert_int_equal(o, i);
    }
    assert_string_equal(radi_orientation_name(RADI_CORONAL), "coronal");
    assert_null(radi_orientation_name((radi_orientation)9));
    assert_int_equal(radi_orientation_parse("oblique", &o), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "oblique"));
}

typedef struct fixture {
    char dir[64];
    radi_ctx *ctx;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/radi_test_volume_XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    if (radi_ctx_create(NULL, &f->ctx) != RADI_OK) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    radi_ctx_free(f->ctx);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static char *uri_in(fixture *f, const char *name) { return rdi_path_join(f->dir, name); }

/* A small int16 volume with isotropic tiles: extents clipped to the shape, zstd(3),
 * tile_orientation metadata, full and partial reads. */
static void test_create_open_read(void **state)
{
    fixture *f = *state;
    char *uri = uri_in(f, "iso");
    const uint64_t shape[3] = {5, 6, 7};
    int16_t data[5 * 6 * 7];
    for (int i = 0; i < 5 * 6 * 7; i++) data[i] = (int16_t)(i * 3 - 100);
    radi_tile_config tc;
    radi_tile_config_init(&tc);
    tc.orientation = RADI_ISOTROPIC;
    radi_volume *v = NULL;
    assert_int_equal(radi_volume_from_buffer(f->ctx, uri, 3, shape, RADI_INT16, data, &tc, NULL, &v),
                     RADI_OK);
    assert_int_equal(radi_volume_ndim(v), 3);
    assert_int_equal(radi_volume_shape(v)[2], 7);
    assert_int_equal(radi_volume_dtype(v), RADI_INT16);

    const radi_schema *s = radi_array_schema(radi_volume_array(v));
    radi_schema_info si;
    assert_int_equal(radi_schema_get_info(s, &si), RADI_OK);
    assert_int_equal(si.type, RADI_DENSE);
    assert_int_equal(si.tile_order, RADI_ROW_MAJOR);
    assert_int_equal(si.cell_order, RADI_ROW_MAJOR);
    const char *names[3] = {"x", "y", "z"};
    for (uint32_t d = 0; d < 3; d++) {
        radi_dim_info di;
        assert_int_equal(radi_schema_get_dim(s, d, &di), RADI_OK);
        assert_string_equal(di.name, names[d]);
        assert_int_equal(di.type, RADI_INT32);
        int32_t lo, hi, ext;
        memcpy(&lo, di.lo, 4);
        memcpy(&hi, di.hi, 4);
        memcpy(&ext, di.extent, 4);
        assert_int_equal(lo, 0);
        assert_int_equal(hi, (int32_t)shape[d] - 1);
        assert_int_equal(ext, (int32_t)shape[d]); /* 64 clipped */
        assert_int_equal(di.filters.count, 0);   /* TileDB's default: inherit coords filters */
    }
    radi_attr_info at;
    assert_int_equal(radi_schema_get_attr(s, 0, &at), RADI_OK);
    assert_string_equal(at.name, "voxels");
    assert_int_equal(at.type, RADI_INT16);
    assert_int_equal(at.filters.count, 1);
    assert_int_equal(at.filters.filters[0].type, RADI_FILTER_ZSTD);
    assert_int_equal(at.filters.filters[0].level, 3);

    radi_datatype mt;
    uint32_t mc;
    const void *mv;
    assert_int_equal(radi_meta_get(radi_array_meta(radi_volume_array(v)), "tile_orientation", &mt, &mc, &mv),
                     RADI_OK);
    assert_int_equal(mt, RADI_STRING_UTF8);
    assert_int_equal(mc, 9);
    assert_memory_equal(mv, "isotropic", 9);
    radi_volume_close(v);

    assert_int_equal(radi_volume_open(f->ctx, uri, &v), RADI_OK);
    int16_t all[5 * 6 * 7];
    const int64_t full[6] = {0, 4, 0, 5, 0, 6};
    assert_int_equal(radi_volume_read(v, full, all, sizeof all, NULL), RADI_OK);
    assert_memory_equal(all, data, sizeof data);
    /* Box x 1..2, y 3, z 2..6: C order. */
    int16_t part[2 * 1 * 5];
    const int64_t box[6] = {1, 2, 3, 3, 2, 6};
    assert_int_equal(radi_volume_read(v, box, part, sizeof part, NULL), RADI_OK);
    for (int x = 0; x < 2; x++)
        for (int z = 0; z < 5; z++) assert_int_equal(part[x * 5 + z], data[((1 + x) * 6 + 3) * 7 + 2 + z]);
    /* Out of range, inverted, too small a buffer. */
    const int64_t oob[6] = {0, 5, 0, 5, 0, 6};
    assert_int_equal(radi_volume_read(v, oob, all, sizeof all, NULL), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "axis x"));
    assert_int_equal(radi_volume_read(v, full, all, 10, NULL), RADI_E_INVALID);
    radi_volume_close(v);

    /* Creating over an existing volume fails and leaves it intact. */
    assert_int_equal(radi_volume_from_buffer(f->ctx, uri, 3, shape, RADI_INT16, data, NULL, NULL, NULL),
                     RADI_E_EXISTS);
    assert_int_equal(radi_volume_open(f->ctx, uri, &v), RADI_OK);
    radi_volume_close(v);
    free(uri);
}

/* 4-D float32, axial with t = 2, LZ4 after byte-shuffle. */
static void test_4d_shuffle(void **state)
{
    fixture *f = *state;
    char *uri = uri_in(f, "d4");
    const uint64_t shape[4] = {3, 4, 5, 3};
    float data[3 * 4 * 5 * 3];
    for (int i = 0; i < 180; i++) data[i] = (float)i * 0.5f;
    radi_tile_config tc;
    radi_tile_config_init(&tc);
    tc.t = 2;
    radi_compression c;
    radi_compression_init(&c);
    c.algorithm = RADI_FILTER_LZ4;
    c.level = 1;
    c.shuffle = 1;
    radi_volume *v = NULL;
    assert_int_equal(radi_volume_from_buffer(f->ctx, uri, 4, shape, RADI_FLOAT32, data, &tc, &c, &v), RADI_OK);
    const radi_schema *s = radi_array_schema(radi_volume_array(v));
    radi_dim_info di;
    assert_int_equal(radi_schema_get_dim(s, 3, &di), RADI_OK);
    assert_string_equal(di.name, "t");
    int32_t ext;
    memcpy(&ext, di.extent, 4);
    assert_int_equal(ext, 2);
    assert_int_equal(radi_schema_get_dim(s, 2, &di), RADI_OK);
    memcpy(&ext, di.extent, 4);
    assert_int_equal(ext, 1);
    radi_attr_info at;
    assert_int_equal(radi_schema_get_attr(s, 0, &at), RADI_OK);
    assert_int_equal(at.filters.count, 2);
    assert_int_equal(at.filters.filters[0].type, RADI_FILTER_BYTESHUFFLE);
    assert_int_equal(at.filters.filters[1].type, RADI_FILTER_LZ4);
    float out[180];
    const int64_t full[8] = {0, 2, 0, 3, 0, 4, 0, 2};
    assert_int_equal(radi_volume_read(v, full, out, sizeof out, NULL), RADI_OK);
    assert_memory_equal(out, data, sizeof data);
    radi_volume_close(v);
    free(uri);
}

static void test_errors(void **state)
{
    fixture *f = *state;
    char *uri = uri_in(f, "bad");
    const uint64_t shape[3] = {2, 2, 2};
    uint8_t data[8] = {0};
    radi_compression c;
    radi_compression_init(&c);
    c.algorithm = RADI_FILTER_GZIP;
    c.level = 20;
    assert_int_equal(radi_volume_from_buffer(f->ctx, uri, 3, shape, RADI_UINT8, data, NULL, &c, NULL),
                     RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "gzip"));
    radi_object_type t;
    assert_int_equal(radi_object_type_of(f->ctx, uri, &t), RADI_OK);
    assert_int_equal(t, RADI_OBJECT_INVALID); /* nothing was created */
    c.algorithm = RADI_FILTER_RLE;
    c.level = 1;
    assert_int_equal(radi_volume_from_buffer(f->ctx, uri, 3, shape, RADI_UINT8, data, NULL, &c, NULL),
                     RADI_E_INVALID);
    assert_int_equal(radi_volume_from_buffer(f->ctx, uri, 3, shape, RADI_STRING_UTF8, data, NULL, NULL, NULL),
                     RADI_E_INVALID);
    assert_int_equal(radi_volume_from_buffer(f->ctx, uri, 2, shape, RADI_UINT8, data, NULL, NULL, NULL),
                     RADI_E_INVALID);

    /* A 2-D dense array is not a volume; opening says so. */
    radi_schema *s = NULL;
    assert_int_equal(radi_schema_create(RADI_DENSE, &s), RADI_OK);
    int32_t lo = 0, hi = 3, ext = 2;
    assert_int_equal(radi_schema_add_dim(s, "a", RADI_INT32, &lo, &hi, &ext, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_dim(s, "b", RADI_INT32, &lo, &hi, &ext, NULL), RADI_OK);
    assert_int_equal(radi_schema_add_attr(s, "voxels", RADI_UINT8, 1, 0, NULL, NULL, 0), RADI_OK);
    char *uri2 = uri_in(f, "plane");
    assert_int_equal(radi_array_create(f->ctx, uri2, s), RADI_OK);
    radi_schema_free(s);
    radi_volume *v = NULL;
    assert_int_equal(radi_volume_open(f->ctx, uri2, &v), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "not a volume"));
    assert_null(v);

    char *missing = uri_in(f, "missing");
    assert_int_not_equal(radi_volume_open(f->ctx, missing, &v), RADI_OK);
    free(missing);
    free(uri2);
    free(uri);
}

/* A dense 3-D array made by other TileDB code with one attribute not named "voxels".
 * nattr 1 or 2; attribute 0 is "data" (int16, value = cell index), attribute 1 "mask". */
static char *foreign_array(fixture *f, const char *name, uint32_t nattr, int16_t *data)
{
    radi_schema *s = NULL;
    assert_int_equal(radi_schema_create(RADI_DENSE, &s), RADI_OK);
    const char *dims[3] = {"x", "y", "z"};
    int32_t lo = 0, hi[3] = {3, 4, 5}, ext[3] = {2, 5, 3};
    for (int d = 0; d < 3; d++)
        assert_int_equal(radi_schema_add_dim(s, dims[d], RADI_INT32, &lo, &hi[d], &ext[d], NULL), RADI_OK);
    assert_int_equal(radi_schema_add_attr(s, "data", RADI_INT16, 1, 0, NULL, NULL, 0), RADI_OK);
    if (nattr == 2) assert_int_equal(radi_schema_add_attr(s, "mask", RADI_UINT8, 1, 0, NULL, NULL, 0), RADI_OK);
    char *uri = uri_in(f, name);
    assert_int_equal(radi_array_create(f->ctx, uri, s), RADI_OK);
    radi_schema_free(s);
    uint8_t mask[4 * 5 * 6] = {0};
    for (int i = 0; i < 4 * 5 * 6; i++) data[i] = (int16_t)(i - 50);
    radi_array *a = NULL;
    assert_int_equal(radi_array_open(f->ctx, uri, 0, 0, &a), RADI_OK);
    const int64_t box[6] = {0, 3, 0, 4, 0, 5};
    radi_field_buffer fb[2] = {{"data", data, sizeof(int16_t) * 4 * 5 * 6, NULL}, {"mask", mask, sizeof mask, NULL}};
    assert_int_equal(radi_array_write_dense(a, box, RADI_ROW_MAJOR, nattr, fb, 0), RADI_OK);
    radi_array_close(a);
    return uri;
}

/* volume.h: without "voxels", a single numeric attribute is the voxels, for volume reads
 * and batch patch reads alike; with two attributes the open names the reason. */
static void test_single_other_attribute(void **state)
{
    fixture *f = *state;
    int16_t data[4 * 5 * 6];
    char *uri = foreign_array(f, "data_attr", 1, data);
    radi_volume *v = NULL;
    assert_int_equal(radi_volume_open(f->ctx, uri, &v), RADI_OK);
    assert_int_equal(radi_volume_ndim(v), 3);
    assert_int_equal(radi_volume_shape(v)[1], 5);
    assert_int_equal(radi_volume_dtype(v), RADI_INT16);
    int16_t all[4 * 5 * 6];
    const int64_t whole[6] = {0, 3, 0, 4, 0, 5};
    assert_int_equal(radi_volume_read(v, whole, all, sizeof all, NULL), RADI_OK);
    assert_memory_equal(all, data, sizeof all);
    /* One axial plane (z = 4): x * 30 + y * 6 + 4 - 50. */
    int16_t plane[4 * 5];
    const int64_t pz[6] = {0, 3, 0, 4, 4, 4};
    assert_int_equal(radi_volume_read(v, pz, plane, sizeof plane, NULL), RADI_OK);
    for (int x = 0; x < 4; x++)
        for (int y = 0; y < 5; y++) assert_int_equal(plane[x * 5 + y], x * 30 + y * 6 + 4 - 50);
    /* The batch reader (tile cache path) through the same attribute, twice: the second
     * read finds the tiles in the cache. */
    for (int pass = 0; pass < 2; pass++) {
        int16_t patch[2 * 2 * 2];
        radi_patch_request r = {v, {1, 2, 3, 0}, {2, 2, 2, 0}, patch, sizeof patch, RADI_OK};
        assert_int_equal(radi_read_patches(f->ctx, &r, 1, NULL, NULL), RADI_OK);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
                for (int k = 0; k < 2; k++)
                    assert_int_equal(patch[(i * 2 + j) * 2 + k], (1 + i) * 30 + (2 + j) * 6 + 3 + k - 50);
    }
    radi_volume_close(v);
    free(uri);

    char *two = foreign_array(f, "two_attrs", 2, data);
    v = NULL;
    assert_int_equal(radi_volume_open(f->ctx, two, &v), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "no attribute 'voxels' and 2 attributes"));
    assert_null(v);
    free(two);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extents_table),
        cmocka_unit_test(test_orientation_names),
        cmocka_unit_test_setup_teardown(test_create_open_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_4d_shuffle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_other_attribute, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
