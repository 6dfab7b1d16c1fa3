/* The dense tile grid (§4): tiles anchored at the array domain's lower bound. */
#include "tdb/tdb.h"

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

radi_status rdi_grid_init(const radi_schema *s, const int64_t *box, rdi_grid *g)
{
    if (s->ndim < 1 || s->ndim > 4)
        return rdi_error(RADI_E_UNSUPPORTED, "dense arrays with %u dimensions are not supported (1..4)",
                         s->ndim);
    g->ndim = s->ndim;
    g->tile_order = s->tile_order;
    g->ntiles = 1;
    for (uint32_t d = 0; d < s->ndim; d++) {
        const rdi_dim *dim = &s->dims[d];
        if (!dim->has_domain || !rdi_datatype_is_integer(dim->type))
            return rdi_error(RADI_E_UNSUPPORTED, "dimension %s: dense tiling needs an integer domain",
                             dim->name);
        g->lo[d] = rdi_dim_lo(dim);
        g->ext[d] = dim->has_extent ? rdi_dim_extent(dim) : rdi_dim_hi(dim) - rdi_dim_lo(dim) + 1;
        if (g->ext[d] <= 0)
            return rdi_error(RADI_E_CORRUPT, "dimension %s: tile extent %lld is not positive",
                             dim->name, (long long)g->ext[d]);
        if (box[2 * d] > box[2 * d + 1])
            return rdi_error(RADI_E_INVALID, "dimension %s: range [%lld, %lld] is empty", dim->name,
                             (long long)box[2 * d], (long long)box[2 * d + 1]);
        g->tlo[d] = floor_div(box[2 * d] - g->lo[d], g->ext[d]);
        g->thi[d] = floor_div(box[2 * d + 1] - g->lo[d], g->ext[d]);
        g->ntiles *= (uint64_t)(g->thi[d] - g->tlo[d] + 1);
    }
    return RADI_OK;
}

void rdi_grid_coords(const rdi_grid *g, uint64_t k, int64_t *tc)
{
    if (g->tile_order == RADI_COL_MAJOR) {
        for (uint32_t d = 0; d < g->ndim; d++) {
            uint64_t span = (uint64_t)(g->thi[d] - g->tlo[d] + 1);
            tc[d] = g->tlo[d] + (int64_t)(k % span);
            k /= span;
        }
    } else {
        for (uint32_t d = g->ndim; d-- > 0;) {
            uint64_t span = (uint64_t)(g->thi[d] - g->tlo[d] + 1);
            tc[d] = g->tlo[d] + (int64_t)(k % span);
            k /= span;
        }
    }
}

uint64_t rdi_grid_index(const rdi_grid *g, const int64_t *tc)
{
    uint64_t k = 0;
    if (g->tile_order == RADI_COL_MAJOR) {
        for (uint32_t d = g->ndim; d-- > 0;)
            k = k * (uint64_t)(g->thi[d] - g->tlo[d] + 1) + (uint64_t)(tc[d] - g->tlo[d]);
    } else {
        for (uint32_t d = 0; d < g->ndim; d++)
            k = k * (uint64_t)(g->thi[d] - g->tlo[d] + 1) + (uint64_t)(tc[d] - g->tlo[d]);
    }
    return k;
}

void rdi_grid_tile_box(const rdi_grid *g, const int64_t *tc, int64_t *box)
{
    for (uint32_t d = 0; d < g->ndim; d++) {
        box[2 * d] = g->lo[d] + tc[d] * g->ext[d];
        box[2 * d + 1] = box[2 * d] + g->ext[d] - 1;
    }
}

uint64_t rdi_grid_cells_per_tile(const rdi_grid *g)
{
    uint64_t n = 1;
    for (uint32_t d = 0; d < g->ndim; d++) n *= (uint64_t)g->ext[d];
    return n;
}
