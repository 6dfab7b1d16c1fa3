/*
 * AWS Signature Version 4 for S3, done by radi (libcurl 7.88's CURLOPT_AWS_SIGV4
 * mis-signs several request kinds) on OpenSSL's SHA-256 and HMAC. Also the S3 way of
 * URI-encoding keys and query values, which the request builder must use so that what
 * is sent is exactly what was signed.
 */
#ifndef RDI_VFS_S3_SIGN_H
#define RDI_VFS_S3_SIGN_H

#include "core/core.h"

/* One header as sent. Names are matched case-insensitively and lower-cased when signed;
 * values are trimmed and inner runs of spaces collapsed, as SigV4 specifies. */
typedef struct rdi_http_header {
    const char *name;
    const char *value;
} rdi_http_header;

typedef struct rdi_sigv4_request {
    const char *method;        /* "GET", "PUT", "HEAD", "POST", "DELETE" */
    const char *host;          /* the Host header as sent: "bucket.s3.eu-west-1.amazonaws.com"
                                * or "127.0.0.1:9000" (a non-default port included) */
    const char *path;          /* the request path as sent, already S3-encoded
                                * (rdi_s3_encode_key with keep_slash), starting with '/' */
    const char *query;         /* the query as sent, without '?': "list-type=2&prefix=a%2Fb",
                                * "uploads=", or NULL/"" for none; parameters are sorted and
                                * re-encoded canonically for the signature (a valueless
                                * "uploads" is signed as "uploads=") */
    const rdi_http_header *headers; /* extra headers sent (Content-Type, Range, Content-MD5,
                                     * x-amz-*...); the signer adds host, x-amz-date,
                                     * x-amz-content-sha256 and x-amz-security-token
                                     * itself and must not be given them */
    size_t n_headers;
    const char *payload_sha256; /* lower-case hex of the body, or "UNSIGNED-PAYLOAD" */
    const char *amz_date;      /* "YYYYMMDDTHHMMSSZ" (UTC) */
    const char *region;
    const char *service;       /* "s3" */
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL = none */
} rdi_sigv4_request;

/* The headers to add to the request, each a malloc'd "Name: value" line for curl:
 * Authorization, x-amz-date, x-amz-content-sha256 and, with a session token,
 * x-amz-security-token. *n_out is 3 or 4. Free with rdi_sigv4_free_headers.
 * RADI_E_INVALID (and *headers_out NULL) for a request that cannot be signed as sent:
 * a missing field, a path not starting with '/', a space or CR/LF in the path, query or
 * a header value, a bad header name, one of the signer's own headers among `headers`,
 * a date not in YYYYMMDDTHHMMSSZ form, a payload hash that is neither lower-case hex nor
 * UNSIGNED-PAYLOAD, more than 256 query parameters or more than 64 headers. In the query,
 * '+' is a literal plus (signed as %2B); encode spaces as %20. */
radi_status rdi_sigv4_sign(const rdi_sigv4_request *req, char ***headers_out, size_t *n_out);
void rdi_sigv4_free_headers(char **headers, size_t n);

/* For tests: the canonical request and the string to sign (malloc'd). */
radi_status rdi_sigv4_canonical(const rdi_sigv4_request *req, char **canonical, char **string_to_sign);

/* S3 URI encoding (RFC 3986 unreserved characters kept, everything else %XX upper-case;
 * '/' kept when keep_slash). malloc'd. */
char *rdi_s3_encode(const char *s, int keep_slash);

/* Lower-case hex SHA-256 of data into out[65]. */
void rdi_sha256_hex(const void *data, size_t len, char out[65]);

/* "YYYYMMDDTHHMMSSZ" for the given Unix time (seconds, UTC). */
void rdi_amz_date(int64_t unix_seconds, char out[17]);

#endif
