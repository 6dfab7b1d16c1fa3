/* Filters and the chunked tile format: golden tiles from TileDB 2.30.1, round trips over
 * every numeric type and awkward lengths, serialized pipelines, and corrupt input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/core.h"
#include "filters/filters.h"

#define DIR RADI_TEST_DATA "/filters/"

static uint8_t *slurp(const char *name, const char *ext, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, DIR "%s%s", name, ext);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static const uint8_t *find_bytes(const uint8_t *h, size_t hn, const uint8_t *n, size_t nn)
{
    for (size_t i = 0; i + nn <= hn; i++)
        if (memcmp(h + i, n, nn) == 0) return h + i;
    return NULL;
}

typedef struct fdesc {
    radi_filter_type type;
    int32_t level;
    uint32_t window;   /* 0 = default */
} fdesc;

typedef struct golden {
    const char *name;
    radi_datatype type;
    fdesc f[4];
    int nf;
} golden;

#define F(t, l) {RADI_FILTER_##t, l, 0}
#define FW(t, w) {RADI_FILTER_##t, -1, w}

/* Must match make_golden.py. */
static const golden GOLDEN[] = {
    {"none_i16", RADI_INT16, {{0}}, 0},
    {"byteshuffle_i32", RADI_INT32, {F(BYTESHUFFLE, -1)}, 1},
    {"byteshuffle_f64", RADI_FLOAT64, {F(BYTESHUFFLE, -1)}, 1},
    {"byteshuffle_u16", RADI_UINT16, {F(BYTESHUFFLE, -1)}, 1},
    {"bitshuffle_u32", RADI_UINT32, {F(BITSHUFFLE, -1)}, 1},
    {"bitshuffle_i64", RADI_INT64, {F(BITSHUFFLE, -1)}, 1},
    {"bitshuffle_u8", RADI_UINT8, {F(BITSHUFFLE, -1)}, 1},
    {"bitshuffle_f32", RADI_FLOAT32, {F(BITSHUFFLE, -1)}, 1},
    {"delta_i32", RADI_INT32, {F(DELTA, -1)}, 1},
    {"delta_u8", RADI_UINT8, {F(DELTA, -1)}, 1},
    {"doubledelta_i64", RADI_INT64, {F(DOUBLE_DELTA, -1)}, 1},
    {"doubledelta_i16", RADI_INT16, {F(DOUBLE_DELTA, -1)}, 1},
    {"doubledelta_u32", RADI_UINT32, {F(DOUBLE_DELTA, -1)}, 1},
    {"positivedelta_u32", RADI_UINT32, {F(POSITIVE_DELTA, -1)}, 1},
    {"positivedelta_i64", RADI_INT64, {FW(POSITIVE_DELTA, 64)}, 1},
    {"rle_u8", RADI_UINT8, {F(RLE, -1)}, 1},
    {"rle_i32", RADI_INT32, {F(RLE, -1)}, 1},
    {"bwr_i32", RADI_INT32, {F(BIT_WIDTH_REDUCTION, -1)}, 1},
    {"bwr_u64", RADI_UINT64, {F(BIT_WIDTH_REDUCTION, -1)}, 1},
    {"bwr_i16", RADI_INT16, {FW(BIT_WIDTH_REDUCTION, 100)}, 1},
    {"xor_i32", RADI_INT32, {F(XOR, -1)}, 1},
    {"gzip6_i32", RADI_INT32, {F(GZIP, 6)}, 1},
    {"gzipdef_u8", RADI_UINT8, {F(GZIP, -1)}, 1},
    {"gzip1_f32", RADI_FLOAT32, {F(GZIP, 1)}, 1},
    {"zstd5_i32", RADI_INT32, {F(ZSTD, 5)}, 1},
    {"zstddef_f64", RADI_FLOAT64, {F(ZSTD, -1)}, 1},
    {"lz4_i16", RADI_INT16, {F(LZ4, -1)}, 1},
    {"shuf_zstd_f32", RADI_FLOAT32, {F(BYTESHUFFLE, -1), F(ZSTD, 3)}, 2},
    {"shuf_gzip_i32", RADI_INT32, {F(BYTESHUFFLE, -1), F(GZIP, 6)}, 2},
    {"bitshuf_lz4_u16", RADI_UINT16, {F(BITSHUFFLE, -1), F(LZ4, -1)}, 2},
    {"delta_gzip_i64", RADI_INT64, {F(DELTA, -1), F(GZIP, 9)}, 2},
    {"bwr_zstd_i32", RADI_INT32, {F(BIT_WIDTH_REDUCTION, -1), F(ZSTD, 1)}, 2},
    {"pd_shuf_zstd_u64", RADI_UINT64, {F(POSITIVE_DELTA, -1), F(BYTESHUFFLE, -1), F(ZSTD, 2)}, 3},
    {"dd_zstd_i32", RADI_INT32, {F(DOUBLE_DELTA, -1), F(ZSTD, 4)}, 2},
    {"rle_zstd_u8", RADI_UINT8, {F(RLE, -1), F(ZSTD, 3)}, 2},
    {"shuf_bitshuf_gzip_i16", RADI_INT16, {F(BYTESHUFFLE, -1), F(BITSHUFFLE, -1), F(GZIP, 5)}, 3},
    {"multichunk_delta_zstd_i32", RADI_INT32, {F(DELTA, -1), F(ZSTD, 3)}, 2},
    {"multichunk_shuf_lz4_f64", RADI_FLOAT64, {F(BYTESHUFFLE, -1), F(LZ4, -1)}, 2},
};

static void make_list(const fdesc *f, int nf, radi_filter_list *fl)
{
    radi_filter_list_init(fl);
    for (int i = 0; i < nf; i++) {
        assert_int_equal(radi_filter_list_add(fl, f[i].type, f[i].level), RADI_OK);
        if (f[i].window) fl->filters[i].max_window = f[i].window;
    }
}

/* The two multi-chunk cases are regenerated rather than stored (> 64 KiB each). */
static uint8_t *golden_values(const char *name, size_t *len)
{
    if (strcmp(name, "multichunk_delta_zstd_i32") == 0) {
        int32_t *v = malloc(40000 * 4), acc = 0;
        for (int i = 0; i < 40000; i++) v[i] = acc += i % 9;
        *len = 40000 * 4;
        return (uint8_t *)v;
    }
    if (strcmp(name, "multichunk_shuf_lz4_f64") == 0) {
        double *v = malloc(9000 * 8);
        for (int i = 0; i < 9000; i++) v[i] = (double)(i / 90);
        *len = 9000 * 8;
        return (uint8_t *)v;
    }
    return slurp(name, ".bin", len);
}

static void test_golden(void **state)
{
    (void)state;
    rdi_scratch *s;
    int bad = 0;
    assert_int_equal(rdi_scratch_create(&s), RADI_OK);
    for (size_t c = 0; c < sizeof GOLDEN / sizeof GOLDEN[0]; c++) {
        const golden *g = &GOLDEN[c];
        size_t tlen = 0, vlen = 0, slen = 0;
        uint8_t *tile = slurp(g->name, ".tdb", &tlen);
        uint8_t *vals = golden_values(g->name, &vlen);
        uint8_t *schema = slurp(g->name, ".schema", &slen);
        assert_non_null(tile);
        assert_non_null(vals);
        assert_non_null(schema);
        radi_filter_list fl;
        make_list(g->f, g->nf, &fl);
        uint32_t cs = (uint32_t)radi_datatype_size(g->type);

        /* Serialized pipeline: byte-identical to the schema's, and it parses back. */
        rdi_buf pb = RDI_BUF_INIT;
        assert_int_equal(rdi_pipeline_write(&fl, 22, &pb), RADI_OK);
        const uint8_t *at = find_bytes(schema, slen, pb.data, pb.len);
        if (!at) fail_msg("%s: pipeline bytes not found in the schema", g->name);
        rdi_rd r;
        rdi_rd_init(&r, at, pb.len, g->name);
        radi_filter_list back;
        assert_int_equal(rdi_pipeline_read(&r, 22, &back), RADI_OK);
        assert_int_equal(r.pos, pb.len);
        assert_int_equal(back.count, fl.count);
        assert_int_equal(rdi_pipeline_check(&back, g->type, g->name), RADI_OK);
        rdi_buf_free(&pb);

        /* Decode TileDB's tile. */
        uint64_t usize;
        assert_int_equal(rdi_tile_unfiltered_size(tile, tlen, g->name, &usize), RADI_OK);
        assert_int_equal(usize, vlen);
        uint8_t *out = malloc(vlen + 1);
        radi_status st = rdi_tile_unfilter(&back, g->type, cs, tile, tlen, out, vlen, s, g->name);
        if (st != RADI_OK) {
            print_error("%s: unfilter: %s\n", g->name, radi_errmsg());
            bad++;
        } else if (memcmp(out, vals, vlen) != 0) {
            print_error("%s: decoded values differ\n", g->name);
            bad++;
        }

        /* Re-encode byte-identically. */
        rdi_buf enc = RDI_BUF_INIT;
        st = rdi_tile_filter(&fl, g->type, cs, vals, vlen, s, &enc);
        if (st != RADI_OK) {
            print_error("%s: filter: %s\n", g->name, radi_errmsg());
            bad++;
        } else if (enc.len != tlen || memcmp(enc.data, tile, tlen) != 0) {
            size_t k = 0;
            while (k < enc.len && k < tlen && enc.data[k] == tile[k]) k++;
            print_error("%s: re-encoded tile differs (%zu vs %zu bytes, first difference at %zu)\n",
                        g->name, enc.len, tlen, k);
            bad++;
        }
        rdi_buf_free(&enc);
        free(out);
        free(tile);
        free(vals);
        free(schema);
    }
    rdi_scratch_free(s);
    assert_int_equal(bad, 0);
}

/* TileDB's var-size chunking, byte for byte: 4000 strings, ZSTD(1) data, ZSTD(2) offsets. */
static void test_golden_var(void **state)
{
    (void)state;
    size_t olen, dlen;
    uint8_t *otile = slurp("var_zstd", ".offsets.tdb", &olen), *dtile = slurp("var_zstd", ".tdb", &dlen);
    assert_non_null(otile);
    assert_non_null(dtile);
    enum { N = 4000 };
    uint64_t *off = malloc(N * 8), len = 0;
    static const char abc[] = "abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabc";
    uint8_t *want = malloc(N * 60);
    for (int i = 0; i < N; i++) {
        off[i] = len;
        memcpy(want + len, abc, (size_t)(i * 7) % 60);
        len += (uint64_t)(i * 7) % 60;
    }
    radi_filter_list ofl, dfl;
    radi_filter_list_init(&ofl);
    radi_filter_list_add(&ofl, RADI_FILTER_ZSTD, 2);
    radi_filter_list_init(&dfl);
    radi_filter_list_add(&dfl, RADI_FILTER_ZSTD, 1);
    uint64_t *got_off = malloc(N * 8);
    assert_int_equal(rdi_tile_unfilter(&ofl, RADI_UINT64, 8, otile, olen, got_off, N * 8, NULL, "a0.tdb"), RADI_OK);
    assert_memory_equal(got_off, off, N * 8);
    uint64_t usize;
    assert_int_equal(rdi_tile_unfiltered_size(dtile, dlen, "a0_var.tdb", &usize), RADI_OK);
    assert_int_equal(usize, len);
    uint8_t *got = malloc(len);
    assert_int_equal(rdi_tile_unfilter(&dfl, RADI_STRING_ASCII, 1, dtile, dlen, got, len, NULL, "a0_var.tdb"),
                     RADI_OK);
    assert_memory_equal(got, want, len);
    rdi_buf enc = RDI_BUF_INIT;
    assert_int_equal(rdi_tile_filter_var(&dfl, RADI_STRING_ASCII, want, len, off, N, NULL, &enc), RADI_OK);
    assert_int_equal(enc.len, dlen);
    assert_memory_equal(enc.data, dtile, dlen);
    enc.len = 0;
    assert_int_equal(rdi_tile_filter(&ofl, RADI_UINT64, 8, off, N * 8, NULL, &enc), RADI_OK);
    assert_int_equal(enc.len, olen);
    assert_memory_equal(enc.data, otile, olen);
    rdi_buf_free(&enc);
    free(got);
    free(got_off);
    free(want);
    free(off);
    free(otile);
    free(dtile);
}

/* ------------------------------------------------------------- round trips -- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* pattern 0: random moderate values; 1: non-decreasing; 2: long runs. */
static void fill(uint8_t *p, size_t n, radi_datatype t, int pattern)
{
    size_t w = radi_datatype_size(t);
    uint64_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        if (pattern == 1) v = acc = i * 100 / n + (acc & 0);   /* fits every type */
        else if (pattern == 2) v = (i / 300) % 4;
        else v = rnd() % 2000 + i / 3;
        if (t == RADI_FLOAT32) {
            float f = pattern == 0 ? (float)(rnd() % 100000) / 7.0f : (float)v;
            memcpy(p + i * 4, &f, 4);
        } else if (t == RADI_FLOAT64) {
            double d = pattern == 0 ? (double)(rnd() % 100000) / 7.0 : (double)v;
            memcpy(p + i * 8, &d, 8);
        } else if (t == RADI_BOOL) {
            p[i] = (uint8_t)(pattern == 0 ? rnd() & 1 : pattern == 1 ? i >= n / 2 : v & 1);
        } else {
            if (rdi_datatype_is_signed(t) && pattern == 0) v -= 1000;
            memcpy(p + i * w, &v, w);
        }
    }
}

static const radi_datatype TYPES[] = {RADI_INT8,  RADI_UINT8,  RADI_INT16,   RADI_UINT16,
                                      RADI_INT32, RADI_UINT32, RADI_INT64,   RADI_UINT64,
                                      RADI_FLOAT32, RADI_FLOAT64, RADI_BOOL};

typedef struct stack {
    fdesc f[4];
    int nf;
    int int_only;     /* delta filters refuse floats */
    int sorted_only;  /* positive delta refuses decreasing data */
} stack;

static const stack STACKS[] = {
    {{{0}}, 0, 0, 0},
    {{F(GZIP, -1)}, 1, 0, 0},
    {{F(ZSTD, -1)}, 1, 0, 0},
    {{F(LZ4, -1)}, 1, 0, 0},
    {{F(RLE, -1)}, 1, 0, 0},
    {{F(BYTESHUFFLE, -1)}, 1, 0, 0},
    {{F(BITSHUFFLE, -1)}, 1, 0, 0},
    {{F(XOR, -1)}, 1, 0, 0},
    {{F(BIT_WIDTH_REDUCTION, -1)}, 1, 0, 0},
    {{F(POSITIVE_DELTA, -1)}, 1, 0, 1},
    {{F(DELTA, -1)}, 1, 1, 0},
    {{F(DOUBLE_DELTA, -1)}, 1, 1, 0},
    {{F(NONE, -1), F(ZSTD, 3)}, 2, 0, 0},
    {{F(BYTESHUFFLE, -1), F(ZSTD, 3)}, 2, 0, 0},
    {{F(BITSHUFFLE, -1), F(LZ4, -1)}, 2, 0, 0},
    {{F(DELTA, -1), F(BYTESHUFFLE, -1), F(ZSTD, 1)}, 3, 1, 0},
    {{F(BIT_WIDTH_REDUCTION, -1), F(GZIP, 6)}, 2, 0, 0},
    {{F(DOUBLE_DELTA, -1), F(ZSTD, -1)}, 2, 1, 0},
    {{F(RLE, -1), F(ZSTD, 3)}, 2, 0, 0},
    {{F(XOR, -1), F(BITSHUFFLE, -1), F(GZIP, 1)}, 3, 0, 0},
    {{F(ZSTD, 3), F(GZIP, 1)}, 2, 0, 0},
    {{F(POSITIVE_DELTA, -1), F(BIT_WIDTH_REDUCTION, -1), F(BYTESHUFFLE, -1), F(LZ4, -1)}, 4, 0, 1},
    {{F(BYTESHUFFLE, -1), F(BITSHUFFLE, -1), F(LZ4, -1), F(ZSTD, 2)}, 4, 0, 0},
    {{FW(POSITIVE_DELTA, 1), F(ZSTD, 1)}, 2, 0, 1},    /* metadata larger than the data */
    {{FW(BIT_WIDTH_REDUCTION, 8), F(LZ4, -1)}, 2, 0, 0},
};

static void test_round_trips(void **state)
{
    (void)state;
    static const size_t NCELLS[] = {0, 1, 2, 7, 13, 1000, 8193, 20001};
    rdi_scratch *s;
    assert_int_equal(rdi_scratch_create(&s), RADI_OK);
    rdi_buf enc = RDI_BUF_INIT;
    for (size_t ti = 0; ti < sizeof TYPES / sizeof TYPES[0]; ti++) {
        radi_datatype t = TYPES[ti];
        size_t w = radi_datatype_size(t);
        int is_float = t == RADI_FLOAT32 || t == RADI_FLOAT64;
        for (size_t si = 0; si < sizeof STACKS / sizeof STACKS[0]; si++) {
            const stack *sk = &STACKS[si];
            if (sk->int_only && is_float) continue;
            radi_filter_list fl;
            make_list(sk->f, sk->nf, &fl);
            for (size_t ni = 0; ni < sizeof NCELLS / sizeof NCELLS[0]; ni++) {
                for (int pat = 0; pat < 3; pat++) {
                    if (sk->sorted_only && pat != 1 && !is_float) continue;
                    /* cells of 1 or 3 values: RLE and chunking see the cell size */
                    for (uint32_t cv = 1; cv <= 3; cv += 2) {
                        size_t n = NCELLS[ni] * cv, len = n * w;
                        uint8_t *in = malloc(len + 1), *out = malloc(len + 1);
                        fill(in, n, t, pat);
                        enc.len = 0;
                        radi_status st = rdi_tile_filter(&fl, t, (uint32_t)(w * cv), in, len, s, &enc);
                        if (st != RADI_OK)
                            fail_msg("filter type %s stack %zu n %zu pat %d: %s", radi_datatype_name(t), si, n,
                                     pat, radi_errmsg());
                        uint64_t usize;
                        assert_int_equal(rdi_tile_unfiltered_size(enc.data, enc.len, "rt", &usize), RADI_OK);
                        assert_int_equal(usize, len);
                        st = rdi_tile_unfilter(&fl, t, (uint32_t)(w * cv), enc.data, enc.len, out, len, s, "rt");
                        if (st != RADI_OK)
                            fail_msg("unfilter type %s stack %zu n %zu pat %d: %s", radi_datatype_name(t), si,
                                     n, pat, radi_errmsg());
                        if (len && memcmp(in, out, len) != 0)
                            fail_msg("round trip differs: type %s stack %zu n %zu pat %d", radi_datatype_name(t),
                                     si, n, pat);
                        /* A NULL scratch works too. */
                        if (ni == 3) {
                            memset(out, 0, len);
                            assert_int_equal(rdi_tile_unfilter(&fl, t, (uint32_t)(w * cv), enc.data, enc.len,
                                                               out, len, NULL, "rt"),
                                             RADI_OK);
                            assert_memory_equal(in, out, len);
                        }
                        free(in);
                        free(out);
                    }
                }
            }
        }
    }
    rdi_buf_free(&enc);
    rdi_scratch_free(s);
}

/* Chunking: fixed tiles are cut at 64 KiB rounded down to whole cells. */
static void test_chunking(void **state)
{
    (void)state;
    radi_filter_list fl;
    radi_filter_list_init(&fl);
    size_t len = 3 * 70000;   /* cell size 3: chunk = 65535 */
    uint8_t *in = calloc(1, len);
    rdi_buf enc = RDI_BUF_INIT;
    assert_int_equal(rdi_tile_filter(&fl, RADI_UINT8, 3, in, len, NULL, &enc), RADI_OK);
    assert_int_equal(rdi_ld64(enc.data), 4);
    assert_int_equal(rdi_ld32(enc.data + 8), 65535);
    /* an empty tile has no chunks */
    enc.len = 0;
    assert_int_equal(rdi_tile_filter(&fl, RADI_UINT8, 3, in, 0, NULL, &enc), RADI_OK);
    assert_int_equal(enc.len, 8);
    assert_int_equal(rdi_ld64(enc.data), 0);
    /* max_chunk_size 0: a single chunk */
    fl.max_chunk_size = 0;
    enc.len = 0;
    assert_int_equal(rdi_tile_filter(&fl, RADI_UINT8, 3, in, len, NULL, &enc), RADI_OK);
    assert_int_equal(rdi_ld64(enc.data), 1);
    assert_int_equal(rdi_ld32(enc.data + 8), len);
    /* unfiltered 12-byte tile, as in the format notes */
    radi_filter_list_init(&fl);
    enc.len = 0;
    assert_int_equal(rdi_tile_filter(&fl, RADI_INT32, 4, "abcdefghijkl", 12, NULL, &enc), RADI_OK);
    static const uint8_t want[] = {1, 0, 0, 0, 0, 0, 0, 0, 12, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(enc.len, 32);
    assert_memory_equal(enc.data, want, sizeof want);
    rdi_buf_free(&enc);
    free(in);
}

static void var_round_trip(const radi_filter_list *fl, const uint8_t *data, uint64_t len, const uint64_t *off,
                           uint64_t n, uint64_t *nchunks)
{
    rdi_buf enc = RDI_BUF_INIT;
    assert_int_equal(rdi_tile_filter_var(fl, RADI_STRING_ASCII, data, len, off, n, NULL, &enc), RADI_OK);
    uint64_t usize;
    assert_int_equal(rdi_tile_unfiltered_size(enc.data, enc.len, "var", &usize), RADI_OK);
    assert_int_equal(usize, len);
    uint8_t *out = malloc(len + 1);
    assert_int_equal(rdi_tile_unfilter(fl, RADI_STRING_ASCII, 1, enc.data, enc.len, out, len, NULL, "var"),
                     RADI_OK);
    if (len) assert_memory_equal(out, data, len);
    /* every chunk boundary is a cell boundary */
    uint64_t at = 8, pos = 0;
    *nchunks = rdi_ld64(enc.data);
    for (uint64_t c = 0; c < *nchunks; c++) {
        uint32_t orig = rdi_ld32(enc.data + at);
        int found = pos == 0 || pos == len;
        for (uint64_t k = 0; k < n && !found; k++) found = off[k] == pos;
        assert_true(found);
        pos += orig;
        at += 12 + rdi_ld32(enc.data + at + 4) + rdi_ld32(enc.data + at + 8);
    }
    free(out);
    rdi_buf_free(&enc);
}

static void test_var_chunking(void **state)
{
    (void)state;
    radi_filter_list fl;
    radi_filter_list_init(&fl);
    radi_filter_list_add(&fl, RADI_FILTER_ZSTD, 1);
    enum { N = 5000 };
    uint64_t *off = malloc(N * sizeof *off), len = 0, nch;
    for (int i = 0; i < N; i++) {
        off[i] = len;
        len += (uint64_t)(rnd() % 60);
    }
    uint8_t *data = malloc(len + 1);
    for (uint64_t i = 0; i < len; i++) data[i] = (uint8_t)('a' + rnd() % 3);
    var_round_trip(&fl, data, len, off, N, &nch);
    assert_true(nch >= 2);
    /* one giant cell among small ones gets a chunk of its own */
    uint64_t off2[3] = {0, 40000, 240000};
    uint8_t *big = calloc(1, 240020);
    var_round_trip(&fl, big, 240020, off2, 3, &nch);
    assert_int_equal(nch, 3);
    /* ... unless the current chunk is at most half full: then it joins it */
    uint64_t off3[3] = {0, 10, 200010};
    var_round_trip(&fl, big, 200020, off3, 3, &nch);
    assert_int_equal(nch, 2);
    /* empty tile with no cells: one empty chunk, as TileDB writes it */
    var_round_trip(&fl, data, 0, off, 0, &nch);
    assert_int_equal(nch, 1);
    /* bad offsets are refused */
    uint64_t bad[2] = {5, 2};
    rdi_buf enc = RDI_BUF_INIT;
    assert_int_equal(rdi_tile_filter_var(&fl, RADI_STRING_ASCII, data, 10, bad, 2, NULL, &enc), RADI_E_INVALID);
    radi_filter_list_init(&fl);
    radi_filter_list_add(&fl, RADI_FILTER_RLE, -1);
    assert_int_equal(rdi_tile_filter_var(&fl, RADI_STRING_ASCII, data, 10, off, 1, NULL, &enc),
                     RADI_E_UNSUPPORTED);
    rdi_buf_free(&enc);
    free(big);
    free(off);
    free(data);
}

/* Small exact layouts from the format notes, and values the delta codecs must refuse. */
static void test_layouts(void **state)
{
    (void)state;
    radi_filter_list fl;
    radi_filter_list_init(&fl);
    radi_filter_list_add(&fl, RADI_FILTER_RLE, -1);
    rdi_buf enc = RDI_BUF_INIT;
    static const uint8_t validity[3] = {1, 0, 1};
    assert_int_equal(rdi_tile_filter(&fl, RADI_UINT8, 1, validity, 3, NULL, &enc), RADI_OK);
    /* chunk: orig 3 | filtered 9 | meta 24 (1 data part) | runs 01 0001 00 0001 01 0001 */
    static const uint8_t runs[9] = {1, 0, 1, 0, 0, 1, 1, 0, 1};
    assert_int_equal(enc.len, 8 + 12 + 16 + 9);
    assert_int_equal(rdi_ld32(enc.data + 12), 9);
    assert_int_equal(rdi_ld32(enc.data + 16), 16);
    assert_memory_equal(enc.data + 8 + 12 + 16, runs, 9);
    /* runs longer than 65535 are split */
    uint8_t *ones = malloc(70000);
    memset(ones, 1, 70000);
    enc.len = 0;
    assert_int_equal(rdi_tile_filter(&fl, RADI_UINT8, 1, ones, 70000, NULL, &enc), RADI_OK);
    uint8_t *back = malloc(70000);
    assert_int_equal(rdi_tile_unfilter(&fl, RADI_UINT8, 1, enc.data, enc.len, back, 70000, NULL, "v"), RADI_OK);
    assert_memory_equal(back, ones, 70000);
    free(back);
    free(ones);

    /* double delta refuses deltas beyond int64, positive delta refuses decreasing data */
    radi_filter_list_init(&fl);
    radi_filter_list_add(&fl, RADI_FILTER_DOUBLE_DELTA, -1);
    uint64_t big[3] = {0, UINT64_MAX, 0};
    enc.len = 0;
    assert_int_equal(rdi_tile_filter(&fl, RADI_UINT64, 8, big, sizeof big, NULL, &enc), RADI_E_INVALID);
    assert_int_equal(enc.len, 0);
    int64_t ok64[4] = {INT64_MIN / 4, 0, INT64_MAX / 4, 5};
    assert_int_equal(rdi_tile_filter(&fl, RADI_INT64, 8, ok64, sizeof ok64, NULL, &enc), RADI_OK);
    int64_t back64[4];
    assert_int_equal(rdi_tile_unfilter(&fl, RADI_INT64, 8, enc.data, enc.len, back64, sizeof back64, NULL, "dd"),
                     RADI_OK);
    assert_memory_equal(back64, ok64, sizeof ok64);
    radi_filter_list_init(&fl);
    radi_filter_list_add(&fl, RADI_FILTER_POSITIVE_DELTA, -1);
    int32_t down[3] = {5, 4, 6};
    enc.len = 0;
    assert_int_equal(rdi_tile_filter(&fl, RADI_INT32, 4, down, sizeof down, NULL, &enc), RADI_E_INVALID);
    /* delta with a reinterpret type: int64 cells seen as uint8 */
    radi_filter_list_init(&fl);
    radi_filter_list_add(&fl, RADI_FILTER_DELTA, -1);
    fl.filters[0].reinterpret = RADI_UINT8;
    int64_t vals[5] = {1, 1000, -3, 77, 1 << 20};
    enc.len = 0;
    assert_int_equal(rdi_tile_filter(&fl, RADI_INT64, 8, vals, sizeof vals, NULL, &enc), RADI_OK);
    assert_int_equal(rdi_ld64(enc.data + 8 + 12 + 16), 40);   /* 40 one-byte values */
    int64_t back5[5];
    assert_int_equal(rdi_tile_unfilter(&fl, RADI_INT64, 8, enc.data, enc.len, back5, sizeof vals, NULL, "d"),
                     RADI_OK);
    assert_memory_equal(back5, vals, sizeof vals);
    fl.filters[0].reinterpret = RADI_FLOAT32;
    assert_int_equal(rdi_pipeline_check(&fl, RADI_INT64, "attr"), RADI_E_UNSUPPORTED);
    rdi_buf_free(&enc);
}

/* ------------------------------------------------------------ pipelines -- */

static void test_pipeline_versions(void **state)
{
    (void)state;
    radi_filter_list fl, back;
    radi_filter_list_init(&fl);
    radi_filter_list_add(&fl, RADI_FILTER_DELTA, -1);
    radi_filter_list_add(&fl, RADI_FILTER_DOUBLE_DELTA, -1);
    radi_filter_list_add(&fl, RADI_FILTER_POSITIVE_DELTA, -1);
    radi_filter_list_add(&fl, RADI_FILTER_ZSTD, 5);
    /* sizes: v18 no reinterpret bytes; v19 DELTA has it; v20 both */
    static const uint32_t vers[] = {18, 19, 20, 22};
    static const size_t lens[] = {8 + 10 + 10 + 9 + 10, 8 + 11 + 10 + 9 + 10, 8 + 11 + 11 + 9 + 10,
                                  8 + 11 + 11 + 9 + 10};
    for (int i = 0; i < 4; i++) {
        rdi_buf b = RDI_BUF_INIT;
        assert_int_equal(rdi_pipeline_write(&fl, vers[i], &b), RADI_OK);
        assert_int_equal(b.len, lens[i]);
        rdi_rd r;
        rdi_rd_init(&r, b.data, b.len, "p");
        assert_int_equal(rdi_pipeline_read(&r, vers[i], &back), RADI_OK);
        assert_int_equal(r.pos, b.len);
        assert_int_equal(back.count, 4);
        assert_int_equal(back.filters[3].level, 5);
        assert_int_equal(back.filters[2].max_window, 1024);
        rdi_buf_free(&b);
    }
    /* real bytes from the format notes */
    static const uint8_t zstd5[] = {0, 0, 1, 0, 1, 0, 0, 0, 2, 5, 0, 0, 0, 2, 5, 0, 0, 0};
    rdi_rd r;
    rdi_rd_init(&r, zstd5, sizeof zstd5, "zstd5");
    assert_int_equal(rdi_pipeline_read(&r, 22, &back), RADI_OK);
    assert_int_equal(back.max_chunk_size, 65536);
    assert_int_equal(back.filters[0].type, RADI_FILTER_ZSTD);

    /* unknown filter type, truncation, too many filters */
    static const uint8_t unk[] = {0, 0, 1, 0, 1, 0, 0, 0, 11, 0, 0, 0, 0};
    rdi_rd_init(&r, unk, sizeof unk, "unk");
    assert_int_equal(rdi_pipeline_read(&r, 22, &back), RADI_E_UNSUPPORTED);
    assert_non_null(strstr(radi_errmsg(), "unk"));
    assert_non_null(strstr(radi_errmsg(), "11"));
    for (size_t cut = 0; cut < sizeof zstd5; cut++) {
        rdi_rd_init(&r, zstd5, cut, "cut");
        assert_int_equal(rdi_pipeline_read(&r, 22, &back), RADI_E_CORRUPT);
    }
    static const uint8_t many[] = {0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff};
    rdi_rd_init(&r, many, sizeof many, "many");
    assert_int_equal(rdi_pipeline_read(&r, 22, &back), RADI_E_UNSUPPORTED);
    static const uint8_t bigopts[] = {0, 0, 1, 0, 1, 0, 0, 0, 9, 0xff, 0xff, 0, 0};
    rdi_rd_init(&r, bigopts, sizeof bigopts, "bigopts");
    assert_int_equal(rdi_pipeline_read(&r, 22, &back), RADI_E_CORRUPT);

    /* unsupported filters parse, then the check names them */
    static const uint8_t md5[] = {0, 0, 1, 0, 2, 0, 0, 0, 12, 0, 0, 0, 0,
                                  15, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0,
                                  4, 0, 0, 0, 0, 0, 0, 0};
    rdi_rd_init(&r, md5, sizeof md5, "md5");
    assert_int_equal(rdi_pipeline_read(&r, 22, &back), RADI_OK);
    assert_int_equal(r.pos, sizeof md5);
    assert_int_equal(rdi_pipeline_check(&back, RADI_FLOAT32, "attr x"), RADI_E_UNSUPPORTED);
    assert_non_null(strstr(radi_errmsg(), "checksum_md5"));
    assert_non_null(strstr(radi_errmsg(), "attr x"));
    rdi_buf b = RDI_BUF_INIT;
    assert_int_equal(rdi_pipeline_write(&back, 22, &b), RADI_E_UNSUPPORTED);
    rdi_buf_free(&b);
    radi_filter_list_init(&fl);
    radi_filter_list_add(&fl, RADI_FILTER_DELTA, -1);
    assert_int_equal(rdi_pipeline_check(&fl, RADI_FLOAT64, "f"), RADI_E_UNSUPPORTED);
    assert_int_equal(rdi_pipeline_check(&fl, RADI_INT16, "f"), RADI_OK);

    assert_string_equal(radi_filter_type_name(RADI_FILTER_ZSTD), "zstd");
    assert_string_equal(radi_filter_type_name((radi_filter_type)99), "unknown");
    for (int i = 0; i < RADI_MAX_FILTERS; i++) assert_int_equal(radi_filter_list_add(&fl, RADI_FILTER_LZ4, 1),
                                                                i < RADI_MAX_FILTERS - 1 ? RADI_OK : RADI_E_INVALID);
    assert_int_equal(radi_filter_list_add(&fl, (radi_filter_type)11, 1), RADI_E_INVALID);
}

/* ------------------------------------------------------------ corruption -- */

static void expect_bad(const radi_filter_list *fl, radi_datatype t, uint32_t cs, const uint8_t *in, size_t n,
                       size_t out_len)
{
    uint8_t *out = malloc(out_len + 1);
    radi_status st = rdi_tile_unfilter(fl, t, cs, in, n, out, out_len, NULL, "bad.tdb");
    if (st == RADI_OK) fail_msg("corrupt tile accepted");
    assert_true(st == RADI_E_CORRUPT || st == RADI_E_CODEC || st == RADI_E_UNSUPPORTED);
    assert_non_null(strstr(radi_errmsg(), "bad.tdb"));
    free(out);
}

static void test_corrupt(void **state)
{
    (void)state;
    int32_t v[5000];
    for (int i = 0; i < 5000; i++) v[i] = i * 3 - (i % 7);
    static const fdesc stacks[][3] = {{F(ZSTD, 3)}, {F(GZIP, 6)}, {F(LZ4, -1)}, {F(BYTESHUFFLE, -1), F(ZSTD, 1)},
                                      {F(RLE, -1)}, {F(DELTA, -1), F(GZIP, 1)}, {F(DOUBLE_DELTA, -1)},
                                      {F(BIT_WIDTH_REDUCTION, -1), F(LZ4, -1)}, {F(BITSHUFFLE, -1)},
                                      {F(POSITIVE_DELTA, -1)}, {F(XOR, -1), F(ZSTD, 1)}};
    static const int nfs[] = {1, 1, 1, 2, 1, 2, 1, 2, 1, 1, 2};
    uint8_t *out = malloc(sizeof v);
    for (size_t k = 0; k < sizeof nfs / sizeof nfs[0]; k++) {
        radi_filter_list fl;
        make_list(stacks[k], nfs[k], &fl);
        rdi_buf enc = RDI_BUF_INIT;
        int32_t *src = v;
        int32_t sorted[5000];
        if (stacks[k][0].type == RADI_FILTER_POSITIVE_DELTA) {
            for (int i = 0; i < 5000; i++) sorted[i] = i;
            src = sorted;
        }
        assert_int_equal(rdi_tile_filter(&fl, RADI_INT32, 4, src, sizeof v, NULL, &enc), RADI_OK);
        /* every truncation */
        for (size_t cut = 0; cut < enc.len; cut += (cut < 64 ? 1 : 97)) expect_bad(&fl, RADI_INT32, 4, enc.data, cut, sizeof v);
        /* wrong expected size */
        expect_bad(&fl, RADI_INT32, 4, enc.data, enc.len, sizeof v - 4);
        expect_bad(&fl, RADI_INT32, 4, enc.data, enc.len, sizeof v + 4);
        /* single-byte garbage anywhere: must never crash (result may be OK for data bytes
         * of filters without integrity checks) */
        for (size_t pos = 0; pos < enc.len; pos += 7) {
            for (int bit = 0; bit < 8; bit += 3) {
                enc.data[pos] ^= (uint8_t)(1u << bit);
                (void)rdi_tile_unfilter(&fl, RADI_INT32, 4, enc.data, enc.len, out, sizeof v, NULL, "x");
                enc.data[pos] ^= (uint8_t)(1u << bit);
            }
        }
        /* huge lengths in every header field */
        for (size_t pos = 0; pos < 12 + 8 && pos < enc.len; pos += 4) {
            uint8_t save[4];
            memcpy(save, enc.data + pos, 4);
            memset(enc.data + pos, 0xff, 4);
            expect_bad(&fl, RADI_INT32, 4, enc.data, enc.len, sizeof v);
            memcpy(enc.data + pos, save, 4);
        }
        assert_int_equal(rdi_tile_unfilter(&fl, RADI_INT32, 4, enc.data, enc.len, out, sizeof v, NULL, "ok"),
                         RADI_OK);
        assert_memory_equal(out, src, sizeof v);
        rdi_buf_free(&enc);
    }
    /* a huge chunk count */
    uint8_t hdr[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    radi_filter_list none;
    radi_filter_list_init(&none);
    expect_bad(&none, RADI_UINT8, 1, hdr, sizeof hdr, 4);
    uint64_t us;
    assert_int_equal(rdi_tile_unfiltered_size(hdr, sizeof hdr, "bad.tdb", &us), RADI_E_CORRUPT);
    assert_int_equal(rdi_tile_unfiltered_size(hdr, 3, "bad.tdb", &us), RADI_E_CORRUPT);
    /* zero chunks where data is expected: the var-string RLE/dictionary offsets case */
    uint8_t zero[8] = {0};
    uint8_t o8[8];
    assert_int_equal(rdi_tile_unfilter(&none, RADI_UINT64, 8, zero, 8, o8, 8, NULL, "a0.tdb"), RADI_E_UNSUPPORTED);
    assert_int_equal(rdi_tile_unfilter(&none, RADI_UINT64, 8, zero, 8, o8, 0, NULL, "a0.tdb"), RADI_OK);
    /* garbage compressed bytes */
    uint8_t garbage[8 + 12 + 24 + 16];
    memset(garbage, 0x5a, sizeof garbage);
    rdi_st64(garbage, 1);
    rdi_st32(garbage + 8, 100);
    rdi_st32(garbage + 12, 16);
    rdi_st32(garbage + 16, 24);
    rdi_st32(garbage + 20, 0);
    rdi_st32(garbage + 24, 1);
    rdi_st32(garbage + 28, 100);
    rdi_st32(garbage + 32, 16);
    static const radi_filter_type comp[] = {RADI_FILTER_GZIP, RADI_FILTER_ZSTD, RADI_FILTER_LZ4, RADI_FILTER_RLE,
                                            RADI_FILTER_DELTA, RADI_FILTER_DOUBLE_DELTA};
    for (size_t i = 0; i < sizeof comp / sizeof comp[0]; i++) {
        radi_filter_list fl;
        radi_filter_list_init(&fl);
        radi_filter_list_add(&fl, comp[i], -1);
        expect_bad(&fl, RADI_UINT8, 1, garbage, sizeof garbage, 100);
    }
    /* an unknown / unsupported filter in the list */
    radi_filter_list fl;
    radi_filter_list_init(&fl);
    radi_filter_list_add(&fl, RADI_FILTER_BZIP2, -1);
    expect_bad(&fl, RADI_UINT8, 1, garbage, sizeof garbage, 100);
    fl.filters[0].type = (radi_filter_type)77;
    expect_bad(&fl, RADI_UINT8, 1, garbage, sizeof garbage, 100);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_golden_var),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_chunking),
        cmocka_unit_test(test_layouts),
        cmocka_unit_test(test_var_chunking),
        cmocka_unit_test(test_pipeline_versions),
        cmocka_unit_test(test_corrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
