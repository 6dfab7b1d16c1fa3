/* The image-source seam (src/model/source.h): ingest through a kind that is not NIfTI,
 * with its own obs columns and metadata; the header contract and the obs-row checks;
 * the field builders. */
#include <math.h>
#include <stdatomic.h>

#include "dataset_fixture.h"
#include "ctx/ctx.h"
#include "model/source.h"

/* A made-up kind: desc is a fake_desc; the volume is nx x 3 x 2 uint16 with voxel i
 * (column-major) = base + i. */
typedef struct fake_desc {
    const char *path;
    uint16_t base;
    uint64_t nx;
    int odd_columns;           /* describe an extra obs column */
    int bad_affine;            /* a NaN in the affine */
} fake_desc;

typedef struct fake_source {
    rdi_image_source base;
    const fake_desc *d;
} fake_source;

static const char *const fake_obs_names[4] = {"label", "count", "gain", "source_path"};
static const radi_datatype fake_obs_types[4] = {RADI_STRING_UTF8, RADI_INT64, RADI_FLOAT64, RADI_STRING_UTF8};
static const rdi_image_source_ops fake_kind;
static atomic_int fake_open_handles; /* handles open now (from the pool's threads) */

static radi_status fake_open(radi_ctx *ctx, const void *desc, rdi_image_source **out)
{
    (void)ctx;
    fake_source *s = calloc(1, sizeof *s);
    if (!s) return RADI_E_NOMEM;
    s->base.ops = &fake_kind;
    s->d = desc;
    fake_open_handles++;
    *out = &s->base;
    return RADI_OK;
}

static radi_status fake_header(rdi_image_source *src, rdi_image_header *h)
{
    const fake_desc *d = ((fake_source *)src)->d;
    memset(h, 0, sizeof *h);
    h->ndim = 3;
    h->shape[0] = d->nx, h->shape[1] = 3, h->shape[2] = 2, h->shape[3] = 1;
    h->datatype = RADI_UINT16;
    for (int i = 0; i < 4; i++) h->affine[i * 5] = 1;
    if (d->bad_affine) h->affine[3] = NAN;
    h->scl_slope = 2, h->scl_inter = -1;
    return RADI_OK;
}

static radi_status fake_describe(rdi_image_source *src, const char *collection, const char *source_path,
                                 rdi_image_fields *f)
{
    const fake_desc *d = ((fake_source *)src)->d;
    radi_status s = rdi_image_fields_meta(f, "fake_key", collection);
    if (s == RADI_OK) s = rdi_image_fields_obs_str(f, "label", d->path);
    if (s == RADI_OK) s = rdi_image_fields_obs_i64(f, "count", (int64_t)d->base * 1000000000LL);
    if (s == RADI_OK) s = rdi_image_fields_obs_text(f, "gain", RADI_FLOAT64, d->base == 7 ? "NaN" : "0.25");
    if (s == RADI_OK) s = rdi_image_fields_obs_str(f, "source_path", source_path);
    if (s == RADI_OK && d->odd_columns) s = rdi_image_fields_obs_i32(f, "extra", 1);
    return s;
}

static radi_status fake_read(rdi_image_source *src, rdi_buf *own, const void **voxels)
{
    const fake_desc *d = ((fake_source *)src)->d;
    uint64_t n = d->nx * 3 * 2;
    RDI_TRY(rdi_buf_reserve(own, n * 2));
    uint16_t *v = (uint16_t *)own->data;
    for (uint64_t i = 0; i < n; i++) v[i] = (uint16_t)(d->base + i);
    own->len = n * 2;
    *voxels = own->data;
    return RADI_OK;
}

static void fake_close(rdi_image_source *src)
{
    fake_open_handles--;
    free(src);
}

static const rdi_image_source_ops fake_kind = {
    "Fake", 4, fake_obs_names, fake_obs_types, fake_open, fake_header, fake_describe, fake_read, fake_close,
};

static radi_status ingest_fake(radi_dataset *ds, const char *coll, size_t n, const fake_desc *d, const char *const *sids)
{
    rdi_ingest_source src[4];
    for (size_t i = 0; i < n; i++) src[i] = (rdi_ingest_source){d[i].path, sids[i], NULL, &d[i]};
    rdi_ingest_set set = {coll, &fake_kind, n, src};
    return rdi_dataset_ingest_sets(ds, 1, &set, NULL);
}

static void test_fake_kind_ingest(void **state)
{
    fixture *f = *state;
    radi_dataset *ds = NULL;
    build(f, &ds); /* FLAIR and T1w from NIfTI beside it */
    fake_desc d[2] = {{"fake://b", 7, 4, 0, 0}, {"fake://a", 100, 4, 0, 0}};
    const char *sids[2] = {"sub-02", "sub-01"};
    OK(ingest_fake(ds, "CT", 2, d, sids));
    assert_int_equal(fake_open_handles, 0);
    assert_int_equal(radi_dataset_collection_count(ds), 3);

    /* Voxels as read (column-major in, (x, y, z) out), the kind's metadata, the scaling
     * the ingest writes from the header, obs_id. */
    radi_volume *v = NULL;
    OK(radi_dataset_open_volume(ds, "CT", "sub-01_CT", &v));
    uint16_t buf[24];
    int64_t box[6] = {0, 3, 0, 2, 0, 1};
    OK(radi_volume_read(v, box, buf, sizeof buf, NULL));
    /* C order (x slowest) of the column-major input: (x, y, z) = base + x + 4y + 12z. */
    for (int x = 0; x < 4; x++)
        for (int y = 0; y < 3; y++)
            for (int z = 0; z < 2; z++) assert_int_equal(buf[x * 6 + y * 2 + z], 100 + x + 4 * y + 12 * z);
    char s[256];
    assert_string_equal(meta_str(v, "fake_key", s, sizeof s), "CT");
    assert_string_equal(meta_str(v, "nifti_scl_slope", s, sizeof s), "2.0");
    assert_string_equal(meta_str(v, "nifti_scl_inter", s, sizeof s), "-1.0");
    assert_string_equal(meta_str(v, "obs_id", s, sizeof s), "sub-01_CT");
    assert_string_equal(meta_str(v, "tile_orientation", s, sizeof s), "axial");
    radi_volume_close(v);

    /* The new collection's obs has the kind's columns, rows in (subject, obs_id) order. */
    char obs[200];
    snprintf(obs, sizeof obs, "%s/collections/CT/obs", f->ds);
    radi_array *a = NULL;
    radi_sparse_query *q = NULL;
    OK(radi_array_open(f->ctx, obs, 0, 0, &a));
    OK(radi_sparse_query_create(a, &q));
    OK(radi_sparse_query_submit(q, NULL));
    assert_int_equal(radi_sparse_query_rows(q), 2);
    radi_sparse_column c;
    OK(radi_sparse_query_column(q, 2, &c));
    assert_string_equal(c.name, "label");
    assert_memory_equal(c.data, "fake://afake://b", 16);
    OK(radi_sparse_query_column(q, 3, &c));
    assert_string_equal(c.name, "count");
    assert_true(((const int64_t *)c.data)[0] == 100000000000LL);
    OK(radi_sparse_query_column(q, 4, &c));
    assert_string_equal(c.name, "gain");
    assert_true(((const double *)c.data)[0] == 0.25);
    assert_true(isnan(((const double *)c.data)[1]));
    OK(radi_sparse_query_column(q, 5, &c));
    assert_string_equal(c.name, "source_path");
    radi_sparse_query_free(q);
    radi_array_close(a);

    /* An append of the same kind. */
    fake_desc more[1] = {{"fake://c", 9, 4, 0, 0}};
    const char *sid3[1] = {"sub-03"};
    OK(ingest_fake(ds, "CT", 1, more, sid3));
    const radi_volume_entry *e;
    uint64_t n;
    OK(radi_dataset_volumes(ds, "CT", &e, &n));
    assert_int_equal(n, 3);
    assert_valid(ds);
    radi_dataset_close(ds);
}

static void test_fake_kind_refusals(void **state)
{
    fixture *f = *state;
    radi_dataset *ds = NULL;
    build(f, &ds);
    char cu[200];
    snprintf(cu, sizeof cu, "%s/collections/CT", f->ds);
    const char *sids[2] = {"sub-01", "sub-02"};
    /* Sources of one collection that describe different obs columns. */
    fake_desc odd[2] = {{"fake://a", 1, 4, 0, 0}, {"fake://b", 2, 4, 1, 0}};
    assert_int_equal(ingest_fake(ds, "CT", 2, odd, sids), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "fake://b"));
    assert_non_null(strstr(radi_errmsg(), "obs columns"));
    assert_false(exists(cu));
    /* A header that breaks the contract is refused for any kind, naming the source. */
    fake_desc bad[1] = {{"fake://nan", 1, 4, 0, 1}};
    assert_int_equal(ingest_fake(ds, "CT", 1, bad, sids), RADI_E_CORRUPT);
    assert_non_null(strstr(radi_errmsg(), "fake://nan"));
    fake_desc empty[1] = {{"fake://empty", 1, 0, 0, 0}};
    assert_int_equal(ingest_fake(ds, "CT", 1, empty, sids), RADI_E_CORRUPT);
    assert_false(exists(cu));
    /* No sources: the kind's name in the message, as "no NIfTI files" for NIfTI. */
    assert_int_equal(ingest_fake(ds, "CT", 0, NULL, sids), RADI_E_INVALID);
    assert_non_null(strstr(radi_errmsg(), "no Fake files"));
    assert_int_equal(fake_open_handles, 0);
    /* The NIfTI kind is the public path's, unchanged. */
    char p[160];
    radi_nifti_source ns[1] = {{nifti_at(f, p, sizeof p, "x.nii", 5, 0, 0), "sub-01", NULL}};
    OK(radi_dataset_ingest_niftis(ds, "T2w", 1, ns, NULL));
    assert_valid(ds);
    radi_dataset_close(ds);
}

static void test_fields_builders(void **state)
{
    (void)state;
    rdi_image_fields f = RDI_IMAGE_FIELDS_INIT;
    OK(rdi_image_fields_obs_text(&f, "a", RADI_FLOAT64, "-Infinity"));
    OK(rdi_image_fields_obs_text(&f, "b", RADI_FLOAT64, "1e-05"));
    OK(rdi_image_fields_obs_text(&f, "c", RADI_INT32, "-7"));
    OK(rdi_image_fields_obs_text(&f, "d", RADI_INT64, "9000000000"));
    OK(rdi_image_fields_obs_text(&f, "e", RADI_STRING_UTF8, "x"));
    assert_int_equal(rdi_image_fields_obs_text(&f, "g", RADI_INT32, "9000000000"), RADI_E_INVALID);
    assert_int_equal(rdi_image_fields_obs_text(&f, "h", RADI_FLOAT64, "1.5x"), RADI_E_INVALID);
    assert_int_equal(rdi_image_fields_obs_text(&f, "i", RADI_UINT8, "1"), RADI_E_INVALID);
    for (int i = 0; i < 40; i++) OK(rdi_image_fields_meta(&f, "k", "v")); /* grows */
    assert_int_equal(f.nobs, 5);
    assert_true(isinf(f.obs[0].v.f64) && f.obs[0].v.f64 < 0);
    assert_true(f.obs[1].v.f64 == 1e-05);
    assert_int_equal(f.obs[2].v.i32, -7);
    assert_true(f.obs[3].v.i64 == 9000000000LL);
    assert_string_equal(f.obs[4].v.s, "x");
    assert_int_equal(f.nmeta, 40);
    assert_string_equal((const char *)f.meta[39].value, "v");
    rdi_image_fields_free(&f);
    /* The NIfTI kind's table. */
    assert_string_equal(rdi_nifti_image_source.name, "NIfTI");
    assert_int_equal(rdi_nifti_image_source.nobs, 15);
    assert_string_equal(rdi_nifti_image_source.obs_names[14], "source_path");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fake_kind_ingest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fake_kind_refusals, setup, teardown),
        cmocka_unit_test(test_fields_builders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
