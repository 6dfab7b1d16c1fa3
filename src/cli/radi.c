/* `radi` entry point: global options and dispatch to the commands. */
#include <string.h>

#include "cli/cli.h"

const cli_command cli_commands[] = {
    {"info", "describe an array or group (schema, fragments, metadata, size)",
     "Prints what is stored at URI: for an array its schema (dimensions, attributes,\n"
     "datatypes, tile extents, filters, orders, format version), its fragments with\n"
     "timestamps and non-empty domains, the array's non-empty domain, its metadata and\n"
     "the bytes it occupies; for a group its members and metadata.\n"
     "\n"
     "Options:\n"
     "  --json      print one JSON document instead of text (schema in docs/cli.md)\n"
     "  -h, --help  show this help\n",
     "radi info [--json] URI", CLI_OPT_JSON, cli_cmd_info},
    {"consolidate", "merge fragments, commits or metadata of an array",
     "Merges what --mode names into one new object, as TileDB does. Readers see the same\n"
     "values before and after. Nothing is deleted: run `radi vacuum` with the same mode.\n"
     "\n"
     "Options:\n"
     "  --mode MODE  fragments (default), commits, fragment_meta or array_meta\n"
     "  -h, --help   show this help\n",
     "radi consolidate [--mode MODE] URI", CLI_OPT_MODE, cli_cmd_consolidate},
    {"vacuum", "delete what an earlier consolidation made obsolete",
     "Deletes the fragments, commit files or metadata files that an earlier\n"
     "consolidation in the same mode replaced.\n"
     "\n"
     "Options:\n"
     "  --mode MODE  fragments (default), commits, fragment_meta or array_meta\n"
     "  -h, --help   show this help\n",
     "radi vacuum [--mode MODE] URI", CLI_OPT_MODE, cli_cmd_vacuum},
    {NULL, NULL, NULL, NULL, 0, NULL},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: radi [--version] [--help] <command> [options] URI\n\ncommands:\n");
    for (const cli_command *c = cli_commands; c->name; c++)
        fprintf(f, "  %-12s %s\n", c->name, c->summary);
    fprintf(f, "\n`radi <command> --help` describes a command. Exit codes: 0 ok, 1 runtime error,\n"
               "2 usage error. URIs: local paths or file:// URIs.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_ERR_USAGE;
    }
    const char *first = argv[1];
    if (strcmp(first, "--help") == 0 || strcmp(first, "-h") == 0 || strcmp(first, "help") == 0) {
        if (strcmp(first, "help") == 0 && argc > 2) {
            for (const cli_command *c = cli_commands; c->name; c++)
                if (strcmp(c->name, argv[2]) == 0) {
                    printf("usage: %s\n\n%s", c->usage, c->help);
                    return CLI_OK;
                }
            return cli_fail(CLI_ERR_USAGE, "unknown command '%s' (see 'radi --help')", argv[2]);
        }
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(first, "--version") == 0 || strcmp(first, "-V") == 0) {
        printf("radi %s\n", radi_version());
        return CLI_OK;
    }
    if (first[0] == '-')
        return cli_fail(CLI_ERR_USAGE, "unknown option '%s' (see 'radi --help')", first);
    for (const cli_command *c = cli_commands; c->name; c++) {
        if (strcmp(c->name, first) != 0) continue;
        cli_args args;
        int rc = cli_parse(c, argc - 2, argv + 2, &args);
        if (rc == -1) return CLI_OK;
        if (rc != CLI_OK) return rc;
        return c->run(&args);
    }
    return cli_fail(CLI_ERR_USAGE, "unknown command '%s' (see 'radi --help')", first);
}
