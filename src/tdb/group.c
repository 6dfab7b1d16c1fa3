/*
 * Groups (docs/format.md §13): an empty __tiledb_group.tdb marker, group
 * details in __group/__t_t_uuid_2 (generic tiles, format 2) and metadata in __meta. Every
 * change writes a new details file holding the full membership plus the change, as
 * TileDB does, and all files are applied oldest first.
 */
#include <stdlib.h>

#include "tdb/prefetch.h"
#include "tdb/tdb.h"

#define GROUP_MARKER "__tiledb_group.tdb"
#define GROUP_DIR "__group"
#define DETAILS_VERSION 2

typedef struct rdi_member {
    char *name;                 /* NULL when unnamed */
    char *uri;                  /* as stored */
    char *resolved;             /* absolute */
    radi_object_type type;
    int relative;
} rdi_member;

struct radi_group {
    radi_ctx *ctx;
    char *uri;                  /* normalized */
    char *abs_uri;              /* file:///... form, for resolving relative members */
    rdi_member *members;
    uint64_t n;
    uint64_t last_t;            /* newest details timestamp, so new files sort after it */
    radi_meta meta;
};

static void member_free(rdi_member *m)
{
    free(m->name);
    free(m->uri);
    free(m->resolved);
    memset(m, 0, sizeof *m);
}

static const char *member_key(const rdi_member *m) { return m->name ? m->name : m->uri; }

static int64_t find_key(const radi_group *g, const char *key)
{
    for (uint64_t i = 0; i < g->n; i++)
        if (strcmp(member_key(&g->members[i]), key) == 0) return (int64_t)i;
    return -1;
}

static void drop(radi_group *g, uint64_t i)
{
    member_free(&g->members[i]);
    memmove(&g->members[i], &g->members[i + 1], (size_t)(g->n - i - 1) * sizeof *g->members);
    g->n--;
}

static char *resolve(const radi_group *g, const char *uri, int relative)
{
    return relative ? rdi_path_join(g->abs_uri, uri) : rdi_strdup(uri);
}

/* Adds (or replaces, by key) a member; takes ownership of name and uri. */
static radi_status put_member(radi_group *g, char *name, char *uri, int relative,
                              radi_object_type type)
{
    rdi_member m = {name, uri, resolve(g, uri, relative), type, relative};
    if (!m.resolved) {
        member_free(&m);
        return RADI_E_NOMEM;
    }
    int64_t at = find_key(g, member_key(&m));
    if (at >= 0) {
        member_free(&g->members[at]);
        g->members[at] = m;
        return RADI_OK;
    }
    rdi_member *nm = realloc(g->members, (size_t)(g->n + 1) * sizeof *nm);
    if (!nm) {
        member_free(&m);
        return rdi_nomem();
    }
    g->members = nm;
    g->members[g->n++] = m;
    return RADI_OK;
}

/* Applies one details payload: `u32 2 | u64 n | members` (format.md §13). */
static radi_status apply_details(radi_group *g, const uint8_t *p, size_t len, const char *what)
{
    rdi_rd r;
    rdi_rd_init(&r, p, len, what);
    uint32_t version;
    uint64_t n;
    RDI_TRY(rdi_rd_u32(&r, &version, "group details version"));
    if (version != DETAILS_VERSION)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: group details version %u is not supported (only 2)",
                         what, version);
    RDI_TRY(rdi_rd_u64(&r, &n, "group member count"));
    if (n > rdi_rd_left(&r) / 15)
        return rdi_error(RADI_E_CORRUPT, "%s: group member count %llu exceeds the data", what,
                         (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++) {
        uint32_t mv;
        uint8_t type, relative, name_set, deleted = 0;
        char *uri = NULL, *name = NULL;
        size_t ulen, nlen;
        RDI_TRY(rdi_rd_u32(&r, &mv, "group member version"));
        if (mv != 1 && mv != 2)
            return rdi_error(RADI_E_UNSUPPORTED, "%s: group member version %u is not supported", what, mv);
        RDI_TRY(rdi_rd_u8(&r, &type, "group member type"));
        if (type != RADI_OBJECT_GROUP && type != RADI_OBJECT_ARRAY)
            return rdi_error(RADI_E_CORRUPT, "%s: group member %llu has object type %u", what,
                             (unsigned long long)i, type);
        RDI_TRY(rdi_rd_u8(&r, &relative, "group member relative flag"));
        RDI_TRY(rdi_rd_str64(&r, &uri, &ulen, "group member uri"));
        radi_status s = rdi_rd_u8(&r, &name_set, "group member name flag");
        if (s == RADI_OK && name_set) s = rdi_rd_str64(&r, &name, &nlen, "group member name");
        if (s == RADI_OK && mv >= 2) s = rdi_rd_u8(&r, &deleted, "group member deleted flag");
        if (s == RADI_OK && (strlen(uri) != ulen || (name && strlen(name) != nlen)))
            s = rdi_error(RADI_E_CORRUPT, "%s: group member %llu has a NUL in its uri or name", what,
                          (unsigned long long)i);
        if (s != RADI_OK) {
            free(uri);
            free(name);
            return s;
        }
        if (deleted) {
            int64_t at = find_key(g, name ? name : uri);
            if (at >= 0) drop(g, (uint64_t)at);
            free(uri);
            free(name);
        } else {
            RDI_TRY(put_member(g, name, uri, relative != 0, (radi_object_type)type));
        }
    }
    return RADI_OK;
}

static radi_status put_one(rdi_buf *b, const rdi_member *m, int deleted)
{
    RDI_TRY(rdi_buf_put_u32(b, DETAILS_VERSION));
    RDI_TRY(rdi_buf_put_u8(b, (uint8_t)m->type));
    RDI_TRY(rdi_buf_put_u8(b, (uint8_t)(m->relative ? 1 : 0)));
    RDI_TRY(rdi_buf_put_str64(b, m->uri, strlen(m->uri)));
    RDI_TRY(rdi_buf_put_u8(b, (uint8_t)(m->name ? 1 : 0)));
    if (m->name) RDI_TRY(rdi_buf_put_str64(b, m->name, strlen(m->name)));
    return rdi_buf_put_u8(b, (uint8_t)(deleted ? 1 : 0));
}

/* Writes a details file: the current membership plus `extra` (added, or deleted; may be NULL). */
static radi_status write_details(radi_group *g, const rdi_member *extra, int extra_deleted)
{
    rdi_buf b = RDI_BUF_INIT, tile = RDI_BUF_INIT;
    rdi_scratch *scratch = NULL;
    char *name = NULL, *file = NULL;
    uint32_t version = g->ctx->config.format_version;
    uint64_t t = RDI_MAX(rdi_now_ms(), g->last_t + 1);
    radi_status s = rdi_buf_put_u32(&b, DETAILS_VERSION);
    if (s == RADI_OK) s = rdi_buf_put_u64(&b, g->n + (extra ? 1 : 0));
    for (uint64_t i = 0; i < g->n && s == RADI_OK; i++) s = put_one(&b, &g->members[i], 0);
    if (s == RADI_OK && extra) s = put_one(&b, extra, extra_deleted);
    if (s == RADI_OK) s = rdi_scratch_create(&scratch);
    if (s == RADI_OK) s = rdi_generic_tile_encode(b.data, b.len, version, scratch, &tile);
    if (s == RADI_OK) s = rdi_tsname_make(t, t, DETAILS_VERSION, &name);
    if (s == RADI_OK && !(file = rdi_asprintf("%s/" GROUP_DIR "/%s", g->uri, name))) s = RADI_E_NOMEM;
    if (s == RADI_OK) rdi_wait_for_clock(t);
    if (s == RADI_OK) s = rdi_vfs_write(g->ctx->vfs, file, tile.data, tile.len);
    if (s == RADI_OK) g->last_t = t;
    rdi_scratch_free(scratch);
    rdi_buf_free(&b);
    rdi_buf_free(&tile);
    free(name);
    free(file);
    return s;
}

/* over: the caller owns the directory (it may hold the caller's own files, as a dataset
 * being created holds its lock and journal), so it is not checked for emptiness. */
static radi_status create_group(radi_ctx *ctx, const char *uri, int over)
{
    if (!ctx || !uri) return rdi_error(RADI_E_INVALID, "radi_group_create: NULL argument");
    char *root = rdi_uri_normalize(uri);
    if (!root) return RADI_E_NOMEM;
    int kind = 0;
    rdi_dirlist ls = {NULL, 0};
    char *marker = NULL, *gdir = NULL, *mdir = NULL;
    radi_status s = rdi_vfs_kind(ctx->vfs, root, &kind);
    if (s == RADI_OK && kind == 2 && !over) s = rdi_vfs_ls(ctx->vfs, root, &ls);
    /* An empty directory counts as nothing, as for arrays. */
    if (s == RADI_OK && (kind == 1 || ls.n > 0))
        s = rdi_error(RADI_E_EXISTS, "%s: cannot create a group: something already exists there", root);
    if (s == RADI_OK && (!(marker = rdi_path_join(root, GROUP_MARKER)) ||
                         !(gdir = rdi_path_join(root, GROUP_DIR)) || !(mdir = rdi_path_join(root, META_DIR))))
        s = RADI_E_NOMEM;
    int began = s == RADI_OK;
    if (s == RADI_OK) s = rdi_vfs_mkdir(ctx->vfs, gdir);
    if (s == RADI_OK) s = rdi_vfs_mkdir(ctx->vfs, mdir);
    if (s == RADI_OK) s = rdi_vfs_write(ctx->vfs, marker, "", 0);
    static const char *const made[] = {GROUP_DIR, META_DIR, GROUP_MARKER};
    if (s != RADI_OK && began) rdi_uncreate(ctx, root, kind == 0, made, sizeof made / sizeof *made);
    rdi_dirlist_free(&ls);
    free(marker);
    free(gdir);
    free(mdir);
    free(root);
    return s;
}

radi_status radi_group_create(radi_ctx *ctx, const char *uri) { return create_group(ctx, uri, 0); }

radi_status rdi_group_create_over(radi_ctx *ctx, const char *uri) { return create_group(ctx, uri, 1); }

typedef struct details_file {
    const char *name;
    rdi_tsname ts;
} details_file;

static int cmp_details(const void *x, const void *y)
{
    const details_file *a = x, *b = y;
    if (a->ts.t1 != b->ts.t1) return a->ts.t1 < b->ts.t1 ? -1 : 1;
    return strcmp(a->name, b->name);
}

static radi_status load_details(radi_group *g, const rdi_snap *snap)
{
    char *dir = rdi_path_join(g->uri, GROUP_DIR);
    if (!dir) return RADI_E_NOMEM;
    rdi_dirlist ls = {NULL, 0};
    rdi_buf payload = RDI_BUF_INIT;
    rdi_scratch *scratch = NULL;
    details_file *files = NULL;
    size_t nfiles = 0;
    radi_status s = rdi_snap_ls(snap, g->ctx->vfs, dir, &ls);
    if (s == RADI_OK && ls.n && !(files = rdi_calloc(ls.n, sizeof *files))) s = RADI_E_NOMEM;
    for (size_t i = 0; i < ls.n && s == RADI_OK; i++) {
        const char *n = ls.items[i].name;
        if (ls.items[i].is_dir || strncmp(n, "__", 2) != 0 || strchr(n, '.')) continue;
        if ((s = rdi_tsname_parse(n, &files[nfiles].ts))) {
            rdi_error_wrap(s, "%s", dir);
            break;
        }
        files[nfiles++].name = n;
        g->last_t = RDI_MAX(g->last_t, files[nfiles - 1].ts.t2);
    }
    if (nfiles > 1) qsort(files, nfiles, sizeof *files, cmp_details);
    if (s == RADI_OK && nfiles) s = rdi_scratch_create(&scratch);
    for (size_t i = 0; i < nfiles && s == RADI_OK; i++) {
        char *file = rdi_path_join(dir, files[i].name);
        if (!file) { s = RADI_E_NOMEM; break; }
        s = rdi_generic_tile_read_snap(g->ctx->vfs, snap, file, 0, scratch, &payload);
        if (s == RADI_OK) s = apply_details(g, payload.data, payload.len, file);
        free(file);
    }
    rdi_scratch_free(scratch);
    rdi_buf_free(&payload);
    free(files);
    rdi_dirlist_free(&ls);
    free(dir);
    return s;
}

void radi_group_close(radi_group *g)
{
    if (!g) return;
    for (uint64_t i = 0; i < g->n; i++) member_free(&g->members[i]);
    free(g->members);
    rdi_meta_clear(&g->meta);
    free(g->uri);
    free(g->abs_uri);
    free(g);
}

radi_status radi_group_open(radi_ctx *ctx, const char *uri, radi_group **out)
{
    if (!ctx || !uri || !out) return rdi_error(RADI_E_INVALID, "radi_group_open: NULL argument");
    /* On a remote backend: the root's files, __group and __meta listed in one wave and
     * read in another; the marker or a details file proves a group. Without either, the
     * probing path below decides (and names what is there instead). */
    rdi_snap *snap = NULL;
    if (rdi_snap_wanted(ctx, uri)) {
        /* The root's files (the group marker), __group and __meta, listed at once. */
        static const char *const dirs[] = {"", GROUP_DIR, META_DIR};
        RDI_TRY(rdi_snap_open_dirs(ctx, uri, dirs, 3, &snap));
        int details = 0;
        for (size_t i = 0; i < snap->n && !details; i++)
            details = strncmp(snap->files[i].name, GROUP_DIR "/", sizeof GROUP_DIR) == 0 ||
                      strcmp(snap->files[i].name, GROUP_MARKER) == 0;
        if (!details) {
            rdi_snap_free(snap);
            snap = NULL;
        }
    }
    if (!snap) {
        radi_object_type t;
        RDI_TRY(radi_object_type_of(ctx, uri, &t));
        if (t != RADI_OBJECT_GROUP) return rdi_error(RADI_E_NOT_FOUND, "%s: not a group", uri);
    }
    radi_group *g = rdi_calloc(1, sizeof *g);
    if (!g) {
        rdi_snap_free(snap);
        return RADI_E_NOMEM;
    }
    g->ctx = ctx;
    radi_status s = RADI_OK;
    if (!(g->uri = rdi_uri_normalize(uri)) || !(g->abs_uri = rdi_absolute_uri(g->uri))) s = RADI_E_NOMEM;
    /* Groups have no open timestamps: every details and metadata file applies. */
    if (s == RADI_OK) s = load_details(g, snap);
    if (s == RADI_OK) s = rdi_meta_load_snap(ctx, snap, g->uri, 0, UINT64_MAX, ctx->config.format_version, &g->meta);
    rdi_snap_free(snap);
    if (s != RADI_OK) {
        radi_group_close(g);
        return s;
    }
    *out = g;
    return RADI_OK;
}

radi_meta *radi_group_meta(radi_group *g) { return g ? &g->meta : NULL; }

/* Builds a member (resolved, typed) as add and replace take it; member_free on failure. */
static radi_status make_member(radi_group *g, const char *member_uri, int relative, const char *name,
                               rdi_member *m)
{
    *m = (rdi_member){NULL, NULL, NULL, RADI_OBJECT_INVALID, relative != 0};
    if (!member_uri || !*member_uri)
        return rdi_error(RADI_E_INVALID, "%s: a member needs a non-empty URI", g->uri);
    if (name && !*name) return rdi_error(RADI_E_INVALID, "%s: a member name may not be empty", g->uri);
    if (relative && (member_uri[0] == '/' || strstr(member_uri, "://")))
        return rdi_error(RADI_E_INVALID, "%s: relative member '%s' is an absolute URI", g->uri, member_uri);
    m->uri = relative ? rdi_uri_normalize(member_uri) : rdi_absolute_uri(member_uri);
    m->name = name ? rdi_strdup(name) : NULL;
    radi_status s = !m->uri || (name && !m->name) ? RADI_E_NOMEM : RADI_OK;
    if (s == RADI_OK && !(m->resolved = resolve(g, m->uri, m->relative))) s = RADI_E_NOMEM;
    if (s == RADI_OK) s = radi_object_type_of(g->ctx, m->resolved, &m->type);
    if (s == RADI_OK && m->type == RADI_OBJECT_INVALID)
        s = rdi_error(RADI_E_NOT_FOUND, "%s: cannot add member %s: no array or group there", g->uri,
                      m->resolved);
    return s;
}

radi_status radi_group_add_member(radi_group *g, const char *member_uri, int relative,
                                  const char *name)
{
    return radi_group_add_members(g, 1, &member_uri, relative, name ? &name : NULL);
}

radi_status radi_group_add_members(radi_group *g, size_t n, const char *const *member_uris, int relative,
                                   const char *const *names)
{
    if (!g || (n && !member_uris)) return rdi_error(RADI_E_INVALID, "radi_group_add_members: NULL argument");
    if (n == 0) return RADI_OK;
    uint64_t n0 = g->n;
    rdi_member *grown = realloc(g->members, (size_t)(n0 + n) * sizeof *grown);
    if (!grown) return rdi_nomem();
    g->members = grown;
    radi_status s = RADI_OK;
    /* Appended in memory first (each checked against those before it), then one details
     * file lists them all; a failure drops them again, so nothing changed. */
    for (size_t i = 0; i < n && s == RADI_OK; i++) {
        rdi_member m;
        s = make_member(g, member_uris[i], relative, names ? names[i] : NULL, &m);
        if (s == RADI_OK && find_key(g, member_key(&m)) >= 0)
            s = rdi_error(RADI_E_EXISTS, "%s: a member named '%s' already exists", g->uri, member_key(&m));
        if (s != RADI_OK) {
            member_free(&m);
            break;
        }
        g->members[g->n++] = m;
    }
    if (s == RADI_OK) s = write_details(g, NULL, 0);
    if (s != RADI_OK)
        while (g->n > n0) member_free(&g->members[--g->n]);
    return s;
}

radi_status radi_group_replace_member(radi_group *g, const char *key, const char *member_uri, int relative,
                                      const char *name)
{
    if (!g || !key) return rdi_error(RADI_E_INVALID, "radi_group_replace_member: NULL argument");
    int64_t at = find_key(g, key);
    if (at < 0) return rdi_error(RADI_E_NOT_FOUND, "%s: no member '%s'", g->uri, key);
    rdi_member m;
    radi_status s = make_member(g, member_uri, relative, name, &m);
    int same_key = s == RADI_OK && strcmp(member_key(&m), key) == 0;
    if (s == RADI_OK && !same_key && find_key(g, member_key(&m)) >= 0)
        s = rdi_error(RADI_E_EXISTS, "%s: a member named '%s' already exists", g->uri, member_key(&m));
    if (s != RADI_OK) {
        member_free(&m);
        return s;
    }
    /* One details file: the others, the new member, and (for a new key) the old one
     * flagged deleted, so readers never see both or neither. */
    rdi_member old = g->members[at];
    g->members[at] = m;
    s = same_key ? write_details(g, NULL, 0) : write_details(g, &old, 1);
    if (s != RADI_OK) {
        g->members[at] = old;
        member_free(&m);
        return s;
    }
    member_free(&old);
    return RADI_OK;
}

radi_status rdi_group_relativize(radi_group *g, uint64_t *changed)
{
    uint64_t n = 0;
    rdi_member *old = NULL;
    radi_status s = g->n ? ((old = rdi_calloc((size_t)g->n, sizeof *old)) ? RADI_OK : RADI_E_NOMEM) : RADI_OK;
    /* Each absolute named member whose object is at <group>/<name> becomes "name";
     * the replaced entries are kept to restore on failure. */
    for (uint64_t i = 0; i < g->n && s == RADI_OK; i++) {
        rdi_member *m = &g->members[i];
        if (m->relative || !m->name || strchr(m->name, '/')) continue;
        rdi_member r;
        if (make_member(g, m->name, 1, m->name, &r) != RADI_OK) {
            member_free(&r);
            rdi_error_clear();
            continue;
        }
        old[i] = *m;
        *m = r;
        n++;
    }
    if (s == RADI_OK && n) s = write_details(g, NULL, 0);
    for (uint64_t i = 0; old && i < g->n; i++) {
        if (!old[i].uri) continue;
        if (s != RADI_OK) {
            member_free(&g->members[i]);
            g->members[i] = old[i];
        } else {
            member_free(&old[i]);
        }
    }
    free(old);
    if (s == RADI_OK && changed) *changed = n;
    return s;
}

radi_status radi_group_remove_member(radi_group *g, const char *key)
{
    if (!g || !key) return rdi_error(RADI_E_INVALID, "radi_group_remove_member: NULL argument");
    int64_t at = find_key(g, key);
    /* As TileDB: a named member may also be removed by its URI. */
    for (uint64_t i = 0; at < 0 && i < g->n; i++)
        if (strcmp(g->members[i].uri, key) == 0 || strcmp(g->members[i].resolved, key) == 0)
            at = (int64_t)i;
    if (at < 0) return rdi_error(RADI_E_NOT_FOUND, "%s: no member '%s'", g->uri, key);
    /* The file lists the others, then the removed one flagged deleted. */
    rdi_member gone = g->members[at];
    memmove(&g->members[at], &g->members[at + 1], (size_t)(g->n - (uint64_t)at - 1) * sizeof *g->members);
    g->n--;
    radi_status s = write_details(g, &gone, 1);
    if (s != RADI_OK) {
        /* Put it back where it was: nothing changed on storage. */
        memmove(&g->members[at + 1], &g->members[at], (size_t)(g->n - (uint64_t)at) * sizeof *g->members);
        g->members[at] = gone;
        g->n++;
        return s;
    }
    member_free(&gone);
    return RADI_OK;
}

uint64_t radi_group_member_count(const radi_group *g) { return g ? g->n : 0; }

radi_status radi_group_member_at(const radi_group *g, uint64_t i, radi_group_member *out)
{
    if (!g || !out) return rdi_error(RADI_E_INVALID, "radi_group_member_at: NULL argument");
    if (i >= g->n)
        return rdi_error(RADI_E_NOT_FOUND, "%s: member index %llu out of %llu", g->uri,
                         (unsigned long long)i, (unsigned long long)g->n);
    const rdi_member *m = &g->members[i];
    out->name = m->name;
    out->uri = m->uri;
    out->resolved_uri = m->resolved;
    out->type = m->type;
    out->relative = m->relative;
    return RADI_OK;
}
