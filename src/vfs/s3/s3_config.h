/*
 * Internals of the S3 configuration (s3_config.c) shared with the context's options and
 * with tests and fuzzing: value parsers and the parser of the AWS shared files.
 */
#ifndef RDI_VFS_S3_CONFIG_H
#define RDI_VFS_S3_CONFIG_H

#include "core/core.h"

/* "true"/"false" (any case), "1"/"0". Returns 1 and sets *out, or 0. */
int rdi_parse_bool(const char *v, int *out);
/* Decimal digits only (no sign, spaces or suffix), within [lo, hi]. Returns 1 or 0. */
int rdi_parse_u64(const char *v, uint64_t lo, uint64_t hi, uint64_t *out);

/* What one profile of an AWS shared file says (strings malloc'd, NULL = absent). */
typedef struct rdi_ini_profile {
    int found;                 /* the profile's section is in the file */
    char *access_key_id;
    char *secret_access_key;   /* never printed */
    char *session_token;       /* never printed */
    char *region;
    char *endpoint_url;
    char *s3_endpoint_url;     /* "s3 =" followed by indented "endpoint_url = ..." */
    char *s3_addressing_style; /* "s3 =" followed by indented "addressing_style = ..." */
} rdi_ini_profile;

void rdi_ini_profile_free(rdi_ini_profile *p);

/* Parses an AWS shared file held in text[0, len) (need not be NUL-terminated) and
 * collects the settings of `profile`. config_style: sections are [default] and
 * [profile NAME] (the config file); otherwise [NAME] (the credentials file). Comments
 * (# ;), blank lines, CRLF, a UTF-8 BOM, "key = value" and "key: value", and nested
 * "s3 =" blocks are understood. A malformed file sets *problem (malloc'd; names `what`
 * and the line number, never a line's text) and leaves *out empty. RADI_E_NOMEM only. */
radi_status rdi_ini_parse(const char *text, size_t len, const char *what, const char *profile,
                          int config_style, rdi_ini_profile *out, char **problem);

#endif
