/*
 * Vacuum (docs/format.md §9–§11): deletes what consolidation made obsolete, in the
 * order that keeps every reader's view (consolidate.c explains the protocol).
 */
#include <stdlib.h>
#include <string.h>

#include "tdb/consolidate_int.h"

/* ---------------------------------------------------------------------- vacuum -- */

static radi_status remove_in(radi_ctx *ctx, const char *uri, const char *sub, const char *name,
                             int dir)
{
    char *p = rdi_cv_join3(uri, sub, name);
    if (!p) return RADI_E_NOMEM;
    radi_status s = dir ? rdi_vfs_remove_dir(ctx->vfs, p) : rdi_vfs_remove_file(ctx->vfs, p);
    if (s != RADI_OK) s = rdi_error_wrap(s, "vacuum %s", p);
    free(p);
    return s;
}

/* Deletes the fragments listed by the .vac files in __commits, their .wrt files, then the .vac. A
 * .vac acts only once its consolidated fragment is committed (or itself superseded by
 * another .vac). Inputs committed through a .con get an .ign first, so the .con line
 * no longer names a fragment that is gone (as TileDB). */
static radi_status vacuum_fragments(radi_ctx *ctx, const char *uri)
{
    commits c;
    RDI_TRY(rdi_cv_commits_load(ctx, uri, &c));
    rdi_strlist vacs = RDI_STRLIST_INIT, lines = RDI_STRLIST_INIT, targets = RDI_STRLIST_INIT;
    radi_status s = RADI_OK;
    uint32_t version = ctx->config.format_version;

    /* Every target first, so a .vac whose output a later .vac consumed still acts. */
    size_t *nlines = c.ls.n ? rdi_calloc(c.ls.n, sizeof *nlines) : NULL;
    if (c.ls.n && !nlines) s = RADI_E_NOMEM;
    for (size_t i = 0; s == RADI_OK && i < c.ls.n; i++) {
        const char *n = c.ls.items[i].name;
        if (c.ls.items[i].is_dir || !rdi_cv_ends_with(n, ".vac")) continue;
        char *file = rdi_cv_join3(uri, COMMITS_DIR, n);
        if (!file) { s = RADI_E_NOMEM; break; }
        s = rdi_cv_read_lines(ctx, file, &lines);
        free(file);
        nlines[i] = lines.n;
    }
    rdi_strlist all_targets = RDI_STRLIST_INIT;
    for (size_t i = 0; s == RADI_OK && i < lines.n; i++) {
        char *t = rdi_cv_vac_target(lines.items[i], FRAGMENTS_DIR);
        if (t) s = rdi_strlist_push_owned(&all_targets, t);
    }
    if (s == RADI_OK) rdi_cv_sort_unique(&all_targets);

    size_t from = 0;
    for (size_t i = 0; s == RADI_OK && i < c.ls.n; i++) {
        const char *n = c.ls.items[i].name;
        if (c.ls.items[i].is_dir || !rdi_cv_ends_with(n, ".vac")) continue;
        size_t to = nlines[i];
        char *out = rdi_cv_strip_ext(n, ".vac");
        int ok = 0;
        rdi_tsname tn;
        if (!out) s = RADI_E_NOMEM;
        if (s == RADI_OK) s = rdi_cv_commits_has(&c, out, &ok);
        if (s == RADI_OK && !ok) ok = rdi_cv_sorted_has(&all_targets, out);
        if (s == RADI_OK && ok && rdi_tsname_parse(out, &tn) == RADI_OK && tn.version)
            version = tn.version;
        free(out);
        for (size_t j = from; s == RADI_OK && ok && j < to; j++) {
            char *t = rdi_cv_vac_target(lines.items[j], FRAGMENTS_DIR);
            if (t) s = rdi_strlist_push_owned(&targets, t);
        }
        if (s == RADI_OK && ok) s = rdi_strlist_push(&vacs, n);
        from = to;
    }
    if (s == RADI_OK) rdi_cv_sort_unique(&targets);

    /* .ign for every .con line that still names a target. The reader takes a line's
     * fragment from its last path part (list_commits in array.c), so match the same way,
     * not only the "__commits/<name>.wrt" form: a line it counts but the .ign missed
     * would make the deleted fragment visible again once the .vac is gone. */
    uint64_t t1 = UINT64_MAX, t2 = 0;
    rdi_buf text = RDI_BUF_INIT;
    for (size_t i = 0; s == RADI_OK && i < c.covered.n; i++) {
        const char *line = c.covered.items[i];
        size_t bl;
        const char *base = rdi_path_basename(line, &bl);
        rdi_tsname tn;
        if (!rdi_cv_ends_with(line, ".wrt") || bl <= 4 || !rdi_strlist_has_sorted(&targets, base, bl - 4))
            continue;
        char *name = rdi_strndup(base, bl - 4);
        if (!name) { s = RADI_E_NOMEM; break; }
        if (rdi_tsname_parse(name, &tn) == RADI_OK) {
            t1 = RDI_MIN(t1, tn.t1);
            t2 = RDI_MAX(t2, tn.t2);
            s = rdi_cv_append_line(&text, "", line, "");
        }
        free(name);
    }
    if (s == RADI_OK && text.len) {
        char *name = NULL, *file = NULL;
        s = rdi_tsname_make(t1, t2, version, &name);
        if (s == RADI_OK && !(file = rdi_asprintf("%s/" COMMITS_DIR "/%s.ign", uri, name)))
            s = RADI_E_NOMEM;
        if (s == RADI_OK) s = rdi_cv_write_text(ctx, file, &text);
        free(name);
        free(file);
    }
    rdi_buf_free(&text);

    /* The commit first: without it the fragment is invisible even if the .vac is lost. */
    for (size_t i = 0; s == RADI_OK && i < targets.n; i++) {
        char *wrt = rdi_asprintf("%s.wrt", targets.items[i]);
        if (!wrt) { s = RADI_E_NOMEM; break; }
        s = remove_in(ctx, uri, COMMITS_DIR, wrt, 0);
        free(wrt);
        if (s == RADI_OK) s = remove_in(ctx, uri, FRAGMENTS_DIR, targets.items[i], 1);
    }
    for (size_t i = 0; s == RADI_OK && i < vacs.n; i++)
        s = remove_in(ctx, uri, COMMITS_DIR, vacs.items[i], 0);

    free(nlines);
    rdi_strlist_free(&all_targets);
    rdi_strlist_free(&vacs);
    rdi_strlist_free(&lines);
    rdi_strlist_free(&targets);
    rdi_cv_commits_free(&c);
    return s;
}

/* Deletes the .wrt files a .con covers; once one .con lists every covered commit, the
 * other .con files, then the .ign files (as TileDB; .ign last, as an older .con may
 * still name an ignored commit). */
static radi_status vacuum_commits(radi_ctx *ctx, const char *uri)
{
    commits c;
    RDI_TRY(rdi_cv_commits_load(ctx, uri, &c));
    radi_status s = RADI_OK;
    for (size_t i = 0; s == RADI_OK && i < c.ls.n; i++) {
        const char *n = c.ls.items[i].name;
        if (c.ls.items[i].is_dir || !rdi_cv_ends_with(n, ".wrt")) continue;
        char *rel = rdi_asprintf(COMMITS_DIR "/%s", n);
        if (!rel) { s = RADI_E_NOMEM; break; }
        if (rdi_cv_sorted_has(&c.covered, rel)) s = remove_in(ctx, uri, COMMITS_DIR, n, 0);
        free(rel);
    }
    size_t full = c.ls.n;
    if (s == RADI_OK) s = rdi_cv_commits_full(&c, &full);
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; s == RADI_OK && full < c.ls.n && i < c.ls.n; i++) {
            const char *n = c.ls.items[i].name;
            if (i != full && rdi_cv_ends_with(n, pass == 0 ? ".con" : ".ign"))
                s = remove_in(ctx, uri, COMMITS_DIR, n, 0);
        }
    rdi_cv_commits_free(&c);
    return s;
}

/* Deletes every consolidated footer file but the newest (by t2), as TileDB. Footers not
 * in a kept file are read from the fragments' own files, so this is always safe. */
static radi_status vacuum_fragment_meta(radi_ctx *ctx, const char *uri)
{
    rdi_dirlist ls;
    RDI_TRY(rdi_cv_list_sub(ctx, uri, FRAG_META_DIR, &ls));
    radi_status s = RADI_OK;
    uint64_t newest = 0;
    rdi_tsname *tn = ls.n ? rdi_calloc(ls.n, sizeof *tn) : NULL;
    if (ls.n && !tn) s = RADI_E_NOMEM;
    for (size_t i = 0; s == RADI_OK && i < ls.n; i++) {
        if (ls.items[i].is_dir || !rdi_cv_ends_with(ls.items[i].name, ".meta")) continue;
        s = rdi_cv_parse_name(ls.items[i].name, ".meta", uri, &tn[i]);
        if (s == RADI_OK) newest = RDI_MAX(newest, tn[i].t2);
    }
    for (size_t i = 0; s == RADI_OK && i < ls.n; i++)
        if (!ls.items[i].is_dir && rdi_cv_ends_with(ls.items[i].name, ".meta") && tn[i].t2 < newest)
            s = remove_in(ctx, uri, FRAG_META_DIR, ls.items[i].name, 0);
    free(tn);
    rdi_dirlist_free(&ls);
    return s;
}

/* Deletes the metadata files listed by the .vac files in __meta, then the .vac, once the merged file
 * it belongs to exists. */
static radi_status vacuum_array_meta(radi_ctx *ctx, const char *uri)
{
    rdi_dirlist ls;
    RDI_TRY(rdi_cv_list_sub(ctx, uri, META_DIR, &ls));
    radi_status s = RADI_OK;
    for (size_t i = 0; s == RADI_OK && i < ls.n; i++) {
        const char *n = ls.items[i].name;
        if (ls.items[i].is_dir || !rdi_cv_ends_with(n, ".vac")) continue;
        char *merged = rdi_cv_strip_ext(n, ".vac");
        if (!merged) { s = RADI_E_NOMEM; break; }
        int present = 0;
        for (size_t j = 0; j < ls.n; j++) present |= strcmp(ls.items[j].name, merged) == 0;
        free(merged);
        if (!present) continue;
        rdi_strlist lines = RDI_STRLIST_INIT;
        char *file = rdi_cv_join3(uri, META_DIR, n);
        if (!file) s = RADI_E_NOMEM;
        if (s == RADI_OK) s = rdi_cv_read_lines(ctx, file, &lines);
        free(file);
        for (size_t j = 0; s == RADI_OK && j < lines.n; j++) {
            char *t = rdi_cv_vac_target(lines.items[j], META_DIR);
            if (t && !rdi_cv_ends_with(t, ".vac")) s = remove_in(ctx, uri, META_DIR, t, 0);
            free(t);
        }
        if (s == RADI_OK) s = remove_in(ctx, uri, META_DIR, n, 0);
        rdi_strlist_free(&lines);
    }
    rdi_dirlist_free(&ls);
    return s;
}

radi_status radi_vacuum(radi_ctx *ctx, const char *uri, radi_consolidation_mode mode)
{
    if (!ctx || !uri) return rdi_error(RADI_E_INVALID, "radi_vacuum: ctx or uri is NULL");
    if (mode < RADI_CONSOLIDATE_FRAGMENTS || mode > RADI_CONSOLIDATE_ARRAY_META)
        return rdi_error(RADI_E_INVALID, "radi_vacuum: unknown mode %d", (int)mode);
    char *u = rdi_uri_normalize(uri);
    if (!u) return RADI_E_NOMEM;
    radi_status s = rdi_cv_check_array(ctx, u);
    if (s == RADI_OK) {
        switch (mode) {
        case RADI_CONSOLIDATE_FRAGMENTS: s = vacuum_fragments(ctx, u); break;
        case RADI_CONSOLIDATE_COMMITS: s = vacuum_commits(ctx, u); break;
        case RADI_CONSOLIDATE_FRAGMENT_META: s = vacuum_fragment_meta(ctx, u); break;
        default: s = vacuum_array_meta(ctx, u); break;
        }
    }
    free(u);
    return s;
}

radi_status rdi_group_meta_vacuum(radi_ctx *ctx, const char *uri)
{
    char *u = rdi_uri_normalize(uri);
    if (!u) return RADI_E_NOMEM;
    radi_status s = rdi_cv_check_group(ctx, u);
    if (s == RADI_OK) s = vacuum_array_meta(ctx, u);
    free(u);
    return s;
}
