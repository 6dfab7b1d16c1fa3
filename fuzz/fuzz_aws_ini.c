/*
 * libFuzzer target: the AWS shared-file parser (src/vfs/s3/s3_config.c) on any bytes, in
 * both file styles, and every vfs.s3.* value check on the same bytes as a string.
 * Checks: a malformed file leaves nothing behind and says why, never quoting the file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vfs/s3/s3.h"
#include "vfs/s3/s3_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const NAMES[] = {
    "region", "endpoint", "scheme", "use_virtual_addressing", "max_parallel_ops",
    "multipart_part_size", "multipart_part_size_mb", "connect_timeout_ms", "request_timeout_ms",
    "max_retries", "verify_ssl", "ca_file", "aws_access_key_id", "aws_secret_access_key",
    "aws_session_token", "profile", "use_environment",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int style = 0; style < 2; style++) {
        for (int which = 0; which < 2; which++) {
            rdi_ini_profile p;
            char *problem = NULL;
            if (rdi_ini_parse((const char *)data, size, "fuzz", which ? "dev" : "default", style, &p,
                              &problem) != RADI_OK)
                continue; /* out of memory */
            if (problem) {
                if (p.found || p.region || p.access_key_id || p.secret_access_key) abort();
                if (strncmp(problem, "fuzz line ", 10) != 0) abort();
                free(problem);
            }
            rdi_ini_profile_free(&p);
        }
    }
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    rdi_s3_config c;
    rdi_s3_config_init(&c);
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        radi_status s = rdi_s3_config_set(&c, NAMES[i], text);
        if (s != RADI_OK && s != RADI_E_INVALID && s != RADI_E_NOMEM) abort();
        /* A refused secret is never echoed. */
        if (s == RADI_E_INVALID && rdi_s3_config_is_secret(NAMES[i]) && size >= 8 &&
            strstr(radi_errmsg(), text))
            abort();
    }
    if (c.endpoint && (!*c.endpoint || strchr(c.endpoint, '/'))) abort();
    rdi_s3_config_free(&c);
    free(text);
    return 0;
}
