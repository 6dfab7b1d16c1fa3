/*
 * Datasets in RadiObject 0.1.1's layout (docs/dataset.md): create, open (the collection
 * list, subjects and per-collection caches), close, and volumes resolved by their obs_id
 * metadata (radi_dataset_volumes, radi_dataset_open_volume).
 */
#include <stdio.h>
#include <stdlib.h>

#include "model/dataset.h"
#include "model/journal.h"

static radi_status read_keys(radi_ctx *ctx, const char *uri, rdi_strlist *sids, rdi_strlist *oids)
{
    const char *cols[2] = {K_SID, K_OID};
    rdi_strlist l[2] = {RDI_STRLIST_INIT, RDI_STRLIST_INIT};
    radi_status s = rdi_ds_read_str_cols(ctx, uri, 2, cols, l);
    if (s != RADI_OK) {
        rdi_strlist_free(&l[0]);
        rdi_strlist_free(&l[1]);
        return s;
    }
    *sids = l[0];
    *oids = l[1];
    return RADI_OK;
}

/* ------------------------------------------------------------------ open -- */

static void cache_clear(coll_cache *c)
{
    free(c->entries);
    rdi_strlist_free(&c->strs);
    memset(c, 0, sizeof *c);
}

void rdi_ds_clear_lists(radi_dataset *ds)
{
    for (size_t i = 0; ds->cache && i < ds->collections.n; i++) cache_clear(&ds->cache[i]);
    free(ds->cache);
    ds->cache = NULL;
    rdi_strlist_free(&ds->collections);
    rdi_strlist_free(&ds->subjects);
}

char *rdi_ds_coll_uri(const radi_dataset *ds, const char *name, const char *child)
{
    char *c = ds->standalone ? rdi_strdup(ds->uri) : rdi_asprintf("%s/collections/%s", ds->uri, name);
    if (!c || !child) return c;
    char *r = rdi_path_join(c, child);
    free(c);
    return r;
}

/* A stand-alone collection: its name (metadata `name`, else the URI's last component)
 * and the distinct subjects of its obs. */
static radi_status load_standalone(radi_dataset *ds)
{
    radi_group *g = NULL;
    RDI_TRY(radi_group_open(ds->ctx, ds->uri, &g));
    radi_status cs = rdi_ds_confine_group(ds, g, ds->uri, NULL);
    char *name = cs == RADI_OK ? rdi_meta_get_str(radi_group_meta(g), "name") : NULL;
    radi_group_close(g);
    if (cs != RADI_OK) return cs;
    if (!name) {
        size_t bl;
        const char *b = rdi_path_basename(ds->uri, &bl);
        if (!(name = rdi_strndup(b, bl))) return RADI_E_NOMEM;
    }
    radi_status s = rdi_strlist_push_owned(&ds->collections, name);
    if (s == RADI_OK && !(ds->cache = rdi_calloc(1, sizeof *ds->cache))) s = RADI_E_NOMEM;
    if (s == RADI_OK) s = rdi_ds_load_collection(ds, 0);
    rdi_strlist sids = RDI_STRLIST_INIT;
    for (uint64_t r = 0; s == RADI_OK && r < ds->cache[0].n; r++)
        s = rdi_strlist_push(&sids, ds->cache[0].entries[r].obs_subject_id);
    /* obs is in (subject, obs_id) order, so a subject's rows are adjacent. */
    for (size_t i = 0; s == RADI_OK && i < sids.n; i++)
        if (i == 0 || strcmp(sids.items[i], sids.items[i - 1]) != 0) s = rdi_strlist_push(&ds->subjects, sids.items[i]);
    rdi_strlist_free(&sids);
    return s;
}

/* (Re)reads collection names and subject ids. */
radi_status rdi_ds_load(radi_dataset *ds)
{
    rdi_ds_clear_lists(ds);
    ds->subjects_unread = 0;
    if (ds->standalone) return load_standalone(ds);
    char *cl = rdi_path_join(ds->uri, "collections"), *om = rdi_path_join(ds->uri, "obs_meta");
    radi_group *g = NULL;
    uint8_t *bad = NULL;
    /* The root's members (obs_meta, collections) and the collections themselves must
     * stay inside the dataset (confine.c) before anything is read through them. */
    radi_status s = cl && om ? rdi_ds_confine_uri(ds, ds->uri) : RADI_E_NOMEM;
    if (s == RADI_OK) {
        s = radi_group_open(ds->ctx, cl, &g);
        /* A storage failure (an S3 server gone, say) says nothing about what is there:
         * only what was read and found wanting makes the URI "not a dataset". */
        if (s == RADI_E_IO) s = rdi_error_wrap(s, "%s: cannot read the dataset", ds->uri);
        else if (s != RADI_OK && s != RADI_E_NOMEM) s = rdi_error_wrap(s, "%s: not a RadiObject dataset", ds->uri);
    }
    uint64_t nmem = s == RADI_OK ? radi_group_member_count(g) : 0;
    if (nmem && !(bad = rdi_calloc((size_t)nmem, 1))) s = RADI_E_NOMEM;
    if (s == RADI_OK) s = rdi_ds_confine_group(ds, g, cl, bad);
    for (uint64_t i = 0; s == RADI_OK && i < nmem; i++) {
        radi_group_member m;
        if (bad[i]) continue;
        s = radi_group_member_at(g, i, &m);
        if (s != RADI_OK) break;
        size_t bl;
        const char *nm = m.name;
        char *tmp = NULL;
        if (!nm) {
            const char *b = rdi_path_basename(m.uri, &bl);
            nm = tmp = rdi_strndup(b, bl);
        }
        s = nm ? rdi_strlist_push(&ds->collections, nm) : RADI_E_NOMEM;
        free(tmp);
    }
    free(bad);
    radi_group_close(g);
    if (s == RADI_OK && ds->collections.n &&
        !(ds->cache = rdi_calloc(ds->collections.n, sizeof *ds->cache)))
        s = RADI_E_NOMEM;
    if (s == RADI_OK) {
        const char *col = K_SID;
        rdi_strlist sids = RDI_STRLIST_INIT;
        s = rdi_ds_read_str_cols(ds->ctx, om, 1, &col, &sids);
        if (s != RADI_OK && s != RADI_E_NOMEM && ds->notes) {
            /* validate: reported, and its subject checks skipped */
            s = rdi_strlist_push_owned(ds->notes, rdi_asprintf("%s: cannot be read: %s", om, radi_errmsg()));
            ds->subjects_unread = 1;
        }
        /* Global order sorts by subject first, so duplicates are adjacent. */
        for (size_t i = 0; s == RADI_OK && i < sids.n; i++)
            if (i == 0 || strcmp(sids.items[i], sids.items[i - 1]) != 0)
                s = rdi_strlist_push(&ds->subjects, sids.items[i]);
        rdi_strlist_free(&sids);
    }
    free(cl);
    free(om);
    return s;
}

/* A failed open of a dataset that an interrupted write left half-changed says so, and
 * how to make it whole (the message stays one line). */
static radi_status explain_interrupted(radi_ctx *ctx, const char *uri, radi_status st)
{
    char *why = rdi_strdup(radi_errmsg()), *root = rdi_uri_normalize(uri), *line = NULL;
    if (why && root && rdi_journal_describe(ctx, root, &line) == RADI_OK && line)
        rdi_error(st, "%s (%s)", why, line);
    else if (why)
        rdi_error(st, "%s", why);
    free(line);
    free(root);
    free(why);
    return st;
}

static radi_status open_as(radi_ctx *ctx, const char *uri, int standalone, radi_dataset **out)
{
    radi_object_type t;
    RDI_TRY(radi_object_type_of(ctx, uri, &t));
    if (t != RADI_OBJECT_GROUP)
        return explain_interrupted(ctx, uri, rdi_error(RADI_E_NOT_FOUND, "%s: no %s (not a TileDB group)", uri,
                                                       standalone ? "collection" : "dataset"));
    radi_dataset *ds = rdi_calloc(1, sizeof *ds);
    if (!ds) return RADI_E_NOMEM;
    ds->ctx = ctx;
    ds->standalone = standalone;
    radi_status s = (ds->uri = rdi_uri_normalize(uri)) ? rdi_ds_load(ds) : RADI_E_NOMEM;
    if (s != RADI_OK) {
        radi_dataset_close(ds);
        return s == RADI_E_NOMEM ? s : explain_interrupted(ctx, uri, s);
    }
    *out = ds;
    return RADI_OK;
}

radi_status radi_dataset_open(radi_ctx *ctx, const char *uri, radi_dataset **out)
{
    if (!ctx || !uri || !out) return rdi_error(RADI_E_INVALID, "radi_dataset_open: NULL argument");
    return open_as(ctx, uri, 0, out);
}

radi_status radi_collection_open(radi_ctx *ctx, const char *uri, radi_dataset **out)
{
    if (!ctx || !uri || !out) return rdi_error(RADI_E_INVALID, "radi_collection_open: NULL argument");
    return open_as(ctx, uri, 1, out);
}

int radi_dataset_is_collection(const radi_dataset *ds) { return ds ? ds->standalone : 0; }

/* Writes that add, rename or import collections go through a dataset: a stand-alone
 * collection is one collection. (Appends to it are ingest.c's.) */
radi_status rdi_ds_refuse_standalone(const radi_dataset *ds, const char *what)
{
    if (!ds->standalone) return RADI_OK;
    return rdi_error(RADI_E_UNSUPPORTED, "%s: %s needs a dataset; this is a stand-alone collection", ds->uri, what);
}

void radi_dataset_close(radi_dataset *ds)
{
    if (!ds) return;
    rdi_ds_clear_lists(ds);
    free(ds->uri);
    free(ds);
}

const char *radi_dataset_uri(const radi_dataset *ds) { return ds ? ds->uri : NULL; }
uint64_t radi_dataset_collection_count(const radi_dataset *ds) { return ds ? ds->collections.n : 0; }
const char *radi_dataset_collection_name(const radi_dataset *ds, uint64_t i)
{
    return ds && i < ds->collections.n ? ds->collections.items[i] : NULL;
}
uint64_t radi_dataset_subject_count(const radi_dataset *ds) { return ds ? ds->subjects.n : 0; }
const char *radi_dataset_subject_id(const radi_dataset *ds, uint64_t i)
{
    return ds && i < ds->subjects.n ? ds->subjects.items[i] : NULL;
}

int64_t rdi_ds_coll_index(const radi_dataset *ds, const char *name)
{
    for (size_t i = 0; i < ds->collections.n; i++)
        if (strcmp(ds->collections.items[i], name) == 0) return (int64_t)i;
    return -1;
}

/* Every member of <collection>/volumes with the obs_id its metadata holds. */
radi_status rdi_ds_list_volumes(radi_dataset *ds, const char *coll, vol_member **out, size_t *nout)
{
    char *vu = rdi_ds_coll_uri(ds, coll, "volumes");
    if (!vu) return RADI_E_NOMEM;
    radi_group *g = NULL;
    vol_member *v = NULL;
    size_t n = 0;
    uint8_t *bad = NULL;
    radi_status s = radi_group_open(ds->ctx, vu, &g);
    uint64_t nm = s == RADI_OK ? radi_group_member_count(g) : 0;
    if (s == RADI_OK && nm && !(v = rdi_calloc((size_t)nm, sizeof *v))) s = RADI_E_NOMEM;
    if (s == RADI_OK && nm && !(bad = rdi_calloc((size_t)nm, 1))) s = RADI_E_NOMEM;
    if (s == RADI_OK) s = rdi_ds_confine_group(ds, g, vu, bad);
    for (uint64_t i = 0; s == RADI_OK && i < nm; i++) {
        radi_group_member m;
        if (bad[i]) continue;
        s = radi_group_member_at(g, i, &m);
        if (s != RADI_OK) break;
        v[n].name = rdi_member_segment(&m);
        if (!v[n].name) { s = RADI_E_NOMEM; break; }
        /* Built by concatenation as 0.1.1 does, so moved datasets with stale absolute
         * member URIs still resolve. */
        char *au = rdi_path_join(vu, v[n].name);
        radi_meta meta;
        s = au ? rdi_meta_load(ds->ctx, au, 0, UINT64_MAX, ds->ctx->config.format_version, &meta)
               : RADI_E_NOMEM;
        if (s == RADI_OK) v[n].obs_id = rdi_meta_get_str(&meta, K_OID);
        else if (s != RADI_E_NOMEM && ds->notes) {
            /* validate: one line, and the volume counts as one without obs_id */
            s = rdi_strlist_push_owned(ds->notes, rdi_asprintf("%s: metadata cannot be read: %s", au, radi_errmsg()));
            v[n].meta_bad = 1;
        }
        rdi_meta_clear(&meta);
        free(au);
        n++;
    }
    free(bad);
    radi_group_close(g);
    free(vu);
    if (s != RADI_OK) {
        for (size_t i = 0; i < n; i++) { free(v[i].name); free(v[i].obs_id); }
        free(v);
        return s;
    }
    *out = v;
    *nout = n;
    return RADI_OK;
}

char *rdi_member_segment(const radi_group_member *m)
{
    if (m->name) return rdi_strdup(m->name);
    size_t bl;
    const char *b = rdi_path_basename(m->uri, &bl);
    return rdi_strndup(b, bl);
}

void rdi_ds_free_members(vol_member *v, size_t n)
{
    for (size_t i = 0; i < n; i++) { free(v[i].name); free(v[i].obs_id); }
    free(v);
}

/* Parses a decimal member name ("0", "12"); -1 otherwise. */
int64_t rdi_ds_member_pos(const char *s)
{
    if (!*s || strlen(s) > 15) return -1;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

/* The obs rows of collection `name` as entries without volumes (strings owned by nc). */
static radi_status load_entries(radi_dataset *ds, const char *name, coll_cache *nc)
{
    char *obs = rdi_ds_coll_uri(ds, name, "obs");
    rdi_strlist sids = RDI_STRLIST_INIT, oids = RDI_STRLIST_INIT;
    radi_status s = obs ? read_keys(ds->ctx, obs, &sids, &oids) : RADI_E_NOMEM;
    nc->n = sids.n;
    if (s == RADI_OK && nc->n && !(nc->entries = rdi_calloc((size_t)nc->n, sizeof *nc->entries))) s = RADI_E_NOMEM;
    /* The strings move into nc->strs; entries point at them. */
    for (size_t i = 0; s == RADI_OK && i < sids.n; i++) {
        s = rdi_strlist_push_owned(&nc->strs, sids.items[i]);
        if (s == RADI_OK) { nc->entries[i].obs_subject_id = sids.items[i]; sids.items[i] = NULL; }
        if (s == RADI_OK) s = rdi_strlist_push_owned(&nc->strs, oids.items[i]);
        if (s == RADI_OK) { nc->entries[i].obs_id = oids.items[i]; oids.items[i] = NULL; }
    }
    for (size_t i = 0; i < sids.n; i++) free(sids.items[i]);
    for (size_t i = 0; i < oids.n; i++) free(oids.items[i]);
    free(sids.items);
    free(oids.items);
    free(obs);
    return s;
}

/* Sets entry `row`'s volume to <collection>/volumes/<member>. */
static radi_status place_entry(radi_dataset *ds, const char *name, coll_cache *nc, uint64_t row, const char *member)
{
    char *u = rdi_ds_coll_uri(ds, name, "volumes");
    char *vu = u ? rdi_path_join(u, member) : NULL;
    free(u);
    radi_status s = vu ? rdi_strlist_push_owned(&nc->strs, vu) : RADI_E_NOMEM;
    if (s == RADI_OK) nc->entries[row].volume_uri = vu;
    return s;
}

radi_status rdi_ds_load_collection_hint(radi_dataset *ds, size_t ci)
{
    coll_cache *c = &ds->cache[ci];
    if (c->loaded) return RADI_OK;
    if (!(rdi_vfs_flags(ds->ctx->vfs, ds->uri) & RDI_VFS_REMOTE)) return rdi_ds_load_collection(ds, ci);
    const char *name = ds->collections.items[ci];
    coll_cache nc = {0};
    radi_status s = rdi_ds_confine_collection(ds, name);
    if (s == RADI_OK) s = load_entries(ds, name, &nc);
    char *vu = s == RADI_OK ? rdi_ds_coll_uri(ds, name, "volumes") : NULL;
    radi_group *g = NULL;
    if (s == RADI_OK) s = vu ? radi_group_open(ds->ctx, vu, &g) : RADI_E_NOMEM;
    /* Strict: a member leaving the dataset is refused here; lenient never gets here
     * (validate loads collections fully). */
    if (s == RADI_OK) s = rdi_ds_confine_group(ds, g, vu, NULL);
    /* Positions apply only when the members are exactly "0".."n-1" for n obs rows. */
    int exact = s == RADI_OK && radi_group_member_count(g) == nc.n;
    uint8_t *seen = exact && nc.n ? rdi_calloc((size_t)nc.n, 1) : NULL;
    if (exact && nc.n && !seen) s = RADI_E_NOMEM;
    for (uint64_t i = 0; s == RADI_OK && exact && i < nc.n; i++) {
        radi_group_member m;
        s = radi_group_member_at(g, i, &m);
        int64_t p = s == RADI_OK && m.name ? rdi_ds_member_pos(m.name) : -1;
        if (p < 0 || (uint64_t)p >= nc.n || seen[p]) exact = 0;
        else seen[p] = 1;
    }
    free(seen);
    radi_group_close(g);
    free(vu);
    for (uint64_t r = 0; s == RADI_OK && exact && r < nc.n; r++) {
        char num[24];
        snprintf(num, sizeof num, "%llu", (unsigned long long)r);
        s = place_entry(ds, name, &nc, r, num);
    }
    if (s != RADI_OK || !exact) {
        cache_clear(&nc);
        if (s != RADI_OK) return rdi_error_wrap(s, "%s: collection '%s'", ds->uri, name);
        return rdi_ds_load_collection(ds, ci);
    }
    nc.loaded = 1;
    nc.positional = 1;
    *c = nc;
    return RADI_OK;
}

radi_status rdi_ds_load_collection(radi_dataset *ds, size_t ci)
{
    coll_cache *c = &ds->cache[ci];
    if (c->loaded && !c->positional) return RADI_OK;
    if (c->loaded) cache_clear(c);
    const char *name = ds->collections.items[ci];
    vol_member *v = NULL;
    size_t nv = 0;
    coll_cache nc = {0};
    radi_status s = rdi_ds_confine_collection(ds, name);
    if (s == RADI_OK) s = load_entries(ds, name, &nc);
    if (s == RADI_OK) s = rdi_ds_list_volumes(ds, name, &v, &nv);
    /* First by the volume's own obs_id; then volumes without one, by 0.1.1's position. */
    for (int pass = 0; pass < 2 && s == RADI_OK; pass++) {
        for (size_t k = 0; k < nv && s == RADI_OK; k++) {
            int64_t row = -1;
            if (pass == 0 && v[k].obs_id) {
                for (uint64_t r = 0; r < nc.n; r++)
                    if (!nc.entries[r].volume_uri && strcmp(nc.entries[r].obs_id, v[k].obs_id) == 0) {
                        row = (int64_t)r;
                        break;
                    }
            } else if (pass == 1 && !v[k].obs_id) {
                int64_t p = rdi_ds_member_pos(v[k].name);
                if (p >= 0 && (uint64_t)p < nc.n && !nc.entries[p].volume_uri) row = p;
            }
            if (row < 0) continue;
            s = place_entry(ds, name, &nc, (uint64_t)row, v[k].name);
        }
    }
    rdi_ds_free_members(v, nv);
    if (s != RADI_OK) {
        cache_clear(&nc);
        return rdi_error_wrap(s, "%s: collection '%s'", ds->uri, name);
    }
    nc.loaded = 1;
    *c = nc;
    return RADI_OK;
}

radi_status radi_dataset_volumes(radi_dataset *ds, const char *collection,
                                 const radi_volume_entry **entries, uint64_t *count)
{
    if (!ds || !collection || !entries || !count)
        return rdi_error(RADI_E_INVALID, "radi_dataset_volumes: NULL argument");
    int64_t ci = rdi_ds_coll_index(ds, collection);
    if (ci < 0) return rdi_error(RADI_E_NOT_FOUND, "%s: no collection '%s'", ds->uri, collection);
    RDI_TRY(rdi_ds_load_collection_hint(ds, (size_t)ci));
    *entries = ds->cache[ci].entries;
    *count = ds->cache[ci].n;
    return RADI_OK;
}

/* Whether the open volume holds obs_id (its metadata says so). */
static int holds_obs_id(radi_volume *v, const char *obs_id)
{
    char *got = rdi_meta_get_str(radi_array_meta(radi_volume_array(v)), K_OID);
    int same = got && strcmp(got, obs_id) == 0;
    free(got);
    return same;
}

radi_status radi_dataset_open_volume(radi_dataset *ds, const char *collection, const char *obs_id,
                                     radi_volume **out)
{
    if (!obs_id || !out) return rdi_error(RADI_E_INVALID, "radi_dataset_open_volume: NULL argument");
    const radi_volume_entry *e;
    uint64_t n;
    RDI_TRY(radi_dataset_volumes(ds, collection, &e, &n));
    for (uint64_t i = 0; i < n; i++) {
        if (strcmp(e[i].obs_id, obs_id) != 0) continue;
        if (!e[i].volume_uri)
            return rdi_error(RADI_E_NOT_FOUND, "%s: collection '%s': no volume holds obs_id '%s'", ds->uri,
                             collection, obs_id);
        int64_t ci = rdi_ds_coll_index(ds, collection);
        int positional = ds->cache[ci].positional;
        /* What opens must hold this obs_id: entries placed by position are a guess, and a
         * verified location goes stale when a renumbering append moves volumes after it
         * was read (docs/dataset.md §8.4). Otherwise resolve again, once. */
        radi_volume *v = NULL;
        radi_status s = radi_volume_open(ds->ctx, e[i].volume_uri, &v);
        if (s == RADI_OK && holds_obs_id(v, obs_id)) {
            *out = v;
            return RADI_OK;
        }
        radi_volume_close(v);
        if (s != RADI_OK && s != RADI_E_NOT_FOUND) return s;
        if (!positional)
            return rdi_error(RADI_E_NOT_FOUND, "%s: collection '%s': the volume of obs_id '%s' moved while it was "
                             "being opened (a write renumbers this collection); open it again",
                             ds->uri, collection, obs_id);
        /* The caller's strings may be the cache's own, which the reload frees. */
        char *oid = rdi_strdup(obs_id), *coll = rdi_strdup(collection);
        s = oid && coll ? rdi_ds_load_collection(ds, (size_t)ci) : RADI_E_NOMEM;
        if (s == RADI_OK) s = radi_dataset_open_volume(ds, coll, oid, out);
        free(oid);
        free(coll);
        return s;
    }
    return rdi_error(RADI_E_NOT_FOUND, "%s: collection '%s' has no obs_id '%s'", ds->uri, collection, obs_id);
}
