/* Shared by the option and S3 configuration tests: a fresh HOME without AWS_* variables
 * per test, files written into it, message assertions, and resolution as a context does
 * it. Include after cmocka.h. */
#ifndef RADI_TEST_AWS_ENV_FIXTURE_H
#define RADI_TEST_AWS_ENV_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "vfs/s3/s3.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define KEYID "AKIAIOSFODNN7EXAMPLE"

static const char *const AWS_VARS[] = {
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
    "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
};

static char g_home[64];

/* A fresh empty HOME and no AWS_* variables. */
static int setup_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof AWS_VARS / sizeof AWS_VARS[0]; i++) unsetenv(AWS_VARS[i]);
    strcpy(g_home, "/tmp/radi_opts_XXXXXX");
    if (!mkdtemp(g_home)) return -1;
    setenv("HOME", g_home, 1);
    return 0;
}

static int teardown_env(void **state)
{
    (void)state;
    rdi_vfs_posix_ops.remove_dir(NULL, g_home);
    return 0;
}

static inline void write_home_file(const char *rel, const char *text)
{
    char *path = rdi_asprintf("%s/%s", g_home, rel);
    assert_int_equal(rdi_vfs_posix_ops.write(NULL, path, text, strlen(text)), RADI_OK);
    free(path);
}

static inline void assert_has(const char *hay, const char *needle)
{
    if (!hay || !strstr(hay, needle)) fail_msg("'%s' not in '%s'", needle, hay ? hay : "(null)");
}

static inline void assert_lacks(const char *hay, const char *needle)
{
    if (hay && strstr(hay, needle)) fail_msg("'%s' unexpectedly in '%s'", needle, hay);
}

/* Resolves a config built from options (as a context does) through the POSIX backend. */
static inline void resolve_with(rdi_s3_config *c, const char *const *kv)
{
    rdi_s3_config_init(c);
    for (; kv && kv[0]; kv += 2) assert_int_equal(rdi_s3_config_set(c, kv[0], kv[1]), RADI_OK);
    assert_int_equal(rdi_s3_config_resolve(c, &rdi_vfs_posix_ops, NULL), RADI_OK);
}

#endif
