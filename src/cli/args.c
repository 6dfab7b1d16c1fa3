/* Argument parsing and error reporting for the `radi` command. */
#include <stdarg.h>
#include <string.h>

#include "cli.h"

int cli_fail(int code, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* One line, whatever the message holds (scripts read the first line). */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    fprintf(stderr, "radi: %s\n", msg);
    return code;
}

int cli_fail_radi(void)
{
    const char *m = radi_errmsg();
    return cli_fail(CLI_ERR_RUNTIME, "%s", m && *m ? m : "unknown error");
}

int cli_parse_mode(const char *name, radi_consolidation_mode *out)
{
    static const struct { const char *name; radi_consolidation_mode mode; } modes[] = {
        {"fragments", RADI_CONSOLIDATE_FRAGMENTS},
        {"commits", RADI_CONSOLIDATE_COMMITS},
        {"fragment_meta", RADI_CONSOLIDATE_FRAGMENT_META},
        {"array_meta", RADI_CONSOLIDATE_ARRAY_META},
    };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(name, modes[i].name) == 0) {
            *out = modes[i].mode;
            return 0;
        }
    if (strcmp(name, "all") == 0) return 1;
    return -1;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, cli_args *out)
{
    memset(out, 0, sizeof *out);
    int only_operands = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!only_operands && a[0] == '-' && a[1] != '\0') {
            if (strcmp(a, "--") == 0) {
                only_operands = 1;
            } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
                printf("usage: %s\n\n%s", cmd->usage, cmd->help);
                return -1;
            } else if ((cmd->opts & CLI_OPT_JSON) && strcmp(a, "--json") == 0) {
                out->json = 1;
            } else if ((cmd->opts & CLI_OPT_MODE) && strncmp(a, "--mode", 6) == 0 &&
                       (a[6] == '\0' || a[6] == '=')) {
                const char *v = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : NULL);
                if (!v)
                    return cli_fail(CLI_ERR_USAGE, "%s: --mode needs a value (usage: %s)", cmd->name,
                                    cmd->usage);
                radi_consolidation_mode m;
                if (cli_parse_mode(v, &m) < 0)
                    return cli_fail(CLI_ERR_USAGE,
                                    "%s: unknown mode '%s' (expected fragments, commits, fragment_meta, array_meta or all)",
                                    cmd->name, v);
                out->mode = v;
            } else {
                return cli_fail(CLI_ERR_USAGE, "%s: unknown option '%s' (usage: %s)", cmd->name, a,
                                cmd->usage);
            }
            continue;
        }
        if (out->uri)
            return cli_fail(CLI_ERR_USAGE, "%s: unexpected argument '%s' (usage: %s)", cmd->name, a,
                            cmd->usage);
        out->uri = a;
    }
    if (!out->uri) return cli_fail(CLI_ERR_USAGE, "%s: missing URI (usage: %s)", cmd->name, cmd->usage);
    return CLI_OK;
}
