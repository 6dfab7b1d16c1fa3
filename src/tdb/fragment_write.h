/*
 * Fragment metadata on the writing side (docs/format.md §8.1): a builder that
 * collects, per field and per tile, the tile offsets, sizes and min/max/sum/null-count
 * statistics while a writer produces the data files, then serializes the whole
 * __fragment_metadata.tdb (R-tree, 8 sections per field, fragment aggregates, processed
 * conditions, footer, footer length). Used by the dense writer; the sparse writer adds
 * its serialized R-tree, var-size mins/maxs and a string NED.
 *
 * Field indices follow the fragment index space: attributes, the legacy __coords slot,
 * then the dimensions (rdi_field_attr / rdi_field_dim in tdb.h).
 */
#ifndef RDI_FRAGMENT_WRITE_H
#define RDI_FRAGMENT_WRITE_H

#include "tdb/tdb.h"

/* What TileDB keeps for a field (TileMetadataGenerator::has_min_max_metadata /
 * has_sum_metadata, FragmentMetadata::set_num_tiles). */
typedef struct rdi_field_kind {
    radi_datatype type;
    uint32_t cell_size;         /* bytes per cell (fixed); 8 for var-size offsets */
    int var;                    /* var-size field */
    int nullable;
    int has_mm;                 /* per-tile min/max kept */
    int mm_numeric;             /* min/max compared as numbers (else strncmp, as TileDB) */
    int has_sum;                /* per-tile sum kept */
} rdi_field_kind;

void rdi_field_kind_of(const radi_schema *s, uint32_t field, int dense, rdi_field_kind *k);

/* Running statistics of one tile of one field, over the cells actually written.
 * Fixed CHAR/ASCII min/max (smin/smax) point into the data being processed, so that data
 * must stay alive until rdi_fmb_set_stats copies them. */
typedef struct rdi_tile_stats {
    int has_minmax;             /* numeric min/max started (at the type's limits) */
    uint8_t min[8], max[8];     /* numeric min/max, one value of the field's type */
    const char *smin, *smax;    /* CHAR/ASCII cells: NULL until a valid cell is seen */
    uint8_t sum[8];             /* int64, uint64 or double by the field's type */
    uint64_t null_count;
} rdi_tile_stats;

void rdi_tile_stats_init(rdi_tile_stats *st);
/* Adds n consecutive fixed-size cells (validity: one byte per cell, or NULL when the
 * field is not nullable). Follows TileDB's rules: nulls skipped, sums saturate. */
void rdi_tile_stats_add(rdi_tile_stats *st, const rdi_field_kind *k, const void *cells,
                        const uint8_t *validity, uint64_t n);
/* The same over `runs` consecutive runs of `run` cells, with the result of one call per
 * run (sums saturate per call), in one pass where that is the same. */
void rdi_tile_stats_add_runs(rdi_tile_stats *st, const rdi_field_kind *k, const void *cells,
                             const uint8_t *validity, uint64_t runs, uint64_t run);

typedef struct rdi_fmb_field {
    rdi_field_kind kind;
    uint64_t *offsets, *var_offsets, *var_sizes, *validity_offsets;  /* [tile_num] */
    uint8_t *mins, *maxs;       /* fixed fields with has_mm: [tile_num * cell_size] */
    char **vmins, **vmaxs;      /* var fields with has_mm: [tile_num], malloc'd */
    uint64_t *vmin_len, *vmax_len;
    uint8_t *sums;              /* has_sum: [tile_num * 8] */
    uint64_t *null_counts;      /* nullable: [tile_num] */
    uint64_t file_size, file_var_size, file_validity_size;
} rdi_fmb_field;

typedef struct rdi_fmb {
    const radi_schema *schema;
    uint32_t version;           /* footer and generic tile version (16..22) */
    int dense;
    uint64_t tile_num;
    uint64_t last_tile_cell_num; /* dense: cells per tile; sparse: cells in the last tile */
    uint32_t nfields;           /* nattr + 1 + ndim */
    rdi_fmb_field *fields;
    rdi_range *ned;             /* [ndim]; var dims use slo/shi (owned) */
    /* Sparse: the serialized R-tree payload (rdi_rtree_serialize in sparse.h), borrowed.
     * NULL writes the dense R-tree (fanout 10, no levels). */
    const uint8_t *rtree;
    size_t rtree_len;
} rdi_fmb;

/* Allocates every per-tile list with tile_num zeroed entries, as TileDB does for every
 * slot (aggregate queries crash on shorter lists, §3). */
radi_status rdi_fmb_init(rdi_fmb *b, const radi_schema *s, uint32_t version, int dense,
                         uint64_t tile_num);
void rdi_fmb_free(rdi_fmb *b);

/* Non-empty domain of a dense (integer) fragment from an int64 box. */
void rdi_fmb_set_ned_box(rdi_fmb *b, const int64_t *box);

/* Stores a tile's statistics for a field (copies min/max bytes; a var field's
 * min/max are taken as cell_size-less strings via rdi_fmb_set_var_minmax instead). */
void rdi_fmb_set_stats(rdi_fmb *b, uint32_t field, uint64_t tile, const rdi_tile_stats *st);
radi_status rdi_fmb_set_var_minmax(rdi_fmb *b, uint32_t field, uint64_t tile, const void *min,
                                   uint64_t min_len, const void *max, uint64_t max_len);

/* Records that a tile of `bytes` filtered bytes was appended to the field's fixed (or
 * offsets) file, var file, or validity file: sets the tile's offset and grows the file
 * size. Call in tile order. var_unfiltered is the var tile's unfiltered size. */
void rdi_fmb_add_tile(rdi_fmb *b, uint32_t field, uint64_t tile, uint64_t bytes);
void rdi_fmb_add_var_tile(rdi_fmb *b, uint32_t field, uint64_t tile, uint64_t bytes,
                          uint64_t var_unfiltered);
void rdi_fmb_add_validity_tile(rdi_fmb *b, uint32_t field, uint64_t tile, uint64_t bytes);

/* Serializes the whole __fragment_metadata.tdb into out (replacing its contents).
 * schema_name: the schema's file name in __schema/. */
radi_status rdi_fmb_serialize(const rdi_fmb *b, const char *schema_name, rdi_scratch *scratch,
                              rdi_buf *out);

#endif
