/*
 * The sparse engine's internal contracts: TileDB's global cell order, in-memory cell
 * columns, MBRs, the R-tree (docs/format.md §8, §9) and the
 * sparse writer/reader entry points used by the public API (include/radi/sparse.h) and
 * by consolidation.
 */
#ifndef RDI_SPARSE_H
#define RDI_SPARSE_H

#include "radi/sparse.h"
#include "tdb/tdb.h"

#define RDI_SPARSE_MAX_DIMS 8
#define RDI_RTREE_FANOUT 10

/* ------------------------------------------------------------ cell columns -- */

/* A borrowed view of n cells of one field. Var-size cells: `offsets` holds n start
 * offsets into data (no trailing entry; the last cell ends at data_size). */
typedef struct rdi_scol {
    const uint8_t *data;
    const uint64_t *offsets;    /* var-size only, else NULL */
    uint64_t data_size;         /* bytes of data */
    const uint8_t *validity;    /* nullable only (0 = NULL), else NULL */
    uint32_t cell_size;         /* fixed-size cells: bytes per cell; 0 when var-size */
    uint64_t n;
} rdi_scol;

static inline const uint8_t *rdi_scol_cell(const rdi_scol *c, uint64_t i, uint64_t *len)
{
    if (!c->offsets) {
        *len = c->cell_size;
        return c->data + i * c->cell_size;
    }
    uint64_t b = c->offsets[i], e = i + 1 < c->n ? c->offsets[i + 1] : c->data_size;
    *len = e - b;
    return c->data + b;
}

/* An owned, growable column (the reader's decoded candidates and results). */
typedef struct rdi_ocol {
    rdi_buf data, offsets, validity; /* offsets: u64 per cell (var); validity: u8 per cell */
    uint32_t cell_size;              /* 0 = var-size */
    int nullable;
    uint64_t n;
} rdi_ocol;

/* Grows b by n bytes left uninitialized (the caller fills them) and returns where they
 * start: rdi_buf_resize would zero memory that is overwritten at once. At least one byte
 * is reserved so *at is never NULL: n is 0 for a column of empty strings, and NULL + 0
 * (or memcpy to NULL) is undefined behaviour. */
static inline radi_status rdi_buf_extend(rdi_buf *b, size_t n, uint8_t **at)
{
    RDI_TRY(rdi_buf_reserve(b, n ? n : 1));
    *at = b->data + b->len;
    b->len += n;
    return RADI_OK;
}

void rdi_ocol_free(rdi_ocol *c);
rdi_scol rdi_ocol_view(const rdi_ocol *c);
/* Appends cell i of src (value, and validity when dst is nullable). */
radi_status rdi_ocol_append(rdi_ocol *dst, const rdi_scol *src, uint64_t i);
/* Appends cells idx[0..n) of src. */
radi_status rdi_ocol_gather(rdi_ocol *dst, const rdi_scol *src, const uint64_t *idx, uint64_t n);

/* ------------------------------------------------------------- global order -- */

typedef struct rdi_gdim {
    radi_datatype type;
    int var;                    /* string (STRING_ASCII) dimension */
    uint32_t size;              /* bytes of a fixed coordinate */
    int has_extent;
    uint64_t lo_key, extent;    /* domain lower bound (as key) and tile extent */
} rdi_gdim;

/* TileDB's global order of a sparse schema: tiles in tile order (only integer dims with
 * extents split tiles), then cells in cell order. String coordinates compare
 * byte-wise as unsigned, a proper prefix first (std::string_view::compare). */
typedef struct rdi_gorder {
    uint32_t ndim;
    int tiles_row, cells_row;   /* 1 = row-major, 0 = col-major */
    int any_extent;
    rdi_gdim dims[RDI_SPARSE_MAX_DIMS];
} rdi_gorder;

/* Fails with RADI_E_UNSUPPORTED for float/datetime dimensions or Hilbert order. */
radi_status rdi_gorder_init(const radi_schema *s, rdi_gorder *g);

/* Order-preserving map of a fixed integer coordinate of `type` to u64 (signed values are
 * shifted by 2^63), so ranges and tile indices can be computed without per-type code. */
uint64_t rdi_coord_key(radi_datatype type, const void *p);
/* The inverse: writes the coordinate of `type` for key k into p. */
void rdi_coord_from_key(radi_datatype type, uint64_t k, void *p);

int rdi_str_cmp(const void *a, uint64_t la, const void *b, uint64_t lb);

/* Compares cell i of the coordinate columns a[0..ndim) with cell j of b[0..ndim):
 * <0, 0 or >0. */
int rdi_gorder_cmp(const rdi_gorder *g, const rdi_scol *a, uint64_t i, const rdi_scol *b,
                   uint64_t j);

/* Stable sort of the cell indices idx[0..n) (indices into cols) in global order. Natural
 * merge sort: input that is already a concatenation of k sorted runs costs O(n log k). */
radi_status rdi_gorder_sort(const rdi_gorder *g, const rdi_scol *cols, uint64_t *idx, uint64_t n);

/* Given sorted idx, keeps only the last index of each run of equal coordinates; returns
 * the new count. With a stable sort that is the last written (or newest) cell. */
uint64_t rdi_gorder_dedup(const rdi_gorder *g, const rdi_scol *cols, uint64_t *idx, uint64_t n);

/* ---------------------------------------------------------------- ranges/MBRs -- */

/* A query range on one dimension: fixed dims as keys (rdi_coord_key), strings as bytes
 * (inclusive on both sides). */
typedef struct rdi_qrange {
    uint64_t lo_key, hi_key;
    const uint8_t *slo, *shi;
    uint64_t slo_len, shi_len;
} rdi_qrange;

/* The ranges of one dimension: a cell matches if it lies in any of them; n == 0 means
 * the whole dimension. */
typedef struct rdi_qdim {
    uint32_t n;
    const rdi_qrange *r;
} rdi_qdim;

/* MBR of cells [begin, end) of the coordinate columns (mbr: ndim ranges; string bounds
 * malloc'd, freed by rdi_mbr_clear). */
radi_status rdi_mbr_compute(const rdi_gorder *g, const rdi_scol *cols, uint64_t begin,
                            uint64_t end, rdi_range *mbr);
/* dst = union of dst and src. */
radi_status rdi_mbr_expand(const rdi_gorder *g, rdi_range *dst, const rdi_range *src);
radi_status rdi_mbr_copy(const rdi_gorder *g, rdi_range *dst, const rdi_range *src);
void rdi_mbr_clear(const rdi_gorder *g, rdi_range *mbr);
/* Whether outer contains inner on every dimension. */
int rdi_mbr_contains(const rdi_gorder *g, const rdi_range *outer, const rdi_range *inner);
/* 0: no overlap with the query; 1: partial; 2: the MBR is inside the query. */
int rdi_mbr_query(const rdi_gorder *g, const rdi_range *mbr, const rdi_qdim *q);
/* Whether cell i of the coordinate columns matches the query. */
int rdi_cell_in_query(const rdi_gorder *g, const rdi_scol *cols, uint64_t i, const rdi_qdim *q);

/* -------------------------------------------------------------------- R-tree -- */

/* Levels root first; level l holds nmbr[l] MBRs of ndim ranges each. A well-formed tree
 * has exactly one root and each level groups `fanout` consecutive children (format.md §8.1). */
typedef struct rdi_rtree {
    uint32_t ndim, fanout, nlevels;
    uint64_t *nmbr;             /* [nlevels] */
    rdi_range **mbr;            /* [nlevels][nmbr * ndim] */
} rdi_rtree;

/* Builds the tree over `nleaves` leaf MBRs (copied). Zero leaves gives zero levels. */
radi_status rdi_rtree_build(const rdi_gorder *g, const rdi_range *leaves, uint64_t nleaves,
                            uint32_t fanout, rdi_rtree *out);
/* `u32 fanout | u32 nlevels | per level: u64 n | MBRs` (var: u64 range_len | u64 lo_len
 * | lo | hi; fixed: lo, hi). */
radi_status rdi_rtree_serialize(const rdi_gorder *g, const rdi_rtree *t, rdi_buf *out);
/* Parses and validates (single root, level sizes, parents containing children, leaf
 * count == expected_leaves unless UINT64_MAX). Errors name `what`. */
radi_status rdi_rtree_parse(const rdi_gorder *g, const void *p, size_t len, const char *what,
                            uint64_t expected_leaves, rdi_rtree *out);
void rdi_rtree_free(rdi_rtree *t);
uint64_t rdi_rtree_leaves(const rdi_rtree *t);
/* Leaf (tile) ids overlapping the query, ascending; full[k] = 1 when leaf tiles[k] lies
 * entirely inside the query (its cells need no per-cell range check). Both malloc'd. */
radi_status rdi_rtree_query(const rdi_gorder *g, const rdi_rtree *t, const rdi_qdim *q,
                            uint64_t **tiles, uint8_t **full, uint64_t *ntiles);

/* -------------------------------------------------------- writer and reader -- */

/* Writes ncells cells (given per field by name, any order, every dim and attr) as one
 * sparse fragment [t1, t2]: sorted into global order, deduplicated (the last given cell
 * per key wins) unless the schema allows duplicates, commit written last.
 * *name_out (may be NULL) receives the fragment name (malloc'd). */
radi_status rdi_sparse_write(radi_array *a, uint32_t nbuffers, const radi_sparse_buffer *buffers,
                             uint64_t ncells, uint64_t t1, uint64_t t2, char **name_out);

/* Merges the visible fragments of a sparse array into one new fragment with timestamps
 * [t1, t2] (the consolidation caller passes the oldest t1 and newest t2): each key keeps
 * its newest cell (every cell when the schema allows duplicates). *name_out (may be
 * NULL) receives the new fragment's name, or NULL when the merge has no cells (nothing
 * is written then). Writes no .vac file: that is the caller's. */
radi_status rdi_sparse_consolidate(radi_array *a, uint64_t t1, uint64_t t2, char **name_out);

#endif
