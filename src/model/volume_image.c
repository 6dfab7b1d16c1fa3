/*
 * A stand-alone volume from one image source (Volume.from_nifti, Volume.from_dicom): the same header,
 * metadata and voxels an ingest writes into a collection, without obs_id.
 */
#include <stdlib.h>

#include "model/dataset.h"
#include "model/dicom_files.h"
#include "model/source.h"
#include "radi/dicom.h"

typedef struct one_volume {
    const rdi_image_header *h;
    const rdi_image_fields *f;
} one_volume;

static radi_status one_meta(radi_meta *m, const radi_meta_item *orientation, void *arg)
{
    const one_volume *v = arg;
    return rdi_image_put_volume_meta(m, orientation, v->h, v->f, NULL);
}

radi_status rdi_volume_from_source(radi_ctx *ctx, const char *uri, const rdi_image_source_ops *ops, const void *desc,
                                   const char *source_path, int reorient, int store_original_affine,
                                   const radi_tile_config *tile, const radi_compression *compression,
                                   radi_volume **out)
{
    if (out) *out = NULL;
    rdi_image_source *src = NULL;
    rdi_image_header h;
    rdi_image_fields f = RDI_IMAGE_FIELDS_INIT;
    rdi_buf own = RDI_BUF_INIT;
    const void *voxels = NULL;
    radi_status s = rdi_image_source_open(ctx, ops, desc, reorient, store_original_affine, &src);
    if (s == RADI_OK) s = src->ops->header(src, &h);
    if (s == RADI_OK) s = rdi_image_header_check(&h, ops, source_path);
    if (s == RADI_OK) s = src->ops->describe(src, "", source_path, &f);
    if (s == RADI_OK) s = src->ops->read(src, &own, &voxels);
    one_volume v = {&h, &f};
    radi_volume *vol = NULL;
    if (s == RADI_OK)
        s = rdi_volume_from_buffer_layout(ctx, uri, h.ndim, h.shape, h.datatype, voxels, RADI_COL_MAJOR, tile,
                                          compression, one_meta, &v, &vol);
    if (src) src->ops->close(src);
    rdi_buf_free(&own);
    rdi_image_fields_free(&f);
    if (s == RADI_OK && out) *out = vol;
    else radi_volume_close(vol);
    return s;
}

radi_status radi_volume_from_dicom(radi_ctx *ctx, const char *uri, const radi_dicom_source *source,
                                   const radi_dicom_options *opt, const radi_tile_config *tile,
                                   const radi_compression *compression, radi_volume **out)
{
    return radi_volume_from_dicom_reoriented(ctx, uri, source, opt, RADI_REORIENT_NONE, 0, tile, compression, out);
}

radi_status radi_volume_from_dicom_reoriented(radi_ctx *ctx, const char *uri, const radi_dicom_source *source,
                                              const radi_dicom_options *opt, int reorient, int store_original_affine,
                                              const radi_tile_config *tile, const radi_compression *compression,
                                              radi_volume **out)
{
    if (!ctx || !uri || !source || !source->path)
        return rdi_error(RADI_E_INVALID, "radi_volume_from_dicom: NULL argument");
    radi_dicom_options def;
    if (!opt) {
        radi_dicom_options_init(&def);
        opt = &def;
    }
    rdi_dicom_desc d = {source, opt};
    return rdi_volume_from_source(ctx, uri, &rdi_dicom_image_source, &d, source->path, reorient,
                                  store_original_affine, tile, compression, out);
}

radi_status radi_volume_from_nifti(radi_ctx *ctx, const char *uri, const char *path, const radi_tile_config *tile,
                                   const radi_compression *compression, radi_volume **out)
{
    return radi_volume_from_nifti_reoriented(ctx, uri, path, RADI_REORIENT_NONE, 0, tile, compression, out);
}

radi_status radi_volume_from_nifti_reoriented(radi_ctx *ctx, const char *uri, const char *path, int reorient,
                                              int store_original_affine, const radi_tile_config *tile,
                                              const radi_compression *compression, radi_volume **out)
{
    if (!ctx || !uri || !path) return rdi_error(RADI_E_INVALID, "radi_volume_from_nifti: NULL argument");
    radi_nifti_source d = {path, NULL, NULL};
    return rdi_volume_from_source(ctx, uri, &rdi_nifti_image_source, &d, path, reorient, store_original_affine,
                                  tile, compression, out);
}
