/* `radi ingest`: NIfTI files or DICOM series into a dataset, one collection per
 * NAME=GLOB (the format detected per argument, or forced by --nifti / --dicom), or with
 * --append into a stand-alone collection, its one NAME=GLOB naming it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "csv.h"
#include "radi/dicom.h"
#include "radi/radiobject.h"
#include "radi/sparse.h"

enum { FMT_AUTO = 0, FMT_NIFTI, FMT_DICOM };

typedef struct spec {
    const char *name;
    const char *pattern;
    int format;                  /* FMT_NIFTI or FMT_DICOM once expanded */
    radi_source_list *list;      /* NIfTI: the library's discovery (radi_sources_from_pattern) */
    radi_dicom_source_list *dlist; /* DICOM: radi_dicom_sources_from_pattern */
    radi_dicom_source *dsrc;     /* DICOM: dlist's items with --series-uid */
    size_t n;
} spec;

/* Finds the spec's sources, listed by the library through the context's storage (so
 * s3:// prefixes work), subject ids from the names, duplicates refused. NIfTI: a
 * directory's .nii/.nii.gz files, a glob's matches or one file. DICOM: a series
 * directory (one subject), a directory of subject directories, or a glob of subject
 * directories. Auto-detection: NIfTI when the pattern finds NIfTI files, else DICOM. */
static int nifti_named(const char *p)
{
    size_t n = strlen(p);
    return (n >= 4 && strcasecmp(p + n - 4, ".nii") == 0) || (n >= 7 && strcasecmp(p + n - 7, ".nii.gz") == 0);
}

static int expand(radi_ctx *ctx, spec *sp, int format, const char *series_uid)
{
    char *nifti_why = NULL;
    /* A pattern spelled as NIfTI (x/<star>.nii.gz) is not tried as DICOM. */
    if (format == FMT_AUTO && nifti_named(sp->pattern)) format = FMT_NIFTI;
    if (format != FMT_DICOM) {
        radi_status s = radi_sources_from_pattern(ctx, sp->pattern, sp->name, &sp->list);
        if (s == RADI_OK) {
            sp->format = FMT_NIFTI;
            sp->n = radi_source_list_count(sp->list);
            return CLI_OK;
        }
        if (format == FMT_NIFTI || s != RADI_E_NOT_FOUND) return cli_fail_radi();
        nifti_why = strdup(radi_errmsg());
    }
    radi_status s = radi_dicom_sources_from_pattern(ctx, sp->pattern, sp->name, &sp->dlist);
    if (s != RADI_OK) {
        int rc = nifti_why && s == RADI_E_NOT_FOUND
                     ? cli_fail(CLI_ERR_RUNTIME, "%s; nor DICOM: %s", nifti_why, radi_errmsg())
                     : cli_fail_radi();
        free(nifti_why);
        return rc;
    }
    free(nifti_why);
    sp->format = FMT_DICOM;
    sp->n = radi_dicom_source_list_count(sp->dlist);
    sp->dsrc = calloc(sp->n ? sp->n : 1, sizeof *sp->dsrc);
    if (!sp->dsrc) return cli_fail(CLI_ERR_RUNTIME, "out of memory");
    memcpy(sp->dsrc, radi_dicom_source_list_items(sp->dlist), sp->n * sizeof *sp->dsrc);
    for (size_t i = 0; i < sp->n; i++) sp->dsrc[i].series_uid = series_uid;
    return CLI_OK;
}

static void free_spec(spec *sp)
{
    radi_source_list_free(sp->list);
    radi_dicom_source_list_free(sp->dlist);
    free(sp->dsrc);
}

/* ---- --obs-meta FILE.csv: obs_meta's user columns ----
 * The header row names the columns; obs_subject_id is required, obs_id optional
 * (default: the subject id, as 0.1.1). Every other column becomes an attribute, in file
 * order: int64 if every value is an integer, else float64 if every value is a number
 * (empty = NaN), else a UTF-8 string. Quoted fields ("a,b", "say ""hi""") are allowed. */
/* The file read whole (through the context's storage) and split (csv.h). Returns
 * CLI_OK or a reported error. */
static int csv_parse(radi_ctx *ctx, const char *path, csv *c)
{
    memset(c, 0, sizeof *c);
    void *data = NULL;
    uint64_t len = 0;
    if (radi_read_file(ctx, path, (uint64_t)1 << 30, &data, &len) != RADI_OK) return cli_fail_radi();
    /* csv_split keeps pointers into its text and frees it with free(): a copy of ours. */
    char *text = malloc((size_t)len + 1);
    if (text) memcpy(text, data, (size_t)len + 1);
    radi_free(data);
    if (!text) return cli_fail(CLI_ERR_RUNTIME, "out of memory");
    char why[160];
    if (csv_split(text, c, why, sizeof why) != 0) return cli_fail(CLI_ERR_RUNTIME, "%s: %s", path, why);
    return CLI_OK;
}

/* One column's cells as a sparse buffer (strings: bytes + offsets). */
typedef struct colbuf {
    void *data;
    uint64_t size;
    uint64_t *offsets;
} colbuf;

static int fill_col(const csv *c, int j, int type, const char *const *alt, colbuf *b)
{
    size_t n = c->nrows;
    if (type == CSV_STR) {
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++) total += strlen(j >= 0 ? c->cells[(i + 1) * c->ncols + (size_t)j] : alt[i]);
        b->data = malloc(total ? total : 1);
        b->offsets = malloc((n ? n : 1) * sizeof *b->offsets);
        if (!b->data || !b->offsets) return -1;
        uint64_t at = 0;
        for (size_t i = 0; i < n; i++) {
            const char *v = j >= 0 ? c->cells[(i + 1) * c->ncols + (size_t)j] : alt[i];
            size_t l = strlen(v);
            b->offsets[i] = at;
            memcpy((char *)b->data + at, v, l);
            at += l;
        }
        b->size = total;
        return 0;
    }
    b->size = n * 8;
    b->data = malloc(n ? n * 8 : 1);
    if (!b->data) return -1;
    for (size_t i = 0; i < n; i++) {
        const char *v = c->cells[(i + 1) * c->ncols + (size_t)j];
        if (type == CSV_INT) ((int64_t *)b->data)[i] = strtoll(v, NULL, 10);
        else ((double *)b->data)[i] = *v ? strtod(v, NULL) : NAN;
    }
    return 0;
}

/* Creates the dataset with obs_meta's schema from the CSV and writes its rows. */
static int create_with_csv(radi_ctx *ctx, const char *uri, const char *path, int *created)
{
    csv c;
    int rc = csv_parse(ctx, path, &c);
    if (rc != CLI_OK) return rc;
    int js = csv_col(&c, "obs_subject_id"), jo = csv_col(&c, "obs_id");
    if (js < 0) {
        csv_free(&c);
        return cli_fail(CLI_ERR_RUNTIME, "%s: no obs_subject_id column", path);
    }
    /* The key (obs_subject_id, obs_id) must be unique: checked before anything is written. */
    const char **oid = malloc((c.nrows ? c.nrows : 1) * sizeof *oid);
    if (!oid) return csv_free(&c), cli_fail(CLI_ERR_RUNTIME, "out of memory");
    for (size_t i = 0; i < c.nrows; i++) {
        const char *sid = c.cells[(i + 1) * c.ncols + (size_t)js];
        oid[i] = jo >= 0 ? c.cells[(i + 1) * c.ncols + (size_t)jo] : sid;
        if (!*sid) rc = cli_fail(CLI_ERR_RUNTIME, "%s: row %zu: empty obs_subject_id", path, i + 2);
        for (size_t k = 0; k < i && rc == CLI_OK; k++)
            if (strcmp(sid, c.cells[(k + 1) * c.ncols + (size_t)js]) == 0 && strcmp(oid[i], oid[k]) == 0)
                rc = cli_fail(CLI_ERR_RUNTIME, "%s: rows %zu and %zu repeat the key (%s, %s)", path, k + 2,
                              i + 2, sid, oid[i]);
        if (rc != CLI_OK) break;
    }
    size_t nf = c.ncols + (jo < 0 ? 1 : 0);
    colbuf *bufs = calloc(nf, sizeof *bufs);
    radi_sparse_buffer *sb = calloc(nf, sizeof *sb);
    radi_schema *sch = NULL;
    radi_array *arr = NULL;
    if (rc == CLI_OK && (!bufs || !sb)) rc = cli_fail(CLI_ERR_RUNTIME, "out of memory");
    if (rc == CLI_OK && radi_schema_create(RADI_SPARSE, &sch) != RADI_OK) rc = cli_fail_radi();
    radi_filter_list zstd;
    radi_filter_list_init(&zstd);
    radi_filter_list_add(&zstd, RADI_FILTER_ZSTD, -1);
    if (rc == CLI_OK && (radi_schema_set_offsets_filters(sch, &zstd) != RADI_OK ||
                         radi_schema_add_dim(sch, "obs_subject_id", RADI_STRING_ASCII, NULL, NULL, NULL, &zstd) != RADI_OK ||
                         radi_schema_add_dim(sch, "obs_id", RADI_STRING_ASCII, NULL, NULL, NULL, &zstd) != RADI_OK))
        rc = cli_fail_radi();
    size_t k = 0;
    if (rc == CLI_OK) {
        /* Key columns first, then the user columns in file order. */
        if (fill_col(&c, js, CSV_STR, NULL, &bufs[k]) != 0 || fill_col(&c, -1, CSV_STR, oid, &bufs[k + 1]) != 0)
            rc = cli_fail(CLI_ERR_RUNTIME, "out of memory");
        sb[k] = (radi_sparse_buffer){"obs_subject_id", bufs[k].data, bufs[k].size, bufs[k].offsets, NULL};
        sb[k + 1] = (radi_sparse_buffer){"obs_id", bufs[k + 1].data, bufs[k + 1].size, bufs[k + 1].offsets, NULL};
        k += 2;
    }
    for (size_t j = 0; j < c.ncols && rc == CLI_OK; j++) {
        if ((int)j == js || (int)j == jo) continue;
        int t = csv_col_type(&c, j);
        radi_datatype dt = t == CSV_INT ? RADI_INT64 : t == CSV_FLOAT ? RADI_FLOAT64 : RADI_STRING_UTF8;
        if (radi_schema_add_attr(sch, c.cells[j], dt, t == CSV_STR ? RADI_VAR_NUM : 1, 0, &zstd, NULL, 0) != RADI_OK)
            rc = cli_fail(CLI_ERR_RUNTIME, "%s: column %s: %s", path, c.cells[j], radi_errmsg());
        else if (fill_col(&c, (int)j, t, NULL, &bufs[k]) != 0)
            rc = cli_fail(CLI_ERR_RUNTIME, "out of memory");
        else
            sb[k] = (radi_sparse_buffer){c.cells[j], bufs[k].data, bufs[k].size, bufs[k].offsets, NULL};
        k++;
    }
    if (rc == CLI_OK) {
        if (radi_dataset_create_with_obs_meta(ctx, uri, sch) != RADI_OK) {
            rc = cli_fail_radi();
        } else {
            *created = 1;
            size_t ul = strlen(uri);
            char *om = malloc(ul + 16);
            if (!om) rc = cli_fail(CLI_ERR_RUNTIME, "out of memory");
            else snprintf(om, ul + 16, "%s%sobs_meta", uri, ul && uri[ul - 1] == '/' ? "" : "/");
            if (rc == CLI_OK && (radi_array_open(ctx, om, 0, 0, &arr) != RADI_OK ||
                                 radi_array_write_sparse(arr, (uint32_t)k, sb, c.nrows, 0) != RADI_OK))
                rc = cli_fail_radi();
            free(om);
        }
    }
    radi_array_close(arr);
    radi_schema_free(sch);
    for (size_t i = 0; bufs && i < nf; i++) {
        free(bufs[i].data);
        free(bufs[i].offsets);
    }
    free(bufs);
    free(sb);
    free(oid);
    csv_free(&c);
    return rc;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A progress line on a terminal: files done, rate, the file just written. */
typedef struct progress {
    double t0;
} progress;

static void show_progress(void *user, uint64_t done, uint64_t total, const char *path)
{
    const progress *p = user;
    const char *base = strrchr(path, '/');
    double secs = now() - p->t0;
    fprintf(stderr, "\rradi: ingest [%llu/%llu files, %.1f/s] %s\033[K", (unsigned long long)done,
            (unsigned long long)total, secs > 0 ? (double)done / secs : 0.0, base ? base + 1 : path);
    fflush(stderr);
}

/* --compression ALG[:LEVEL] (zstd, lz4, gzip, none). */
static int parse_compression(const char *v, radi_compression *c)
{
    static const struct {
        const char *name;
        radi_filter_type type;
    } algs[] = {{"zstd", RADI_FILTER_ZSTD}, {"lz4", RADI_FILTER_LZ4}, {"gzip", RADI_FILTER_GZIP},
                {"none", RADI_FILTER_NONE}};
    const char *colon = strchr(v, ':');
    size_t n = colon ? (size_t)(colon - v) : strlen(v);
    for (size_t k = 0; k < sizeof algs / sizeof *algs; k++) {
        if (strlen(algs[k].name) != n || strncmp(v, algs[k].name, n) != 0) continue;
        c->algorithm = algs[k].type;
        if (!colon) return CLI_OK;
        char *end;
        long level = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end || level < -1 || level > 22)
            return cli_fail(CLI_ERR_USAGE, "ingest: --compression %s: the level must be an integer in -1..22", v);
        c->level = (int32_t)level;
        return CLI_OK;
    }
    return cli_fail(CLI_ERR_USAGE, "ingest: --compression %s: use zstd, lz4, gzip or none, optionally :LEVEL", v);
}

int cli_cmd_ingest(const cli_args *args)
{
    const cli_command *cmd = cli_find_command("ingest");
    if (cli_wants_help(cmd, args->argc, args->argv)) return CLI_OK;
    const char *uri = NULL, *obs_meta = NULL, *tile = NULL, *compression = NULL, *series_uid = NULL;
    int append = 0, json = 0, rc = CLI_OK, format = FMT_AUTO;
    radi_dicom_options dopt;
    radi_dicom_options_init(&dopt);
    radi_ingest_options opt;
    radi_ingest_options_init(&opt);
    spec *specs = calloc((size_t)args->argc + 1, sizeof *specs);
    size_t ns = 0;
    if (!specs) return cli_fail(CLI_ERR_RUNTIME, "out of memory");
    for (int i = 0; i < args->argc && rc == CLI_OK; i++) {
        const char *a = args->argv[i];
        if (strcmp(a, "--append") == 0) {
            append = 1;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--validate-alignment") == 0) {
            opt.validate_alignment = 1;
        } else if (strcmp(a, "--dicom") == 0 || strcmp(a, "--nifti") == 0) {
            int f = a[2] == 'd' ? FMT_DICOM : FMT_NIFTI;
            if (format != FMT_AUTO && format != f)
                rc = cli_fail(CLI_ERR_USAGE, "ingest: --dicom and --nifti exclude each other");
            format = f;
        } else if (strncmp(a, "--reorient", 10) == 0 && (a[10] == '\0' || a[10] == '=')) {
            /* 0.1.1's reorient=True; its canonical_target after '=' (default RAS). */
            const char *t = a[10] ? a + 11 : "RAS";
            opt.reorient = !strcmp(t, "RAS") ? RADI_REORIENT_RAS
                           : !strcmp(t, "LAS") ? RADI_REORIENT_LAS
                           : !strcmp(t, "LPS") ? RADI_REORIENT_LPS : RADI_REORIENT_NONE;
            if (opt.reorient == RADI_REORIENT_NONE)
                rc = cli_fail(CLI_ERR_USAGE, "ingest: --reorient=%s: use RAS, LAS or LPS", t);
        } else if (strcmp(a, "--keep-patient-id") == 0) {
            dopt.keep_patient_id = 1;
        } else if (strncmp(a, "--series-uid", 12) == 0 && (a[12] == '\0' || a[12] == '=')) {
            int m = cli_opt_value(cmd, args->argc, args->argv, &i, "--series-uid", &series_uid);
            if (m != 1) rc = m;
        } else if (strncmp(a, "--obs-meta", 10) == 0 && (a[10] == '\0' || a[10] == '=')) {
            int m = cli_opt_value(cmd, args->argc, args->argv, &i, "--obs-meta", &obs_meta);
            if (m != 1) rc = m;
        } else if (strncmp(a, "--tile", 6) == 0 && (a[6] == '\0' || a[6] == '=')) {
            int m = cli_opt_value(cmd, args->argc, args->argv, &i, "--tile", &tile);
            if (m != 1) rc = m;
            else if (radi_orientation_parse(tile, &opt.tile.orientation) != RADI_OK)
                rc = cli_fail(CLI_ERR_USAGE, "ingest: --tile %s: use axial, sagittal, coronal or isotropic", tile);
        } else if (strncmp(a, "--compression", 13) == 0 && (a[13] == '\0' || a[13] == '=')) {
            int m = cli_opt_value(cmd, args->argc, args->argv, &i, "--compression", &compression);
            if (m != 1) rc = m;
            else rc = parse_compression(compression, &opt.compression);
        } else if (a[0] == '-' && a[1]) {
            rc = cli_fail(CLI_ERR_USAGE, "ingest: unknown option '%s' (usage: %s)", a, cmd->usage);
        } else if (!uri) {
            uri = a;
        } else {
            const char *eq = strchr(a, '=');
            if (!eq || eq == a || !eq[1]) {
                rc = cli_fail(CLI_ERR_USAGE, "ingest: '%s' is not NAME=GLOB (usage: %s)", a, cmd->usage);
                break;
            }
            char *name = strndup(a, (size_t)(eq - a));
            if (!name) {
                rc = cli_fail(CLI_ERR_RUNTIME, "out of memory");
                break;
            }
            for (size_t k = 0; k < ns; k++)
                if (strcmp(specs[k].name, name) == 0)
                    rc = cli_fail(CLI_ERR_USAGE, "ingest: collection %s given twice", name);
            specs[ns].name = name;
            specs[ns++].pattern = eq + 1;
        }
    }
    if (rc == CLI_OK && !uri) rc = cli_fail(CLI_ERR_USAGE, "ingest: missing URI (usage: %s)", cmd->usage);
    if (rc == CLI_OK && ns == 0)
        rc = cli_fail(CLI_ERR_USAGE, "ingest: no NAME=GLOB given (usage: %s)", cmd->usage);
    if (rc == CLI_OK && obs_meta && append)
        rc = cli_fail(CLI_ERR_USAGE, "ingest: --obs-meta only when creating a dataset, not with --append");
    radi_ctx *ctx = NULL;
    radi_dataset *ds = NULL;
    int created = 0;
    if (rc == CLI_OK && cli_ctx(args, &ctx) != CLI_OK) rc = CLI_ERR_RUNTIME;
    /* Every pattern is expanded and checked before the dataset is touched. */
    for (size_t k = 0; k < ns && rc == CLI_OK; k++) rc = expand(ctx, &specs[k], format, series_uid);
    if (rc == CLI_OK && series_uid) {
        int any = 0;
        for (size_t k = 0; k < ns; k++) any |= specs[k].format == FMT_DICOM;
        if (!any) rc = cli_fail(CLI_ERR_USAGE, "ingest: --series-uid is for DICOM sources; none was given");
    }
    if (rc == CLI_OK) {
        radi_object_type type = RADI_OBJECT_INVALID;
        if (radi_object_type_of(ctx, uri, &type) != RADI_OK) {
            rc = cli_fail_radi();
        } else if (type == RADI_OBJECT_ARRAY) {
            /* --append cannot help: an array is never a dataset. */
            rc = cli_fail(CLI_ERR_RUNTIME, "%s: exists and is not a dataset (a TileDB array)", uri);
        } else if (!append || type == RADI_OBJECT_INVALID) {
            radi_status cs;
            /* Creation also takes over what an interrupted ingest left here: the remains of
             * a killed creation, or a dataset still without collections (docs/dataset.md
             * §8.5), so the same command run again completes. */
            if (obs_meta) {
                rc = create_with_csv(ctx, uri, obs_meta, &created);
            } else if ((cs = radi_dataset_create(ctx, uri)) != RADI_OK) {
                rc = cs == RADI_E_EXISTS
                         ? cli_fail(CLI_ERR_RUNTIME, type == RADI_OBJECT_GROUP
                                                         ? "%s: already exists (use --append to add to it)"
                                                         : "%s: exists and is not a dataset", uri)
                         : cli_fail_radi();
            } else {
                created = 1;
            }
        }
    }
    /* --append to a stand-alone collection (docs/dataset.md §8.8): the one NAME=GLOB must
     * name it; the library refuses anything else, saying why. */
    radi_dataset_kind kind = RADI_DATASET_ROOT;
    if (rc == CLI_OK && append && !created && radi_dataset_kind_of(ctx, uri, &kind) != RADI_OK) rc = cli_fail_radi();
    if (rc == CLI_OK && (kind == RADI_DATASET_COLLECTION ? radi_collection_open(ctx, uri, &ds)
                                                         : radi_dataset_open(ctx, uri, &ds)) != RADI_OK)
        rc = cli_fail_radi();
    int tty = isatty(2);
    progress pr = {now()};
    size_t total = 0;
    for (size_t k = 0; k < ns; k++) total += specs[k].n;
    radi_ingest_collection *colls = calloc(ns ? ns : 1, sizeof *colls);
    radi_dicom_collection *dcolls = calloc(ns ? ns : 1, sizeof *dcolls);
    if (rc == CLI_OK && (!colls || !dcolls)) rc = cli_fail(CLI_ERR_RUNTIME, "out of memory");
    size_t nn = 0, nd = 0;
    for (size_t k = 0; k < ns && colls && dcolls; k++) {
        if (specs[k].format == FMT_DICOM)
            dcolls[nd++] = (radi_dicom_collection){specs[k].name, specs[k].n, specs[k].dsrc};
        else
            colls[nn++] = (radi_ingest_collection){specs[k].name, specs[k].n, radi_source_list_items(specs[k].list)};
    }
    if (tty) {
        opt.progress = show_progress;
        opt.progress_user = &pr;
    }
    /* One call: all collections or none (an append leaves the dataset as it was). */
    if (rc == CLI_OK && radi_dataset_ingest_images(ds, nn, colls, nd, dcolls, &opt, &dopt) != RADI_OK) {
        if (tty) fprintf(stderr, "\n");
        rc = cli_fail_radi();
    }
    free(colls);
    free(dcolls);
    double secs = now() - pr.t0;
    if (tty && rc == CLI_OK) fprintf(stderr, "\rradi: ingested %zu files in %.2f s\033[K\n", total, secs);
    if (rc == CLI_OK && json) {
        cli_json j;
        char num[32];
        jw_init(&j, stdout);
        jw_obj_open(&j, NULL);
        jw_str(&j, "uri", uri);
        jw_bool(&j, "created", created);
        jw_arr_open(&j, "collections");
        for (size_t k = 0; k < ns; k++) {
            jw_obj_open_inline(&j, NULL);
            jw_str(&j, "name", specs[k].name);
            jw_str(&j, "format", specs[k].format == FMT_DICOM ? "dicom" : "nifti");
            jw_uint(&j, "volumes", specs[k].n);
            jw_obj_close(&j);
        }
        jw_arr_close(&j);
        jw_uint(&j, "files", total);
        jw_uint(&j, "subject_count", radi_dataset_subject_count(ds));
        snprintf(num, sizeof num, "%.3f", secs);
        jw_raw(&j, "seconds", num);
        jw_obj_close(&j);
        jw_end(&j);
    } else if (rc == CLI_OK) {
        printf("%s: ingested %zu files into %zu collection%s\n", uri, total, ns, ns == 1 ? "" : "s");
    }
    radi_dataset_close(ds);
    /* A new URI is all-or-nothing across collections too. */
    if (rc != CLI_OK && created) radi_object_remove(ctx, uri);
    radi_ctx_free(ctx);
    for (size_t k = 0; k < ns; k++) {
        free((char *)specs[k].name);
        free_spec(&specs[k]);
    }
    free(specs);
    return rc;
}
