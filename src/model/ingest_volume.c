/*
 * Ingest, per file: the header check (rdi_ingest_header_task), the volume write with its
 * metadata (rdi_ingest_volume_task, volume_meta), and the obs rows of the NIfTI
 * attributes (rdi_ingest_write_obs).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "radi/nifti.h"
#include "io/nifti.h"
#include "model/dataset.h"
#include "model/ingest.h"


/* The 15 obs attributes of a NIfTI collection, in 0.1.1's order (§3.4). */
const char *const rdi_ds_obs_names[RDI_OBS_NATTR] = {
    "series_type", "voxel_spacing", "dimensions", "datatype", "bitpix", "scl_slope", "scl_inter",
    "xyzt_units", "spatial_units", "qform_code", "sform_code", "axcodes", "affine_json",
    "orientation_source", "source_path"};
const radi_datatype rdi_ds_obs_types[RDI_OBS_NATTR] = {
    RADI_STRING_UTF8, RADI_STRING_UTF8, RADI_STRING_UTF8, RADI_INT32, RADI_INT32, RADI_FLOAT64,
    RADI_FLOAT64, RADI_INT32, RADI_STRING_UTF8, RADI_INT32, RADI_INT32, RADI_STRING_UTF8,
    RADI_STRING_UTF8, RADI_STRING_UTF8, RADI_STRING_UTF8};

static int volume_dtype_ok(radi_datatype t)
{
    switch (t) {
    case RADI_INT8: case RADI_UINT8: case RADI_INT16: case RADI_UINT16: case RADI_INT32:
    case RADI_UINT32: case RADI_INT64: case RADI_UINT64: case RADI_FLOAT32: case RADI_FLOAT64:
        return 1;
    default:
        return 0;
    }
}

radi_status rdi_ingest_header_task(void *arg, size_t i, unsigned worker)
{
    ingest_job *j = arg;
    item *it = &j->items[i];
    radi_nifti *img = NULL;
    RDI_TRY(rdi_nifti_open_vfs(j->ds->ctx->vfs, it->path, &img));
    it->hdr = *radi_nifti_get_header(img);
    radi_nifti_close(img);
    if (!volume_dtype_ok(it->hdr.datatype))
        return rdi_error(RADI_E_UNSUPPORTED, "%s: NIfTI datatype %d is not supported for volumes", it->path,
                         it->hdr.nifti_datatype);
    /* file_ndim: the reader pads 1-D and 2-D images to 3-D; a volume is 3-D or 4-D as stored. */
    if (it->hdr.file_ndim < 3 || (it->hdr.ndim != 3 && it->hdr.ndim != 4))
        return rdi_error(RADI_E_UNSUPPORTED, "%s: a volume must be 3-D or 4-D, this image is %d-D", it->path,
                         it->hdr.file_ndim < 3 ? it->hdr.file_ndim : (int)it->hdr.ndim);
    /* Geometry that cannot be stored or exported faithfully is refused, not guessed. */
    for (int k = 0; k < 16; k++)
        if (!isfinite(it->hdr.affine[k]))
            return rdi_error(RADI_E_CORRUPT, "%s: the affine (from the %s) is not finite", it->path,
                             it->hdr.affine_source == RADI_NIFTI_AFFINE_SFORM   ? "sform"
                             : it->hdr.affine_source == RADI_NIFTI_AFFINE_QFORM ? "qform"
                                                                                : "voxel sizes");
    for (int k = 1; k <= 3; k++)
        if (!isfinite(it->hdr.pixdim[k]))
            return rdi_error(RADI_E_CORRUPT, "%s: voxel size pixdim[%d] is not finite", it->path, k);
    return RADI_OK;
}

/* Scaling as recorded: a usable slope is kept with its intercept; otherwise 1 and 0. */
static void scaling(const radi_nifti_header *h, double *slope, double *inter)
{
    int valid = isfinite(h->scl_slope) && h->scl_slope != 0;
    *slope = valid ? h->scl_slope : 1.0;
    *inter = valid && isfinite(h->scl_inter) ? h->scl_inter : 0.0;
}


static const char *affine_source_name(const radi_nifti_header *h)
{
    return h->affine_source == RADI_NIFTI_AFFINE_SFORM   ? "nifti_sform"
           : h->affine_source == RADI_NIFTI_AFFINE_QFORM ? "nifti_qform"
                                                        : "identity";
}

/* The volume metadata of §3.3 (as 0.1.1's from_nifti, plus obs_id). */
static radi_status volume_meta(radi_meta *m, const radi_meta_item *orientation, void *arg)
{
    const item *it = arg;
    const radi_nifti_header *h = &it->hdr;
    rdi_buf aff = RDI_BUF_INIT;
    int ident = 1;
    for (int i = 0; i < 16; i++) ident &= h->affine[i] == ((i % 5 == 0) ? 1.0 : 0.0);
    /* 0.1.1 labels a fallback or numerically identity affine identity/unknown here. */
    int header = h->affine_source != RADI_NIFTI_AFFINE_FALLBACK && !ident;
    double slope, inter;
    scaling(h, &slope, &inter);
    char sform[16], qform[16], slope_s[48], inter_s[48], units[16], tr[48];
    rdi_py_float(tr, sizeof tr, h->pixdim[4]);
    snprintf(sform, sizeof sform, "%d", h->sform_code);
    snprintf(qform, sizeof qform, "%d", h->qform_code);
    rdi_py_float(slope_s, sizeof slope_s, slope);
    rdi_py_float(inter_s, sizeof inter_s, inter);
    snprintf(units, sizeof units, "%d", h->xyzt_units);
    radi_status s = rdi_affine_json(h->affine, &aff);
    if (s == RADI_OK) {
        /* One metadata file per volume: one write and one timestamp instead of eleven. */
        const char *kv[][2] = {
            {"orientation_axcodes", h->axcodes},
            {"orientation_affine", (const char *)aff.data},
            {"orientation_source", header ? affine_source_name(h) : "identity"},
            {"orientation_confidence", header ? "header" : "unknown"},
            {"nifti_sform_code", sform},
            {"nifti_qform_code", qform},
            {"nifti_scl_slope", slope_s},
            {"nifti_scl_inter", inter_s},
            {"nifti_xyzt_units", units},
            {K_OID, it->oid},
            /* The time step of a 4-D image (0.1.1 loses it); last, so 3-D skips it. */
            {"nifti_pixdim4", tr},
        };
        enum { NKV = sizeof kv / sizeof kv[0] };
        /* tile_orientation first, in the same file as the NIfTI keys. */
        radi_meta_item items[NKV + 1];
        items[0] = *orientation;
        for (size_t k = 0; k < NKV; k++)
            items[k + 1] = (radi_meta_item){kv[k][0], RADI_STRING_UTF8, (uint32_t)strlen(kv[k][1]), kv[k][1]};
        s = radi_meta_put_many(m, 1 + (h->ndim == 4 ? NKV : NKV - 1), items);
    }
    rdi_buf_free(&aff);
    return s;
}

/* Decodes one file and writes volumes/<k> with its metadata. */
radi_status rdi_ingest_volume_task(void *arg, size_t i, unsigned worker)
{
    ingest_job *j = arg;
    item *it = j->order[i];
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long)it->k);
    char *uri = rdi_path_join(j->vol_dir, num);
    if (!uri) return RADI_E_NOMEM;
    radi_nifti *img = NULL;
    rdi_buf own = RDI_BUF_INIT;
    const uint8_t *raw = NULL;
    radi_status s = rdi_nifti_open_vfs(j->ds->ctx->vfs, it->path, &img);
    if (s == RADI_OK) {
        const radi_nifti_header *h = radi_nifti_get_header(img);
        /* The header was checked; a file changed since then is refused, not misread. */
        if (h->datatype != it->hdr.datatype || h->ndim != it->hdr.ndim ||
            memcmp(h->shape, it->hdr.shape, sizeof h->shape) != 0)
            s = rdi_error(RADI_E_CORRUPT, "%s: file changed during ingest", it->path);
    }
    /* The voxels as the file stores them (x fastest): the dense writer cuts each tile
     * straight out of them, with no C-order copy of the volume in between. */
    if (s == RADI_OK) s = rdi_nifti_read_raw(img, &own, &raw);
    radi_nifti_close(img);
    if (s == RADI_OK)
        s = rdi_volume_from_buffer_layout(j->ds->ctx, uri, it->hdr.ndim, it->hdr.shape, it->hdr.datatype, raw,
                                          RADI_COL_MAJOR, &j->opt->tile, &j->opt->compression, volume_meta,
                                          (void *)it, NULL);
    rdi_buf_free(&own);
    if (s != RADI_OK && !strstr(radi_errmsg(), it->path)) rdi_error_wrap(s, "%s", it->path);
    free(uri);
    return s;
}

radi_status rdi_varcol_push(varcol *c, uint64_t i, const char *s)
{
    c->off[i] = c->data.len;
    return rdi_buf_append(&c->data, s, strlen(s));
}

/* The obs rows of the ingested items, one write; *frag (may be NULL) gets its name. */
radi_status rdi_ingest_write_obs(radi_dataset *ds, const char *collection, item **order, size_t n, char **frag)
{
    varcol vc[2 + RDI_OBS_NATTR];
    memset(vc, 0, sizeof vc);
    int32_t *ints[RDI_OBS_NATTR] = {0};
    double *dbls[RDI_OBS_NATTR] = {0};
    radi_status s = RADI_OK;
    for (int c = 0; c < 2 + RDI_OBS_NATTR && s == RADI_OK; c++) {
        radi_datatype t = c < 2 ? RADI_STRING_ASCII : rdi_ds_obs_types[c - 2];
        if (t == RADI_INT32) { if (!(ints[c - 2] = rdi_calloc(n, 4))) s = RADI_E_NOMEM; }
        else if (t == RADI_FLOAT64) { if (!(dbls[c - 2] = rdi_calloc(n, 8))) s = RADI_E_NOMEM; }
        else if (!(vc[c].off = rdi_calloc(n, 8))) s = RADI_E_NOMEM;
    }
    char t1[160], t2[96];
    rdi_buf aff = RDI_BUF_INIT;
    for (size_t i = 0; i < n && s == RADI_OK; i++) {
        const item *it = order[i];
        const radi_nifti_header *h = &it->hdr;
        char a[48], b[48], c[48];
        double slope, inter;
        scaling(h, &slope, &inter);
        rdi_py_float(a, sizeof a, h->pixdim[1]);
        rdi_py_float(b, sizeof b, h->pixdim[2]);
        rdi_py_float(c, sizeof c, h->pixdim[3]);
        snprintf(t1, sizeof t1, "(%s, %s, %s)", a, b, c);
        snprintf(t2, sizeof t2, "(%llu, %llu, %llu)", (unsigned long long)h->shape[0],
                 (unsigned long long)h->shape[1], (unsigned long long)h->shape[2]);
        int u = h->xyzt_units & 7;
        const char *units = u == 1 ? "m" : u == 2 ? "mm" : u == 3 ? "um" : "unknown";
        aff.len = 0;
        s = rdi_affine_json(h->affine, &aff);
        if (s == RADI_OK) s = rdi_varcol_push(&vc[0], i, it->sid);
        if (s == RADI_OK) s = rdi_varcol_push(&vc[1], i, it->oid);
        /* series_type: the collection, which radi uses as the series name. */
        if (s == RADI_OK) s = rdi_varcol_push(&vc[2 + 0], i, collection);
        if (s == RADI_OK) s = rdi_varcol_push(&vc[2 + 1], i, t1);
        if (s == RADI_OK) s = rdi_varcol_push(&vc[2 + 2], i, t2);
        ints[3][i] = h->nifti_datatype;
        ints[4][i] = (int32_t)(radi_datatype_size(h->datatype) * 8);
        dbls[5][i] = slope;
        dbls[6][i] = inter;
        ints[7][i] = h->xyzt_units;
        if (s == RADI_OK) s = rdi_varcol_push(&vc[2 + 8], i, units);
        ints[9][i] = h->qform_code;
        ints[10][i] = h->sform_code;
        if (s == RADI_OK) s = rdi_varcol_push(&vc[2 + 11], i, h->axcodes);
        if (s == RADI_OK) s = rdi_varcol_push(&vc[2 + 12], i, (const char *)aff.data);
        if (s == RADI_OK) s = rdi_varcol_push(&vc[2 + 13], i, affine_source_name(h));
        if (s == RADI_OK) s = rdi_varcol_push(&vc[2 + 14], i, it->abspath);
    }
    radi_sparse_buffer bufs[2 + RDI_OBS_NATTR];
    for (int c = 0; c < 2 + RDI_OBS_NATTR; c++) {
        bufs[c].name = c == 0 ? K_SID : c == 1 ? K_OID : rdi_ds_obs_names[c - 2];
        bufs[c].validity = NULL;
        if (c >= 2 && ints[c - 2]) {
            bufs[c].data = ints[c - 2]; bufs[c].data_size = n * 4; bufs[c].offsets = NULL;
        } else if (c >= 2 && dbls[c - 2]) {
            bufs[c].data = dbls[c - 2]; bufs[c].data_size = n * 8; bufs[c].offsets = NULL;
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
    if (s == RADI_OK) s = rdi_sparse_write(arr, 2 + RDI_OBS_NATTR, bufs, n, t, t, frag);
    radi_array_close(arr);
    free(obs);
    rdi_buf_free(&aff);
    for (int c = 0; c < 2 + RDI_OBS_NATTR; c++) {
        rdi_buf_free(&vc[c].data);
        free(vc[c].off);
        if (c < RDI_OBS_NATTR) { free(ints[c]); free(dbls[c]); }
    }
    return s;
}
