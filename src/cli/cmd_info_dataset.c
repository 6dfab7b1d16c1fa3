/* `radi info` on a dataset (a RadiObject root or a stand-alone collection): subjects,
 * collections, volumes, shapes, fragments and bytes per collection, as text or JSON
 * (docs/cli.md). Everything is read first; nothing is printed when a read fails. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "radi/experimental.h"
#include "radi/radiobject.h"

#define MAX_KINDS 16   /* distinct shapes / dtypes listed per collection */

typedef struct coll_info {
    const char *name;          /* borrowed from the dataset */
    char *uri;
    uint64_t volumes;
    uint32_t nshapes;
    uint32_t ndims[MAX_KINDS];
    uint64_t shapes[MAX_KINDS][4];
    int more_shapes;           /* more than MAX_KINDS distinct shapes */
    uint32_t ndtypes;
    radi_datatype dtypes[MAX_KINDS];
    uint64_t obs_fragments, volume_fragments, bytes;
} coll_info;

static void note_shape(coll_info *c, const radi_volume *v)
{
    uint32_t nd = radi_volume_ndim(v);
    const uint64_t *sh = radi_volume_shape(v);
    if (nd > 4) nd = 4;
    for (uint32_t k = 0; k < c->nshapes; k++)
        if (c->ndims[k] == nd && memcmp(c->shapes[k], sh, nd * sizeof *sh) == 0) goto dtype;
    if (c->nshapes < MAX_KINDS) {
        c->ndims[c->nshapes] = nd;
        memcpy(c->shapes[c->nshapes++], sh, nd * sizeof *sh);
    } else {
        c->more_shapes = 1;
    }
dtype:
    for (uint32_t k = 0; k < c->ndtypes; k++)
        if (c->dtypes[k] == radi_volume_dtype(v)) return;
    if (c->ndtypes < MAX_KINDS) c->dtypes[c->ndtypes++] = radi_volume_dtype(v);
}

static radi_status fragments_of(radi_ctx *ctx, const char *uri, uint64_t *n)
{
    radi_array *a = NULL;
    radi_status s = radi_array_open(ctx, uri, 0, 0, &a);
    if (s == RADI_OK) *n = radi_array_fragment_count(a);
    radi_array_close(a);
    return s;
}

static radi_status read_collection(radi_ctx *ctx, radi_dataset *ds, const char *base, coll_info *c)
{
    c->uri = radi_dataset_is_collection(ds) ? strdup(base) : malloc(strlen(base) + strlen(c->name) + 16);
    if (!c->uri) return RADI_E_NOMEM;
    if (!radi_dataset_is_collection(ds)) sprintf(c->uri, "%s/collections/%s", base, c->name);
    const radi_volume_entry *e;
    uint64_t n;
    radi_status s = radi_dataset_volumes(ds, c->name, &e, &n);
    /* Copies: opening a volume may re-resolve the collection (and free the entries). */
    char **oids = s == RADI_OK ? calloc(n ? n : 1, sizeof *oids) : NULL;
    if (s == RADI_OK && !oids) s = RADI_E_NOMEM;
    uint64_t nv = 0;
    for (uint64_t i = 0; s == RADI_OK && i < n; i++)
        if (e[i].volume_uri && !(oids[nv++] = strdup(e[i].obs_id))) s = RADI_E_NOMEM;
    for (uint64_t i = 0; s == RADI_OK && i < nv; i++) {
        radi_volume *v = NULL;
        s = radi_dataset_open_volume(ds, c->name, oids[i], &v);
        if (s != RADI_OK) break;
        c->volumes++;
        note_shape(c, v);
        c->volume_fragments += radi_array_fragment_count(radi_volume_array(v));
        radi_volume_close(v);
    }
    for (uint64_t i = 0; oids && i < nv; i++) free(oids[i]);
    free(oids);
    char *obs = s == RADI_OK ? malloc(strlen(c->uri) + 8) : NULL;
    if (s == RADI_OK && !obs) s = RADI_E_NOMEM;
    if (s == RADI_OK) {
        sprintf(obs, "%s/obs", c->uri);
        s = fragments_of(ctx, obs, &c->obs_fragments);
    }
    free(obs);
    if (s == RADI_OK) s = radi_object_size(ctx, c->uri, &c->bytes);
    return s;
}

static void shape_text(const coll_info *c, uint32_t k, char *buf, size_t n)
{
    size_t w = 0;
    buf[0] = 0;
    for (uint32_t d = 0; d < c->ndims[k] && w < n; d++)
        w += (size_t)snprintf(buf + w, n - w, "%s%llu", d ? "x" : "", (unsigned long long)c->shapes[k][d]);
}

static void print_json(const cli_args *args, radi_dataset *ds, const coll_info *cs, size_t nc,
                       int have_om, uint64_t om_frags, uint64_t total)
{
    cli_json j;
    jw_init(&j, stdout);
    jw_obj_open(&j, NULL);
    jw_str(&j, "uri", args->uri);
    jw_str(&j, "type", radi_dataset_is_collection(ds) ? "collection" : "dataset");
    jw_uint(&j, "bytes_on_disk", total);
    jw_uint(&j, "subject_count", radi_dataset_subject_count(ds));
    jw_arr_open(&j, "subjects");
    for (uint64_t i = 0; i < radi_dataset_subject_count(ds); i++) jw_str(&j, NULL, radi_dataset_subject_id(ds, i));
    jw_arr_close(&j);
    if (have_om) jw_uint(&j, "obs_meta_fragments", om_frags);
    else jw_null(&j, "obs_meta_fragments");
    jw_arr_open(&j, "collections");
    for (size_t i = 0; i < nc; i++) {
        const coll_info *c = &cs[i];
        jw_obj_open(&j, NULL);
        jw_str(&j, "name", c->name);
        jw_str(&j, "uri", c->uri);
        jw_uint(&j, "volume_count", c->volumes);
        if (c->nshapes == 1 && !c->more_shapes) {
            jw_arr_open_inline(&j, "shape");
            for (uint32_t d = 0; d < c->ndims[0]; d++) jw_uint(&j, NULL, c->shapes[0][d]);
            jw_arr_close(&j);
        } else {
            jw_null(&j, "shape");
        }
        jw_arr_open(&j, "shapes");
        for (uint32_t k = 0; k < c->nshapes; k++) {
            jw_arr_open_inline(&j, NULL);
            for (uint32_t d = 0; d < c->ndims[k]; d++) jw_uint(&j, NULL, c->shapes[k][d]);
            jw_arr_close(&j);
        }
        jw_arr_close(&j);
        jw_arr_open_inline(&j, "dtypes");
        for (uint32_t k = 0; k < c->ndtypes; k++) jw_str(&j, NULL, radi_datatype_name(c->dtypes[k]));
        jw_arr_close(&j);
        jw_uint(&j, "obs_fragments", c->obs_fragments);
        jw_uint(&j, "volume_fragments", c->volume_fragments);
        jw_uint(&j, "bytes_on_disk", c->bytes);
        jw_obj_close(&j);
    }
    jw_arr_close(&j);
    jw_obj_close(&j);
    jw_end(&j);
}

static void print_text(const cli_args *args, radi_dataset *ds, const coll_info *cs, size_t nc, int have_om,
                       uint64_t om_frags, uint64_t total)
{
    uint64_t ns = radi_dataset_subject_count(ds);
    printf("%s %s: %llu subjects, %zu collection%s, %llu bytes on disk\n",
           radi_dataset_is_collection(ds) ? "collection" : "dataset", args->uri, (unsigned long long)ns, nc,
           nc == 1 ? "" : "s", (unsigned long long)total);
    printf("subjects:");
    for (uint64_t i = 0; i < ns && i < 20; i++) printf(" %s", radi_dataset_subject_id(ds, i));
    printf("%s\n", ns > 20 ? " ..." : "");
    if (have_om) printf("obs_meta: %llu fragment%s\n", (unsigned long long)om_frags, om_frags == 1 ? "" : "s");
    for (size_t i = 0; i < nc; i++) {
        const coll_info *c = &cs[i];
        printf("collection %s\n  volumes         %llu\n  shape           ", c->name, (unsigned long long)c->volumes);
        for (uint32_t k = 0; k < c->nshapes; k++) {
            char b[96];
            shape_text(c, k, b, sizeof b);
            printf("%s%s", k ? ", " : "", b);
        }
        printf("%s%s\n  dtype           ", c->more_shapes ? ", ..." : "", c->nshapes > 1 ? " (mixed)" : "");
        for (uint32_t k = 0; k < c->ndtypes; k++) printf("%s%s", k ? ", " : "", radi_datatype_name(c->dtypes[k]));
        printf("\n  fragments       obs %llu, volumes %llu\n  bytes on disk   %llu\n",
               (unsigned long long)c->obs_fragments, (unsigned long long)c->volume_fragments,
               (unsigned long long)c->bytes);
    }
}

int cli_info_dataset(const cli_args *args, radi_ctx *ctx, int standalone, uint64_t total)
{
    radi_dataset *ds = NULL;
    radi_status s = standalone ? radi_collection_open(ctx, args->uri, &ds) : radi_dataset_open(ctx, args->uri, &ds);
    if (s != RADI_OK) return cli_fail_radi();
    /* The dataset's own (normalized) URI: the one its member paths are built from. */
    const char *base = radi_dataset_uri(ds);
    size_t nc = (size_t)radi_dataset_collection_count(ds);
    coll_info *cs = calloc(nc ? nc : 1, sizeof *cs);
    if (!cs) s = RADI_E_NOMEM;
    for (size_t i = 0; s == RADI_OK && i < nc; i++) {
        cs[i].name = radi_dataset_collection_name(ds, i);
        s = read_collection(ctx, ds, base, &cs[i]);
    }
    uint64_t om = 0;
    if (s == RADI_OK && !standalone) {
        char *u = malloc(strlen(base) + 16);
        if (!u) s = RADI_E_NOMEM;
        else {
            sprintf(u, "%s/obs_meta", base);
            s = fragments_of(ctx, u, &om);
            free(u);
        }
    }
    int rc = CLI_OK;
    if (s != RADI_OK) rc = cli_fail_radi();
    else if (args->json) print_json(args, ds, cs, nc, !standalone, om, total);
    else print_text(args, ds, cs, nc, !standalone, om, total);
    for (size_t i = 0; cs && i < nc; i++) free(cs[i].uri);
    free(cs);
    radi_dataset_close(ds);
    return rc;
}
