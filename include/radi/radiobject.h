/*
 * radi datasets: RadiObject's on-disk model (subjects x collections of volumes), written
 * so that radiobject 0.1.1 opens, reads and validates it (docs/dataset.md),
 * and reading any 0.1.1 dataset. Conventions as in radi.h.
 *
 * Layout written (all member URIs relative, so a dataset can be moved or copied as is):
 *   <uri>/                    group; metadata subject_count, n_collections (INT64)
 *     obs_meta                sparse, dims obs_subject_id, obs_id (STRING_ASCII); one row per
 *                             subject with obs_id = obs_subject_id, no attributes
 *     collections/            group, one member per collection
 *       <name>/               group; metadata n_volumes (INT64), name (UTF-8) and
 *                             x_dim/y_dim/z_dim (INT64) when every volume has the same shape
 *         obs                 sparse, same dims, the 15 NIfTI attributes of §3.4 in order
 *         volumes/<k>         dense volumes (volume.h), k = 0.. in byte order of
 *                             (obs_subject_id, obs_id), so 0.1.1's positional lookup is right
 *
 * Identifiers. obs_id defaults to "{obs_subject_id}_{collection}" (unique across
 * collections by construction); a caller may give its own. Duplicate ids within an ingest,
 * or colliding with ids already in any collection, are rejected before anything is written.
 *
 * Volume lookup. Readers resolve a volume by its own "obs_id" array metadata, never by
 * position alone (0.1.1 datasets may hold volumes in input order). A volume without that
 * key falls back to 0.1.1's rule: volumes/<k> is the k-th obs row.
 *
 * NIfTI scaling. Volumes hold the file's raw values in its own datatype. The slope and
 * intercept are recorded truthfully (metadata nifti_scl_slope / nifti_scl_inter and obs
 * scl_slope / scl_inter); files without scaling (slope 0 or not finite) record 1.0 / 0.0,
 * as 0.1.1 does. 0.1.1 itself stores scaled float64 instead; for a scaled file it reads
 * radi's raw values.
 */
#ifndef RADI_RADIOBJECT_H
#define RADI_RADIOBJECT_H

#include "radi/radi.h"
#include "radi/sparse.h"
#include "radi/volume.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An open dataset. Used by one thread at a time; caches what it has read. */
typedef struct radi_dataset radi_dataset;

/* Creates an empty dataset (root group, obs_meta, collections) at uri. RADI_E_EXISTS if
 * anything is there. On failure nothing is left. */
RADI_API radi_status radi_dataset_create(radi_ctx *ctx, const char *uri);

/* The same with obs_meta's schema given (user columns): a sparse schema whose dimensions
 * are exactly obs_subject_id, obs_id (STRING_ASCII, in that order); its attributes are
 * the user columns. Rows come with the ingest (radi_ingest_options.obs_meta_*) or are
 * written before it with radi_array_write_sparse on <uri>/obs_meta: an ingest refuses
 * new subjects without an obs_meta row when obs_meta has user columns. subject_count is
 * always the number of distinct subjects obs_meta lists. */
RADI_API radi_status radi_dataset_create_with_obs_meta(radi_ctx *ctx, const char *uri,
                                                       const radi_schema *obs_meta);

/* Opens a dataset written by radi or by radiobject 0.1.1. Freed with radi_dataset_close.
 * Confinement (docs/dataset.md §1): a dataset whose root or collections group holds a
 * member that leaves it (a name that is not a plain path segment, a relative URI
 * climbing out of the root, an absolute URI outside it or of another scheme) is refused
 * with RADI_E_CORRUPT naming the member and the dataset. A collection's own groups are
 * checked the same way when it is first read (radi_dataset_volumes), renamed, copied or
 * maintained; nothing is ever read or written through a refused member. Absolute
 * file:// members inside the root (as 0.1.1 writes them) are accepted. */
RADI_API radi_status radi_dataset_open(radi_ctx *ctx, const char *uri, radi_dataset **out);
RADI_API void radi_dataset_close(radi_dataset *ds);

/* Opens a stand-alone collection: a collection group (<dataset>/collections/<name>, or
 * one radi_dataset_copy_collection or 0.1.1's VolumeCollection.materialize wrote) as a
 * dataset handle with that one collection, named by its `name` metadata (else its URI's
 * last component). Its subjects are the distinct obs_subject_ids of its obs. Reads work
 * as on a dataset. radi_dataset_ingest* appends to it (below); add_collection, rename,
 * materialize and import are refused (RADI_E_UNSUPPORTED). */
RADI_API radi_status radi_collection_open(radi_ctx *ctx, const char *uri, radi_dataset **out);
/* 1 for a handle from radi_collection_open. */
RADI_API int radi_dataset_is_collection(const radi_dataset *ds);
RADI_API const char *radi_dataset_uri(const radi_dataset *ds); /* borrowed until close */

/* Collections in the order the `collections` group lists them. A name is borrowed until
 * the next write through ds (ingest, add or rename collection, which reload the list)
 * or radi_dataset_close; copy it to keep it longer. */
RADI_API uint64_t radi_dataset_collection_count(const radi_dataset *ds);
RADI_API const char *radi_dataset_collection_name(const radi_dataset *ds, uint64_t i);

/* Distinct obs_subject_id values of obs_meta, in byte order. Borrowed as collection
 * names are: until the next write through ds or radi_dataset_close. */
RADI_API uint64_t radi_dataset_subject_count(const radi_dataset *ds);
RADI_API const char *radi_dataset_subject_id(const radi_dataset *ds, uint64_t i);

/* Creates an empty collection (n_volumes 0). RADI_E_EXISTS if the name is taken. Names
 * are 1..255 bytes of [A-Za-z0-9_.-], not starting with '.'. */
RADI_API radi_status radi_dataset_add_collection(radi_dataset *ds, const char *name);

/* Renames collection `from` to `to` (a new valid name): its directory, its member in
 * `collections` (one change) and its `name` metadata; members stored absolute (as 0.1.1
 * writes them) become relative. A failure before the membership change leaves the
 * dataset as it was. */
RADI_API radi_status radi_dataset_rename_collection(radi_dataset *ds, const char *from,
                                                    const char *to);

/* One collection's volumes, as obs lists them (byte order of (obs_subject_id, obs_id)).
 * Resolves each obs row to its volume by the volume's obs_id metadata. On remote storage
 * (s3://) a collection whose `volumes` members are exactly 0..n-1 is instead placed by
 * position (volumes/<k> = the k-th row, the invariant radi keeps), so opening a dataset
 * does not cost a request per volume; radi_dataset_open_volume checks the obs_id of the
 * volume it opens and resolves every volume when it differs. Open volumes through it.
 * *count rows; the strings are borrowed until the dataset is closed or written, or
 * radi_dataset_open_volume re-resolves the collection. volume_uri is NULL for an obs row
 * that no volume claims. */
typedef struct radi_volume_entry {
    const char *obs_subject_id;
    const char *obs_id;
    const char *volume_uri;     /* e.g. "<uri>/collections/FLAIR/volumes/2" */
} radi_volume_entry;

RADI_API radi_status radi_dataset_volumes(radi_dataset *ds, const char *collection,
                                          const radi_volume_entry **entries, uint64_t *count);

/* Opens the volume whose obs_id is `obs_id` in `collection` (RADI_E_NOT_FOUND if none);
 * the volume opened always holds that obs_id in its metadata, or was matched by position
 * in a dataset whose volumes carry no obs_id (written by neither radi nor 0.1.1).
 * The strings may point into radi_dataset_volumes' entries. */
RADI_API radi_status radi_dataset_open_volume(radi_dataset *ds, const char *collection,
                                              const char *obs_id, radi_volume **out);

/* One NIfTI file to ingest (a path or any URI the context serves). obs_id NULL =
 * "{subject_id}_{collection}". The strings are the caller's, read during the call. */
typedef struct radi_nifti_source {
    const char *path;
    const char *subject_id;
    const char *obs_id;
} radi_nifti_source;

/* Source discovery: one collection's files from `pattern`, listed through ctx's storage
 * backends (local paths, file://, s3:// prefixes alike):
 *  - a directory (or an s3:// prefix ending in '/'): its entries named *.nii or *.nii.gz,
 *    extensions in any case, hidden names (leading '.') skipped;
 *  - a glob: '*', '?' and '[...]' ('[!...]' negates) in any path segment, matched as
 *    glob(3) does (a leading '.' must be spelled out); of the matches, those with a
 *    NIfTI name are kept;
 *  - otherwise, or when a pattern matches nothing but names a file ("scan[1].nii"),
 *    the one file named (any name).
 * Matched directories with a NIfTI name are kept, so the ingest that reads them names
 * them. subject_id = the file name without .nii/.nii.gz and without a trailing
 * "_<collection>" (sub-01_FLAIR.nii.gz in FLAIR gives sub-01); obs_id NULL (the
 * default). Sorted by subject_id. RADI_E_NOT_FOUND when nothing matches;
 * RADI_E_INVALID naming both files when two give one subject. *out is freed with
 * radi_source_list_free. */
typedef struct radi_source_list radi_source_list;
RADI_API radi_status radi_sources_from_pattern(radi_ctx *ctx, const char *pattern,
                                               const char *collection, radi_source_list **out);
RADI_API size_t radi_source_list_count(const radi_source_list *list);
/* count entries, borrowed until radi_source_list_free: usable as is as
 * radi_ingest_collection.sources. */
RADI_API const radi_nifti_source *radi_source_list_items(const radi_source_list *list);
RADI_API void radi_source_list_free(radi_source_list *list);

/* Progress of an ingest: called after each file is written (from the ingesting threads,
 * one call at a time) with the files done so far, the total and the file's path
 * (borrowed for the call). */
typedef void (*radi_progress_fn)(void *user, uint64_t done, uint64_t total, const char *path);

typedef struct radi_ingest_options {
    radi_tile_config tile;
    radi_compression compression;
    /* refuse files whose spatial shapes differ within a collection, and collections of
     * the call that do not cover the same subjects (as 0.1.1's validate_alignment) */
    int validate_alignment;
    /* obs_meta rows written with this ingest (after the volumes and obs rows): every
     * field of obs_meta's schema, as radi_array_write_sparse takes them (borrowed for the
     * call). They must include every subject the ingest adds; rows of existing subjects
     * replace theirs. With 0 rows, new subjects get rows (sid, sid) without user columns,
     * which an obs_meta with user columns refuses (RADI_E_INVALID). */
    uint32_t obs_meta_nbuffers;
    const radi_sparse_buffer *obs_meta_buffers;
    uint64_t obs_meta_rows;
    radi_progress_fn progress;  /* NULL: none */
    void *progress_user;
    /* Canonical reorientation of every volume as 0.1.1's reorient=True does (NIfTI and
     * DICOM alike): RADI_REORIENT_NONE (stored as acquired), _RAS, _LAS or _LPS (volume.h). Voxel
     * axes are permuted and flipped only (nibabel's as_closest_canonical; no resampling;
     * a 4-D time axis untouched); a source already RAS is kept as it is; the volume's
     * orientation_* metadata describe the stored voxels, obs rows the source file. */
    int reorient;
    /* With reorient: also record the source's affine as original_affine (0.1.1's
     * store_original_affine; default 1). */
    int store_original_affine;
} radi_ingest_options;

/* Axial tiles, ZSTD 3, no alignment check, no obs_meta rows, no progress, no
 * reorientation (store_original_affine 1). */
RADI_API void radi_ingest_options_init(radi_ingest_options *opt);

/* One collection's files for radi_dataset_ingest. */
typedef struct radi_ingest_collection {
    const char *name;                   /* existing (append) or new */
    size_t n;
    const radi_nifti_source *sources;
} radi_ingest_collection;

/* Ingests NIfTI files into one or more collections, creating those that do not exist.
 * All-or-nothing across every collection: all headers are read and every id checked
 * before anything is written (obs_ids must be unique in the dataset; a collection may
 * appear once; an append to a collection whose volumes share one spatial shape, i.e.
 * has x/y/z_dim, must bring that shape: "Dimension mismatch" as 0.1.1); then all files are decoded and written in parallel up to the context's
 * concurrency; then metadata; then each collection is committed (an append's obs rows,
 * a new collection's registration). A failure at any step undoes what the call wrote,
 * earlier commits included, and the error names the file.
 *
 * volumes/<k> stay in (obs_subject_id, obs_id) byte order: an append whose keys sort
 * between existing ones writes its new volumes to a staging directory, then renumbers
 * the existing volumes after them (moves that never overwrite), then moves the new ones
 * in. Volume handles opened before such an append may then fail with RADI_E_NOT_FOUND;
 * they never read another volume's voxels. opt may be NULL for the defaults.
 *
 * On a stand-alone collection (radi_collection_open) the same call appends to it, with
 * the same guarantees, its root being the collection group itself (its writer lock and
 * intent journal are <uri>/__radi_lock and <uri>/__radi_journal; radi_dataset_repair
 * takes <uri>): exactly one collection, named as the collection is (else
 * RADI_E_INVALID); no obs_meta rows (it has none: RADI_E_INVALID); obs_ids unique within
 * it; n_volumes and x/y/z_dim updated as in a dataset. A dataset's own collection opened
 * stand-alone (<root>/collections/<name> beside <root>/obs_meta) is refused
 * (RADI_E_UNSUPPORTED): append through its dataset. */
RADI_API radi_status radi_dataset_ingest(radi_dataset *ds, size_t ncollections,
                                         const radi_ingest_collection *collections,
                                         const radi_ingest_options *opt);

/* radi_dataset_ingest of one collection. */
RADI_API radi_status radi_dataset_ingest_niftis(radi_dataset *ds, const char *collection,
                                                size_t n, const radi_nifti_source *sources,
                                                const radi_ingest_options *opt);

/* What a copy keeps. Each list NULL = everything; otherwise the named items only (a
 * named collection or subject that does not exist is RADI_E_NOT_FOUND). obs_ids select
 * volumes (rows of obs) within the kept subjects and collections. */
typedef struct radi_selection {
    size_t n_collections;
    const char *const *collections;
    size_t n_subjects;
    const char *const *subjects;
    size_t n_obs_ids;
    const char *const *obs_ids;
} radi_selection;

/* Writes a new dataset at dst_uri (nothing may be there) holding the selected part of ds:
 * obs_meta rows of the kept subjects with every column, and each kept collection with
 * its kept volumes renumbered volumes/0.. in obs order. Volumes are copied file by file:
 * voxels, tiling, compression, fragments and all metadata (affine, orientation, NIfTI
 * keys, obs_id) are kept exactly. sel NULL = everything. All-or-nothing: on failure
 * nothing is left at dst_uri. */
RADI_API radi_status radi_dataset_materialize(radi_dataset *ds, const char *dst_uri,
                                              const radi_selection *sel);

/* The same for one collection, written as a stand-alone collection group at dst_uri
 * (open it with radi_collection_open) named `name` (NULL = the same name). sel's
 * collections list is ignored. */
RADI_API radi_status radi_dataset_copy_collection(radi_dataset *ds, const char *collection,
                                                  const radi_selection *sel, const char *dst_uri,
                                                  const char *name);

/* radi_dataset_materialize / radi_dataset_copy_collection of everything, moving the
 * volumes instead of copying them (a rename on local storage): to publish a dataset or
 * collection built at a staging URI the caller owns and removes afterwards (radi's
 * streaming writers build beside the target, then move). dst_uri as the copies: new,
 * all-or-nothing. Whatever the outcome ds's volumes may be gone: only close ds and remove
 * its URI. Both URIs must be on one storage backend (else RADI_E_UNSUPPORTED). */
RADI_API radi_status radi_dataset_move(radi_dataset *ds, const char *dst_uri);
RADI_API radi_status radi_dataset_move_collection(radi_dataset *ds, const char *collection,
                                                  const char *dst_uri, const char *name);

/* Adds to ds a copy of src's collection `collection` (its selected volumes; sel's
 * collections list is ignored) as the new collection `name` (NULL = the same name),
 * copied as radi_dataset_materialize copies. src is another open dataset or a
 * stand-alone collection (radi_collection_open); the copy is written through src's
 * context. Every subject of the copied volumes must already have its obs_meta row in ds
 * (RADI_E_INVALID otherwise); subject_count is set from obs_meta. All-or-nothing under
 * ds's lock and journal: on failure ds is as it was. */
RADI_API radi_status radi_dataset_import_collection(radi_dataset *ds, radi_dataset *src,
                                                    const char *collection,
                                                    const radi_selection *sel, const char *name);

/* Checks the dataset's consistency and structure: counts (subject_count, n_collections, n_volumes),
 * orphan volumes (obs_id not in obs), obs rows without a volume, volumes without or with a
 * duplicated obs_id, volumes/<k> not matching the k-th obs row (0.1.1 would read the
 * wrong voxels), obs subjects missing from obs_meta, obs_ids repeated across collections,
 * x/y/z_dim not matching the volumes; group members that leave the dataset (reported,
 * not followed), metadata that cannot be read, collections that cannot be read,
 * directories under collections/ or <collection>/volumes/ that are not members (left by
 * an interrupted write, __radi_staging_* included). *messages (one line each, naming the
 * path; malloc'd array of malloc'd strings; free with radi_messages_free) is empty for a
 * consistent dataset. The status reports only failures to read that are not the
 * dataset's (memory, the storage failing). Afterwards ds is reloaded as radi_dataset_open
 * would; if it now refuses, ds lists no collections. */
RADI_API radi_status radi_dataset_validate(radi_dataset *ds, char ***messages, size_t *count);
RADI_API void radi_messages_free(char **messages, size_t count);

/* radi_dataset_validate, plus what only a check may look at: it also runs during the
 * open (as radi_dataset_validate itself does on an open handle), so members that leave
 * the dataset, which make radi_dataset_open refuse, are lines here (and are not
 * followed). Lines are also given for metadata that cannot be read, collections that
 * cannot be read, and directories under collections/ or <collection>/volumes/ that are
 * not members (left by an interrupted write, __radi_staging_* included). uri is a
 * dataset root or a stand-alone collection (radi_dataset_kind_of). */
RADI_API radi_status radi_dataset_validate_uri(radi_ctx *ctx, const char *uri, char ***messages,
                                               size_t *count);

/* Makes whole a dataset that a killed or failed write left half-changed: takes the
 * writer lock and rolls back the operation recorded in <uri>/__radi_journal
 * (docs/dataset.md §8.5), as the next write to the dataset would do first anyway. Works
 * when radi_dataset_open refuses the half-changed dataset. *op (may be NULL) receives the
 * name of the operation rolled back ("ingest", "rename_collection", ...; malloc'd: free
 * with radi_free) or NULL when nothing was interrupted. RADI_E_BUSY while another writer
 * holds the lock; RADI_E_CORRUPT, touching nothing, for a journal that cannot be read.
 * Then removes the dead staging objects beside uri (radi_dataset_remove_dead_stagings
 * below; *op "streaming_write" when nothing else was rolled back), so uri need not exist;
 * RADI_E_NOT_FOUND when there is neither a dataset nor a dead staging object. */
RADI_API radi_status radi_dataset_repair(radi_ctx *ctx, const char *uri, char **op);

/* Staging objects of streaming writes (docs/dataset.md §8.7). A writer that builds a new
 * object beside its target and publishes it with radi_dataset_move calls
 * radi_staging_begin: it picks the staging URI "<target>.radi-tmp-<hex>" and holds the
 * writer lock "<staging>.lock" until radi_staging_end, which removes the staging object
 * (whatever of it is left), then the lock object, and frees *st. A writer that dies holds
 * no lock (the kernel's lock locally, a lease on S3), so its staging object is "dead":
 * radi_dataset_remove_dead_stagings(ctx, target) removes every dead sibling
 * "<target>.radi-tmp-*" and never one whose lock is held; *removed (may be NULL)
 * receives their URIs, one a line (malloc'd: radi_free), or NULL when none.
 * radi_dataset_repair does the same, and reports "streaming_write" as the operation
 * rolled back when that was all it did. The staging URI is borrowed from *st. */
typedef struct radi_staging radi_staging;
RADI_API radi_status radi_staging_begin(radi_ctx *ctx, const char *target_uri, radi_staging **out);
RADI_API const char *radi_staging_uri(const radi_staging *st);
RADI_API radi_status radi_staging_end(radi_staging *st);
RADI_API radi_status radi_dataset_remove_dead_stagings(radi_ctx *ctx, const char *target_uri, char **removed);

/* What is at uri, decided from the group's member names: a dataset root (members
 * obs_meta and collections), a stand-alone collection (members obs and volumes), or
 * neither (anything else, nothing there, an array). */
typedef enum radi_dataset_kind {
    RADI_DATASET_NONE = 0,
    RADI_DATASET_ROOT = 1,
    RADI_DATASET_COLLECTION = 2
} radi_dataset_kind;
RADI_API radi_status radi_dataset_kind_of(radi_ctx *ctx, const char *uri, radi_dataset_kind *out);

/* Whole-dataset maintenance: radi_consolidate / radi_vacuum (radi.h) in `mode` on every
 * array of the dataset: each volume, each collection's obs, obs_meta (a stand-alone
 * collection: its volumes and obs). In RADI_CONSOLIDATE_ARRAY_META mode also every
 * group's metadata (root, collections, each collection and its volumes group), merged
 * and vacuumed as array metadata is (TileDB's group metadata consolidation). Readers see
 * the same values before and after; consolidate deletes nothing, vacuum deletes what a
 * consolidation in the same mode made obsolete. Objects run in parallel up to the
 * context's concurrency (each consolidation holds up to half the memory budget). The
 * dataset's groups are re-read first and every member must stay inside the dataset
 * (else RADI_E_CORRUPT naming it, before anything is written). progress (NULL: none)
 * is called after each object, one call at a time, with the objects done, the total
 * and the object's URI. The first failure stops the call (objects already done stay
 * done: each one is complete and reads the same) and names the object. */
RADI_API radi_status radi_dataset_consolidate(radi_dataset *ds, radi_consolidation_mode mode,
                                              radi_progress_fn progress, void *user);
RADI_API radi_status radi_dataset_vacuum(radi_dataset *ds, radi_consolidation_mode mode,
                                         radi_progress_fn progress, void *user);

/* A collection copied into the dataset radi_dataset_create_adopting makes: src's
 * collection `collection` (its volumes selected by sel; NULL = all, sel's collections
 * list ignored) as the new collection `name` (NULL = the same name), copied as
 * radi_dataset_import_collection copies. All borrowed for the call. */
typedef struct radi_collection_copy {
    radi_dataset *src;          /* an open dataset or stand-alone collection */
    const char *collection;
    const radi_selection *sel;
    const char *name;
} radi_collection_copy;

/* obs_meta of radi_dataset_create_adopting, all borrowed for the call. schema: as
 * radi_dataset_create_with_obs_meta's (NULL: no user columns). rows: every field of the
 * schema as radi_array_write_sparse takes them, one row per subject at least covering
 * every subject of the collections (RADI_E_INVALID otherwise); with 0 rows, one row
 * (subject, subject) per subject, which a schema with user columns refuses. */
typedef struct radi_obs_meta_rows {
    const radi_schema *schema;
    uint32_t nbuffers;
    const radi_sparse_buffer *buffers;
    uint64_t rows;
} radi_obs_meta_rows;

/* Creates a dataset at uri around stand-alone collections already at
 * <uri>/collections/<adopt[i]> (radiobject 0.1.1's from_collections "in place"): they
 * become its collections as they are, not copied and not changed (byte for byte), and
 * the n_copies copies are written beside them as radi_dataset_import_collection writes
 * them; obs_meta gets its rows (obs_meta NULL: no user columns, derived rows);
 * subject_count and n_collections are written. n_adopt >= 1; names as
 * radi_dataset_add_collection's, all different.
 * Refused before anything is written: RADI_E_NOT_FOUND when an adopted collection is
 * not there; RADI_E_EXISTS when uri holds anything but `collections` (a group, as
 * TileDB's Group.create makes it, or a plain directory, which becomes a group) or
 * `collections` anything but the adopted collections (its group members too);
 * RADI_E_INVALID for an adopted collection that is not a valid stand-alone collection
 * (radi_collection_open and radi_dataset_validate; an interrupted write in it included)
 * or whose `name` is not the one it is adopted as, and for obs_ids repeated across the
 * collections. All-or-nothing under the writer lock <uri>/__radi_lock and the intent
 * journal (docs/dataset.md §8.6, op "adopt"): on failure, or after a kill and
 * radi_dataset_repair (or the next writer), uri holds exactly what it held before, the
 * adopted collections byte for byte; the roll-back never removes them. */
RADI_API radi_status radi_dataset_create_adopting(radi_ctx *ctx, const char *uri, size_t n_adopt,
                                                  const char *const *adopt, size_t n_copies,
                                                  const radi_collection_copy *copies,
                                                  const radi_obs_meta_rows *obs_meta);

#ifdef __cplusplus
}
#endif

#endif /* RADI_RADIOBJECT_H */
