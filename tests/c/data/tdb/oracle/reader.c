/* Reads back with radi what check.py changed with TileDB-Py (see writer.c for how to run). */
#include <stdio.h>
#include <stdlib.h>
#include "tdb/tdb.h"
#define CHECK(x) do { radi_status s_ = (x); if (s_) { fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, radi_errmsg()); exit(1); } } while (0)
int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    radi_ctx *ctx; CHECK(radi_ctx_create(NULL, &ctx));
    char p[1024];
    snprintf(p, sizeof p, "%s/grp", argv[1]);
    radi_group *g; CHECK(radi_group_open(ctx, p, &g));
    for (uint64_t i = 0; i < radi_group_member_count(g); i++) {
        radi_group_member m; CHECK(radi_group_member_at(g, i, &m));
        printf("member name=%s uri=%s resolved=%s type=%d rel=%d\n", m.name ? m.name : "-", m.uri, m.resolved_uri, m.type, m.relative);
    }
    if (radi_group_member_count(g) != 3) { fprintf(stderr, "expected 3 members\n"); return 1; }
    radi_group_close(g);
    for (int v = 20; v <= 22; v++) {
        snprintf(p, sizeof p, "%s/dense3d_v%d", argv[1], v);
        radi_array *a; CHECK(radi_array_open(ctx, p, 0, 0, &a));
        printf("%s: nfrags=%u frag0=%s version=%u meta=%llu last_t1=%llu\n", p, a->nfrags, a->nfrags ? a->frags[0]->name : "-", a->nfrags ? a->frags[0]->version : 0, (unsigned long long)radi_meta_count(radi_array_meta(a)), (unsigned long long)a->last_t1);
        if (a->nfrags != 1 || radi_meta_count(radi_array_meta(a)) != 4) { fprintf(stderr, "unexpected\n"); return 1; }
        radi_array_close(a);
    }
    printf("ALL OK\n");
    radi_ctx_free(ctx);
    return 0;
}
