/*
 * Helpers of consolidation and vacuum (consolidate_int.h): names, listings, the
 * .con/.ign/.vac text files, the commit state, the group check.
 */
#include <stdlib.h>
#include <string.h>

#include "tdb/consolidate_int.h"

/* ------------------------------------------------------------------- helpers -- */

int rdi_cv_ends_with(const char *s, const char *sfx)
{
    size_t n = strlen(s), m = strlen(sfx);
    return n >= m && memcmp(s + n - m, sfx, m) == 0;
}

/* A copy of name without its extension ext (which it must end with). */
char *rdi_cv_strip_ext(const char *name, const char *ext)
{
    return rdi_strndup(name, strlen(name) - strlen(ext));
}

int rdi_cv_sorted_has(const rdi_strlist *l, const char *s)
{
    return rdi_strlist_has_sorted(l, s, strlen(s));
}

/* Sorts and removes duplicates. */
void rdi_cv_sort_unique(rdi_strlist *l)
{
    rdi_strlist_sort(l);
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (w && strcmp(l->items[w - 1], l->items[i]) == 0) free(l->items[i]);
        else l->items[w++] = l->items[i];
    }
    l->n = w;
}

radi_status rdi_cv_list_sub(radi_ctx *ctx, const char *uri, const char *sub, rdi_dirlist *out)
{
    char *dir = rdi_path_join(uri, sub);
    if (!dir) return RADI_E_NOMEM;
    radi_status s = rdi_vfs_ls(ctx->vfs, dir, out);
    free(dir);
    return s;
}

/* uri/sub/name (sub may be NULL). malloc'd; NULL on failure. */
char *rdi_cv_join3(const char *uri, const char *sub, const char *name)
{
    return sub ? rdi_asprintf("%s/%s/%s", uri, sub, name) : rdi_path_join(uri, name);
}

/* The lines of a small text file (.con, .ign, .vac), empty lines dropped. Delete
 * conditions (.del lines carry binary payloads) are out of scope and refused, as the
 * reader refuses arrays with deletes. */
radi_status rdi_cv_read_lines(radi_ctx *ctx, const char *file, rdi_strlist *out)
{
    rdi_buf b = RDI_BUF_INIT;
    RDI_TRY(rdi_vfs_read_all(ctx->vfs, file, &b));
    radi_status s = RADI_OK;
    size_t start = 0;
    for (size_t i = 0; i <= b.len && s == RADI_OK; i++) {
        if (i < b.len && b.data[i] != '\n') continue;
        if (i > start) {
            char *line = rdi_strndup((const char *)b.data + start, i - start);
            if (!line) s = RADI_E_NOMEM;
            else if (memchr(b.data + start, '\0', i - start)) {
                free(line);
                s = rdi_error(RADI_E_CORRUPT, "%s: NUL byte in a line", file);
            } else if (rdi_cv_ends_with(line, ".del") || rdi_cv_ends_with(line, ".upd")) {
                free(line);
                s = rdi_error(RADI_E_UNSUPPORTED,
                              "%s: delete/update conditions are not supported", file);
            } else s = rdi_strlist_push_owned(out, line);
        }
        start = i + 1;
    }
    rdi_buf_free(&b);
    return s;
}

/* The object name after "<dir>/" in a .vac line, which may be relative with or
 * without a leading slash, or (before format 19) an absolute URI; malloc'd, or NULL
 * unless it is a timestamped name, so a garbled line can never point a deletion
 * elsewhere. Each directory is read as its reader reads it, so that vacuum deletes
 * exactly what readers hide: fragments as apply_vac in array.c (rdi_vac_target drops a
 * trailing '/' and '\r': a CRLF .vac hides its fragments, so vacuum must delete them or
 * they reappear once the .vac is gone); metadata as meta.c's vacuumed(), which keeps
 * trailing bytes, so such a line names no file there. */
char *rdi_cv_vac_target(const char *line, const char *dir)
{
    const char *name;
    size_t n;
    rdi_tsname tn;
    if (!rdi_vac_target(line, strlen(line), dir, &name, &n)) return NULL;
    if (strcmp(dir, META_DIR) == 0 && name[n] != '\0') return NULL;
    char *t = rdi_strndup(name, n);
    if (t && rdi_tsname_parse(t, &tn) != RADI_OK) {
        free(t);
        t = NULL;
    }
    return t;
}

/* Parses the timestamped name in `file` (a name with extension `ext`, or "" for none). */
radi_status rdi_cv_parse_name(const char *file, const char *ext, const char *where,
                              rdi_tsname *out)
{
    char *base = rdi_cv_strip_ext(file, ext);
    if (!base) return RADI_E_NOMEM;
    radi_status s = rdi_tsname_parse(base, out);
    free(base);
    if (s != RADI_OK) return rdi_error_wrap(s, "%s/%s", where, file);
    return RADI_OK;
}

radi_status rdi_cv_write_text(radi_ctx *ctx, const char *file, const rdi_buf *text)
{
    radi_status s = rdi_vfs_write(ctx->vfs, file, text->data ? (const void *)text->data : "",
                                  text->len);
    if (s != RADI_OK) return rdi_error_wrap(s, "writing %s", file);
    return RADI_OK;
}

radi_status rdi_cv_append_line(rdi_buf *b, const char *prefix, const char *name, const char *sfx)
{
    RDI_TRY(rdi_buf_append(b, prefix, strlen(prefix)));
    RDI_TRY(rdi_buf_append(b, name, strlen(name)));
    RDI_TRY(rdi_buf_append(b, sfx, strlen(sfx)));
    return rdi_buf_put_u8(b, '\n');
}

/* The format version for names and tiles radi adds to an array: the array's own
 * version when radi can write it (as TileDB's rdi_cv_write_version), else the configured one. */
uint32_t rdi_cv_write_version(const radi_ctx *ctx, const radi_schema *s)
{
    if (s && s->version >= 20 && s->version <= 22) return s->version;
    return ctx->config.format_version;
}

/* Fails unless uri holds an array (its __schema directory exists). */
radi_status rdi_cv_check_array(radi_ctx *ctx, const char *uri)
{
    char *dir = rdi_path_join(uri, "__schema");
    if (!dir) return RADI_E_NOMEM;
    int kind = 0;
    radi_status s = rdi_vfs_kind(ctx->vfs, dir, &kind);
    free(dir);
    if (s != RADI_OK) return s;
    if (kind != 2) return rdi_error(RADI_E_NOT_FOUND, "%s: not an array (no __schema)", uri);
    return RADI_OK;
}

/* ------------------------------------------------------------- commit state -- */



void rdi_cv_commits_free(commits *c)
{
    if (c->con)
        for (size_t i = 0; i < c->ls.n; i++) rdi_strlist_free(&c->con[i]);
    free(c->con);
    rdi_strlist_free(&c->ignored);
    rdi_strlist_free(&c->covered);
    rdi_dirlist_free(&c->ls);
    memset(c, 0, sizeof *c);
}

radi_status rdi_cv_commits_load(radi_ctx *ctx, const char *uri, commits *c)
{
    memset(c, 0, sizeof *c);
    radi_status s = rdi_cv_list_sub(ctx, uri, COMMITS_DIR, &c->ls);
    if (s == RADI_OK && c->ls.n && !(c->con = rdi_calloc(c->ls.n, sizeof *c->con))) s = RADI_E_NOMEM;
    for (size_t i = 0; s == RADI_OK && i < c->ls.n; i++) {
        const char *name = c->ls.items[i].name;
        if (c->ls.items[i].is_dir) continue;
        if (!rdi_cv_ends_with(name, ".ign") && !rdi_cv_ends_with(name, ".con")) continue;
        char *file = rdi_cv_join3(uri, COMMITS_DIR, name);
        if (!file) { s = RADI_E_NOMEM; break; }
        s = rdi_cv_read_lines(ctx, file, rdi_cv_ends_with(name, ".ign") ? &c->ignored : &c->con[i]);
        free(file);
    }
    if (s == RADI_OK) rdi_cv_sort_unique(&c->ignored);
    for (size_t i = 0; s == RADI_OK && i < c->ls.n; i++)
        for (size_t j = 0; s == RADI_OK && j < c->con[i].n; j++)
            if (!rdi_cv_sorted_has(&c->ignored, c->con[i].items[j]))
                s = rdi_strlist_push(&c->covered, c->con[i].items[j]);
    if (s == RADI_OK) rdi_cv_sort_unique(&c->covered);
    if (s != RADI_OK) rdi_cv_commits_free(c);
    return s;
}

/* Whether fragment `name` is committed: by its .wrt or a non-ignored .con line. */
radi_status rdi_cv_commits_has(const commits *c, const char *name, int *out)
{
    char *rel = rdi_asprintf(COMMITS_DIR "/%s.wrt", name);
    if (!rel) return RADI_E_NOMEM;
    *out = rdi_cv_sorted_has(&c->covered, rel);
    for (size_t i = 0; !*out && i < c->ls.n; i++)
        if (strcmp(c->ls.items[i].name, rel + sizeof COMMITS_DIR) == 0) *out = 1;
    free(rel);
    return RADI_OK;
}

/* The index in c->ls of a .con that lists exactly the covered set (c->ls.n if none). */
radi_status rdi_cv_commits_full(const commits *c, size_t *out)
{
    *out = c->ls.n;
    for (size_t i = 0; i < c->ls.n; i++) {
        if (!c->covered.n || !rdi_cv_ends_with(c->ls.items[i].name, ".con")) continue;
        rdi_strlist own = RDI_STRLIST_INIT;
        int ok = 1;
        for (size_t j = 0; ok && j < c->con[i].n; j++) {
            ok = rdi_cv_sorted_has(&c->covered, c->con[i].items[j]);
            if (ok && rdi_strlist_push(&own, c->con[i].items[j]) != RADI_OK) {
                rdi_strlist_free(&own);
                return RADI_E_NOMEM;
            }
        }
        if (ok) rdi_cv_sort_unique(&own);
        ok = ok && own.n == c->covered.n;
        rdi_strlist_free(&own);
        if (ok) {
            *out = i;
            break;
        }
    }
    return RADI_OK;
}


radi_status rdi_cv_check_group(radi_ctx *ctx, const char *uri)
{
    radi_object_type t;
    RDI_TRY(radi_object_type_of(ctx, uri, &t));
    if (t != RADI_OBJECT_GROUP) return rdi_error(RADI_E_NOT_FOUND, "%s: not a group", uri);
    return RADI_OK;
}
