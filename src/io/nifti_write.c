/*
 * NIfTI-1 writer: the header encoded field by field (the affine as sform and as the
 * nearest rigid qform, as nibabel writes them), the voxels in file order (x fastest),
 * the whole file built in memory and stored with one VFS write (gzip when the name ends
 * in .gz).
 */
#include <math.h>
#include <stdlib.h>

#include "io/nifti.h"

#define N1_SIZE 348

/* Sizes b to len without zeroing: every byte is overwritten next. */
static radi_status set_len(rdi_buf *b, size_t len)
{
    RDI_TRY(rdi_buf_reserve(b, len > b->len ? len - b->len : 0));
    b->len = len;
    return RADI_OK;
}

/* -------------------------------------------------------------- write -- */

void radi_nifti_header_init(radi_nifti_header *h)
{
    memset(h, 0, sizeof *h);
    h->version = 1;
    h->nifti_datatype = 2;
    h->datatype = RADI_UINT8;
    h->file_ndim = 3;
    h->ndim = 3;
    for (int i = 0; i < 7; i++) h->shape[i] = 1;
    for (int i = 0; i < 8; i++) h->pixdim[i] = 1.0;
    h->vox_offset = 352;
    h->xyzt_units = 10;
    h->qform_code = 1;
    h->sform_code = 1;
    for (int i = 0; i < 4; i++) h->affine[i * 5] = 1.0;
    h->affine_source = RADI_NIFTI_AFFINE_SFORM;
    memcpy(h->axcodes, "RAS", 4);
}

/* The rigid part of the affine as NIfTI's quaternion, qfac and voxel sizes. */
static void affine_to_quatern(const double *a, double quat[3], double *qfac, double zoom[3])
{
    double r[3][3], q[3][3];
    for (int j = 0; j < 3; j++) {
        double z = sqrt(a[j] * a[j] + a[4 + j] * a[4 + j] + a[8 + j] * a[8 + j]);
        zoom[j] = z;
        if (z == 0) z = 1;
        for (int i = 0; i < 3; i++) r[i][j] = a[i * 4 + j] / z;
    }
    *qfac = 1.0;
    if (rdi_det3(r) < 0) {
        *qfac = -1.0;
        for (int i = 0; i < 3; i++) r[i][2] = -r[i][2];
    }
    if (!rdi_polar3(r, q)) {
        quat[0] = quat[1] = quat[2] = 0;
        return;
    }
    double w, x, y, z;
    double tr = q[0][0] + q[1][1] + q[2][2] + 1.0;
    if (tr > 0.5) {
        w = 0.5 * sqrt(tr);
        x = 0.25 * (q[2][1] - q[1][2]) / w;
        y = 0.25 * (q[0][2] - q[2][0]) / w;
        z = 0.25 * (q[1][0] - q[0][1]) / w;
    } else {
        double xd = 1.0 + q[0][0] - (q[1][1] + q[2][2]);
        double yd = 1.0 + q[1][1] - (q[0][0] + q[2][2]);
        double zd = 1.0 + q[2][2] - (q[0][0] + q[1][1]);
        if (xd > 1.0) {
            x = 0.5 * sqrt(xd);
            y = 0.25 * (q[0][1] + q[1][0]) / x;
            z = 0.25 * (q[0][2] + q[2][0]) / x;
            w = 0.25 * (q[2][1] - q[1][2]) / x;
        } else if (yd > 1.0) {
            y = 0.5 * sqrt(yd);
            x = 0.25 * (q[0][1] + q[1][0]) / y;
            z = 0.25 * (q[1][2] + q[2][1]) / y;
            w = 0.25 * (q[0][2] - q[2][0]) / y;
        } else {
            z = 0.5 * sqrt(zd);
            x = 0.25 * (q[0][2] + q[2][0]) / z;
            y = 0.25 * (q[1][2] + q[2][1]) / z;
            w = 0.25 * (q[1][0] - q[0][1]) / z;
        }
        if (w < 0) x = -x, y = -y, z = -z;
    }
    quat[0] = x;
    quat[1] = y;
    quat[2] = z;
}

static void st16(uint8_t *p, int32_t v)
{
    int16_t s = (int16_t)v;
    memcpy(p, &s, 2);
}
static void stf(uint8_t *p, double v)
{
    float f = (float)v;
    memcpy(p, &f, 4);
}

radi_status rdi_nifti_encode_header(const radi_nifti_header *h, uint8_t out[352])
{
    int code = rdi_nifti_code_of(h->datatype);
    if (!code)
        return rdi_error(RADI_E_UNSUPPORTED, "NIfTI write: datatype %s has no NIfTI code",
                         radi_datatype_name(h->datatype));
    if (h->ndim < 1 || h->ndim > 7) return rdi_error(RADI_E_INVALID, "NIfTI write: ndim %u (must be 1..7)", h->ndim);
    for (uint32_t i = 0; i < h->ndim; i++)
        if (h->shape[i] < 1 || h->shape[i] > 32767)
            return rdi_error(RADI_E_INVALID, "NIfTI write: shape[%u] = %llu (NIfTI-1 allows 1..32767)", i,
                             (unsigned long long)h->shape[i]);
    for (int i = 0; i < 16; i++)
        if (!isfinite(h->affine[i])) return rdi_error(RADI_E_INVALID, "NIfTI write: the affine is not finite");
    memset(out, 0, 352);
    rdi_st32(out, N1_SIZE);
    out[38] = 'r'; /* "regular", as nibabel and nifti_clib write */
    out[39] = (uint8_t)h->dim_info;
    st16(out + 40, (int32_t)h->ndim);
    for (uint32_t i = 0; i < 7; i++) st16(out + 42 + 2 * i, i < h->ndim ? (int32_t)h->shape[i] : 1);
    for (int i = 0; i < 3; i++) stf(out + 56 + 4 * i, h->intent_p[i]);
    st16(out + 68, h->intent_code);
    st16(out + 70, code);
    st16(out + 72, (int32_t)(8 * radi_datatype_size(h->datatype)));
    st16(out + 74, (int32_t)h->slice_start);

    double quat[3], qfac, zoom[3];
    affine_to_quatern(h->affine, quat, &qfac, zoom);
    double pix[8];
    memcpy(pix, h->pixdim, sizeof pix);
    pix[0] = qfac;
    int have_pix = pix[1] != 0 || pix[2] != 0 || pix[3] != 0;
    /* A qform is rotation x voxel size: its pixdim must be the affine's zooms. */
    if (h->qform_code != 0 || !have_pix)
        for (int i = 0; i < 3; i++) pix[i + 1] = zoom[i];
    for (int i = 0; i < 8; i++) stf(out + 76 + 4 * i, pix[i]);
    stf(out + 108, 352.0);
    stf(out + 112, h->scl_slope);
    stf(out + 116, h->scl_inter);
    st16(out + 120, (int32_t)h->slice_end);
    out[122] = (uint8_t)h->slice_code;
    out[123] = (uint8_t)h->xyzt_units;
    stf(out + 124, h->cal_max);
    stf(out + 128, h->cal_min);
    stf(out + 132, h->slice_duration);
    stf(out + 136, h->toffset);
    memcpy(out + 148, h->descrip, strnlen(h->descrip, 80));
    memcpy(out + 228, h->aux_file, strnlen(h->aux_file, 24));
    st16(out + 252, h->qform_code);
    st16(out + 254, h->sform_code);
    for (int i = 0; i < 3; i++) stf(out + 256 + 4 * i, quat[i]);
    for (int i = 0; i < 3; i++) stf(out + 268 + 4 * i, h->affine[i * 4 + 3]);
    for (int i = 0; i < 12; i++) stf(out + 280 + 4 * i, h->affine[i]);
    memcpy(out + 328, h->intent_name, strnlen(h->intent_name, 16));
    memcpy(out + 344, "n+1", 4);
    return RADI_OK;
}

radi_status rdi_nifti_write_vfs(rdi_vfs *vfs, const char *path, const radi_nifti_header *h, const void *data)
{
    uint8_t head[352];
    radi_status s = rdi_nifti_encode_header(h, head);
    if (s != RADI_OK) return rdi_error_wrap(s, "%s", path);
    size_t elem = radi_datatype_size(h->datatype);
    uint64_t nvox = 1;
    for (uint32_t i = 0; i < h->ndim; i++) {
        if (nvox > (SIZE_MAX / 16) / h->shape[i])
            return rdi_error(RADI_E_INVALID, "%s: NIfTI write: the shape is too large", path);
        nvox *= h->shape[i];
    }
    rdi_buf file = RDI_BUF_INIT, gz = RDI_BUF_INIT;
    s = set_len(&file, (size_t)(352 + nvox * elem));
    if (s != RADI_OK) return s;
    memcpy(file.data, head, 352);
    rdi_reverse_axes(data, file.data + 352, h->ndim, h->shape, elem);
    const rdi_buf *body = &file;
    if (rdi_ends_with_ci(path, ".gz")) {
        s = rdi_gz_compress(file.data, file.len, 6, &gz, path);
        body = &gz;
    }
    if (s == RADI_OK) s = rdi_vfs_write(vfs, path, body->data, body->len);
    rdi_buf_free(&gz);
    rdi_buf_free(&file);
    return s;
}

radi_status radi_nifti_write(const char *path, const radi_nifti_header *hdr, const void *data)
{
    if (!path || !hdr || !data) return rdi_error(RADI_E_INVALID, "radi_nifti_write: NULL argument");
    rdi_vfs *vfs;
    RDI_TRY(rdi_vfs_create(&vfs));
    radi_status s = rdi_nifti_write_vfs(vfs, path, hdr, data);
    rdi_vfs_free(vfs);
    return s;
}
