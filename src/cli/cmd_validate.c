/* `radi validate`: the dataset's consistency and structure check
 * (radi_dataset_validate_uri: a dataset or a stand-alone collection, checked even when
 * it holds members that radi_dataset_open refuses). */
#include "cli.h"
#include "radi/radiobject.h"

int cli_cmd_validate(const cli_args *args)
{
    radi_ctx *ctx = NULL;
    char **msgs = NULL;
    size_t n = 0;
    if (cli_ctx(args, &ctx) != CLI_OK) return CLI_ERR_RUNTIME;
    int rc = CLI_OK;
    if (radi_dataset_validate_uri(ctx, args->uri, &msgs, &n) != RADI_OK) {
        rc = cli_fail_radi();
    } else if (args->json) {
        cli_json j;
        jw_init(&j, stdout);
        jw_obj_open(&j, NULL);
        jw_str(&j, "uri", args->uri);
        jw_bool(&j, "valid", n == 0);
        jw_arr_open(&j, "problems");
        for (size_t i = 0; i < n; i++) jw_str(&j, NULL, msgs[i]);
        jw_arr_close(&j);
        jw_obj_close(&j);
        jw_end(&j);
        if (n) rc = cli_fail(CLI_ERR_RUNTIME, "%s: %zu problem%s found", args->uri, n, n == 1 ? "" : "s");
    } else {
        /* Problems are the command's data (stdout, one per line); stderr gets the verdict. */
        for (size_t i = 0; i < n; i++) printf("%s\n", msgs[i]);
        if (n)
            rc = cli_fail(CLI_ERR_RUNTIME, "%s: %zu problem%s found", args->uri, n, n == 1 ? "" : "s");
        else
            printf("%s: valid\n", args->uri);
    }
    radi_messages_free(msgs, n);
    radi_ctx_free(ctx);
    return rc;
}
