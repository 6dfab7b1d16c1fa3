/*
 * io layer: DICOM series assembly. Files (parsed by part10.c) are grouped into series by
 * SeriesInstanceUID, split where orientation, size or pixel spacing changes, and each
 * part becomes one volume by the rule dcm2niix, ITK/GDCM, dicom-numpy and highdicom share:
 * frames sorted by position along the slice normal n = row x column cosines (never by
 * InstanceNumber), spacing from the first and last positions, LPS -> RAS affine, gantry
 * tilt recorded, uneven gaps and duplicate positions refused by name; equal position
 * counts k > 1 make a 4-D volume (t = k).
 */
#ifndef RDI_IO_DICOM_SERIES_H
#define RDI_IO_DICOM_SERIES_H

#include "io/dicom/dicom.h"

/* One frame of a volume: which file, which frame of it. */
typedef struct rdi_dcm_ref {
    uint32_t file, frame;
} rdi_dcm_ref;

/* One volume: frames in x-y-z(-t) order; shape (x = columns, y = rows, z, t). */
typedef struct rdi_dcm_volume {
    uint64_t shape[4];
    uint32_t ndim;          /* 3 or 4 */
    double affine[16];      /* RAS, row-major 4x4, voxel (x, y, z) -> mm */
    double spacing[3];      /* true spacing: column, row, slice step */
    double gantry_tilt_deg; /* angle between the slice step and the normal */
    rdi_dcm_ref *refs;      /* shape[2] * shape[3] entries, z fastest then t (owned) */
    size_t nrefs;
    int orientation_identity; /* no IPP/IOP: identity geometry (one frame only) */
} rdi_dcm_volume;
