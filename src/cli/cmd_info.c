/* `radi info`: what is stored at a URI, as text or as one JSON document. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "radi/experimental.h"
#include "radi/radiobject.h"

/* ------------------------------------------------------------------ helpers -- */

static const char *layout_name(radi_layout l)
{
    switch (l) {
    case RADI_ROW_MAJOR: return "row-major";
    case RADI_COL_MAJOR: return "col-major";
    case RADI_GLOBAL_ORDER: return "global-order";
    case RADI_UNORDERED: return "unordered";
    }
    return "unknown";
}

static const char *object_type_name(radi_object_type t)
{
    switch (t) {
    case RADI_OBJECT_ARRAY: return "array";
    case RADI_OBJECT_GROUP: return "group";
    default: return "invalid";
    }
}

static int filter_has_level(radi_filter_type t)
{
    switch (t) {
    case RADI_FILTER_GZIP: case RADI_FILTER_ZSTD: case RADI_FILTER_LZ4: case RADI_FILTER_RLE:
    case RADI_FILTER_BZIP2: case RADI_FILTER_DOUBLE_DELTA: case RADI_FILTER_DELTA:
    case RADI_FILTER_DICTIONARY:
        return 1;
    default:
        return 0;
    }
}

static int filter_has_window(radi_filter_type t)
{
    return t == RADI_FILTER_BIT_WIDTH_REDUCTION || t == RADI_FILTER_POSITIVE_DELTA;
}

static int filter_has_reinterpret(const radi_filter *f)
{
    return (f->type == RADI_FILTER_DELTA || f->type == RADI_FILTER_DOUBLE_DELTA) &&
           f->reinterpret != RADI_ANY;
}

static int is_string_type(radi_datatype t)
{
    return t == RADI_CHAR || t == RADI_STRING_ASCII || t == RADI_STRING_UTF8;
}

/* ------------------------------------------------------- non-empty domains -- */
/* Ranges of every dimension type (strings, floats), from the experimental API. */

#define CLI_MAX_DIMS 16

/* A non-empty domain: one range per dimension, with the dimension's type. */
typedef struct ned_view {
    uint32_t ndim;
    radi_dim_info dims[CLI_MAX_DIMS];
    radi_domain_range r[CLI_MAX_DIMS];
} ned_view;

static int is_var_dim(const radi_dim_info *d) { return d->cell_val_num == RADI_VAR_NUM; }

/* frag UINT32_MAX = the array's union; 0 when empty or not comparable. */
static int get_ned(const radi_array *a, uint32_t frag, ned_view *v)
{
    const radi_schema *s = radi_array_schema(a);
    radi_schema_info si;
    if (radi_schema_get_info(s, &si) != RADI_OK || si.ndim > CLI_MAX_DIMS) return 0;
    v->ndim = si.ndim;
    for (uint32_t d = 0; d < si.ndim; d++) {
        int empty = 1;
        if (radi_schema_get_dim(s, d, &v->dims[d]) != RADI_OK) return 0;
        radi_status st = frag == UINT32_MAX ? radi_array_nonempty_domain_dim(a, d, &v->r[d], &empty)
                                            : radi_fragment_nonempty_domain_dim(a, frag, d, &v->r[d], &empty);
        if (st != RADI_OK || empty) return 0;
    }
    return 1;
}

static int array_ned(const radi_array *a, ned_view *v) { return get_ned(a, UINT32_MAX, v); }

static int fragment_ned(const radi_array *a, uint32_t f, ned_view *v) { return get_ned(a, f, v); }

static void text_ned(const ned_view *v)
{
    for (uint32_t d = 0; d < v->ndim; d++) {
        const radi_dim_info *dim = &v->dims[d];
        const radi_domain_range *r = &v->r[d];
        printf("%s%s ", d ? ", " : "", dim->name);
        if (is_var_dim(dim)) {
            printf("[\"%.*s\", \"%.*s\"]", (int)r->lo_size, r->lo ? (const char *)r->lo : "", (int)r->hi_size,
                   r->hi ? (const char *)r->hi : "");
        } else {
            char lo[64], hi[64];
            int num;
            cli_fmt_value(dim->type, r->lo, lo, sizeof lo, &num);
            cli_fmt_value(dim->type, r->hi, hi, sizeof hi, &num);
            printf("[%s, %s]", lo, hi);
        }
    }
}

static void fmt_time(uint64_t ms, char *buf, size_t n)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm)) {
        snprintf(buf, n, "?");
        return;
    }
    size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + k, n - k, ".%03uZ", (unsigned)(ms % 1000));
}

/* ---------------------------------------------------------------- text form -- */

static void text_filters(const radi_filter_list *fl)
{
    if (fl->count == 0) {
        printf("none");
        return;
    }
    for (uint32_t i = 0; i < fl->count; i++) {
        const radi_filter *f = &fl->filters[i];
        printf("%s%s", i ? ", " : "", radi_filter_type_name(f->type));
        if (filter_has_level(f->type)) printf("(%d)", f->level);
        else if (filter_has_window(f->type)) printf("(window %u)", f->max_window);
        if (filter_has_reinterpret(f)) printf(" as %s", radi_datatype_name(f->reinterpret));
    }
}

/* count values of type at p, as text. */
static void text_values(radi_datatype type, uint32_t count, const void *p)
{
    if (is_string_type(type)) {
        printf("\"%.*s\"", (int)count, (const char *)p);
        return;
    }
    size_t sz = radi_datatype_size(type);
    if (sz == 0 || type == RADI_BLOB || type == RADI_ANY) {
        printf("<%u bytes>", count);
        return;
    }
    if (count != 1) printf("[");
    for (uint32_t i = 0; i < count; i++) {
        char buf[64];
        int num;
        cli_fmt_value(type, (const uint8_t *)p + (size_t)i * sz, buf, sizeof buf, &num);
        printf("%s%s", i ? ", " : "", buf);
    }
    if (count != 1) printf("]");
}

static void text_meta(const radi_meta *m)
{
    uint64_t n = radi_meta_count(m);
    printf("metadata (%llu)\n", (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++) {
        const char *key;
        radi_datatype type;
        uint32_t count;
        const void *value;
        if (radi_meta_at(m, i, &key, &type, &count, &value) != RADI_OK) continue;
        printf("  %s  %s  ", key, radi_datatype_name(type));
        text_values(type, count, value);
        printf("\n");
    }
}

static int info_array_text(radi_array *a, const char *uri, uint64_t bytes)
{
    const radi_schema *s = radi_array_schema(a);
    radi_schema_info si;
    if (radi_schema_get_info(s, &si) != RADI_OK) return cli_fail_radi();
    printf("array %s\n", uri);
    printf("  type              %s\n", si.type == RADI_DENSE ? "dense" : "sparse");
    printf("  format version    %u\n", si.version);
    printf("  tile order        %s\n", layout_name(si.tile_order));
    printf("  cell order        %s\n", layout_name(si.cell_order));
    printf("  capacity          %llu\n", (unsigned long long)si.capacity);
    if (si.type == RADI_SPARSE) printf("  allows dups       %s\n", si.allows_dups ? "yes" : "no");
    printf("  coords filters    ");
    text_filters(&si.coords_filters);
    printf("\n  offsets filters   ");
    text_filters(&si.offsets_filters);
    printf("\n  validity filters  ");
    text_filters(&si.validity_filters);
    printf("\n  bytes on disk     %llu\n", (unsigned long long)bytes);

    printf("dimensions (%u)\n", si.ndim);
    for (uint32_t d = 0; d < si.ndim; d++) {
        radi_dim_info di;
        if (radi_schema_get_dim(s, d, &di) != RADI_OK) return cli_fail_radi();
        printf("  %s  %s", di.name, radi_datatype_name(di.type));
        if (di.has_domain) {
            char lo[64], hi[64];
            int num;
            cli_fmt_value(di.type, di.lo, lo, sizeof lo, &num);
            cli_fmt_value(di.type, di.hi, hi, sizeof hi, &num);
            printf("  domain [%s, %s]", lo, hi);
        } else {
            printf("  var-sized");
        }
        if (di.has_extent) {
            char e[64];
            int num;
            cli_fmt_value(di.type, di.extent, e, sizeof e, &num);
            printf("  tile %s", e);
        }
        printf("  filters ");
        if (di.filters.count == 0) printf("(coords filters)");
        else text_filters(&di.filters);
        printf("\n");
    }
    printf("attributes (%u)\n", si.nattr);
    for (uint32_t i = 0; i < si.nattr; i++) {
        radi_attr_info at;
        if (radi_schema_get_attr(s, i, &at) != RADI_OK) return cli_fail_radi();
        printf("  %s  %s", at.name, radi_datatype_name(at.type));
        if (at.cell_val_num == RADI_VAR_NUM) printf("  var-sized");
        else if (at.cell_val_num != 1) printf("  x%u", at.cell_val_num);
        if (at.nullable) printf("  nullable");
        size_t sz = radi_datatype_size(at.type);
        if (at.fill && sz && at.fill_size >= sz) {
            printf("  fill ");
            text_values(at.type, (uint32_t)(is_string_type(at.type) ? at.fill_size : at.fill_size / sz),
                        at.fill);
        }
        printf("  filters ");
        text_filters(&at.filters);
        printf("\n");
    }

    ned_view nv;
    printf("non-empty domain  ");
    if (array_ned(a, &nv)) text_ned(&nv);
    else printf("(empty)");
    printf("\n");
    uint32_t nf = radi_array_fragment_count(a);
    printf("fragments (%u)\n", nf);
    for (uint32_t i = 0; i < nf; i++) {
        radi_fragment_info fi;
        if (radi_array_fragment(a, i, &fi) != RADI_OK) return cli_fail_radi();
        char t1[40], t2[40];
        fmt_time(fi.t1, t1, sizeof t1);
        fmt_time(fi.t2, t2, sizeof t2);
        printf("  %s\n    timestamps %llu..%llu (%s .. %s)  version %u  %s\n", fi.name,
               (unsigned long long)fi.t1, (unsigned long long)fi.t2, t1, t2, fi.version,
               fi.dense ? "dense" : "sparse");
        printf("    tiles %llu  cells %llu  bytes %llu", (unsigned long long)fi.tile_count,
               (unsigned long long)fi.cell_count, (unsigned long long)fi.size_bytes);
        if (fragment_ned(a, i, &nv)) {
            printf("  non-empty domain ");
            text_ned(&nv);
        }
        printf("\n");
    }
    text_meta(radi_array_meta(a));
    return CLI_OK;
}

/* ---------------------------------------------------------------- JSON form -- */

static void json_filters(cli_json *j, const char *key, const radi_filter_list *fl)
{
    jw_obj_open(j, key);
    jw_uint(j, "max_chunk_size", fl->max_chunk_size);
    jw_arr_open(j, "filters");
    for (uint32_t i = 0; i < fl->count; i++) {
        const radi_filter *f = &fl->filters[i];
        jw_obj_open_inline(j, NULL);
        jw_str(j, "type", radi_filter_type_name(f->type));
        if (filter_has_level(f->type)) jw_int(j, "level", f->level);
        if (filter_has_window(f->type)) jw_uint(j, "max_window", f->max_window);
        if (filter_has_reinterpret(f)) jw_str(j, "reinterpret", radi_datatype_name(f->reinterpret));
        jw_obj_close(j);
    }
    jw_arr_close(j);
    jw_obj_close(j);
}

static void json_value(cli_json *j, const char *key, radi_datatype type, const void *p)
{
    char buf[64];
    int num;
    cli_fmt_value(type, p, buf, sizeof buf, &num);
    if (num) jw_raw(j, key, buf);
    else jw_str(j, key, buf);
}

/* Strings as one string, one number as a scalar, several as an array; other types as hex. */
static void json_values(cli_json *j, const char *key, radi_datatype type, uint32_t count,
                        const void *p, uint64_t nbytes)
{
    size_t sz = radi_datatype_size(type);
    if (is_string_type(type)) {
        jw_strn(j, key, (const char *)p, (size_t)nbytes);
    } else if (sz == 0 || type == RADI_BLOB || type == RADI_ANY) {
        char *hex = malloc(nbytes * 2 + 1);
        if (!hex) {
            jw_null(j, key);
            return;
        }
        for (uint64_t i = 0; i < nbytes; i++) snprintf(hex + 2 * i, 3, "%02x", ((const uint8_t *)p)[i]);
        hex[nbytes * 2] = '\0';
        jw_str(j, key, hex);
        free(hex);
    } else if (count == 1) {
        json_value(j, key, type, p);
    } else {
        jw_arr_open_inline(j, key);
        for (uint32_t i = 0; i < count; i++) json_value(j, NULL, type, (const uint8_t *)p + (size_t)i * sz);
        jw_arr_close(j);
    }
}

static void json_meta(cli_json *j, const radi_meta *m)
{
    jw_obj_open(j, "metadata");
    uint64_t n = radi_meta_count(m);
    for (uint64_t i = 0; i < n; i++) {
        const char *key;
        radi_datatype type;
        uint32_t count;
        const void *value;
        if (radi_meta_at(m, i, &key, &type, &count, &value) != RADI_OK) continue;
        jw_obj_open(j, key);
        jw_str(j, "type", radi_datatype_name(type));
        jw_uint(j, "count", count);
        size_t sz = radi_datatype_size(type);
        json_values(j, "value", type, count, value, (uint64_t)count * (sz ? sz : 1));
        jw_obj_close(j);
    }
    jw_obj_close(j);
}

static void json_ned(cli_json *j, const char *key, const ned_view *v)
{
    jw_arr_open_inline(j, key);
    for (uint32_t d = 0; d < v->ndim; d++) {
        const radi_dim_info *dim = &v->dims[d];
        const radi_domain_range *r = &v->r[d];
        jw_arr_open(j, NULL);
        if (is_var_dim(dim)) {
            jw_strn(j, NULL, r->lo ? (const char *)r->lo : "", (size_t)r->lo_size);
            jw_strn(j, NULL, r->hi ? (const char *)r->hi : "", (size_t)r->hi_size);
        } else {
            json_value(j, NULL, dim->type, r->lo);
            json_value(j, NULL, dim->type, r->hi);
        }
        jw_arr_close(j);
    }
    jw_arr_close(j);
}

static int info_array_json(radi_array *a, const char *uri, uint64_t bytes)
{
    const radi_schema *s = radi_array_schema(a);
    radi_schema_info si;
    if (radi_schema_get_info(s, &si) != RADI_OK) return cli_fail_radi();
    uint32_t nf = radi_array_fragment_count(a);
    radi_fragment_info *frags = calloc(nf ? nf : 1, sizeof *frags);
    if (!frags) return cli_fail(CLI_ERR_RUNTIME, "out of memory");
    for (uint32_t i = 0; i < nf; i++)
        if (radi_array_fragment(a, i, &frags[i]) != RADI_OK) {
            free(frags);
            return cli_fail_radi();
        }
    /* Everything that can fail is gathered above, so stdout gets a whole document or nothing. */
    cli_json j;
    jw_init(&j, stdout);
    jw_obj_open(&j, NULL);
    jw_str(&j, "uri", uri);
    jw_str(&j, "type", "array");
    jw_uint(&j, "bytes_on_disk", bytes);
    jw_obj_open(&j, "schema");
    jw_uint(&j, "version", si.version);
    jw_str(&j, "array_type", si.type == RADI_DENSE ? "dense" : "sparse");
    jw_str(&j, "tile_order", layout_name(si.tile_order));
    jw_str(&j, "cell_order", layout_name(si.cell_order));
    jw_uint(&j, "capacity", si.capacity);
    jw_bool(&j, "allows_dups", si.allows_dups);
    json_filters(&j, "coords_filters", &si.coords_filters);
    json_filters(&j, "offsets_filters", &si.offsets_filters);
    json_filters(&j, "validity_filters", &si.validity_filters);
    jw_arr_open(&j, "dimensions");
    for (uint32_t d = 0; d < si.ndim; d++) {
        radi_dim_info di;
        radi_schema_get_dim(s, d, &di);
        jw_obj_open(&j, NULL);
        jw_str(&j, "name", di.name);
        jw_str(&j, "type", radi_datatype_name(di.type));
        if (di.has_domain) {
            jw_arr_open_inline(&j, "domain");
            json_value(&j, NULL, di.type, di.lo);
            json_value(&j, NULL, di.type, di.hi);
            jw_arr_close(&j);
        } else {
            jw_null(&j, "domain");
        }
        if (di.has_extent) json_value(&j, "tile_extent", di.type, di.extent);
        else jw_null(&j, "tile_extent");
        json_filters(&j, "filters", &di.filters);
        jw_obj_close(&j);
    }
    jw_arr_close(&j);
    jw_arr_open(&j, "attributes");
    for (uint32_t i = 0; i < si.nattr; i++) {
        radi_attr_info at;
        radi_schema_get_attr(s, i, &at);
        jw_obj_open(&j, NULL);
        jw_str(&j, "name", at.name);
        jw_str(&j, "type", radi_datatype_name(at.type));
        if (at.cell_val_num == RADI_VAR_NUM) jw_str(&j, "cell_val_num", "var");
        else jw_uint(&j, "cell_val_num", at.cell_val_num);
        jw_bool(&j, "nullable", at.nullable);
        size_t sz = radi_datatype_size(at.type);
        if (at.fill && sz && at.fill_size >= sz)
            json_values(&j, "fill", at.type, (uint32_t)(at.fill_size / sz), at.fill, at.fill_size);
        else
            jw_null(&j, "fill");
        json_filters(&j, "filters", &at.filters);
        jw_obj_close(&j);
    }
    jw_arr_close(&j);
    jw_obj_close(&j);
    ned_view nv;
    if (array_ned(a, &nv)) json_ned(&j, "non_empty_domain", &nv);
    else jw_null(&j, "non_empty_domain");
    jw_arr_open(&j, "fragments");
    for (uint32_t i = 0; i < nf; i++) {
        const radi_fragment_info *fi = &frags[i];
        jw_obj_open(&j, NULL);
        jw_str(&j, "name", fi->name);
        jw_arr_open_inline(&j, "timestamps");
        jw_uint(&j, NULL, fi->t1);
        jw_uint(&j, NULL, fi->t2);
        jw_arr_close(&j);
        jw_uint(&j, "version", fi->version);
        jw_bool(&j, "dense", fi->dense);
        jw_uint(&j, "tile_count", fi->tile_count);
        jw_uint(&j, "cell_count", fi->cell_count);
        jw_uint(&j, "size_bytes", fi->size_bytes);
        if (fragment_ned(a, i, &nv)) json_ned(&j, "non_empty_domain", &nv);
        else jw_null(&j, "non_empty_domain");
        jw_obj_close(&j);
    }
    jw_arr_close(&j);
    free(frags);
    json_meta(&j, radi_array_meta(a));
    jw_obj_close(&j);
    jw_end(&j);
    return CLI_OK;
}

/* ------------------------------------------------------------------- groups -- */

static int info_group(radi_group *g, const char *uri, uint64_t bytes, int json)
{
    uint64_t n = radi_group_member_count(g);
    radi_group_member *ms = calloc(n ? n : 1, sizeof *ms);
    if (!ms) return cli_fail(CLI_ERR_RUNTIME, "out of memory");
    for (uint64_t i = 0; i < n; i++)
        if (radi_group_member_at(g, i, &ms[i]) != RADI_OK) {
            free(ms);
            return cli_fail_radi();
        }
    if (json) {
        cli_json j;
        jw_init(&j, stdout);
        jw_obj_open(&j, NULL);
        jw_str(&j, "uri", uri);
        jw_str(&j, "type", "group");
        jw_uint(&j, "bytes_on_disk", bytes);
        jw_arr_open(&j, "members");
        for (uint64_t i = 0; i < n; i++) {
            jw_obj_open(&j, NULL);
            jw_str(&j, "name", ms[i].name);
            jw_str(&j, "uri", ms[i].uri);
            jw_str(&j, "resolved_uri", ms[i].resolved_uri);
            jw_str(&j, "type", object_type_name(ms[i].type));
            jw_bool(&j, "relative", ms[i].relative);
            jw_obj_close(&j);
        }
        jw_arr_close(&j);
        json_meta(&j, radi_group_meta(g));
        jw_obj_close(&j);
        jw_end(&j);
    } else {
        printf("group %s\n  bytes on disk     %llu\nmembers (%llu)\n", uri, (unsigned long long)bytes,
               (unsigned long long)n);
        for (uint64_t i = 0; i < n; i++)
            printf("  %s  %s  %s%s\n", ms[i].name ? ms[i].name : "(unnamed)", object_type_name(ms[i].type),
                   ms[i].uri, ms[i].relative ? "  (relative)" : "");
        text_meta(radi_group_meta(g));
    }
    free(ms);
    return CLI_OK;
}

int cli_cmd_info(const cli_args *args)
{
    radi_ctx *ctx = NULL;
    if (cli_ctx(args, &ctx) != CLI_OK) return CLI_ERR_RUNTIME;
    int rc;
    radi_object_type type = RADI_OBJECT_INVALID;
    radi_dataset_kind kind = RADI_DATASET_NONE;
    uint64_t bytes = 0;
    if (radi_object_type_of(ctx, args->uri, &type) != RADI_OK) {
        rc = cli_fail_radi();
    } else if (type == RADI_OBJECT_INVALID) {
        rc = cli_fail(CLI_ERR_RUNTIME, "%s: no TileDB array or group here", args->uri);
    } else if (radi_object_size(ctx, args->uri, &bytes) != RADI_OK) {
        rc = cli_fail_radi();
    } else if (type == RADI_OBJECT_ARRAY) {
        radi_array *a = NULL;
        if (radi_array_open(ctx, args->uri, 0, 0, &a) != RADI_OK) {
            rc = cli_fail_radi();
        } else {
            rc = args->json ? info_array_json(a, args->uri, bytes) : info_array_text(a, args->uri, bytes);
            radi_array_close(a);
        }
    } else if (radi_dataset_kind_of(ctx, args->uri, &kind) != RADI_OK) {
        rc = cli_fail_radi();
    } else if (kind != RADI_DATASET_NONE) {
        rc = cli_info_dataset(args, ctx, kind == RADI_DATASET_COLLECTION, bytes);
    } else {
        radi_group *g = NULL;
        if (radi_group_open(ctx, args->uri, &g) != RADI_OK) {
            rc = cli_fail_radi();
        } else {
            rc = info_group(g, args->uri, bytes, args->json);
            radi_group_close(g);
        }
    }
    radi_ctx_free(ctx);
    return rc;
}
