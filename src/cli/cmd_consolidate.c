/* `radi consolidate` and `radi vacuum`. */
#include "cli.h"

static int run(const cli_args *args, int vacuum)
{
    radi_consolidation_mode mode = RADI_CONSOLIDATE_FRAGMENTS;
    if (args->mode) cli_parse_mode(args->mode, &mode); /* validated by cli_parse */
    radi_ctx *ctx = NULL;
    if (cli_ctx(args, &ctx) != CLI_OK) return CLI_ERR_RUNTIME;
    radi_object_type type = RADI_OBJECT_INVALID;
    radi_status st = radi_object_type_of(ctx, args->uri, &type);
    int rc = CLI_OK;
    if (st != RADI_OK) {
        rc = cli_fail_radi();
    } else if (type != RADI_OBJECT_ARRAY) {
        rc = cli_fail(CLI_ERR_RUNTIME, "%s: %s", args->uri,
                      type == RADI_OBJECT_GROUP ? "is a group; only arrays can be consolidated"
                                                : "no TileDB array here");
    } else {
        st = vacuum ? radi_vacuum(ctx, args->uri, mode) : radi_consolidate(ctx, args->uri, mode);
        if (st != RADI_OK) rc = cli_fail_radi();
    }
    radi_ctx_free(ctx);
    return rc;
}

int cli_cmd_consolidate(const cli_args *args) { return run(args, 0); }
int cli_cmd_vacuum(const cli_args *args) { return run(args, 1); }
