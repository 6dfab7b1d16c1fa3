/*
 * Strided 2-D transposes, the copy under both layout changes of a volume's life: NIfTI's
 * x-fastest voxels reversed to C order, and axial tiles cut out of a C-order volume (each
 * tile one voxel out of every z). SSE2 kernels where available, scalar otherwise.
 */
#ifndef RDI_TRANSPOSE_H
#define RDI_TRANSPOSE_H

#include <stddef.h>
#include <stdint.h>

/* dst[c * dst_stride + r] = src[r * src_stride + c] for r < rows, c < cols, over values of
 * elem bytes (any size; 1, 2, 4 and 8 are the fast ones). Strides count values. Neither
 * buffer needs any alignment; they must not overlap. */
void rdi_transpose(const void *src, uint64_t src_stride, void *dst, uint64_t dst_stride,
                   uint64_t rows, uint64_t cols, size_t elem);

#endif
