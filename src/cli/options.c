/*
 * Global options of the `radi` command (before the command name): any library option as
 * -o KEY=VALUE (include/radi/radi.h lists the keys) and shorthands for the S3 settings
 * users change most. They become the radi_options every command's context is made with,
 * on top of the AWS_* environment and ~/.aws files the library reads itself.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Shorthand flag -> option key (each takes one value). */
static const struct {
    const char *flag;
    const char *key;
} shorthands[] = {
    {"--s3-endpoint", "vfs.s3.endpoint"},
    {"--s3-region", "vfs.s3.region"},
    {"--s3-profile", "vfs.s3.profile"},
    {"--s3-ca-file", "vfs.s3.ca_file"},
    {"--concurrency", "concurrency"},
};

static int set_option(radi_options *o, const char *key, const char *value)
{
    if (radi_options_set(o, key, value) == RADI_OK) return CLI_OK;
    return cli_fail(CLI_ERR_USAGE, "option %s: %s", key, radi_errmsg());
}

int cli_global_options(int *argc, char ***argv, radi_options **out)
{
    radi_options *o = NULL;
    if (radi_options_create(&o) != RADI_OK) return cli_fail_radi();
    int i = 1, rc = CLI_OK;
    while (rc == CLI_OK && i < *argc && (*argv)[i][0] == '-') {
        const char *a = (*argv)[i];
        const char *val = NULL;
        int used = 0;
        if (strcmp(a, "-o") == 0 || strcmp(a, "--option") == 0 || strncmp(a, "--option=", 9) == 0) {
            if (a[2] == 'o' && a[8] == '=') val = a + 9;
            else if (i + 1 < *argc) val = (*argv)[++i];
            if (!val) { rc = cli_fail(CLI_ERR_USAGE, "%s needs KEY=VALUE", a); break; }
            const char *eq = strchr(val, '=');
            if (!eq || eq == val) { rc = cli_fail(CLI_ERR_USAGE, "%s: expected KEY=VALUE, got '%s'", a, val); break; }
            char *key = strndup(val, (size_t)(eq - val));
            rc = key ? set_option(o, key, eq + 1) : cli_fail(CLI_ERR_RUNTIME, "out of memory");
            free(key);
            used = 1;
        } else if (strcmp(a, "--s3-no-sign") == 0) {
            /* An explicitly empty key pair: anonymous requests (radi.h). */
            rc = set_option(o, "vfs.s3.aws_access_key_id", "");
            if (rc == CLI_OK) rc = set_option(o, "vfs.s3.aws_secret_access_key", "");
            used = 1;
        } else {
            for (size_t k = 0; k < sizeof shorthands / sizeof *shorthands; k++) {
                size_t n = strlen(shorthands[k].flag);
                if (strncmp(a, shorthands[k].flag, n) != 0 || (a[n] != '\0' && a[n] != '=')) continue;
                if (a[n] == '=') val = a + n + 1;
                else if (i + 1 < *argc) val = (*argv)[++i];
                if (!val) { rc = cli_fail(CLI_ERR_USAGE, "%s needs a value", shorthands[k].flag); break; }
                rc = set_option(o, shorthands[k].key, val);
                used = 1;
                break;
            }
        }
        if (!used) break; /* --help, --version and unknown options are main()'s */
        i++;
    }
    if (rc != CLI_OK) {
        radi_options_free(o);
        return rc;
    }
    /* Shift the consumed options out so main() sees "radi <command> ...". */
    int consumed = i - 1;
    if (consumed > 0) {
        (*argv)[consumed] = (*argv)[0];
        *argv += consumed;
        *argc -= consumed;
    }
    *out = o;
    return CLI_OK;
}

int cli_ctx(const cli_args *args, radi_ctx **out)
{
    if (radi_ctx_create_with_options(NULL, args ? args->options : NULL, out) != RADI_OK) return cli_fail_radi();
    return CLI_OK;
}
