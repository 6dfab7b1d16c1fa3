/* `radi repair`: rolls back an interrupted write (radi_dataset_repair). */
#include "cli.h"
#include "radi/radiobject.h"

int cli_cmd_repair(const cli_args *args)
{
    radi_ctx *ctx = NULL;
    char *op = NULL;
    if (cli_ctx(args, &ctx) != CLI_OK) return CLI_ERR_RUNTIME;
    int rc = CLI_OK;
    if (radi_dataset_repair(ctx, args->uri, &op) != RADI_OK) {
        rc = cli_fail_radi();
    } else if (args->json) {
        cli_json j;
        jw_init(&j, stdout);
        jw_obj_open(&j, NULL);
        jw_str(&j, "uri", args->uri);
        jw_bool(&j, "repaired", op != NULL);
        jw_str(&j, "rolled_back", op);
        jw_obj_close(&j);
        jw_end(&j);
    } else if (op) {
        printf("%s: rolled back the interrupted %s\n", args->uri, op);
    } else {
        printf("%s: nothing to repair (no interrupted write)\n", args->uri);
    }
    radi_free(op);
    radi_ctx_free(ctx);
    return rc;
}
