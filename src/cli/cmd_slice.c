/* `radi slice`: one 2-D slice of a dataset volume as .npy (raw) or 8-bit PNG (windowed). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "radi/radiobject.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* numpy's dtype string for radi's type, in the host's (little-endian) byte order. */
static const char *npy_descr(radi_datatype t)
{
    switch (t) {
    case RADI_INT8: return "|i1";
    case RADI_UINT8: return "|u1";
    case RADI_BOOL: return "|b1";
    case RADI_INT16: return "<i2";
    case RADI_UINT16: return "<u2";
    case RADI_INT32: return "<i4";
    case RADI_UINT32: return "<u4";
    case RADI_INT64: return "<i8";
    case RADI_UINT64: return "<u8";
    case RADI_FLOAT32: return "<f4";
    case RADI_FLOAT64: return "<f8";
    default: return NULL;
    }
}

/* The .npy format v1.0: magic, version, a little-endian u16 header length, a Python
 * dict literal padded with spaces to a 64-byte boundary and ending in '\n', the data.
 * Built in memory and stored with one write through the context (so -o s3://... works,
 * and a failed write leaves no partial file). */
static int write_npy(radi_ctx *ctx, const char *path, radi_datatype t, uint64_t rows, uint64_t cols,
                     const void *data, size_t bytes)
{
    const char *descr = npy_descr(t);
    if (!descr)
        return cli_fail(CLI_ERR_RUNTIME, "%s: datatype %s has no .npy form", path, radi_datatype_name(t));
    char dict[256];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%llu, %llu), }",
                     descr, (unsigned long long)rows, (unsigned long long)cols);
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    uint16_t hlen = (uint16_t)(n + pad + 1);
    uint8_t pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)(hlen & 0xff), (uint8_t)(hlen >> 8)};
    size_t head = total + pad;
    uint8_t *file = malloc(head + bytes);
    if (!file) return cli_fail(CLI_ERR_RUNTIME, "%s: out of memory", path);
    memcpy(file, pre, 10);
    memcpy(file + 10, dict, (size_t)n);
    memset(file + 10 + n, ' ', pad);
    file[head - 1] = '\n';
    if (bytes) memcpy(file + head, data, bytes);
    int rc = radi_write_file(ctx, path, file, head + bytes) == RADI_OK ? CLI_OK : cli_fail_radi();
    free(file);
    return rc;
}

static double value_at(radi_datatype t, const void *p, size_t i)
{
    switch (t) {
    case RADI_INT8: return ((const int8_t *)p)[i];
    case RADI_UINT8: case RADI_BOOL: return ((const uint8_t *)p)[i];
    case RADI_INT16: return ((const int16_t *)p)[i];
    case RADI_UINT16: return ((const uint16_t *)p)[i];
    case RADI_INT32: return ((const int32_t *)p)[i];
    case RADI_UINT32: return ((const uint32_t *)p)[i];
    case RADI_INT64: return (double)((const int64_t *)p)[i];
    case RADI_UINT64: return (double)((const uint64_t *)p)[i];
    case RADI_FLOAT32: return ((const float *)p)[i];
    case RADI_FLOAT64: return ((const double *)p)[i];
    default: return NAN;
    }
}

/* Scaled values (the volume's recorded scl_slope/scl_inter) through the window
 * [lo, hi] (default: the slice's finite min..max) to 0..255. The slice array is
 * (rows = first slice axis, cols = second); the image shows the first axis left to
 * right and the second bottom to top, as matplotlib's imshow(s.T, origin="lower"). */
static int write_png(radi_ctx *ctx, const char *path, radi_volume *vol, const void *data, uint64_t rows,
                     uint64_t cols, int windowed, double window, double level)
{
    radi_datatype t = radi_volume_dtype(vol);
    double slope = 1, inter = 0;
    char buf[64];
    if (cli_volume_meta_str(vol, "nifti_scl_slope", buf, sizeof buf) == 0) slope = strtod(buf, NULL);
    if (cli_volume_meta_str(vol, "nifti_scl_inter", buf, sizeof buf) == 0) inter = strtod(buf, NULL);
    if (!isfinite(slope) || slope == 0) slope = 1, inter = 0;
    if (!isfinite(inter)) inter = 0;
    size_t n = (size_t)(rows * cols);
    double lo = INFINITY, hi = -INFINITY;
    if (windowed) {
        lo = level - window / 2;
        hi = level + window / 2;
    } else {
        for (size_t i = 0; i < n; i++) {
            double v = value_at(t, data, i) * slope + inter;
            if (isfinite(v)) {
                if (v < lo) lo = v;
                if (v > hi) hi = v;
            }
        }
    }
    uint8_t *px = malloc(n ? n : 1);
    if (!px) return cli_fail(CLI_ERR_RUNTIME, "%s: out of memory", path);
    double span = hi - lo;
    for (uint64_t r = 0; r < rows; r++)
        for (uint64_t c = 0; c < cols; c++) {
            double v = value_at(t, data, (size_t)(r * cols + c)) * slope + inter;
            double g = !(span > 0) || !isfinite(v) ? 0 : (v - lo) / span * 255.0;
            g = g < 0 ? 0 : g > 255 ? 255 : g;
            px[(size_t)((cols - 1 - c) * rows + r)] = (uint8_t)floor(g + 0.5);
        }
    int rc = cli_png_write(ctx, path, px, (uint32_t)rows, (uint32_t)cols);
    free(px);
    return rc;
}

static int parse_num(const cli_command *cmd, const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(*out))
        return cli_fail(CLI_ERR_USAGE, "%s: %s: '%s' is not a number", cmd->name, opt, s);
    return CLI_OK;
}

int cli_cmd_slice(const cli_args *args)
{
    const cli_command *cmd = cli_find_command("slice");
    if (cli_wants_help(cmd, args->argc, args->argv)) return CLI_OK;
    const char *uri = NULL, *coll = NULL, *oid = NULL, *out = NULL, *win = NULL, *lev = NULL;
    const char *axis_val = NULL;
    int axis = -1, naxes = 0;
    static const char *axes[3] = {"--sagittal", "--coronal", "--axial"}; /* volume axis x, y, z */
    for (int i = 0; i < args->argc; i++) {
        const char *a = args->argv[i], *v;
        int m;
        if ((m = cli_opt_value(cmd, args->argc, args->argv, &i, "--collection", &coll)) ||
            (m = cli_opt_value(cmd, args->argc, args->argv, &i, "--obs-id", &oid)) ||
            (m = cli_opt_value(cmd, args->argc, args->argv, &i, "--output", &out)) ||
            (m = cli_opt_value(cmd, args->argc, args->argv, &i, "-o", &out)) ||
            (m = cli_opt_value(cmd, args->argc, args->argv, &i, "--window", &win)) ||
            (m = cli_opt_value(cmd, args->argc, args->argv, &i, "--level", &lev))) {
            if (m != 1) return m;
            continue;
        }
        int matched = 0;
        for (int k = 0; k < 3 && !matched; k++) {
            m = cli_opt_value(cmd, args->argc, args->argv, &i, axes[k], &v);
            if (m > 1) return m;
            if (m == 1) {
                matched = 1;
                axis = k;
                axis_val = v;
                naxes++;
            }
        }
        if (matched) continue;
        if (a[0] == '-' && a[1])
            return cli_fail(CLI_ERR_USAGE, "slice: unknown option '%s' (usage: %s)", a, cmd->usage);
        if (uri) return cli_fail(CLI_ERR_USAGE, "slice: unexpected argument '%s' (usage: %s)", a, cmd->usage);
        uri = a;
    }
    if (!uri) return cli_fail(CLI_ERR_USAGE, "slice: missing URI (usage: %s)", cmd->usage);
    if (!coll || !oid || !out)
        return cli_fail(CLI_ERR_USAGE, "slice: %s is required (usage: %s)",
                        !coll ? "--collection" : !oid ? "--obs-id" : "-o", cmd->usage);
    if (naxes != 1)
        return cli_fail(CLI_ERR_USAGE, "slice: give exactly one of --axial, --sagittal, --coronal");
    if (!!win != !!lev) return cli_fail(CLI_ERR_USAGE, "slice: --window and --level go together");
    int png = ends_with(out, ".png"), npy = ends_with(out, ".npy");
    if (!png && !npy) return cli_fail(CLI_ERR_USAGE, "slice: %s: the output must end in .png or .npy", out);
    double window = 0, level = 0, idx_d;
    int rc;
    if (win && ((rc = parse_num(cmd, "--window", win, &window)) || (rc = parse_num(cmd, "--level", lev, &level))))
        return rc;
    if (win && !(window > 0)) return cli_fail(CLI_ERR_USAGE, "slice: --window must be positive");
    if ((rc = parse_num(cmd, axes[axis], axis_val, &idx_d))) return rc;
    if (idx_d < 0 || idx_d != floor(idx_d))
        return cli_fail(CLI_ERR_USAGE, "slice: %s %s: not a voxel index", axes[axis], axis_val);

    cli_volume_handle h;
    if ((rc = cli_open_volume(args, uri, coll, oid, &h)) != CLI_OK) return rc;
    uint32_t nd = radi_volume_ndim(h.vol);
    const uint64_t *sh = radi_volume_shape(h.vol);
    if ((uint64_t)idx_d >= sh[axis] || idx_d >= 9e18) {
        rc = cli_fail(CLI_ERR_RUNTIME, "%s: %s: %s %s is outside 0..%llu", uri, oid, axes[axis],
                      axis_val, (unsigned long long)sh[axis] - 1);
        cli_close_volume(&h);
        return rc;
    }
    /* The whole volume but one index on the slice axis (and t = 0 for 4-D). */
    int64_t lohi[8];
    for (uint32_t d = 0; d < nd; d++) {
        lohi[2 * d] = 0;
        lohi[2 * d + 1] = d == 3 ? 0 : (int64_t)sh[d] - 1;
    }
    lohi[2 * axis] = lohi[2 * axis + 1] = (int64_t)idx_d;
    uint64_t rows = sh[axis == 0 ? 1 : 0], cols = sh[axis == 2 ? 1 : 2];
    size_t es = radi_datatype_size(radi_volume_dtype(h.vol));
    size_t bytes = (size_t)(rows * cols * es);
    void *buf = malloc(bytes ? bytes : 1);
    if (!buf) {
        rc = cli_fail(CLI_ERR_RUNTIME, "%s: out of memory", uri);
    } else if (radi_volume_read(h.vol, lohi, buf, bytes, NULL) != RADI_OK) {
        rc = cli_fail_radi();
    } else if (npy) {
        rc = write_npy(h.ctx, out, radi_volume_dtype(h.vol), rows, cols, buf, bytes);
    } else {
        rc = write_png(h.ctx, out, h.vol, buf, rows, cols, win != NULL, window, level);
    }
    free(buf);
    cli_close_volume(&h);
    return rc;
}
