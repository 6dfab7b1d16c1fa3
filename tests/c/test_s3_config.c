/*
 * The S3 configuration (src/vfs/s3/s3_config.c): value checks, endpoint URLs, resolution
 * from AWS_* variables and the shared files (temporary HOME, and an in-memory backend
 * proving the files are read through the VFS), the shared-file parser, deferred errors
 * that never hold a secret.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "aws_env_fixture.h"
#include "vfs/s3/s3_config.h"

static void test_s3_set_values(void **state)
{
    (void)state;
    rdi_s3_config c;
    rdi_s3_config_init(&c);
    /* Defaults (region and scheme are written by resolve). */
    assert_null(c.region);
    assert_null(c.scheme);
    assert_int_equal(c.use_virtual_addressing, -1);
    assert_int_equal(c.max_parallel_ops, 8);
    assert_int_equal(c.multipart_part_size, 50u << 20);
    assert_int_equal(c.connect_timeout_ms, 3000);
    assert_int_equal(c.request_timeout_ms, 30000);
    assert_int_equal(c.max_retries, 5);
    assert_int_equal(c.verify_ssl, 1);
    assert_int_equal(c.use_environment, 1);

    assert_int_equal(rdi_s3_config_set(&c, "max_parallel_ops", "64"), RADI_OK);
    assert_int_equal(rdi_s3_config_set(&c, "multipart_part_size", "5242880"), RADI_OK);
    assert_int_equal(c.multipart_part_size, 5u << 20);
    assert_int_equal(rdi_s3_config_set(&c, "multipart_part_size_mb", "100"), RADI_OK);
    assert_int_equal(c.multipart_part_size, 100u << 20);
    assert_int_equal(rdi_s3_config_set(&c, "connect_timeout_ms", "250"), RADI_OK);
    assert_int_equal(rdi_s3_config_set(&c, "request_timeout_ms", "1000"), RADI_OK);
    assert_int_equal(rdi_s3_config_set(&c, "max_retries", "0"), RADI_OK);
    assert_int_equal(rdi_s3_config_set(&c, "verify_ssl", "false"), RADI_OK);
    assert_int_equal(rdi_s3_config_set(&c, "use_virtual_addressing", "true"), RADI_OK);
    assert_int_equal(rdi_s3_config_set(&c, "use_environment", "0"), RADI_OK);
    assert_int_equal(rdi_s3_config_set(&c, "scheme", "HTTP"), RADI_OK);
    assert_int_equal(rdi_s3_config_set(&c, "ca_file", "/etc/ssl/ca.pem"), RADI_OK);
    assert_int_equal(c.max_parallel_ops, 64);
    assert_int_equal(c.connect_timeout_ms, 250);
    assert_int_equal(c.request_timeout_ms, 1000);
    assert_int_equal(c.max_retries, 0);
    assert_int_equal(c.verify_ssl, 0);
    assert_int_equal(c.use_virtual_addressing, 1);
    assert_int_equal(c.use_environment, 0);
    assert_string_equal(c.scheme, "http");
    assert_string_equal(c.ca_file, "/etc/ssl/ca.pem");
    /* NULL restores each default. */
    assert_int_equal(rdi_s3_config_set(&c, "max_parallel_ops", NULL), RADI_OK);
    assert_int_equal(rdi_s3_config_set(&c, "multipart_part_size_mb", NULL), RADI_OK);
    assert_int_equal(rdi_s3_config_set(&c, "use_virtual_addressing", NULL), RADI_OK);
    assert_int_equal(rdi_s3_config_set(&c, "verify_ssl", NULL), RADI_OK);
    assert_int_equal(rdi_s3_config_set(&c, "ca_file", NULL), RADI_OK);
    assert_int_equal(c.max_parallel_ops, 8);
    assert_int_equal(c.multipart_part_size, 50u << 20);
    assert_int_equal(c.use_virtual_addressing, -1);
    assert_int_equal(c.verify_ssl, 1);
    assert_null(c.ca_file);
    /* A refused value leaves the field alone. */
    assert_int_equal(rdi_s3_config_set(&c, "max_retries", "x"), RADI_E_INVALID);
    assert_int_equal(rdi_s3_config_set(&c, "max_parallel_ops", "18446744073709551617"), RADI_E_INVALID);
    assert_int_equal(c.max_parallel_ops, 8);
    assert_int_equal(rdi_s3_config_set(&c, "multipart_part_size_mb", "5121"), RADI_E_INVALID);
    assert_int_equal(rdi_s3_config_set(&c, NULL, "1"), RADI_E_INVALID);
    rdi_s3_config_free(&c);
}

/* The multipart copy threshold: AWS's CopyObject limit by default, bounded by S3's part
 * limits (5 MiB .. 5 GiB), named in the refusal. */
static void test_copy_threshold(void **state)
{
    (void)state;
    rdi_s3_config c;
    rdi_s3_config_init(&c);
    assert_true(c.multipart_copy_threshold == (uint64_t)5 << 30);
    assert_int_equal(rdi_s3_config_set(&c, "multipart_copy_threshold", "5242880"), RADI_OK);
    assert_true(c.multipart_copy_threshold == (uint64_t)5 << 20);
    assert_int_equal(rdi_s3_config_set(&c, "multipart_copy_threshold", "5368709120"), RADI_OK);
    assert_true(c.multipart_copy_threshold == (uint64_t)5 << 30);
    assert_int_equal(rdi_s3_config_set(&c, "multipart_copy_threshold", "5242879"), RADI_E_INVALID);
    assert_has(radi_errmsg(), "vfs.s3.multipart_copy_threshold");
    assert_has(radi_errmsg(), "5242880..5368709120");
    assert_int_equal(rdi_s3_config_set(&c, "multipart_copy_threshold", "5368709121"), RADI_E_INVALID);
    assert_int_equal(rdi_s3_config_set(&c, "multipart_copy_threshold", "1 GiB"), RADI_E_INVALID);
    assert_true(c.multipart_copy_threshold == (uint64_t)5 << 30);
    assert_int_equal(rdi_s3_config_set(&c, "multipart_copy_threshold", "6000000"), RADI_OK);
    assert_int_equal(rdi_s3_config_set(&c, "multipart_copy_threshold", NULL), RADI_OK);
    assert_true(c.multipart_copy_threshold == (uint64_t)5 << 30);
    rdi_s3_config_free(&c);
}

static void test_endpoint_urls(void **state)
{
    (void)state;
    struct { const char *in, *endpoint, *scheme; } good[] = {
        {"http://127.0.0.1:9000", "127.0.0.1:9000", "http"},
        {"https://minio.example.org/", "minio.example.org", "https"},
        {"HTTP://Host-1.local:80", "Host-1.local:80", "http"},
        {"localhost:9000", "localhost:9000", NULL},
        {"s3.eu-west-1.amazonaws.com", "s3.eu-west-1.amazonaws.com", NULL},
        {"http://[::1]:9000", "[::1]:9000", "http"},
        {"[::1]", "[::1]", NULL},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        rdi_s3_config c;
        rdi_s3_config_init(&c);
        if (rdi_s3_config_set(&c, "endpoint", good[i].in) != RADI_OK) fail_msg("%s refused: %s", good[i].in, radi_errmsg());
        assert_string_equal(c.endpoint, good[i].endpoint);
        if (good[i].scheme) assert_string_equal(c.scheme, good[i].scheme);
        else assert_null(c.scheme);
        rdi_s3_config_free(&c);
    }
    const char *bad[] = {"", "http://", "ftp://host", "http://host/path", "http://host?x=1",
                         "http://u:p@host", "host:0", "host:65536", "host:", "http://host:port",
                         "ho st", "http://host//", "[::1", "http://[zz]:1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rdi_s3_config c;
        rdi_s3_config_init(&c);
        if (rdi_s3_config_set(&c, "endpoint", bad[i]) != RADI_E_INVALID) fail_msg("'%s' accepted", bad[i]);
        assert_has(radi_errmsg(), "vfs.s3.endpoint");
        assert_null(c.endpoint);
        assert_null(c.scheme);
        rdi_s3_config_free(&c);
    }
    /* An explicit scheme set after an endpoint URL wins (options apply in key order). */
    rdi_s3_config c;
    rdi_s3_config_init(&c);
    assert_int_equal(rdi_s3_config_set(&c, "endpoint", "http://h:1"), RADI_OK);
    assert_int_equal(rdi_s3_config_set(&c, "scheme", "https"), RADI_OK);
    assert_int_equal(rdi_s3_config_resolve(&c, &rdi_vfs_posix_ops, NULL), RADI_OK);
    assert_string_equal(c.scheme, "https");
    assert_int_equal(c.use_virtual_addressing, 0); /* an endpoint: path style */
    rdi_s3_config_free(&c);
}

/* ---------------------------------------------------------------- resolve -- */

static void test_resolve_defaults(void **state)
{
    (void)state;
    rdi_s3_config c;
    resolve_with(&c, NULL);
    assert_string_equal(c.region, "us-east-1");
    assert_string_equal(c.scheme, "https");
    assert_null(c.endpoint);
    assert_int_equal(c.use_virtual_addressing, 1);
    assert_null(c.access_key_id);
    assert_null(c.secret_access_key);
    assert_null(c.deferred_error);
    rdi_s3_config_free(&c);
    /* No local backend: nothing is read (the environment included), defaults written. */
    setenv("AWS_REGION", "eu-west-1", 1);
    rdi_s3_config_init(&c);
    assert_int_equal(rdi_s3_config_set(&c, "endpoint", "http://h:1"), RADI_OK);
    assert_int_equal(rdi_s3_config_resolve(&c, NULL, NULL), RADI_OK);
    assert_string_equal(c.region, "us-east-1");
    assert_string_equal(c.scheme, "http");
    assert_int_equal(c.use_virtual_addressing, 0);
    rdi_s3_config_free(&c);
}

static void test_resolve_env(void **state)
{
    (void)state;
    setenv("AWS_ACCESS_KEY_ID", KEYID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    setenv("AWS_SESSION_TOKEN", "tok", 1);
    setenv("AWS_DEFAULT_REGION", "eu-west-3", 1);
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000", 1);
    rdi_s3_config c;
    resolve_with(&c, NULL);
    assert_string_equal(c.access_key_id, KEYID);
    assert_string_equal(c.secret_access_key, SECRET);
    assert_string_equal(c.session_token, "tok");
    assert_string_equal(c.region, "eu-west-3");
    assert_string_equal(c.endpoint, "127.0.0.1:9000");
    assert_string_equal(c.scheme, "http");
    assert_int_equal(c.use_virtual_addressing, 0);
    assert_null(c.deferred_error);
    rdi_s3_config_free(&c);

    /* AWS_REGION beats AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3 beats AWS_ENDPOINT_URL. */
    setenv("AWS_REGION", "ap-south-1", 1);
    setenv("AWS_ENDPOINT_URL_S3", "https://s3.local:4443", 1);
    resolve_with(&c, NULL);
    assert_string_equal(c.region, "ap-south-1");
    assert_string_equal(c.endpoint, "s3.local:4443");
    assert_string_equal(c.scheme, "https");
    rdi_s3_config_free(&c);

    /* Explicit settings win; explicit keys are never mixed with the environment's token. */
    const char *kv[] = {"region", "us-west-2", "endpoint", "other:1", "scheme", "http",
                        "aws_access_key_id", "EXPLICITID", "aws_secret_access_key", "EXPLICITSECRET",
                        "use_virtual_addressing", "true", NULL};
    resolve_with(&c, kv);
    assert_string_equal(c.region, "us-west-2");
    assert_string_equal(c.endpoint, "other:1");
    assert_string_equal(c.scheme, "http");
    assert_string_equal(c.access_key_id, "EXPLICITID");
    assert_string_equal(c.secret_access_key, "EXPLICITSECRET");
    assert_null(c.session_token);
    assert_int_equal(c.use_virtual_addressing, 1);
    rdi_s3_config_free(&c);

    /* An explicit scheme beats the scheme of AWS_ENDPOINT_URL_S3. */
    const char *kv2[] = {"scheme", "http", NULL};
    resolve_with(&c, kv2);
    assert_string_equal(c.scheme, "http");
    assert_string_equal(c.endpoint, "s3.local:4443");
    rdi_s3_config_free(&c);

    /* An explicitly empty pair: anonymous, whatever the environment holds. */
    const char *kv3[] = {"aws_access_key_id", "", "aws_secret_access_key", "", NULL};
    resolve_with(&c, kv3);
    assert_null(c.access_key_id);
    assert_null(c.secret_access_key);
    assert_null(c.session_token);
    assert_null(c.deferred_error);
    rdi_s3_config_free(&c);

    /* use_environment false: nothing from the environment. */
    const char *kv4[] = {"use_environment", "false", NULL};
    resolve_with(&c, kv4);
    assert_null(c.access_key_id);
    assert_null(c.endpoint);
    assert_string_equal(c.region, "us-east-1");
    assert_string_equal(c.scheme, "https");
    assert_int_equal(c.use_virtual_addressing, 1);
    rdi_s3_config_free(&c);
}

static void test_resolve_half_pairs(void **state)
{
    (void)state;
    setenv("AWS_ACCESS_KEY_ID", KEYID, 1);
    rdi_s3_config c;
    resolve_with(&c, NULL);
    assert_null(c.access_key_id);
    assert_null(c.secret_access_key);
    assert_has(c.deferred_error, "AWS_SECRET_ACCESS_KEY");
    assert_lacks(c.deferred_error, KEYID);
    rdi_s3_config_free(&c);
    /* Never mixed: a secret from the environment does not complete an explicit key id. */
    unsetenv("AWS_ACCESS_KEY_ID");
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    const char *kv[] = {"aws_access_key_id", KEYID, NULL};
    resolve_with(&c, kv);
    assert_null(c.access_key_id);
    assert_null(c.secret_access_key);
    assert_has(c.deferred_error, "vfs.s3.aws_secret_access_key");
    assert_lacks(c.deferred_error, "wJalr");
    rdi_s3_config_free(&c);
    const char *kv2[] = {"aws_session_token", "tok", NULL};
    resolve_with(&c, kv2);
    assert_null(c.session_token);
    assert_has(c.deferred_error, "aws_session_token");
    rdi_s3_config_free(&c);
    /* Bad values in the environment are deferred too, naming the variable. */
    unsetenv("AWS_SECRET_ACCESS_KEY");
    setenv("AWS_ENDPOINT_URL", "ftp://nope", 1);
    resolve_with(&c, NULL);
    assert_has(c.deferred_error, "AWS_ENDPOINT_URL");
    assert_null(c.endpoint);
    rdi_s3_config_free(&c);
    unsetenv("AWS_ENDPOINT_URL");
    setenv("AWS_REGION", "bad region", 1);
    resolve_with(&c, NULL);
    assert_has(c.deferred_error, "AWS_REGION");
    assert_string_equal(c.region, "us-east-1");
    rdi_s3_config_free(&c);
}

static const char CREDENTIALS[] =
    "# the shared credentials file\r\n"
    "[default]\r\n"
    "aws_access_key_id = DEFAULTID\r\n"
    "aws_secret_access_key = DEFAULTSECRET\r\n"
    "\r\n"
    "; another comment\n"
    "[dev]\n"
    "  aws_access_key_id=DEVID   \n"
    "aws_secret_access_key:\t" SECRET "\n"
    "aws_session_token = DEVTOKEN\n"
    "[half]\n"
    "aws_access_key_id = HALFID\n";

static const char CONFIG[] =
    "[default]\n"
    "region = eu-north-1\n"
    "[profile dev]\n"
    "region = ca-central-1\n"
    "s3 =\n"
    "    endpoint_url = http://localhost:9999\n"
    "    addressing_style = virtual\n"
    "endpoint_url = https://ignored.example\n"
    "[profile cfgkeys]\n"
    "aws_access_key_id = CFGID\n"
    "aws_secret_access_key = CFGSECRET\n"
    "[sso-session x]\n"
    "region = nowhere\n";

static void test_resolve_profiles(void **state)
{
    (void)state;
    write_home_file(".aws/credentials", CREDENTIALS);
    write_home_file(".aws/config", CONFIG);
    rdi_s3_config c;
    resolve_with(&c, NULL);
    assert_string_equal(c.access_key_id, "DEFAULTID");
    assert_string_equal(c.secret_access_key, "DEFAULTSECRET");
    assert_string_equal(c.region, "eu-north-1");
    assert_null(c.endpoint);
    assert_null(c.deferred_error);
    rdi_s3_config_free(&c);

    setenv("AWS_PROFILE", "dev", 1);
    resolve_with(&c, NULL);
    assert_string_equal(c.profile, "dev");
    assert_string_equal(c.access_key_id, "DEVID");
    assert_string_equal(c.secret_access_key, SECRET);
    assert_string_equal(c.session_token, "DEVTOKEN");
    assert_string_equal(c.region, "ca-central-1");
    assert_string_equal(c.endpoint, "localhost:9999"); /* s3's endpoint_url beats the global one */
    assert_string_equal(c.scheme, "http");
    assert_int_equal(c.use_virtual_addressing, 1);
    assert_null(c.deferred_error);
    rdi_s3_config_free(&c);

    /* AWS_* keys beat AWS_PROFILE's, but not an explicit vfs.s3.profile (as botocore). */
    setenv("AWS_ACCESS_KEY_ID", "ENVID", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET", 1);
    resolve_with(&c, NULL);
    assert_string_equal(c.access_key_id, "ENVID");
    rdi_s3_config_free(&c);
    const char *kv[] = {"profile", "cfgkeys", NULL};
    resolve_with(&c, kv);
    assert_string_equal(c.access_key_id, "CFGID"); /* from the config file */
    assert_string_equal(c.secret_access_key, "CFGSECRET");
    assert_string_equal(c.region, "us-east-1");
    rdi_s3_config_free(&c);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");

    /* A half pair in a file, a missing profile. */
    setenv("AWS_PROFILE", "half", 1);
    resolve_with(&c, NULL);
    assert_null(c.access_key_id);
    assert_has(c.deferred_error, "aws_secret_access_key");
    assert_has(c.deferred_error, "credentials");
    assert_lacks(c.deferred_error, "HALFID");
    rdi_s3_config_free(&c);
    setenv("AWS_PROFILE", "nosuch", 1);
    resolve_with(&c, NULL);
    assert_has(c.deferred_error, "'nosuch'");
    rdi_s3_config_free(&c);
    /* Everything explicit: the files are not needed, so a missing profile is no error. */
    const char *all[] = {"profile", "nosuch", "region", "r", "endpoint", "h:1",
                         "use_virtual_addressing", "0", "aws_access_key_id", "a",
                         "aws_secret_access_key", "b", NULL};
    resolve_with(&c, all);
    assert_null(c.deferred_error);
    rdi_s3_config_free(&c);
    unsetenv("AWS_PROFILE");

    /* Files named by the variables, with ~ expanded. */
    write_home_file("creds2", "[default]\naws_access_key_id = ID2\naws_secret_access_key = S2\n");
    write_home_file("conf2", "[default]\nregion = sa-east-1\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", "~/creds2", 1);
    char *conf2 = rdi_asprintf("%s/conf2", g_home);
    setenv("AWS_CONFIG_FILE", conf2, 1);
    free(conf2);
    resolve_with(&c, NULL);
    assert_string_equal(c.access_key_id, "ID2");
    assert_string_equal(c.region, "sa-east-1");
    assert_null(c.deferred_error);
    rdi_s3_config_free(&c);
    /* Missing files are empty files. */
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/creds", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    resolve_with(&c, NULL);
    assert_null(c.access_key_id);
    assert_null(c.deferred_error);
    rdi_s3_config_free(&c);
    /* An unreadable one (a directory) is a deferred error. */
    setenv("AWS_SHARED_CREDENTIALS_FILE", g_home, 1);
    resolve_with(&c, NULL);
    assert_has(c.deferred_error, "credentials");
    rdi_s3_config_free(&c);
}

static void test_resolve_malformed(void **state)
{
    (void)state;
    const char *files[] = {
        "[default]\naws_secret_access_key " SECRET "\n",               /* no '=' */
        "aws_secret_access_key = " SECRET "\n[default]\n",             /* before a section */
        "[default\naws_secret_access_key = " SECRET "\n",              /* unclosed header */
        "[default]\n= " SECRET "\n",                                   /* no name */
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        write_home_file(".aws/credentials", files[i]);
        rdi_s3_config c;
        resolve_with(&c, NULL);
        assert_has(c.deferred_error, ".aws/credentials line");
        assert_lacks(c.deferred_error, "wJalr");
        assert_null(c.secret_access_key);
        rdi_s3_config_free(&c);
    }
}

static void test_ini_parser(void **state)
{
    (void)state;
    rdi_ini_profile p;
    char *problem;
    const char text[] = "\xEF\xBB\xBF[profile  a b ]\n"
                        "region = one\n"
                        "region = two\n"          /* the last wins */
                        "note = first line\n"
                        "  continued: here\n"     /* a continuation, not a sub-key */
                        "s3 =\n"
                        "  endpoint_url = https://e:1\n"
                        "\tignored_sub = x\n"
                        "[profile other]\n"
                        "region = three\n";
    assert_int_equal(rdi_ini_parse(text, sizeof text - 1, "cfg", "a b", 1, &p, &problem), RADI_OK);
    assert_null(problem);
    assert_true(p.found);
    assert_string_equal(p.region, "two");
    assert_string_equal(p.s3_endpoint_url, "https://e:1");
    assert_null(p.endpoint_url);
    rdi_ini_profile_free(&p);
    /* In the config file, [a] is not a profile; in the credentials file it is. */
    const char t2[] = "[a]\nregion = x\n";
    assert_int_equal(rdi_ini_parse(t2, sizeof t2 - 1, "cfg", "a", 1, &p, &problem), RADI_OK);
    assert_false(p.found);
    rdi_ini_profile_free(&p);
    assert_int_equal(rdi_ini_parse(t2, sizeof t2 - 1, "creds", "a", 0, &p, &problem), RADI_OK);
    assert_true(p.found);
    rdi_ini_profile_free(&p);
    /* Not NUL-terminated input, a NUL byte, an empty file, no trailing newline. */
    const char t3[] = {'[', 'a', ']', '\n', 'r', 'e', 'g', 'i', 'o', 'n', '=', 'z'};
    assert_int_equal(rdi_ini_parse(t3, sizeof t3, "x", "a", 0, &p, &problem), RADI_OK);
    assert_string_equal(p.region, "z");
    rdi_ini_profile_free(&p);
    const char t4[] = "[a]\nregion = z\0z\n";
    assert_int_equal(rdi_ini_parse(t4, sizeof t4 - 1, "x", "a", 0, &p, &problem), RADI_OK);
    assert_has(problem, "x line 2");
    assert_null(p.region);
    free(problem);
    assert_int_equal(rdi_ini_parse("", 0, "x", "a", 0, &p, &problem), RADI_OK);
    assert_null(problem);
    assert_false(p.found);
}

/* An in-memory local backend: the shared files exist only here, so resolution can only
 * have read them through the VFS. Counts the calls. */
typedef struct memfs {
    const char *path[2];
    const char *text[2];
    int calls;
} memfs;

static const char *mem_find(memfs *m, const char *uri)
{
    for (int i = 0; i < 2; i++)
        if (m->path[i] && !strcmp(uri, m->path[i])) return m->text[i];
    return NULL;
}
static radi_status mem_size(void *self, const char *uri, uint64_t *size)
{
    memfs *m = self;
    m->calls++;
    const char *t = mem_find(m, uri);
    if (!t) return rdi_error(RADI_E_NOT_FOUND, "%s: not found", uri);
    *size = strlen(t);
    return RADI_OK;
}
static radi_status mem_read(void *self, const char *uri, uint64_t off, void *buf, uint64_t len)
{
    memfs *m = self;
    m->calls++;
    const char *t = mem_find(m, uri);
    if (!t) return rdi_error(RADI_E_NOT_FOUND, "%s: not found", uri);
    if (off + len > strlen(t)) return rdi_error(RADI_E_CORRUPT, "%s: truncated", uri);
    memcpy(buf, t + off, len);
    return RADI_OK;
}

static radi_status liar_size(void *self, const char *uri, uint64_t *size)
{
    radi_status s = mem_size(self, uri, size);
    *size += 10;
    return s;
}

static void test_resolve_reads_through_vfs(void **state)
{
    (void)state;
    setenv("HOME", "/radi-no-such-home", 1);
    memfs m = {{"/radi-no-such-home/.aws/credentials", "/radi-no-such-home/.aws/config"},
               {"[default]\naws_access_key_id = MEMID\naws_secret_access_key = MEMSECRET\n",
                "[default]\nregion = me-south-1\n"}, 0};
    rdi_vfs_ops ops = {.name = "mem", .read = mem_read, .size = mem_size};
    rdi_s3_config c;
    rdi_s3_config_init(&c);
    assert_int_equal(rdi_s3_config_resolve(&c, &ops, &m), RADI_OK);
    assert_string_equal(c.access_key_id, "MEMID");
    assert_string_equal(c.secret_access_key, "MEMSECRET");
    assert_string_equal(c.region, "me-south-1");
    assert_int_equal(m.calls, 4); /* each file: one size, one read */
    rdi_s3_config_free(&c);
    /* A file that shrinks between size and read: a deferred error, not a failure. */
    rdi_vfs_ops liar = ops;
    liar.size = liar_size;
    m.calls = 0;
    rdi_s3_config_init(&c);
    assert_int_equal(rdi_s3_config_resolve(&c, &liar, &m), RADI_OK);
    assert_null(c.access_key_id);
    assert_has(c.deferred_error, "cannot read the AWS credentials file");
    assert_has(c.deferred_error, "truncated");
    rdi_s3_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_s3_set_values),
        cmocka_unit_test(test_copy_threshold),
        cmocka_unit_test_setup_teardown(test_endpoint_urls, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_resolve_defaults, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_resolve_env, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_resolve_half_pairs, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_resolve_profiles, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_resolve_malformed, setup_env, teardown_env),
        cmocka_unit_test(test_ini_parser),
        cmocka_unit_test_setup_teardown(test_resolve_reads_through_vfs, setup_env, teardown_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
