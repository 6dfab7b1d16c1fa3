/*
 * radi: sparse arrays (dataframes keyed by string or integer dimensions).
 *
 * Same conventions as radi.h. A sparse array's cells are rows; its dimensions are the
 * key columns and its attributes the value columns. Writes add one fragment; a later
 * write of an existing key replaces the row (unless the schema allows duplicates).
 * Reads return rows in TileDB's global order (for row-major string keys: byte order of
 * the first key, then the second), which is also the order TileDB-Py returns.
 *
 * Column layout used by writes and reads, per field:
 *  - fixed-size: ncells values of the field's type (cell_val_num values per cell);
 *  - var-size (strings): the bytes of all cells back to back, plus ncells u64 start
 *    offsets (the first is 0, non-decreasing; cell i ends where cell i+1 starts, the
 *    last at data_size);
 *  - nullable attributes: one validity byte per cell (0 = NULL).
 */
#ifndef RADI_SPARSE_H
#define RADI_SPARSE_H

#include "radi/radi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One field's cells for a sparse write. Buffers are borrowed for the call only. */
typedef struct radi_sparse_buffer {
    const char *name;          /* dimension or attribute name */
    const void *data;          /* see the column layout above */
    uint64_t data_size;        /* bytes in data */
    const uint64_t *offsets;   /* var-size fields: ncells offsets; else NULL */
    const uint8_t *validity;   /* nullable attributes: ncells bytes; else NULL (all valid) */
} radi_sparse_buffer;

/* Writes ncells rows as one new fragment, all-or-nothing (commit file last). Every
 * dimension and attribute must be given. Rows may come in any order; if the same key
 * appears more than once, the last one given wins (unless the schema allows
 * duplicates). ncells 0 writes nothing. The fragment timestamp is max(now, newest
 * visible t1 + 1); timestamp != 0 forces that value instead. */
RADI_API radi_status radi_array_write_sparse(radi_array *array, uint32_t nbuffers,
                                             const radi_sparse_buffer *buffers, uint64_t ncells,
                                             uint64_t timestamp);

/* --------------------------------------------------------------------- reads -- */

/* A read of a sparse array: ranges on dimensions, a column selection and an optional
 * filter expression (src/query syntax: `age > 40 and sex == 'F'`, `x in [1, 2]`, ...),
 * then submit. Used by one thread at a time; the array must outlive it. */
typedef struct radi_sparse_query radi_sparse_query;

RADI_API radi_status radi_sparse_query_create(radi_array *array, radi_sparse_query **out);
RADI_API void radi_sparse_query_free(radi_sparse_query *query);

/* Adds an inclusive range [lo, hi] on a dimension. Integer dimensions: lo and hi point to
 * one value of the dimension's type (sizes ignored). String dimensions: lo_size/hi_size
 * bytes. Several ranges on one dimension select their union; ranges on different
 * dimensions intersect. No range on a dimension = all of it. */
RADI_API radi_status radi_sparse_query_add_range(radi_sparse_query *query, const char *dim,
                                                 const void *lo, uint64_t lo_size,
                                                 const void *hi, uint64_t hi_size);
/* A point lookup: add_range(dim, v, size, v, size). */
RADI_API radi_status radi_sparse_query_add_point(radi_sparse_query *query, const char *dim,
                                                 const void *value, uint64_t size);
/* Columns to return, by name (dimensions and/or attributes), in this order. Not called,
 * or ncols 0: every dimension, then every attribute, in schema order. */
RADI_API radi_status radi_sparse_query_set_columns(radi_sparse_query *query, uint32_t ncols,
                                                   const char *const *names);
/* A row filter over any dimension or attribute (not only the returned columns). NULL
 * clears it. Syntax errors are reported here (RADI_E_INVALID with the column). */
RADI_API radi_status radi_sparse_query_set_filter(radi_sparse_query *query, const char *expr);

/* An upper bound, before submitting, of the rows and of a column's data bytes (var-size:
 * the string bytes), from the fragment metadata of the tiles the ranges touch. */
RADI_API radi_status radi_sparse_query_est_size(radi_sparse_query *query, const char *column,
                                                uint64_t *rows, uint64_t *data_bytes);

/* Runs the read; the result is held by the query until the next submit or free.
 * The whole result is materialized: a read whose candidate columns would exceed the
 * context's memory budget fails with RADI_E_BUDGET (narrow it with ranges or columns).
 * Arrays with delete commits are refused when opened. stats may be NULL. */
RADI_API radi_status radi_sparse_query_submit(radi_sparse_query *query, radi_read_stats *stats);

RADI_API uint64_t radi_sparse_query_rows(const radi_sparse_query *query);
RADI_API uint32_t radi_sparse_query_ncolumns(const radi_sparse_query *query);

/* One column of the result. All pointers are borrowed from the query (valid until the
 * next submit or free). */
typedef struct radi_sparse_column {
    const char *name;
    radi_datatype type;
    uint32_t cell_val_num;     /* RADI_VAR_NUM for var-size */
    int is_dim;
    const void *data;          /* rows * cell size bytes, or the var-size bytes */
    uint64_t data_size;
    const uint64_t *offsets;   /* var-size: rows start offsets; else NULL */
    const uint8_t *validity;   /* nullable attributes: rows bytes; else NULL */
} radi_sparse_column;

RADI_API radi_status radi_sparse_query_column(const radi_sparse_query *query, uint32_t i,
                                              radi_sparse_column *out);

/* Copies result column i into caller buffers (e.g. numpy arrays sized from
 * radi_sparse_query_column): data must hold data_size bytes, offsets (var-size) rows
 * u64 and validity (nullable) rows bytes; pass NULL for the parts not wanted. *cap
 * arguments are the buffers' sizes in bytes; too small is RADI_E_INVALID. */
RADI_API radi_status radi_sparse_query_copy_column(const radi_sparse_query *query, uint32_t i,
                                                   void *data, uint64_t data_cap,
                                                   uint64_t *offsets, uint64_t offsets_cap,
                                                   uint8_t *validity, uint64_t validity_cap);

/* Number of rows of the array (all fragments merged, newest row per key). */
RADI_API radi_status radi_array_sparse_count(radi_array *array, uint64_t *rows);

#ifdef __cplusplus
}
#endif

#endif /* RADI_SPARSE_H */
