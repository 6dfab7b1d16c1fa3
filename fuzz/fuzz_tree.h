/*
 * Shared by the fuzz targets whose parsers only take a URI (group details, metadata,
 * commit/ignore/vacuum files, sparse fragments): an in-memory rdi_vfs_ops backend, so no
 * target touches the filesystem, and a text container that describes a directory tree.
 *
 * Tree format (chosen so that text files such as .con/.ign/.vac stay readable and
 * mutable by libFuzzer, and so that make_corpus.py can dump real arrays into it):
 *   @<path>\n<content>        a file <root>/<path> holding <content> verbatim
 *   @=<path>\n<payload>       a file holding <payload> wrapped in a generic tile, so
 *                             mutations reach record parsers without going through GZIP
 *   @<path>/\n                an (empty) directory
 *   @#<n>:<path>\n<n bytes>   a file of exactly n bytes (decimal), which may contain
 *                             "\n@" (binary tiles do); the next section is searched
 *                             for from its end
 * Every section is the header line, the content, then one '\n' that is not part of the
 * content: sections are separated by "\n@" (so a file ending in '\n' is written as
 * "...\n\n@next"), and one '\n' ending the input is dropped. Bytes before the first
 * header are ignored. Header-only functions (static) so each target
 * compiles its own copy; all state lives in the memvfs instance the context owns.
 */
#ifndef RDI_FUZZ_TREE_H
#define RDI_FUZZ_TREE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "ctx/ctx.h"
#include "tdb/tdb.h"
#include "vfs/vfs.h"

#define FT_MAX_ENTRIES 256
#define FT_MAX_FILE (1u << 22)  /* keeps one input's memory small; writes beyond fail */

typedef struct ft_entry {
    char *path;      /* normalized: no scheme, no trailing '/' */
    uint8_t *data;
    uint64_t len;
    int is_dir;
} ft_entry;

typedef struct ft_vfs {
    ft_entry *e;
    size_t n;
} ft_vfs;

/* "file:///a/b/" -> "/a/b" (malloc'd). */
static inline char *ft_norm(const char *uri)
{
    if (strncmp(uri, "file://", 7) == 0) uri += 7;
    size_t n = strlen(uri);
    while (n > 1 && uri[n - 1] == '/') n--;
    return rdi_strndup(uri, n);
}

static inline ft_entry *ft_find(ft_vfs *v, const char *path)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->e[i].path, path) == 0) return &v->e[i];
    return NULL;
}

/* Whether path lies strictly below dir. */
static inline int ft_below(const char *path, const char *dir)
{
    size_t dl = strlen(dir);
    if (dl == 1 && dir[0] == '/') return path[0] == '/' && path[1] != '\0';
    return strncmp(path, dir, dl) == 0 && path[dl] == '/';
}

static inline void ft_drop(ft_vfs *v, size_t i)
{
    free(v->e[i].path);
    free(v->e[i].data);
    v->e[i] = v->e[--v->n];
}

static inline radi_status ft_add(ft_vfs *v, const char *path, const void *data, uint64_t len, int is_dir)
{
    ft_entry *old = ft_find(v, path);
    if (old && old->is_dir != is_dir)
        return rdi_error(RADI_E_EXISTS, "memvfs %s: exists as a %s", path, old->is_dir ? "directory" : "file");
    if (old && is_dir) return RADI_OK;
    if (len > FT_MAX_FILE) return rdi_error(RADI_E_IO, "memvfs %s: file too large", path);
    uint8_t *copy = malloc(len ? (size_t)len : 1);
    if (!copy) return rdi_nomem();
    if (len) memcpy(copy, data, (size_t)len);
    if (old) {
        free(old->data);
        old->data = copy;
        old->len = len;
        return RADI_OK;
    }
    if (v->n >= FT_MAX_ENTRIES) {
        free(copy);
        return rdi_error(RADI_E_IO, "memvfs: too many entries");
    }
    if (!v->e && !(v->e = calloc(FT_MAX_ENTRIES, sizeof *v->e))) {
        free(copy);
        return rdi_nomem();
    }
    char *p = rdi_strdup(path);
    if (!p) {
        free(copy);
        return RADI_E_NOMEM;
    }
    v->e[v->n++] = (ft_entry){p, copy, len, is_dir};
    return RADI_OK;
}

static inline radi_status ft_read(void *self, const char *uri, uint64_t off, void *buf, uint64_t len)
{
    char *p = ft_norm(uri);
    if (!p) return RADI_E_NOMEM;
    ft_entry *f = ft_find(self, p);
    radi_status s = RADI_OK;
    if (!f || f->is_dir) s = rdi_error(RADI_E_NOT_FOUND, "memvfs %s: no such file", p);
    else if (off > f->len || len > f->len - off)
        s = rdi_error(RADI_E_CORRUPT, "memvfs %s: truncated (%llu bytes at %llu of %llu)", p,
                      (unsigned long long)len, (unsigned long long)off, (unsigned long long)f->len);
    else if (len) memcpy(buf, f->data + off, (size_t)len);
    free(p);
    return s;
}

static inline radi_status ft_size(void *self, const char *uri, uint64_t *size)
{
    char *p = ft_norm(uri);
    if (!p) return RADI_E_NOMEM;
    ft_entry *f = ft_find(self, p);
    radi_status s = RADI_OK;
    if (!f || f->is_dir) s = rdi_error(RADI_E_NOT_FOUND, "memvfs %s: no such file", p);
    else *size = f->len;
    free(p);
    return s;
}

static inline radi_status ft_write(void *self, const char *uri, const void *data, uint64_t len)
{
    char *p = ft_norm(uri);
    if (!p) return RADI_E_NOMEM;
    radi_status s = ft_add(self, p, data, len, 0);
    free(p);
    return s;
}

static inline int ft_cmp_dirent(const void *a, const void *b)
{
    return strcmp(((const rdi_dirent *)a)->name, ((const rdi_dirent *)b)->name);
}

static inline radi_status ft_ls(void *self, const char *uri, rdi_dirlist *out)
{
    ft_vfs *v = self;
    out->items = NULL;
    out->n = 0;
    char *d = ft_norm(uri);
    if (!d) return RADI_E_NOMEM;
    size_t dl = strcmp(d, "/") == 0 ? 0 : strlen(d);
    radi_status s = RADI_OK;
    if (v->n && !(out->items = rdi_calloc(v->n, sizeof *out->items))) s = RADI_E_NOMEM;
    for (size_t i = 0; i < v->n && s == RADI_OK; i++) {
        if (!ft_below(v->e[i].path, d)) continue;
        const char *rest = v->e[i].path + dl + 1;
        const char *slash = strchr(rest, '/');
        size_t nl = slash ? (size_t)(slash - rest) : strlen(rest);
        int dup = 0;
        for (size_t j = 0; j < out->n && !dup; j++)
            dup = strlen(out->items[j].name) == nl && memcmp(out->items[j].name, rest, nl) == 0;
        if (dup) continue;
        char *name = rdi_strndup(rest, nl);
        if (!name) { s = RADI_E_NOMEM; break; }
        out->items[out->n++] = (rdi_dirent){name, slash != NULL || v->e[i].is_dir,
                                            slash ? 0 : v->e[i].len};
    }
    free(d);
    if (s != RADI_OK) {
        rdi_dirlist_free(out);
        return s;
    }
    if (out->n > 1) qsort(out->items, out->n, sizeof *out->items, ft_cmp_dirent);
    return RADI_OK;
}

static inline radi_status ft_kind(void *self, const char *uri, int *out)
{
    ft_vfs *v = self;
    char *p = ft_norm(uri);
    if (!p) return RADI_E_NOMEM;
    *out = 0;
    ft_entry *f = ft_find(v, p);
    if (f) *out = f->is_dir ? 2 : 1;
    for (size_t i = 0; i < v->n && !*out; i++)
        if (ft_below(v->e[i].path, p)) *out = 2;
    free(p);
    return RADI_OK;
}

static inline radi_status ft_mkdir(void *self, const char *uri)
{
    char *p = ft_norm(uri);
    if (!p) return RADI_E_NOMEM;
    radi_status s = ft_add(self, p, NULL, 0, 1);
    free(p);
    return s;
}

static inline radi_status ft_remove_file(void *self, const char *uri)
{
    ft_vfs *v = self;
    char *p = ft_norm(uri);
    if (!p) return RADI_E_NOMEM;
    for (size_t i = 0; i < v->n; i++)
        if (!v->e[i].is_dir && strcmp(v->e[i].path, p) == 0) {
            ft_drop(v, i);
            break;
        }
    free(p);
    return RADI_OK;
}

static inline radi_status ft_remove_dir(void *self, const char *uri)
{
    ft_vfs *v = self;
    char *p = ft_norm(uri);
    if (!p) return RADI_E_NOMEM;
    for (size_t i = v->n; i-- > 0;)
        if (strcmp(v->e[i].path, p) == 0 || ft_below(v->e[i].path, p)) ft_drop(v, i);
    free(p);
    return RADI_OK;
}

static inline radi_status ft_move(void *self, const char *from, const char *to)
{
    ft_vfs *v = self;
    char *f = ft_norm(from), *t = ft_norm(to);
    radi_status s = f && t ? RADI_OK : RADI_E_NOMEM;
    int kind = 0;
    if (s == RADI_OK) s = ft_kind(v, t, &kind);
    if (s == RADI_OK && kind) s = rdi_error(RADI_E_EXISTS, "memvfs %s: exists", t);
    size_t fl = f ? strlen(f) : 0;
    for (size_t i = 0; i < v->n && s == RADI_OK; i++) {
        if (strcmp(v->e[i].path, f) != 0 && !ft_below(v->e[i].path, f)) continue;
        char *np = rdi_asprintf("%s%s", t, v->e[i].path + fl);
        if (!np) { s = RADI_E_NOMEM; break; }
        free(v->e[i].path);
        v->e[i].path = np;
    }
    free(f);
    free(t);
    return s;
}

static inline void ft_destroy(void *self)
{
    ft_vfs *v = self;
    if (!v) return;
    while (v->n) ft_drop(v, v->n - 1);
    free(v->e);
    free(v);
}

static const rdi_vfs_ops ft_ops = {
    .name = "fuzz-memory",
    .read = ft_read,
    .size = ft_size,
    .write = ft_write,
    .ls = ft_ls,
    .kind = ft_kind,
    .mkdir = ft_mkdir,
    .remove_file = ft_remove_file,
    .remove_dir = ft_remove_dir,
    .move = ft_move,
    .destroy = ft_destroy,
};

/* A single-threaded context whose local backend is a fresh, empty memvfs (owned by the
 * context: radi_ctx_free releases it). *vfs_out (may be NULL) gets the backend. */
static inline radi_ctx *ft_ctx(ft_vfs **vfs_out)
{
    radi_config cfg;
    radi_config_init(&cfg);
    cfg.concurrency = 1;
    cfg.format_version = 22;
    cfg.memory_budget = (uint64_t)64 << 20; /* hostile sizes hit the budget, not the RSS limit */
    radi_ctx *ctx = NULL;
    if (radi_ctx_create(&cfg, &ctx) != RADI_OK) return NULL;
    ft_vfs *v = calloc(1, sizeof *v);
    if (!v) {
        radi_ctx_free(ctx);
        return NULL;
    }
    rdi_vfs_set_local(ctx->vfs, &ft_ops, v);
    if (vfs_out) *vfs_out = v;
    return ctx;
}

/* Fills v under root from a tree-format input (see the top of this file). Sections that
 * cannot be stored are skipped: the point is to reach the parsers with whatever does. */
static inline void ft_load_tree(ft_vfs *v, const char *root, const uint8_t *data, size_t size)
{
    rdi_scratch *scratch = NULL;
    const uint8_t *p = data, *end = data + size;
    /* Find the first header. */
    if (size == 0) return;
    if (p[0] != '@') {
        const uint8_t *h = NULL;
        for (const uint8_t *q = p; q + 1 < end; q++)
            if (q[0] == '\n' && q[1] == '@') { h = q + 1; break; }
        if (!h) return;
        p = h;
    }
    while (p < end) { /* p at '@' */
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        const uint8_t *hend = nl ? nl : end;
        const uint8_t *body = nl ? nl + 1 : end, *next = end, *stop;
        const uint8_t *name = p + 1;
        int wrap = name < hend && *name == '=';
        if (wrap) name++;
        if (!wrap && name < hend && *name == '#') { /* @#<n>:<path>: exactly n bytes */
            uint64_t n = 0;
            const uint8_t *q = name + 1;
            for (; q < hend && *q >= '0' && *q <= '9' && n < FT_MAX_FILE; q++) n = n * 10 + (uint64_t)(*q - '0');
            name = q < hend && *q == ':' ? q + 1 : hend; /* malformed: no file */
            stop = body + RDI_MIN(n, (uint64_t)(end - body));
            next = stop;
            while (next < end && !(next[0] == '\n' && next + 1 < end && next[1] == '@')) next++;
        } else {
            for (const uint8_t *q = body; q + 1 < end; q++)
                if (q[0] == '\n' && q[1] == '@') { next = q; break; }
            stop = next == end && body < end && end[-1] == '\n' ? end - 1 : next;
        }
        size_t nlen = (size_t)(hend - name);
        if (nlen && !memchr(name, 0, nlen)) {
            int is_dir = name[nlen - 1] == '/';
            char *rel = rdi_strndup((const char *)name, nlen);
            char *full = rel ? rdi_path_join(root, rel) : NULL;
            char *path = full ? ft_norm(full) : NULL;
            if (path && is_dir) {
                (void)ft_add(v, path, NULL, 0, 1);
            } else if (path && wrap) {
                rdi_buf tile = RDI_BUF_INIT;
                if (scratch || rdi_scratch_create(&scratch) == RADI_OK)
                    if (rdi_generic_tile_encode(body, (size_t)(stop - body), 22, scratch, &tile) == RADI_OK)
                        (void)ft_add(v, path, tile.data, tile.len, 0);
                rdi_buf_free(&tile);
            } else if (path) {
                (void)ft_add(v, path, body, (uint64_t)(stop - body), 0);
            }
            free(rel);
            free(full);
            free(path);
        }
        p = next < end ? next + 1 : end;
    }
    rdi_scratch_free(scratch);
    rdi_error_clear();
}

#endif
