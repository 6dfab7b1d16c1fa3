/*
 * libFuzzer target: a whole sparse array read end to end: fragment footers, the R-tree
 * generic tile, tile offset sections and the coordinate/attribute tiles they point to
 * (src/tdb/fragment_read.c, rtree.c, sparse_read.c, sparse_tiles.c). The input is an array directory in
 * the tree format of fuzz_tree.h, stored in an in-memory VFS; the seeds are sparse
 * arrays written by TileDB-Py (int64 and string dimensions, nullable and var-size
 * attributes, several and consolidated fragments). Checks, on reads that succeed:
 *   - every result column is self-consistent: fixed columns hold rows * cell bytes,
 *     var-size offsets are non-decreasing and inside the data, validity is 0/1;
 *   - radi_array_sparse_count agrees with the row count of a full read;
 *   - a point query on the first result row's coordinates returns no more rows than the
 *     full read. (Not "at least that row": a corrupt R-tree or tile may place a cell
 *     outside its tile's MBR, which prunes it; readers trust the MBRs, as TileDB does.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_tree.h"
#include "radi/sparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROOT "/fuzz/a"

static void check_columns(const radi_sparse_query *q)
{
    uint64_t rows = radi_sparse_query_rows(q);
    for (uint32_t i = 0; i < radi_sparse_query_ncolumns(q); i++) {
        radi_sparse_column c;
        if (radi_sparse_query_column(q, i, &c) != RADI_OK) abort();
        if (c.cell_val_num == RADI_VAR_NUM) {
            if (rows && !c.offsets) abort();
            for (uint64_t r = 0; r < rows; r++)
                if (c.offsets[r] > c.data_size || (r && c.offsets[r] < c.offsets[r - 1])) abort();
        } else if (c.data_size != rows * c.cell_val_num * radi_datatype_size(c.type)) {
            abort();
        }
        if (c.validity)
            for (uint64_t r = 0; r < rows; r++)
                if (c.validity[r] > 1) abort();
    }
}

/* Adds a point range per dimension from row 0 of the full result q. */
static int add_point(radi_sparse_query *p, const radi_sparse_query *q)
{
    for (uint32_t i = 0; i < radi_sparse_query_ncolumns(q); i++) {
        radi_sparse_column c;
        if (radi_sparse_query_column(q, i, &c) != RADI_OK) abort();
        if (!c.is_dim) continue;
        const uint8_t *v = c.data;
        uint64_t n = radi_datatype_size(c.type);
        if (c.cell_val_num == RADI_VAR_NUM) {
            uint64_t end = radi_sparse_query_rows(q) > 1 ? c.offsets[1] : c.data_size;
            v += c.offsets[0];
            n = end - c.offsets[0];
        }
        if (radi_sparse_query_add_point(p, c.name, v, n) != RADI_OK) return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ft_vfs *v = NULL;
    radi_ctx *ctx = ft_ctx(&v);
    if (!ctx) return 0;
    ft_load_tree(v, ROOT, data, size);

    radi_array *a = NULL;
    if (radi_array_open(ctx, ROOT, 0, UINT64_MAX, &a) != RADI_OK) {
        if (!radi_errmsg()[0]) abort();
        radi_ctx_free(ctx);
        return 0;
    }
    radi_sparse_query *q = NULL, *p = NULL;
    if (a->schema->type == RADI_SPARSE && radi_sparse_query_create(a, &q) == RADI_OK &&
        radi_sparse_query_submit(q, NULL) == RADI_OK) {
        check_columns(q);
        uint64_t rows = radi_sparse_query_rows(q), count;
        if (radi_array_sparse_count(a, &count) == RADI_OK && count != rows) abort();
        if (rows && radi_sparse_query_create(a, &p) == RADI_OK && add_point(p, q) &&
            radi_sparse_query_submit(p, NULL) == RADI_OK) {
            check_columns(p);
            if (radi_sparse_query_rows(p) > rows) abort();
        }
    }
    radi_sparse_query_free(p);
    radi_sparse_query_free(q);
    radi_array_close(a);
    radi_ctx_free(ctx);
    return 0;
}
