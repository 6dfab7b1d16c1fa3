/*
 * The dense reader's internal pieces (tdb/dense_plan.c, tdb/dense_copy.c, used by
 * tdb/dense_read.c): the read plan (which fragment supplies which cells of which space
 * tile) and the copies between decoded tiles and the caller's buffer.
 */
#ifndef RDI_TDB_DENSE_H
#define RDI_TDB_DENSE_H

#include "tdb/tdb.h"

typedef struct contrib {
    uint32_t frag;
    uint8_t direct;        /* the whole tile, contiguous and in order in the output */
    uint64_t ftile;        /* the tile's position inside the fragment */
    int64_t part[8];       /* cells supplied: fragment NED ∩ tile ∩ query */
} contrib;

typedef struct stile {
    int64_t tbox[8];       /* the whole space tile */
    int64_t box[8];        /* tile ∩ query */
    int64_t tcg;           /* tile coordinate along the output's fastest dimension */
    uint64_t c0;           /* contribs[c0, c0 + nc), oldest first */
    uint32_t nc;
    uint8_t fill;          /* some cells of box get the fill value */
} stile;

typedef struct plan {
    radi_array *a;
    uint32_t ndim;
    int64_t q[8];
    uint64_t ostride[4];   /* output strides in cells */
    uint32_t g;            /* output's fastest dimension */
    int64_t ext[4];
    uint64_t tstride[4];   /* tile cell strides in cells */
    uint64_t tcells;
    uint32_t src_fast;     /* fastest tile cell dimension with extent > 1; ndim if none */
    stile *st;
    uint64_t nst;
    contrib *c;
    uint64_t nc, ccap;
} plan;

/* One sub-box copy between a decoded tile and the output, strides in cells. */
typedef struct piece {
    const uint8_t *src;
    uint8_t *dst;
    int64_t n[4], ss[4], ds[4];
} piece;

typedef struct nd { int64_t n, ss, ds; } nd;

/* Drops unit dimensions, orders the rest by output stride and merges dimensions that are
 * contiguous in both, so copies run over the longest possible rows. */
uint32_t rdi_dense_normalize(const int64_t *n, const int64_t *ss, const int64_t *ds, uint32_t ndim, nd *out);
/* Plans a read of box q (2*ndim bounds) in `layout`: space tiles in output order, each
 * with its contributions oldest first. ostride (cells, may be NULL): the output strides
 * of an enclosing buffer instead of the box's own, ordered as `layout` (the fastest
 * dimension's stride is 1). */
radi_status rdi_dense_build_plan(plan *p, radi_array *a, const int64_t *q, radi_layout layout,
                                 const uint64_t *ostride);
/* Copies one piece (a transposition walks BLOCK×BLOCK blocks). */
void rdi_dense_copy_piece(const piece *pc, uint32_t ndim, size_t cs);
/* Copies a group of whole-box pieces that follow each other along the output's fastest
 * dimension g; src, ng and ssg are scratch of np entries. */
void rdi_dense_copy_group(const piece *pcs, uint32_t np, uint32_t ndim, uint32_t g, uint32_t sf, size_t cs,
                          const uint8_t **src, int64_t *ng, int64_t *ssg);
/* Writes the fill value into the output cells of box. */
void rdi_dense_fill_box(const plan *p, uint8_t *out, const int64_t *box, const uint8_t *fill, size_t cs);

#endif
