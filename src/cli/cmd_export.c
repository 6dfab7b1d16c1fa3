/* `radi export`: one dataset volume back to NIfTI-1, voxels exact, geometry from the
 * volume's metadata (orientation_affine, nifti_* keys written at ingest). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "radi/nifti.h"
#include "radi/radiobject.h"

/* The 16 numbers of a JSON 4x4 matrix ("[[a, b, c, d], ...]"), row-major. */
static int parse_affine(const char *s, double *a)
{
    int n = 0;
    while (*s && n < 16) {
        if (*s == '[' || *s == ']' || *s == ',' || *s == ' ') {
            s++;
            continue;
        }
        char *end;
        a[n] = strtod(s, &end);
        if (end == s || !isfinite(a[n])) return -1;
        n++;
        s = end;
    }
    while (*s == ']' || *s == ' ') s++;
    return n == 16 && *s == '\0' ? 0 : -1;
}

static int meta_int(radi_volume *vol, const char *key, int32_t *out)
{
    char buf[32], *end;
    if (cli_volume_meta_str(vol, key, buf, sizeof buf) != 0) return -1;
    long v = strtol(buf, &end, 10);
    if (end == buf || *end || v < INT32_MIN || v > INT32_MAX) return -1;
    *out = (int32_t)v;
    return 0;
}

static int meta_double(radi_volume *vol, const char *key, double *out)
{
    char buf[64], *end;
    if (cli_volume_meta_str(vol, key, buf, sizeof buf) != 0) return -1;
    *out = strtod(buf, &end);
    return end == buf || *end ? -1 : 0;
}

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
    int rc = cli_open_volume(uri, coll, oid, &h);
    if (rc != CLI_OK) return rc;
    radi_nifti_header hdr;
    radi_nifti_header_init(&hdr);
    hdr.datatype = radi_volume_dtype(h.vol);
    hdr.ndim = radi_volume_ndim(h.vol);
    uint64_t n = 1;
    for (uint32_t d = 0; d < hdr.ndim; d++) n *= hdr.shape[d] = radi_volume_shape(h.vol)[d];
    /* Voxel sizes come from the affine's column norms (radi_nifti_write). */
    hdr.pixdim[1] = hdr.pixdim[2] = hdr.pixdim[3] = 0;
    char aff[1024] = "";
    if (cli_volume_meta_str(h.vol, "orientation_affine", aff, sizeof aff) == 0 &&
        parse_affine(aff, hdr.affine) != 0) {
        rc = cli_fail(CLI_ERR_RUNTIME, "%s: %s: orientation_affine is not a 4x4 matrix: %.80s", uri, oid, aff);
        goto done;
    }
    /* Codes as the source file had them; volumes without them keep the defaults (1, 1). */
    meta_int(h.vol, "nifti_sform_code", &hdr.sform_code);
    meta_int(h.vol, "nifti_qform_code", &hdr.qform_code);
    meta_int(h.vol, "nifti_xyzt_units", &hdr.xyzt_units);
    double slope = 1, inter = 0;
    meta_double(h.vol, "nifti_scl_slope", &slope);
    meta_double(h.vol, "nifti_scl_inter", &inter);
    /* (1, 0) is "no scaling" and is written as such (slope 0), as the file likely had. */
    if (!(slope == 1 && inter == 0)) {
        hdr.scl_slope = slope;
        hdr.scl_inter = inter;
    }
    if (hdr.qform_code == 0 && hdr.sform_code == 0 && aff[0]) {
        /* Neither form in the source: the stored affine is nibabel's pixdim fallback,
         * which a reader rebuilds from pixdim alone. */
        for (int c = 0; c < 3; c++)
            hdr.pixdim[c + 1] = sqrt(hdr.affine[c] * hdr.affine[c] + hdr.affine[4 + c] * hdr.affine[4 + c] +
                                     hdr.affine[8 + c] * hdr.affine[8 + c]);
    }
    size_t bytes = (size_t)(n * radi_datatype_size(hdr.datatype));
    void *buf = malloc(bytes ? bytes : 1);
    int64_t lohi[8];
    for (uint32_t d = 0; d < hdr.ndim; d++) {
        lohi[2 * d] = 0;
        lohi[2 * d + 1] = (int64_t)hdr.shape[d] - 1;
    }
    if (!buf)
        rc = cli_fail(CLI_ERR_RUNTIME, "%s: out of memory", uri);
    else if (radi_volume_read(h.vol, lohi, buf, bytes, NULL) != RADI_OK ||
             radi_nifti_write(out, &hdr, buf) != RADI_OK)
        rc = cli_fail_radi();
    free(buf);
done:
    cli_close_volume(&h);
    return rc;
}
