/*
 * Internal contract of the dataset model (dataset_open.c: create, open, volume
 * resolution; dataset_meta.c: helpers; collection.c: add and rename; ingest*.c: ingest,
 * with its own internal header model/ingest.h; dataset_validate.c: validate;
 * dataset_copy.c: materialize and collection copies). Not installed.
 */
#ifndef RDI_MODEL_DATASET_H
#define RDI_MODEL_DATASET_H

#include "radi/radiobject.h"
#include "radi/sparse.h"
#include "ctx/ctx.h"
#include "tdb/sparse.h"
#include "tdb/tdb.h"

#define K_SID "obs_subject_id"
#define K_OID "obs_id"

typedef struct coll_cache {
    int loaded;
    /* Entries placed by position (volumes/<k> = the k-th obs row, radi's invariant)
     * without reading every volume's obs_id: a remote open would otherwise cost a round
     * trip per volume. radi_dataset_open_volume checks the obs_id of what it opens and
     * falls back to the full resolution; everything that needs verified locations
     * (copies, validate, appends) loads with rdi_ds_load_collection. */
    int positional;
    radi_volume_entry *entries;
    uint64_t n;
    rdi_strlist strs;          /* owns every string the entries point to */
} coll_cache;

struct radi_dataset {
    radi_ctx *ctx;
    char *uri;
    /* A stand-alone collection (radi_collection_open): one collection whose group is
     * `uri` itself, no root group and no obs_meta. It takes ingests (appends to itself,
     * locked and journaled at `uri`: ingest.c); other writes are refused. */
    int standalone;
    rdi_strlist collections;   /* member order */
    rdi_strlist subjects;      /* distinct, byte order */
    coll_cache *cache;         /* one per collection */
    /* Lenient mode (validate): confinement problems and unreadable parts are pushed
     * here as lines and the offending members skipped, instead of refused. NULL:
     * strict (every other call). Borrowed from the caller for its duration. */
    rdi_strlist *notes;
    int subjects_unread;       /* lenient mode: obs_meta could not be read (noted) */
    /* The intent journal of the write in progress on this handle (journal.h), which
     * every tree move records before it starts; NULL outside a write. */
    struct rdi_journal *journal;
};

/* One member of a collection's volumes group, with its obs_id metadata. */
typedef struct vol_member {
    char *name;
    char *obs_id;              /* NULL when the volume has none */
    int meta_bad;              /* lenient mode: its metadata could not be read (noted) */
} vol_member;

/* radi_volume_from_buffer with the voxels in `layout`: RADI_ROW_MAJOR (C order, as the
 * public call) or RADI_COL_MAJOR (x fastest, as NIfTI stores them). */
/* Puts a new volume's metadata: `orientation` (tile_orientation) plus the caller's keys,
 * as one file (one write). */
typedef radi_status (*rdi_volume_meta_fn)(radi_meta *m, const radi_meta_item *orientation, void *arg);
/* meta_fn NULL = only tile_orientation; otherwise it writes the metadata (ingest adds its
 * keys, so a volume costs one metadata write and one open on object stores). */
radi_status rdi_volume_from_buffer_layout(radi_ctx *ctx, const char *uri, uint32_t ndim,
                                          const uint64_t *shape, radi_datatype dtype,
                                          const void *data, radi_layout layout,
                                          const radi_tile_config *tile,
                                          const radi_compression *compression, rdi_volume_meta_fn meta_fn,
                                          void *meta_arg, radi_volume **out);

/* Metadata helpers (values as 0.1.1 types them). get_* return 1 when found. */
radi_status rdi_meta_put_str(radi_meta *m, const char *key, const char *v);
radi_status rdi_meta_put_i64(radi_meta *m, const char *key, int64_t v);
int rdi_meta_get_i64(const radi_meta *m, const char *key, int64_t *v);
char *rdi_meta_get_str(const radi_meta *m, const char *key); /* malloc'd; NULL if absent */

/* The root group's part of a new dataset, once the group and its members exist:
 * subject_count and n_collections as 0.1.1 keeps them (one metadata write), then the
 * members obs_meta and collections (relative, named). Dataset creation, copies
 * (materialize, from_collections) and adoption all end with it. */
radi_status rdi_ds_write_root(radi_ctx *ctx, const char *root, int64_t subject_count, int64_t n_collections);
/* Collection names: 1..255 of [A-Za-z0-9_.-], not starting with '.'. */
int rdi_ds_name_ok(const char *s);
/* A sparse dataframe schema with the two ASCII key dimensions and the given attributes. */
radi_status rdi_ds_frame_schema(uint32_t nattr, const char *const *names, const radi_datatype *types,
                                radi_schema **out);
/* RADI_OK for a dataset; a stand-alone collection refuses `what` (writes that change
 * collections need a dataset root; appends are its one write: ingest.c). */
radi_status rdi_ds_refuse_standalone(const radi_dataset *ds, const char *what);
/* Drops the collection list, the subjects and the collection caches. */
void rdi_ds_clear_lists(radi_dataset *ds);

/* collection.c: creates collections/<name> (obs with the nobs attributes given, volumes,
 * metadata) without registering it; checks a new collection's name and that nothing is
 * at its URI; registers a made collection (the one change that makes it visible). */
radi_status rdi_ds_make_collection(radi_dataset *ds, const char *name, uint32_t nobs, const char *const *obs_names,
                                   const radi_datatype *obs_types);
radi_status rdi_ds_check_new_collection(radi_dataset *ds, const char *name);
radi_status rdi_ds_register_collection(radi_dataset *ds, const char *name);
/* Opens the intent journal (op names it) of a write that adds collections/<name>: that
 * tree is new, the root's and collections' groups keep what they hold. *jr: the journal,
 * owned by the caller until rdi_journal_finish. */
radi_status rdi_ds_journal_new_collection(radi_dataset *ds, const char *name, const char *op,
                                          struct rdi_journal **jr);

/* dataset_copy.c: radi_dataset_import_collection's checks and writes inside a journal
 * the caller holds (its lock too), without an undo of their own: the caller's journal
 * rolls them back. The subjects (not distinct) of what an import of the same
 * arguments copies are pushed to *out. */
radi_status rdi_ds_import_journaled(radi_dataset *ds, radi_dataset *src, const char *collection,
                                    const radi_selection *sel, const char *name);
radi_status rdi_ds_copy_subjects(radi_dataset *src, const char *collection, const radi_selection *sel,
                                 rdi_strlist *out);

/* sources.c: sorts n discovered sources - structs of `size` bytes that begin with
 * `const char *path, *subject_id`, as radi_nifti_source and radi_dicom_source do - by
 * subject id, then path, and refuses two that give the same subject (RADI_E_INVALID
 * naming both and the collection). NIfTI and DICOM discovery share it. */
radi_status rdi_sources_sort_unique(void *items, size_t n, size_t size, const char *collection);

/* "<collection URI>[/child]" (malloc'd): <uri>/collections/<name>, or the stand-alone
 * collection's own URI. */
char *rdi_ds_coll_uri(const radi_dataset *ds, const char *name, const char *child);
/* (Re)reads collection names and subject ids (drops the collection caches). */
radi_status rdi_ds_load(radi_dataset *ds);
/* The path segment radi reads a group member at: its name, or (unnamed) the last
 * segment of its URI (malloc'd; NULL when out of memory). */
char *rdi_member_segment(const radi_group_member *m);
/* lock.c: the dataset's writer lock, taken by every dataset write before it reads the
 * state it changes (the dataset is re-read under the lock). */
#define RDI_DS_LOCK_NAME "__radi_lock"
radi_status rdi_ds_lock(radi_dataset *ds, rdi_lock_hold *out);
/* Releases the lock and returns st (keeping its message) or the release's status. */
radi_status rdi_ds_unlock(rdi_lock_hold *hold, radi_status st);
/* Removes the dead staging objects beside root (staging.c): *removed (may be NULL) gets
 * their URIs, one a line (malloc'd), *count how many. */
radi_status rdi_remove_dead_stagings(radi_ctx *ctx, const char *root, char **removed, size_t *count);
int64_t rdi_ds_coll_index(const radi_dataset *ds, const char *name);
/* Entries for reading: verified, or placed by position on remote storage (see coll_cache). */
radi_status rdi_ds_load_collection_hint(radi_dataset *ds, size_t ci);
radi_status rdi_ds_load_collection(radi_dataset *ds, size_t ci);
/* Members of a collection's volumes group with their obs_id metadata. */
radi_status rdi_ds_list_volumes(radi_dataset *ds, const char *coll, vol_member **out, size_t *nout);
void rdi_ds_free_members(vol_member *v, size_t n);
/* A decimal member name ("0", "12") as a position; -1 otherwise. */
int64_t rdi_ds_member_pos(const char *s);
radi_status rdi_ds_set_root_counts(radi_dataset *ds, int64_t subjects, int64_t ncoll);

/* Every row's values of the string columns `cols` of a sparse array, in global order. */
radi_status rdi_ds_read_str_cols(radi_ctx *ctx, const char *uri, uint32_t ncols, const char *const *cols,
                                 rdi_strlist *lists);
/* Opens group `uri`, adds the relative member `name`, closes. */
radi_status rdi_ds_add_member(radi_ctx *ctx, const char *uri, const char *name);
/* Removes `uri` (what a failed operation created) and returns st with its message kept. */
radi_status rdi_ds_undo(radi_ctx *ctx, const char *uri, radi_status st);

/* ---- confinement (confine.c) ---- */
/* A plain path segment: non-empty, not "." or "..", no '/'. */
int rdi_name_is_segment(const char *s);
/* Why a member (name may be NULL; uri as stored) of the group at `group` (absolute,
 * lexically normalized) is not confined to the dataset at `root` (the same form;
 * root_canon, may be NULL, the canonical form of a local root); NULL when it is. */
const char *rdi_member_problem(const char *root, const char *root_canon, const char *group,
                               const char *name, const char *uri, int relative);
/* Checks every member of the open group g (at group_uri, inside ds). Strict: the first
 * problem is RADI_E_CORRUPT naming the member, the group and the dataset. Lenient
 * (ds->notes): each problem is a note and bad[i] (bad may be NULL) is set to 1. */
radi_status rdi_ds_confine_group(radi_dataset *ds, radi_group *g, const char *group_uri, uint8_t *bad);
/* The same, opening the group at group_uri. */
radi_status rdi_ds_confine_uri(radi_dataset *ds, const char *group_uri);
/* The collection group of `name` (the name itself must be a plain segment). */
radi_status rdi_ds_confine_collection(radi_dataset *ds, const char *name);

/* ---- validate's structural checks (validate_more.c) ---- */
/* Lenient-mode lines for what radi_dataset_validate adds to the consistency checks:
 * unreadable metadata of the dataset's groups and arrays, directories under
 * collections/ and <collection>/volumes/ that are not members (left by an interrupted
 * write, __radi_staging_* included). */
radi_status rdi_ds_validate_structure(radi_dataset *ds, rdi_strlist *msgs);
/* 1 (and a note naming uri) when the metadata of the object at uri cannot be read. */
int rdi_ds_meta_unreadable(radi_dataset *ds, const char *uri, rdi_strlist *msgs);
/* Drops repeated lines, keeping each at its first place. */
void rdi_ds_unique_lines(rdi_strlist *l);

/* sources.c: glob patterns as radi_sources_from_pattern matches them. Whether pattern
 * has a wildcard outside its scheme and authority; its matches (every entry, or with
 * dirs_only directories only) pushed on out, unsorted. */
int rdi_pattern_is_glob(const char *pattern);
radi_status rdi_pattern_expand(rdi_vfs *vfs, const char *pattern, int dirs_only, rdi_strlist *out);

#endif
