/*
 * Ingest, per source: the header pass (rdi_ingest_header_task: header, checks and
 * description through the source's kind), the volume write with its metadata
 * (rdi_ingest_volume_task, volume_meta), and the obs rows (rdi_ingest_write_obs). The
 * format is the kind's business (model/source.h); nothing here knows it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/dataset.h"
#include "model/ingest.h"

/* A failure that does not name the source gets its path. */
static radi_status name_source(radi_status s, const item *it)
{
    if (s != RADI_OK && !strstr(radi_errmsg(), it->path)) rdi_error_wrap(s, "%s", it->path);
    return s;
}

/* Opens item i's source, reads and checks its header, and keeps its description (volume
 * metadata and obs row) for the write pass. */
radi_status rdi_ingest_header_task(void *arg, size_t i, unsigned worker)
{
    ingest_job *j = arg;
    item *it = &j->items[i];
    rdi_image_source *src = NULL;
    radi_status s = rdi_image_source_open(j->ds->ctx, j->ops, it->desc, j->opt->reorient,
                                          j->opt->store_original_affine, &src);
    if (s == RADI_OK) s = src->ops->header(src, &it->hdr);
    if (s == RADI_OK) s = rdi_image_header_check(&it->hdr, j->ops, it->path);
    if (s == RADI_OK) s = src->ops->describe(src, j->collection, it->abspath, &it->fields);
    if (s == RADI_OK && j->hold) {
        uint64_t nb = radi_datatype_size(it->hdr.datatype);
        for (uint32_t d = 0; d < 4; d++) nb *= it->hdr.shape[d];
        pthread_mutex_lock(&j->hold->lock);
        if (nb <= j->hold->budget - j->hold->used) {
            j->hold->used += nb;
            it->held = src;
            src = NULL;
        }
        pthread_mutex_unlock(&j->hold->lock);
    }
    if (src) src->ops->close(src);
    return name_source(s, it);
}

/* The volume metadata of §3.3: tile_orientation, the source's keys, the scaling (the
 * keys volume reads take it from) and obs_id, as one file (one write). */
static radi_status volume_meta(radi_meta *m, const radi_meta_item *orientation, void *arg)
{
    const item *it = arg;
    return rdi_image_put_volume_meta(m, orientation, &it->hdr, &it->fields, it->oid);
}

/* Reads one source and writes volumes/<k> with its metadata. */
radi_status rdi_ingest_volume_task(void *arg, size_t i, unsigned worker)
{
    ingest_job *j = arg;
    item *it = j->order[i];
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long)it->k);
    char *uri = rdi_path_join(j->vol_dir, num);
    if (!uri) return RADI_E_NOMEM;
    rdi_image_source *src = NULL;
    rdi_image_header h;
    rdi_buf own = RDI_BUF_INIT;
    const void *raw = NULL;
    radi_status s = RADI_OK;
    if (it->held) {
        /* Kept open since the check pass: its header is the one checked. */
        src = it->held;
        it->held = NULL;
        h = it->hdr;
    } else {
        s = rdi_image_source_open(j->ds->ctx, j->ops, it->desc, j->opt->reorient, j->opt->store_original_affine,
                                  &src);
        if (s == RADI_OK) s = src->ops->header(src, &h);
    }
    /* The header was checked; a file changed since then is refused, not misread. */
    if (s == RADI_OK && (h.datatype != it->hdr.datatype || h.ndim != it->hdr.ndim ||
                         memcmp(h.shape, it->hdr.shape, sizeof h.shape) != 0))
        s = rdi_error(RADI_E_CORRUPT, "%s: file changed during ingest", it->path);
    /* The voxels in the writer's layout (x fastest): the dense writer cuts each tile
     * straight out of them, with no C-order copy of the volume in between. */
    if (s == RADI_OK) s = src->ops->read(src, &own, &raw);
    if (s == RADI_OK)
        s = rdi_volume_from_buffer_layout(j->ds->ctx, uri, it->hdr.ndim, it->hdr.shape, it->hdr.datatype, raw,
                                          RADI_COL_MAJOR, &j->opt->tile, &j->opt->compression, volume_meta,
                                          (void *)it, NULL);
    /* Closed after the write: raw may point into the handle's memory. */
    if (src) src->ops->close(src);
    rdi_buf_free(&own);
    free(uri);
    return name_source(s, it);
}

radi_status rdi_varcol_push(varcol *c, uint64_t i, const char *s)
{
    c->off[i] = c->data.len;
    return rdi_buf_append(&c->data, s, strlen(s));
}

/* Bytes of a fixed-size obs value; 0 for a string. */
static size_t obs_value_size(radi_datatype t)
{
    return t == RADI_INT32 ? 4 : t == RADI_INT64 || t == RADI_FLOAT64 ? 8 : 0;
}

/* The obs rows of the ingested items, one write; *frag (may be NULL) gets its name. The
 * columns are the first item's, which every item repeats (rdi_ingest_check_obs_columns). */
radi_status rdi_ingest_write_obs(radi_dataset *ds, const char *collection, item **order, size_t n, char **frag)
{
    const rdi_image_fields *first = &order[0]->fields;
    uint32_t ncol = 2 + first->nobs;
    varcol *vc = rdi_calloc(ncol, sizeof *vc);
    void **fixed = rdi_calloc(ncol, sizeof *fixed);
    radi_sparse_buffer *bufs = rdi_calloc(ncol, sizeof *bufs);
    radi_status s = vc && fixed && bufs ? RADI_OK : RADI_E_NOMEM;
    for (uint32_t c = 0; c < ncol && s == RADI_OK; c++) {
        size_t sz = c < 2 ? 0 : obs_value_size(first->obs[c - 2].type);
        if (sz) { if (!(fixed[c] = rdi_calloc(n, sz))) s = RADI_E_NOMEM; }
        else if (!(vc[c].off = rdi_calloc(n, 8))) s = RADI_E_NOMEM;
    }
    for (size_t i = 0; i < n && s == RADI_OK; i++) {
        const item *it = order[i];
        s = rdi_varcol_push(&vc[0], i, it->sid);
        if (s == RADI_OK) s = rdi_varcol_push(&vc[1], i, it->oid);
        for (uint32_t c = 2; c < ncol && s == RADI_OK; c++) {
            const rdi_obs_field *o = &it->fields.obs[c - 2];
            switch (o->type) {
            case RADI_INT32: ((int32_t *)fixed[c])[i] = o->v.i32; break;
            case RADI_INT64: ((int64_t *)fixed[c])[i] = o->v.i64; break;
            case RADI_FLOAT64: ((double *)fixed[c])[i] = o->v.f64; break;
            default: s = rdi_varcol_push(&vc[c], i, o->v.s); break;
            }
        }
    }
    for (uint32_t c = 0; c < ncol && s == RADI_OK; c++) {
        bufs[c].name = c == 0 ? K_SID : c == 1 ? K_OID : first->obs[c - 2].name;
        bufs[c].validity = NULL;
        if (fixed[c]) {
            bufs[c].data = fixed[c];
            bufs[c].data_size = n * obs_value_size(first->obs[c - 2].type);
            bufs[c].offsets = NULL;
        } else {
            /* An empty string still needs a non-NULL data pointer. */
            bufs[c].data = vc[c].data.data ? (const void *)vc[c].data.data : (const void *)"";
            bufs[c].data_size = vc[c].data.len;
            bufs[c].offsets = vc[c].off;
        }
    }
    char *obs = rdi_ds_coll_uri(ds, collection, "obs");
    radi_array *arr = NULL;
    if (s == RADI_OK) s = obs ? radi_array_open(ds->ctx, obs, 0, 0, &arr) : RADI_E_NOMEM;
    uint64_t t = arr ? RDI_MAX(rdi_now_ms(), arr->last_t1 + 1) : 0;
    if (s == RADI_OK) s = rdi_sparse_write(arr, ncol, bufs, n, t, t, frag);
    radi_array_close(arr);
    free(obs);
    for (uint32_t c = 0; vc && fixed && c < ncol; c++) {
        rdi_buf_free(&vc[c].data);
        free(vc[c].off);
        free(fixed[c]);
    }
    free(vc);
    free(fixed);
    free(bufs);
    return s;
}

/* Every item's obs columns must be the first item's (names and types, in order): they
 * become one collection's rows. */
radi_status rdi_ingest_check_obs_columns(const ingest_job *j)
{
    const rdi_image_fields *a = &j->items[0].fields;
    for (size_t i = 1; i < j->n; i++) {
        const rdi_image_fields *b = &j->items[i].fields;
        int same = a->nobs == b->nobs;
        for (uint32_t c = 0; same && c < a->nobs; c++)
            same = a->obs[c].type == b->obs[c].type && strcmp(a->obs[c].name, b->obs[c].name) == 0;
        if (!same)
            return rdi_error(RADI_E_INVALID, "%s: its obs columns differ from those of %s (one collection's rows)",
                             j->items[i].path, j->items[0].path);
    }
    return RADI_OK;
}
