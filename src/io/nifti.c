/*
 * NIfTI-1/2 reader (the writer is nifti_write.c). Headers are decoded field by field at their
 * documented offsets (either byte order), validated before anything is sized from them,
 * and mapped to radi_nifti_header. Geometry follows nibabel (the field's reference
 * reader), including the header fixes nibabel applies on load, so that radi and nibabel
 * agree on affines, zooms and axis codes for the same file.
 */
#include <math.h>
#include <stdlib.h>

#include "core/transpose.h"
#include "io/nifti.h"

#define N1_SIZE 348
#define N2_SIZE 540

struct radi_nifti {
    radi_nifti_header hdr;
    char *name;            /* header file, for messages */
    char *data_path;       /* where the voxels are (== name for single files) */
    rdi_vfs *vfs;
    int own_vfs;
    /* The first bytes of the header file, read once at open: the header (and, for a
     * small file or a gzipped one, the start of the data) without a round trip per
     * field on a remote backend. */
    rdi_buf head;
    const uint8_t *mem;    /* open_memory: the whole (possibly gzipped) file */
    size_t mem_len;
    int data_gz;
    uint64_t data_size;    /* stored (compressed) size of the data file */
    size_t elem;
    uint64_t nvox, nbytes;
};

/* ------------------------------------------------------------ datatypes -- */

static const struct {
    int32_t code;
    radi_datatype type;
    const char *name;
} k_types[] = {
    {2, RADI_UINT8, "uint8"},     {4, RADI_INT16, "int16"},     {8, RADI_INT32, "int32"},
    {16, RADI_FLOAT32, "float32"}, {64, RADI_FLOAT64, "float64"}, {256, RADI_INT8, "int8"},
    {512, RADI_UINT16, "uint16"}, {768, RADI_UINT32, "uint32"}, {1024, RADI_INT64, "int64"},
    {1280, RADI_UINT64, "uint64"},
};

static const char *unsupported_name(int32_t code)
{
    switch (code) {
    case 1: return "binary";
    case 32: return "complex64";
    case 128: return "RGB24";
    case 1536: return "float128";
    case 1792: return "complex128";
    case 2048: return "complex256";
    case 2304: return "RGBA32";
    default: return "unknown";
    }
}

int rdi_nifti_code_of(radi_datatype t)
{
    for (size_t i = 0; i < sizeof k_types / sizeof k_types[0]; i++)
        if (k_types[i].type == t) return k_types[i].code;
    return 0;
}

/* ------------------------------------------------------- header decoding -- */

typedef struct hview {
    const uint8_t *p;
    int swap;
} hview;

static uint16_t ld16(hview h, size_t off)
{
    uint16_t v;
    memcpy(&v, h.p + off, 2);
    return h.swap ? __builtin_bswap16(v) : v;
}
static uint32_t ldu32(hview h, size_t off)
{
    uint32_t v = rdi_ld32(h.p + off);
    return h.swap ? __builtin_bswap32(v) : v;
}
static uint64_t ldu64(hview h, size_t off)
{
    uint64_t v = rdi_ld64(h.p + off);
    return h.swap ? __builtin_bswap64(v) : v;
}
static int32_t i16(hview h, size_t off) { return (int16_t)ld16(h, off); }
static int32_t i32(hview h, size_t off) { return (int32_t)ldu32(h, off); }
static int64_t i64(hview h, size_t off) { return (int64_t)ldu64(h, off); }
static double f32(hview h, size_t off)
{
    uint32_t u = ldu32(h, off);
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static double f64(hview h, size_t off)
{
    uint64_t u = ldu64(h, off);
    double d;
    memcpy(&d, &u, 8);
    return d;
}
static void cstr(char *dst, const uint8_t *src, size_t n)
{
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ------------------------------------------------------------- geometry -- */

double rdi_det3(const double m[3][3])
{
    return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
           m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
           m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

/* The nearest orthogonal matrix (polar factor) by Newton's iteration X <- (X + X^-T) / 2,
 * which is what nibabel obtains from an SVD. 0 if m is (numerically) singular. */
int rdi_polar3(const double m[3][3], double q[3][3])
{
    double x[3][3];
    memcpy(x, m, sizeof x);
    for (int it = 0; it < 100; it++) {
        double d = rdi_det3(x);
        if (!(fabs(d) > 1e-12)) return 0;
        /* inverse transpose = cofactor matrix / det */
        double c[3][3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) {
                int i1 = (i + 1) % 3, i2 = (i + 2) % 3, j1 = (j + 1) % 3, j2 = (j + 2) % 3;
                c[i][j] = (x[i1][j1] * x[i2][j2] - x[i1][j2] * x[i2][j1]) / d;
            }
        double change = 0;
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) {
                double v = 0.5 * (x[i][j] + c[i][j]);
                change += fabs(v - x[i][j]);
                x[i][j] = v;
            }
        if (change < 1e-15) break;
    }
    memcpy(q, x, sizeof x);
    return 1;
}

/* nibabel's aff2axcodes(io_orientation(affine)). */
void rdi_axcodes(const double *a, char out[4])
{
    static const char labels[3][2] = {{'L', 'R'}, {'P', 'A'}, {'I', 'S'}};
    double rs[3][3], r[3][3];
    for (int j = 0; j < 3; j++) {
        double z = sqrt(a[0 * 4 + j] * a[0 * 4 + j] + a[1 * 4 + j] * a[1 * 4 + j] +
                        a[2 * 4 + j] * a[2 * 4 + j]);
        if (z == 0) z = 1;
        for (int i = 0; i < 3; i++) rs[i][j] = a[i * 4 + j] / z;
    }
    if (!rdi_polar3(rs, r)) memcpy(r, rs, sizeof r);
    for (int j = 0; j < 3; j++) {
        int zero = 1;
        for (int i = 0; i < 3; i++)
            if (fabs(r[i][j]) > 1e-8) zero = 0;
        if (zero) {
            out[j] = '?';
            continue;
        }
        int best = 0;
        for (int i = 1; i < 3; i++)
            if (fabs(r[i][j]) > fabs(r[best][j])) best = i;
        out[j] = labels[best][r[best][j] > 0];
        for (int k = 0; k < 3; k++) r[best][k] = 0; /* each output axis is used once */
    }
    out[3] = '\0';
}

void radi_affine_axcodes(const double affine[16], char out[4])
{
    rdi_axcodes(affine, out);
}

static void qform_affine(const radi_nifti_header *h, double *a)
{
    double b = h->quatern[0], c = h->quatern[1], d = h->quatern[2];
    double w2 = 1.0 - (b * b + c * c + d * d);
    double w = w2 > 0 ? sqrt(w2) : 0; /* a 180-degree turn; nibabel rounds tiny negatives to 0 */
    double nq = w * w + b * b + c * c + d * d;
    double r[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    if (!isfinite(b) || !isfinite(c) || !isfinite(d)) {
        /* As nibabel: a non-finite quaternion gives a non-finite affine, never a guess. */
        for (int i = 0; i < 9; i++) r[i / 3][i % 3] = NAN;
    } else if (nq > 1e-300) {
        double s = 2.0 / nq;
        double X = b * s, Y = c * s, Z = d * s;
        double wX = w * X, wY = w * Y, wZ = w * Z, xX = b * X, xY = b * Y, xZ = b * Z;
        double yY = c * Y, yZ = c * Z, zZ = d * Z;
        double m[3][3] = {{1.0 - (yY + zZ), xY - wZ, xZ + wY},
                          {xY + wZ, 1.0 - (xX + zZ), yZ - wX},
                          {xZ - wY, yZ + wX, 1.0 - (xX + yY)}};
        memcpy(r, m, sizeof r);
    }
    double qfac = h->pixdim[0] < 0 ? -1.0 : 1.0;
    double zoom[3] = {h->pixdim[1], h->pixdim[2], h->pixdim[3] * qfac};
    memset(a, 0, 16 * sizeof *a);
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) a[i * 4 + j] = r[i][j] * zoom[j];
        a[i * 4 + 3] = h->qoffset[i];
    }
    a[15] = 1;
}

static void derive_geometry(radi_nifti_header *h)
{
    double *a = h->affine;
    if (h->sform_code != 0) {
        memset(a, 0, 16 * sizeof *a);
        memcpy(a, h->srow, 12 * sizeof *a);
        a[15] = 1;
        h->affine_source = RADI_NIFTI_AFFINE_SFORM;
    } else if (h->qform_code != 0) {
        qform_affine(h, a);
        h->affine_source = RADI_NIFTI_AFFINE_QFORM;
    } else {
        /* nibabel's shape_zoom_affine with the x flip; 1-D/2-D images pad shape and
         * zooms with 1s. */
        memset(a, 0, 16 * sizeof *a);
        for (int i = 0; i < 3; i++) {
            int present = i < h->file_ndim;
            double zoom = present ? h->pixdim[i + 1] : 1.0;
            double n = present ? (double)h->shape[i] : 1.0;
            if (i == 0) zoom = -zoom;
            a[i * 4 + i] = zoom;
            a[i * 4 + 3] = -((n - 1) / 2.0) * zoom;
        }
        a[15] = 1;
        h->affine_source = RADI_NIFTI_AFFINE_FALLBACK;
    }
    rdi_axcodes(a, h->axcodes);
}

/* ------------------------------------------------------ header parsing -- */

radi_status rdi_nifti_parse_header(const uint8_t *p, size_t len, int single, const char *what,
                                   radi_nifti_header *out)
{
    if (len < 4) return rdi_error(RADI_E_CORRUPT, "%s: truncated: %zu bytes is too short for a NIfTI header", what, len);
    uint32_t sz = rdi_ld32(p), bsz = __builtin_bswap32(sz);
    int version, swap;
    if (sz == N1_SIZE || bsz == N1_SIZE) version = 1, swap = sz != N1_SIZE;
    else if (sz == N2_SIZE || bsz == N2_SIZE) version = 2, swap = sz != N2_SIZE;
    else
        return rdi_error(RADI_E_CORRUPT, "%s: not a NIfTI file: sizeof_hdr is %u (expected 348 or 540)",
                         what, (unsigned)sz);
    size_t hsize = version == 1 ? N1_SIZE : N2_SIZE;
    if (len < hsize)
        return rdi_error(RADI_E_CORRUPT, "%s: truncated NIfTI-%d header: %zu of %zu bytes", what,
                         version, len, hsize);
    const uint8_t *magic = version == 1 ? p + 344 : p + 4;
    char mg[4];
    for (int i = 0; i < 3; i++) mg[i] = magic[i] >= 0x20 && magic[i] < 0x7f ? (char)magic[i] : '?';
    mg[3] = '\0';
    int is_single = magic[1] == '+';
    if (magic[3] != 0 || magic[0] != 'n' || (magic[1] != '+' && magic[1] != 'i') ||
        magic[2] != '0' + version)
        return rdi_error(RADI_E_CORRUPT, "%s: wrong NIfTI-%d magic \"%.3s\" (expected \"n+%d\" or \"ni%d\")",
                         what, version, mg, version, version);
    if (single && !is_single)
        return rdi_error(RADI_E_CORRUPT, "%s: magic \"%s\" marks a .hdr/.img pair, but this is a single file",
                         what, mg);

    radi_nifti_header h;
    memset(&h, 0, sizeof h);
    hview v = {p, swap};
    h.version = version;
    h.big_endian = swap; /* hosts are little-endian (core.h) */
    int64_t dim[8];
    double vox;
    if (version == 1) {
        for (int i = 0; i < 8; i++) dim[i] = i16(v, 40 + 2 * i);
        for (int i = 0; i < 3; i++) h.intent_p[i] = f32(v, 56 + 4 * i);
        h.intent_code = i16(v, 68);
        h.nifti_datatype = i16(v, 70);
        h.slice_start = i16(v, 74);
        for (int i = 0; i < 8; i++) h.pixdim[i] = f32(v, 76 + 4 * i);
        vox = f32(v, 108);
        h.scl_slope = f32(v, 112);
        h.scl_inter = f32(v, 116);
        h.slice_end = i16(v, 120);
        h.slice_code = p[122];
        h.xyzt_units = p[123];
        h.cal_max = f32(v, 124);
        h.cal_min = f32(v, 128);
        h.slice_duration = f32(v, 132);
        h.toffset = f32(v, 136);
        cstr(h.descrip, p + 148, 80);
        cstr(h.aux_file, p + 228, 24);
        h.qform_code = i16(v, 252);
        h.sform_code = i16(v, 254);
        for (int i = 0; i < 3; i++) h.quatern[i] = f32(v, 256 + 4 * i);
        for (int i = 0; i < 3; i++) h.qoffset[i] = f32(v, 268 + 4 * i);
        for (int i = 0; i < 12; i++) h.srow[i] = f32(v, 280 + 4 * i);
        cstr(h.intent_name, p + 328, 16);
        h.dim_info = p[39];
    } else {
        h.nifti_datatype = i16(v, 12);
        for (int i = 0; i < 8; i++) dim[i] = i64(v, 16 + 8 * i);
        for (int i = 0; i < 3; i++) h.intent_p[i] = f64(v, 80 + 8 * i);
        for (int i = 0; i < 8; i++) h.pixdim[i] = f64(v, 104 + 8 * i);
        int64_t vo = i64(v, 168);
        if (vo < 0) return rdi_error(RADI_E_CORRUPT, "%s: bad vox_offset %lld (negative)", what, (long long)vo);
        vox = (double)vo;
        h.scl_slope = f64(v, 176);
        h.scl_inter = f64(v, 184);
        h.cal_max = f64(v, 192);
        h.cal_min = f64(v, 200);
        h.slice_duration = f64(v, 208);
        h.toffset = f64(v, 216);
        h.slice_start = i64(v, 224);
        h.slice_end = i64(v, 232);
        cstr(h.descrip, p + 240, 80);
        cstr(h.aux_file, p + 320, 24);
        h.qform_code = i32(v, 344);
        h.sform_code = i32(v, 348);
        for (int i = 0; i < 3; i++) h.quatern[i] = f64(v, 352 + 8 * i);
        for (int i = 0; i < 3; i++) h.qoffset[i] = f64(v, 376 + 8 * i);
        for (int i = 0; i < 12; i++) h.srow[i] = f64(v, 400 + 8 * i);
        h.slice_code = i32(v, 496);
        h.xyzt_units = i32(v, 500);
        h.intent_code = i32(v, 504);
        cstr(h.intent_name, p + 508, 16);
        h.dim_info = p[524];
    }

    /* Shape: validated before anything is sized from it. */
    if (dim[0] < 1 || dim[0] > 7)
        return rdi_error(RADI_E_CORRUPT, "%s: bad dim[0] = %lld (must be 1..7)", what, (long long)dim[0]);
    h.file_ndim = (int32_t)dim[0];
    uint64_t nvox = 1;
    for (int i = 1; i <= dim[0]; i++) {
        if (dim[i] < 0)
            return rdi_error(RADI_E_CORRUPT, "%s: bad dim[%d] = %lld (negative)", what, i, (long long)dim[i]);
        if (dim[i] == 0)
            return rdi_error(RADI_E_CORRUPT, "%s: bad dim[%d] = 0 (empty image)", what, i);
        if (nvox > (UINT64_MAX >> 4) / (uint64_t)dim[i])
            return rdi_error(RADI_E_CORRUPT, "%s: dims overflow: the voxel count exceeds 2^60", what);
        nvox *= (uint64_t)dim[i];
    }
    uint32_t nd = (uint32_t)dim[0];
    while (nd > 4 && dim[nd] == 1) nd--;
    if (nd > 4)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: %u-D image (dim[%u] = %lld): only 3-D and 4-D images are supported",
                         what, nd, nd, (long long)dim[nd]);
    for (int i = 0; i < 7; i++) h.shape[i] = i < (int)nd ? (uint64_t)dim[i + 1] : 1;
    h.ndim = nd < 3 ? 3 : nd;

    int known = 0;
    for (size_t i = 0; i < sizeof k_types / sizeof k_types[0]; i++)
        if (k_types[i].code == h.nifti_datatype) h.datatype = k_types[i].type, known = 1;
    if (!known)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: unsupported NIfTI datatype %d (%s)", what,
                         h.nifti_datatype, unsupported_name(h.nifti_datatype));

    if (!isfinite(vox) || vox < 0 || vox > 9007199254740992.0)
        return rdi_error(RADI_E_CORRUPT, "%s: bad vox_offset %g", what, vox);
    h.vox_offset = (uint64_t)vox; /* nibabel truncates a fractional offset the same way */
    if (single) {
        /* 0 means "right after the header and extension flag" (nifti_clib, nibabel). */
        if (h.vox_offset == 0) h.vox_offset = hsize + 4;
        if (h.vox_offset < hsize)
            return rdi_error(RADI_E_CORRUPT, "%s: bad vox_offset %llu (inside the %zu-byte header)", what,
                             (unsigned long long)h.vox_offset, hsize);
    }
    uint64_t nbytes = nvox * radi_datatype_size(h.datatype);
    if (h.vox_offset > UINT64_MAX - nbytes)
        return rdi_error(RADI_E_CORRUPT, "%s: vox_offset plus voxel data overflows", what);

    /* nibabel's load-time fixes (check_fix): qfac must be +-1, voxel sizes positive. */
    if (h.pixdim[0] != 1.0 && h.pixdim[0] != -1.0) h.pixdim[0] = 1.0;
    for (int i = 1; i <= 3; i++) {
        if (h.pixdim[i] == 0) h.pixdim[i] = 1.0;
        else if (h.pixdim[i] < 0) h.pixdim[i] = -h.pixdim[i];
    }
    derive_geometry(&h);
    *out = h;
    return RADI_OK;
}

/* ------------------------------------------------------- reverse axes -- */

void rdi_reverse_axes(const void *in, void *out, uint32_t n, const uint64_t *dims, size_t elem)
{
    uint64_t total = 1;
    for (uint32_t k = 0; k < n; k++) total *= dims[k];
    /* Axes of length 1 do not move data: drop them, so e.g. (1, Y, X) is a 2-D transpose. */
    uint64_t d[8];
    uint32_t m = 0;
    for (uint32_t k = 0; k < n && m < 8; k++)
        if (dims[k] != 1) d[m++] = dims[k];
    if (m <= 1) {
        memcpy(out, in, (size_t)(total * elem));
        return;
    }
    /* The first and last axes swap places: for each index of the middle axes, one 2-D
     * transpose of the (first, last) plane, rows total/R apart in the input and total/C
     * apart in the output. Middle axes are reversed by where each plane lands. */
    uint64_t R = d[0], C = d[m - 1];
    uint64_t sr = total / R, so = total / C;
    uint64_t istride[8], ostride[8];
    for (uint32_t k = 0; k < m; k++) {
        istride[k] = 1;
        for (uint32_t j = k + 1; j < m; j++) istride[k] *= d[j];
        ostride[k] = 1;
        for (uint32_t j = 0; j < k; j++) ostride[k] *= d[j];
    }
    const uint8_t *src0 = in;
    uint8_t *dst0 = out;
    uint64_t idx[8] = {0};
    for (;;) {
        uint64_t ioff = 0, ooff = 0;
        for (uint32_t k = 1; k + 1 < m; k++) ioff += idx[k] * istride[k], ooff += idx[k] * ostride[k];
        rdi_transpose(src0 + ioff * elem, sr, dst0 + ooff * elem, so, R, C, elem);
        uint32_t k = m - 2;
        while (k >= 1) {
            if (++idx[k] < d[k]) break;
            idx[k] = 0;
            k--;
        }
        if (k < 1) break;
    }
}

/* --------------------------------------------------------------- open -- */

int rdi_ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    if (n < m) return 0;
    for (size_t i = 0; i < m; i++) {
        char a = s[n - m + i], b = suffix[i];
        if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
        if (a != b) return 0;
    }
    return 1;
}

/* Bytes read at open: one request holds a NIfTI-2 header and, for most .nii.gz files,
 * enough compressed bytes to inflate it. */
#define HEAD_READ 65536

/* The decompressed prefix of a gzipped header: up to N2_SIZE bytes (fewer if the whole
 * file is shorter). Inflates from img->head, reading a larger head (x4) only when the
 * compressed header does not fit in it. */
static radi_status gz_prefix(radi_nifti *img, const uint8_t *whole, uint64_t size, uint8_t *hdr,
                             size_t *got)
{
    uint64_t want = whole ? RDI_MIN(size, (uint64_t)HEAD_READ) : img->head.len;
    radi_status s;
    for (;;) {
        const uint8_t *src = whole;
        if (!src) {
            if (img->head.len < want) {
                s = rdi_buf_resize(&img->head, (size_t)want);
                if (s == RADI_OK) s = rdi_vfs_read(img->vfs, img->name, 0, img->head.data, want);
                if (s != RADI_OK) break;
            }
            src = img->head.data;
        }
        size_t n = 0;
        s = rdi_gz_inflate_stream(src, (size_t)want, hdr, N2_SIZE, img->name, &n);
        if (s == RADI_OK || want == size) {
            /* A short stream still holds a whole NIfTI-1 header (small images). */
            if (s != RADI_OK && n >= N1_SIZE && rdi_ld32(hdr) != N2_SIZE &&
                __builtin_bswap32(rdi_ld32(hdr)) != N2_SIZE)
                s = RADI_OK;
            *got = n;
            break;
        }
        want = RDI_MIN(size, want * 4);
    }
    return s;
}

static radi_status finish_open(radi_nifti *img)
{
    uint8_t hdr[N2_SIZE];
    size_t got = 0;
    radi_status s;
    uint64_t hsize;
    int hdr_gz;
    if (img->mem) {
        hsize = img->mem_len;
        hdr_gz = rdi_gz_is_gzip(img->mem, img->mem_len);
    } else {
        s = rdi_vfs_size(img->vfs, img->name, &hsize);
        if (s != RADI_OK) return rdi_error_wrap(s, "cannot open NIfTI file");
        uint64_t first = RDI_MIN(hsize, (uint64_t)HEAD_READ);
        RDI_TRY(rdi_buf_resize(&img->head, (size_t)first));
        if (first) RDI_TRY(rdi_vfs_read(img->vfs, img->name, 0, img->head.data, first));
        hdr_gz = rdi_gz_is_gzip(img->head.data, img->head.len);
    }
    if (hdr_gz) {
        RDI_TRY(gz_prefix(img, img->mem, hsize, hdr, &got));
    } else {
        got = (size_t)RDI_MIN(hsize, (uint64_t)N2_SIZE);
        if (got) memcpy(hdr, img->mem ? img->mem : img->head.data, got);
    }
    int single = img->data_path == img->name;
    RDI_TRY(rdi_nifti_parse_header(hdr, got, single, img->name, &img->hdr));
    radi_nifti_header *h = &img->hdr;
    h->gzip = hdr_gz;
    img->elem = radi_datatype_size(h->datatype);
    img->nvox = 1;
    for (uint32_t i = 0; i < h->ndim; i++) img->nvox *= h->shape[i];
    img->nbytes = img->nvox * img->elem;

    uint64_t dsize = hsize;
    img->data_gz = hdr_gz;
    if (!single) {
        s = rdi_vfs_size(img->vfs, img->data_path, &dsize);
        if (s != RADI_OK) return rdi_error_wrap(s, "%s: cannot open the image file of the pair", img->name);
        uint8_t mg[2] = {0, 0};
        if (dsize >= 2) RDI_TRY(rdi_vfs_read(img->vfs, img->data_path, 0, mg, 2));
        img->data_gz = rdi_gz_is_gzip(mg, dsize >= 2 ? 2 : 0);
        h->gzip = img->data_gz;
    }
    img->data_size = dsize;
    uint64_t need = h->vox_offset + img->nbytes;
    if (!img->data_gz && need > dsize)
        return rdi_error(RADI_E_CORRUPT,
                         "%s: truncated: voxel data needs %llu bytes from offset %llu, the file has %llu",
                         img->data_path, (unsigned long long)img->nbytes,
                         (unsigned long long)h->vox_offset, (unsigned long long)dsize);
    if (img->data_gz && need > rdi_gz_max_expansion(dsize))
        return rdi_error(RADI_E_CORRUPT,
                         "%s: dims claim %llu bytes of voxels, more than %llu gzip bytes can hold",
                         img->data_path, (unsigned long long)img->nbytes, (unsigned long long)dsize);
    if (need > (uint64_t)SIZE_MAX / 2)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: image of %llu bytes is too large for this platform",
                         img->data_path, (unsigned long long)img->nbytes);
    return RADI_OK;
}

static radi_status new_image(const char *name, radi_nifti **out)
{
    radi_nifti *img = rdi_calloc(1, sizeof *img);
    if (!img) return RADI_E_NOMEM;
    img->name = rdi_strdup(name);
    if (!img->name) {
        free(img);
        return RADI_E_NOMEM;
    }
    img->data_path = img->name;
    *out = img;
    return RADI_OK;
}

static radi_status open_common(radi_nifti *img, radi_nifti **out)
{
    radi_status s = finish_open(img);
    if (s != RADI_OK) {
        radi_nifti_close(img);
        return s;
    }
    *out = img;
    return RADI_OK;
}

radi_status rdi_nifti_open_vfs(rdi_vfs *vfs, const char *path, radi_nifti **out)
{
    if (!vfs || !path || !out) return rdi_error(RADI_E_INVALID, "radi_nifti_open: NULL argument");
    radi_nifti *img;
    RDI_TRY(new_image(path, &img));
    img->vfs = vfs;
    /* A pair may be named by either half: the header comes from .hdr, voxels from .img. */
    int gz = rdi_ends_with_ci(path, ".gz");
    size_t n = strlen(path), at = n - (gz ? 7 : 4);
    int hdr_named = rdi_ends_with_ci(path, gz ? ".hdr.gz" : ".hdr");
    int img_named = rdi_ends_with_ci(path, gz ? ".img.gz" : ".img");
    if (hdr_named || img_named) {
        char *other = rdi_strdup(path);
        if (!other) {
            radi_nifti_close(img);
            return RADI_E_NOMEM;
        }
        int upper = path[at + 1] >= 'A' && path[at + 1] <= 'Z';
        memcpy(other + at + 1, hdr_named ? (upper ? "IMG" : "img") : (upper ? "HDR" : "hdr"), 3);
        if (hdr_named) {
            img->data_path = other;
        } else {
            img->data_path = img->name; /* the given name holds the voxels */
            img->name = other;
        }
    }
    return open_common(img, out);
}

radi_status radi_nifti_open(const char *path, radi_nifti **out)
{
    if (!path || !out) return rdi_error(RADI_E_INVALID, "radi_nifti_open: NULL argument");
    rdi_vfs *vfs;
    RDI_TRY(rdi_vfs_create(&vfs));
    radi_nifti *img = NULL;
    radi_status s = rdi_nifti_open_vfs(vfs, path, &img);
    if (s != RADI_OK) {
        rdi_vfs_free(vfs);
        return s;
    }
    img->own_vfs = 1;
    *out = img;
    return RADI_OK;
}

radi_status radi_nifti_open_memory(const void *data, size_t len, const char *name, radi_nifti **out)
{
    if ((!data && len) || !out) return rdi_error(RADI_E_INVALID, "radi_nifti_open_memory: NULL argument");
    radi_nifti *img;
    RDI_TRY(new_image(name ? name : "<memory>", &img));
    static const uint8_t empty[1] = {0};
    img->mem = data ? data : empty;
    img->mem_len = len;
    return open_common(img, out);
}

void radi_nifti_close(radi_nifti *img)
{
    if (!img) return;
    if (img->data_path != img->name) free(img->data_path);
    free(img->name);
    rdi_buf_free(&img->head);
    if (img->own_vfs) rdi_vfs_free(img->vfs);
    free(img);
}

const radi_nifti_header *radi_nifti_get_header(const radi_nifti *img) { return img ? &img->hdr : NULL; }

uint64_t radi_nifti_voxel_count(const radi_nifti *img) { return img ? img->nvox : 0; }

static int scaling_valid(const radi_nifti_header *h)
{
    return h->scl_slope != 0 && isfinite(h->scl_slope);
}

int radi_nifti_has_scaling(const radi_nifti *img)
{
    if (!img || !scaling_valid(&img->hdr)) return 0;
    return img->hdr.scl_slope != 1.0 || img->hdr.scl_inter != 0.0;
}

/* --------------------------------------------------------------- read -- */

/* Sizes b to len without zeroing: every byte is overwritten next (decode, read, copy). */
static radi_status set_len(rdi_buf *b, size_t len)
{
    RDI_TRY(rdi_buf_reserve(b, len > b->len ? len - b->len : 0));
    b->len = len;
    return RADI_OK;
}

static void swap_inplace(uint8_t *p, uint64_t n, size_t elem)
{
    switch (elem) {
    case 2:
        for (uint64_t i = 0; i < n; i++) {
            uint16_t v;
            memcpy(&v, p + 2 * i, 2);
            v = __builtin_bswap16(v);
            memcpy(p + 2 * i, &v, 2);
        }
        break;
    case 4:
        for (uint64_t i = 0; i < n; i++) rdi_st32(p + 4 * i, __builtin_bswap32(rdi_ld32(p + 4 * i)));
        break;
    case 8:
        for (uint64_t i = 0; i < n; i++) rdi_st64(p + 8 * i, __builtin_bswap64(rdi_ld64(p + 8 * i)));
        break;
    default: break;
    }
}

radi_status rdi_nifti_read_raw(radi_nifti *img, rdi_buf *own, const uint8_t **raw)
{
    const radi_nifti_header *h = &img->hdr;
    uint64_t need = h->vox_offset + img->nbytes;
    if (img->data_gz) {
        const uint8_t *src;
        rdi_buf comp = RDI_BUF_INIT;
        if (img->mem) {
            src = img->mem;
        } else {
            /* The whole object in one read, less what open already holds. */
            int single = img->data_path == img->name;
            uint64_t have = single ? RDI_MIN((uint64_t)img->head.len, img->data_size) : 0;
            RDI_TRY(set_len(&comp, (size_t)img->data_size));
            if (have) memcpy(comp.data, img->head.data, (size_t)have);
            radi_status s = have == img->data_size ? RADI_OK
                            : rdi_vfs_read(img->vfs, img->data_path, have, comp.data + have,
                                           img->data_size - have);
            if (s != RADI_OK) {
                rdi_buf_free(&comp);
                return s;
            }
            src = comp.data;
        }
        radi_status s = set_len(own, (size_t)need);
        if (s == RADI_OK)
            s = rdi_gz_inflate(src, (size_t)img->data_size, own->data, (size_t)need, img->data_path, NULL);
        rdi_buf_free(&comp);
        RDI_TRY(s);
        *raw = own->data + h->vox_offset;
    } else if (img->mem && !h->big_endian) {
        *raw = img->mem + h->vox_offset; /* borrowed in place: no copy */
    } else {
        RDI_TRY(set_len(own, (size_t)img->nbytes));
        if (img->mem) memcpy(own->data, img->mem + h->vox_offset, (size_t)img->nbytes);
        else if (img->data_path == img->name && h->vox_offset + img->nbytes <= img->head.len)
            memcpy(own->data, img->head.data + h->vox_offset, (size_t)img->nbytes); /* read at open */
        else RDI_TRY(rdi_vfs_read(img->vfs, img->data_path, h->vox_offset, own->data, img->nbytes));
        *raw = own->data;
    }
    if (h->big_endian) swap_inplace((uint8_t *)(uintptr_t)*raw, img->nvox, img->elem);
    return RADI_OK;
}

radi_status radi_nifti_read(radi_nifti *img, int scaled, radi_datatype out_type, void *buf,
                            uint64_t buf_size)
{
    if (!img || !buf) return rdi_error(RADI_E_INVALID, "radi_nifti_read: NULL argument");
    const radi_nifti_header *h = &img->hdr;
    if (!scaled && out_type == RADI_ANY) out_type = h->datatype;
    if (!scaled && out_type != h->datatype)
        return rdi_error(RADI_E_INVALID, "%s: a raw read returns the stored type %s, not %s", img->name,
                         radi_datatype_name(h->datatype), radi_datatype_name(out_type));
    if (scaled && out_type != RADI_FLOAT32 && out_type != RADI_FLOAT64)
        return rdi_error(RADI_E_INVALID, "%s: a scaled read returns float32 or float64, not %s", img->name,
                         radi_datatype_name(out_type));
    double slope = 1.0, inter = 0.0;
    if (scaled && scaling_valid(h)) {
        slope = h->scl_slope;
        inter = h->scl_inter;
        if (!isfinite(inter))
            return rdi_error(RADI_E_CORRUPT, "%s: scl_slope is %g but scl_inter is not finite", img->name, slope);
    }
    size_t oelem = radi_datatype_size(out_type);
    if (buf_size / oelem < img->nvox)
        return rdi_error(RADI_E_INVALID, "%s: buffer of %llu bytes is too small for %llu voxels of %s",
                         img->name, (unsigned long long)buf_size, (unsigned long long)img->nvox,
                         radi_datatype_name(out_type));

    rdi_buf own = RDI_BUF_INIT, conv = RDI_BUF_INIT;
    const uint8_t *raw = NULL;
    radi_status s = rdi_nifti_read_raw(img, &own, &raw);
    size_t elem = img->elem;
    if (s == RADI_OK && scaled) {
        s = set_len(&conv, (size_t)(img->nvox * oelem));
        if (s == RADI_OK) {
            rdi_scale_convert(raw, h->datatype, conv.data, out_type, img->nvox, slope, inter);
            raw = conv.data;
            elem = oelem;
        }
    }
    if (s == RADI_OK) {
        uint64_t dims[7];
        for (uint32_t i = 0; i < h->ndim; i++) dims[i] = h->shape[h->ndim - 1 - i]; /* file: x fastest */
        rdi_reverse_axes(raw, buf, h->ndim, dims, elem);
    }
    rdi_buf_free(&conv);
    rdi_buf_free(&own);
    return s;
}
