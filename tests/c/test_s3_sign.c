/*
 * SigV4 signer: AWS's published S3 examples (the "Signature Calculations for the
 * Authorization Header" page: GET Object, PUT Object, GET Bucket lifecycle, GET Bucket
 * listing), canonical-request details (query re-encoding and sorting, header trimming
 * and merging, security token), S3 URI encoding, SHA-256 and x-amz-date formatting, and
 * refusal of malformed requests. botocore cross-checks live in tests/python.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/core.h"
#include "vfs/s3/sign.h"

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define AUTH_PREFIX \
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "

static rdi_sigv4_request example(void)
{
    rdi_sigv4_request r = {0};
    r.method = "GET";
    r.host = "examplebucket.s3.amazonaws.com";
    r.path = "/";
    r.payload_sha256 = EMPTY_SHA;
    r.amz_date = "20130524T000000Z";
    r.region = "us-east-1";
    r.service = "s3";
    r.access_key_id = "AKIAIOSFODNN7EXAMPLE";
    r.secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    return r;
}

/* Signs r and checks the Authorization line and the others. */
static void expect_auth(const rdi_sigv4_request *r, const char *signed_headers, const char *sig)
{
    char **h = NULL;
    size_t n = 0;
    assert_int_equal(rdi_sigv4_sign(r, &h, &n), RADI_OK);
    assert_int_equal(n, r->session_token ? 4 : 3);
    char want[512];
    snprintf(want, sizeof want, AUTH_PREFIX "SignedHeaders=%s, Signature=%s", signed_headers, sig);
    assert_string_equal(h[0], want);
    snprintf(want, sizeof want, "x-amz-date: %s", r->amz_date);
    assert_string_equal(h[1], want);
    snprintf(want, sizeof want, "x-amz-content-sha256: %s", r->payload_sha256);
    assert_string_equal(h[2], want);
    if (r->session_token) {
        snprintf(want, sizeof want, "x-amz-security-token: %s", r->session_token);
        assert_string_equal(h[3], want);
    }
    rdi_sigv4_free_headers(h, n);
}

static void test_aws_get_object(void **state)
{
    (void)state;
    rdi_sigv4_request r = example();
    r.path = "/test.txt";
    rdi_http_header range = {"Range", "bytes=0-9"};
    r.headers = &range;
    r.n_headers = 1;
    char *cr = NULL, *sts = NULL;
    assert_int_equal(rdi_sigv4_canonical(&r, &cr, &sts), RADI_OK);
    assert_string_equal(cr, "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
                            "x-amz-content-sha256:" EMPTY_SHA "\nx-amz-date:20130524T000000Z\n\n"
                            "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA);
    assert_string_equal(sts, "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                             "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    free(cr);
    free(sts);
    expect_auth(&r, "host;range;x-amz-content-sha256;x-amz-date",
                "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

static void test_aws_put_object(void **state)
{
    (void)state;
    const char *body = "Welcome to Amazon S3.";
    char hash[65];
    rdi_sha256_hex(body, strlen(body), hash);
    assert_string_equal(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    rdi_sigv4_request r = example();
    r.method = "PUT";
    char *key = rdi_s3_encode("test$file.text", 1);
    char path[64];
    snprintf(path, sizeof path, "/%s", key);
    free(key);
    assert_string_equal(path, "/test%24file.text");
    r.path = path;
    r.payload_sha256 = hash;
    rdi_http_header hs[2] = {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                             {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
    r.headers = hs;
    r.n_headers = 2;
    expect_auth(&r, "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

static void test_aws_bucket_queries(void **state)
{
    (void)state;
    rdi_sigv4_request r = example();
    r.query = "lifecycle";  /* valueless: signed as "lifecycle=" */
    expect_auth(&r, "host;x-amz-content-sha256;x-amz-date",
                "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
    r.query = "lifecycle=";
    expect_auth(&r, "host;x-amz-content-sha256;x-amz-date",
                "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
    r.query = "max-keys=2&prefix=J";
    expect_auth(&r, "host;x-amz-content-sha256;x-amz-date",
                "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
    r.query = "prefix=J&max-keys=2";  /* order as sent does not matter */
    expect_auth(&r, "host;x-amz-content-sha256;x-amz-date",
                "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

/* The canonical request's query line for a query as sent. */
static char *query_line(const char *q)
{
    rdi_sigv4_request r = example();
    r.query = q;
    char *cr = NULL, *sts = NULL;
    assert_int_equal(rdi_sigv4_canonical(&r, &cr, &sts), RADI_OK);
    free(sts);
    char *a = strchr(cr, '\n');
    a = strchr(a + 1, '\n') + 1;
    char *b = strchr(a, '\n');
    char *line = rdi_strndup(a, (size_t)(b - a));
    free(cr);
    return line;
}

static void test_canonical_query(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"", ""},
        {"uploads", "uploads="},
        {"uploads=", "uploads="},
        {"delete", "delete="},
        {"partNumber=3&uploadId=abc.DEF-_~", "partNumber=3&uploadId=abc.DEF-_~"},
        {"uploadId=x&partNumber=10", "partNumber=10&uploadId=x"},
        /* lower-case escapes are made upper-case; unencoded '/', '+', '=' are encoded */
        {"prefix=a%2fb", "prefix=a%2Fb"},
        {"prefix=a/b", "prefix=a%2Fb"},
        {"continuation-token=1+2/3==", "continuation-token=1%2B2%2F3%3D%3D"},
        {"continuation-token=1%2B2%2F3%3D%3D", "continuation-token=1%2B2%2F3%3D%3D"},
        /* an escaped space stays %20; an escaped unreserved character is decoded */
        {"prefix=a%20b%7E%41", "prefix=a%20b~A"},
        /* a stray '%' is a literal percent */
        {"prefix=100%&x=%zz%4", "prefix=100%25&x=%25zz%254"},
        /* UTF-8 bytes pass through decode/encode unchanged */
        {"prefix=%C3%A9t%C3%A9", "prefix=%C3%A9t%C3%A9"},
        /* sorted by name, then by value for repeated names; empty segments dropped */
        {"b=2&a=2&a=1&&c", "a=1&a=2&b=2&c="},
        {"list-type=2&prefix=&delimiter=%2F", "delimiter=%2F&list-type=2&prefix="},
        /* sorting is by the encoded name ("%2A" sorts before "A") */
        {"A=1&*=2", "%2A=2&A=1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = query_line(cases[i][0]);
        if (strcmp(got, cases[i][1])) fail_msg("query '%s': got '%s', want '%s'", cases[i][0], got, cases[i][1]);
        free(got);
    }
}

static void test_canonical_headers(void **state)
{
    (void)state;
    rdi_sigv4_request r = example();
    rdi_http_header hs[4] = {{"X-Amz-Meta-Note", "  a   b \t c  "},
                             {"Content-Type", "application/xml"},
                             {"x-amz-meta-note", "second"},
                             {"Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="}};
    r.headers = hs;
    r.n_headers = 4;
    r.session_token = "token/with+chars=";
    char *cr = NULL, *sts = NULL;
    assert_int_equal(rdi_sigv4_canonical(&r, &cr, &sts), RADI_OK);
    assert_string_equal(cr, "GET\n/\n\n"
                            "content-md5:1B2M2Y8AsgTpgAmY7PhCfg==\n"
                            "content-type:application/xml\n"
                            "host:examplebucket.s3.amazonaws.com\n"
                            "x-amz-content-sha256:" EMPTY_SHA "\n"
                            "x-amz-date:20130524T000000Z\n"
                            "x-amz-meta-note:a b c,second\n"
                            "x-amz-security-token:token/with+chars=\n\n"
                            "content-md5;content-type;host;x-amz-content-sha256;x-amz-date;"
                            "x-amz-meta-note;x-amz-security-token\n" EMPTY_SHA);
    free(cr);
    free(sts);
    char **h = NULL;
    size_t n = 0;
    assert_int_equal(rdi_sigv4_sign(&r, &h, &n), RADI_OK);
    assert_int_equal(n, 4);
    assert_string_equal(h[3], "x-amz-security-token: token/with+chars=");
    assert_non_null(strstr(h[0], "SignedHeaders=content-md5;content-type;host;"));
    /* the secret never appears in what is sent */
    for (size_t i = 0; i < n; i++) assert_null(strstr(h[i], r.secret_access_key));
    rdi_sigv4_free_headers(h, n);
}

static void test_unsigned_payload(void **state)
{
    (void)state;
    rdi_sigv4_request r = example();
    r.method = "PUT";
    r.path = "/bucket/a%20b";
    r.payload_sha256 = "UNSIGNED-PAYLOAD";
    char *cr = NULL, *sts = NULL;
    assert_int_equal(rdi_sigv4_canonical(&r, &cr, &sts), RADI_OK);
    assert_non_null(strstr(cr, "\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n"));
    assert_non_null(strstr(cr, "\nUNSIGNED-PAYLOAD"));
    /* the path is signed as given: no second encoding */
    assert_non_null(strstr(cr, "PUT\n/bucket/a%20b\n"));
    free(cr);
    free(sts);
}

static void test_bad_requests(void **state)
{
    (void)state;
    char **h = (char **)1;
    size_t n = 7;
    rdi_sigv4_request r = example();
    rdi_http_header bad[1];
    r.headers = bad;
    r.n_headers = 1;
    static const char *const reserved[] = {"Host", "X-Amz-Date", "x-amz-content-sha256",
                                           "X-Amz-Security-Token", "Authorization"};
    for (size_t i = 0; i < 5; i++) {
        bad[0] = (rdi_http_header){reserved[i], "x"};
        assert_int_equal(rdi_sigv4_sign(&r, &h, &n), RADI_E_INVALID);
        assert_null(h);
        assert_int_equal(n, 0);
    }
    bad[0] = (rdi_http_header){"X-Evil", "a\r\nInjected: 1"};
    assert_int_equal(rdi_sigv4_sign(&r, &h, &n), RADI_E_INVALID);
    bad[0] = (rdi_http_header){"Bad Name", "x"};
    assert_int_equal(rdi_sigv4_sign(&r, &h, &n), RADI_E_INVALID);
    bad[0] = (rdi_http_header){NULL, "x"};
    assert_int_equal(rdi_sigv4_sign(&r, &h, &n), RADI_E_INVALID);
    bad[0] = (rdi_http_header){"X-Ok", NULL};
    assert_int_equal(rdi_sigv4_sign(&r, &h, &n), RADI_E_INVALID);

    r = example();
    r.path = "no-slash";
    assert_int_equal(rdi_sigv4_sign(&r, &h, &n), RADI_E_INVALID);
    r = example();
    r.amz_date = "2013-05-24T00:00:00Z";
    assert_int_equal(rdi_sigv4_sign(&r, &h, &n), RADI_E_INVALID);
    r = example();
    r.payload_sha256 = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
    assert_int_equal(rdi_sigv4_sign(&r, &h, &n), RADI_E_INVALID);
    r = example();
    r.region = "us-east-1/x";
    assert_int_equal(rdi_sigv4_sign(&r, &h, &n), RADI_E_INVALID);
    r = example();
    r.secret_access_key = NULL;
    assert_int_equal(rdi_sigv4_sign(&r, &h, &n), RADI_E_INVALID);
    r = example();
    r.session_token = "";
    assert_int_equal(rdi_sigv4_sign(&r, &h, &n), RADI_E_INVALID);
    r = example();
    r.query = "a=b c";
    assert_int_equal(rdi_sigv4_sign(&r, &h, &n), RADI_E_INVALID);
    assert_int_equal(rdi_sigv4_sign(NULL, &h, &n), RADI_E_INVALID);

    /* bounded: too many query parameters or headers */
    r = example();
    char q[4096] = "";
    for (int i = 0; i < 300; i++) strcat(q, "a=1&");
    r.query = q;
    assert_int_equal(rdi_sigv4_sign(&r, &h, &n), RADI_E_INVALID);
    r = example();
    rdi_http_header many[65];
    for (int i = 0; i < 65; i++) many[i] = (rdi_http_header){"x-amz-meta-a", "1"};
    r.headers = many;
    r.n_headers = 65;
    assert_int_equal(rdi_sigv4_sign(&r, &h, &n), RADI_E_INVALID);
    r.n_headers = 64;  /* at the bound: fine */
    assert_int_equal(rdi_sigv4_sign(&r, &h, &n), RADI_OK);
    rdi_sigv4_free_headers(h, n);
}

static void expect_enc(const char *in, int keep_slash, const char *want)
{
    char *got = rdi_s3_encode(in, keep_slash);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_encode(void **state)
{
    (void)state;
    expect_enc("", 0, "");
    expect_enc("AZaz09-_.~", 0, "AZaz09-_.~");
    expect_enc("a b", 1, "a%20b");
    expect_enc("a+b", 1, "a%2Bb");
    expect_enc("100%", 1, "100%25");
    expect_enc("k=v&x", 1, "k%3Dv%26x");
    expect_enc("dir/sub/file.nii.gz", 1, "dir/sub/file.nii.gz");
    expect_enc("dir/sub/file.nii.gz", 0, "dir%2Fsub%2Ffile.nii.gz");
    expect_enc("caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac", 1, "caf%C3%A9/%E6%97%A5%E6%9C%AC");
    expect_enc("\xf0\x9f\x98\x80", 0, "%F0%9F%98%80");
    expect_enc("~tilde", 0, "~tilde");
    expect_enc("a*b'c(d)!$,;:@?#[]", 0, "a%2Ab%27c%28d%29%21%24%2C%3B%3A%40%3F%23%5B%5D");
    expect_enc("\x01\x7f\xff", 0, "%01%7F%FF");
    expect_enc(NULL, 0, "");
}

static void test_sha256_and_date(void **state)
{
    (void)state;
    char h[65];
    rdi_sha256_hex("", 0, h);
    assert_string_equal(h, EMPTY_SHA);
    rdi_sha256_hex(NULL, 0, h);
    assert_string_equal(h, EMPTY_SHA);
    rdi_sha256_hex("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    char d[17];
    rdi_amz_date(1369353600, d);  /* 2013-05-24T00:00:00Z */
    assert_string_equal(d, "20130524T000000Z");
    rdi_amz_date(0, d);
    assert_string_equal(d, "19700101T000000Z");
    rdi_amz_date(951782399, d);   /* 2000-02-28T23:59:59Z */
    assert_string_equal(d, "20000228T235959Z");
    rdi_amz_date(951868800, d);   /* leap day */
    assert_string_equal(d, "20000301T000000Z");
    rdi_amz_date(-5, d);          /* clamped, never malformed */
    assert_string_equal(d, "19700101T000000Z");
    rdi_amz_date(INT64_MAX, d);
    assert_string_equal(d, "99991231T235959Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws_get_object),    cmocka_unit_test(test_aws_put_object),
        cmocka_unit_test(test_aws_bucket_queries), cmocka_unit_test(test_canonical_query),
        cmocka_unit_test(test_canonical_headers), cmocka_unit_test(test_unsigned_payload),
        cmocka_unit_test(test_bad_requests),      cmocka_unit_test(test_encode),
        cmocka_unit_test(test_sha256_and_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
