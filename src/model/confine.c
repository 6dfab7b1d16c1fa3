/*
 * Member names and URIs confined to the dataset (docs/dataset.md §1, "Confinement").
 * radi builds child paths from member *names* (as 0.1.1 does), so a name that is not a
 * plain path segment ("..", "a/b") would lead it outside the dataset; TileDB and other
 * readers follow member *URIs*, so a URI leaving the root would lead them there. Both
 * are refused before anything is read or written through them: a dataset whose groups
 * hold such members does not open, read, rename, copy, consolidate or vacuum. Checks
 * are lexical ("." and ".." resolved on the URI text, never on the file system, so
 * nothing outside the root is touched even to look); the dataset root is compared in
 * its lexical form and, for local paths, in its canonical form (symbolic links
 * resolved), because 0.1.1 records absolute file:// URIs of whichever form it was
 * given. validate runs in "lenient" mode (ds->notes set): problems become its lines and
 * the offending members are skipped instead of refused.
 */
#include <stdlib.h>

#include "model/dataset.h"

/* A plain path segment: non-empty, not "." or "..", no '/' (NUL cannot occur in a C
 * string; group.c refuses stored names holding one). */
int rdi_name_is_segment(const char *s)
{
    return s && *s && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && !strchr(s, '/');
}

/* "scheme://authority" length of an absolute URI ("file://" has an empty authority). */
static size_t prefix_len(const char *u)
{
    const char *p = strstr(u, "://");
    if (!p) return 0;
    p += 3;
    while (*p && *p != '/') p++;
    return (size_t)(p - u);
}

/* uri with "." and ".." segments resolved and repeated slashes collapsed, as text.
 * NULL with *escaped = 1 when ".." climbs above the authority. */
static char *lexnorm(const char *uri, int *escaped)
{
    *escaped = 0;
    size_t pl = prefix_len(uri), n = strlen(uri);
    char *out = rdi_malloc(n + 2);
    if (!out) return NULL;
    memcpy(out, uri, pl);
    size_t w = pl;
    const char *p = uri + pl;
    while (*p) {
        while (*p == '/') p++;
        const char *e = p;
        while (*e && *e != '/') e++;
        size_t len = (size_t)(e - p);
        if (len == 0 || (len == 1 && p[0] == '.')) {
            /* nothing */
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (w == pl) {
                free(out);
                *escaped = 1;
                return NULL;
            }
            while (w > pl && out[w - 1] != '/') w--;
            if (w > pl) w--;   /* the slash before the dropped segment */
        } else {
            out[w++] = '/';
            memcpy(out + w, p, len);
            w += len;
        }
        p = e;
    }
    out[w] = 0;
    return out;
}

/* Whether t lies strictly below root (both lexically normalized). */
static int below(const char *t, const char *root)
{
    size_t n = strlen(root);
    return root[0] && strncmp(t, root, n) == 0 && t[n] == '/';
}

static int is_scheme(const char *u, const char *scheme)
{
    return strncmp(u, scheme, strlen(scheme)) == 0;
}

const char *rdi_member_problem(const char *root, const char *root_canon, const char *group,
                               const char *name, const char *uri, int relative)
{
    size_t bl;
    const char *b = rdi_path_basename(uri, &bl);
    if (name && !rdi_name_is_segment(name)) return "its name is not a plain path segment";
    if (!name && (bl == 0 || (bl == 1 && b[0] == '.') || (bl == 2 && b[0] == '.' && b[1] == '.') ||
                  !*uri))
        return "it is unnamed and its URI ends in no plain path segment";
    char *abs = NULL;
    if (relative) {
        if (uri[0] == '/' || strstr(uri, "://")) return "its relative URI is absolute";
        abs = rdi_path_join(group, uri);
    } else if (uri[0] == '/') {
        abs = rdi_asprintf("file://%s", uri);
    } else if (is_scheme(uri, "file://") || is_scheme(uri, "s3://")) {
        if (is_scheme(uri, "file://") != is_scheme(root, "file://"))
            return "its URI has another scheme than the dataset";
        if (is_scheme(uri, "file://") && uri[7] != '/') return "its file:// URI names another host";
        abs = rdi_strdup(uri);
    } else {
        return "its URI has a scheme radi does not follow";
    }
    if (!abs) return "out of memory";
    int esc = 0;
    char *t = lexnorm(abs, &esc);
    free(abs);
    if (!t) return esc ? (relative ? "its relative URI leaves the dataset" : "its URI points outside the dataset")
                       : "out of memory";
    int ok = below(t, root) || (root_canon && below(t, root_canon));
    free(t);
    if (ok) return NULL;
    /* A moved 0.1.1 dataset: an absolute URI of the old place whose last segment is the
     * member's own name. radi (like 0.1.1) reads that member at <group>/<name>, inside
     * the root, and never follows the stale URI, so it is no escape; renames rewrite
     * such members as relative ones. */
    if (!relative && name && bl == strlen(name) && memcmp(b, name, bl) == 0) return NULL;
    return relative ? "its relative URI leaves the dataset" : "its URI points outside the dataset";
}

/* The lexical absolute form of a dataset or group URI. */
static char *abs_lex(const char *uri)
{
    char *a = rdi_absolute_uri(uri);
    if (!a) return NULL;
    int esc;
    char *n = lexnorm(a, &esc);
    free(a);
    return n;
}

radi_status rdi_ds_confine_group(radi_dataset *ds, radi_group *g, const char *group_uri, uint8_t *bad)
{
    uint64_t n = radi_group_member_count(g);
    if (!n) return RADI_OK;
    char *root = abs_lex(ds->uri), *grp = abs_lex(group_uri), *canon = NULL, *croot = NULL;
    radi_status s = root && grp ? RADI_OK : RADI_E_NOMEM;
    if (s == RADI_OK && is_scheme(root, "file://")) {
        canon = rdi_vfs_canonical(ds->ctx->vfs, ds->uri);
        croot = canon ? abs_lex(canon) : NULL;
    }
    for (uint64_t i = 0; s == RADI_OK && i < n; i++) {
        radi_group_member m;
        s = radi_group_member_at(g, i, &m);
        if (s != RADI_OK) break;
        const char *why = rdi_member_problem(root, croot, grp, m.name, m.uri, m.relative);
        if (!why) continue;
        const char *label = m.name ? m.name : m.uri;
        if (ds->notes) {
            s = rdi_strlist_push_owned(ds->notes,
                                       rdi_asprintf("%s: member '%s' (uri '%s') is refused: %s", group_uri, label,
                                                    m.uri, why));
            if (bad) bad[i] = 1;
        } else {
            s = rdi_error(RADI_E_CORRUPT,
                          "%s: dataset refused: member '%s' of %s (uri '%s'): %s (members must stay inside "
                          "the dataset)", ds->uri, label, group_uri, m.uri, why);
        }
    }
    free(root);
    free(grp);
    free(canon);
    free(croot);
    return s;
}

radi_status rdi_ds_confine_uri(radi_dataset *ds, const char *group_uri)
{
    radi_group *g = NULL;
    RDI_TRY(radi_group_open(ds->ctx, group_uri, &g));
    radi_status s = rdi_ds_confine_group(ds, g, group_uri, NULL);
    radi_group_close(g);
    return s;
}

radi_status rdi_ds_confine_collection(radi_dataset *ds, const char *name)
{
    if (!rdi_name_is_segment(name))
        return rdi_error(RADI_E_CORRUPT, "%s: dataset refused: collection name '%s' is not a plain path segment",
                         ds->uri, name);
    char *cu = rdi_ds_coll_uri(ds, name, NULL);
    if (!cu) return RADI_E_NOMEM;
    radi_status s = rdi_ds_confine_uri(ds, cu);
    free(cu);
    return s;
}
