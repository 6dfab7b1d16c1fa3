/*
 * io layer: NIfTI-1/2 reader and NIfTI-1 writer over the VFS, and the gzip helpers they
 * share (libdeflate for whole buffers, zlib streaming as the fallback). The public
 * surface is include/radi/nifti.h (radi_nifti_open_ctx / radi_nifti_write_ctx go through
 * a context's VFS, S3 included); these entry points let the model layer read raw voxels
 * and let tests and the fuzzer reach the pieces.
 */
#ifndef RDI_IO_NIFTI_H
#define RDI_IO_NIFTI_H

#include "core/core.h"
#include "radi/nifti.h"
#include "vfs/vfs.h"

/* Opens `path` through `vfs` (borrowed; must outlive the handle). */
radi_status rdi_nifti_open_vfs(rdi_vfs *vfs, const char *path, radi_nifti **out);
/* radi_nifti_write_ctx's body: builds the file in memory, one rdi_vfs_write. */
radi_status rdi_nifti_write_vfs(rdi_vfs *vfs, const char *path, const radi_nifti_header *hdr,
                                const void *data);

/* Parses a NIfTI-1/2 header from the first len bytes of a (decompressed) file into *hdr
 * (derived fields included). `single` = the voxels follow in the same file. */
radi_status rdi_nifti_parse_header(const uint8_t *p, size_t len, int single, const char *what,
                                   radi_nifti_header *hdr);

/* The voxels as stored: file order (x fastest: column-major over the shape), host byte
 * order, unscaled. *raw points into *own (sized here; the caller frees it) or into the
 * memory the image was opened on. For writers that take column-major input, this skips
 * radi_nifti_read's axis reversal and its second whole-volume buffer. */
radi_status rdi_nifti_read_raw(radi_nifti *img, rdi_buf *own, const uint8_t **raw);

/* Serializes hdr as a 348-byte NIfTI-1 header plus the 4-byte extension flag. */
radi_status rdi_nifti_encode_header(const radi_nifti_header *hdr, uint8_t out[352]);

/* Reverses the axes of an n-D array (C order, dims[0] slowest) of elem-byte values:
 * out[i_{n-1}]...[i_0] = in[i_0]...[i_{n-1}], as one rdi_transpose per index of the
 * middle axes. elem is 1, 2, 4 or 8. */
void rdi_reverse_axes(const void *in, void *out, uint32_t n, const uint64_t *dims, size_t elem);

/* ---- shared by the reader (nifti.c) and the writer (nifti_write.c) ---- */

/* The NIfTI datatype code of a radi type; 0 for types NIfTI has no code for. */
int rdi_nifti_code_of(radi_datatype t);
/* Whether s ends with suffix (lower case), ignoring ASCII case. */
int rdi_ends_with_ci(const char *s, const char *suffix);
/* Determinant of a 3x3 matrix, and its nearest orthogonal matrix (polar decomposition,
 * as nibabel); rdi_polar3 returns 0 for a singular input. */
double rdi_det3(const double m[3][3]);
int rdi_polar3(const double m[3][3], double q[3][3]);
/* The axis codes of a row-major 4x4 voxel-to-RAS affine, nibabel's
 * aff2axcodes(io_orientation(affine)): e.g. "RAS", "LPS"; '?' for a degenerate axis.
 * Shared by NIfTI and DICOM, so both label a given affine alike. */
void rdi_axcodes(const double *a, char out[4]);

/* ---- gzip ---- */

/* Whether p starts with the gzip magic. */
int rdi_gz_is_gzip(const uint8_t *p, size_t len);
/* Inflates the gzip members in src[0..n) into exactly `need` bytes at dst; the member
 * holding the last needed byte is still read to its end, so its CRC and length are
 * checked (what follows it is ignored). Fewer bytes available is RADI_E_CORRUPT
 * ("truncated"); bad data is RADI_E_CORRUPT ("corrupt gzip"). *got (may be NULL) = bytes
 * produced (== need on success). */
radi_status rdi_gz_inflate(const uint8_t *src, size_t n, uint8_t *dst, size_t need,
                           const char *what, size_t *got);
/* The same with zlib streaming only: for prefixes of a file (the header), where
 * libdeflate, which decodes whole members, would see a member cut short. */
radi_status rdi_gz_inflate_stream(const uint8_t *src, size_t n, uint8_t *dst, size_t need,
                                  const char *what, size_t *got);
/* Compresses src into one gzip member appended to out. */
radi_status rdi_gz_compress(const uint8_t *src, size_t n, int level, rdi_buf *out,
                            const char *what);
/* The largest size deflate can expand n compressed bytes to (1032:1, plus slack):
 * a bound on what an untrusted .gz may claim before anything is allocated. */
uint64_t rdi_gz_max_expansion(uint64_t n);

#endif
