/*
 * libFuzzer target: a serialized filter pipeline plus a chunked tile.
 * Input: u8 datatype selector | u8 cell multiplier | u16 pipeline length | pipeline | tile.
 * The pipeline is parsed with rdi_pipeline_read and the tile unfiltered into a buffer of
 * the size its chunk headers claim (bounded), so every decoder sees hostile bytes.
 */
#include <stdint.h>
#include <stdlib.h>

#include "core/core.h"
#include "filters/filters.h"

static const radi_datatype TYPES[] = {RADI_INT8,  RADI_UINT8,  RADI_INT16,   RADI_UINT16,
                                      RADI_INT32, RADI_UINT32, RADI_INT64,   RADI_UINT64,
                                      RADI_FLOAT32, RADI_FLOAT64, RADI_BOOL, RADI_STRING_ASCII};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return 0;
    radi_datatype type = TYPES[data[0] % (sizeof TYPES / sizeof TYPES[0])];
    uint32_t cell = (uint32_t)radi_datatype_size(type) * (1u + data[1] % 4);
    size_t plen = (size_t)data[2] | ((size_t)data[3] << 8);
    data += 4;
    size -= 4;
    if (plen > size) plen = size;

    radi_filter_list fl;
    rdi_rd r;
    rdi_rd_init(&r, data, plen, "fuzz pipeline");
    if (rdi_pipeline_read(&r, 22, &fl) != RADI_OK) return 0;
    if (rdi_pipeline_check(&fl, type, "fuzz") != RADI_OK) return 0;

    const uint8_t *tile = data + plen;
    size_t tlen = size - plen;
    uint64_t usize;
    if (rdi_tile_unfiltered_size(tile, tlen, "fuzz tile", &usize) != RADI_OK) return 0;
    if (usize > (UINT64_C(1) << 24)) return 0;   /* keep each run small */

    rdi_scratch *s = NULL;
    if (rdi_scratch_create(&s) != RADI_OK) return 0;
    uint8_t *out = malloc(usize ? (size_t)usize : 1);
    if (out) {
        (void)rdi_tile_unfilter(&fl, type, cell, tile, tlen, out, usize, s, "fuzz tile");
        /* and a wrong expected size must fail cleanly, never write past the buffer */
        if (usize) (void)rdi_tile_unfilter(&fl, type, cell, tile, tlen, out, usize - 1, s, "fuzz tile");
    }
    free(out);

    /* Re-filtering whatever came out must not crash either. */
    rdi_buf enc = RDI_BUF_INIT;
    if (tlen && rdi_pipeline_check(&fl, type, "fuzz") == RADI_OK)
        (void)rdi_tile_filter(&fl, type, cell, tile, tlen - tlen % cell, s, &enc);
    rdi_buf_free(&enc);
    rdi_scratch_free(s);
    return 0;
}
