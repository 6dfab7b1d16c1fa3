/*
 * libFuzzer target: the commit files of an array (__commits/: empty <name>.wrt markers,
 * and the '\n'-separated name lists of .con consolidated commits, .ign ignore files and
 * .vac vacuum files) as array open (src/tdb/array.c: list_commits, apply_vac,
 * rdi_vac_target) and consolidation/vacuum (src/tdb/consolidate_util.c, vacuum.c: rdi_cv_read_lines,
 * rdi_cv_commits_load, rdi_cv_vac_target) parse them. The input is a whole array directory in the tree
 * format of fuzz_tree.h, stored in an in-memory VFS; the seeds are real arrays written by
 * TileDB-Py, so the schema and fragments load and mutations concentrate on the commit
 * files. Checks:
 *   - radi_array_open over [0, max] fails with a message, or shows fragments with
 *     distinct names sorted by t1;
 *   - consolidating commits, then vacuuming commits and fragments, never changes which
 *     fragments a reader over [0, max] sees (each step either fails cleanly or keeps the
 *     view), and an array that opened before still opens after.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROOT "/fuzz/a"

/* The visible fragment names (malloc'd copies), or NULL when the array does not open. */
static rdi_strlist *visible(radi_ctx *ctx)
{
    radi_array *a = NULL;
    if (radi_array_open(ctx, ROOT, 0, UINT64_MAX, &a) != RADI_OK) {
        if (!radi_errmsg()[0]) abort();
        return NULL;
    }
    rdi_strlist *l = calloc(1, sizeof *l);
    if (!l) abort();
    for (uint32_t i = 0; i < a->nfrags; i++) {
        if (i && a->frags[i - 1]->t1 > a->frags[i]->t1) abort(); /* oldest first */
        if (rdi_strlist_push(l, a->frags[i]->name) != RADI_OK) abort();
    }
    radi_array_close(a);
    rdi_strlist_sort(l);
    for (size_t i = 1; i < l->n; i++)
        if (strcmp(l->items[i - 1], l->items[i]) == 0) abort(); /* each fragment once */
    return l;
}

static void list_free(rdi_strlist *l)
{
    if (!l) return;
    rdi_strlist_free(l);
    free(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ft_vfs *v = NULL;
    radi_ctx *ctx = ft_ctx(&v);
    if (!ctx) return 0;
    ft_load_tree(v, ROOT, data, size);

    rdi_strlist *before = visible(ctx);
    /* Even when the array does not open, vacuum parses the same files. */
    int ok = radi_consolidate(ctx, ROOT, RADI_CONSOLIDATE_COMMITS) == RADI_OK;
    ok = radi_vacuum(ctx, ROOT, RADI_CONSOLIDATE_COMMITS) == RADI_OK && ok;
    ok = radi_vacuum(ctx, ROOT, RADI_CONSOLIDATE_FRAGMENTS) == RADI_OK && ok;
    if (before && ok) {
        rdi_strlist *after = visible(ctx);
        if (!after || after->n != before->n) abort();
        for (size_t i = 0; i < before->n; i++)
            if (strcmp(before->items[i], after->items[i]) != 0) abort();
        list_free(after);
    }
    list_free(before);
    radi_ctx_free(ctx);
    return 0;
}
