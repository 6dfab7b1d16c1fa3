/*
 * Test helper: signs one request described on stdin with radi's SigV4 signer and prints
 * the signed header lines, so tests/python/test_s3_sigv4.py can compare them with
 * botocore's. Input, one field per line, "<field> <value>" (the value runs to the end of
 * the line and may hold spaces):
 *   method GET            host examplebucket.s3.amazonaws.com
 *   path /bucket          the request path as sent (already S3-encoded)
 *   key a b/c.txt         a raw key: "/" + rdi_s3_encode(key, keep_slash=1) is appended to
 *                         the path, so the encoder is checked too
 *   query a=1&b=2         the query as sent (may be repeated: joined with '&')
 *   header Range: bytes=0-9   (repeatable)
 *   payload <hex>|UNSIGNED-PAYLOAD    date 20130524T000000Z
 *   region us-east-1      service s3 (default)
 *   akid ...  secret ...  token ... (optional)
 * With --canonical the canonical request and the string to sign follow the header lines,
 * after a line "--".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "vfs/s3/sign.h"

#define MAX_LINES 128

static char *value_of(char *line, const char *field)
{
    size_t n = strlen(field);
    if (strncmp(line, field, n) != 0) return NULL;
    if (line[n] == '\0') return line + n;
    return line[n] == ' ' ? line + n + 1 : NULL;
}

int main(int argc, char **argv)
{
    int canonical = argc > 1 && !strcmp(argv[1], "--canonical");
    rdi_sigv4_request r = {0};
    r.service = "s3";
    rdi_http_header hs[MAX_LINES];
    size_t nh = 0;
    char *lines[MAX_LINES];
    size_t nl = 0;
    rdi_buf path = RDI_BUF_INIT, query = RDI_BUF_INIT;
    int have_path = 0;
    char buf[65536];
    int rc = 1;

    while (fgets(buf, sizeof buf, stdin)) {
        size_t n = strlen(buf);
        if (n && buf[n - 1] == '\n') buf[--n] = '\0';
        if (n && buf[n - 1] == '\r') buf[--n] = '\0';
        if (!n) continue;
        if (nl == MAX_LINES) {
            fprintf(stderr, "s3_sign_tool: too many lines\n");
            goto done;
        }
        char *line = lines[nl++] = strdup(buf);
        char *v;
        if (!line) goto done;
        if ((v = value_of(line, "method"))) r.method = v;
        else if ((v = value_of(line, "host"))) r.host = v;
        else if ((v = value_of(line, "path"))) {
            if (rdi_buf_append(&path, v, strlen(v)) != RADI_OK) goto done;
            have_path = 1;
        } else if ((v = value_of(line, "key"))) {
            char *e = rdi_s3_encode(v, 1);
            if (!e || rdi_buf_put_u8(&path, '/') != RADI_OK || rdi_buf_append(&path, e, strlen(e)) != RADI_OK) {
                free(e);
                goto done;
            }
            free(e);
            have_path = 1;
        } else if ((v = value_of(line, "query"))) {
            if ((query.len && rdi_buf_put_u8(&query, '&') != RADI_OK) ||
                rdi_buf_append(&query, v, strlen(v)) != RADI_OK)
                goto done;
        } else if ((v = value_of(line, "header"))) {
            char *colon = strchr(v, ':');
            if (!colon) {
                fprintf(stderr, "s3_sign_tool: header without ':': %s\n", v);
                goto done;
            }
            *colon = '\0';
            hs[nh].name = v;
            hs[nh].value = colon + 1;
            nh++;
        } else if ((v = value_of(line, "payload"))) r.payload_sha256 = v;
        else if ((v = value_of(line, "date"))) r.amz_date = v;
        else if ((v = value_of(line, "region"))) r.region = v;
        else if ((v = value_of(line, "service"))) r.service = v;
        else if ((v = value_of(line, "akid"))) r.access_key_id = v;
        else if ((v = value_of(line, "secret"))) r.secret_access_key = v;
        else if ((v = value_of(line, "token"))) r.session_token = v;
        else {
            fprintf(stderr, "s3_sign_tool: unknown line: %s\n", line);
            goto done;
        }
    }
    if (!have_path && rdi_buf_put_u8(&path, '/') != RADI_OK) goto done;
    if (rdi_buf_put_u8(&path, 0) != RADI_OK || rdi_buf_put_u8(&query, 0) != RADI_OK) goto done;
    r.path = (const char *)path.data;
    r.query = (const char *)query.data;
    r.headers = hs;
    r.n_headers = nh;

    char **out = NULL;
    size_t n_out = 0;
    radi_status st = rdi_sigv4_sign(&r, &out, &n_out);
    if (st != RADI_OK) {
        fprintf(stderr, "s3_sign_tool: %s: %s\n", radi_status_name(st), radi_errmsg());
        goto done;
    }
    for (size_t i = 0; i < n_out; i++) printf("%s\n", out[i]);
    rdi_sigv4_free_headers(out, n_out);
    if (canonical) {
        char *cr = NULL, *sts = NULL;
        if (rdi_sigv4_canonical(&r, &cr, &sts) != RADI_OK) goto done;
        printf("--\n%s\n--\n%s\n", cr, sts);
        free(cr);
        free(sts);
    }
    rc = 0;
done:
    for (size_t i = 0; i < nl; i++) free(lines[i]);
    rdi_buf_free(&path);
    rdi_buf_free(&query);
    return rc;
}
