/*
 * The intent journal of dataset writes: see journal.h and docs/dataset.md §8.5.
 *
 * Text format (one object, written whole; names percent-encoded outside [A-Za-z0-9._-/]):
 *   radi-journal 1
 *   op <word>
 *   new <rel>                    (repeated)
 *   keep <rel-dir> <count>       (repeated, each followed by <count> lines: one name)
 *   move <from-rel> <to-rel>     (repeated, in the order performed)
 *   end
 * The closing "end" makes a truncated journal (which an atomic write never leaves, but a
 * foreign copy might) a parse error instead of a shorter roll-back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/journal.h"
#include "tdb/tdb.h"

#define JOURNAL_MAX (64u << 20) /* bytes; far above any real journal, bounds the reader */

typedef struct keep_dir {
    char *rel;        /* the directory, relative to root */
    rdi_strlist names; /* what was in it before the operation (sorted) */
    int listed;
} keep_dir;

struct rdi_journal {
    radi_ctx *ctx;
    char *root, *uri, *op;
    rdi_strlist news;
    keep_dir *keeps;
    size_t nkeeps, capkeeps;
    rdi_strlist move_from, move_to;
    int opened;       /* the journal object exists */
};

/* ---- building ---- */

radi_status rdi_journal_begin(radi_ctx *ctx, const char *root, const char *op, rdi_journal **out)
{
    *out = NULL;
    rdi_journal *j = rdi_calloc(1, sizeof *j);
    if (!j) return RADI_E_NOMEM;
    j->ctx = ctx;
    j->root = rdi_strdup(root);
    j->uri = rdi_path_join(root, RDI_DS_JOURNAL_NAME);
    j->op = rdi_strdup(op);
    if (!j->root || !j->uri || !j->op) {
        rdi_journal_free(j);
        return RADI_E_NOMEM;
    }
    *out = j;
    return RADI_OK;
}

void rdi_journal_free(rdi_journal *j)
{
    if (!j) return;
    for (size_t i = 0; i < j->nkeeps; i++) {
        free(j->keeps[i].rel);
        rdi_strlist_free(&j->keeps[i].names);
    }
    free(j->keeps);
    rdi_strlist_free(&j->news);
    rdi_strlist_free(&j->move_from);
    rdi_strlist_free(&j->move_to);
    free(j->root);
    free(j->uri);
    free(j->op);
    free(j);
}

/* "" and "." both name the root. */
static const char *rel_norm(const char *rel) { return (!rel || !strcmp(rel, ".")) ? "" : rel; }

/* A path below the root as the journal stores it: URIs of the root itself or below it
 * lose the root's prefix; relative paths stay. NULL for anything else (outside). */
static const char *to_rel(const rdi_journal *j, const char *p)
{
    if (!p) return NULL;
    size_t n = strlen(j->root);
    if (strncmp(p, j->root, n) == 0 && (p[n] == 0 || p[n] == '/')) return p[n] ? p + n + 1 : "";
    if (p[0] == '/' || strstr(p, "://")) return NULL;
    return rel_norm(p);
}

static radi_status outside(const rdi_journal *j, const char *p)
{
    return rdi_error(RADI_E_INTERNAL, "journal of %s: %s is not inside the dataset", j->root, p ? p : "(null)");
}

/* The absolute URI of rel (malloc'd). */
static char *abs_of(const rdi_journal *j, const char *rel)
{
    rel = rel_norm(rel);
    return *rel ? rdi_path_join(j->root, rel) : rdi_strdup(j->root);
}

radi_status rdi_journal_new(rdi_journal *j, const char *path)
{
    const char *rel = to_rel(j, path);
    return rel ? rdi_strlist_push(&j->news, rel) : outside(j, path);
}

static radi_status add_keep(rdi_journal *j, const char *path, const char *child)
{
    const char *rel = to_rel(j, path);
    if (!rel) return outside(j, path);
    if (j->nkeeps == j->capkeeps) {
        size_t cap = j->capkeeps ? 2 * j->capkeeps : 8;
        keep_dir *k = realloc(j->keeps, cap * sizeof *k);
        if (!k) return RADI_E_NOMEM;
        j->keeps = k;
        j->capkeeps = cap;
    }
    /* No child: the directory itself ("." for the root). */
    char *r = !child ? rdi_strdup(*rel ? rel : ".") : *rel ? rdi_path_join(rel, child) : rdi_strdup(child);
    if (!r) return RADI_E_NOMEM;
    j->keeps[j->nkeeps++] = (keep_dir){r, {0}, 0};
    return RADI_OK;
}

/* Publishing directories first: roll-back cleans them before the data they publish. */
radi_status rdi_journal_keep_array(rdi_journal *j, const char *rel)
{
    static const char *const dirs[] = {"__commits", "__meta", "__fragment_meta", "__fragments"};
    for (size_t i = 0; i < 4; i++) RDI_TRY(add_keep(j, rel, dirs[i]));
    return RADI_OK;
}

radi_status rdi_journal_keep_dir(rdi_journal *j, const char *rel) { return add_keep(j, rel, NULL); }

radi_status rdi_journal_keep_group(rdi_journal *j, const char *rel)
{
    RDI_TRY(add_keep(j, rel, "__group"));
    return add_keep(j, rel, "__meta");
}

/* ---- serializing ---- */

static int safe_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == '/';
}

static radi_status put_enc(rdi_buf *b, const char *s)
{
    if (!*s) return rdi_buf_append(b, ".", 1); /* the root */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (safe_byte(*p)) {
            RDI_TRY(rdi_buf_put_u8(b, *p));
        } else {
            char e[4];
            snprintf(e, sizeof e, "%%%02X", *p);
            RDI_TRY(rdi_buf_append(b, e, 3));
        }
    }
    return RADI_OK;
}

static radi_status put_line(rdi_buf *b, const char *word, const char *a, const char *c)
{
    RDI_TRY(rdi_buf_append(b, word, strlen(word)));
    if (a) {
        RDI_TRY(rdi_buf_put_u8(b, ' '));
        RDI_TRY(put_enc(b, a));
    }
    if (c) {
        RDI_TRY(rdi_buf_put_u8(b, ' '));
        RDI_TRY(rdi_buf_append(b, c, strlen(c)));
    }
    return rdi_buf_put_u8(b, '\n');
}

static radi_status serialize(const rdi_journal *j, rdi_buf *b)
{
    RDI_TRY(put_line(b, "radi-journal 1", NULL, NULL));
    RDI_TRY(put_line(b, "op", j->op, NULL));
    for (size_t i = 0; i < j->news.n; i++) RDI_TRY(put_line(b, "new", j->news.items[i], NULL));
    for (size_t i = 0; i < j->nkeeps; i++) {
        char cnt[24];
        snprintf(cnt, sizeof cnt, "%zu", j->keeps[i].names.n);
        RDI_TRY(put_line(b, "keep", j->keeps[i].rel, cnt));
        for (size_t k = 0; k < j->keeps[i].names.n; k++) {
            RDI_TRY(put_enc(b, j->keeps[i].names.items[k]));
            RDI_TRY(rdi_buf_put_u8(b, '\n'));
        }
    }
    for (size_t i = 0; i < j->move_from.n; i++) {
        RDI_TRY(rdi_buf_append(b, "move ", 5));
        RDI_TRY(put_enc(b, j->move_from.items[i]));
        RDI_TRY(rdi_buf_put_u8(b, ' '));
        RDI_TRY(put_enc(b, j->move_to.items[i]));
        RDI_TRY(rdi_buf_put_u8(b, '\n'));
    }
    return put_line(b, "end", NULL, NULL);
}

static radi_status write_journal(rdi_journal *j)
{
    rdi_buf b = {0};
    radi_status s = serialize(j, &b);
    /* One atomic, durable object (POSIX: temporary, fsync, rename, directory fsync). */
    if (s == RADI_OK) s = rdi_vfs_write(j->ctx->vfs, j->uri, b.data, b.len);
    rdi_buf_free(&b);
    if (s == RADI_OK) j->opened = 1;
    return s;
}

/* ---- listing the keep directories ---- */

static radi_status list_keep(void *arg, size_t i, unsigned worker)
{
    RDI_UNUSED(worker);
    rdi_journal *j = arg;
    keep_dir *k = &j->keeps[i];
    char *u = abs_of(j, k->rel);
    if (!u) return RADI_E_NOMEM;
    rdi_dirlist l = {NULL, 0};
    radi_status s = rdi_vfs_ls(j->ctx->vfs, u, &l);
    for (size_t e = 0; e < l.n && s == RADI_OK; e++) s = rdi_strlist_push(&k->names, l.items[e].name);
    if (s == RADI_OK) {
        rdi_strlist_sort(&k->names);
        k->listed = 1;
    }
    rdi_dirlist_free(&l);
    free(u);
    return s;
}

radi_status rdi_journal_open(rdi_journal *j)
{
    radi_status s;
    if (rdi_vfs_flags(j->ctx->vfs, j->root) & RDI_VFS_REMOTE) {
        s = rdi_pool_for(j->ctx->pool, j->nkeeps, list_keep, j);
    } else {
        s = RADI_OK;
        for (size_t i = 0; i < j->nkeeps && s == RADI_OK; i++) s = list_keep(j, i, 0);
    }
    if (s == RADI_OK) s = write_journal(j);
    if (s != RADI_OK) s = rdi_error_wrap(s, "%s: cannot write the journal of %s", j->uri, j->op);
    return s;
}

radi_status rdi_journal_move(rdi_journal *j, const char *from, const char *to)
{
    if (!j) return RADI_OK;
    const char *f = to_rel(j, from), *t = to_rel(j, to);
    if (!f || !*f) return outside(j, from);
    if (!t || !*t) return outside(j, to);
    RDI_TRY(rdi_strlist_push(&j->move_from, f));
    radi_status s = rdi_strlist_push(&j->move_to, t);
    if (s != RADI_OK) {
        free(j->move_from.items[--j->move_from.n]);
        return s;
    }
    return write_journal(j);
}

/* ---- rolling back ---- */

static radi_status exists(rdi_journal *j, const char *abs, int *out)
{
    int kind = 0;
    RDI_TRY(rdi_vfs_kind(j->ctx->vfs, abs, &kind));
    if (kind == 2 && (rdi_vfs_flags(j->ctx->vfs, abs) & RDI_VFS_NO_RENAME)) {
        /* A prefix: it exists while something is below it. */
        rdi_dirlist l = {NULL, 0};
        RDI_TRY(rdi_vfs_ls(j->ctx->vfs, abs, &l));
        kind = l.n ? 2 : 0;
        rdi_dirlist_free(&l);
    }
    *out = kind != 0;
    return RADI_OK;
}

/* Undoes move i (from -> to). Every move but the last completed; the last may not have
 * started, may be whole, or (object stores) may be split between both ends. */
static radi_status undo_move(rdi_journal *j, size_t i)
{
    char *from = abs_of(j, j->move_from.items[i]), *to = abs_of(j, j->move_to.items[i]);
    radi_status s = from && to ? RADI_OK : RADI_E_NOMEM;
    int at_from = 0, at_to = 0;
    if (s == RADI_OK) s = exists(j, from, &at_from);
    if (s == RADI_OK) s = exists(j, to, &at_to);
    if (s == RADI_OK && at_from && at_to) {
        /* Half-way (copy-then-delete, interrupted going either way): finish forward. */
        s = rdi_object_move_resume(j->ctx, from, to);
        at_from = 0;
    }
    /* Only at `from`: never started or already undone; nowhere: nothing to do. The
     * directory `from` was in may be gone (a staging directory is removed last). */
    if (s == RADI_OK && at_to) {
        const char *slash = strrchr(from, '/');
        char *parent = slash ? rdi_strndup(from, (size_t)(slash - from)) : NULL;
        s = !slash ? RADI_OK : parent ? rdi_vfs_mkdir(j->ctx->vfs, parent) : RADI_E_NOMEM;
        free(parent);
        if (s == RADI_OK) s = rdi_object_move(j->ctx, to, from);
    }
    if (s != RADI_OK) s = rdi_error_wrap(s, "undoing the move of %s to %s", from ? from : "?", to ? to : "?");
    free(from);
    free(to);
    return s;
}

/* Removes from a keep directory every name the operation added. */
static radi_status clean_keep(rdi_journal *j, const keep_dir *k)
{
    char *u = abs_of(j, k->rel);
    if (!u) return RADI_E_NOMEM;
    rdi_dirlist l = {NULL, 0};
    radi_status s = rdi_vfs_ls(j->ctx->vfs, u, &l);
    for (size_t e = 0; e < l.n && s == RADI_OK; e++) {
        if (rdi_strlist_has_sorted(&k->names, l.items[e].name, strlen(l.items[e].name))) continue;
        /* The root kept whole: its lock stays and its journal goes last (rollback). */
        if (!strcmp(k->rel, ".") && (!strcmp(l.items[e].name, RDI_DS_JOURNAL_NAME) ||
                                     !strcmp(l.items[e].name, "__radi_lock")))
            continue;
        char *p = rdi_path_join(u, l.items[e].name);
        if (!p) s = RADI_E_NOMEM;
        else if (l.items[e].is_dir) s = rdi_vfs_remove_dir(j->ctx->vfs, p);
        else s = rdi_vfs_remove_file(j->ctx->vfs, p);
        free(p);
    }
    rdi_dirlist_free(&l);
    free(u);
    return s;
}

/* Removes a tree the operation created; the root's own journal goes last (by the
 * caller), so a roll-back interrupted here is found and finished again. */
static radi_status remove_new(rdi_journal *j, const char *rel)
{
    if (*rel) {
        char *u = abs_of(j, rel);
        if (!u) return RADI_E_NOMEM;
        radi_status s = rdi_vfs_remove_dir(j->ctx->vfs, u);
        if (s == RADI_E_NOT_FOUND) s = RADI_OK;
        free(u);
        return s;
    }
    rdi_dirlist l = {NULL, 0};
    radi_status s = rdi_vfs_ls(j->ctx->vfs, j->root, &l);
    for (size_t e = 0; e < l.n && s == RADI_OK; e++) {
        const char *name = l.items[e].name;
        if (!strcmp(name, RDI_DS_JOURNAL_NAME) || !strcmp(name, "__radi_lock")) continue;
        char *p = rdi_path_join(j->root, name);
        if (!p) s = RADI_E_NOMEM;
        else if (l.items[e].is_dir) s = rdi_vfs_remove_dir(j->ctx->vfs, p);
        else s = rdi_vfs_remove_file(j->ctx->vfs, p);
        free(p);
    }
    rdi_dirlist_free(&l);
    return s;
}

/* Removes the temporary files a killed local write left in dir (relative): they are made
 * next to the TileDB directories (never inside them), so they sit in the parents of the
 * keep directories and in the root (the journal's own). */
static radi_status clean_temps(rdi_journal *j, const char *rel)
{
    char *u = abs_of(j, rel);
    radi_status s = u ? rdi_vfs_remove_temps(j->ctx->vfs, u) : RADI_E_NOMEM;
    free(u);
    return s;
}

static radi_status rollback(rdi_journal *j)
{
    radi_status s = RADI_OK;
    for (size_t i = j->move_from.n; i-- > 0 && s == RADI_OK;) s = undo_move(j, i);
    for (size_t i = 0; i < j->nkeeps && s == RADI_OK; i++) s = clean_keep(j, &j->keeps[i]);
    {
        s = s == RADI_OK ? clean_temps(j, "") : s;
        for (size_t i = 0; i < j->nkeeps && s == RADI_OK; i++) {
            /* The keep directory's parent: its path up to the last '/' ("" for the root). */
            const char *rel = j->keeps[i].rel, *slash = strrchr(rel, '/');
            /* A directory kept whole (rdi_journal_keep_dir; not a TileDB "__" one) holds
             * the temporaries of the objects added to it. */
            const char *base = slash ? slash + 1 : rel;
            if (strcmp(rel, ".") && strncmp(base, "__", 2)) s = clean_temps(j, rel);
            if (s != RADI_OK) break;
            if (!slash) continue; /* the root, done above */
            char *parent = rdi_strndup(rel, (size_t)(slash - rel));
            s = parent ? clean_temps(j, parent) : RADI_E_NOMEM;
            free(parent);
        }
    }
    for (size_t i = j->news.n; i-- > 0 && s == RADI_OK;) s = remove_new(j, j->news.items[i]);
    if (s == RADI_OK) s = rdi_vfs_remove_file(j->ctx->vfs, j->uri);
    if (s == RADI_OK) j->opened = 0;
    return s;
}

radi_status rdi_journal_finish(rdi_journal *j, radi_status st)
{
    if (!j) return st;
    radi_status s = RADI_OK;
    if (st == RADI_OK) {
        if (j->opened) s = rdi_vfs_remove_file(j->ctx->vfs, j->uri);
        if (s != RADI_OK) s = rdi_error_wrap(s, "%s: the %s completed, but its journal could not be removed", j->uri, j->op);
        rdi_journal_free(j);
        return s;
    }
    char *why = rdi_strdup(radi_errmsg());
    if (j->opened) {
        s = rollback(j);
        if (s != RADI_OK && why) {
            /* The first error is the one to report; say the roll-back is pending. */
            char *more = rdi_asprintf("%s (the roll-back also failed: %s; the next write to %s, or `radi repair`, "
                                      "finishes it)",
                                      why, radi_errmsg(), j->root);
            if (more) {
                free(why);
                why = more;
            }
        }
    }
    if (why) rdi_error(st, "%s", why);
    free(why);
    rdi_journal_free(j);
    return st;
}

/* ---- reading ---- */

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes one token (percent-encoded, "." for the root) into a malloc'd string. */
static char *dec(const char *p, size_t n)
{
    if (n == 1 && p[0] == '.') return rdi_strdup("");
    char *o = rdi_malloc(n + 1);
    if (!o) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '%') {
            int h = i + 2 < n ? hexval(p[i + 1]) : -1, l = i + 2 < n ? hexval(p[i + 2]) : -1;
            if (h < 0 || l < 0 || (h == 0 && l == 0)) {
                free(o);
                return NULL;
            }
            o[k++] = (char)(h * 16 + l);
            i += 2;
        } else if (safe_byte((unsigned char)p[i])) {
            o[k++] = p[i];
        } else {
            free(o);
            return NULL;
        }
    }
    o[k] = 0;
    return o;
}

/* A decoded relative path must stay inside the root: no "..", no absolute paths. */
static int rel_ok(const char *s)
{
    if (s[0] == '/') return 0;
    for (const char *p = s; *p;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0 || (n == 2 && p[0] == '.' && p[1] == '.') || (n == 1 && p[0] == '.')) return 0;
        p = e ? e + 1 : p + n;
    }
    return 1;
}

typedef struct line_rd {
    const char *p, *end;
    size_t lineno;
} line_rd;

/* The next line (without '\n'); 0 at the end. */
static int next_line(line_rd *r, const char **s, size_t *n)
{
    if (r->p >= r->end) return 0;
    const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
    if (!nl) return 0; /* every line ends with '\n' */
    *s = r->p;
    *n = (size_t)(nl - r->p);
    r->p = nl + 1;
    r->lineno++;
    return 1;
}

/* Splits "word a [b]" into tokens; returns the token count (max 3). */
static int split(const char *s, size_t n, const char *tok[3], size_t len[3])
{
    int k = 0;
    size_t i = 0;
    while (i < n) {
        if (k == 3) return 4;
        size_t b = i;
        while (i < n && s[i] != ' ') i++;
        tok[k] = s + b;
        len[k++] = i - b;
        if (i < n) i++; /* one space */
        if (i == n && s[n - 1] == ' ') return 4;
    }
    return k;
}

static radi_status bad(const char *uri, size_t line, const char *why)
{
    return rdi_error(RADI_E_CORRUPT, "%s: corrupt journal (line %zu: %s); nothing was changed — inspect it, "
                                     "and remove it only once the dataset is known to be whole",
                     uri, line, why);
}

radi_status rdi_journal_parse(radi_ctx *ctx, const char *root, const uint8_t *text, size_t n, rdi_journal **out)
{
    *out = NULL;
    rdi_journal *j = NULL;
    RDI_TRY(rdi_journal_begin(ctx, root, "?", &j));
    line_rd r = {(const char *)text, (const char *)text + n, 0};
    const char *s;
    size_t len;
    radi_status st = RADI_OK;
    int ended = 0;
    if (!next_line(&r, &s, &len) || len != 14 || memcmp(s, "radi-journal 1", 14) != 0) {
        st = bad(j->uri, 1, "not a radi journal of version 1");
        goto done;
    }
    while (st == RADI_OK && !ended && next_line(&r, &s, &len)) {
        const char *tok[3];
        size_t tl[3];
        int nt = split(s, len, tok, tl);
        char *a = NULL, *b = NULL;
        if (nt == 1 && tl[0] == 3 && !memcmp(tok[0], "end", 3)) {
            ended = 1;
        } else if (nt == 2 && tl[0] == 2 && !memcmp(tok[0], "op", 2)) {
            free(j->op);
            j->op = dec(tok[1], tl[1]);
            if (!j->op || !*j->op) st = bad(j->uri, r.lineno, "bad operation name");
        } else if (nt == 2 && tl[0] == 3 && !memcmp(tok[0], "new", 3)) {
            a = dec(tok[1], tl[1]);
            if (!a || (*a && !rel_ok(a))) st = bad(j->uri, r.lineno, "bad path");
            else st = rdi_strlist_push(&j->news, a);
        } else if (nt == 3 && tl[0] == 4 && !memcmp(tok[0], "keep", 4)) {
            a = dec(tok[1], tl[1]);
            char *endp = NULL;
            char num[24] = {0};
            unsigned long long cnt = 0;
            if (tl[2] > 0 && tl[2] < sizeof num) {
                memcpy(num, tok[2], tl[2]);
                cnt = strtoull(num, &endp, 10);
            }
            if (!a || (*a && !rel_ok(a)) || !endp || *endp || num[0] < '0' || num[0] > '9' ||
                cnt > (unsigned long long)n) {
                st = bad(j->uri, r.lineno, "bad keep line");
            } else if ((st = add_keep(j, "", *a ? a : NULL)) == RADI_OK) { /* "" (".") is the root itself */
                keep_dir *k = &j->keeps[j->nkeeps - 1];
                k->listed = 1;
                for (unsigned long long c = 0; c < cnt && st == RADI_OK; c++) {
                    char *nm = NULL;
                    if (!next_line(&r, &s, &len) || !len || !(nm = dec(s, len)) || !*nm || strchr(nm, '/'))
                        st = bad(j->uri, r.lineno, "bad or missing name in a keep list");
                    else st = rdi_strlist_push(&k->names, nm);
                    free(nm);
                }
                if (st == RADI_OK) rdi_strlist_sort(&k->names);
            }
        } else if (nt == 3 && tl[0] == 4 && !memcmp(tok[0], "move", 4)) {
            a = dec(tok[1], tl[1]);
            b = dec(tok[2], tl[2]);
            if (!a || !b || !*a || !*b || !rel_ok(a) || !rel_ok(b)) st = bad(j->uri, r.lineno, "bad move");
            else if ((st = rdi_strlist_push(&j->move_from, a)) == RADI_OK) st = rdi_strlist_push(&j->move_to, b);
        } else {
            st = bad(j->uri, r.lineno, "unknown line");
        }
        free(a);
        free(b);
    }
    if (st == RADI_OK && !ended) st = bad(j->uri, r.lineno, "no closing \"end\" line");
    if (st == RADI_OK && r.p != r.end) st = bad(j->uri, r.lineno, "text after \"end\"");
    if (st == RADI_OK && !strcmp(j->op, "?")) st = bad(j->uri, r.lineno, "no operation line");
done:
    if (st != RADI_OK) {
        rdi_journal_free(j);
        return st;
    }
    j->opened = 1;
    *out = j;
    return RADI_OK;
}

/* Reads the journal at root: RADI_OK with *out NULL when there is none. */
static radi_status load(radi_ctx *ctx, const char *root, rdi_journal **out)
{
    *out = NULL;
    char *u = rdi_path_join(root, RDI_DS_JOURNAL_NAME);
    if (!u) return RADI_E_NOMEM;
    uint64_t size = 0;
    radi_status s = rdi_vfs_size(ctx->vfs, u, &size);
    if (s == RADI_E_NOT_FOUND) {
        rdi_error_clear();
        free(u);
        return RADI_OK;
    }
    if (s == RADI_OK && size > JOURNAL_MAX)
        s = rdi_error(RADI_E_CORRUPT, "%s: corrupt journal (%llu bytes)", u, (unsigned long long)size);
    uint8_t *buf = NULL;
    if (s == RADI_OK && !(buf = rdi_malloc(size ? size : 1))) s = RADI_E_NOMEM;
    if (s == RADI_OK) s = rdi_vfs_read(ctx->vfs, u, 0, buf, size);
    if (s == RADI_OK) s = rdi_journal_parse(ctx, root, buf, size, out);
    free(buf);
    free(u);
    return s;
}

radi_status rdi_journal_recover(radi_ctx *ctx, const char *root, char **op)
{
    if (op) *op = NULL;
    rdi_journal *j = NULL;
    RDI_TRY(load(ctx, root, &j));
    /* No journal: a writer killed while writing it left at most its temporary. */
    if (!j) return rdi_vfs_remove_temps(ctx->vfs, root);
    radi_status s = rollback(j);
    if (s != RADI_OK)
        s = rdi_error_wrap(s, "%s: rolling back the interrupted %s (journal %s)", root, j->op, RDI_DS_JOURNAL_NAME);
    if (s == RADI_OK && op && !(*op = rdi_strdup(j->op))) s = RADI_E_NOMEM;
    rdi_journal_free(j);
    return s;
}

radi_status rdi_journal_describe(radi_ctx *ctx, const char *root, char **line)
{
    *line = NULL;
    rdi_journal *j = NULL;
    radi_status s = load(ctx, root, &j);
    if (s == RADI_E_CORRUPT) {
        *line = rdi_strdup(radi_errmsg());
        return *line ? RADI_OK : RADI_E_NOMEM;
    }
    if (s != RADI_OK || !j) return s;
    *line = rdi_asprintf("%s: an interrupted %s (journal %s: %zu moves, %zu new trees): the next write to the "
                         "dataset rolls it back, or run `radi repair %s`",
                         root, j->op, RDI_DS_JOURNAL_NAME, j->move_from.n, j->news.n, root);
    rdi_journal_free(j);
    return *line ? RADI_OK : RADI_E_NOMEM;
}

int rdi_journal_paths_confined(const rdi_journal *j)
{
    for (size_t i = 0; i < j->news.n; i++)
        if (*j->news.items[i] && !rel_ok(j->news.items[i])) return 0;
    for (size_t i = 0; i < j->nkeeps; i++) {
        if (!rel_ok(j->keeps[i].rel) && strcmp(j->keeps[i].rel, ".")) return 0;
        for (size_t k = 0; k < j->keeps[i].names.n; k++)
            if (!*j->keeps[i].names.items[k] || strchr(j->keeps[i].names.items[k], '/')) return 0;
    }
    for (size_t i = 0; i < j->move_from.n; i++)
        if (!rel_ok(j->move_from.items[i]) || !rel_ok(j->move_to.items[i])) return 0;
    return j->op && *j->op;
}
