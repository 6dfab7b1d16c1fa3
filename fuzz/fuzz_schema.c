/*
 * libFuzzer target: an array schema file (__schema/<name>: one generic tile holding the
 * serialized schema). The input is tried both as a whole file (generic tile decoded
 * first) and as a bare payload, so mutations reach the tile header, the filters and every
 * field of the schema. A schema that parses is serialized again (it must be writable or
 * refused cleanly) and re-read.
 */
#include <stdint.h>
#include <stdlib.h>

#include "core/core.h"
#include "tdb/tdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_payload(const void *p, size_t len)
{
    radi_schema *s = NULL;
    if (rdi_schema_deserialize(p, len, "fuzz schema", &s) != RADI_OK) return;
    rdi_buf out = RDI_BUF_INIT;
    if (rdi_schema_validate(s) == RADI_OK && rdi_schema_serialize(s, 21, &out) == RADI_OK) {
        radi_schema *again = NULL;
        if (rdi_schema_deserialize(out.data, out.len, "fuzz schema (re-read)", &again) == RADI_OK)
            radi_schema_free(again);
    }
    rdi_buf_free(&out);
    radi_schema_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse_payload(data, size);

    rdi_scratch *scratch = NULL;
    if (rdi_scratch_create(&scratch) != RADI_OK) return 0;
    rdi_rd r;
    rdi_rd_init(&r, data, size, "fuzz schema file");
    rdi_buf payload = RDI_BUF_INIT;
    if (rdi_generic_tile_decode(&r, scratch, &payload) == RADI_OK)
        parse_payload(payload.data, payload.len);
    rdi_buf_free(&payload);
    rdi_scratch_free(scratch);
    return 0;
}
