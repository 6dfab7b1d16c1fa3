/*
 * The TileDB-format engine's internal contracts: schema, generic tiles, timestamped
 * names, fragment metadata, the open array and metadata. Every layout is specified in
 * docs/format.md ("format.md §n" below refers to it).
 */
#ifndef RDI_TDB_H
#define RDI_TDB_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/core.h"
#include "filters/filters.h"
#include "ctx/ctx.h"
#include "vfs/vfs.h"

/* The directories of an array (docs/format.md §1). */
#define SCHEMA_DIR "__schema"
#define COMMITS_DIR "__commits"
#define FRAGMENTS_DIR "__fragments"
#define FRAG_META_DIR "__fragment_meta"
#define META_DIR "__meta"
#define LABELS_DIR "__labels"

#define RDI_FORMAT_MIN 12      /* oldest array format version read */
#define RDI_FORMAT_MAX_READ 22 /* newest read (23's footer extras would be ignored; schema refused) */

/* ------------------------------------------------------------------ schema (format.md §5) -- */

typedef struct rdi_dim {
    char *name;
    radi_datatype type;
    uint32_t cell_val_num;     /* 1, or RADI_VAR_NUM for string dims */
    radi_filter_list filters;  /* empty = inherits the schema's coords filters */
    int has_domain;            /* 0 for var (string) dims */
    uint8_t lo[8], hi[8];
    int has_extent;
    uint8_t extent[8];
} rdi_dim;

typedef struct rdi_attr {
    char *name;
    radi_datatype type;
    uint32_t cell_val_num;     /* RADI_VAR_NUM for var-size */
    radi_filter_list filters;
    uint8_t *fill;
    uint64_t fill_size;
    int nullable;
    uint8_t fill_validity;
    uint8_t order;             /* v17+: 0 unordered */
} rdi_attr;

struct radi_schema {
    uint32_t version;
    int allows_dups;
    radi_array_type type;
    radi_layout tile_order, cell_order;
    uint64_t capacity;
    radi_filter_list coords_filters, offsets_filters, validity_filters;
    uint32_t ndim;
    rdi_dim *dims;
    uint32_t nattr;
    rdi_attr *attrs;
    char *name;                /* its file name in __schema/ (NULL until written or loaded) */
};

/* Writer-side validation (names unique and not "__"-prefixed, lo <= hi, extent <= span,
 * dense dims integer, at least one attribute ...). */
radi_status rdi_schema_validate(const radi_schema *s);
/* Serializes the schema payload (not the generic tile) for format `version` (20..22). */
radi_status rdi_schema_serialize(const radi_schema *s, uint32_t version, rdi_buf *payload);
/* Parses a schema payload; versions outside [RDI_FORMAT_MIN, RDI_FORMAT_MAX_READ] are
 * RADI_E_UNSUPPORTED naming the version and `what`. */
radi_status rdi_schema_deserialize(const void *payload, size_t len, const char *what,
                                   radi_schema **out);
radi_status rdi_schema_clone(const radi_schema *s, radi_schema **out);
uint32_t rdi_attr_cell_size(const rdi_attr *a);   /* bytes per cell (fixed-size attrs) */
size_t rdi_dim_size(const rdi_dim *d);            /* bytes of one coordinate value */
/* Dense integer dims as int64 (domain lo/hi and extent). */
int64_t rdi_dim_lo(const rdi_dim *d);
int64_t rdi_dim_hi(const rdi_dim *d);
int64_t rdi_dim_extent(const rdi_dim *d);
/* Effective filters of a dimension (its own, or the coords filters when empty). */
const radi_filter_list *rdi_dim_filters(const radi_schema *s, uint32_t d);

/* ------------------------------------------------------------- generic tile (format.md §3) -- */

/* Encodes payload as one generic tile (header + GZIP(1) pipeline + chunked body). */
radi_status rdi_generic_tile_encode(const void *payload, size_t len, uint32_t version,
                                    rdi_scratch *scratch, rdi_buf *out);
/* Decodes the generic tile at r's position into payload and advances r past it. */
radi_status rdi_generic_tile_decode(rdi_rd *r, rdi_scratch *scratch, rdi_buf *payload);
/* Reads and decodes the generic tile starting at byte `off` of uri. */
radi_status rdi_generic_tile_read(rdi_vfs *vfs, const char *uri, uint64_t off,
                                  rdi_scratch *scratch, rdi_buf *payload);
/* The prefix snapshot of an open array (tdb/prefetch.h). */
typedef struct rdi_snap rdi_snap;
/* The same, answered from the snapshot where it holds the bytes (snap may be NULL). */
radi_status rdi_generic_tile_read_snap(rdi_vfs *vfs, const rdi_snap *snap, const char *uri, uint64_t off,
                                       rdi_scratch *scratch, rdi_buf *payload);

/* ----------------------------------------------------- timestamped names (format.md §2) -- */

typedef struct rdi_tsname {
    uint64_t t1, t2;
    char uuid[33];
    uint32_t version;          /* 0 when the name has no _v suffix */
} rdi_tsname;

/* Parses "__t1_t2_uuid[_v]" (an optional extension like ".wrt" must be stripped first). */
radi_status rdi_tsname_parse(const char *name, rdi_tsname *out);
/* "__t1_t2_<random uuid>" plus "_<version>" when version != 0. malloc'd. */
radi_status rdi_tsname_make(uint64_t t1, uint64_t t2, uint32_t version, char **out);

/* --------------------------------------------------- fragment metadata (format.md §8, format.md §8.1) -- */

/* One dimension's range in a non-empty domain or MBR. Fixed dims use lo/hi (8 bytes
 * each, of the dim's type); var (string) dims use the malloc'd slo/shi. */
typedef struct rdi_range {
    uint8_t lo[8], hi[8];
    char *slo, *shi;
    uint64_t slo_len, shi_len;
} rdi_range;

/* Offsets of the per-field generic-tile sections inside __fragment_metadata.tdb. */
enum {
    RDI_GT_TILE_OFFSETS = 0,
    RDI_GT_VAR_OFFSETS,
    RDI_GT_VAR_SIZES,
    RDI_GT_VALIDITY_OFFSETS,
    RDI_GT_MINS,
    RDI_GT_MAXS,
    RDI_GT_SUMS,
    RDI_GT_NULL_COUNTS,
    RDI_GT_COUNT
};

typedef struct rdi_fragmeta {
    char *name;                 /* "__t1_t2_uuid_v" */
    char *uri;                  /* <array>/__fragments/<name> */
    uint64_t t1, t2;
    uint32_t version;           /* footer version */
    char *schema_name;
    const radi_schema *schema;  /* borrowed from the open array */
    int dense;
    rdi_range *ned;             /* [ndim] */
    uint64_t sparse_tile_num;
    uint64_t last_tile_cell_num;
    int has_timestamps, has_delete_meta;
    uint32_t nfields;           /* nattr + 1 (__coords) + ndim (+1 timestamps, +2 delete meta) */
    uint64_t *file_sizes, *file_var_sizes, *file_validity_sizes;   /* [nfields] */
    uint64_t rtree_off;
    uint64_t *gt_off[RDI_GT_COUNT];                               /* [nfields] each */
    uint64_t frag_mmsn_off, proc_cond_off;
    uint64_t tile_num;          /* dense: tiles of the NED's tile grid; sparse: sparse_tile_num */
    uint64_t cell_num;
    /* Per-field tile index sections, loaded on first use by rdi_array_load_tile_index. */
    uint64_t **tile_offsets, **tile_var_offsets, **tile_var_sizes, **tile_validity_offsets;
    uint8_t *field_loaded;      /* [nfields] */
    rdi_buf rtree;              /* sparse: the R-tree's payload, loaded with the tile index */
    uint8_t rtree_tried;        /* that load ran (rtree empty: read it from storage) */
    /* Where the footer came from: the fragment's own file, or a consolidated .meta. */
    uint64_t total_size;        /* bytes of the fragment's files, for info */
    uint64_t meta_size;         /* bytes of __fragment_metadata.tdb; 0 until known (consolidated) */
} rdi_fragmeta;

/* Field index of attribute i / dimension d (the __coords slot sits between, format.md §8.1). */
static inline uint32_t rdi_field_attr(uint32_t i) { return i; }
static inline uint32_t rdi_field_dim(const radi_schema *s, uint32_t d) { return s->nattr + 1 + d; }

/* Parses a footer (the plain bytes before the trailing u64 length, format.md §8.1). The schema is
 * found among `schemas` by the footer's schema name. */
radi_status rdi_fragmeta_parse_footer(const void *footer, size_t len, const char *what,
                                      radi_schema *const *schemas, uint32_t nschemas,
                                      rdi_fragmeta *fm);
/* Loads a fragment's footer from its __fragment_metadata.tdb (from snap where it holds
 * the file's tail; snap may be NULL). */
radi_status rdi_fragmeta_load(radi_ctx *ctx, const rdi_snap *snap, const char *array_uri,
                              const char *frag_name, radi_schema *const *schemas, uint32_t nschemas,
                              rdi_fragmeta **out);
void rdi_fragmeta_free(rdi_fragmeta *fm);
/* Every generic-tile offset of the footer must lie before `limit` (the footer's start, or
 * the file size), so no later read is sized from a garbage offset. */
radi_status rdi_fragmeta_check_offsets(const rdi_fragmeta *fm, uint64_t limit, const char *what);
/* The NED over integer dimensions as 2*ndim int64 bounds (RADI_E_UNSUPPORTED otherwise). */
radi_status rdi_fragmeta_ned_box(const rdi_fragmeta *fm, int64_t *box);
/* Loads the footers of the named fragments (already filtered for visibility and sorted
 * oldest first), in parallel on the context's pool. Footers found in one of the
 * consolidated `meta_files` (names in <array>/__fragment_meta/, format.md §9) are taken from
 * there; the others from each fragment's own file. out[i] matches frag_names[i]. */
radi_status rdi_fragmeta_load_all(radi_ctx *ctx, const rdi_snap *snap, const char *array_uri,
                                  const rdi_strlist *frag_names, const rdi_strlist *meta_files,
                                  radi_schema *const *schemas, uint32_t nschemas,
                                  rdi_fragmeta ***out);

/* --------------------------------------------------------- dense tile grid (§4) -- */

/* The tile grid of a dense schema restricted to a box (2*ndim inclusive int64 bounds):
 * the range of tile coordinates the box touches, and the tile count. */
typedef struct rdi_grid {
    uint32_t ndim;
    int64_t lo[4], ext[4];      /* array domain lo and tile extents */
    int64_t tlo[4], thi[4];     /* tile coordinate range covering the box */
    uint64_t ntiles;
    radi_layout tile_order;
} rdi_grid;

radi_status rdi_grid_init(const radi_schema *s, const int64_t *box, rdi_grid *g);
/* Tile coordinates of the k-th tile in the grid's tile order, and back. */
void rdi_grid_coords(const rdi_grid *g, uint64_t k, int64_t *tcoord);
uint64_t rdi_grid_index(const rdi_grid *g, const int64_t *tcoord);
/* The cell box of a tile (tile coordinates -> inclusive cell bounds). */
void rdi_grid_tile_box(const rdi_grid *g, const int64_t *tcoord, int64_t *box);
uint64_t rdi_grid_cells_per_tile(const rdi_grid *g);

/* ------------------------------------------------------------ open arrays (§2) -- */

typedef struct rdi_meta_entry {
    char *key;
    radi_datatype type;
    uint32_t count;
    uint8_t *value;             /* count * sizeof(type) bytes */
} rdi_meta_entry;

struct radi_meta {
    radi_ctx *ctx;
    char *uri;                  /* the array's or group's URI; files go to <uri>/__meta */
    uint32_t version;           /* format version of the files written */
    rdi_meta_entry *entries;    /* sorted by key */
    uint64_t n;
    uint64_t last_t;            /* newest timestamp applied, so new files sort after it */
};

/* Loads <uri>/__meta files whose [t1, t2] lie in [t_start, t_end], applied in t1 order. */
radi_status rdi_meta_load(radi_ctx *ctx, const char *uri, uint64_t t_start, uint64_t t_end,
                          uint32_t version, radi_meta *meta);
/* The same, listing and reading through an open array's snapshot (may be NULL). */
radi_status rdi_meta_load_snap(radi_ctx *ctx, const rdi_snap *snap, const char *uri, uint64_t t_start,
                               uint64_t t_end, uint32_t version, radi_meta *meta);
void rdi_meta_clear(radi_meta *meta);
/* Appends one record (format.md §11): a value, or a deletion when del. */
radi_status rdi_meta_record(rdi_buf *out, const char *key, int del, uint8_t type, uint32_t count,
                            const void *value, size_t nbytes);
/* Every entry as one record per key, in key order (the payload of a merged file). */
radi_status rdi_meta_serialize(const radi_meta *meta, rdi_buf *out);
/* Bytes of one value of a metadata type code; covers the codes TileDB allows in metadata
 * beyond radi_datatype (UTF-16/32, UCS2/4, datetimes, times). 0 for unknown codes. */
size_t rdi_meta_type_size(uint8_t type);

struct radi_array {
    radi_ctx *ctx;
    char *uri;                  /* normalized, no trailing slash */
    uint64_t t_start, t_end;
    int t_end_is_now;           /* opened with end 0: t_end = max(now, newest commit) per (re)load */
    radi_schema **schemas;      /* every schema in __schema/, oldest first (t1, then name) */
    uint32_t nschemas;
    radi_schema *schema;        /* the latest one at t_end (borrowed from schemas) */
    rdi_fragmeta **frags;       /* visible fragments, oldest first (by t1) */
    uint32_t nfrags;
    uint64_t last_t1;           /* newest timestamp (t2) of any committed fragment, visible or not */
    radi_meta meta;
    rdi_snap *snap;             /* the prefix snapshot of the last (re)load; NULL if none */
    /* Guards what reads load lazily into the open handle (fragments' tile indexes). */
    pthread_mutex_t lock;
    /* Set (release) once every fragment's tile index is loaded, so later reads skip the
     * lock (acquire); cleared by a reload of the fragments. */
    atomic_int index_complete;
};

/* Loads the tile index sections (tile, var and validity offsets, var sizes; every field)
 * of the fragments a->frags[which[0..n-1]] that lack them: one wave of reads for the
 * bytes the snapshot does not hold, then decoding. Thread-safe on one handle. */
radi_status rdi_array_load_tile_index(radi_array *a, const uint32_t *which, uint32_t n);
/* The same for every fragment of the handle (an open that wants reads lock-free). */
radi_status rdi_array_load_all_tile_index(radi_array *a);

/* ------------------------------------------------- dense reads into strided boxes -- */

/* A dense read's per-thread state (codec contexts, tile buffers), kept by a caller that
 * reads many boxes in turn on one thread. One thread at a time per worker. */
typedef struct rdi_dense_worker rdi_dense_worker;
radi_status rdi_dense_workers_create(unsigned n, rdi_dense_worker **out);
void rdi_dense_workers_free(rdi_dense_worker *w, unsigned n);
rdi_dense_worker *rdi_dense_worker_at(rdi_dense_worker *w, unsigned i);

/* Reads attribute attr (fixed-size, not nullable) of the box q (2*ndim bounds inside the
 * domain) on the calling thread with worker w: the cell c goes to out + cell size *
 * sum_d (c_d - q_lo_d) * ostride[d] (row-major strides of an enclosing buffer, in cells;
 * NULL = the box's own). budget caps the tile bytes in flight. cache (may be NULL): tiles
 * found there are neither read nor decoded, the others are decoded whole and put there
 * (keyed by data file and tile index, core/tile_cache.h). Adds to *stats (may be NULL):
 * tiles_read counts the tiles used, found in the cache or read; bytes_read and
 * io_requests only what was read. Reentrant on one handle, as radi_array_read_dense. */
radi_status rdi_dense_read_box(radi_array *a, const int64_t *q, const char *attr, void *out, const uint64_t *ostride,
                               rdi_dense_worker *w, uint64_t budget, rdi_tile_cache *cache,
                               radi_read_stats *stats);

/* The object name after "<dir>/" in a .vac line (relative, with a leading slash, or an
 * absolute URI before format 19, format.md §9). 0 when the line names nothing in dir. */
int rdi_vac_target(const char *line, size_t len, const char *dir, const char **name, size_t *nlen);

/* Re-reads the fragment list (after a write or a consolidation by this process). */
radi_status rdi_array_reload_fragments(radi_array *a);

/* Writes a dense fragment with explicit timestamps [t1, t2]; with fill_padding the cells
 * of the written tiles outside the box get the attribute fill value (as consolidation
 * does) instead of zeros. *name_out (may be NULL) receives the fragment name. */
radi_status rdi_dense_write(radi_array *a, const int64_t *box, radi_layout layout,
                            uint32_t nbuffers, const radi_field_buffer *buffers, uint64_t t1,
                            uint64_t t2, int fill_padding, char **name_out);

/* Rewrites every absolute, named member whose object sits at <group>/<name> as the
 * relative member "name", in one change (so a group that moves keeps resolving, as
 * 0.1.1's absolute member URIs do not). *changed (may be NULL) gets how many. */
radi_status rdi_group_relativize(radi_group *g, uint64_t *changed);

/* Merges / vacuums a group's metadata files (__meta), as array_meta mode does for an
 * array (consolidate.c, vacuum.c). RADI_E_NOT_FOUND when uri is not a group. */
radi_status rdi_group_meta_consolidate(radi_ctx *ctx, const char *uri);
radi_status rdi_group_meta_vacuum(radi_ctx *ctx, const char *uri);

/* radi_group_create in a directory the caller owns (it may already hold the caller's
 * files: a dataset's lock and journal), which is not checked for emptiness. */
radi_status rdi_group_create_over(radi_ctx *ctx, const char *uri);

/* Removes a fragment an operation of this process just wrote, as its undo: the commit
 * file first (the fragment is invisible from then on), then its directory. */
radi_status rdi_fragment_discard(radi_ctx *ctx, const char *array_uri, const char *name);
/* Moves the tree of TileDB objects (arrays, groups, anything below) at `from` to `to`,
 * which must not exist (RADI_E_EXISTS). One rename where the storage has it; on object
 * stores object by object, publishing objects (commits, metadata, group details, schemas,
 * group markers) copied after the data and deleted before it (docs/dataset.md §8.3). A
 * failure while copying removes the copies, so `from` is untouched. */
radi_status rdi_object_move(radi_ctx *ctx, const char *from, const char *to);
/* Finishes a move that was interrupted with parts of the tree at both ends (object
 * stores only; with rename there is no such state): everything left at `from` is copied
 * over `to`, then `from` is removed. */
radi_status rdi_object_move_resume(radi_ctx *ctx, const char *from, const char *to);

/* Undoes a failed array or group creation at root: all of it when it did not exist
 * before (whole), else only the named children it made (an empty directory was there).
 * Keeps the calling thread's error message. */
void rdi_uncreate(radi_ctx *ctx, const char *root, int whole, const char *const *children, size_t n);

#endif
