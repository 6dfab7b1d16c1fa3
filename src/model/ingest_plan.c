/*
 * Ingest, before anything is written: options, the items of each collection, the checks
 * of ids, shapes and obs_meta rows, where an append's volumes go (plan_append); and the
 * obs_meta rows' write.
 */
#include <stdio.h>
#include <stdlib.h>

#include "model/dataset.h"
#include "model/ingest.h"

void radi_ingest_options_init(radi_ingest_options *opt)
{
    radi_tile_config_init(&opt->tile);
    radi_compression_init(&opt->compression);
    opt->validate_alignment = 0;
    opt->obs_meta_nbuffers = 0;
    opt->obs_meta_buffers = NULL;
    opt->obs_meta_rows = 0;
    opt->progress = NULL;
    opt->progress_user = NULL;
    opt->reorient = RADI_REORIENT_NONE;
    opt->store_original_affine = 1;
}

static int cmp_item(const void *x, const void *y)
{
    const item *a = *(item *const *)x, *b = *(item *const *)y;
    int c = strcmp(a->sid, b->sid);
    return c ? c : strcmp(a->oid, b->oid);
}

/* Identifiers are STRING_ASCII dimension values: printable ASCII, non-empty. */
static int id_ok(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) return 0;
    return 1;
}

/* The subject ids of caller-given obs_meta rows (the var-size obs_subject_id buffer). */
static radi_status given_subjects(const radi_ingest_options *opt, rdi_strlist *out)
{
    const radi_sparse_buffer *b = NULL;
    for (uint32_t i = 0; i < opt->obs_meta_nbuffers; i++)
        if (opt->obs_meta_buffers[i].name && strcmp(opt->obs_meta_buffers[i].name, K_SID) == 0)
            b = &opt->obs_meta_buffers[i];
    if (!b || !b->offsets || (opt->obs_meta_rows && !b->data))
        return rdi_error(RADI_E_INVALID, "obs_meta rows: no var-size '" K_SID "' buffer");
    for (uint64_t r = 0; r < opt->obs_meta_rows; r++) {
        uint64_t lo = b->offsets[r], hi = r + 1 < opt->obs_meta_rows ? b->offsets[r + 1] : b->data_size;
        if (lo > hi || hi > b->data_size) return rdi_error(RADI_E_INVALID, "obs_meta rows: bad '" K_SID "' offsets");
        char *sid = rdi_strndup((const char *)b->data + lo, (size_t)(hi - lo));
        RDI_TRY(sid ? rdi_strlist_push_owned(out, sid) : RADI_E_NOMEM);
    }
    rdi_strlist_sort(out);
    return RADI_OK;
}

/* New subjects need obs_meta rows: the caller's (which must cover them), or generated
 * ones, which only an obs_meta without user columns can take. */
radi_status rdi_ingest_check_obs_meta_rows(radi_dataset *ds, const radi_ingest_options *opt, const rdi_strlist *news)
{
    if (opt->obs_meta_rows) {
        rdi_strlist have = RDI_STRLIST_INIT;
        radi_status s = given_subjects(opt, &have);
        for (size_t i = 0; i < news->n && s == RADI_OK; i++)
            if (!rdi_strlist_has_sorted(&have, news->items[i], strlen(news->items[i])))
                s = rdi_error(RADI_E_INVALID, "%s: subject '%s' is new but the obs_meta rows given do not include it",
                              ds->uri, news->items[i]);
        rdi_strlist_free(&have);
        return s;
    }
    char *om = rdi_path_join(ds->uri, "obs_meta");
    radi_array *a = NULL;
    radi_schema_info si;
    radi_status s = om ? radi_array_open(ds->ctx, om, 0, 0, &a) : RADI_E_NOMEM;
    if (s == RADI_OK) s = radi_schema_get_info(radi_array_schema(a), &si);
    if (s == RADI_OK && si.nattr)
        s = rdi_error(RADI_E_INVALID, "%s: subject '%s' is new and obs_meta has %u user columns: give its obs_meta row "
                      "with the ingest", ds->uri, news->items[0], si.nattr);
    radi_array_close(a);
    free(om);
    return s;
}

/* obs_meta rows: the caller's, or (sid, sid) for the subjects not yet in the dataset.
 * *frag gets the fragment written (for an undo). */
radi_status rdi_ingest_write_obs_meta(radi_dataset *ds, const radi_ingest_options *opt, const rdi_strlist *news,
                                  char **frag)
{
    if (!news->n && !opt->obs_meta_rows) return RADI_OK;
    varcol c = {RDI_BUF_INIT, NULL};
    radi_status s = RADI_OK;
    if (!opt->obs_meta_rows) {
        s = (c.off = rdi_calloc(news->n, 8)) ? RADI_OK : RADI_E_NOMEM;
        for (size_t i = 0; i < news->n && s == RADI_OK; i++) s = rdi_varcol_push(&c, i, news->items[i]);
    }
    char *om = rdi_path_join(ds->uri, "obs_meta");
    radi_array *a = NULL;
    if (s == RADI_OK) s = om ? radi_array_open(ds->ctx, om, 0, 0, &a) : RADI_E_NOMEM;
    uint64_t t = a ? RDI_MAX(rdi_now_ms(), a->last_t1 + 1) : 0;
    if (s == RADI_OK && opt->obs_meta_rows) {
        s = rdi_sparse_write(a, opt->obs_meta_nbuffers, opt->obs_meta_buffers, opt->obs_meta_rows, t, t, frag);
    } else if (s == RADI_OK) {
        radi_sparse_buffer b[2] = {{K_SID, c.data.data, c.data.len, c.off, NULL},
                                   {K_OID, c.data.data, c.data.len, c.off, NULL}};
        s = rdi_sparse_write(a, 2, b, news->n, t, t, frag);
    }
    if (s != RADI_OK) rdi_error_wrap(s, "%s: obs_meta", ds->uri);
    radi_array_close(a);
    free(om);
    rdi_buf_free(&c.data);
    free(c.off);
    return s;
}

/* Rejects bad ids and a (subject, obs_id) given twice in one collection (order is
 * sorted by it). */
static radi_status check_ids(item **order, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!id_ok(order[i]->sid) || !id_ok(order[i]->oid))
            return rdi_error(RADI_E_INVALID, "%s: subject id '%s' / obs_id '%s' must be non-empty printable ASCII",
                             order[i]->path, order[i]->sid, order[i]->oid);
        if (i && strcmp(order[i]->oid, order[i - 1]->oid) == 0 && strcmp(order[i]->sid, order[i - 1]->sid) == 0)
            return rdi_error(RADI_E_EXISTS, "%s and %s: duplicate (subject, obs_id) ('%s', '%s')", order[i - 1]->path,
                             order[i]->path, order[i]->sid, order[i]->oid);
    }
    return RADI_OK;
}

static int cmp_item_oid(const void *x, const void *y)
{
    return strcmp((*(item *const *)x)->oid, (*(item *const *)y)->oid);
}

/* obs_id alone is unique in a dataset (0.1.1's validate checks it across collections):
 * among all the files of an ingest, and against every collection's rows. */
static radi_status check_oids_unique(radi_dataset *ds, item **all, size_t n)
{
    qsort(all, n, sizeof *all, cmp_item_oid);
    for (size_t i = 1; i < n; i++)
        if (strcmp(all[i]->oid, all[i - 1]->oid) == 0)
            return rdi_error(RADI_E_EXISTS, "%s and %s: both give obs_id '%s'", all[i - 1]->path, all[i]->path,
                             all[i]->oid);
    /* Only the obs_id column of each collection: resolving volumes (a metadata read per
     * volume) is not needed to find a clash. */
    radi_status s = RADI_OK;
    for (size_t c = 0; c < ds->collections.n && s == RADI_OK; c++) {
        const char *col = K_OID;
        rdi_strlist oids = RDI_STRLIST_INIT;
        char *obs = rdi_ds_coll_uri(ds, ds->collections.items[c], "obs");
        s = obs ? rdi_ds_read_str_cols(ds->ctx, obs, 1, &col, &oids) : RADI_E_NOMEM;
        for (size_t r = 0; r < oids.n && s == RADI_OK; r++) {
            item key = {0}, *kp = &key;
            key.oid = oids.items[r];
            item **hit = bsearch(&kp, all, n, sizeof *all, cmp_item_oid);
            if (hit)
                s = rdi_error(RADI_E_EXISTS, "%s: obs_id '%s' already exists in collection '%s' of %s",
                              (*hit)->path, key.oid, ds->collections.items[c], ds->uri);
        }
        rdi_strlist_free(&oids);
        free(obs);
    }
    return s;
}

/* Where every volume goes after appending j->order (sorted) to collection ci: new items
 * get k = their position in the merged (obs_subject_id, obs_id) order, and each existing
 * volume whose position changes gets a move. Requires the existing members to be named
 * 0..n-1, as radi and 0.1.1 name them. */
static radi_status plan_append(radi_dataset *ds, size_t ci, ingest_job *j, size_t n, vol_move **moves,
                               size_t *nmoves)
{
    const coll_cache *c = &ds->cache[ci];
    const radi_volume_entry *e = c->entries;
    uint64_t base = c->n;
    vol_move *mv = base ? rdi_calloc((size_t)base, sizeof *mv) : NULL;
    uint8_t *seen = base ? rdi_calloc((size_t)base, 1) : NULL;
    radi_status s = base && (!mv || !seen) ? RADI_E_NOMEM : RADI_OK;
    size_t nm = 0, i = 0;
    uint64_t r = 0, pos = 0;
    while (s == RADI_OK && (r < base || i < n)) {
        int take_new = r == base;
        if (!take_new && i < n) {
            int cmp = strcmp(j->order[i]->sid, e[r].obs_subject_id);
            take_new = (cmp ? cmp : strcmp(j->order[i]->oid, e[r].obs_id)) < 0;
        }
        if (take_new) {
            j->order[i++]->k = pos++;
            continue;
        }
        size_t bl;
        const char *b = rdi_path_basename(e[r].volume_uri, &bl);
        char name[24];
        int64_t cur = -1;
        if (bl < sizeof name) {
            memcpy(name, b, bl);
            name[bl] = '\0';
            cur = rdi_ds_member_pos(name);
        }
        if (cur < 0 || (uint64_t)cur >= base || seen[cur]) {
            s = rdi_error(RADI_E_UNSUPPORTED, "%s: collection '%s': volume %s is not one of volumes/0..%llu; "
                          "cannot place appended volumes", ds->uri, ds->collections.items[ci], e[r].volume_uri,
                          (unsigned long long)(base - 1));
            break;
        }
        seen[cur] = 1;
        if ((uint64_t)cur != pos) mv[nm++] = (vol_move){(uint64_t)cur, pos};
        r++;
        pos++;
    }
    free(seen);
    if (s != RADI_OK) {
        free(mv);
        return s;
    }
    *moves = mv;
    *nmoves = nm;
    return RADI_OK;
}

static radi_status check_shapes_aligned(ingest_job *j)
{
    for (size_t i = 1; i < j->n; i++)
        for (int d = 0; d < 3; d++)
            if (j->items[i].hdr.shape[d] != j->items[0].hdr.shape[d])
                return rdi_error(RADI_E_INVALID, "Dimension mismatch: %s has shape (%llu, %llu, %llu), expected "
                                 "(%llu, %llu, %llu), the shape of %s (validate_alignment)", j->items[i].path,
                                 (unsigned long long)j->items[i].hdr.shape[0],
                                 (unsigned long long)j->items[i].hdr.shape[1],
                                 (unsigned long long)j->items[i].hdr.shape[2],
                                 (unsigned long long)j->items[0].hdr.shape[0],
                                 (unsigned long long)j->items[0].hdr.shape[1],
                                 (unsigned long long)j->items[0].hdr.shape[2], j->items[0].path);
    return RADI_OK;
}

/* The distinct subjects of a's sorted items missing from b's, as "['x', 'y']" (at most
 * three, as 0.1.1 lists them). */
static void list_missing(rdi_buf *m, const ingest_job *a, const ingest_job *b)
{
    size_t shown = 0, k = 0;
    rdi_msg_add(m, "[");
    for (size_t i = 0; i < a->n && shown < 3; i++) {
        const char *sid = a->order[i]->sid;
        if (i && strcmp(sid, a->order[i - 1]->sid) == 0) continue;
        while (k < b->n && strcmp(b->order[k]->sid, sid) < 0) k++;
        if (k < b->n && strcmp(b->order[k]->sid, sid) == 0) continue;
        rdi_msg_add(m, "%s'%s'", shown++ ? ", " : "", sid);
    }
    rdi_msg_add(m, "]");
}

/* validate_alignment across collections: every collection of the call must cover the
 * same subjects (0.1.1's rule: a label folder with an extra subject is refused). Items
 * are sorted by subject. */
static radi_status check_subjects_aligned(radi_dataset *ds, coll_job *jobs, size_t nc)
{
    for (size_t k = 1; k < nc; k++) {
        const ingest_job *a = &jobs[0].j, *b = &jobs[k].j;
        int same = 1;
        size_t i = 0, l = 0;
        while (same && (i < a->n || l < b->n)) {
            const char *x = i < a->n ? a->order[i]->sid : NULL, *y = l < b->n ? b->order[l]->sid : NULL;
            same = x && y && strcmp(x, y) == 0;
            while (same && i < a->n && strcmp(a->order[i]->sid, x) == 0) i++;
            while (same && l < b->n && strcmp(b->order[l]->sid, y) == 0) l++;
        }
        if (same) continue;
        rdi_buf m = {0};
        rdi_msg_add(&m, "%s: Subject ID mismatch between '%s' and '%s' (validate_alignment): missing in '%s': ",
                    ds->uri, jobs[0].name, jobs[k].name, jobs[0].name);
        list_missing(&m, b, a);
        rdi_msg_add(&m, ", missing in '%s': ", jobs[k].name);
        list_missing(&m, a, b);
        radi_status s = rdi_error(RADI_E_INVALID, "%s", rdi_msg_text(&m));
        rdi_buf_free(&m);
        return s;
    }
    return RADI_OK;
}

/* An append to a collection whose volumes share one spatial shape (its x/y/z_dim, as
 * 0.1.1 keeps them) must bring that shape: 0.1.1 refuses the rest ("Dimension
 * mismatch"), so a uniform collection stays uniform whatever writes to it. */
static radi_status check_append_shape(radi_dataset *ds, coll_job *c)
{
    char *cu = rdi_ds_coll_uri(ds, c->name, NULL);
    radi_group *g = NULL;
    radi_status s = cu ? radi_group_open(ds->ctx, cu, &g) : RADI_E_NOMEM;
    free(cu);
    RDI_TRY(s);
    int64_t dims[3];
    int uniform = rdi_meta_get_i64(radi_group_meta(g), "x_dim", &dims[0]) &&
                  rdi_meta_get_i64(radi_group_meta(g), "y_dim", &dims[1]) &&
                  rdi_meta_get_i64(radi_group_meta(g), "z_dim", &dims[2]);
    radi_group_close(g);
    for (size_t i = 0; uniform && i < c->j.n; i++) {
        const uint64_t *sh = c->j.items[i].hdr.shape;
        if ((int64_t)sh[0] != dims[0] || (int64_t)sh[1] != dims[1] || (int64_t)sh[2] != dims[2])
            return rdi_error(RADI_E_INVALID, "Dimension mismatch: %s has shape (%llu, %llu, %llu), expected (%lld, %lld, "
                             "%lld): collection '%s' of %s holds volumes of one shape", c->j.items[i].path,
                             (unsigned long long)sh[0], (unsigned long long)sh[1], (unsigned long long)sh[2],
                             (long long)dims[0], (long long)dims[1], (long long)dims[2], c->name, ds->uri);
    }
    return RADI_OK;
}

/* The appended rows must give every obs column of the collection (by name, of its type)
 * and no other: refused here, before anything is written, rather than by the commit's
 * write. */
static radi_status check_append_columns(radi_dataset *ds, coll_job *c)
{
    const rdi_image_fields *f = &c->j.items[0].fields;
    char *obs = rdi_ds_coll_uri(ds, c->name, "obs");
    radi_array *a = NULL;
    radi_schema_info si;
    radi_status s = obs ? radi_array_open(ds->ctx, obs, 0, 0, &a) : RADI_E_NOMEM;
    if (s == RADI_OK) s = radi_schema_get_info(radi_array_schema(a), &si);
    const char *why = NULL, *col = NULL;
    for (uint32_t i = 0; s == RADI_OK && !why && i < f->nobs; i++) {
        uint32_t k = 0;
        radi_attr_info ai;
        if (radi_schema_attr_index(radi_array_schema(a), f->obs[i].name, &k) != RADI_OK) {
            rdi_error_clear();
            why = "has no column", col = f->obs[i].name;
        } else if ((s = radi_schema_get_attr(radi_array_schema(a), k, &ai)) == RADI_OK && ai.type != f->obs[i].type) {
            why = "has another type for column", col = f->obs[i].name;
        }
    }
    if (s == RADI_OK && !why && si.nattr != f->nobs) why = "has other columns too, e.g.", col = NULL;
    if (s == RADI_OK && why && !col) {
        for (uint32_t k = 0; k < si.nattr && !col; k++) {
            radi_attr_info ai;
            int given = 0;
            if (radi_schema_get_attr(radi_array_schema(a), k, &ai) != RADI_OK) break;
            for (uint32_t i = 0; i < f->nobs && !given; i++) given = strcmp(ai.name, f->obs[i].name) == 0;
            if (!given) col = ai.name;
        }
    }
    if (s == RADI_OK && why)
        s = rdi_error(RADI_E_INVALID, "%s: its obs row does not fit collection '%s' of %s, which %s '%s' (%u columns "
                      "there, %u from this %s source): a collection takes one kind of source, with the same options",
                      c->j.items[0].path, c->name, ds->uri, why, col ? col : "?", si.nattr, f->nobs, c->j.ops->name);
    radi_array_close(a);
    free(obs);
    return s;
}

/* Checks of an existing collection taking an append, and where its volumes go. */
static radi_status prepare_append(radi_dataset *ds, coll_job *c)
{
    RDI_TRY(check_append_columns(ds, c));
    const coll_cache *cc = &ds->cache[c->ci];
    c->j.base = cc->n;
    if (cc->n) RDI_TRY(check_append_shape(ds, c));
    for (uint64_t r = 0; r < cc->n; r++)
        if (!cc->entries[r].volume_uri)
            return rdi_error(RADI_E_CORRUPT, "%s: collection '%s' is inconsistent (obs row '%s' has no volume); "
                             "run validate", ds->uri, c->name, cc->entries[r].obs_id);
    if (c->j.opt->validate_alignment && cc->n) {
        radi_volume *v = NULL;
        RDI_TRY(radi_volume_open(ds->ctx, cc->entries[0].volume_uri, &v));
        const uint64_t *sh = radi_volume_shape(v);
        int same = 1;
        for (int d = 0; d < 3; d++) same &= sh[d] == c->j.items[0].hdr.shape[d];
        radi_volume_close(v);
        if (!same)
            return rdi_error(RADI_E_INVALID, "%s: shape differs from collection '%s' (%llux%llux%llu)",
                             c->j.items[0].path, c->name, (unsigned long long)sh[0], (unsigned long long)sh[1],
                             (unsigned long long)sh[2]);
    }
    /* volumes/<k> must stay in (obs_subject_id, obs_id) order for 0.1.1's positional
     * lookup: new keys that sort between existing ones renumber the volumes after them. */
    return plan_append(ds, (size_t)c->ci, &c->j, c->j.n, &c->moves, &c->nmoves);
}

/* Builds the items of one collection's sources (ids, absolute paths, descriptors). */
radi_status rdi_ingest_make_items(radi_dataset *ds, coll_job *c, const rdi_ingest_set *src,
                                  const radi_ingest_options *opt)
{
    size_t n = src->n;
    c->name = src->name;
    c->j = (ingest_job){.ds = ds, .ops = src->ops, .collection = src->name, .opt = opt, .n = n};
    if (!(c->j.items = rdi_calloc(n, sizeof *c->j.items)) || !(c->j.order = rdi_calloc(n, sizeof *c->j.order)) ||
        !(c->vol_dir = rdi_ds_coll_uri(ds, src->name, "volumes")))
        return RADI_E_NOMEM;
    c->j.vol_dir = c->vol_dir;
    for (size_t i = 0; i < n; i++) {
        item *it = &c->j.items[i];
        c->j.order[i] = it;
        it->path = src->sources[i].path;
        it->sid = src->sources[i].subject_id;
        it->desc = src->sources[i].desc;
        if (!it->path || !it->sid)
            return rdi_error(RADI_E_INVALID, "%s: %s source %zu of '%s' has no path or subject id", ds->uri,
                             src->ops->name, i, src->name);
        it->oid = src->sources[i].obs_id ? rdi_strdup(src->sources[i].obs_id)
                                         : rdi_asprintf("%s_%s", it->sid, src->name);
        it->abspath = rdi_vfs_canonical(ds->ctx->vfs, it->path);
        if (!it->oid || !it->abspath) return RADI_E_NOMEM;
    }
    return RADI_OK;
}

/* The checks of every collection, before anything is written. *news gets the subjects
 * the ingest adds (sorted, distinct). */
radi_status rdi_ingest_check_all(radi_dataset *ds, coll_job *jobs, size_t nc, const radi_ingest_options *opt,
                             rdi_strlist *news)
{
    RDI_TRY(rdi_ingest_for_all_files(ds, jobs, nc, rdi_ingest_header_task, opt, 0));
    size_t total = 0;
    for (size_t k = 0; k < nc; k++) total += jobs[k].j.n;
    item **all = rdi_calloc(total ? total : 1, sizeof *all);
    if (!all) return RADI_E_NOMEM;
    size_t na = 0;
    radi_status s = RADI_OK;
    for (size_t k = 0; k < nc && s == RADI_OK; k++) {
        coll_job *c = &jobs[k];
        s = rdi_ingest_check_obs_columns(&c->j);
        if (s == RADI_OK && opt->validate_alignment) s = check_shapes_aligned(&c->j);
        if (s != RADI_OK) break;
        qsort(c->j.order, c->j.n, sizeof *c->j.order, cmp_item);
        s = check_ids(c->j.order, c->j.n);
        for (size_t i = 0; i < c->j.n; i++) all[na++] = c->j.order[i];
    }
    if (s == RADI_OK && opt->validate_alignment) s = check_subjects_aligned(ds, jobs, nc);
    if (s == RADI_OK) s = check_oids_unique(ds, all, na);
    free(all);
    for (size_t k = 0; k < nc && s == RADI_OK; k++) {
        coll_job *c = &jobs[k];
        if (c->ci >= 0) s = prepare_append(ds, c);
        for (size_t i = 0; c->ci < 0 && i < c->j.n; i++) c->j.order[i]->k = i;
        /* Subjects new to the dataset get obs_meta rows; a stand-alone collection has none. */
        for (size_t i = 0; !ds->standalone && i < c->j.n && s == RADI_OK; i++) {
            const char *sid = c->j.order[i]->sid;
            if (!rdi_strlist_has_sorted(&ds->subjects, sid, strlen(sid))) s = rdi_strlist_push(news, sid);
        }
    }
    rdi_strlist_sort(news);
    size_t w = 0;
    for (size_t i = 0; i < news->n; i++) {
        if (w && strcmp(news->items[w - 1], news->items[i]) == 0) {
            free(news->items[i]);
            continue;
        }
        news->items[w++] = news->items[i];
    }
    news->n = w;
    if (s == RADI_OK && news->n) s = rdi_ingest_check_obs_meta_rows(ds, opt, news);
    return s;
}
