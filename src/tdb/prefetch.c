/*
 * The prefix snapshot (see prefetch.h): what an array open reads, in two round trips.
 *
 * Selection of the fetch wave, from the listing alone (nothing is known of the commits
 * yet, so the choice must not depend on their content):
 *   - every schema file directly in __schema/ (docs/format.md §5);
 *   - every file in __commits/ that has content: .con, .ign and .vac lists (§9, §10.2);
 *     .wrt markers are empty and are answered from the listing;
 *   - consolidated fragment metadata, the .meta files in __fragment_meta (§10.4);
 *   - array metadata, every file in __meta (§11, §10.5), and a group's details files,
 *     every file in __group (group opens snapshot only __group and __meta);
 *   - __fragment_metadata.tdb of every committed fragment (a .wrt in __commits, or every
 *     fragment when a .con exists), whole: the footer, and the tile offsets the first read
 *     needs, come in one request (§8.1). A file over WHOLE_MAX, or beyond TOTAL_MAX, is
 *     fetched as its last TAIL bytes, which hold the footer; its tile offsets are then
 *     read on first use.
 * Anything not fetched is read from storage when asked for, so the selection affects only
 * the number of round trips, never the result.
 */
#include <stdlib.h>

#include "core/pool.h"
#include "tdb/prefetch.h"

#define WHOLE_MAX ((uint64_t)1 << 20)    /* files fetched whole up to this size */
#define TOTAL_MAX ((uint64_t)64 << 20)   /* bytes fetched whole per snapshot */
#define TAIL ((uint64_t)64 * 1024)       /* footer region of larger fragment metadata */

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && memcmp(s + n - m, suf, m) == 0;
}

void rdi_snap_free(rdi_snap *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->files[i].name);
        free(s->files[i].data);
    }
    free(s->files);
    free(s->root);
    free(s);
}

/*
 * Only remote backends take a snapshot. Measured on the POSIX backend (bench: a
 * 240×240×155 volume with 8 fragments, and one with 201; medians of repeated opens), the
 * snapshot made local opens slower: 0.12 -> 0.19 ms and 1.2-2.0 -> 3.0-6.3 ms. The recursive
 * listing is emulated by walking every fragment directory with a stat per file (twice the
 * stats and seven times the getdents of today's per-directory listings plus one size and
 * one tail read per fragment), and a page-cache read costs microseconds, not a round trip.
 * Locally the open keeps today's path (every snapshot call falls through to the VFS);
 * test_remote_open runs the snapshot path against the local one, byte for byte.
 */
int rdi_snap_wanted(radi_ctx *ctx, const char *uri)
{
    return (rdi_vfs_flags(ctx->vfs, uri) & RDI_VFS_REMOTE) != 0;
}

/* The name relative to the root, or NULL when uri is not below it. */
static const char *rel_name(const rdi_snap *s, const char *uri)
{
    if (!s || strncmp(uri, s->root, s->root_len) != 0) return NULL;
    if (uri[s->root_len] == '\0') return "";
    if (uri[s->root_len] != '/') return NULL;
    return uri + s->root_len + 1;
}

static const rdi_snap_file *find_rel(const rdi_snap *s, const char *rel)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->files[mid].name, rel);
        if (c == 0) return &s->files[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

const rdi_snap_file *rdi_snap_find(const rdi_snap *s, const char *uri)
{
    const char *rel = rel_name(s, uri);
    return rel && *rel ? find_rel(s, rel) : NULL;
}

/* The first entry whose name starts with prefix (sorted order), or s->n. */
static size_t lower_bound(const rdi_snap *s, const char *prefix)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(s->files[mid].name, prefix) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static int cmp_dirent(const void *a, const void *b)
{
    return strcmp(((const rdi_dirent *)a)->name, ((const rdi_dirent *)b)->name);
}

radi_status rdi_snap_ls(const rdi_snap *s, rdi_vfs *vfs, const char *dir, rdi_dirlist *out)
{
    const char *rel = rel_name(s, dir);
    if (!rel) return rdi_vfs_ls(vfs, dir, out);
    char *prefix = *rel ? rdi_asprintf("%s/", rel) : rdi_strdup("");
    if (!prefix) return RADI_E_NOMEM;
    size_t pl = strlen(prefix), cap = 0;
    rdi_dirlist l = {NULL, 0};
    radi_status st = RADI_OK;
    for (size_t i = lower_bound(s, prefix); i < s->n && st == RADI_OK; i++) {
        const char *name = s->files[i].name;
        if (strncmp(name, prefix, pl) != 0) break;
        const char *child = name + pl, *slash = strchr(child, '/');
        size_t cl = slash ? (size_t)(slash - child) : strlen(child);
        /* Files below one subdirectory are neighbours in sorted order: one entry. */
        if (slash && l.n && l.items[l.n - 1].is_dir && strlen(l.items[l.n - 1].name) == cl &&
            memcmp(l.items[l.n - 1].name, child, cl) == 0)
            continue;
        if (l.n == cap) {
            size_t nc = cap ? 2 * cap : 16;
            rdi_dirent *it = realloc(l.items, nc * sizeof *it);
            if (!it) { st = rdi_nomem(); break; }
            l.items = it;
            cap = nc;
        }
        rdi_dirent *e = &l.items[l.n];
        if (!(e->name = rdi_strndup(child, cl))) { st = RADI_E_NOMEM; break; }
        e->is_dir = slash != NULL;
        e->size = slash ? 0 : s->files[i].size;
        l.n++;
    }
    free(prefix);
    if (st != RADI_OK) {
        rdi_dirlist_free(&l);
        return st;
    }
    /* "a.x" sorts before "a/..." among full names but after "a" among children. */
    if (l.n > 1) qsort(l.items, l.n, sizeof *l.items, cmp_dirent);
    *out = l;
    return RADI_OK;
}

uint64_t rdi_snap_dir_bytes(const rdi_snap *s, const char *dir)
{
    const char *rel = rel_name(s, dir);
    if (!rel || !*rel) return 0;
    char *prefix = rdi_asprintf("%s/", rel);
    if (!prefix) return 0;
    size_t pl = strlen(prefix);
    uint64_t n = 0;
    for (size_t i = lower_bound(s, prefix); i < s->n && strncmp(s->files[i].name, prefix, pl) == 0; i++)
        n += s->files[i].size;
    free(prefix);
    return n;
}

radi_status rdi_snap_size(const rdi_snap *s, rdi_vfs *vfs, const char *uri, uint64_t *size)
{
    const char *rel = rel_name(s, uri);
    if (!rel || !*rel) return rdi_vfs_size(vfs, uri, size);
    const rdi_snap_file *f = find_rel(s, rel);
    if (!f) return rdi_error(RADI_E_NOT_FOUND, "%s: not found", uri);
    *size = f->size;
    return RADI_OK;
}

const uint8_t *rdi_snap_view(const rdi_snap *s, const char *uri, uint64_t off, uint64_t len)
{
    const rdi_snap_file *f = rdi_snap_find(s, uri);
    if (!f || off > f->size || len > f->size - off) return NULL;
    if (len == 0) return (const uint8_t *)"";
    if (!f->data || off < f->off || off + len > f->off + f->len) return NULL;
    return f->data + (off - f->off);
}

radi_status rdi_snap_read(const rdi_snap *s, rdi_vfs *vfs, const char *uri, uint64_t off, void *buf,
                          uint64_t len)
{
    const uint8_t *p = rdi_snap_view(s, uri, off, len);
    if (!p) return rdi_vfs_read(vfs, uri, off, buf, len);
    if (len) memcpy(buf, p, (size_t)len);
    return RADI_OK;
}

radi_status rdi_snap_read_all(const rdi_snap *s, rdi_vfs *vfs, const char *uri, rdi_buf *out)
{
    uint64_t size;
    RDI_TRY(rdi_snap_size(s, vfs, uri, &size));
    rdi_buf b = RDI_BUF_INIT;
    RDI_TRY(rdi_buf_resize(&b, (size_t)size));
    radi_status st = rdi_snap_read(s, vfs, uri, 0, b.data, size);
    if (st != RADI_OK) {
        rdi_buf_free(&b);
        return st;
    }
    *out = b;
    return RADI_OK;
}

/* ------------------------------------------------------------------ reading -- */

typedef struct ranges_job {
    rdi_vfs *vfs;
    rdi_vfs_range *r;
} ranges_job;

static radi_status range_task(void *arg, size_t i, unsigned w)
{
    RDI_UNUSED(w);
    ranges_job *j = arg;
    rdi_vfs_range *r = &j->r[i];
    r->status = rdi_vfs_read(j->vfs, r->uri, r->off, r->buf, r->len);
    return r->status;
}

radi_status rdi_read_ranges(radi_ctx *ctx, int remote, rdi_vfs_range *r, size_t n)
{
    if (n == 0) return RADI_OK;
    if (remote) return rdi_vfs_read_many(ctx->vfs, r, n);
    ranges_job j = {ctx->vfs, r};
    return rdi_pool_for(ctx->pool, n, range_task, &j);
}

/* ------------------------------------------------------------ range cache -- */

radi_status rdi_rcache_add(rdi_rcache *c, const char *uri, uint64_t off, uint64_t len)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        rdi_rcache_ent *e = realloc(c->e, cap * sizeof *e);
        if (!e) return rdi_nomem();
        c->e = e;
        c->cap = cap;
    }
    char *u = rdi_strdup(uri);
    if (!u) return RADI_E_NOMEM;
    c->e[c->n++] = (rdi_rcache_ent){u, off, len, NULL};
    c->bytes += len;
    return RADI_OK;
}

static int cmp_ent(const void *x, const void *y)
{
    const rdi_rcache_ent *a = x, *b = y;
    int k = strcmp(a->uri, b->uri);
    if (k) return k;
    if (a->off != b->off) return a->off < b->off ? -1 : 1;
    return a->len < b->len ? -1 : a->len > b->len;
}

radi_status rdi_rcache_fetch(radi_ctx *ctx, rdi_rcache *c)
{
    if (c->n == 0) return RADI_OK;
    qsort(c->e, c->n, sizeof *c->e, cmp_ent);
    size_t k = 1;
    c->bytes = c->e[0].len;
    for (size_t i = 1; i < c->n; i++) {
        if (cmp_ent(&c->e[i], &c->e[k - 1]) == 0) {
            free(c->e[i].uri);
            continue;
        }
        c->bytes += c->e[i].len;
        c->e[k++] = c->e[i];
    }
    c->n = k;
    rdi_vfs_range *r = rdi_malloc(c->n * sizeof *r);
    c->arena = rdi_malloc((size_t)(c->bytes ? c->bytes : 1));
    radi_status st = r && c->arena ? RADI_OK : RADI_E_NOMEM;
    uint64_t pos = 0;
    for (size_t i = 0; i < c->n && st == RADI_OK; i++) {
        r[i] = (rdi_vfs_range){c->e[i].uri, c->e[i].off, c->e[i].len, c->arena + pos, RADI_OK};
        pos += c->e[i].len;
    }
    if (st == RADI_OK) st = rdi_vfs_read_many(ctx->vfs, r, c->n);
    for (size_t i = 0; i < c->n && st == RADI_OK; i++) c->e[i].data = r[i].buf;
    free(r);
    return st;
}

const uint8_t *rdi_rcache_get(const rdi_rcache *c, const char *uri, uint64_t off, uint64_t len)
{
    if (!c || !c->arena) return NULL;
    rdi_rcache_ent key = {(char *)uri, off, len, NULL};
    const rdi_rcache_ent *e = bsearch(&key, c->e, c->n, sizeof *c->e, cmp_ent);
    return e ? e->data : NULL;
}

void rdi_rcache_free(rdi_rcache *c)
{
    for (size_t i = 0; i < c->n; i++) free(c->e[i].uri);
    free(c->e);
    free(c->arena);
    memset(c, 0, sizeof *c);
}

/* ---------------------------------------------------------------- selection -- */

/* Whether a fragment has a .wrt marker in the (sorted) listing. */
static int committed(const rdi_snap *s, const char *frag, size_t len)
{
    char *key = rdi_asprintf("__commits/%.*s.wrt", (int)len, frag);
    int yes = key && find_rel(s, key) != NULL;
    free(key);
    return yes;
}

/* 0 = leave, 1 = fetch whole within the caps, 2 = fragment metadata: whole within the caps,
 * else its tail (the footer is needed either way). */
static int wanted(const rdi_snap *s, const rdi_snap_file *f, int any_con)
{
    const char *n = f->name, *slash = strchr(n, '/');
    if (!slash || f->size == 0) return 0;
    size_t dl = (size_t)(slash - n);
    const char *rest = slash + 1;
    int flat = strchr(rest, '/') == NULL;
#define DIR_IS(d) (dl == sizeof(d) - 1 && memcmp(n, d, dl) == 0)
    if (DIR_IS("__schema") || DIR_IS("__commits") || DIR_IS("__meta") || DIR_IS("__group")) return flat;
    if (DIR_IS("__fragment_meta")) return flat && has_suffix(rest, ".meta");
    if (DIR_IS("__fragments")) {
        const char *fs = strchr(rest, '/');
        if (!fs || strcmp(fs + 1, "__fragment_metadata.tdb") != 0) return 0;
        return any_con || committed(s, rest, (size_t)(fs - rest)) ? 2 : 0;
    }
#undef DIR_IS
    return 0;
}

static radi_status fetch_wave(radi_ctx *ctx, rdi_snap *s)
{
    int any_con = 0;
    for (size_t i = lower_bound(s, "__commits/"); i < s->n && !strncmp(s->files[i].name, "__commits/", 10); i++)
        any_con |= has_suffix(s->files[i].name, ".con");
    rdi_vfs_range *r = rdi_malloc((s->n ? s->n : 1) * sizeof *r);
    size_t *which = rdi_malloc((s->n ? s->n : 1) * sizeof *which);
    radi_status st = r && which ? RADI_OK : RADI_E_NOMEM;
    size_t nr = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < s->n && st == RADI_OK; i++) {
        rdi_snap_file *f = &s->files[i];
        int w = wanted(s, f, any_con);
        if (!w) continue;
        uint64_t off = 0, len = f->size;
        if (len > WHOLE_MAX || total + len > TOTAL_MAX) {
            if (w != 2) continue;   /* read on demand */
            len = RDI_MIN(f->size, TAIL);
            off = f->size - len;
        }
        if (!(f->data = rdi_malloc((size_t)len))) { st = RADI_E_NOMEM; break; }
        f->off = off;
        f->len = len;
        total += len;
        r[nr] = (rdi_vfs_range){NULL, off, len, f->data, RADI_OK};
        which[nr++] = i;
    }
    /* URIs only now: the file array no longer moves. */
    char **uris = st == RADI_OK ? rdi_calloc(nr ? nr : 1, sizeof *uris) : NULL;
    if (st == RADI_OK && !uris) st = RADI_E_NOMEM;
    for (size_t k = 0; k < nr && st == RADI_OK; k++) {
        if (!(uris[k] = rdi_path_join(s->root, s->files[which[k]].name))) st = RADI_E_NOMEM;
        r[k].uri = uris[k];
    }
    /* A failure fails the open, as the reads it replaces would have. */
    if (st == RADI_OK) st = rdi_read_ranges(ctx, s->remote, r, nr);
    if (st != RADI_OK)
        for (size_t k = 0; k < nr; k++) {
            rdi_snap_file *f = &s->files[which[k]];
            free(f->data);
            f->data = NULL;
            f->len = 0;
            total = 0;
        }
    s->cached = total;
    for (size_t k = 0; uris && k < nr; k++) free(uris[k]);
    free(uris);
    free(which);
    free(r);
    return st;
}

radi_status rdi_snap_open(radi_ctx *ctx, const char *root, rdi_snap **out)
{
    rdi_snap *s = rdi_calloc(1, sizeof *s);
    if (!s) return RADI_E_NOMEM;
    rdi_dirlist l = {NULL, 0};
    radi_status st = (s->root = rdi_uri_normalize(root)) ? RADI_OK : RADI_E_NOMEM;
    if (st == RADI_OK) {
        s->root_len = strlen(s->root);
        s->remote = (rdi_vfs_flags(ctx->vfs, s->root) & RDI_VFS_REMOTE) != 0;
        st = rdi_vfs_ls_recursive(ctx->vfs, s->root, &l);
    }
    if (st == RADI_OK && l.n) {
        if (!(s->files = rdi_calloc(l.n, sizeof *s->files))) st = RADI_E_NOMEM;
        for (size_t i = 0; i < l.n && st == RADI_OK; i++) {
            s->files[i].name = l.items[i].name;   /* taken over */
            s->files[i].size = l.items[i].size;
            l.items[i].name = NULL;
            s->n++;
        }
    }
    rdi_dirlist_free(&l);
    if (st == RADI_OK) st = fetch_wave(ctx, s);
    if (st != RADI_OK) {
        rdi_snap_free(s);
        return st;
    }
    *out = s;
    return RADI_OK;
}

typedef struct dirs_job {
    radi_ctx *ctx;
    const char *root;
    const char *const *dirs;
    rdi_dirlist *ls;
} dirs_job;

static radi_status list_dir_task(void *arg, size_t i, unsigned worker)
{
    RDI_UNUSED(worker);
    dirs_job *j = arg;
    if (!*j->dirs[i]) {
        /* "": the root's own files (markers such as __tiledb_group.tdb), one level. */
        radi_status s = rdi_vfs_ls(j->ctx->vfs, j->root, &j->ls[i]);
        size_t w = 0;
        for (size_t k = 0; s == RADI_OK && k < j->ls[i].n; k++) {
            if (j->ls[i].items[k].is_dir) free(j->ls[i].items[k].name);
            else j->ls[i].items[w++] = j->ls[i].items[k];
        }
        if (s == RADI_OK) j->ls[i].n = w;
        return s;
    }
    char *d = rdi_path_join(j->root, j->dirs[i]);
    radi_status s = d ? rdi_vfs_ls_recursive(j->ctx->vfs, d, &j->ls[i]) : RADI_E_NOMEM;
    free(d);
    return s;
}

static int cmp_snap_file(const void *a, const void *b)
{
    return strcmp(((const rdi_snap_file *)a)->name, ((const rdi_snap_file *)b)->name);
}

radi_status rdi_snap_open_dirs(radi_ctx *ctx, const char *root, const char *const *dirs, size_t ndirs,
                               rdi_snap **out)
{
    rdi_snap *s = rdi_calloc(1, sizeof *s);
    rdi_dirlist *ls = rdi_calloc(ndirs ? ndirs : 1, sizeof *ls);
    radi_status st = s && ls ? RADI_OK : RADI_E_NOMEM;
    if (st == RADI_OK && !(s->root = rdi_uri_normalize(root))) st = RADI_E_NOMEM;
    if (st == RADI_OK) {
        s->root_len = strlen(s->root);
        s->remote = (rdi_vfs_flags(ctx->vfs, s->root) & RDI_VFS_REMOTE) != 0;
        /* The listings are independent: one wave. */
        dirs_job j = {ctx, s->root, dirs, ls};
        st = rdi_pool_for(ctx->pool, ndirs, list_dir_task, &j);
    }
    size_t total = 0;
    for (size_t d = 0; st == RADI_OK && d < ndirs; d++) total += ls[d].n;
    if (st == RADI_OK && total && !(s->files = rdi_calloc(total, sizeof *s->files))) st = RADI_E_NOMEM;
    for (size_t d = 0; st == RADI_OK && d < ndirs; d++)
        for (size_t i = 0; i < ls[d].n && st == RADI_OK; i++) {
            char *name = *dirs[d] ? rdi_asprintf("%s/%s", dirs[d], ls[d].items[i].name)
                                  : rdi_strdup(ls[d].items[i].name);
            if (!name) { st = RADI_E_NOMEM; break; }
            s->files[s->n].name = name;
            s->files[s->n].size = ls[d].items[i].size;
            s->n++;
        }
    for (size_t d = 0; ls && d < ndirs; d++) rdi_dirlist_free(&ls[d]);
    free(ls);
    if (st == RADI_OK && s->n > 1) qsort(s->files, s->n, sizeof *s->files, cmp_snap_file);
    if (st == RADI_OK) st = fetch_wave(ctx, s);
    if (st != RADI_OK) {
        rdi_snap_free(s);
        return st;
    }
    *out = s;
    return RADI_OK;
}
