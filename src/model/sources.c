/*
 * Source discovery for ingest: a collection's NIfTI files from a directory or a glob
 * pattern, listed through the context's VFS (so an s3:// prefix works as a directory
 * does), with the subject id derived from each file name. The CLI's `radi ingest` and
 * Python's from_niftis/append both call this, so the two cannot drift apart.
 */
#include <stddef.h>
#include <stdlib.h>

#include "radi/dicom.h"
#include "model/dataset.h"

struct radi_source_list {
    radi_nifti_source *items;
    rdi_strlist paths, sids;   /* own the strings items point to */
    size_t n;
};

/* ------------------------------------------------------------- matching -- */

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

static int ends_with_ci(const char *s, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    if (n <= m) return 0; /* a bare ".nii" has no stem */
    for (size_t i = 0; i < m; i++)
        if (lower((unsigned char)s[n - m + i]) != suffix[i]) return 0;
    return 1;
}

/* Length of the NIfTI extension (".nii.gz" or ".nii", any case) ending name; 0 if none. */
static size_t nifti_ext(const char *name)
{
    size_t n = strlen(name);
    return ends_with_ci(name, n, ".nii.gz") ? 7 : ends_with_ci(name, n, ".nii") ? 4 : 0;
}

static int has_wildcard(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '*' || s[i] == '?' || s[i] == '[') return 1;
    return 0;
}

/* One bracket expression at p ("[...]", "[!...]" or "[^...]", ranges a-z): whether c
 * matches; *end gets the byte after ']'. 0 with *end = NULL when p has no closing ']'
 * (the '[' is then a literal). */
static int match_class(const char *p, char c, const char **end)
{
    const char *q = p + 1;
    int neg = *q == '!' || *q == '^';
    if (neg) q++;
    int hit = 0;
    const char *first = q;
    while (*q && (*q != ']' || q == first)) {
        if (q[1] == '-' && q[2] && q[2] != ']') {
            if ((unsigned char)c >= (unsigned char)q[0] && (unsigned char)c <= (unsigned char)q[2]) hit = 1;
            q += 3;
        } else {
            if (*q == c) hit = 1;
            q++;
        }
    }
    if (*q != ']') {
        *end = NULL;
        return 0;
    }
    *end = q + 1;
    return hit != neg;
}

/* fnmatch(3) of one path segment, as glob(3) and Python's glob use it: '*', '?' and
 * brackets never match a leading '.' (hidden files need the '.' spelled out). */
static int match(const char *p, const char *s, int at_start)
{
    for (; *p; p++, s++, at_start = 0) {
        if (*p == '*') {
            if (at_start && *s == '.') return 0;
            while (p[1] == '*') p++;
            for (const char *t = s;; t++) {
                if (match(p + 1, t, 0)) return 1;
                if (!*t) return 0;
            }
        }
        if (!*s) return 0;
        if (*p == '?') {
            if (at_start && *s == '.') return 0;
            continue;
        }
        if (*p == '[') {
            const char *end;
            int hit = match_class(p, *s, &end);
            if (end) {
                if (!hit || (at_start && *s == '.')) return 0;
                p = end - 1;
                continue;
            }
        }
        if (*p != *s) return 0;
    }
    return *s == '\0';
}

/* ------------------------------------------------------------ expansion -- */

static char *join(const char *dir, const char *name)
{
    if (!*dir) return rdi_strdup(name);
    size_t n = strlen(dir);
    return rdi_asprintf("%s%s%s", dir, dir[n - 1] == '/' ? "" : "/", name);
}

/* Expands the segments of rest (wildcards in any of them) below dir ("" = the current
 * directory, names given relative), pushing matches on out. Inner segments match
 * directories only; the last matches every entry (a directory there is reported by
 * the ingest that reads it, rather than skipped in silence). */
static radi_status expand(rdi_vfs *vfs, const char *dir, const char *rest, int dirs_only, rdi_strlist *out)
{
    const char *slash = strchr(rest, '/');
    size_t seglen = slash ? (size_t)(slash - rest) : strlen(rest);
    const char *next = slash ? slash + 1 : NULL;
    while (next && *next == '/') next++;
    if (next && !*next) next = NULL; /* a trailing slash after the last segment */
    char *seg = rdi_strndup(rest, seglen);
    if (!seg) return RADI_E_NOMEM;
    radi_status s = RADI_OK;
    if (!has_wildcard(seg, seglen)) {
        char *path = join(dir, seg);
        if (!path) s = RADI_E_NOMEM;
        else if (next) s = expand(vfs, path, next, dirs_only, out);
        else {
            int kind = 0;
            s = rdi_vfs_kind(vfs, path, &kind);
            if (s == RADI_OK && kind && (!dirs_only || kind == 2)) s = rdi_strlist_push(out, path);
        }
        free(path);
        free(seg);
        return s;
    }
    rdi_dirlist ls = {NULL, 0};
    s = rdi_vfs_ls(vfs, *dir ? dir : ".", &ls);
    for (size_t i = 0; i < ls.n && s == RADI_OK; i++) {
        if (!match(seg, ls.items[i].name, 1) || ((next || dirs_only) && !ls.items[i].is_dir)) continue;
        char *path = join(dir, ls.items[i].name);
        if (!path) s = RADI_E_NOMEM;
        else s = next ? expand(vfs, path, next, dirs_only, out) : rdi_strlist_push(out, path);
        free(path);
    }
    rdi_dirlist_free(&ls);
    free(seg);
    return s;
}

int rdi_pattern_is_glob(const char *pattern)
{
    /* The scheme and authority ("s3://bucket") are never pattern segments. */
    const char *path = strstr(pattern, "://");
    path = path ? path + 3 : pattern;
    return has_wildcard(path, strlen(path));
}

radi_status rdi_pattern_expand(rdi_vfs *vfs, const char *pattern, int dirs_only, rdi_strlist *out)
{
    const char *path = strstr(pattern, "://");
    path = path ? path + 3 : pattern;
    if (!has_wildcard(path, strlen(path))) return rdi_error(RADI_E_INVALID, "%s: not a pattern", pattern);
    /* The literal directories before the first segment with a wildcard, then the rest. */
    const char *w = path;
    while (!has_wildcard(w, 1)) w++;
    while (w > path && w[-1] != '/') w--;
    char *base = rdi_strndup(pattern, (size_t)(w - pattern));
    if (!base) return RADI_E_NOMEM;
    radi_status s = expand(vfs, base, w, dirs_only, out);
    free(base);
    return s;
}

/* --------------------------------------------------------------- the list -- */

/* Subject id: the file name without its NIfTI extension and without a trailing
 * "_<collection>" (when something is left before it). */
static char *subject_of(const char *path, const char *collection)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base) - nifti_ext(base), m = strlen(collection);
    if (n > m + 1 && base[n - m - 1] == '_' && memcmp(base + n - m, collection, m) == 0) n -= m + 1;
    return rdi_strndup(base, n);
}

/* The first members of every discovered source type (checked below). */
typedef struct source_head {
    const char *path;
    const char *subject_id;
} source_head;

_Static_assert(offsetof(radi_nifti_source, path) == offsetof(source_head, path) &&
                   offsetof(radi_nifti_source, subject_id) == offsetof(source_head, subject_id),
               "radi_nifti_source begins with path, subject_id");
_Static_assert(offsetof(radi_dicom_source, path) == offsetof(source_head, path) &&
                   offsetof(radi_dicom_source, subject_id) == offsetof(source_head, subject_id),
               "radi_dicom_source begins with path, subject_id");

static int by_subject(const void *a, const void *b)
{
    const source_head *x = a, *y = b;
    int c = strcmp(x->subject_id, y->subject_id);
    return c ? c : strcmp(x->path, y->path);
}

radi_status rdi_sources_sort_unique(void *items, size_t n, size_t size, const char *collection)
{
    if (n < 2) return RADI_OK;
    qsort(items, n, size, by_subject);
    for (size_t i = 1; i < n; i++) {
        const source_head *x = (const void *)((const char *)items + (i - 1) * size);
        const source_head *y = (const void *)((const char *)items + i * size);
        if (strcmp(x->subject_id, y->subject_id) == 0)
            return rdi_error(RADI_E_INVALID, "collection %s: %s and %s both give subject %s", collection, x->path,
                             y->path, y->subject_id);
    }
    return RADI_OK;
}

void radi_source_list_free(radi_source_list *l)
{
    if (!l) return;
    free(l->items);
    rdi_strlist_free(&l->paths);
    rdi_strlist_free(&l->sids);
    free(l);
}

size_t radi_source_list_count(const radi_source_list *l) { return l ? l->n : 0; }

const radi_nifti_source *radi_source_list_items(const radi_source_list *l) { return l ? l->items : NULL; }

/* Matches of pattern: the NIfTI files of a directory, every match of a glob, or the
 * file a literal pattern names. */
static radi_status find(rdi_vfs *vfs, const char *pattern, const char *collection, rdi_strlist *paths)
{
    size_t n = strlen(pattern);
    /* The scheme and authority ("s3://bucket") are never pattern segments. */
    const char *path = strstr(pattern, "://");
    path = path ? path + 3 : pattern;
    if (!has_wildcard(path, strlen(path))) {
        int kind = 0;
        RDI_TRY(rdi_vfs_kind(vfs, pattern, &kind));
        if (kind == 0 && pattern[n - 1] == '/') kind = 2; /* an S3 prefix given as a directory */
        if (kind == 0)
            return rdi_error(RADI_E_NOT_FOUND, "%s: no files match (collection %s)", pattern, collection);
        if (kind == 1) return rdi_strlist_push(paths, pattern);
        rdi_dirlist ls = {NULL, 0};
        radi_status s = rdi_vfs_ls(vfs, pattern, &ls);
        for (size_t i = 0; i < ls.n && s == RADI_OK; i++) {
            /* As glob(3) of "dir/<star>.nii": hidden names are skipped; a directory with a
             * NIfTI name is kept, for the ingest to report. */
            if (ls.items[i].name[0] == '.' || !nifti_ext(ls.items[i].name)) continue;
            char *p = join(pattern, ls.items[i].name);
            s = p ? rdi_strlist_push_owned(paths, p) : RADI_E_NOMEM;
        }
        rdi_dirlist_free(&ls);
        RDI_TRY(s);
        if (paths->n == 0)
            return rdi_error(RADI_E_NOT_FOUND, "%s: no .nii or .nii.gz files in this directory (collection %s)",
                             pattern, collection);
        return RADI_OK;
    }
    rdi_strlist all = RDI_STRLIST_INIT;
    radi_status s = rdi_pattern_expand(vfs, pattern, 0, &all);
    for (size_t i = 0; i < all.n && s == RADI_OK; i++)
        if (nifti_ext(all.items[i])) s = rdi_strlist_push(paths, all.items[i]);
    size_t matched = all.n;
    rdi_strlist_free(&all);
    RDI_TRY(s);
    if (matched == 0) {
        /* A file whose name holds '[' ("scan[1].nii") is taken as named. */
        int kind = 0;
        RDI_TRY(rdi_vfs_kind(vfs, pattern, &kind));
        if (kind == 1) return rdi_strlist_push(paths, pattern);
        return rdi_error(RADI_E_NOT_FOUND, "%s: no files match (collection %s)", pattern, collection);
    }
    if (paths->n == 0)
        return rdi_error(RADI_E_NOT_FOUND, "%s: no .nii or .nii.gz files match (collection %s)", pattern,
                         collection);
    return RADI_OK;
}

radi_status radi_sources_from_pattern(radi_ctx *ctx, const char *pattern, const char *collection,
                                      radi_source_list **out)
{
    if (!ctx || !pattern || !collection || !out)
        return rdi_error(RADI_E_INVALID, "radi_sources_from_pattern: NULL argument");
    if (!*pattern) return rdi_error(RADI_E_INVALID, "collection %s: empty pattern", collection);
    radi_source_list *l = rdi_calloc(1, sizeof *l);
    if (!l) return RADI_E_NOMEM;
    radi_status s = find(ctx->vfs, pattern, collection, &l->paths);
    if (s == RADI_OK && !(l->items = rdi_calloc(l->paths.n, sizeof *l->items))) s = RADI_E_NOMEM;
    for (size_t i = 0; i < l->paths.n && s == RADI_OK; i++) {
        char *sid = subject_of(l->paths.items[i], collection);
        s = sid ? rdi_strlist_push_owned(&l->sids, sid) : RADI_E_NOMEM;
        if (s == RADI_OK) l->items[i] = (radi_nifti_source){l->paths.items[i], sid, NULL};
    }
    l->n = l->paths.n;
    if (s == RADI_OK) s = rdi_sources_sort_unique(l->items, l->n, sizeof *l->items, collection);
    if (s != RADI_OK) {
        radi_source_list_free(l);
        return s;
    }
    *out = l;
    return RADI_OK;
}
