/*
 * radi: radiology datasets in the TileDB array format, natively in C.
 *
 * Conventions (hold for every function in this header):
 *  - Every function that can fail returns a radi_status; RADI_OK is 0. Results are
 *    written through out-parameters, which are left untouched on failure.
 *  - On failure, radi_errmsg() returns a one-line message for the calling thread that
 *    names the object (file, URI, field) and the reason. It stays valid until the next
 *    failing radi call on the same thread.
 *  - Handles are opaque. Every *_free / *_close accepts NULL.
 *  - Strings passed in are copied; the caller keeps ownership of what it passes.
 *    Pointers returned as "borrowed" stay valid until the handle they came from is
 *    freed or closed, unless their declaration names an earlier end (a write through
 *    the same handle); never free them. Memory returned as "owned" is freed with
 *    radi_free.
 *  - Thread model: a radi_ctx may be shared by threads. Dense reads of one open
 *    radi_array or radi_volume (radi_array_read_dense, radi_volume_read,
 *    radi_volume_read_scaled, radi_read_patches) may run concurrently from any number
 *    of threads, together with the calls that only look at the handle (schema, shape,
 *    dtype, metadata gets, scaling, URI). Every other call on a handle (writes,
 *    metadata puts, sparse queries, close) needs it to itself: no read may be running
 *    on that handle meanwhile, and closing it while another thread reads is the
 *    caller's bug. A radi_group is used by one thread at a time. Concurrent calls share
 *    the context's thread pool: one caller's parallel loop uses it, the others run their
 *    loop on their own thread (so N reading threads still use N cores).
 *  - Fork: a context belongs to the process that created it (its pool threads and
 *    connections do not exist in a fork()ed child). In a child, every call on an
 *    inherited context, or on a handle made from one, that would touch storage, the
 *    pool or a lock fails at once with RADI_E_FORKED ("radi context created in process
 *    N used in process M after fork(): create a new context in the child"), never
 *    hangs. radi_ctx_free releases nothing there (the threads and connections are the
 *    parent's; the memory is the child's copy and goes with the process); closing a
 *    handle frees its memory only. A child makes its own context and opens its own
 *    handles.
 *  - URIs: plain paths, file:// URIs (and s3:// once that backend exists).
 */
#ifndef RADI_RADI_H
#define RADI_RADI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define RADI_API __attribute__((visibility("default")))
#else
#define RADI_API
#endif

#define RADI_VERSION_MAJOR 0
#define RADI_VERSION_MINOR 1
#define RADI_VERSION_PATCH 0
RADI_API const char *radi_version(void);

/* ------------------------------------------------------------------ status -- */

/* Values are stable: new codes are only ever appended. */
typedef enum radi_status {
    RADI_OK = 0,
    RADI_E_INVALID = 1,     /* bad argument or bad call sequence */
    RADI_E_NOMEM = 2,       /* allocation failed */
    RADI_E_IO = 3,          /* the storage backend failed (read, write, list) */
    RADI_E_NOT_FOUND = 4,   /* object, file, key or member does not exist */
    RADI_E_EXISTS = 5,      /* object already exists */
    RADI_E_CORRUPT = 6,     /* stored data is malformed or truncated */
    RADI_E_UNSUPPORTED = 7, /* valid but unsupported (format version, filter, feature) */
    RADI_E_CODEC = 8,       /* a compressor or filter failed */
    RADI_E_BUDGET = 9,      /* the memory budget cannot fit the smallest unit of work */
    RADI_E_INTERNAL = 10,   /* a bug in radi */
    RADI_E_BUSY = 11,       /* another writer holds the dataset (or array) lock */
    RADI_E_FORKED = 12      /* a context (or a handle made from it) used in a process
                             * fork()ed from the one that created it (see Fork below) */
} radi_status;

/* Static name of a status, e.g. "RADI_E_CORRUPT". Never NULL. */
RADI_API const char *radi_status_name(radi_status status);
/* Last error message of the calling thread ("" if none). Borrowed, thread-local. */
RADI_API const char *radi_errmsg(void);

/* --------------------------------------------------------------- datatypes -- */

/* TileDB's datatype codes, as stored on disk. */
typedef enum radi_datatype {
    RADI_INT32 = 0,
    RADI_INT64 = 1,
    RADI_FLOAT32 = 2,
    RADI_FLOAT64 = 3,
    RADI_CHAR = 4,
    RADI_INT8 = 5,
    RADI_UINT8 = 6,
    RADI_INT16 = 7,
    RADI_UINT16 = 8,
    RADI_UINT32 = 9,
    RADI_UINT64 = 10,
    RADI_STRING_ASCII = 11,
    RADI_STRING_UTF8 = 12,
    RADI_ANY = 17,
    RADI_BLOB = 40,
    RADI_BOOL = 41
} radi_datatype;

/* Size in bytes of one value (0 for unknown types). */
RADI_API size_t radi_datatype_size(radi_datatype type);
/* Static lower-case name, e.g. "float32"; "unknown" for unknown codes. */
RADI_API const char *radi_datatype_name(radi_datatype type);

/* ----------------------------------------------------------------- filters -- */

/* TileDB's filter type codes, as stored on disk. */
typedef enum radi_filter_type {
    RADI_FILTER_NONE = 0,
    RADI_FILTER_GZIP = 1,
    RADI_FILTER_ZSTD = 2,
    RADI_FILTER_LZ4 = 3,
    RADI_FILTER_RLE = 4,
    RADI_FILTER_BZIP2 = 5,
    RADI_FILTER_DOUBLE_DELTA = 6,
    RADI_FILTER_BIT_WIDTH_REDUCTION = 7,
    RADI_FILTER_BITSHUFFLE = 8,
    RADI_FILTER_BYTESHUFFLE = 9,
    RADI_FILTER_POSITIVE_DELTA = 10,
    RADI_FILTER_MD5 = 12,
    RADI_FILTER_SHA256 = 13,
    RADI_FILTER_DICTIONARY = 14,
    RADI_FILTER_SCALE_FLOAT = 15,
    RADI_FILTER_XOR = 16,
    RADI_FILTER_WEBP = 18,
    RADI_FILTER_DELTA = 19
} radi_filter_type;

typedef struct radi_filter {
    radi_filter_type type;
    int32_t level;                /* compressors; -1 = the codec's default */
    radi_datatype reinterpret;    /* DELTA / DOUBLE_DELTA; RADI_ANY = the tile's type */
    uint32_t max_window;          /* BIT_WIDTH_REDUCTION (default 256) / POSITIVE_DELTA (1024) */
} radi_filter;

#define RADI_MAX_FILTERS 8
typedef struct radi_filter_list {
    uint32_t max_chunk_size;      /* default 65536; 0 = one chunk per tile */
    uint32_t count;
    radi_filter filters[RADI_MAX_FILTERS];
} radi_filter_list;

/* An empty list (no filters, 64 KiB chunks). */
RADI_API void radi_filter_list_init(radi_filter_list *list);
/* Appends a filter with its defaults (level -1, reinterpret ANY; window 1024 for positive
 * delta, 256 for bit-width reduction, as TileDB). */
RADI_API radi_status radi_filter_list_add(radi_filter_list *list, radi_filter_type type,
                                          int32_t level);
/* Static name, e.g. "zstd"; "unknown" for unknown codes. */
RADI_API const char *radi_filter_type_name(radi_filter_type type);

/* ------------------------------------------------------------------ config -- */

typedef struct radi_config {
    uint64_t memory_budget;   /* bytes of tile data a read may hold at once; default 1 GiB */
    uint32_t concurrency;     /* worker threads for I/O and (de)compression; default 4 */
    uint32_t format_version;  /* schema/fragment version written: 20, 21 or 22; default 21 */
} radi_config;

/* Fills *config with the defaults above. */
RADI_API void radi_config_init(radi_config *config);

/* A context owns the configuration, the thread pool and the storage backends. */
typedef struct radi_ctx radi_ctx;

/* config may be NULL for the defaults. *out is freed with radi_ctx_free. */
RADI_API radi_status radi_ctx_create(const radi_config *config, radi_ctx **out);
RADI_API void radi_ctx_free(radi_ctx *ctx);
/* Borrowed view of the context's configuration. */
RADI_API const radi_config *radi_ctx_config(const radi_ctx *ctx);

/* ----------------------------------------------------------------- options -- */
/*
 * String options: the configuration that grows without changing any struct (as
 * TileDB's Config and curl's options). radi_config above is frozen; every new setting
 * is a key here. Keys (values are strings; booleans "true"/"false"/"1"/"0"):
 *   memory_budget, concurrency, format_version     override the radi_config fields
 *   tile_cache_size                  bytes of decoded tiles radi_read_patches keeps between
 *                                    calls (patches.h), shared by the context's threads; a
 *                                    tile enters on its second use, the least recently used
 *                                    leaves; default 268435456 (256 MiB: all the 64^3 tiles
 *                                    of ~10 int16 volumes of 240x240x155), taken only as
 *                                    tiles are decoded; 0 turns it off
 *   dataset.lock_wait_ms             how long a dataset write waits for another writer's
 *                                    lock before failing with RADI_E_BUSY; default 30000
 *   vfs.posix.sync                   "true" (default): local writes fsync file data before the
 *                                    rename that publishes them and the directory after it,
 *                                    so what radi acknowledged survives a power cut; "false"
 *                                    skips every fsync (still atomic for readers and under
 *                                    kill -9; ingest 1.24x faster here: bench/bench_durability.py)
 *   vfs.s3.region                    default AWS_REGION / AWS_DEFAULT_REGION / profile / "us-east-1"
 *   vfs.s3.endpoint                  host[:port] or a URL ("http://127.0.0.1:9000" also sets
 *                                    the scheme); default AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL,
 *                                    else AWS
 *   vfs.s3.scheme                    "https" (default) or "http"
 *   vfs.s3.use_virtual_addressing    default: false with an endpoint, true on AWS
 *   vfs.s3.max_parallel_ops          S3 requests in flight at once (all threads), default 8
 *   vfs.s3.multipart_part_size       bytes (or vfs.s3.multipart_part_size_mb), default 50 MiB
 *   vfs.s3.multipart_copy_threshold  bytes: a move or copy of an object larger than this is a
 *                                    server-side multipart copy (UploadPartCopy parts of
 *                                    multipart_part_size), not one CopyObject, which AWS refuses
 *                                    above 5 GiB (other stores lower); default 5368709120
 *                                    (5 GiB), 5242880 .. 5368709120
 *   vfs.s3.connect_timeout_ms        default 3000
 *   vfs.s3.request_timeout_ms        default 30000
 *   vfs.s3.max_retries               default 5 (5xx, SlowDown, 429, timeouts, resets, short bodies);
 *                                    a retry waits at least the answer's Retry-After (capped at 20 s)
 *   vfs.s3.lock_lease_ms             a dataset writer's lease on S3, renewed every third of it
 *                                    while held; a crashed writer blocks others this long at
 *                                    most; default 30000 (1000 .. 86400000)
 *   vfs.s3.verify_ssl                default true
 *   vfs.s3.ca_file                   PEM bundle
 *   vfs.s3.aws_access_key_id, vfs.s3.aws_secret_access_key, vfs.s3.aws_session_token
 *                                    default from AWS_* and the shared credentials file;
 *                                    no credentials at all = anonymous (unsigned) requests,
 *                                    and so is an explicitly empty key id and secret ("").
 *                                    The key id and secret are taken as a pair from one
 *                                    source, never mixed. Secrets (all three) are never
 *                                    shown in messages or radi_options_get.
 *   vfs.s3.profile                   default AWS_PROFILE, else "default"; set here, it also
 *                                    keeps AWS_ACCESS_KEY_ID & co out (as botocore)
 *   vfs.s3.use_environment           default true: unset S3 settings come from AWS_* and ~/.aws
 */
typedef struct radi_options radi_options;

/* An empty set (every key at its default). Freed with radi_options_free. */
RADI_API radi_status radi_options_create(radi_options **out);
RADI_API void radi_options_free(radi_options *opts);
/* Sets key to value (both copied); value NULL restores the default. Unknown keys and
 * bad values are RADI_E_INVALID, and *opts is unchanged. */
RADI_API radi_status radi_options_set(radi_options *opts, const char *key, const char *value);
/* *value is the value set for key (borrowed until the key is set again or opts is
 * freed), or NULL when unset. A secret that is set reads back as "***". */
RADI_API radi_status radi_options_get(const radi_options *opts, const char *key, const char **value);

/* As radi_ctx_create, with options (copied; NULL = none). S3 settings that cannot be
 * used (a bad credentials file, say) do not fail the context: the first s3:// call
 * reports them. */
RADI_API radi_status radi_ctx_create_with_options(const radi_config *config, const radi_options *opts,
                                                  radi_ctx **out);

/* sizeof of a public struct by its name ("radi_config", "radi_filter_list", ...), 0 for
 * an unknown name: language bindings check their mirrors against it when they load. */
RADI_API size_t radi_abi_sizeof(const char *type_name);

/* ------------------------------------------------------------------ schema -- */

typedef enum radi_array_type { RADI_DENSE = 0, RADI_SPARSE = 1 } radi_array_type;

typedef enum radi_layout {
    RADI_ROW_MAJOR = 0,
    RADI_COL_MAJOR = 1,
    RADI_GLOBAL_ORDER = 2,
    RADI_UNORDERED = 3
} radi_layout;

typedef struct radi_schema radi_schema;

/* A new schema with TileDB's defaults: row-major tile and cell order, capacity 10000,
 * coords and offsets filtered by ZSTD(-1), validity by RLE(-1). Freed with radi_schema_free. */
RADI_API radi_status radi_schema_create(radi_array_type type, radi_schema **out);
RADI_API void radi_schema_free(radi_schema *schema);
RADI_API radi_status radi_schema_set_order(radi_schema *schema, radi_layout tile_order,
                                           radi_layout cell_order);
RADI_API radi_status radi_schema_set_capacity(radi_schema *schema, uint64_t capacity);
RADI_API radi_status radi_schema_set_allows_dups(radi_schema *schema, int allows_dups);
RADI_API radi_status radi_schema_set_coords_filters(radi_schema *schema, const radi_filter_list *f);
RADI_API radi_status radi_schema_set_offsets_filters(radi_schema *schema, const radi_filter_list *f);
RADI_API radi_status radi_schema_set_validity_filters(radi_schema *schema, const radi_filter_list *f);

/* Adds a dimension. For integer types lo, hi and extent point to one value of `type`;
 * extent NULL means no tile extent (sparse only). For RADI_STRING_ASCII (var-sized),
 * lo, hi and extent must be NULL. filters NULL = inherit the coords filters. */
RADI_API radi_status radi_schema_add_dim(radi_schema *schema, const char *name, radi_datatype type,
                                         const void *lo, const void *hi, const void *extent,
                                         const radi_filter_list *filters);

#define RADI_VAR_NUM UINT32_MAX /* cell_val_num of a var-sized attribute */

/* Adds an attribute. filters NULL = no filters. fill NULL = TileDB's default fill
 * (unsigned max, signed min, NaN; "\0" for strings); otherwise fill_size bytes are copied. */
RADI_API radi_status radi_schema_add_attr(radi_schema *schema, const char *name, radi_datatype type,
                                          uint32_t cell_val_num, int nullable,
                                          const radi_filter_list *filters, const void *fill,
                                          uint64_t fill_size);

typedef struct radi_dim_info {
    const char *name;         /* borrowed */
    radi_datatype type;
    uint32_t cell_val_num;
    int has_domain;           /* 0 for string dimensions */
    uint8_t lo[8], hi[8];     /* one value of `type`, little-endian */
    int has_extent;
    uint8_t extent[8];
    radi_filter_list filters;
} radi_dim_info;

typedef struct radi_attr_info {
    const char *name;         /* borrowed */
    radi_datatype type;
    uint32_t cell_val_num;
    int nullable;
    const void *fill;         /* borrowed */
    uint64_t fill_size;
    radi_filter_list filters;
} radi_attr_info;

typedef struct radi_schema_info {
    uint32_t version;
    radi_array_type type;
    radi_layout tile_order, cell_order;
    uint64_t capacity;
    int allows_dups;
    uint32_t ndim, nattr;
    radi_filter_list coords_filters, offsets_filters, validity_filters;
} radi_schema_info;

RADI_API radi_status radi_schema_get_info(const radi_schema *schema, radi_schema_info *out);
RADI_API radi_status radi_schema_get_dim(const radi_schema *schema, uint32_t i, radi_dim_info *out);
RADI_API radi_status radi_schema_get_attr(const radi_schema *schema, uint32_t i, radi_attr_info *out);
/* Index of the attribute named `name`, or RADI_E_NOT_FOUND. */
RADI_API radi_status radi_schema_attr_index(const radi_schema *schema, const char *name, uint32_t *out);

/* ------------------------------------------------------------------ objects -- */

typedef enum radi_object_type {
    RADI_OBJECT_INVALID = 0,
    RADI_OBJECT_GROUP = 1,
    RADI_OBJECT_ARRAY = 2
} radi_object_type;

/* RADI_OBJECT_INVALID (and RADI_OK) when nothing is at uri. */
RADI_API radi_status radi_object_type_of(radi_ctx *ctx, const char *uri, radi_object_type *out);

/* Removes an array or group and everything below it. */
RADI_API radi_status radi_object_remove(radi_ctx *ctx, const char *uri);

/* ----------------------------------------------------------------- storage -- */
/*
 * Plain files through the context's storage backends, for what is not an array: the
 * CLI's outputs (PNG, .npy) and inputs (CSV), so that every URI the context serves
 * (s3:// included) works there too. No caller needs a filesystem call of its own.
 */
typedef enum radi_uri_kind {
    RADI_URI_NONE = 0,   /* nothing there */
    RADI_URI_FILE = 1,   /* a file (object) */
    RADI_URI_DIR = 2     /* a directory (an S3 prefix holding objects) */
} radi_uri_kind;

RADI_API radi_status radi_uri_kind_of(radi_ctx *ctx, const char *uri, radi_uri_kind *out);
/* Reads the whole file: *data (owned: free with radi_free) holds *size bytes followed by
 * one NUL byte (not counted), so text can be parsed in place. A file larger than
 * max_size bytes (0 = no limit) is RADI_E_INVALID, read no further. */
RADI_API radi_status radi_read_file(radi_ctx *ctx, const char *uri, uint64_t max_size,
                                    void **data, uint64_t *size);
/* Creates or replaces the file with size bytes of data, atomically (a temporary file and
 * a rename on POSIX, one upload on S3), parent directories created as needed. */
RADI_API radi_status radi_write_file(radi_ctx *ctx, const char *uri, const void *data,
                                     uint64_t size);
/* Frees memory radi returned as owned (NULL is fine). */
RADI_API void radi_free(void *p);

/* ------------------------------------------------------------------- arrays -- */

typedef struct radi_array radi_array;

/* Creates an empty array. Fails with RADI_E_EXISTS if anything is at uri. */
RADI_API radi_status radi_array_create(radi_ctx *ctx, const char *uri, const radi_schema *schema);

/* Opens an array for reading and writing. Fragments and metadata whose timestamps lie in
 * [timestamp_start, timestamp_end] (milliseconds since the epoch) are visible;
 * timestamp_end 0 means "now". Reading never modifies the array. */
RADI_API radi_status radi_array_open(radi_ctx *ctx, const char *uri, uint64_t timestamp_start,
                                     uint64_t timestamp_end, radi_array **out);
RADI_API void radi_array_close(radi_array *array);
/* Borrowed. */
RADI_API const radi_schema *radi_array_schema(const radi_array *array);
RADI_API const char *radi_array_uri(const radi_array *array);

/* Non-empty domain of a dense (or integer-dimensioned) array: 2*ndim int64 values
 * (lo0, hi0, lo1, hi1, ...). *is_empty = 1 when no fragment is visible. */
RADI_API radi_status radi_array_nonempty_domain(const radi_array *array, int64_t *lohi,
                                                int *is_empty);

typedef struct radi_fragment_info {
    const char *name;         /* "__t1_t2_uuid_v"; borrowed until the array is closed or
                                 written through (a write reloads the fragment list) */
    uint64_t t1, t2;
    uint32_t version;
    int dense;
    uint64_t tile_count;
    uint64_t cell_count;
    uint64_t size_bytes;      /* bytes of all of the fragment's files */
    int64_t ned[8];           /* integer non-empty domain, 2*ndim values (ndim <= 4 here) */
} radi_fragment_info;

RADI_API uint32_t radi_array_fragment_count(const radi_array *array);
RADI_API radi_status radi_array_fragment(const radi_array *array, uint32_t i,
                                         radi_fragment_info *out);

/* One attribute's buffer for a dense write or read. */
typedef struct radi_field_buffer {
    const char *attr;     /* attribute name */
    void *data;           /* ncells * cell size bytes */
    uint64_t size;        /* bytes available in data */
    uint8_t *validity;    /* nullable attributes: one byte per cell, else NULL */
} radi_field_buffer;

/* What a read did, for callers who want to see that a region read is partial. */
typedef struct radi_read_stats {
    uint64_t tiles_read;      /* tiles fetched and decoded */
    uint64_t bytes_read;      /* bytes fetched from storage */
    uint64_t io_requests;     /* backend read calls after coalescing */
    uint64_t batches;         /* budget-limited batches */
} radi_read_stats;

/* Writes the box `subarray` (2*ndim inclusive int64 bounds) of a dense array as one new
 * fragment, all-or-nothing: the commit file is written last. `layout` is the order of the
 * cells in the buffers (RADI_ROW_MAJOR or RADI_COL_MAJOR). Every attribute must be
 * given. The fragment timestamp is max(now, newest visible t1 + 1); timestamp != 0
 * forces that value instead. */
RADI_API radi_status radi_array_write_dense(radi_array *array, const int64_t *subarray,
                                            radi_layout layout, uint32_t nbuffers,
                                            const radi_field_buffer *buffers, uint64_t timestamp);

/* Reads the box `subarray` of a dense array into caller buffers, in `layout`
 * (RADI_ROW_MAJOR or RADI_COL_MAJOR). Per cell the newest fragment wins; cells no
 * fragment wrote get the fill value. stats may be NULL. */
RADI_API radi_status radi_array_read_dense(radi_array *array, const int64_t *subarray,
                                           radi_layout layout, uint32_t nbuffers,
                                           radi_field_buffer *buffers, radi_read_stats *stats);

/* ----------------------------------------------------------------- metadata -- */

/* Key/value metadata of an array or a group (TileDB's __meta). */
typedef struct radi_meta radi_meta;

RADI_API radi_meta *radi_array_meta(radi_array *array); /* borrowed */

/* Writes one new metadata file holding this key. value: count values of type. */
RADI_API radi_status radi_meta_put(radi_meta *meta, const char *key, radi_datatype type,
                                   uint32_t count, const void *value);
/* One key/value of a batch. */
typedef struct radi_meta_item {
    const char *key;
    radi_datatype type;
    uint32_t count;
    const void *value;
} radi_meta_item;
/* Writes n keys as ONE new metadata file (fewer files and one timestamp for a volume's
 * keys). Keys must be distinct; nothing is written if any item is invalid. */
RADI_API radi_status radi_meta_put_many(radi_meta *meta, uint32_t n, const radi_meta_item *items);
RADI_API radi_status radi_meta_delete(radi_meta *meta, const char *key);
/* RADI_E_NOT_FOUND if the key is absent. *value is borrowed until the key is put or
 * deleted again through this radi_meta, or its array/group is closed. */
RADI_API radi_status radi_meta_get(const radi_meta *meta, const char *key, radi_datatype *type,
                                   uint32_t *count, const void **value);
RADI_API uint64_t radi_meta_count(const radi_meta *meta);
/* i-th key in byte order of the keys; all out-parameters borrowed until the next put
 * or delete through this radi_meta (which may reorder the keys), or close. */
RADI_API radi_status radi_meta_at(const radi_meta *meta, uint64_t i, const char **key,
                                  radi_datatype *type, uint32_t *count, const void **value);

/* ------------------------------------------------------------------- groups -- */

typedef struct radi_group radi_group;

RADI_API radi_status radi_group_create(radi_ctx *ctx, const char *uri);
RADI_API radi_status radi_group_open(radi_ctx *ctx, const char *uri, radi_group **out);
RADI_API void radi_group_close(radi_group *group);
RADI_API radi_meta *radi_group_meta(radi_group *group); /* borrowed */

/* Adds a member and writes the change at once. relative != 0 stores member_uri as given,
 * relative to the group (e.g. "obs"); otherwise it is stored absolute (file:///...).
 * name may be NULL. */
RADI_API radi_status radi_group_add_member(radi_group *group, const char *member_uri,
                                           int relative, const char *name);
/* Adds n members as one change (one details file): all of them or none. names may be
 * NULL (all unnamed) or hold n names. */
RADI_API radi_status radi_group_add_members(radi_group *group, size_t n,
                                            const char *const *member_uris, int relative,
                                            const char *const *names);
/* Replaces the member whose name (or, unnamed, URI) is key by a new one, written as one
 * change: readers see the old member or the new one, never both or neither. */
RADI_API radi_status radi_group_replace_member(radi_group *group, const char *key,
                                               const char *member_uri, int relative,
                                               const char *name);
/* Removes the member whose name (or, unnamed, URI) is key, and writes the change. */
RADI_API radi_status radi_group_remove_member(radi_group *group, const char *key);

/* The strings are borrowed until the group is closed or its members change through it
 * (add, replace, remove: a replaced or removed member's strings are freed). */
typedef struct radi_group_member {
    const char *name;         /* borrowed; NULL if unnamed */
    const char *uri;          /* borrowed; as stored */
    const char *resolved_uri; /* borrowed; absolute */
    radi_object_type type;
    int relative;
} radi_group_member;

RADI_API uint64_t radi_group_member_count(const radi_group *group);
RADI_API radi_status radi_group_member_at(const radi_group *group, uint64_t i,
                                          radi_group_member *out);

/* ------------------------------------------------------------ consolidation -- */

typedef enum radi_consolidation_mode {
    RADI_CONSOLIDATE_FRAGMENTS = 0,
    RADI_CONSOLIDATE_COMMITS = 1,
    RADI_CONSOLIDATE_FRAGMENT_META = 2,
    RADI_CONSOLIDATE_ARRAY_META = 3
} radi_consolidation_mode;

/* Merges what `mode` names into one new object, as TileDB does; readers see the same
 * values before and after. Nothing is deleted: see radi_vacuum. */
RADI_API radi_status radi_consolidate(radi_ctx *ctx, const char *uri, radi_consolidation_mode mode);
/* Deletes what an earlier consolidation in `mode` made obsolete. */
RADI_API radi_status radi_vacuum(radi_ctx *ctx, const char *uri, radi_consolidation_mode mode);

#ifdef __cplusplus
}
#endif

#endif /* RADI_RADI_H */
