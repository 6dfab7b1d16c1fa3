/*
 * What the sparse query builders (sparse_query.c) and the sparse read engine
 * (sparse_read.c) share: the query handle and the field helpers (field k: dimensions
 * 0..ndim-1, then attributes).
 */
#ifndef RDI_SPARSE_QUERY_H
#define RDI_SPARSE_QUERY_H

#include <string.h>

#include "query/expr.h"
#include "tdb/prefetch.h"
#include "tdb/sparse.h"

struct radi_sparse_query {
    radi_array *a;
    const radi_schema *s;
    rdi_gorder g;
    rdi_qrange *r[RDI_SPARSE_MAX_DIMS];
    uint32_t nr[RDI_SPARSE_MAX_DIMS];
    void **owned;               /* copies of string range bounds */
    size_t nowned;
    uint32_t ncols;             /* 0 = all fields */
    uint32_t *cols;             /* field ids: dims 0..ndim-1, then attrs */
    rdi_expr *expr;
    uint64_t rows;
    uint32_t nres;
    uint32_t *res_field;        /* [nres] */
    rdi_ocol *res;              /* [nres] */
};

/* ------------------------------------------------------------------- fields -- */

static inline uint32_t nfields_of(const radi_schema *s) { return s->ndim + s->nattr; }

static inline const char *field_name(const radi_schema *s, uint32_t k)
{
    return k < s->ndim ? s->dims[k].name : s->attrs[k - s->ndim].name;
}

static inline int field_index(const radi_schema *s, const char *name, uint32_t *k)
{
    for (uint32_t i = 0; i < nfields_of(s); i++)
        if (strcmp(field_name(s, i), name) == 0) {
            *k = i;
            return 1;
        }
    return 0;
}

typedef struct finfo {
    radi_datatype type;
    uint32_t cell_size;         /* 0 = var */
    uint32_t cell_val_num;
    int nullable;
} finfo;

static inline void field_info(const radi_schema *s, uint32_t k, finfo *f)
{
    memset(f, 0, sizeof *f);
    if (k < s->ndim) {
        const rdi_dim *d = &s->dims[k];
        f->type = d->type;
        f->cell_val_num = d->cell_val_num;
        f->cell_size = d->cell_val_num == RADI_VAR_NUM ? 0 : (uint32_t)rdi_dim_size(d);
    } else {
        const rdi_attr *at = &s->attrs[k - s->ndim];
        f->type = at->type;
        f->cell_val_num = at->cell_val_num;
        f->cell_size = at->cell_val_num == RADI_VAR_NUM ? 0 : rdi_attr_cell_size(at);
        f->nullable = at->nullable;
    }
}

static inline const rdi_qdim *query_dims(const radi_sparse_query *q, rdi_qdim *qd)
{
    for (uint32_t d = 0; d < q->s->ndim; d++) {
        qd[d].n = q->nr[d];
        qd[d].r = q->r[d];
    }
    return qd;
}

/* One tile a read visits: its fragment (index into the read's fragments), its tile
 * number, and whether every cell of it is inside the query ranges. */
typedef struct rtile {
    uint32_t frag;
    uint64_t tile;
    uint8_t full;
} rtile;

/* One submit's state, shared by the planner (sparse_read.c) and the tile tasks. */
typedef struct rjob {
    radi_sparse_query *q;
    radi_ctx *ctx;
    rdi_fragmeta **frags;
    rtile *tiles;
    uint64_t ntiles;
    uint32_t nneed;
    uint32_t *need;             /* field ids; the dims come first */
    rdi_ocol *out;              /* [ntiles * nneed] */
    rdi_ocol *ts;               /* [ntiles] per-cell timestamps (fragments that have them) */
    uint64_t *tile_n;           /* [ntiles] candidate cells each tile contributes */
    int direct;                 /* decode whole tiles straight into `cand` */
    rdi_ocol *cand;             /* direct: the candidate columns [nneed], pre-sized */
    uint64_t *var_base;         /* direct: [ntiles * nneed] data byte offset of each var tile */
    uint64_t *cell_base;        /* direct: [ntiles] first candidate row of each tile */
    rdi_scratch **scratch;
    rdi_buf *inbuf;             /* per worker: the filtered bytes of the tile being decoded */
    rdi_rcache *pre;            /* remote: every tile part's bytes, fetched in one wave */
    uint64_t *bytes;            /* [ntiles] bytes fetched */
    uint64_t *reqs;             /* [ntiles] read calls */
    rdi_qdim qd[RDI_SPARSE_MAX_DIMS];
    int any_range;
} rjob;

/* sparse_tiles.c (see there). */
radi_status rdi_sq_frag_slot(const radi_sparse_query *q, const rdi_fragmeta *fm, uint32_t k,
                             uint32_t *slot);
uint64_t rdi_sq_tile_cells(const rdi_fragmeta *fm, uint64_t t);
radi_status rdi_sq_check_fragment(const rdi_fragmeta *fm);
radi_status rdi_sq_load_all_index(radi_array *a);
radi_status rdi_sq_load_rtree(radi_ctx *ctx, const rdi_snap *snap, const rdi_gorder *g, const rdi_fragmeta *fm,
                              rdi_scratch *sc, rdi_rtree *t);
radi_status rdi_sq_field_tile_size(rjob *j, uint64_t ti, uint32_t k, uint64_t *ncells, uint64_t *vsize);
radi_status rdi_sq_prefetch_tiles(rjob *j);
radi_status rdi_sq_tile_task(void *arg, size_t ti, unsigned worker);
radi_status rdi_sq_ocol_concat(rdi_ocol *dst, rdi_ocol *src);

/* Frees the results of the last submit (rows, columns). */
void rdi_sq_free_results(radi_sparse_query *q);

#endif
