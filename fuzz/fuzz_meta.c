/*
 * libFuzzer target: array/group metadata (__meta/: generic tiles of `u32 key_len | key |
 * u8 del | [u8 type | u32 count | values]` records, plus .vac lists of merged files;
 * src/tdb/meta.c and the array-metadata halves of src/tdb/consolidate.c and vacuum.c). The input is an
 * array directory in the tree format of fuzz_tree.h ("@=__meta/<name>" wraps a record
 * payload in a generic tile), stored in an in-memory VFS. Checks:
 *   - rdi_meta_load over [0, max] fails with a message or gives entries sorted by key,
 *     keys non-empty, a value for every non-zero count;
 *   - parse -> rdi_meta_serialize -> re-parse (as a single file) gives the same entries;
 *   - when the array opens, radi_consolidate + radi_vacuum in ARRAY_META mode leave the
 *     values a reader sees unchanged (only checked when no name in __meta is stamped in
 *     the future, where consolidation legitimately leaves files out).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROOT "/fuzz/a"

static void check_sane(const radi_meta *m)
{
    for (uint64_t i = 0; i < m->n; i++) {
        const rdi_meta_entry *e = &m->entries[i];
        if (!e->key || !e->key[0]) abort();
        if (i && strcmp(m->entries[i - 1].key, e->key) >= 0) abort();
        if (e->count && !e->value) abort();
        if (!rdi_meta_type_size((uint8_t)e->type)) abort();
    }
}

static int same(const radi_meta *a, const radi_meta *b)
{
    if (a->n != b->n) return 0;
    for (uint64_t i = 0; i < a->n; i++) {
        const rdi_meta_entry *x = &a->entries[i], *y = &b->entries[i];
        size_t nb = (size_t)x->count * rdi_meta_type_size((uint8_t)x->type);
        if (strcmp(x->key, y->key) != 0 || x->type != y->type || x->count != y->count) return 0;
        if (nb && memcmp(x->value, y->value, nb) != 0) return 0;
    }
    return 1;
}

/* Re-reads the serialized entries as the only file of a fresh metadata directory. */
static void round_trip(const radi_meta *m)
{
    rdi_buf payload = RDI_BUF_INIT, tile = RDI_BUF_INIT;
    rdi_scratch *scratch = NULL;
    ft_vfs *v = NULL;
    radi_ctx *ctx = ft_ctx(&v);
    if (!ctx || rdi_scratch_create(&scratch) != RADI_OK) abort();
    if (rdi_meta_serialize(m, &payload) != RADI_OK) abort();
    if (rdi_generic_tile_encode(payload.data, payload.len, 22, scratch, &tile) != RADI_OK) abort();
    if (ft_add(v, "/fuzz/b/__meta/__5_5_0123456789abcdef0123456789abcdef", tile.data, tile.len, 0) == RADI_OK) {
        radi_meta again;
        if (rdi_meta_load(ctx, "/fuzz/b", 0, UINT64_MAX, 22, &again) != RADI_OK) abort();
        if (!same(m, &again)) abort();
        rdi_meta_clear(&again);
    }
    rdi_scratch_free(scratch);
    rdi_buf_free(&payload);
    rdi_buf_free(&tile);
    radi_ctx_free(ctx);
}

/* Whether some name in __meta is stamped after now (or does not parse). */
static int has_future(radi_ctx *ctx)
{
    rdi_dirlist ls = {NULL, 0};
    if (rdi_vfs_ls(ctx->vfs, ROOT "/__meta", &ls) != RADI_OK) return 1;
    uint64_t now = rdi_now_ms();
    int future = 0;
    for (size_t i = 0; i < ls.n && !future; i++) {
        char *n = strdup(ls.items[i].name);
        if (!n) abort();
        size_t l = strlen(n);
        if (l > 4 && strcmp(n + l - 4, ".vac") == 0) n[l - 4] = '\0';
        rdi_tsname tn;
        future = ls.items[i].is_dir || rdi_tsname_parse(n, &tn) != RADI_OK || tn.t2 > now;
        free(n);
    }
    rdi_dirlist_free(&ls);
    return future;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ft_vfs *v = NULL;
    radi_ctx *ctx = ft_ctx(&v);
    if (!ctx) return 0;
    ft_load_tree(v, ROOT, data, size);

    radi_meta m;
    if (rdi_meta_load(ctx, ROOT, 0, UINT64_MAX, 22, &m) != RADI_OK) {
        if (!radi_errmsg()[0]) abort();
        radi_ctx_free(ctx);
        return 0;
    }
    check_sane(&m);
    round_trip(&m);

    int future = has_future(ctx);
    if (radi_consolidate(ctx, ROOT, RADI_CONSOLIDATE_ARRAY_META) == RADI_OK &&
        radi_vacuum(ctx, ROOT, RADI_CONSOLIDATE_ARRAY_META) == RADI_OK) {
        radi_meta after;
        if (rdi_meta_load(ctx, ROOT, 0, UINT64_MAX, 22, &after) == RADI_OK) {
            check_sane(&after);
            if (!future && !same(&m, &after)) abort();
            rdi_meta_clear(&after);
        } else if (!future) {
            abort(); /* it loaded before; consolidation must not make it unreadable */
        }
    }
    rdi_meta_clear(&m);
    radi_ctx_free(ctx);
    return 0;
}
