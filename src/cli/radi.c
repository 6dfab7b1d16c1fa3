/* `radi` entry point: global options and dispatch to the commands. */
#include <string.h>

#include "cli.h"

const cli_command cli_commands[] = {
    {"info", "describe an array, group or dataset (schema, fragments, metadata, size)",
     "Prints what is stored at URI: for an array its schema (dimensions, attributes,\n"
     "datatypes, tile extents, filters, orders, format version), its fragments with\n"
     "timestamps and non-empty domains, the array's non-empty domain, its metadata and\n"
     "the bytes it occupies; for a dataset (or stand-alone collection) its subjects and\n"
     "collections with volumes, shapes, dtypes, fragments and bytes; for another group\n"
     "its members and metadata.\n"
     "\n"
     "Options:\n"
     "  --json      print one JSON document instead of text (schema in docs/cli.md)\n"
     "  -h, --help  show this help\n",
     "radi info [--json] URI", CLI_OPT_JSON, cli_cmd_info},
    {"consolidate", "merge fragments, commits or metadata of an array or a whole dataset",
     "Merges what --mode names into one new object, as TileDB does. Readers see the same\n"
     "values before and after. Nothing is deleted: run `radi vacuum` with the same mode.\n"
     "URI is an array, or a dataset (a RadiObject root or a stand-alone collection): then\n"
     "every volume, every obs, obs_meta (and with array_meta the groups' metadata), with a\n"
     "progress line on a terminal.\n"
     "\n"
     "Options:\n"
     "  --mode MODE  fragments (default), commits, fragment_meta, array_meta or all\n"
     "  -h, --help   show this help\n",
     "radi consolidate [--mode MODE] URI", CLI_OPT_MODE, cli_cmd_consolidate},
    {"vacuum", "delete what an earlier consolidation made obsolete",
     "Deletes the fragments, commit files or metadata files that an earlier\n"
     "consolidation in the same mode replaced. URI is an array or a dataset, as for\n"
     "`radi consolidate`.\n"
     "\n"
     "Options:\n"
     "  --mode MODE  fragments (default), commits, fragment_meta, array_meta or all\n"
     "  -h, --help   show this help\n",
     "radi vacuum [--mode MODE] URI", CLI_OPT_MODE, cli_cmd_vacuum},
    {"ingest", "create a dataset from NIfTI files or DICOM series (or append to one)",
     "Ingests images into a radi dataset at URI, one collection per NAME=GLOB; local,\n"
     "file:// or s3://. The format is detected per argument: NIfTI when it finds .nii/\n"
     ".nii.gz files, else DICOM (--nifti / --dicom force it).\n"
     "NIfTI: a directory (its .nii/.nii.gz files, any case), a glob pattern (*, ?, [...]\n"
     "in any segment) or one file. The subject id is the file name without .nii/.nii.gz\n"
     "and without a trailing \"_<NAME>\" (sub-01_FLAIR.nii.gz in FLAIR -> sub-01).\n"
     "DICOM: a directory holding DICOM files is one subject (named after it); otherwise\n"
     "its subdirectories are the subjects (named after them); a glob matches subject\n"
     "directories. Each subject directory must hold one image series (or give\n"
     "--series-uid). Slices are stacked by position (never InstanceNumber), CT is stored\n"
     "in HU, uneven spacing, colour and Siemens mosaics are refused.\n"
     "The obs_id is \"<subject>_<NAME>\". Refuses an existing URI unless --append.\n"
     "All-or-nothing: if any file fails, nothing is left on a new URI and an existing\n"
     "dataset is as it was. Appended subjects that sort between existing ones renumber\n"
     "volumes so that radiobject 0.1.1's positional lookup stays right.\n"
     "\n"
     "Options:\n"
     "  --obs-meta FILE.csv  per-subject columns for obs_meta (new datasets only): a\n"
     "                header row with obs_subject_id (and optionally obs_id), one row per\n"
     "                subject; int64, float64 or string columns (docs/cli.md)\n"
     "  --append      add collections or subjects to the dataset at URI, or subjects\n"
     "                to the stand-alone collection at URI (one NAME=GLOB, its name)\n"
     "  --tile ORIENT      tile orientation: axial (default), sagittal, coronal, isotropic\n"
     "  --compression ALG[:LEVEL]  zstd (default, level 3), lz4, gzip or none\n"
     "  --validate-alignment  refuse a collection whose files differ in spatial shape\n"
     "  --reorient[=RAS|LAS|LPS]  permute and flip every volume's axes to RAS (default)\n"
     "                or the target given, as radiobject 0.1.1's reorient=True\n"
     "  --nifti, --dicom  the format of every NAME=GLOB (default: detected per argument)\n"
     "  --series-uid UID  DICOM: ingest the series with this SeriesInstanceUID\n"
     "  --keep-patient-id  DICOM: store PatientID in obs (default: no identifier)\n"
     "  --json        print a JSON summary (schema in docs/cli.md)\n"
     "  -h, --help    show this help\n",
     "radi ingest [--obs-meta FILE.csv] [--append] [--tile ORIENT] [--compression ALG[:LEVEL]]\n"
     "            [--validate-alignment] [--reorient[=TARGET]] [--nifti|--dicom] [--series-uid UID]\n"
     "            [--keep-patient-id] [--json] URI NAME=GLOB [NAME=GLOB ...]", CLI_OPT_RAW, cli_cmd_ingest},
    {"ls", "list a dataset's collections, subjects and volumes",
     "Lists the collections of the dataset at URI and, for each, its volumes with\n"
     "subject, obs_id, shape and datatype.\n"
     "\n"
     "Options:\n"
     "  --json      print one JSON document (schema in docs/cli.md)\n"
     "  -h, --help  show this help\n",
     "radi ls [--json] URI", CLI_OPT_JSON, cli_cmd_ls},
    {"slice", "write one 2-D slice of a volume as PNG or .npy",
     "Reads one slice of the volume with this obs_id in the collection and writes it as\n"
     ".npy (raw values and datatype, numpy's data[:, :, Z] etc.) or as an 8-bit grayscale\n"
     "PNG (scaled values mapped through the window: --window/--level, default min..max;\n"
     "the first slice axis runs left to right, the second bottom to top).\n"
     "\n"
     "Options:\n"
     "  --collection NAME   collection (required)\n"
     "  --obs-id ID         volume (required)\n"
     "  --axial Z | --sagittal X | --coronal Y   the slice (exactly one)\n"
     "  -o, --output FILE   OUT.png or OUT.npy (required)\n"
     "  --window W --level L   PNG intensity window (both or neither)\n"
     "  -h, --help          show this help\n",
     "radi slice URI --collection NAME --obs-id ID (--axial Z | --sagittal X | --coronal Y) "
     "-o OUT.png|OUT.npy [--window W --level L]", CLI_OPT_RAW, cli_cmd_slice},
    {"export", "write one volume as a NIfTI file",
     "Writes the volume with this obs_id as NIfTI-1 (.nii or .nii.gz): its exact stored\n"
     "voxels and datatype, and the geometry recorded at ingest (affine, sform/qform codes,\n"
     "scl_slope/scl_inter, xyzt_units).\n"
     "\n"
     "Options:\n"
     "  --collection NAME   collection (required)\n"
     "  --obs-id ID         volume (required)\n"
     "  -o, --output FILE   OUT.nii.gz or OUT.nii (required)\n"
     "  -h, --help          show this help\n",
     "radi export URI --collection NAME --obs-id ID -o OUT.nii.gz", CLI_OPT_RAW, cli_cmd_export},
    {"validate", "check a dataset's consistency",
     "Checks counts, obs rows, volumes and obs_ids of the dataset at URI. Prints each\n"
     "problem on its own line on stdout and exits 1 when there is any.\n"
     "\n"
     "Options:\n"
     "  --json      print one JSON document (schema in docs/cli.md)\n"
     "  -h, --help  show this help\n",
     "radi validate [--json] URI", CLI_OPT_JSON, cli_cmd_validate},
    {"repair", "roll back a write that was interrupted (killed, power cut)",
     "Takes the dataset's writer lock and rolls back the write recorded in its journal\n"
     "(URI/__radi_journal), which an interrupted ingest, append, rename, creation or\n"
     "materialize leaves; the next write to the dataset does the same first. Prints what\n"
     "was rolled back, or that nothing was interrupted. Works on a dataset that other\n"
     "commands refuse to open because of the interrupted write.\n"
     "\n"
     "Options:\n"
     "  --json      print one JSON document (schema in docs/cli.md)\n"
     "  -h, --help  show this help\n",
     "radi repair [--json] URI", CLI_OPT_JSON, cli_cmd_repair},
    {NULL, NULL, NULL, NULL, 0, NULL},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: radi [--version] [--help] [global options] <command> [options] URI\n\ncommands:\n");
    for (const cli_command *c = cli_commands; c->name; c++)
        fprintf(f, "  %-12s %s\n", c->name, c->summary);
    fprintf(f, "\nglobal options (before the command):\n"
               "  -o, --option KEY=VALUE  a library option (docs/cli.md), e.g. -o vfs.s3.max_retries=8\n"
               "  --s3-endpoint URL       S3 endpoint, e.g. http://127.0.0.1:9000 (default:\n"
               "                          AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS)\n"
               "  --s3-region REGION      (default: AWS_REGION, AWS_DEFAULT_REGION, the profile)\n"
               "  --s3-profile NAME       profile of ~/.aws/credentials and ~/.aws/config\n"
               "  --s3-ca-file PEM        CA bundle for https endpoints\n"
               "  --s3-no-sign            anonymous requests (public buckets)\n"
               "  --concurrency N         worker threads (default 4)\n"
               "\n`radi <command> --help` describes a command. Exit codes: 0 ok, 1 runtime error,\n"
               "2 usage error. URIs: local paths, file:// or s3://bucket/key URIs.\n");
}

static int run(int argc, char **argv, const radi_options *options);

int main(int argc, char **argv)
{
    radi_options *options = NULL;
    int rc = cli_global_options(&argc, &argv, &options);
    if (rc != CLI_OK) return rc;
    rc = run(argc, argv, options);
    radi_options_free(options);
    return rc;
}

static int run(int argc, char **argv, const radi_options *options)
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
        if (c->opts & CLI_OPT_RAW) {
            memset(&args, 0, sizeof args);
            args.argc = argc - 2;
            args.argv = argv + 2;
            args.options = options;
            return c->run(&args);
        }
        int rc = cli_parse(c, argc - 2, argv + 2, &args);
        if (rc == -1) return CLI_OK;
        if (rc != CLI_OK) return rc;
        args.options = options;
        return c->run(&args);
    }
    return cli_fail(CLI_ERR_USAGE, "unknown command '%s' (see 'radi --help')", first);
}
