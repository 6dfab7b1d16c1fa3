/*
 * libFuzzer target: a group details file (__group/__t_t_uuid_2: a generic tile around
 * `u32 version | u64 n | members`, src/tdb/group.c). The input is stored in an in-memory
 * VFS (fuzz_tree.h) as the only details file of a group, twice over: verbatim (tile
 * header, pipeline and GZIP body all mutable) and as a payload wrapped in a valid generic
 * tile (so mutations reach the member records). radi_group_open parses it; a group that
 * opens has members with a URI, a known type and unique keys. Then the serializer is
 * exercised and checked: removing the first member writes a new details file holding the
 * rest, and reopening must show exactly the other members, unchanged and in order.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GROUP "/fuzz/g"
#define DETAILS GROUP "/__group/__1_1_0123456789abcdef0123456789abcdef_2"

typedef struct snap {
    char *name, *uri, *resolved;
    radi_object_type type;
    int relative;
} snap;

static int str_eq(const char *a, const char *b) { return (!a && !b) || (a && b && strcmp(a, b) == 0); }

static snap *snapshot(const radi_group *g, uint64_t *n)
{
    *n = radi_group_member_count(g);
    snap *s = calloc(*n ? *n : 1, sizeof *s);
    if (!s) abort();
    for (uint64_t i = 0; i < *n; i++) {
        radi_group_member m;
        if (radi_group_member_at(g, i, &m) != RADI_OK) abort();
        if (!m.uri || !m.resolved_uri) abort();
        if (m.type != RADI_OBJECT_GROUP && m.type != RADI_OBJECT_ARRAY) abort();
        s[i] = (snap){m.name ? strdup(m.name) : NULL, strdup(m.uri), strdup(m.resolved_uri), m.type,
                      m.relative};
        const char *key = m.name ? m.name : m.uri;
        for (uint64_t j = 0; j < i; j++)
            if (strcmp(s[j].name ? s[j].name : s[j].uri, key) == 0) abort(); /* keys unique */
    }
    return s;
}

static void snap_free(snap *s, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        free(s[i].name);
        free(s[i].uri);
        free(s[i].resolved);
    }
    free(s);
}

static void run(const uint8_t *file, size_t len)
{
    ft_vfs *v = NULL;
    radi_ctx *ctx = ft_ctx(&v);
    if (!ctx) return;
    if (ft_add(v, GROUP "/__tiledb_group.tdb", "", 0, 0) != RADI_OK ||
        ft_add(v, GROUP "/__meta", NULL, 0, 1) != RADI_OK || ft_add(v, DETAILS, file, len, 0) != RADI_OK) {
        radi_ctx_free(ctx);
        return;
    }
    radi_group *g = NULL;
    if (radi_group_open(ctx, GROUP, &g) != RADI_OK) {
        if (!radi_errmsg()[0]) abort();
        radi_ctx_free(ctx);
        return;
    }
    uint64_t n;
    snap *before = snapshot(g, &n);
    if (n > 0) {
        const char *key = before[0].name ? before[0].name : before[0].uri;
        if (radi_group_remove_member(g, key) != RADI_OK) abort();
        radi_group *again = NULL;
        if (radi_group_open(ctx, GROUP, &again) != RADI_OK) abort();
        uint64_t m;
        snap *after = snapshot(again, &m);
        if (m != n - 1) abort();
        for (uint64_t i = 0; i < m; i++) {
            const snap *a = &before[i + 1], *b = &after[i];
            if (!str_eq(a->name, b->name) || strcmp(a->uri, b->uri) != 0 ||
                strcmp(a->resolved, b->resolved) != 0 || a->type != b->type || a->relative != b->relative)
                abort();
        }
        snap_free(after, m);
        radi_group_close(again);
    }
    snap_free(before, n);
    radi_group_close(g);
    radi_ctx_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(data, size);
    rdi_scratch *scratch = NULL;
    if (rdi_scratch_create(&scratch) != RADI_OK) return 0;
    rdi_buf tile = RDI_BUF_INIT;
    if (rdi_generic_tile_encode(data, size, 22, scratch, &tile) == RADI_OK) run(tile.data, tile.len);
    rdi_buf_free(&tile);
    rdi_scratch_free(scratch);
    return 0;
}
