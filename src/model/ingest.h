/*
 * Internal contract of the ingest transaction (docs/dataset.md §7), shared by ingest.c
 * (the flow), ingest_plan.c (items, checks, placement plan), ingest_volume.c (per-source
 * header and volume tasks and obs rows, through model/source.h), ingest_place.c (moves,
 * metadata, undo) and collection.c (which takes the root-count writes and their undo).
 * Not installed.
 */
#ifndef RDI_MODEL_INGEST_H
#define RDI_MODEL_INGEST_H

#include <pthread.h>

#include "model/dataset.h"
#include "model/source.h"

/* A var-size column under construction (bytes plus start offsets). */
typedef struct varcol {
    rdi_buf data;
    uint64_t *off;
} varcol;

typedef struct item {
    const char *path;
    const char *sid;
    char *oid;
    char *abspath;
    const void *desc;          /* the source's descriptor, for its kind's open */
    rdi_image_header hdr;
    rdi_image_fields fields;   /* its volume metadata and obs row, from the check pass */
    uint64_t k;                /* volumes/<k> */
    rdi_image_source *held;    /* the check pass's open source, kept for the write pass
                                * (ingest_hold), or NULL */
} item;

/* The check pass keeps its open sources for the write pass while the voxels they stand
 * for (header shape x type size) add up to at most `budget` bytes: those are then
 * neither read nor decoded again (a DICOM CT series is decoded when it opens, to decide
 * int16 HU: docs/dataset.md §10.3). The others are closed and opened again, so that an
 * ingest of many sources holds no more than this between its passes. Shared by the
 * collections of one ingest. */
typedef struct ingest_hold {
    pthread_mutex_t lock;
    uint64_t used, budget;
} ingest_hold;
#define RDI_INGEST_HOLD_BUDGET ((uint64_t)1 << 30)

typedef struct ingest_job {
    radi_dataset *ds;
    const rdi_image_source_ops *ops; /* the kind of every source of the collection */
    const char *collection;
    item *items;
    item **order;              /* items in (sid, oid) byte order */
    const radi_ingest_options *opt;
    const char *vol_dir;       /* where rdi_ingest_volume_task writes volumes/<k> (staging when renumbering) */
    uint64_t base;             /* volumes in the collection before this ingest */
    size_t n;                  /* items */
    ingest_hold *hold;         /* may be NULL: nothing kept between the passes */
} ingest_job;

/* One existing volume's move when an append renumbers volumes/<k>. */
typedef struct vol_move {
    uint64_t from, to;
} vol_move;

/* What the metadata writes of an ingest changed, to put back if its commit fails. */
typedef struct meta_undo {
    int coll_set;              /* collection metadata was written */
    int64_t old_nvol, old_dims[3];
    int had_dims;
    char *obs_meta_frag;       /* fragment written to obs_meta */
    int counts_set;            /* root subject_count / n_collections were written */
    int64_t old_counts[2];
} meta_undo;

/* One collection of an ingest, from its checks to its commit and, on failure, undo. */
typedef struct coll_job {
    ingest_job j;              /* items, their order and volumes/<k>, base */
    const char *name;
    int64_t ci;                /* the existing collection's index, or -1 for a new one */
    char *vol_dir;
    vol_move *moves, *done;
    size_t nmoves, ndone, placed;
    char *staging, *spare;     /* renumbering appends write new volumes here first */
    int made, members_added, committed;
    char *obs_frag;            /* an append's commit: its obs fragment */
    meta_undo u;               /* the collection's metadata before the ingest */
} coll_job;

/* ---- ingest_volume.c ---- */
radi_status rdi_varcol_push(varcol *c, uint64_t i, const char *s);
/* Pool tasks over ingest_job items: reads, checks and describes item i's source; writes
 * item i (of the sorted order) to volumes/<k> under vol_dir with its metadata. */
radi_status rdi_ingest_header_task(void *arg, size_t i, unsigned worker);
radi_status rdi_ingest_volume_task(void *arg, size_t i, unsigned worker);
/* The obs rows of the ingested items, one write; *frag (may be NULL) gets its name. */
radi_status rdi_ingest_write_obs(radi_dataset *ds, const char *collection, item **order, size_t n, char **frag);
/* Every item of j gives the obs columns of its first (they become one collection's rows). */
radi_status rdi_ingest_check_obs_columns(const ingest_job *j);

/* ---- ingest_plan.c ---- */
/* Builds the items of one collection's sources (ids, absolute paths). */
radi_status rdi_ingest_make_items(radi_dataset *ds, coll_job *c, const rdi_ingest_set *src,
                                  const radi_ingest_options *opt);
/* The checks of every collection, before anything is written. *news gets the subjects
 * the ingest adds (sorted, distinct). */
radi_status rdi_ingest_check_all(radi_dataset *ds, coll_job *jobs, size_t nc, const radi_ingest_options *opt,
                                 rdi_strlist *news);
/* The subjects `news` need obs_meta rows: the caller's rows in opt must cover them;
 * without rows, obs_meta must have no user columns (rows (sid, sid) are generated). */
radi_status rdi_ingest_check_obs_meta_rows(radi_dataset *ds, const radi_ingest_options *opt, const rdi_strlist *news);
/* obs_meta rows: the caller's, or (sid, sid) for the subjects not yet in the dataset. */
radi_status rdi_ingest_write_obs_meta(radi_dataset *ds, const radi_ingest_options *opt, const rdi_strlist *news,
                                      char **frag);

/* ---- ingest_place.c ---- */
/* Names a renumbering append's staging directory (and its spare slot), once: the
 * journal records it before anything is written. */
radi_status rdi_ingest_name_staging(coll_job *c);
radi_status rdi_ingest_prepare_staging(radi_dataset *ds, coll_job *c);
radi_status rdi_ingest_place_volumes(radi_dataset *ds, coll_job *c);
void rdi_ingest_undo_append(radi_dataset *ds, const char *vol_dir, ingest_job *j, size_t placed, int members_added,
                            const char *spare, const vol_move *done, size_t ndone, radi_status st);
radi_status rdi_ingest_update_collection_meta(radi_dataset *ds, const char *collection, ingest_job *j, size_t n,
                                              uint64_t base, meta_undo *u);
/* Root subject_count (as obs_meta now lists them) and n_collections; *u records the old. */
radi_status rdi_ds_update_root_counts(radi_dataset *ds, int64_t ncoll, meta_undo *u);
/* Puts back what the metadata writes recorded in *u (best effort, keeps the message). */
void rdi_ds_undo_meta(radi_dataset *ds, const char *collection, int new_collection, meta_undo *u);

/* ---- ingest.c ---- */
/* Every file of every collection as one parallel loop, progress reported if `report`. */
radi_status rdi_ingest_for_all_files(radi_dataset *ds, coll_job *jobs, size_t njobs, rdi_task_fn fn,
                                     const radi_ingest_options *opt, int report);

#endif
