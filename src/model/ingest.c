/*
 * Ingest, the transaction (docs/dataset.md §7): rdi_dataset_ingest_sets (sources of any
 * kind, model/source.h; radi_dataset_ingest gives it NIfTI's) takes the lock,
 * ingest_locked checks every collection, write_all writes, places and commits them, and
 * on failure undo_collection and rdi_ds_undo_meta take the call back.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/dataset.h"
#include "model/ingest.h"
#include "model/journal.h"

/* Every file of every collection as one parallel loop (few files per collection would
 * leave workers idle), with progress reported as files complete. */
typedef struct flat_job {
    coll_job *jobs;
    size_t njobs;
    rdi_task_fn fn;
    const radi_ingest_options *opt;
    pthread_mutex_t lock;
    uint64_t done, total;
} flat_job;

static radi_status flat_task(void *arg, size_t i, unsigned worker)
{
    flat_job *f = arg;
    size_t k = 0;
    while (i >= f->jobs[k].j.n) i -= f->jobs[k++].j.n;
    RDI_TRY(f->fn(&f->jobs[k].j, i, worker));
    if (f->opt->progress) {
        pthread_mutex_lock(&f->lock);
        uint64_t done = ++f->done;
        f->opt->progress(f->opt->progress_user, done, f->total, f->jobs[k].j.order[i]->path);
        pthread_mutex_unlock(&f->lock);
    }
    return RADI_OK;
}

radi_status rdi_ingest_for_all_files(radi_dataset *ds, coll_job *jobs, size_t njobs, rdi_task_fn fn,
                                 const radi_ingest_options *opt, int report)
{
    radi_ingest_options quiet;
    radi_ingest_options_init(&quiet);
    flat_job f;
    memset(&f, 0, sizeof f);
    f.jobs = jobs;
    f.njobs = njobs;
    f.fn = fn;
    f.opt = report ? opt : &quiet;
    pthread_mutex_init(&f.lock, NULL);
    for (size_t k = 0; k < njobs; k++) f.total += jobs[k].j.n;
    radi_status s = rdi_pool_for(ds->ctx->pool, (size_t)f.total, flat_task, &f);
    pthread_mutex_destroy(&f.lock);
    return s;
}

/* Takes back a commit of an ingest that failed later (another collection's commit). */
static void uncommit(radi_dataset *ds, coll_job *c)
{
    if (c->ci < 0) {
        char *cl = rdi_path_join(ds->uri, "collections");
        radi_group *g = NULL;
        if (cl && radi_group_open(ds->ctx, cl, &g) == RADI_OK) radi_group_remove_member(g, c->name);
        radi_group_close(g);
        free(cl);
    } else if (c->obs_frag) {
        char *obs = rdi_ds_coll_uri(ds, c->name, "obs");
        if (obs) rdi_fragment_discard(ds->ctx, obs, c->obs_frag);
        free(obs);
    }
}

static void undo_collection(radi_dataset *ds, coll_job *c, radi_status st)
{
    if (c->committed) uncommit(ds, c);
    rdi_ds_undo_meta(ds, c->name, c->ci < 0, &c->u);
    if (c->ci >= 0)
        rdi_ingest_undo_append(ds, c->vol_dir, &c->j, c->placed, c->members_added, c->spare, c->done, c->ndone, st);
    if (c->made) {
        char *cu = rdi_ds_coll_uri(ds, c->name, NULL);
        if (cu) rdi_ds_undo(ds->ctx, cu, st);
        free(cu);
    }
}

/* Makes a new collection whose obs columns are those its sources gave (every item's are
 * the first's: rdi_ingest_check_obs_columns). */
static radi_status make_collection(radi_dataset *ds, coll_job *c)
{
    const rdi_image_fields *f = &c->j.items[0].fields;
    const char **names = rdi_calloc(f->nobs ? f->nobs : 1, sizeof *names);
    radi_datatype *types = rdi_calloc(f->nobs ? f->nobs : 1, sizeof *types);
    radi_status s = names && types ? RADI_OK : RADI_E_NOMEM;
    for (uint32_t i = 0; i < f->nobs && s == RADI_OK; i++) {
        names[i] = f->obs[i].name;
        types[i] = f->obs[i].type;
    }
    if (s == RADI_OK) s = rdi_ds_make_collection(ds, c->name, f->nobs, names, types);
    free(names);
    free(types);
    return s;
}

/* Writes every volume, places them, then metadata and obs_meta, then commits each
 * collection: an append's obs rows, a new collection's registration. */
static radi_status write_all(radi_dataset *ds, coll_job *jobs, size_t nc, const radi_ingest_options *opt,
                             const rdi_strlist *news, meta_undo *du)
{
    radi_status s = RADI_OK;
    size_t nnew = 0;
    for (size_t k = 0; k < nc && s == RADI_OK; k++) {
        coll_job *c = &jobs[k];
        if (c->ci < 0) {
            nnew++;
            s = make_collection(ds, c);
            c->made = s == RADI_OK;
        }
        if (s == RADI_OK) s = rdi_ingest_prepare_staging(ds, c);
    }
    if (s == RADI_OK) s = rdi_ingest_for_all_files(ds, jobs, nc, rdi_ingest_volume_task, opt, 1);
    for (size_t k = 0; k < nc && s == RADI_OK; k++) {
        coll_job *c = &jobs[k];
        s = rdi_ingest_place_volumes(ds, c);
        /* A new collection's obs rows go in before it is registered. */
        if (s == RADI_OK && c->ci < 0) s = rdi_ingest_write_obs(ds, c->name, c->j.order, c->j.n, NULL);
        if (s == RADI_OK) s = rdi_ingest_update_collection_meta(ds, c->name, &c->j, c->j.n, c->j.base, &c->u);
    }
    /* A stand-alone collection has no obs_meta and no root counts (and no new subjects:
     * rdi_ingest_check_all). */
    if (s == RADI_OK) s = rdi_ingest_write_obs_meta(ds, opt, news, &du->obs_meta_frag);
    if (s == RADI_OK && !ds->standalone) s = rdi_ds_update_root_counts(ds, (int64_t)(ds->collections.n + nnew), du);
    for (size_t k = 0; k < nc && s == RADI_OK; k++) {
        coll_job *c = &jobs[k];
        s = c->ci < 0 ? rdi_ds_register_collection(ds, c->name) : rdi_ingest_write_obs(ds, c->name, c->j.order, c->j.n, &c->obs_frag);
        c->committed = s == RADI_OK;
    }
    return s;
}

static void free_job(coll_job *c)
{
    for (size_t i = 0; c->j.items && i < c->j.n; i++) {
        free(c->j.items[i].oid);
        free(c->j.items[i].abspath);
        rdi_image_fields_free(&c->j.items[i].fields);
        if (c->j.items[i].held) c->j.items[i].held->ops->close(c->j.items[i].held); /* the write pass did not run */
    }
    free(c->j.items);
    free(c->j.order);
    free(c->vol_dir);
    free(c->moves);
    free(c->done);
    free(c->staging);
    free(c->spare);
    free(c->obs_frag);
}

static radi_status ingest_locked(radi_dataset *ds, size_t ncollections, const rdi_ingest_set *collections,
                                 const radi_ingest_options *opt);

/* The journal of an ingest (docs/dataset.md §8.5): the trees it creates (new
 * collections, new volume slots or a renumbering append's staging directory) and the
 * TileDB directories it adds to (the root's and each appended collection's groups, their
 * obs arrays, obs_meta); moves are recorded as they happen (ingest_place.c). */
static radi_status journal_ingest(radi_dataset *ds, coll_job *jobs, size_t nc, rdi_journal **out)
{
    rdi_journal *j = NULL;
    RDI_TRY(rdi_journal_begin(ds->ctx, ds->uri, "ingest", &j));
    char *om = rdi_path_join(ds->uri, "obs_meta"), *cl = rdi_path_join(ds->uri, "collections");
    radi_status s = om && cl ? RADI_OK : RADI_E_NOMEM;
    /* A stand-alone collection's root is the collection group itself (kept below) and it
     * has no obs_meta or collections group. */
    if (s == RADI_OK && !ds->standalone) s = rdi_journal_keep_group(j, ds->uri);
    if (s == RADI_OK && !ds->standalone) s = rdi_journal_keep_array(j, om);
    if (s == RADI_OK && !ds->standalone) s = rdi_journal_keep_group(j, cl);
    for (size_t k = 0; k < nc && s == RADI_OK; k++) {
        coll_job *c = &jobs[k];
        char *cu = rdi_ds_coll_uri(ds, c->name, NULL), *obs = rdi_ds_coll_uri(ds, c->name, "obs");
        if (!cu || !obs) s = RADI_E_NOMEM;
        if (s == RADI_OK && c->ci < 0) {
            s = rdi_journal_new(j, cu);
        } else if (s == RADI_OK) {
            s = rdi_journal_keep_group(j, cu);
            if (s == RADI_OK) s = rdi_journal_keep_group(j, c->vol_dir);
            if (s == RADI_OK) s = rdi_journal_keep_array(j, obs);
            if (s == RADI_OK && c->nmoves) {
                s = rdi_ingest_name_staging(c);
                if (s == RADI_OK) s = rdi_journal_new(j, c->staging);
            }
            for (size_t i = 0; s == RADI_OK && !c->nmoves && i < c->j.n; i++) {
                char *slot = rdi_asprintf("%s/%llu", c->vol_dir, (unsigned long long)(c->j.base + i));
                s = slot ? rdi_journal_new(j, slot) : RADI_E_NOMEM;
                free(slot);
            }
        }
        free(cu);
        free(obs);
    }
    free(om);
    free(cl);
    if (s == RADI_OK) s = rdi_journal_open(j);
    if (s != RADI_OK) {
        rdi_journal_free(j);
        return s;
    }
    *out = j;
    return RADI_OK;
}

/* A collection group inside a dataset (<root>/collections/<name> beside <root>/obs_meta)
 * belongs to that dataset: its writes lock and journal at the dataset's root and keep
 * obs_meta and the root counts right, so it is not written as a stand-alone root. */
static radi_status refuse_dataset_member(radi_dataset *ds)
{
    size_t bl, pl;
    const char *b = rdi_path_basename(ds->uri, &bl);
    char *parent = b > ds->uri ? rdi_strndup(ds->uri, (size_t)(b - ds->uri) - 1) : NULL;
    const char *pb = parent ? rdi_path_basename(parent, &pl) : NULL;
    radi_status s = RADI_OK;
    /* <root> is "" for /collections/<name>; a bucket named "collections" has no root. */
    if (pb && pl == strlen("collections") && memcmp(pb, "collections", pl) == 0 && pb > parent &&
        (pb - parent < 2 || pb[-2] != '/')) {
        char *root = rdi_strndup(parent, (size_t)(pb - parent) - 1);
        char *om = root ? rdi_path_join(*root ? root : "/", "obs_meta") : NULL;
        radi_object_type t = RADI_OBJECT_INVALID;
        s = om ? radi_object_type_of(ds->ctx, om, &t) : RADI_E_NOMEM;
        if (s == RADI_OK && t == RADI_OBJECT_ARRAY)
            s = rdi_error(RADI_E_UNSUPPORTED, "%s: this collection belongs to the dataset %s; append through the "
                          "dataset (its writes lock and journal at the dataset's root)", ds->uri, root);
        free(root);
        free(om);
    }
    free(parent);
    return s;
}

/* A stand-alone collection takes an append as a dataset does, rooted at the collection
 * itself (docs/dataset.md §8.8): to its one collection, by its name, without obs_meta
 * rows (it has no obs_meta). Checked under the lock, on the name as it is then. */
static radi_status check_standalone_ingest(radi_dataset *ds, size_t n, const rdi_ingest_set *sets,
                                           const radi_ingest_options *opt)
{
    const char *own = ds->collections.n == 1 ? ds->collections.items[0] : "";
    if (n != 1)
        return rdi_error(RADI_E_INVALID, "%s: a stand-alone collection takes appends to itself ('%s') only, not to "
                         "%zu collections", ds->uri, own, n);
    if (!sets[0].name || strcmp(sets[0].name, own) != 0)
        return rdi_error(RADI_E_INVALID, "%s: collection '%s' is not this stand-alone collection, which is named '%s'",
                         ds->uri, sets[0].name ? sets[0].name : "(null)", own);
    if (opt->obs_meta_rows)
        return rdi_error(RADI_E_INVALID, "%s: a stand-alone collection has no obs_meta; obs_meta rows need a "
                         "dataset", ds->uri);
    return RADI_OK;
}

radi_status rdi_dataset_ingest_sets(radi_dataset *ds, size_t ncollections, const rdi_ingest_set *collections,
                                    const radi_ingest_options *opt)
{
    if (!ds || (ncollections && !collections)) return rdi_error(RADI_E_INVALID, "radi_dataset_ingest: NULL argument");
    if (ncollections == 0) return rdi_error(RADI_E_INVALID, "%s: nothing to ingest", ds->uri);
    radi_ingest_options def;
    if (!opt) {
        radi_ingest_options_init(&def);
        opt = &def;
    }
    if (ds->standalone) RDI_TRY(refuse_dataset_member(ds));
    /* Under the lock the dataset is re-read: obs_meta rows or collections written since
     * open (by the caller or another writer) count. */
    rdi_lock_hold hold;
    RDI_TRY(rdi_ds_lock(ds, &hold));
    radi_status s = ds->standalone ? check_standalone_ingest(ds, ncollections, collections, opt) : RADI_OK;
    if (s == RADI_OK) s = ingest_locked(ds, ncollections, collections, opt);
    return rdi_ds_unlock(&hold, s);
}

/* NIfTI sources as the ingest's sets: each radi_nifti_source is its own descriptor. */
radi_status radi_dataset_ingest(radi_dataset *ds, size_t ncollections, const radi_ingest_collection *collections,
                                const radi_ingest_options *opt)
{
    if (!ds || (ncollections && !collections)) return rdi_error(RADI_E_INVALID, "radi_dataset_ingest: NULL argument");
    size_t total = 0;
    for (size_t k = 0; k < ncollections; k++)
        if (collections[k].sources) total += collections[k].n;
    rdi_ingest_set *sets = rdi_calloc(ncollections ? ncollections : 1, sizeof *sets);
    rdi_ingest_source *srcs = rdi_calloc(total ? total : 1, sizeof *srcs);
    if (!sets || !srcs) {
        free(sets);
        free(srcs);
        return RADI_E_NOMEM;
    }
    size_t at = 0;
    for (size_t k = 0; k < ncollections; k++) {
        const radi_ingest_collection *c = &collections[k];
        sets[k] = (rdi_ingest_set){c->name, &rdi_nifti_image_source, c->n, c->sources ? &srcs[at] : NULL};
        for (size_t i = 0; c->sources && i < c->n; i++, at++)
            srcs[at] = (rdi_ingest_source){c->sources[i].path, c->sources[i].subject_id, c->sources[i].obs_id,
                                           &c->sources[i]};
    }
    radi_status s = rdi_dataset_ingest_sets(ds, ncollections, sets, opt);
    free(sets);
    free(srcs);
    return s;
}

static radi_status ingest_locked(radi_dataset *ds, size_t ncollections, const rdi_ingest_set *collections,
                                 const radi_ingest_options *opt)
{
    coll_job *jobs = rdi_calloc(ncollections, sizeof *jobs);
    if (!jobs) return RADI_E_NOMEM;
    radi_status s = RADI_OK;
    for (size_t k = 0; k < ncollections && s == RADI_OK; k++) {
        const rdi_ingest_set *src = &collections[k];
        if (!src->name || !src->ops || (src->n && !src->sources)) {
            s = rdi_error(RADI_E_INVALID, "radi_dataset_ingest: collection %zu has no name or sources", k);
            break;
        }
        if (src->n == 0) {
            s = rdi_error(RADI_E_INVALID, "%s: no %s files to ingest into '%s'", ds->uri, src->ops->name, src->name);
            break;
        }
        for (size_t q = 0; q < k && s == RADI_OK; q++)
            if (strcmp(collections[q].name, src->name) == 0)
                s = rdi_error(RADI_E_INVALID, "%s: collection '%s' is named twice in one ingest", ds->uri, src->name);
        jobs[k].ci = rdi_ds_coll_index(ds, src->name);
        if (s == RADI_OK) s = jobs[k].ci >= 0 ? rdi_ds_load_collection(ds, (size_t)jobs[k].ci)
                                              : rdi_ds_check_new_collection(ds, src->name);
        if (s == RADI_OK) s = rdi_ingest_make_items(ds, &jobs[k], src, opt);
    }
    rdi_strlist news = RDI_STRLIST_INIT;
    meta_undo du = {0};
    ingest_hold hold = {.used = 0, .budget = RDI_INGEST_HOLD_BUDGET};
    pthread_mutex_init(&hold.lock, NULL);
    for (size_t k = 0; k < ncollections; k++) jobs[k].j.hold = &hold;
    if (s == RADI_OK) s = rdi_ingest_check_all(ds, jobs, ncollections, opt, &news);
    rdi_journal *jr = NULL;
    if (s == RADI_OK) s = journal_ingest(ds, jobs, ncollections, &jr);
    ds->journal = jr;
    if (s == RADI_OK) {
        s = write_all(ds, jobs, ncollections, opt, &news, &du);
        if (s != RADI_OK) {
            for (size_t k = 0; k < ncollections; k++) undo_collection(ds, &jobs[k], s);
            rdi_ds_undo_meta(ds, NULL, 1, &du);
        }
    }
    for (size_t k = 0; k < ncollections; k++) {
        if (jobs[k].staging) {
            char *why = s != RADI_OK ? rdi_strdup(radi_errmsg()) : NULL;
            rdi_vfs_remove_dir(ds->ctx->vfs, jobs[k].staging);
            if (why) rdi_error(s, "%s", why);
            free(why);
        }
        free_job(&jobs[k]);
    }
    /* Complete: the journal goes and the ingest is done. Failed: whatever the undo above
     * could not take back is rolled back from the journal. */
    ds->journal = NULL;
    s = rdi_journal_finish(jr, s);
    free(jobs);
    pthread_mutex_destroy(&hold.lock);
    free(du.obs_meta_frag);
    rdi_strlist_free(&news);
    radi_status l = rdi_ds_load(ds);
    return s != RADI_OK ? s : l;
}

radi_status radi_dataset_ingest_niftis(radi_dataset *ds, const char *collection, size_t n,
                                       const radi_nifti_source *sources, const radi_ingest_options *opt)
{
    if (!collection) return rdi_error(RADI_E_INVALID, "radi_dataset_ingest_niftis: NULL collection");
    radi_ingest_collection c = {collection, n, sources};
    return radi_dataset_ingest(ds, 1, &c, opt);
}
