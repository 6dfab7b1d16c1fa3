/*
 * The volume handle's fields (model/volume.c), shared with the batch patch reader
 * (model/patches.c). Not installed.
 */
#ifndef RDI_MODEL_VOLUME_INT_H
#define RDI_MODEL_VOLUME_INT_H

#include "radi/volume.h"
#include "tdb/tdb.h"

#define RDI_VOXELS "voxels"

/* Immutable after radi_volume_open returns (its tile indexes are loaded there), so
 * reads of one handle share it without a lock. */
struct radi_volume {
    radi_array *array;
    uint32_t ndim;
    uint64_t shape[4];
    int64_t lo[4];          /* domain lower bounds: 0 for what radi and RadiObject write */
    radi_datatype dtype;
    const char *attr;       /* the voxel attribute: RDI_VOXELS, or the one attribute of an
                             * array without it (volume.h); borrowed from the schema */
    double slope, inter;    /* NIfTI scaling recorded at ingest; 1, 0 when none */
    int has_scaling;
};

#endif
