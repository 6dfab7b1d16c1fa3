/*
 * String options and the context: keys and value checks, secrets masked and never in
 * messages, radi_ctx_create_with_options (the S3 backend installed in every context),
 * deferred S3 errors reported by the first s3:// call only, radi_abi_sizeof.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "aws_env_fixture.h"
#include "radi/dicom.h"
#include "ctx/ctx.h"
#include "ctx/options.h"
#include "radi/nifti.h"
#include "radi/radiobject.h"
#include "vfs/s3/s3_config.h"

/* ------------------------------------------------------------------ options -- */

static void test_options_keys(void **state)
{
    (void)state;
    radi_options *o;
    const char *v;
    assert_int_equal(radi_options_create(&o), RADI_OK);
    assert_int_equal(radi_options_get(o, "concurrency", &v), RADI_OK);
    assert_null(v);
    assert_int_equal(radi_options_set(o, "concurrency", "8"), RADI_OK);
    assert_int_equal(radi_options_set(o, "memory_budget", "2097152"), RADI_OK);
    assert_int_equal(radi_options_set(o, "format_version", "22"), RADI_OK);
    assert_int_equal(radi_options_set(o, "vfs.s3.region", "eu-west-1"), RADI_OK);
    assert_int_equal(radi_options_set(o, "vfs.s3.region", "eu-west-2"), RADI_OK); /* replaced */
    assert_int_equal(radi_options_get(o, "vfs.s3.region", &v), RADI_OK);
    assert_string_equal(v, "eu-west-2");
    assert_int_equal(o->n, 4);
    for (size_t i = 1; i < o->n; i++) assert_true(strcmp(o->keys[i - 1], o->keys[i]) < 0);

    /* Unknown keys and bad values are refused and leave the set as it was. */
    struct { const char *k, *v, *msg; } bad[] = {
        {"nonsense", "1", "unknown option 'nonsense'"},
        {"vfs.s3.nonsense", "1", "vfs.s3.nonsense"},
        {"vfs.s3.endpoint_override", "x", "unknown option"},
        {"concurrency", "0", "concurrency"},
        {"concurrency", "257", "concurrency"},
        {"concurrency", "4x", "concurrency"},
        {"concurrency", "-1", "concurrency"},
        {"memory_budget", "1000", "memory_budget"},
        {"memory_budget", "99999999999999999999999", "memory_budget"},
        {"format_version", "23", "format_version"},
        {"vfs.s3.max_parallel_ops", "0", "vfs.s3.max_parallel_ops"},
        {"vfs.s3.max_parallel_ops", " 4", "vfs.s3.max_parallel_ops"},
        {"vfs.s3.multipart_part_size", "1048576", "vfs.s3.multipart_part_size"},
        {"vfs.s3.multipart_part_size_mb", "4", "vfs.s3.multipart_part_size_mb"},
        {"vfs.s3.connect_timeout_ms", "0", "vfs.s3.connect_timeout_ms"},
        {"vfs.s3.request_timeout_ms", "", "vfs.s3.request_timeout_ms"},
        {"vfs.s3.max_retries", "101", "vfs.s3.max_retries"},
        {"vfs.s3.verify_ssl", "yes", "vfs.s3.verify_ssl"},
        {"vfs.s3.use_virtual_addressing", "2", "vfs.s3.use_virtual_addressing"},
        {"vfs.s3.use_environment", "", "vfs.s3.use_environment"},
        {"vfs.s3.scheme", "ftp", "vfs.s3.scheme"},
        {"vfs.s3.region", "", "vfs.s3.region"},
        {"vfs.s3.region", "us east", "vfs.s3.region"},
        {"vfs.s3.profile", "", "vfs.s3.profile"},
        {"vfs.s3.profile", "a]b", "vfs.s3.profile"},
        {"vfs.s3.ca_file", "", "vfs.s3.ca_file"},
        {"vfs.s3.endpoint", "ftp://host", "vfs.s3.endpoint"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (radi_options_set(o, bad[i].k, bad[i].v) != RADI_E_INVALID)
            fail_msg("%s=%s was accepted", bad[i].k, bad[i].v);
        assert_has(radi_errmsg(), bad[i].msg);
    }
    assert_int_equal(o->n, 4);
    assert_int_equal(radi_options_get(o, "nonsense", &v), RADI_E_INVALID);
    assert_int_equal(radi_options_get(o, "vfs.s3.nonsense", &v), RADI_E_INVALID);

    /* Booleans in every spelling; NULL restores the default (removes the key). */
    const char *bools[] = {"true", "false", "1", "0", "TRUE", "False"};
    for (size_t i = 0; i < 6; i++) assert_int_equal(radi_options_set(o, "vfs.s3.verify_ssl", bools[i]), RADI_OK);
    assert_int_equal(radi_options_set(o, "vfs.s3.verify_ssl", NULL), RADI_OK);
    assert_int_equal(radi_options_get(o, "vfs.s3.verify_ssl", &v), RADI_OK);
    assert_null(v);
    assert_int_equal(radi_options_set(o, "vfs.s3.verify_ssl", NULL), RADI_OK); /* already unset */

    /* The part size has two spellings: the last one set counts. */
    assert_int_equal(radi_options_set(o, "vfs.s3.multipart_part_size", "10485760"), RADI_OK);
    assert_int_equal(radi_options_set(o, "vfs.s3.multipart_part_size_mb", "7"), RADI_OK);
    assert_int_equal(radi_options_get(o, "vfs.s3.multipart_part_size", &v), RADI_OK);
    assert_null(v);
    rdi_s3_config c;
    rdi_s3_config_init(&c);
    assert_int_equal(rdi_options_apply_s3(o, &c), RADI_OK);
    assert_int_equal(c.multipart_part_size, 7u << 20);
    assert_string_equal(c.region, "eu-west-2");
    rdi_s3_config_free(&c);

    radi_config cfg;
    radi_config_init(&cfg);
    assert_int_equal(rdi_options_apply_config(o, &cfg), RADI_OK);
    assert_int_equal(cfg.concurrency, 8);
    assert_int_equal(cfg.memory_budget, 2097152);
    assert_int_equal(cfg.format_version, 22);

    assert_int_equal(radi_options_set(NULL, "concurrency", "1"), RADI_E_INVALID);
    assert_int_equal(radi_options_set(o, NULL, "1"), RADI_E_INVALID);
    assert_int_equal(radi_options_get(o, "concurrency", NULL), RADI_E_INVALID);
    radi_options_free(o);
    radi_options_free(NULL);
}

static void test_secrets_masked(void **state)
{
    (void)state;
    radi_options *o;
    const char *v;
    assert_int_equal(radi_options_create(&o), RADI_OK);
    assert_int_equal(radi_options_set(o, "vfs.s3.aws_access_key_id", KEYID), RADI_OK);
    assert_int_equal(radi_options_set(o, "vfs.s3.aws_secret_access_key", SECRET), RADI_OK);
    assert_int_equal(radi_options_set(o, "vfs.s3.aws_session_token", "TOKEN" SECRET), RADI_OK);
    assert_int_equal(radi_options_set(o, "vfs.s3.profile", "dev"), RADI_OK);
    const char *secrets[] = {"vfs.s3.aws_access_key_id", "vfs.s3.aws_secret_access_key",
                             "vfs.s3.aws_session_token"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(radi_options_get(o, secrets[i], &v), RADI_OK);
        assert_string_equal(v, "***");
    }
    assert_int_equal(radi_options_get(o, "vfs.s3.profile", &v), RADI_OK);
    assert_string_equal(v, "dev"); /* not a secret */
    assert_true(rdi_s3_config_is_secret("aws_secret_access_key"));
    assert_false(rdi_s3_config_is_secret("region"));

    /* A bad secret is refused without its value in the message. */
    assert_int_equal(radi_options_set(o, "vfs.s3.aws_secret_access_key", SECRET "\n"), RADI_E_INVALID);
    assert_has(radi_errmsg(), "vfs.s3.aws_secret_access_key");
    assert_lacks(radi_errmsg(), "wJalr");
    assert_int_equal(radi_options_set(o, "vfs.s3.aws_session_token", "\x01" SECRET), RADI_E_INVALID);
    assert_lacks(radi_errmsg(), "wJalr");
    /* An endpoint is not echoed either (it may carry a password). */
    assert_int_equal(radi_options_set(o, "vfs.s3.endpoint", "http://user:" SECRET "@host"), RADI_E_INVALID);
    assert_lacks(radi_errmsg(), "wJalr");
    /* The stored values are the ones set before the refused calls. */
    rdi_s3_config c;
    rdi_s3_config_init(&c);
    assert_int_equal(rdi_options_apply_s3(o, &c), RADI_OK);
    assert_string_equal(c.secret_access_key, SECRET);
    assert_string_equal(c.access_key_id, KEYID);
    rdi_s3_config d;
    assert_int_equal(rdi_s3_config_copy(&c, &d), RADI_OK);
    assert_string_equal(d.session_token, "TOKEN" SECRET);
    assert_string_equal(d.profile, "dev");
    rdi_s3_config_free(&c);
    rdi_s3_config_free(&d);
    assert_null(d.secret_access_key);
    radi_options_free(o);
}

/* ----------------------------------------------------------------- context -- */

static void test_ctx_with_options(void **state)
{
    (void)state;
    radi_options *o;
    assert_int_equal(radi_options_create(&o), RADI_OK);
    assert_int_equal(radi_options_set(o, "concurrency", "3"), RADI_OK);
    assert_int_equal(radi_options_set(o, "memory_budget", "4194304"), RADI_OK);
    radi_config cfg;
    radi_config_init(&cfg);
    cfg.format_version = 20;
    radi_ctx *ctx;
    assert_int_equal(radi_ctx_create_with_options(&cfg, o, &ctx), RADI_OK);
    assert_int_equal(radi_ctx_config(ctx)->concurrency, 3);
    assert_int_equal(radi_ctx_config(ctx)->memory_budget, 4194304);
    assert_int_equal(radi_ctx_config(ctx)->format_version, 20); /* from the struct */
    assert_true(rdi_vfs_flags(ctx->vfs, "s3://bucket/key") & RDI_VFS_REMOTE); /* S3 installed */
    radi_ctx_free(ctx);
    /* A bad struct is still refused, naming the field. */
    cfg.concurrency = 0;
    assert_int_equal(radi_options_set(o, "concurrency", NULL), RADI_OK);
    assert_int_equal(radi_ctx_create_with_options(&cfg, o, &ctx), RADI_E_INVALID);
    assert_has(radi_errmsg(), "concurrency");
    assert_int_equal(radi_ctx_create_with_options(NULL, o, NULL), RADI_E_INVALID);
    radi_options_free(o);
    /* radi_ctx_create: the same, S3 configured from the environment. */
    assert_int_equal(radi_ctx_create(NULL, &ctx), RADI_OK);
    assert_int_equal(radi_ctx_config(ctx)->concurrency, 4);
    assert_true(rdi_vfs_flags(ctx->vfs, "s3://bucket/key") & RDI_VFS_REMOTE);
    radi_ctx_free(ctx);
}

static void test_ctx_deferred_errors(void **state)
{
    (void)state;
    /* A broken S3 setup (half a key pair in the environment, a malformed credentials
     * file) does not stop the context or local work; the first s3:// call reports it. */
    setenv("AWS_ACCESS_KEY_ID", KEYID, 1);
    radi_ctx *ctx;
    assert_int_equal(radi_ctx_create(NULL, &ctx), RADI_OK);
    radi_object_type t;
    assert_int_equal(radi_object_type_of(ctx, g_home, &t), RADI_OK);
    assert_int_not_equal(radi_object_type_of(ctx, "s3://bucket/dataset", &t), RADI_OK);
    assert_has(radi_errmsg(), "AWS_SECRET_ACCESS_KEY");
    assert_lacks(radi_errmsg(), KEYID);
    radi_ctx_free(ctx);
    unsetenv("AWS_ACCESS_KEY_ID");

    write_home_file(".aws/credentials", "[default]\naws_secret_access_key " SECRET "\n");
    radi_options *o;
    assert_int_equal(radi_options_create(&o), RADI_OK);
    assert_int_equal(radi_options_set(o, "vfs.s3.endpoint", "http://127.0.0.1:1"), RADI_OK);
    assert_int_equal(radi_ctx_create_with_options(NULL, o, &ctx), RADI_OK);
    assert_int_not_equal(radi_object_type_of(ctx, "s3://bucket/dataset", &t), RADI_OK);
    assert_has(radi_errmsg(), "line 2");
    assert_lacks(radi_errmsg(), "wJalr");
    radi_ctx_free(ctx);
    /* Explicit keys: the credentials file is not read, so it cannot be the problem. */
    assert_int_equal(radi_options_set(o, "vfs.s3.aws_access_key_id", "x"), RADI_OK);
    assert_int_equal(radi_options_set(o, "vfs.s3.aws_secret_access_key", "y"), RADI_OK);
    assert_int_equal(radi_options_set(o, "vfs.s3.region", "us-east-1"), RADI_OK);
    assert_int_equal(radi_options_set(o, "vfs.s3.use_virtual_addressing", "false"), RADI_OK);
    rdi_s3_config c;
    rdi_s3_config_init(&c);
    assert_int_equal(rdi_options_apply_s3(o, &c), RADI_OK);
    assert_int_equal(rdi_s3_config_resolve(&c, &rdi_vfs_posix_ops, NULL), RADI_OK);
    assert_null(c.deferred_error);
    rdi_s3_config_free(&c);
    radi_options_free(o);
}

static void test_abi_sizeof(void **state)
{
    (void)state;
    assert_int_equal(radi_abi_sizeof("radi_config"), sizeof(radi_config));
    assert_int_equal(radi_abi_sizeof("radi_filter_list"), sizeof(radi_filter_list));
    assert_int_equal(radi_abi_sizeof("radi_nifti_header"), sizeof(radi_nifti_header));
    assert_int_equal(radi_abi_sizeof("radi_ingest_options"), sizeof(radi_ingest_options));
    assert_int_equal(radi_abi_sizeof("radi_selection"), sizeof(radi_selection));
    assert_int_equal(radi_abi_sizeof("radi_sparse_column"), sizeof(radi_sparse_column));
    assert_int_equal(radi_abi_sizeof("radi_tile_config"), sizeof(radi_tile_config));
    assert_int_equal(radi_abi_sizeof("radi_dicom_source"), sizeof(radi_dicom_source));
    assert_int_equal(radi_abi_sizeof("radi_dicom_collection"), sizeof(radi_dicom_collection));
    assert_int_equal(radi_abi_sizeof("radi_dicom_options"), sizeof(radi_dicom_options));
    assert_int_equal(radi_abi_sizeof("radi_dicom_series_info"), sizeof(radi_dicom_series_info));
    assert_int_equal(radi_abi_sizeof("radi_ctx"), 0);     /* opaque */
    assert_int_equal(radi_abi_sizeof("radi_nonsense"), 0);
    assert_int_equal(radi_abi_sizeof(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_keys),
        cmocka_unit_test(test_secrets_masked),
        cmocka_unit_test_setup_teardown(test_ctx_with_options, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_ctx_deferred_errors, setup_env, teardown_env),
        cmocka_unit_test(test_abi_sizeof),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
