/*
 * radi datasets: RadiObject's on-disk model (subjects x collections of volumes), written
 * so that radiobject 0.1.1 opens, reads and validates it (research/radiobject-0.1.1.md §3),
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
 * the user columns. The caller writes the rows with radi_array_write_sparse on
 * <uri>/obs_meta before ingesting: an ingest refuses subjects without an obs_meta row
 * when obs_meta has user columns, and sets subject_count from obs_meta. */
RADI_API radi_status radi_dataset_create_with_obs_meta(radi_ctx *ctx, const char *uri,
                                                       const radi_schema *obs_meta);

/* Opens a dataset written by radi or by radiobject 0.1.1. Freed with radi_dataset_close. */
RADI_API radi_status radi_dataset_open(radi_ctx *ctx, const char *uri, radi_dataset **out);
RADI_API void radi_dataset_close(radi_dataset *ds);
RADI_API const char *radi_dataset_uri(const radi_dataset *ds); /* borrowed */

/* Collections in the order the `collections` group lists them (names are borrowed). */
RADI_API uint64_t radi_dataset_collection_count(const radi_dataset *ds);
RADI_API const char *radi_dataset_collection_name(const radi_dataset *ds, uint64_t i);

/* Distinct obs_subject_id values of obs_meta, in byte order (borrowed). */
RADI_API uint64_t radi_dataset_subject_count(const radi_dataset *ds);
RADI_API const char *radi_dataset_subject_id(const radi_dataset *ds, uint64_t i);

/* Creates an empty collection (n_volumes 0). RADI_E_EXISTS if the name is taken. Names
 * are 1..255 bytes of [A-Za-z0-9_.-], not starting with '.'. */
RADI_API radi_status radi_dataset_add_collection(radi_dataset *ds, const char *name);

/* One collection's volumes, as obs lists them (byte order of (obs_subject_id, obs_id)).
 * Resolves each obs row to its volume by the volume's obs_id metadata. *count rows;
 * the strings are borrowed until the dataset is closed or written. volume_uri is NULL
 * for an obs row that no volume claims. */
typedef struct radi_volume_entry {
    const char *obs_subject_id;
    const char *obs_id;
    const char *volume_uri;     /* e.g. "<uri>/collections/FLAIR/volumes/2" */
} radi_volume_entry;

RADI_API radi_status radi_dataset_volumes(radi_dataset *ds, const char *collection,
                                          const radi_volume_entry **entries, uint64_t *count);

/* Opens the volume whose obs_id is `obs_id` in `collection` (RADI_E_NOT_FOUND if none). */
RADI_API radi_status radi_dataset_open_volume(radi_dataset *ds, const char *collection,
                                              const char *obs_id, radi_volume **out);

/* One NIfTI file to ingest. obs_id NULL = "{subject_id}_{collection}". */
typedef struct radi_nifti_source {
    const char *path;
    const char *subject_id;
    const char *obs_id;
} radi_nifti_source;

typedef struct radi_ingest_options {
    radi_tile_config tile;
    radi_compression compression;
    int validate_alignment;     /* refuse files whose spatial shapes differ */
} radi_ingest_options;

RADI_API void radi_ingest_options_init(radi_ingest_options *opt); /* axial, zstd 3, no check */

/* Ingests n NIfTI files into `collection`, creating it if absent. Appending to an
 * existing collection is allowed when every new (subject, obs_id) sorts after the
 * existing ones (so volumes/<k> stays in sorted order without renumbering); otherwise it
 * is refused with RADI_E_UNSUPPORTED. All headers are read and every id checked before
 * anything is written; files are decoded and written in parallel up to the context's
 * concurrency. New subjects get obs_meta rows (refused if obs_meta has user columns).
 * All-or-nothing: on failure what this call created (a new collection, or the appended
 * volumes) is removed and the error names the file. The one window left: a failure of
 * the last metadata/obs_meta writes after the obs rows of an append are written. opt may
 * be NULL for the defaults. */
RADI_API radi_status radi_dataset_ingest_niftis(radi_dataset *ds, const char *collection,
                                                size_t n, const radi_nifti_source *sources,
                                                const radi_ingest_options *opt);

/* Checks the dataset's consistency: counts (subject_count, n_collections, n_volumes),
 * orphan volumes (obs_id not in obs), obs rows without a volume, volumes without or with a
 * duplicated obs_id, volumes/<k> not matching the k-th obs row (0.1.1 would read the
 * wrong voxels), obs subjects missing from obs_meta, obs_ids repeated across collections,
 * x/y/z_dim not matching the volumes. *messages (one line each, malloc'd array of
 * malloc'd strings; free with radi_messages_free) is empty for a consistent dataset.
 * The status reports only failures to read. */
RADI_API radi_status radi_dataset_validate(radi_dataset *ds, char ***messages, size_t *count);
RADI_API void radi_messages_free(char **messages, size_t count);

#ifdef __cplusplus
}
#endif

#endif /* RADI_RADIOBJECT_H */
