/* `radi consolidate` and `radi vacuum`: one array as it is, or a whole dataset (a
 * RadiObject root or a stand-alone collection: radi_dataset_consolidate / _vacuum). */
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "radi/radiobject.h"

/* `--mode all`: every mode, data first (fragments), then what indexes it. */
static const radi_consolidation_mode all_modes[] = {RADI_CONSOLIDATE_FRAGMENTS, RADI_CONSOLIDATE_COMMITS,
                                                     RADI_CONSOLIDATE_FRAGMENT_META, RADI_CONSOLIDATE_ARRAY_META};
static const char *const mode_names[] = {"fragments", "commits", "fragment_meta", "array_meta"};

typedef struct progress {
    const char *verb;
    const char *mode;
} progress;

/* One updating line on a terminal: objects done of the total, the object just done. */
static void show_progress(void *user, uint64_t done, uint64_t total, const char *uri)
{
    const progress *p = user;
    fprintf(stderr, "\rradi: %s %s [%llu/%llu] %s\033[K%s", p->verb, p->mode, (unsigned long long)done,
            (unsigned long long)total, uri, done == total ? "\n" : "");
    fflush(stderr);
}

static int run(const cli_args *args, int vacuum)
{
    radi_consolidation_mode one = RADI_CONSOLIDATE_FRAGMENTS;
    int all = args->mode && cli_parse_mode(args->mode, &one) == 1; /* validated by cli_parse */
    const radi_consolidation_mode *modes = all ? all_modes : &one;
    size_t nmodes = all ? 4 : 1;
    radi_ctx *ctx = NULL;
    if (cli_ctx(args, &ctx) != CLI_OK) return CLI_ERR_RUNTIME;
    radi_object_type type = RADI_OBJECT_INVALID;
    radi_dataset_kind kind = RADI_DATASET_NONE;
    radi_dataset *ds = NULL;
    int rc = CLI_OK;
    if (radi_object_type_of(ctx, args->uri, &type) != RADI_OK) {
        rc = cli_fail_radi();
    } else if (type == RADI_OBJECT_INVALID) {
        rc = cli_fail(CLI_ERR_RUNTIME, "%s: no TileDB array or dataset here", args->uri);
    } else if (type == RADI_OBJECT_GROUP) {
        if (radi_dataset_kind_of(ctx, args->uri, &kind) != RADI_OK) rc = cli_fail_radi();
        else if (kind == RADI_DATASET_NONE)
            rc = cli_fail(CLI_ERR_RUNTIME, "%s: is a group but not a RadiObject dataset or collection; "
                          "consolidate its arrays one by one", args->uri);
        else if ((kind == RADI_DATASET_ROOT ? radi_dataset_open(ctx, args->uri, &ds)
                                            : radi_collection_open(ctx, args->uri, &ds)) != RADI_OK)
            rc = cli_fail_radi();
    }
    int tty = isatty(2);
    for (size_t k = 0; rc == CLI_OK && k < nmodes; k++) {
        radi_status st;
        if (ds) {
            progress p = {vacuum ? "vacuum" : "consolidate", mode_names[modes[k]]};
            st = vacuum ? radi_dataset_vacuum(ds, modes[k], tty ? show_progress : NULL, &p)
                        : radi_dataset_consolidate(ds, modes[k], tty ? show_progress : NULL, &p);
            if (st != RADI_OK && tty) fputc('\n', stderr);
        } else {
            st = vacuum ? radi_vacuum(ctx, args->uri, modes[k]) : radi_consolidate(ctx, args->uri, modes[k]);
        }
        if (st != RADI_OK) rc = cli_fail_radi();
    }
    radi_dataset_close(ds);
    radi_ctx_free(ctx);
    return rc;
}

int cli_cmd_consolidate(const cli_args *args) { return run(args, 0); }
int cli_cmd_vacuum(const cli_args *args) { return run(args, 1); }
