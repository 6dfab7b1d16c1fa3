/*
 * What consolidation (consolidate.c) and vacuum (vacuum.c) share: listing and name
 * helpers, the text files they read and write, and the commit state of an array.
 */
#ifndef RDI_CONSOLIDATE_INT_H
#define RDI_CONSOLIDATE_INT_H

#include "tdb/sparse.h"
#include "tdb/tdb.h"

/* What __commits holds: the listing, the ignored lines (.ign), and the lines of every
 * consolidated-commits file (.con) that are not ignored. Lines are relative, as
 * "__commits/<fragment>.wrt". */
typedef struct commits {
    rdi_dirlist ls;
    rdi_strlist ignored;   /* sorted */
    rdi_strlist covered;   /* sorted union of the non-ignored .con lines */
    rdi_strlist *con;      /* per listing entry: its .con lines (empty for others) */
} commits;

int rdi_cv_ends_with(const char *s, const char *sfx);
char *rdi_cv_strip_ext(const char *name, const char *ext);
int rdi_cv_sorted_has(const rdi_strlist *l, const char *s);
void rdi_cv_sort_unique(rdi_strlist *l);
radi_status rdi_cv_list_sub(radi_ctx *ctx, const char *uri, const char *sub, rdi_dirlist *out);
char *rdi_cv_join3(const char *uri, const char *sub, const char *name);
radi_status rdi_cv_read_lines(radi_ctx *ctx, const char *file, rdi_strlist *out);
char *rdi_cv_vac_target(const char *line, const char *dir);
radi_status rdi_cv_parse_name(const char *file, const char *ext, const char *where,
                              rdi_tsname *out);
radi_status rdi_cv_write_text(radi_ctx *ctx, const char *file, const rdi_buf *text);
radi_status rdi_cv_append_line(rdi_buf *b, const char *prefix, const char *name, const char *sfx);
uint32_t rdi_cv_write_version(const radi_ctx *ctx, const radi_schema *s);
radi_status rdi_cv_check_array(radi_ctx *ctx, const char *uri);
void rdi_cv_commits_free(commits *c);
radi_status rdi_cv_commits_load(radi_ctx *ctx, const char *uri, commits *c);
radi_status rdi_cv_commits_has(const commits *c, const char *name, int *out);
radi_status rdi_cv_commits_full(const commits *c, size_t *out);
radi_status rdi_cv_check_group(radi_ctx *ctx, const char *uri);

#endif
