/* `radi ls`, and the option helpers the dataset commands share. */
#include <string.h>

#include "cli.h"
#include "radi/radiobject.h"

const cli_command *cli_find_command(const char *name)
{
    for (const cli_command *c = cli_commands; c->name; c++)
        if (strcmp(c->name, name) == 0) return c;
    return NULL;
}

int cli_wants_help(const cli_command *cmd, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: %s\n\n%s", cmd->usage, cmd->help);
            return 1;
        }
    }
    return 0;
}

int cli_opt_value(const cli_command *cmd, int argc, char **argv, int *i, const char *name,
                  const char **value)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0 || (a[n] != '\0' && a[n] != '=')) return 0;
    if (a[n] == '=') {
        *value = a + n + 1;
        return 1;
    }
    if (*i + 1 >= argc)
        return cli_fail(CLI_ERR_USAGE, "%s: %s needs a value (usage: %s)", cmd->name, name, cmd->usage);
    *value = argv[++*i];
    return 1;
}

static void shape_text(radi_volume *vol, char *buf, size_t n)
{
    const uint64_t *sh = radi_volume_shape(vol);
    size_t used = 0;
    buf[0] = '\0';
    for (uint32_t d = 0; d < radi_volume_ndim(vol) && used < n; d++)
        used += (size_t)snprintf(buf + used, n - used, "%s%llu", d ? "x" : "",
                                 (unsigned long long)sh[d]);
}

int cli_cmd_ls(const cli_args *args)
{
    radi_ctx *ctx = NULL;
    radi_dataset *ds = NULL;
    if (cli_ctx(args, &ctx) != CLI_OK) return CLI_ERR_RUNTIME;
    if (radi_dataset_open(ctx, args->uri, &ds) != RADI_OK) {
        int rc = cli_fail_radi();
        radi_ctx_free(ctx);
        return rc;
    }
    /* Everything is read before anything is printed, so an error leaves stdout empty:
     * the volumes are opened in a first pass (shapes cached in the handles' place). */
    int rc = CLI_OK;
    uint64_t nc = radi_dataset_collection_count(ds);
    for (uint64_t c = 0; c < nc && rc == CLI_OK; c++) {
        const radi_volume_entry *e;
        uint64_t n;
        if (radi_dataset_volumes(ds, radi_dataset_collection_name(ds, c), &e, &n) != RADI_OK)
            rc = cli_fail_radi();
        for (uint64_t k = 0; k < n && rc == CLI_OK; k++) {
            radi_volume *v = NULL;
            const char *name = radi_dataset_collection_name(ds, c);
            if (!e[k].volume_uri)
                rc = cli_fail(CLI_ERR_RUNTIME, "%s: collection %s: obs_id %s has no volume",
                              args->uri, name, e[k].obs_id);
            else if (radi_dataset_open_volume(ds, name, e[k].obs_id, &v) != RADI_OK)
                rc = cli_fail_radi();
            radi_volume_close(v);
            /* Opening may have re-resolved the collection: fetch the rows again. */
            if (rc == CLI_OK && radi_dataset_volumes(ds, name, &e, &n) != RADI_OK) rc = cli_fail_radi();
        }
    }
    if (rc != CLI_OK) goto done;

    cli_json j;
    if (args->json) {
        jw_init(&j, stdout);
        jw_obj_open(&j, NULL);
        jw_str(&j, "uri", args->uri);
        jw_arr_open_inline(&j, "subjects");
        for (uint64_t s = 0; s < radi_dataset_subject_count(ds); s++)
            jw_str(&j, NULL, radi_dataset_subject_id(ds, s));
        jw_arr_close(&j);
        jw_arr_open(&j, "collections");
    } else {
        printf("%s: %llu subjects, %llu collections\n", args->uri,
               (unsigned long long)radi_dataset_subject_count(ds), (unsigned long long)nc);
    }
    for (uint64_t c = 0; c < nc && rc == CLI_OK; c++) {
        const char *name = radi_dataset_collection_name(ds, c);
        const radi_volume_entry *e;
        uint64_t n;
        if (radi_dataset_volumes(ds, name, &e, &n) != RADI_OK) {
            rc = cli_fail_radi();
            break;
        }
        if (args->json) {
            jw_obj_open(&j, NULL);
            jw_str(&j, "name", name);
            jw_arr_open(&j, "volumes");
        } else {
            printf("%s (%llu volumes)\n", name, (unsigned long long)n);
        }
        for (uint64_t k = 0; k < n && rc == CLI_OK; k++) {
            radi_volume *v = NULL;
            /* The first pass resolved every row: this opens without re-resolving. */
            if (radi_dataset_open_volume(ds, name, e[k].obs_id, &v) != RADI_OK) {
                rc = cli_fail_radi();
                break;
            }
            if (args->json) {
                jw_obj_open_inline(&j, NULL);
                jw_str(&j, "obs_subject_id", e[k].obs_subject_id);
                jw_str(&j, "obs_id", e[k].obs_id);
                jw_arr_open_inline(&j, "shape");
                for (uint32_t d = 0; d < radi_volume_ndim(v); d++)
                    jw_uint(&j, NULL, radi_volume_shape(v)[d]);
                jw_arr_close(&j);
                jw_str(&j, "dtype", radi_datatype_name(radi_volume_dtype(v)));
                jw_obj_close(&j);
            } else {
                char sh[128];
                shape_text(v, sh, sizeof sh);
                printf("  %-24s %-32s %-16s %s\n", e[k].obs_subject_id, e[k].obs_id, sh,
                       radi_datatype_name(radi_volume_dtype(v)));
            }
            radi_volume_close(v);
        }
        if (args->json) {
            jw_arr_close(&j);
            jw_obj_close(&j);
        }
    }
    if (args->json) {
        jw_arr_close(&j);
        jw_obj_close(&j);
        jw_end(&j);
    }
done:
    radi_dataset_close(ds);
    radi_ctx_free(ctx);
    return rc;
}

int cli_open_volume(const cli_args *args, const char *uri, const char *collection, const char *obs_id,
                    cli_volume_handle *h)
{
    memset(h, 0, sizeof *h);
    if (cli_ctx(args, &h->ctx) != CLI_OK) return CLI_ERR_RUNTIME;
    if (radi_dataset_open(h->ctx, uri, &h->ds) != RADI_OK ||
        radi_dataset_open_volume(h->ds, collection, obs_id, &h->vol) != RADI_OK) {
        int rc = cli_fail_radi();
        cli_close_volume(h);
        return rc;
    }
    return CLI_OK;
}

void cli_close_volume(cli_volume_handle *h)
{
    radi_volume_close(h->vol);
    radi_dataset_close(h->ds);
    radi_ctx_free(h->ctx);
    memset(h, 0, sizeof *h);
}

int cli_volume_meta_str(radi_volume *vol, const char *key, char *buf, size_t n)
{
    radi_datatype t;
    uint32_t count;
    const void *v;
    if (radi_meta_get(radi_array_meta(radi_volume_array(vol)), key, &t, &count, &v) != RADI_OK ||
        (t != RADI_STRING_UTF8 && t != RADI_STRING_ASCII && t != RADI_CHAR) || count >= n)
        return -1;
    memcpy(buf, v, count);
    buf[count] = '\0';
    return 0;
}
