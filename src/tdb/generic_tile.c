/*
 * Generic tiles (docs/format.md §3): a 34-byte header, the serialized
 * pipeline, then one chunked tile. Used for schemas, metadata, group details and every
 * section of the fragment metadata.
 */
#include <stdlib.h>

#include "tdb/tdb.h"
#include "tdb/prefetch.h"

#define GT_HEADER 34u

/* Deflate cannot expand more than ~1032:1; anything claiming much more is garbage, and
 * refusing it keeps an untrusted size from driving a huge allocation. */
#define GT_MAX_RATIO 2048u
#define GT_SLACK (1u << 20)

typedef struct gt_header {
    uint32_t version;
    uint64_t persisted, tile_size;
    uint8_t datatype;
    uint64_t cell_size;
    uint8_t encryption;
    uint32_t fp_size;
} gt_header;

radi_status rdi_generic_tile_encode(const void *payload, size_t len, uint32_t version,
                                    rdi_scratch *scratch, rdi_buf *out)
{
    /* TileDB always writes CHAR cells of size 1 through GZIP level 1. */
    radi_filter_list fl;
    radi_filter_list_init(&fl);
    RDI_TRY(radi_filter_list_add(&fl, RADI_FILTER_GZIP, 1));
    rdi_buf pipe = RDI_BUF_INIT, body = RDI_BUF_INIT;
    radi_status s = rdi_pipeline_write(&fl, version, &pipe);
    if (s == RADI_OK)
        s = rdi_tile_filter(&fl, RADI_CHAR, 1, payload, (uint64_t)len, scratch, &body);
    if (s == RADI_OK && (pipe.len > UINT32_MAX))
        s = rdi_error(RADI_E_INTERNAL, "generic tile: pipeline too large");
    if (s == RADI_OK) s = rdi_buf_reserve(out, GT_HEADER + pipe.len + body.len);
    if (s == RADI_OK) {
        rdi_buf_put_u32(out, version);
        rdi_buf_put_u64(out, body.len);
        rdi_buf_put_u64(out, len);
        rdi_buf_put_u8(out, RADI_CHAR);
        rdi_buf_put_u64(out, 1);
        rdi_buf_put_u8(out, 0); /* no encryption */
        rdi_buf_put_u32(out, (uint32_t)pipe.len);
        rdi_buf_append(out, pipe.data, pipe.len);
        rdi_buf_append(out, body.data, body.len);
    }
    rdi_buf_free(&pipe);
    rdi_buf_free(&body);
    return s;
}

static radi_status read_header(rdi_rd *r, gt_header *h)
{
    RDI_TRY(rdi_rd_u32(r, &h->version, "generic tile version"));
    RDI_TRY(rdi_rd_u64(r, &h->persisted, "generic tile persisted size"));
    RDI_TRY(rdi_rd_u64(r, &h->tile_size, "generic tile size"));
    RDI_TRY(rdi_rd_u8(r, &h->datatype, "generic tile datatype"));
    RDI_TRY(rdi_rd_u64(r, &h->cell_size, "generic tile cell size"));
    RDI_TRY(rdi_rd_u8(r, &h->encryption, "generic tile encryption"));
    RDI_TRY(rdi_rd_u32(r, &h->fp_size, "generic tile pipeline size"));
    if (h->encryption != 0)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: encrypted generic tile (type %u) at byte %zu",
                         r->what, h->encryption, r->pos - GT_HEADER);
    if (h->cell_size == 0 || h->cell_size > 64)
        return rdi_error(RADI_E_CORRUPT, "%s: generic tile cell size %llu is invalid", r->what,
                         (unsigned long long)h->cell_size);
    if (h->tile_size > GT_SLACK && (h->tile_size - GT_SLACK) / GT_MAX_RATIO > h->persisted)
        return rdi_error(RADI_E_CORRUPT,
                         "%s: generic tile claims %llu bytes from %llu stored bytes (implausible)",
                         r->what, (unsigned long long)h->tile_size,
                         (unsigned long long)h->persisted);
    return RADI_OK;
}

radi_status rdi_generic_tile_decode(rdi_rd *r, rdi_scratch *scratch, rdi_buf *payload)
{
    gt_header h;
    RDI_TRY(read_header(r, &h));
    const uint8_t *pipe_bytes, *body;
    RDI_TRY(rdi_rd_view(r, &pipe_bytes, h.fp_size, "generic tile pipeline"));
    if (h.persisted > rdi_rd_left(r))
        return rdi_error(RADI_E_CORRUPT, "%s: truncated generic tile: body of %llu bytes, %zu left",
                         r->what, (unsigned long long)h.persisted, rdi_rd_left(r));
    RDI_TRY(rdi_rd_view(r, &body, (size_t)h.persisted, "generic tile body"));
    rdi_rd pr;
    rdi_rd_init(&pr, pipe_bytes, h.fp_size, r->what);
    radi_filter_list fl;
    RDI_TRY(rdi_pipeline_read(&pr, h.version, &fl));
    /* The payload buffer is reused across calls (its old contents are replaced). */
    RDI_TRY(rdi_buf_resize(payload, (size_t)h.tile_size));
    return rdi_tile_unfilter(&fl, (radi_datatype)h.datatype, (uint32_t)h.cell_size, body,
                             h.persisted, payload->data, h.tile_size, scratch, r->what);
}

radi_status rdi_generic_tile_read(rdi_vfs *vfs, const char *uri, uint64_t off,
                                  rdi_scratch *scratch, rdi_buf *payload)
{
    return rdi_generic_tile_read_snap(vfs, NULL, uri, off, scratch, payload);
}

radi_status rdi_generic_tile_read_snap(rdi_vfs *vfs, const rdi_snap *snap, const char *uri, uint64_t off,
                                       rdi_scratch *scratch, rdi_buf *payload)
{
    uint64_t fsize;
    RDI_TRY(rdi_snap_size(snap, vfs, uri, &fsize));
    if (off > fsize || fsize - off < GT_HEADER)
        return rdi_error(RADI_E_CORRUPT, "%s: truncated generic tile header at byte %llu (file has %llu bytes)",
                         uri, (unsigned long long)off, (unsigned long long)fsize);
    uint8_t hb[GT_HEADER];
    RDI_TRY(rdi_snap_read(snap, vfs, uri, off, hb, GT_HEADER));
    rdi_rd r;
    rdi_rd_init(&r, hb, GT_HEADER, uri);
    gt_header h;
    RDI_TRY(read_header(&r, &h));
    uint64_t avail = fsize - off - GT_HEADER;
    if (h.fp_size > avail || h.persisted > avail - h.fp_size)
        return rdi_error(RADI_E_CORRUPT,
                         "%s: truncated generic tile at byte %llu: needs %llu bytes, file has %llu after the header",
                         uri, (unsigned long long)off,
                         (unsigned long long)h.fp_size + h.persisted, (unsigned long long)avail);
    uint64_t total = GT_HEADER + (uint64_t)h.fp_size + h.persisted;
    rdi_buf raw = RDI_BUF_INIT;
    RDI_TRY(rdi_buf_resize(&raw, (size_t)total));
    radi_status s = rdi_snap_read(snap, vfs, uri, off, raw.data, total);
    if (s == RADI_OK) {
        rdi_rd_init(&r, raw.data, raw.len, uri);
        s = rdi_generic_tile_decode(&r, scratch, payload);
    }
    rdi_buf_free(&raw);
    return s;
}
