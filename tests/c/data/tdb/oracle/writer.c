/*
 * Manual oracle check (not part of CTest): radi writes schemas (v20, v21, v22), array
 * metadata and a group; TileDB-Py reads them (check.py), adds and removes group members
 * and writes fragments; radi reads that back (reader.c). Run from the repository root:
 *   B=build-x; D=tests/c/data/tdb/oracle; L="$B/libradi.a -lzstd -llz4 -lz -ldeflate -lpthread -lm"
 *   for f in writer reader; do cc -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -o /tmp/radi_$f $D/$f.c $L; done
 *   rm -rf /tmp/radi_oracle && mkdir /tmp/radi_oracle && /tmp/radi_writer /tmp/radi_oracle &&
 *   .venv/bin/python $D/check.py /tmp/radi_oracle && /tmp/radi_reader /tmp/radi_oracle
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "radi/radi.h"

#define CHECK(x) do { radi_status s_ = (x); if (s_) { fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, radi_errmsg()); exit(1); } } while (0)

static radi_schema *dense3d(void)
{
    radi_schema *s;
    CHECK(radi_schema_create(RADI_DENSE, &s));
    int32_t lo = 0, hi = 239, ext = 240, zhi = 154, zext = 1;
    CHECK(radi_schema_add_dim(s, "x", RADI_INT32, &lo, &hi, &ext, NULL));
    CHECK(radi_schema_add_dim(s, "y", RADI_INT32, &lo, &hi, &ext, NULL));
    CHECK(radi_schema_add_dim(s, "z", RADI_INT32, &lo, &zhi, &zext, NULL));
    radi_filter_list fl;
    radi_filter_list_init(&fl);
    CHECK(radi_filter_list_add(&fl, RADI_FILTER_BYTESHUFFLE, -1));
    CHECK(radi_filter_list_add(&fl, RADI_FILTER_ZSTD, 3));
    CHECK(radi_schema_add_attr(s, "voxels", RADI_FLOAT32, 1, 0, &fl, NULL, 0));
    return s;
}

static radi_schema *dense4d(void)
{
    radi_schema *s;
    CHECK(radi_schema_create(RADI_DENSE, &s));
    CHECK(radi_schema_set_order(s, RADI_COL_MAJOR, RADI_COL_MAJOR));
    int64_t lo = 0, hi = 9, ext = 5, ylo = -4, yhi = 5, yext = 2, thi = 1, text = 1;
    radi_filter_list g9;
    radi_filter_list_init(&g9);
    CHECK(radi_filter_list_add(&g9, RADI_FILTER_GZIP, 9));
    CHECK(radi_schema_add_dim(s, "x", RADI_INT64, &lo, &hi, &ext, NULL));
    CHECK(radi_schema_add_dim(s, "y", RADI_INT64, &ylo, &yhi, &yext, NULL));
    CHECK(radi_schema_add_dim(s, "t", RADI_INT64, &lo, &thi, &text, &g9));
    radi_filter_list d;
    radi_filter_list_init(&d);
    CHECK(radi_filter_list_add(&d, RADI_FILTER_DELTA, -1));
    CHECK(radi_filter_list_add(&d, RADI_FILTER_GZIP, 1));
    uint16_t fill = 7;
    CHECK(radi_schema_add_attr(s, "v", RADI_UINT16, 1, 0, &d, &fill, 2));
    CHECK(radi_schema_add_attr(s, "flag", RADI_BOOL, 1, 0, NULL, NULL, 0));
    radi_filter_list bl;
    radi_filter_list_init(&bl);
    CHECK(radi_filter_list_add(&bl, RADI_FILTER_BITSHUFFLE, -1));
    CHECK(radi_filter_list_add(&bl, RADI_FILTER_LZ4, -1));
    CHECK(radi_schema_add_attr(s, "d", RADI_FLOAT64, 1, 0, &bl, NULL, 0));
    CHECK(radi_schema_add_attr(s, "i8", RADI_INT8, 3, 0, NULL, NULL, 0));
    return s;
}

static radi_schema *sparse(void)
{
    radi_schema *s;
    CHECK(radi_schema_create(RADI_SPARSE, &s));
    CHECK(radi_schema_set_capacity(s, 500));
    CHECK(radi_schema_set_allows_dups(s, 1));
    CHECK(radi_schema_add_dim(s, "id", RADI_STRING_ASCII, NULL, NULL, NULL, NULL));
    int64_t lo = 0, hi = 1000, ext = 100;
    CHECK(radi_schema_add_dim(s, "n", RADI_INT64, &lo, &hi, &ext, NULL));
    double dlo = -1.5, dhi = 2.5;
    CHECK(radi_schema_add_dim(s, "f", RADI_FLOAT64, &dlo, &dhi, NULL, NULL));
    radi_filter_list z;
    radi_filter_list_init(&z);
    CHECK(radi_filter_list_add(&z, RADI_FILTER_ZSTD, -1));
    CHECK(radi_schema_add_attr(s, "name", RADI_STRING_UTF8, RADI_VAR_NUM, 1, &z, NULL, 0));
    CHECK(radi_schema_add_attr(s, "age", RADI_INT64, 1, 1, NULL, NULL, 0));
    CHECK(radi_schema_add_attr(s, "score", RADI_FLOAT64, 1, 0, NULL, NULL, 0));
    return s;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *root = argv[1];
    char p[1024];
    for (uint32_t v = 20; v <= 22; v++) {
        radi_config c;
        radi_config_init(&c);
        c.format_version = v;
        radi_ctx *ctx;
        CHECK(radi_ctx_create(&c, &ctx));
        radi_schema *s;
        snprintf(p, sizeof p, "%s/dense3d_v%u", root, v);
        CHECK(radi_array_create(ctx, p, s = dense3d()));
        radi_schema_free(s);
        snprintf(p, sizeof p, "%s/dense4d_v%u", root, v);
        CHECK(radi_array_create(ctx, p, s = dense4d()));
        radi_schema_free(s);
        snprintf(p, sizeof p, "%s/sparse_v%u", root, v);
        CHECK(radi_array_create(ctx, p, s = sparse()));
        radi_schema_free(s);
        /* metadata on dense3d */
        snprintf(p, sizeof p, "%s/dense3d_v%u", root, v);
        radi_array *a;
        CHECK(radi_array_open(ctx, p, 0, 0, &a));
        radi_meta *m = radi_array_meta(a);
        int64_t cnt = 42, neg = -7;
        double sp[3] = {0.5, 0.5, 2.0};
        int32_t i32s[2] = {1, -2};
        CHECK(radi_meta_put(m, "tile_orientation", RADI_STRING_UTF8, 5, "axial"));
        CHECK(radi_meta_put(m, "count", RADI_INT64, 1, &cnt));
        CHECK(radi_meta_put(m, "spacing", RADI_FLOAT64, 3, sp));
        CHECK(radi_meta_put(m, "gone", RADI_INT32, 2, i32s));
        CHECK(radi_meta_put(m, "pair", RADI_INT32, 2, i32s));
        CHECK(radi_meta_delete(m, "gone"));
        CHECK(radi_meta_put(m, "count", RADI_INT64, 1, &neg));
        radi_array_close(a);
        radi_ctx_free(ctx);
    }
    radi_ctx *ctx;
    CHECK(radi_ctx_create(NULL, &ctx));
    snprintf(p, sizeof p, "%s/grp", root);
    CHECK(radi_group_create(ctx, p));
    char sub[1024], arr[1024], ext[1024];
    snprintf(sub, sizeof sub, "%s/grp/sub", root);
    CHECK(radi_group_create(ctx, sub));
    snprintf(arr, sizeof arr, "%s/grp/obs", root);
    radi_schema *s = dense3d();
    CHECK(radi_array_create(ctx, arr, s));
    snprintf(arr, sizeof arr, "%s/grp/vol2", root);
    CHECK(radi_array_create(ctx, arr, s));
    snprintf(ext, sizeof ext, "%s/ext", root);
    CHECK(radi_array_create(ctx, ext, s));
    radi_schema_free(s);
    radi_group *g;
    CHECK(radi_group_open(ctx, p, &g));
    CHECK(radi_group_add_member(g, "obs", 1, NULL));
    CHECK(radi_group_add_member(g, ext, 0, "external"));
    CHECK(radi_group_add_member(g, "sub", 1, "subgroup"));
    CHECK(radi_group_add_member(g, "vol2", 1, "v2"));
    CHECK(radi_group_remove_member(g, "v2"));
    int64_t n = 3;
    CHECK(radi_meta_put(radi_group_meta(g), "kind", RADI_STRING_UTF8, 10, "radiobject"));
    CHECK(radi_meta_put(radi_group_meta(g), "n", RADI_INT64, 1, &n));
    radi_group_close(g);
    radi_ctx_free(ctx);
    printf("ok\n");
    return 0;
}
