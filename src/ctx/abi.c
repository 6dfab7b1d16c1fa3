/* radi_abi_sizeof: the size of every public struct, so that language bindings can check
 * their hand-written mirrors (Python's ctypes) against the library they load. */
#include "radi/dicom.h"
#include "radi/nifti.h"
#include "radi/patches.h"
#include "radi/radi.h"
#include "radi/radiobject.h"
#include "radi/sparse.h"
#include "radi/volume.h"
#include "core/core.h"

#define ABI(T) {#T, sizeof(T)}

static const struct {
    const char *name;
    size_t size;
} ABI_SIZES[] = {
    /* radi.h */
    ABI(radi_filter), ABI(radi_filter_list), ABI(radi_config), ABI(radi_dim_info),
    ABI(radi_attr_info), ABI(radi_schema_info), ABI(radi_fragment_info), ABI(radi_field_buffer),
    ABI(radi_read_stats), ABI(radi_meta_item), ABI(radi_group_member),
    /* sparse.h */
    ABI(radi_sparse_buffer), ABI(radi_sparse_column),
    /* volume.h */
    ABI(radi_tile_config), ABI(radi_compression),
    /* patches.h */
    ABI(radi_patch_options), ABI(radi_patch_request),
    /* nifti.h */
    ABI(radi_nifti_header),
    /* radiobject.h */
    ABI(radi_volume_entry), ABI(radi_nifti_source), ABI(radi_ingest_options),
    ABI(radi_ingest_collection), ABI(radi_selection),
    /* dicom.h */
    ABI(radi_dicom_source), ABI(radi_dicom_collection), ABI(radi_dicom_options),
    ABI(radi_dicom_series_info),
};

size_t radi_abi_sizeof(const char *type_name)
{
    if (!type_name) return 0;
    for (size_t i = 0; i < sizeof ABI_SIZES / sizeof ABI_SIZES[0]; i++)
        if (!strcmp(type_name, ABI_SIZES[i].name)) return ABI_SIZES[i].size;
    return 0;
}
