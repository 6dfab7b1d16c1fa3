/* Filter lists and their serialized form (docs/format.md §4). */
#include "filters/codec.h"

/* TileDB's Compressor enum, stored inside compression filters' options. */
static int compressor_of(radi_filter_type t)
{
    switch (t) {
    case RADI_FILTER_GZIP: return 1;
    case RADI_FILTER_ZSTD: return 2;
    case RADI_FILTER_LZ4: return 3;
    case RADI_FILTER_RLE: return 4;
    case RADI_FILTER_BZIP2: return 5;
    case RADI_FILTER_DOUBLE_DELTA: return 6;
    case RADI_FILTER_DICTIONARY: return 7;
    case RADI_FILTER_DELTA: return 8;
    default: return -1;
    }
}

static const radi_filter_type compressor_filters[9] = {
    RADI_FILTER_NONE, RADI_FILTER_GZIP, RADI_FILTER_ZSTD, RADI_FILTER_LZ4, RADI_FILTER_RLE,
    RADI_FILTER_BZIP2, RADI_FILTER_DOUBLE_DELTA, RADI_FILTER_DICTIONARY, RADI_FILTER_DELTA};

void radi_filter_list_init(radi_filter_list *list)
{
    if (!list) return;
    memset(list, 0, sizeof *list);
    list->max_chunk_size = 65536;
}

static int known_type(radi_filter_type t)
{
    return (t >= RADI_FILTER_NONE && t <= RADI_FILTER_POSITIVE_DELTA) ||
           (t >= RADI_FILTER_MD5 && t <= RADI_FILTER_XOR) || t == RADI_FILTER_WEBP ||
           t == RADI_FILTER_DELTA;
}

radi_status radi_filter_list_add(radi_filter_list *list, radi_filter_type type, int32_t level)
{
    if (!list) return rdi_error(RADI_E_INVALID, "radi_filter_list_add: NULL list");
    if (!known_type(type)) return rdi_error(RADI_E_INVALID, "unknown filter type %d", (int)type);
    if (list->count >= RADI_MAX_FILTERS)
        return rdi_error(RADI_E_INVALID, "filter list is full (%d filters)", RADI_MAX_FILTERS);
    radi_filter *f = &list->filters[list->count++];
    f->type = type;
    f->level = level;
    f->reinterpret = RADI_ANY;
    /* TileDB's constructors: bit-width reduction windows are 256 bytes, positive-delta 1024. */
    f->max_window = type == RADI_FILTER_BIT_WIDTH_REDUCTION ? 256 : 1024;
    return RADI_OK;
}

const char *radi_filter_type_name(radi_filter_type type)
{
    switch (type) {
    case RADI_FILTER_NONE: return "none";
    case RADI_FILTER_GZIP: return "gzip";
    case RADI_FILTER_ZSTD: return "zstd";
    case RADI_FILTER_LZ4: return "lz4";
    case RADI_FILTER_RLE: return "rle";
    case RADI_FILTER_BZIP2: return "bzip2";
    case RADI_FILTER_DOUBLE_DELTA: return "double_delta";
    case RADI_FILTER_BIT_WIDTH_REDUCTION: return "bit_width_reduction";
    case RADI_FILTER_BITSHUFFLE: return "bitshuffle";
    case RADI_FILTER_BYTESHUFFLE: return "byteshuffle";
    case RADI_FILTER_POSITIVE_DELTA: return "positive_delta";
    case RADI_FILTER_MD5: return "checksum_md5";
    case RADI_FILTER_SHA256: return "checksum_sha256";
    case RADI_FILTER_DICTIONARY: return "dictionary";
    case RADI_FILTER_SCALE_FLOAT: return "scale_float";
    case RADI_FILTER_XOR: return "xor";
    case RADI_FILTER_WEBP: return "webp";
    case RADI_FILTER_DELTA: return "delta";
    }
    return "unknown";
}

radi_status rdi_pipeline_write(const radi_filter_list *fl, uint32_t version, rdi_buf *out)
{
    if (fl->count > RADI_MAX_FILTERS) return rdi_error(RADI_E_INVALID, "filter list has %u filters", fl->count);
    RDI_TRY(rdi_buf_put_u32(out, fl->max_chunk_size));
    RDI_TRY(rdi_buf_put_u32(out, fl->count));
    for (uint32_t i = 0; i < fl->count; i++) {
        const radi_filter *f = &fl->filters[i];
        RDI_TRY(rdi_buf_put_u8(out, (uint8_t)f->type));
        switch (f->type) {
        case RADI_FILTER_NONE:
        case RADI_FILTER_BITSHUFFLE:
        case RADI_FILTER_BYTESHUFFLE:
        case RADI_FILTER_XOR:
        case RADI_FILTER_MD5:
        case RADI_FILTER_SHA256:
            RDI_TRY(rdi_buf_put_u32(out, 0));
            break;
        case RADI_FILTER_BIT_WIDTH_REDUCTION:
        case RADI_FILTER_POSITIVE_DELTA:
            RDI_TRY(rdi_buf_put_u32(out, 4));
            RDI_TRY(rdi_buf_put_u32(out, f->max_window));
            break;
        case RADI_FILTER_GZIP:
        case RADI_FILTER_ZSTD:
        case RADI_FILTER_LZ4:
        case RADI_FILTER_RLE:
        case RADI_FILTER_BZIP2:
        case RADI_FILTER_DICTIONARY:
        case RADI_FILTER_DELTA:
        case RADI_FILTER_DOUBLE_DELTA: {
            int reint = (f->type == RADI_FILTER_DELTA && version >= 19) ||
                        (f->type == RADI_FILTER_DOUBLE_DELTA && version >= 20);
            RDI_TRY(rdi_buf_put_u32(out, reint ? 6 : 5));
            RDI_TRY(rdi_buf_put_u8(out, (uint8_t)compressor_of(f->type)));
            RDI_TRY(rdi_buf_put_i32(out, f->level));
            if (reint) RDI_TRY(rdi_buf_put_u8(out, (uint8_t)f->reinterpret));
            break;
        }
        default:
            /* SCALE_FLOAT and WEBP options are raw C structs radi does not keep. */
            return rdi_error(RADI_E_UNSUPPORTED, "cannot write filter %s (type %d)",
                             radi_filter_type_name(f->type), (int)f->type);
        }
    }
    return RADI_OK;
}

radi_status rdi_pipeline_read(rdi_rd *r, uint32_t version, radi_filter_list *out)
{
    uint32_t n;
    radi_filter_list_init(out);
    RDI_TRY(rdi_rd_u32(r, &out->max_chunk_size, "filter pipeline max chunk size"));
    RDI_TRY(rdi_rd_u32(r, &n, "filter count"));
    if (n > RADI_MAX_FILTERS)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: filter pipeline has %u filters (radi supports %d)",
                         r->what, n, RADI_MAX_FILTERS);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t type;
        uint32_t olen;
        RDI_TRY(rdi_rd_u8(r, &type, "filter type"));
        RDI_TRY(rdi_rd_u32(r, &olen, "filter options length"));
        if (olen > rdi_rd_left(r))
            return rdi_error(RADI_E_CORRUPT, "%s: filter %u options (%u bytes) run past the end", r->what,
                             i, olen);
        radi_filter *f = &out->filters[i];
        f->type = (radi_filter_type)type;
        f->level = -1;
        f->reinterpret = RADI_ANY;
        f->max_window = type == RADI_FILTER_BIT_WIDTH_REDUCTION ? 256 : 1024;
        switch ((radi_filter_type)type) {
        case RADI_FILTER_NONE:
        case RADI_FILTER_BITSHUFFLE:
        case RADI_FILTER_BYTESHUFFLE:
        case RADI_FILTER_XOR:
        case RADI_FILTER_MD5:
        case RADI_FILTER_SHA256:
            break;   /* TileDB reads no options for these, whatever olen says */
        case RADI_FILTER_BIT_WIDTH_REDUCTION:
        case RADI_FILTER_POSITIVE_DELTA:
            RDI_TRY(rdi_rd_u32(r, &f->max_window, "filter max window"));
            break;
        case RADI_FILTER_GZIP:
        case RADI_FILTER_ZSTD:
        case RADI_FILTER_LZ4:
        case RADI_FILTER_RLE:
        case RADI_FILTER_BZIP2:
        case RADI_FILTER_DICTIONARY:
        case RADI_FILTER_DELTA:
        case RADI_FILTER_DOUBLE_DELTA: {
            uint8_t comp, reint;
            RDI_TRY(rdi_rd_u8(r, &comp, "filter compressor"));
            RDI_TRY(rdi_rd_i32(r, &f->level, "filter level"));
            if ((version >= 20 && type == RADI_FILTER_DOUBLE_DELTA) ||
                (version >= 19 && type == RADI_FILTER_DELTA)) {
                RDI_TRY(rdi_rd_u8(r, &reint, "filter reinterpret datatype"));
                f->reinterpret = (radi_datatype)reint;
            }
            /* TileDB builds the filter from the compressor byte, not the filter type. */
            if (comp >= sizeof compressor_filters / sizeof compressor_filters[0])
                return rdi_error(RADI_E_UNSUPPORTED, "%s: filter %u has unknown compressor %u", r->what,
                                 i, comp);
            f->type = compressor_filters[comp];
            break;
        }
        case RADI_FILTER_SCALE_FLOAT:
        case RADI_FILTER_WEBP: {
            const uint8_t *skip;
            RDI_TRY(rdi_rd_view(r, &skip, olen, "filter options"));
            break;
        }
        default:
            return rdi_error(RADI_E_UNSUPPORTED, "%s: unknown filter type %u", r->what, type);
        }
        out->count = i + 1;
    }
    return RADI_OK;
}

radi_status rdi_stages_resolve(const radi_filter_list *fl, radi_datatype type, uint32_t cell_size,
                               rdi_stage *st, const char *what)
{
    if (fl->count > RADI_MAX_FILTERS)
        return rdi_error(RADI_E_INVALID, "%s: filter list has %u filters", what, fl->count);
    radi_datatype cur = type;
    for (uint32_t i = 0; i < fl->count; i++) {
        const radi_filter *f = &fl->filters[i];
        rdi_stage *s = &st[i];
        int sgn;
        s->type = f->type;
        s->level = f->level;
        s->dtype = cur;
        s->elem = cur;
        s->window = f->max_window;
        s->cell_size = cell_size;
        switch (f->type) {
        case RADI_FILTER_NONE:
        case RADI_FILTER_ZSTD:
        case RADI_FILTER_LZ4:
        case RADI_FILTER_RLE:
        case RADI_FILTER_BITSHUFFLE:
        case RADI_FILTER_BYTESHUFFLE:
        case RADI_FILTER_POSITIVE_DELTA:
        case RADI_FILTER_BIT_WIDTH_REDUCTION:
            break;
        case RADI_FILTER_GZIP:
            if (f->level > 9)
                return rdi_error(RADI_E_INVALID, "%s: gzip level %d out of range (max 9)", what, f->level);
            break;
        case RADI_FILTER_DELTA:
        case RADI_FILTER_DOUBLE_DELTA: {
            /* Both convert to their element type (TileDB's output_datatype). */
            radi_datatype e = f->reinterpret == RADI_ANY ? cur : f->reinterpret;
            unsigned w = rdi_int_width(e, &sgn);
            if (!w)
                return rdi_error(RADI_E_UNSUPPORTED, "%s: filter %s does not accept type %s", what,
                                 radi_filter_type_name(f->type), radi_datatype_name(e));
            if (f->reinterpret != RADI_ANY && radi_datatype_size(cur) % w)
                return rdi_error(RADI_E_UNSUPPORTED, "%s: filter %s cannot reinterpret %s as %s", what,
                                 radi_filter_type_name(f->type), radi_datatype_name(cur),
                                 radi_datatype_name(e));
            s->elem = cur = e;
            break;
        }
        case RADI_FILTER_XOR:
            /* XOR hands the next filter a signed integer type of the same width. */
            switch (radi_datatype_size(cur)) {
            case 1: cur = RADI_INT8; break;
            case 2: cur = RADI_INT16; break;
            case 4: cur = RADI_INT32; break;
            case 8: cur = RADI_INT64; break;
            default:
                return rdi_error(RADI_E_UNSUPPORTED, "%s: filter xor does not accept type %s", what,
                                 radi_datatype_name(cur));
            }
            break;
        default:
            return rdi_error(RADI_E_UNSUPPORTED, "%s: filter %s (type %d) is not supported by radi", what,
                             radi_filter_type_name(f->type), (int)f->type);
        }
    }
    return RADI_OK;
}

radi_status rdi_pipeline_check(const radi_filter_list *fl, radi_datatype type, const char *what)
{
    rdi_stage st[RADI_MAX_FILTERS];
    return rdi_stages_resolve(fl, type, (uint32_t)RDI_MAX(radi_datatype_size(type), 1), st, what);
}
