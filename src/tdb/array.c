/*
 * Array create/open/close and fragment visibility (docs/format.md §1, §2, §9). Opening lists __schema and __commits, decides which fragments the time range
 * shows exactly as TileDB 2.30 does, then loads their footers once.
 */
#include <stdlib.h>

#include "tdb/tdb.h"
#include "tdb/prefetch.h"


/* TileDB applies "any overlap" visibility to sparse fragments only from this version. */
#define SPARSE_OVERLAP_MIN_VERSION 15

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && memcmp(s + n - m, suf, m) == 0;
}

/* --------------------------------------------------------------------- create -- */

radi_status radi_array_create(radi_ctx *ctx, const char *uri, const radi_schema *schema)
{
    if (!ctx || !uri || !schema) return rdi_error(RADI_E_INVALID, "radi_array_create: NULL argument");
    RDI_TRY(rdi_schema_validate(schema));
    char *root = rdi_uri_normalize(uri);
    if (!root) return RADI_E_NOMEM;
    radi_status s = RADI_OK;
    rdi_buf payload = RDI_BUF_INIT, tile = RDI_BUF_INIT;
    rdi_scratch *scratch = NULL;
    char *name = NULL, *file = NULL;
    int kind = 0;
    rdi_dirlist ls = {NULL, 0};

    /* An empty directory counts as nothing (object stores have no directories). */
    if ((s = rdi_vfs_kind(ctx->vfs, root, &kind))) goto out;
    if (kind == 2 && (s = rdi_vfs_ls(ctx->vfs, root, &ls))) goto out;
    if (kind == 1 || ls.n > 0) {
        s = rdi_error(RADI_E_EXISTS, "%s: cannot create an array: something already exists there", root);
        goto out;
    }
    uint32_t version = ctx->config.format_version;
    if ((s = rdi_schema_serialize(schema, version, &payload))) goto out;
    if ((s = rdi_scratch_create(&scratch))) goto out;
    if ((s = rdi_generic_tile_encode(payload.data, payload.len, version, scratch, &tile))) goto out;
    /* The directories TileDB's Array::create makes (empty ones may go missing later). */
    static const char *const dirs[] = {SCHEMA_DIR "/__enumerations", COMMITS_DIR, FRAGMENTS_DIR,
                                       FRAG_META_DIR, META_DIR, LABELS_DIR};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs && s == RADI_OK; i++) {
        char *d = rdi_path_join(root, dirs[i]);
        s = d ? rdi_vfs_mkdir(ctx->vfs, d) : RADI_E_NOMEM;
        free(d);
    }
    if (s) {
        rdi_uncreate(ctx, root, kind == 0, dirs, sizeof dirs / sizeof *dirs);
        goto out;
    }
    uint64_t now = rdi_now_ms();
    if ((s = rdi_tsname_make(now, now, 0, &name))) goto out;
    if (!(file = rdi_asprintf("%s/" SCHEMA_DIR "/%s", root, name))) { s = RADI_E_NOMEM; goto out; }
    s = rdi_vfs_write(ctx->vfs, file, tile.data, tile.len);
    if (s != RADI_OK) rdi_uncreate(ctx, root, kind == 0, dirs, sizeof dirs / sizeof *dirs);
out:
    rdi_dirlist_free(&ls);
    rdi_scratch_free(scratch);
    rdi_buf_free(&payload);
    rdi_buf_free(&tile);
    free(name);
    free(file);
    free(root);
    return s;
}

/* -------------------------------------------------------------------- schemas -- */

/* Oldest first: by t1 (parsed, so digit counts do not matter), then by name. */
static int cmp_schema(const void *x, const void *y)
{
    const radi_schema *a = *(radi_schema *const *)x, *b = *(radi_schema *const *)y;
    rdi_tsname ta, tb;
    if (rdi_tsname_parse(a->name, &ta) == RADI_OK && rdi_tsname_parse(b->name, &tb) == RADI_OK &&
        ta.t1 != tb.t1)
        return ta.t1 < tb.t1 ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* Loads every schema in __schema/ (skipping the __enumerations directory) and picks the
 * one in force at t_end: the newest whose t2 <= t_end, else the oldest (format.md §2). */
static radi_status load_schemas(radi_array *a, rdi_scratch *scratch)
{
    char *dir = rdi_path_join(a->uri, SCHEMA_DIR);
    if (!dir) return RADI_E_NOMEM;
    rdi_dirlist ls = {NULL, 0};
    rdi_buf payload = RDI_BUF_INIT;
    radi_status s = rdi_snap_ls(a->snap, a->ctx->vfs, dir, &ls);
    if (s == RADI_OK && !(a->schemas = rdi_calloc(ls.n ? ls.n : 1, sizeof *a->schemas))) s = RADI_E_NOMEM;
    for (size_t i = 0; i < ls.n && s == RADI_OK; i++) {
        if (ls.items[i].is_dir || strncmp(ls.items[i].name, "__", 2) != 0) continue;
        char *file = rdi_path_join(dir, ls.items[i].name);
        if (!file) { s = RADI_E_NOMEM; break; }
        rdi_tsname tn;
        radi_schema *sc = NULL;
        s = rdi_tsname_parse(ls.items[i].name, &tn);
        if (s) rdi_error_wrap(s, "%s", file);
        if (s == RADI_OK) s = rdi_generic_tile_read_snap(a->ctx->vfs, a->snap, file, 0, scratch, &payload);
        if (s == RADI_OK) s = rdi_schema_deserialize(payload.data, payload.len, file, &sc);
        if (s == RADI_OK && !(sc->name = rdi_strdup(ls.items[i].name))) s = RADI_E_NOMEM;
        if (sc) a->schemas[a->nschemas++] = sc;
        free(file);
    }
    if (s == RADI_OK && a->nschemas == 0)
        s = rdi_error(RADI_E_CORRUPT, "%s: no array schema found", dir);
    if (s == RADI_OK) {
        qsort(a->schemas, a->nschemas, sizeof *a->schemas, cmp_schema);
        a->schema = a->schemas[0];
        for (uint32_t i = 0; i < a->nschemas; i++) {
            rdi_tsname tn;
            if (rdi_tsname_parse(a->schemas[i]->name, &tn) == RADI_OK && tn.t2 <= a->t_end)
                a->schema = a->schemas[i];
        }
    }
    rdi_buf_free(&payload);
    rdi_dirlist_free(&ls);
    free(dir);
    return s;
}

/* ------------------------------------------------------------------ fragments -- */

typedef struct frag_ref {
    char *name;
    rdi_tsname ts;
} frag_ref;

typedef struct frag_set {
    frag_ref *items;
    size_t n, cap;
} frag_set;

static void frag_set_free(frag_set *fs)
{
    for (size_t i = 0; i < fs->n; i++) free(fs->items[i].name);
    free(fs->items);
    memset(fs, 0, sizeof *fs);
}

/* Adds fragment `name` (n bytes; duplicates are removed later by frag_set_dedupe);
 * `what` names the source in errors. */
static radi_status frag_set_add(frag_set *fs, const char *name, size_t n, const char *what)
{
    char *copy = rdi_strndup(name, n);
    if (!copy) return RADI_E_NOMEM;
    rdi_tsname ts;
    radi_status s = rdi_tsname_parse(copy, &ts);
    if (s) {
        free(copy);
        return rdi_error_wrap(s, "%s", what);
    }
    if (fs->n == fs->cap) {
        size_t cap = fs->cap ? 2 * fs->cap : 16;
        frag_ref *it = realloc(fs->items, cap * sizeof *it);
        if (!it) {
            free(copy);
            return rdi_nomem();
        }
        fs->items = it;
        fs->cap = cap;
    }
    fs->items[fs->n].name = copy;
    fs->items[fs->n].ts = ts;
    fs->n++;
    return RADI_OK;
}

/* Iterates the '\n'-separated lines of a text file (the last may lack the newline). */
static int next_line(const char **p, const char *end, const char **line, size_t *len)
{
    if (*p >= end) return 0;
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    const char *stop = nl ? nl : end;
    *line = *p;
    *len = (size_t)(stop - *p);
    *p = nl ? nl + 1 : end;
    return 1;
}

static int cmp_frag_name(const void *x, const void *y)
{
    return strcmp(((const frag_ref *)x)->name, ((const frag_ref *)y)->name);
}

/* Sorts by name and drops repeats (a fragment can be named by a .con and a .wrt). */
static void frag_set_dedupe(frag_set *fs)
{
    if (fs->n < 2) return;
    qsort(fs->items, fs->n, sizeof *fs->items, cmp_frag_name);
    size_t k = 1;
    for (size_t i = 1; i < fs->n; i++) {
        if (strcmp(fs->items[i].name, fs->items[k - 1].name) == 0) free(fs->items[i].name);
        else fs->items[k++] = fs->items[i];
    }
    fs->n = k;
}

int rdi_vac_target(const char *line, size_t len, const char *dir, const char **name, size_t *nlen)
{
    size_t dl = strlen(dir);
    for (size_t i = 0; i + dl + 1 <= len; i++) {
        if (memcmp(line + i, dir, dl) != 0 || line[i + dl] != '/' || (i > 0 && line[i - 1] != '/'))
            continue;
        const char *p = line + i + dl + 1, *end = line + len;
        while (end > p && (end[-1] == '/' || end[-1] == '\r')) end--;
        if (end == p || memchr(p, '/', (size_t)(end - p))) continue;
        *name = p;
        *nlen = (size_t)(end - p);
        return 1;
    }
    return 0;
}

static int range_visible(const radi_array *a, uint64_t t1, uint64_t t2, int any_overlap)
{
    return any_overlap ? (t1 <= a->t_end && t2 >= a->t_start) : (t1 >= a->t_start && t2 <= a->t_end);
}

static int cmp_frag_ref(const void *x, const void *y)
{
    const frag_ref *a = x, *b = y;
    if (a->ts.t1 != b->ts.t1) return a->ts.t1 < b->ts.t1 ? -1 : 1;
    return strcmp(a->name, b->name);
}

typedef struct listing {
    frag_set frags;             /* committed fragments (.wrt and .con) */
    rdi_strlist vac;            /* .vac file names in __commits */
} listing;

/* Reads __commits: consolidated commits minus ignored entries, plus .wrt markers. */
static radi_status list_commits(radi_array *a, const char *commits, listing *L)
{
    rdi_dirlist ls = {NULL, 0};
    rdi_strlist ignored = RDI_STRLIST_INIT;
    rdi_buf text = RDI_BUF_INIT;
    char *file = NULL;
    radi_status s = rdi_snap_ls(a->snap, a->ctx->vfs, commits, &ls);
    /* Pass 1: refusals and the ignore set, which the .con files need. */
    for (size_t i = 0; i < ls.n && s == RADI_OK; i++) {
        const char *n = ls.items[i].name;
        if (ls.items[i].is_dir) continue;
        if (has_suffix(n, ".del") || has_suffix(n, ".upd")) {
            s = rdi_error(RADI_E_UNSUPPORTED, "%s/%s: arrays with delete or update commits are not supported",
                          commits, n);
        } else if (has_suffix(n, ".ign")) {
            if (!(file = rdi_path_join(commits, n))) { s = RADI_E_NOMEM; break; }
            s = rdi_snap_read_all(a->snap, a->ctx->vfs, file, &text);
            /* An empty file reads as no buffer at all. */
            const char *p = text.data ? (const char *)text.data : "", *end = p + text.len, *line;
            size_t len;
            while (s == RADI_OK && next_line(&p, end, &line, &len)) {
                char *l = len ? rdi_strndup(line, len) : NULL;
                if (len && (!l || rdi_strlist_push_owned(&ignored, l))) s = RADI_E_NOMEM;
            }
            rdi_buf_free(&text);
            free(file);
            file = NULL;
        }
    }
    rdi_strlist_sort(&ignored);
    /* Pass 2: consolidated commit files. */
    for (size_t i = 0; i < ls.n && s == RADI_OK; i++) {
        const char *n = ls.items[i].name;
        if (ls.items[i].is_dir || !has_suffix(n, ".con")) continue;
        if (!(file = rdi_path_join(commits, n))) { s = RADI_E_NOMEM; break; }
        s = rdi_snap_read_all(a->snap, a->ctx->vfs, file, &text);
        /* An empty file reads as no buffer at all. */
        const char *p = text.data ? (const char *)text.data : "", *end = p + text.len, *line;
        size_t len;
        while (s == RADI_OK && next_line(&p, end, &line, &len)) {
            if (len == 0 || rdi_strlist_has_sorted(&ignored, line, len)) continue;
            size_t bl;
            char *l = rdi_strndup(line, len);
            if (!l) { s = RADI_E_NOMEM; break; }
            const char *base = rdi_path_basename(l, &bl);
            if (has_suffix(l, ".del") || has_suffix(l, ".upd"))
                s = rdi_error(RADI_E_UNSUPPORTED, "%s: arrays with delete or update commits are not supported",
                              file);
            else if (has_suffix(l, ".wrt") && bl > 4)
                s = frag_set_add(&L->frags, base, bl - 4, file);
            free(l);
        }
        rdi_buf_free(&text);
        free(file);
        file = NULL;
    }
    /* Pass 3: individual commit markers and vacuum lists. */
    for (size_t i = 0; i < ls.n && s == RADI_OK; i++) {
        const char *n = ls.items[i].name;
        if (ls.items[i].is_dir) continue;
        if (has_suffix(n, ".wrt")) {
            char *what = rdi_path_join(commits, n);
            s = what ? frag_set_add(&L->frags, n, strlen(n) - 4, what) : RADI_E_NOMEM;
            free(what);
        } else if (has_suffix(n, ".vac")) {
            s = rdi_strlist_push(&L->vac, n);
        }
    }
    frag_set_dedupe(&L->frags);
    rdi_strlist_free(&ignored);
    rdi_dirlist_free(&ls);
    return s;
}

/* Applies the .vac files that the open range shows: the fragments they list are hidden. */
static radi_status apply_vac(radi_array *a, const char *commits, listing *L, int sparse,
                             rdi_strlist *hidden)
{
    radi_status s = RADI_OK;
    rdi_buf text = RDI_BUF_INIT;
    for (size_t i = 0; i < L->vac.n && s == RADI_OK; i++) {
        const char *n = L->vac.items[i];
        char *file = rdi_path_join(commits, n);
        char *stem = rdi_strndup(n, strlen(n) - 4);
        rdi_tsname tn = {0, 0, {0}, 0};
        if (!file || !stem) s = RADI_E_NOMEM;
        else if ((s = rdi_tsname_parse(stem, &tn))) rdi_error_wrap(s, "%s", file);
        int any = sparse && tn.version >= SPARSE_OVERLAP_MIN_VERSION;
        if (s == RADI_OK && range_visible(a, tn.t1, tn.t2, any)) {
            s = rdi_snap_read_all(a->snap, a->ctx->vfs, file, &text);
            /* An empty file reads as no buffer at all. */
            const char *p = text.data ? (const char *)text.data : "", *end = p + text.len, *line, *target;
            size_t len, tl;
            while (s == RADI_OK && next_line(&p, end, &line, &len)) {
                if (!rdi_vac_target(line, len, FRAGMENTS_DIR, &target, &tl)) continue;
                char *t = rdi_strndup(target, tl);
                if (!t || rdi_strlist_push_owned(hidden, t)) s = RADI_E_NOMEM;
            }
            rdi_buf_free(&text);
        }
        free(file);
        free(stem);
    }
    return s;
}

/* The root holds `<name>.ok` commit markers only in the v5..v11 layout. */
static radi_status refuse_legacy_root(radi_array *a)
{
    rdi_dirlist ls = {NULL, 0};
    RDI_TRY(rdi_snap_ls(a->snap, a->ctx->vfs, a->uri, &ls));
    radi_status s = RADI_OK;
    for (size_t i = 0; i < ls.n; i++) {
        if (!ls.items[i].is_dir && has_suffix(ls.items[i].name, ".ok")) {
            s = rdi_error(RADI_E_UNSUPPORTED, "%s: fragments in the pre-v12 layout (%s) are not supported",
                          a->uri, ls.items[i].name);
            break;
        }
    }
    rdi_dirlist_free(&ls);
    return s;
}

static void free_frags(radi_array *a)
{
    for (uint32_t i = 0; i < a->nfrags; i++) rdi_fragmeta_free(a->frags[i]);
    free(a->frags);
    a->frags = NULL;
    a->nfrags = 0;
}

static radi_status load_fragments(radi_array *a)
{
    char *commits = rdi_path_join(a->uri, COMMITS_DIR);
    char *fmdir = rdi_path_join(a->uri, FRAG_META_DIR);
    listing L;
    memset(&L, 0, sizeof L);
    rdi_strlist hidden = RDI_STRLIST_INIT, names = RDI_STRLIST_INIT, metas = RDI_STRLIST_INIT;
    rdi_dirlist fm = {NULL, 0};
    rdi_fragmeta **frags = NULL;
    radi_status s = (commits && fmdir) ? refuse_legacy_root(a) : RADI_E_NOMEM;
    if (s == RADI_OK) s = list_commits(a, commits, &L);
    if (s == RADI_OK) {
        /* New fragments must sort after every committed one, visible or not; a
         * consolidated fragment spans [t1, t2], so its t2 counts. */
        uint64_t last = 0;
        for (size_t i = 0; i < L.frags.n; i++) last = RDI_MAX(last, L.frags.items[i].ts.t2);
        a->last_t1 = last;
        /* "Now" covers every commit: radi stamps writes max(now, last + 1), which can run a
         * few milliseconds ahead of the clock, and those must not vanish from a reopen. */
        if (a->t_end_is_now) a->t_end = RDI_MAX(rdi_now_ms(), RDI_MAX(a->t_end, last));
    }
    int sparse = a->schema->type == RADI_SPARSE;
    if (s == RADI_OK) s = apply_vac(a, commits, &L, sparse, &hidden);
    if (s == RADI_OK) {
        rdi_strlist_sort(&hidden);
        if (L.frags.n > 1) qsort(L.frags.items, L.frags.n, sizeof *L.frags.items, cmp_frag_ref);
        for (size_t i = 0; i < L.frags.n && s == RADI_OK; i++) {
            const frag_ref *f = &L.frags.items[i];
            int any = sparse && f->ts.version >= SPARSE_OVERLAP_MIN_VERSION;
            if (!range_visible(a, f->ts.t1, f->ts.t2, any)) continue;
            if (rdi_strlist_has_sorted(&hidden, f->name, strlen(f->name))) continue;
            s = rdi_strlist_push(&names, f->name);
        }
    }
    if (s == RADI_OK) s = rdi_snap_ls(a->snap, a->ctx->vfs, fmdir, &fm);
    for (size_t i = 0; i < fm.n && s == RADI_OK; i++)
        if (!fm.items[i].is_dir && has_suffix(fm.items[i].name, ".meta"))
            s = rdi_strlist_push(&metas, fm.items[i].name);
    if (s == RADI_OK && names.n > UINT32_MAX) s = rdi_error(RADI_E_UNSUPPORTED, "%s: too many fragments", a->uri);
    if (s == RADI_OK && names.n > 0)
        s = rdi_fragmeta_load_all(a->ctx, a->snap, a->uri, &names, &metas, a->schemas, a->nschemas, &frags);
    if (s == RADI_OK) {
        free_frags(a);
        atomic_store_explicit(&a->index_complete, 0, memory_order_relaxed);
        a->frags = frags;
        a->nfrags = (uint32_t)names.n;
        /* Fragment sizes for info, from the listing (no per-fragment listing later). */
        for (uint32_t i = 0; a->snap && i < a->nfrags; i++)
            a->frags[i]->total_size = rdi_snap_dir_bytes(a->snap, a->frags[i]->uri);
    }
    rdi_dirlist_free(&fm);
    rdi_strlist_free(&metas);
    rdi_strlist_free(&names);
    rdi_strlist_free(&hidden);
    rdi_strlist_free(&L.vac);
    frag_set_free(&L.frags);
    free(commits);
    free(fmdir);
    return s;
}

/* Takes a fresh snapshot of the prefix (its listing is stale after a write), then
 * reloads the fragments through it. */
radi_status rdi_array_reload_fragments(radi_array *a)
{
    if (a->snap) {
        rdi_snap *fresh = NULL;
        RDI_TRY(rdi_snap_open(a->ctx, a->uri, &fresh));
        rdi_snap_free(a->snap);
        a->snap = fresh;
    }
    return load_fragments(a);
}

/* ----------------------------------------------------------------- open/close -- */

/* What is at uri (0 nothing, 1 file, 2 directory): from the snapshot when the open took
 * one (a directory there is a prefix with files below it, as on an object store). */
static radi_status snap_kind(radi_array *a, const char *uri, int *kind)
{
    if (!a->snap) return rdi_vfs_kind(a->ctx->vfs, uri, kind);
    if (rdi_snap_find(a->snap, uri)) {
        *kind = 1;
        return RADI_OK;
    }
    rdi_dirlist l = {NULL, 0};
    RDI_TRY(rdi_snap_ls(a->snap, a->ctx->vfs, uri, &l));
    *kind = l.n ? 2 : 0;
    rdi_dirlist_free(&l);
    return RADI_OK;
}

void radi_array_close(radi_array *a)
{
    if (!a) return;
    free_frags(a);
    for (uint32_t i = 0; i < a->nschemas; i++) radi_schema_free(a->schemas[i]);
    free(a->schemas);
    rdi_meta_clear(&a->meta);
    rdi_snap_free(a->snap);
    pthread_mutex_destroy(&a->lock);
    free(a->uri);
    free(a);
}

radi_status radi_array_open(radi_ctx *ctx, const char *uri, uint64_t timestamp_start,
                            uint64_t timestamp_end, radi_array **out)
{
    if (!ctx || !uri || !out) return rdi_error(RADI_E_INVALID, "radi_array_open: NULL argument");
    RDI_TRY(rdi_ctx_check(ctx));
    uint64_t t_end = timestamp_end ? timestamp_end : rdi_now_ms();
    if (timestamp_start > t_end)
        return rdi_error(RADI_E_INVALID, "%s: open range [%llu, %llu] is empty", uri,
                         (unsigned long long)timestamp_start, (unsigned long long)t_end);
    radi_array *a = rdi_calloc(1, sizeof *a);
    if (!a) return RADI_E_NOMEM;
    if (pthread_mutex_init(&a->lock, NULL) != 0) {
        free(a);
        return rdi_error(RADI_E_INTERNAL, "%s: cannot create a mutex", uri);
    }
    atomic_init(&a->index_complete, 0);
    a->ctx = ctx;
    a->t_start = timestamp_start;
    a->t_end = t_end;
    a->t_end_is_now = timestamp_end == 0;
    radi_status s = (a->uri = rdi_uri_normalize(uri)) ? RADI_OK : RADI_E_NOMEM;
    char *probe = NULL;
    int kind = 0;
    rdi_scratch *scratch = NULL;
    /* One listing and one wave of reads bring everything below (prefetch.h). A listing
     * that fails because the URI names a file leaves the probes below to say so. */
    if (s == RADI_OK && rdi_snap_wanted(ctx, a->uri)) {
        s = rdi_snap_open(ctx, a->uri, &a->snap);
        int k = 0;
        if (s != RADI_OK && s != RADI_E_NOMEM && rdi_vfs_kind(ctx->vfs, a->uri, &k) == RADI_OK && k == 1) {
            rdi_error_clear();
            s = RADI_OK;
        }
    }
    if (s == RADI_OK && !(probe = rdi_path_join(a->uri, SCHEMA_DIR))) s = RADI_E_NOMEM;
    if (s == RADI_OK) s = snap_kind(a, probe, &kind);
    /* Only a POSIX directory can be there and empty: ask storage before refusing. */
    if (s == RADI_OK && kind != 2 && a->snap) s = rdi_vfs_kind(ctx->vfs, probe, &kind);
    if (s == RADI_OK && kind != 2) {
        free(probe);
        probe = rdi_path_join(a->uri, "__array_schema.tdb");
        if (!probe) s = RADI_E_NOMEM;
        else if ((s = snap_kind(a, probe, &kind)) == RADI_OK)
            s = kind ? rdi_error(RADI_E_UNSUPPORTED, "%s: array format before version 10 is not supported", a->uri)
                     : rdi_error(RADI_E_NOT_FOUND, "%s: not an array (no %s directory)", a->uri, SCHEMA_DIR);
    }
    free(probe);
    if (s == RADI_OK) s = rdi_scratch_create(&scratch);
    if (s == RADI_OK) s = load_schemas(a, scratch);
    rdi_scratch_free(scratch);
    if (s == RADI_OK) s = load_fragments(a);
    /* Metadata files get the same "now covers every commit" reading as fragments. */
    uint32_t meta_version = a->schema && a->schema->version >= 20 ? a->schema->version
                                                                  : ctx->config.format_version;
    if (s == RADI_OK)
        s = rdi_meta_load_snap(ctx, a->snap, a->uri, a->t_start, a->t_end_is_now ? UINT64_MAX : a->t_end,
                               meta_version, &a->meta);
    if (s != RADI_OK) {
        radi_array_close(a);
        return s;
    }
    *out = a;
    return RADI_OK;
}

const radi_schema *radi_array_schema(const radi_array *a) { return a ? a->schema : NULL; }
const char *radi_array_uri(const radi_array *a) { return a ? a->uri : NULL; }
radi_meta *radi_array_meta(radi_array *a) { return a ? &a->meta : NULL; }
