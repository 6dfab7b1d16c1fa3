/*
 * libFuzzer target: a fragment metadata footer (the bytes of __fragment_metadata.tdb
 * before its trailing u64 footer length) parsed against fixed schemas: dense 3-D int32
 * dims with a float32 attribute (a radi volume), dense 4-D with int16, and sparse 2-D
 * int64 with float64. Each schema takes the name the footer asks for, so every input
 * gets past the schema lookup into the NED, sizes and offsets.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "tdb/tdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static radi_schema *make_schema(radi_array_type type, uint32_t ndim, radi_datatype dim_type,
                                radi_datatype attr_type)
{
    radi_schema *s = NULL;
    if (radi_schema_create(type, &s) != RADI_OK) return NULL;
    static const char *const names[4] = {"x", "y", "z", "t"};
    for (uint32_t d = 0; d < ndim; d++) {
        int64_t lo64 = 0, hi64 = 239, ext64 = d == 2 ? 1 : 240;
        int32_t lo32 = 0, hi32 = 239, ext32 = d == 2 ? 1 : 240;
        int is64 = dim_type == RADI_INT64;
        if (radi_schema_add_dim(s, names[d], dim_type, is64 ? (void *)&lo64 : (void *)&lo32,
                                is64 ? (void *)&hi64 : (void *)&hi32,
                                is64 ? (void *)&ext64 : (void *)&ext32, NULL) != RADI_OK)
            goto fail;
    }
    if (radi_schema_add_attr(s, "voxels", attr_type, 1, 0, NULL, NULL, 0) != RADI_OK) goto fail;
    return s;
fail:
    radi_schema_free(s);
    return NULL;
}

/* The schema name the footer names (u32 version | u64 length | bytes), bounded. */
static char *footer_schema_name(const uint8_t *data, size_t size)
{
    if (size < 12) return NULL;
    uint64_t n;
    memcpy(&n, data + 4, 8);
    if (n == 0 || n > 256 || n > size - 12) return NULL;
    char *name = malloc((size_t)n + 1);
    if (!name) return NULL;
    memcpy(name, data + 12, (size_t)n);
    name[n] = '\0';
    return name;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    radi_schema *schemas[3] = {
        make_schema(RADI_DENSE, 3, RADI_INT32, RADI_FLOAT32),
        make_schema(RADI_DENSE, 4, RADI_INT32, RADI_INT16),
        make_schema(RADI_SPARSE, 2, RADI_INT64, RADI_FLOAT64),
    };
    char *name = footer_schema_name(data, size);
    for (int i = 0; i < 3; i++) {
        if (!schemas[i]) continue;
        if (name) {
            schemas[i]->name = strdup(name);
            if (!schemas[i]->name) continue;
        }
        rdi_fragmeta *fm = calloc(1, sizeof *fm);
        if (!fm) continue;
        (void)rdi_fragmeta_parse_footer(data, size, "fuzz footer", &schemas[i], 1, fm);
        rdi_fragmeta_free(fm);
    }
    free(name);
    for (int i = 0; i < 3; i++) radi_schema_free(schemas[i]);
    return 0;
}
