/*
 * The `radi` command: argument parsing (args.c) is kept apart from the commands
 * (cmd_*.c), as in zstd's programs/. Exit codes: 0 ok, 1 runtime error, 2 usage error.
 */
#ifndef RDI_CLI_H
#define RDI_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "radi/radi.h"

enum { CLI_OK = 0, CLI_ERR_RUNTIME = 1, CLI_ERR_USAGE = 2 };

/* Options a command accepts (bit set). */
enum { CLI_OPT_JSON = 1u << 0, CLI_OPT_MODE = 1u << 1,
       /* The command parses its own arguments (args.argc/argv; uri NULL). */
       CLI_OPT_RAW = 1u << 2 };

typedef struct cli_args {
    int json;
    const char *mode;   /* NULL = the command's default */
    const char *uri;
    int argc;           /* CLI_OPT_RAW: the arguments after the command name */
    char **argv;
    const radi_options *options; /* the global options (borrowed; never NULL in main) */
} cli_args;

typedef struct cli_command {
    const char *name;
    const char *summary;  /* one line for `radi --help` */
    const char *help;     /* full text for `radi <cmd> --help` (after the usage line) */
    const char *usage;    /* e.g. "radi info [--json] URI" */
    unsigned opts;
    int (*run)(const cli_args *args);
} cli_command;

/* The command table (radi.c) and the commands. */
extern const cli_command cli_commands[];
int cli_cmd_info(const cli_args *args);
int cli_cmd_consolidate(const cli_args *args);
int cli_cmd_vacuum(const cli_args *args);
int cli_cmd_ingest(const cli_args *args);
int cli_cmd_ls(const cli_args *args);
int cli_cmd_slice(const cli_args *args);
int cli_cmd_export(const cli_args *args);
int cli_cmd_validate(const cli_args *args);
int cli_cmd_repair(const cli_args *args);
/* `radi info` of a dataset root (standalone 0) or stand-alone collection
 * (cmd_info_dataset.c); total = bytes under the URI. */
int cli_info_dataset(const cli_args *args, radi_ctx *ctx, int standalone, uint64_t total);

/* ---- helpers of the dataset commands (cmd_ls.c) ---- */
/* Matches argv[*i] against option `name` ("--collection"), as "--name VALUE" or
 * "--name=VALUE". Returns 1 and sets *value (advancing *i) on a match, 0 if argv[*i] is
 * another argument, CLI_ERR_USAGE (message printed) if the value is missing. */
int cli_opt_value(const cli_command *cmd, int argc, char **argv, int *i, const char *name,
                  const char **value);
/* An open dataset volume, by collection and obs_id. */
struct radi_dataset;
struct radi_volume;
typedef struct cli_volume_handle {
    radi_ctx *ctx;
    struct radi_dataset *ds;
    struct radi_volume *vol;
} cli_volume_handle;
/* Returns CLI_OK, or CLI_ERR_RUNTIME with the error reported (nothing left open). */
int cli_open_volume(const cli_args *args, const char *uri, const char *collection, const char *obs_id,
                    cli_volume_handle *h);
void cli_close_volume(cli_volume_handle *h);
/* Copies a string metadata value of the volume into buf (NUL-terminated); -1 if the
 * key is absent, not a string or too long. */
int cli_volume_meta_str(struct radi_volume *vol, const char *key, char *buf, size_t n);
/* The command's table entry (for usage messages). */
const cli_command *cli_find_command(const char *name);
/* Prints usage when argv holds -h/--help; returns 1 then. */
int cli_wants_help(const cli_command *cmd, int argc, char **argv);

/* ---- a minimal PNG writer (png.c): 8-bit grayscale, rows top to bottom, written
 * through ctx's storage (any URI it serves) ---- */
int cli_png_write(radi_ctx *ctx, const char *path, const uint8_t *pixels, uint32_t width, uint32_t height);

/* ---- global options (options.c) ---- */
/* Consumes the global options at the front of argv (after argv[0]) into a new *out
 * (freed with radi_options_free), shifting them out of argc/argv. */
int cli_global_options(int *argc, char ***argv, radi_options **out);
/* A context with the global options; CLI_OK or CLI_ERR_RUNTIME (reported). */
int cli_ctx(const cli_args *args, radi_ctx **out);

/* Parses argv (after the command name). Returns CLI_OK, CLI_ERR_USAGE (message printed),
 * or -1 when --help was given and printed. */
int cli_parse(const cli_command *cmd, int argc, char **argv, cli_args *out);

/* "radi: <reason>" on stderr, on one line. Returns code. */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports the library's last error message. */
int cli_fail_radi(void);

/* Parses a consolidation mode name (fragments, commits, fragment_meta, array_meta):
 * 0 and *out set; 1 for "all" (every mode; *out untouched); -1 for anything else. */
int cli_parse_mode(const char *name, radi_consolidation_mode *out);

/* ---- a small streaming JSON writer (json.c) ---- */
typedef struct cli_json {
    FILE *f;
    int depth;
    int first[64];      /* per nesting level: no element written yet */
    int inl[64];        /* per nesting level: written on one line */
} cli_json;

void jw_init(cli_json *j, FILE *f);
void jw_obj_open(cli_json *j, const char *key);   /* key NULL inside arrays / at top */
void jw_obj_close(cli_json *j);
void jw_arr_open(cli_json *j, const char *key);
/* Containers written on one line (short arrays of scalars, filter objects). */
void jw_obj_open_inline(cli_json *j, const char *key);
void jw_arr_open_inline(cli_json *j, const char *key);
void jw_arr_close(cli_json *j);
void jw_str(cli_json *j, const char *key, const char *s);
void jw_strn(cli_json *j, const char *key, const char *s, size_t n);
void jw_int(cli_json *j, const char *key, int64_t v);
void jw_uint(cli_json *j, const char *key, uint64_t v);
void jw_bool(cli_json *j, const char *key, int v);
void jw_null(cli_json *j, const char *key);
/* A pre-formatted JSON token (a number) */
void jw_raw(cli_json *j, const char *key, const char *token);
void jw_end(cli_json *j);                          /* final newline */

/* Formats one value of a fixed-size numeric type. Non-finite floats become
 * "nan", "inf", "-inf"; *is_number says whether the text is a valid JSON number. */
void cli_fmt_value(radi_datatype t, const void *p, char *buf, size_t n, int *is_number);

#endif
