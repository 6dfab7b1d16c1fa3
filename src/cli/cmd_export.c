/* `radi export`: one dataset volume back to NIfTI-1, voxels exact, geometry from the
 * volume's metadata (orientation_affine, nifti_* keys written at ingest). */
#include <string.h>

#include "cli.h"
#include "radi/radiobject.h"

int cli_cmd_export(const cli_args *args)
{
    const cli_command *cmd = cli_find_command("export");
    if (cli_wants_help(cmd, args->argc, args->argv)) return CLI_OK;
    const char *uri = NULL, *coll = NULL, *oid = NULL, *out = NULL;
    for (int i = 0; i < args->argc; i++) {
        const char *a = args->argv[i];
        int m;
        if ((m = cli_opt_value(cmd, args->argc, args->argv, &i, "--collection", &coll)) ||
            (m = cli_opt_value(cmd, args->argc, args->argv, &i, "--obs-id", &oid)) ||
            (m = cli_opt_value(cmd, args->argc, args->argv, &i, "--output", &out)) ||
            (m = cli_opt_value(cmd, args->argc, args->argv, &i, "-o", &out))) {
            if (m != 1) return m;
            continue;
        }
        if (a[0] == '-' && a[1])
            return cli_fail(CLI_ERR_USAGE, "export: unknown option '%s' (usage: %s)", a, cmd->usage);
        if (uri) return cli_fail(CLI_ERR_USAGE, "export: unexpected argument '%s' (usage: %s)", a, cmd->usage);
        uri = a;
    }
    if (!uri) return cli_fail(CLI_ERR_USAGE, "export: missing URI (usage: %s)", cmd->usage);
    if (!coll || !oid || !out)
        return cli_fail(CLI_ERR_USAGE, "export: %s is required (usage: %s)",
                        !coll ? "--collection" : !oid ? "--obs-id" : "-o", cmd->usage);
    size_t ol = strlen(out);
    if (!(ol > 4 && strcmp(out + ol - 4, ".nii") == 0) && !(ol > 7 && strcmp(out + ol - 7, ".nii.gz") == 0))
        return cli_fail(CLI_ERR_USAGE, "export: %s: the output must end in .nii or .nii.gz", out);

    cli_volume_handle h;
    int rc = cli_open_volume(args, uri, coll, oid, &h);
    if (rc != CLI_OK) return rc;
    if (radi_volume_to_nifti(h.vol, out) != RADI_OK) rc = cli_fail_radi();
    cli_close_volume(&h);
    return rc;
}
