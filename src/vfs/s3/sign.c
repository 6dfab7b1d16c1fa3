/*
 * AWS Signature Version 4 for S3 (see sign.h): the canonical request, the string to sign
 * and the derived signing key, on OpenSSL 3's one-shot EVP digest and HMAC. Everything
 * the signature covers is built here from the request description alone, so the request
 * builder and the signer cannot disagree about what was sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "vfs/s3/sign.h"

/* Bounds on what one request may carry; real S3 requests are far below them, and they
 * keep a hostile or buggy caller from making the signer allocate without limit. */
#define MAX_QUERY_PARAMS 256
#define MAX_HEADERS 64

static const char hexdig_upper[] = "0123456789ABCDEF";
static const char hexdig_lower[] = "0123456789abcdef";

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~';
}

/* Appends n bytes of s, S3-encoded. */
static radi_status encode_into(rdi_buf *b, const char *s, size_t n, int keep_slash)
{
    RDI_TRY(rdi_buf_reserve(b, n));
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            RDI_TRY(rdi_buf_put_u8(b, c));
        } else {
            char e[3] = {'%', hexdig_upper[c >> 4], hexdig_upper[c & 15]};
            RDI_TRY(rdi_buf_append(b, e, 3));
        }
    }
    return RADI_OK;
}

static radi_status put_str(rdi_buf *b, const char *s) { return rdi_buf_append(b, s, strlen(s)); }

/* NUL-terminates b (not counted in len) and hands the string over. */
static char *buf_cstr(rdi_buf *b)
{
    if (rdi_buf_put_u8(b, 0) != RADI_OK) {
        rdi_buf_free(b);
        return NULL;
    }
    return (char *)rdi_buf_detach(b, NULL);
}

char *rdi_s3_encode(const char *s, int keep_slash)
{
    if (!s) s = "";
    rdi_buf b = RDI_BUF_INIT;
    if (encode_into(&b, s, strlen(s), keep_slash) != RADI_OK) {
        rdi_buf_free(&b);
        return NULL;
    }
    return buf_cstr(&b);
}

static void to_hex(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdig_lower[d[i] >> 4];
        out[2 * i + 1] = hexdig_lower[d[i] & 15];
    }
    out[2 * n] = '\0';
}

void rdi_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data ? data : "", len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
        /* Only a broken libcrypto gets here; an all-zero hash can never verify. */
        memset(out, '0', 64);
        out[64] = '\0';
        return;
    }
    to_hex(md, 32, out);
}

void rdi_amz_date(int64_t unix_seconds, char out[17])
{
    /* Clamped to years 1970..9999 so the 4-digit year always fits the 16 characters. */
    if (unix_seconds < 0) unix_seconds = 0;
    if (unix_seconds > INT64_C(253402300799)) unix_seconds = INT64_C(253402300799);
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        memset(&tm, 0, sizeof tm);
        tm.tm_year = 70;
        tm.tm_mday = 1;
    }
    const int parts[6] = {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec};
    char *w = out;
    for (int i = 0; i < 6; i++) {
        int width = i == 0 ? 4 : 2;
        for (int d = width - 1, v = parts[i]; d >= 0; d--, v /= 10) w[d] = (char)('0' + v % 10);
        w += width;
        if (i == 2) *w++ = 'T';
    }
    *w++ = 'Z';
    *w = '\0';
}

/* ---- canonical query string ---- */

typedef struct qparam {
    char *name;   /* canonically encoded */
    char *value;
} qparam;

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) then re-encodes it canonically. A '%' not followed by two hex
 * digits is taken literally (and so becomes %25); '+' is a literal plus, as S3 reads it. */
static char *canon_component(const char *s, size_t n)
{
    rdi_buf raw = RDI_BUF_INIT, enc = RDI_BUF_INIT;
    char *res = NULL;
    if (rdi_buf_reserve(&raw, n + 1) != RADI_OK) goto done;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n &&
            (hi = hexval(s[i + 1])) >= 0 && (lo = hexval(s[i + 2])) >= 0) {
            raw.data[raw.len++] = (uint8_t)(hi << 4 | lo);
            i += 2;
        } else {
            raw.data[raw.len++] = (uint8_t)s[i];
        }
    }
    if (encode_into(&enc, (const char *)raw.data, raw.len, 0) != RADI_OK) goto done;
    res = buf_cstr(&enc);
done:
    rdi_buf_free(&raw);
    rdi_buf_free(&enc);
    return res;
}

static int cmp_qparam(const void *a, const void *b)
{
    const qparam *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static radi_status canonical_query(const char *q, rdi_buf *out)
{
    if (!q || !*q) return RADI_OK;
    qparam ps[MAX_QUERY_PARAMS];
    size_t np = 0;
    radi_status st = RADI_OK;
    const char *p = q;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t seg = amp ? (size_t)(amp - p) : strlen(p);
        if (seg > 0) {  /* "a=1&&b=2": an empty segment is no parameter */
            if (np == MAX_QUERY_PARAMS) {
                st = rdi_error(RADI_E_INVALID, "SigV4: more than %d query parameters",
                               MAX_QUERY_PARAMS);
                goto done;
            }
            const char *eq = memchr(p, '=', seg);
            size_t nlen = eq ? (size_t)(eq - p) : seg;
            ps[np].name = canon_component(p, nlen);
            ps[np].value = eq ? canon_component(eq + 1, seg - nlen - 1) : rdi_strdup("");
            np++;
            if (!ps[np - 1].name || !ps[np - 1].value) {
                st = rdi_nomem();
                goto done;
            }
        }
        p += seg;
        if (*p == '&') p++;
    }
    qsort(ps, np, sizeof *ps, cmp_qparam);
    for (size_t i = 0; i < np && st == RADI_OK; i++) {
        if (i) st = rdi_buf_put_u8(out, '&');
        if (st == RADI_OK) st = put_str(out, ps[i].name);
        if (st == RADI_OK) st = rdi_buf_put_u8(out, '=');
        if (st == RADI_OK) st = put_str(out, ps[i].value);
    }
done:
    for (size_t i = 0; i < np; i++) {
        free(ps[i].name);
        free(ps[i].value);
    }
    return st;
}

/* ---- canonical headers ---- */

typedef struct hdr {
    char *name;   /* lower-cased */
    char *value;  /* trimmed, inner whitespace runs collapsed to one space */
    size_t order; /* given order, so repeated names merge in the order sent */
} hdr;

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

/* Header names are HTTP tokens: visible ASCII without separators. Anything else would
 * either be rejected by the server or let a value smuggle another header. */
static int valid_header_name(const char *s)
{
    if (!s || !*s) return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 32 || c >= 127 || strchr("()<>@,;:\\\"/[]?={}", c)) return 0;
    }
    return 1;
}

static int valid_header_value(const char *s)
{
    if (!s) return 0;
    for (; *s; s++)
        if (*s == '\r' || *s == '\n') return 0;
    return 1;
}

static char *lower_dup(const char *s)
{
    char *d = rdi_strdup(s);
    if (d)
        for (char *p = d; *p; p++)
            if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    return d;
}

static char *trimall(const char *s)
{
    size_t n = strlen(s);
    char *d = rdi_malloc(n + 1);
    if (!d) return NULL;
    size_t k = 0;
    int pending_space = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_ws(s[i])) {
            pending_space = k > 0;
            continue;
        }
        if (pending_space) d[k++] = ' ';
        pending_space = 0;
        d[k++] = s[i];
    }
    d[k] = '\0';
    return d;
}

static int cmp_hdr(const void *a, const void *b)
{
    const hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static radi_status add_hdr(hdr *hs, size_t *nh, const char *name, const char *value)
{
    hdr *h = &hs[*nh];
    h->name = lower_dup(name);
    h->value = trimall(value);
    h->order = *nh;
    (*nh)++;
    return h->name && h->value ? RADI_OK : rdi_nomem();
}

static int is_reserved_header(const char *lname)
{
    return !strcmp(lname, "host") || !strcmp(lname, "x-amz-date") ||
           !strcmp(lname, "x-amz-content-sha256") || !strcmp(lname, "x-amz-security-token") ||
           !strcmp(lname, "authorization");
}

static int is_amz_date(const char *s)
{
    if (!s || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z') return 0;
    for (int i = 0; i < 15; i++)
        if (i != 8 && (s[i] < '0' || s[i] > '9')) return 0;
    return 1;
}

static int is_payload_hash(const char *s)
{
    if (!s) return 0;
    if (!strcmp(s, "UNSIGNED-PAYLOAD") || !strcmp(s, "STREAMING-UNSIGNED-PAYLOAD-TRAILER"))
        return 1;
    if (strlen(s) != 64) return 0;
    for (const char *p = s; *p; p++)
        if (hexval(*p) < 0 || (*p >= 'A' && *p <= 'F')) return 0;
    return 1;
}

/* A credential-scope part (region, service, key id) must not break the scope's '/'
 * structure or the header line. */
static int valid_scope_part(const char *s)
{
    if (!s || !*s) return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 32 || c >= 127 || c == '/' || c == ',') return 0;
    }
    return 1;
}

static radi_status check_request(const rdi_sigv4_request *r)
{
    if (!r) return rdi_error(RADI_E_INVALID, "SigV4: no request");
    if (!r->method || !*r->method || !valid_header_name(r->method))
        return rdi_error(RADI_E_INVALID, "SigV4: bad method");
    if (!r->host || !*r->host || !valid_header_value(r->host) || strchr(r->host, ' '))
        return rdi_error(RADI_E_INVALID, "SigV4: bad host");
    if (!r->path || r->path[0] != '/' || !valid_header_value(r->path) || strchr(r->path, ' '))
        return rdi_error(RADI_E_INVALID, "SigV4: the path must start with '/' and be encoded");
    if (r->query && (!valid_header_value(r->query) || strchr(r->query, ' ')))
        return rdi_error(RADI_E_INVALID, "SigV4: the query must be encoded");
    if (!is_payload_hash(r->payload_sha256))
        return rdi_error(RADI_E_INVALID,
                         "SigV4: the payload hash must be lower-case hex SHA-256 or UNSIGNED-PAYLOAD");
    if (!is_amz_date(r->amz_date))
        return rdi_error(RADI_E_INVALID, "SigV4: the date must be YYYYMMDDTHHMMSSZ");
    if (!valid_scope_part(r->region)) return rdi_error(RADI_E_INVALID, "SigV4: bad region");
    if (!valid_scope_part(r->service)) return rdi_error(RADI_E_INVALID, "SigV4: bad service");
    if (!valid_scope_part(r->access_key_id))
        return rdi_error(RADI_E_INVALID, "SigV4: bad access key id");
    if (!r->secret_access_key) return rdi_error(RADI_E_INVALID, "SigV4: no secret access key");
    if (r->session_token && (!*r->session_token || !valid_header_value(r->session_token)))
        return rdi_error(RADI_E_INVALID, "SigV4: bad session token");
    if (r->n_headers > MAX_HEADERS)
        return rdi_error(RADI_E_INVALID, "SigV4: more than %d headers", MAX_HEADERS);
    if (r->n_headers && !r->headers) return rdi_error(RADI_E_INVALID, "SigV4: no headers");
    for (size_t i = 0; i < r->n_headers; i++) {
        const rdi_http_header *h = &r->headers[i];
        if (!valid_header_name(h->name) || !valid_header_value(h->value))
            return rdi_error(RADI_E_INVALID, "SigV4: bad header %zu (%s)", i,
                             valid_header_name(h->name) ? h->name : "bad name");
    }
    return RADI_OK;
}

/* The canonical request into cr and the signed header list into signed_hdrs. */
static radi_status build_canonical(const rdi_sigv4_request *r, rdi_buf *cr, rdi_buf *signed_hdrs)
{
    hdr hs[MAX_HEADERS + 4];
    size_t nh = 0;
    radi_status st = add_hdr(hs, &nh, "host", r->host);
    if (st == RADI_OK) st = add_hdr(hs, &nh, "x-amz-content-sha256", r->payload_sha256);
    if (st == RADI_OK) st = add_hdr(hs, &nh, "x-amz-date", r->amz_date);
    if (st == RADI_OK && r->session_token)
        st = add_hdr(hs, &nh, "x-amz-security-token", r->session_token);
    for (size_t i = 0; i < r->n_headers && st == RADI_OK; i++) {
        st = add_hdr(hs, &nh, r->headers[i].name, r->headers[i].value);
        if (st == RADI_OK && is_reserved_header(hs[nh - 1].name))
            st = rdi_error(RADI_E_INVALID, "SigV4: header %s is added by the signer",
                           hs[nh - 1].name);
    }
    if (st != RADI_OK) goto done;
    qsort(hs, nh, sizeof *hs, cmp_hdr);

    if ((st = put_str(cr, r->method)) != RADI_OK || (st = rdi_buf_put_u8(cr, '\n')) != RADI_OK ||
        (st = put_str(cr, r->path)) != RADI_OK || (st = rdi_buf_put_u8(cr, '\n')) != RADI_OK ||
        (st = canonical_query(r->query, cr)) != RADI_OK || (st = rdi_buf_put_u8(cr, '\n')) != RADI_OK)
        goto done;
    for (size_t i = 0; i < nh; i++) {
        int first = i == 0 || strcmp(hs[i].name, hs[i - 1].name) != 0;
        int last = i + 1 == nh || strcmp(hs[i].name, hs[i + 1].name) != 0;
        if (first) {
            if ((st = put_str(cr, hs[i].name)) != RADI_OK || (st = rdi_buf_put_u8(cr, ':')) != RADI_OK)
                goto done;
            if (signed_hdrs->len && (st = rdi_buf_put_u8(signed_hdrs, ';')) != RADI_OK) goto done;
            if ((st = put_str(signed_hdrs, hs[i].name)) != RADI_OK) goto done;
        } else if ((st = rdi_buf_put_u8(cr, ',')) != RADI_OK) {
            goto done;
        }
        if ((st = put_str(cr, hs[i].value)) != RADI_OK) goto done;
        if (last && (st = rdi_buf_put_u8(cr, '\n')) != RADI_OK) goto done;
    }
    if ((st = rdi_buf_put_u8(cr, '\n')) != RADI_OK ||
        (st = rdi_buf_append(cr, signed_hdrs->data, signed_hdrs->len)) != RADI_OK ||
        (st = rdi_buf_put_u8(cr, '\n')) != RADI_OK || (st = put_str(cr, r->payload_sha256)) != RADI_OK)
        goto done;
done:
    for (size_t i = 0; i < nh; i++) {
        free(hs[i].name);
        free(hs[i].value);
    }
    return st;
}

static radi_status build_sts(const rdi_sigv4_request *r, const rdi_buf *cr, rdi_buf *sts)
{
    char hash[65];
    rdi_sha256_hex(cr->data, cr->len, hash);
    char *s = rdi_asprintf("AWS4-HMAC-SHA256\n%s\n%.8s/%s/%s/aws4_request\n%s", r->amz_date,
                           r->amz_date, r->region, r->service, hash);
    if (!s) return rdi_nomem();
    radi_status st = put_str(sts, s);
    free(s);
    return st;
}

radi_status rdi_sigv4_canonical(const rdi_sigv4_request *req, char **canonical, char **string_to_sign)
{
    *canonical = NULL;
    *string_to_sign = NULL;
    RDI_TRY(check_request(req));
    rdi_buf cr = RDI_BUF_INIT, sh = RDI_BUF_INIT, sts = RDI_BUF_INIT;
    radi_status st = build_canonical(req, &cr, &sh);
    if (st == RADI_OK) st = build_sts(req, &cr, &sts);
    if (st == RADI_OK) {
        *canonical = buf_cstr(&cr);
        *string_to_sign = buf_cstr(&sts);
        if (!*canonical || !*string_to_sign) {
            free(*canonical);
            free(*string_to_sign);
            *canonical = *string_to_sign = NULL;
            st = rdi_nomem();
        }
    }
    rdi_buf_free(&cr);
    rdi_buf_free(&sh);
    rdi_buf_free(&sts);
    return st;
}

static int hmac256(const void *key, size_t klen, const void *msg, size_t mlen, unsigned char out[32])
{
    unsigned int olen = 0;
    return HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &olen) != NULL && olen == 32;
}

/* The signature of sts, hex into out[65]. The key material is wiped after use. */
static radi_status signature(const rdi_sigv4_request *r, const rdi_buf *sts, char out[65])
{
    size_t slen = strlen(r->secret_access_key);
    if (slen > 4096) return rdi_error(RADI_E_INVALID, "SigV4: secret access key too long");
    unsigned char k0[4 + 4096];
    unsigned char k[32], sig[32];
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, r->secret_access_key, slen);
    int ok = hmac256(k0, 4 + slen, r->amz_date, 8, k) &&
             hmac256(k, 32, r->region, strlen(r->region), k) &&
             hmac256(k, 32, r->service, strlen(r->service), k) &&
             hmac256(k, 32, "aws4_request", 12, k) &&
             hmac256(k, 32, sts->data, sts->len, sig);
    OPENSSL_cleanse(k0, sizeof k0);
    OPENSSL_cleanse(k, sizeof k);
    if (!ok) return rdi_error(RADI_E_INTERNAL, "SigV4: HMAC-SHA256 failed in libcrypto");
    to_hex(sig, 32, out);
    return RADI_OK;
}

void rdi_sigv4_free_headers(char **headers, size_t n)
{
    if (!headers) return;
    for (size_t i = 0; i < n; i++) free(headers[i]);
    free(headers);
}

radi_status rdi_sigv4_sign(const rdi_sigv4_request *req, char ***headers_out, size_t *n_out)
{
    *headers_out = NULL;
    *n_out = 0;
    RDI_TRY(check_request(req));
    rdi_buf cr = RDI_BUF_INIT, sh = RDI_BUF_INIT, sts = RDI_BUF_INIT;
    char sig[65];
    char **h = NULL;
    size_t n = req->session_token ? 4 : 3;
    radi_status st = build_canonical(req, &cr, &sh);
    if (st == RADI_OK) st = build_sts(req, &cr, &sts);
    if (st == RADI_OK) st = signature(req, &sts, sig);
    if (st == RADI_OK) st = rdi_buf_put_u8(&sh, 0);
    if (st != RADI_OK) goto done;
    h = rdi_calloc(n, sizeof *h);
    if (!h) {
        st = RADI_E_NOMEM;
        goto done;
    }
    h[0] = rdi_asprintf("Authorization: AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request, "
                        "SignedHeaders=%s, Signature=%s",
                        req->access_key_id, req->amz_date, req->region, req->service,
                        (const char *)sh.data, sig);
    h[1] = rdi_asprintf("x-amz-date: %s", req->amz_date);
    h[2] = rdi_asprintf("x-amz-content-sha256: %s", req->payload_sha256);
    if (req->session_token) h[3] = rdi_asprintf("x-amz-security-token: %s", req->session_token);
    for (size_t i = 0; i < n; i++)
        if (!h[i]) {
            rdi_sigv4_free_headers(h, n);
            h = NULL;
            st = rdi_nomem();
            goto done;
        }
    *headers_out = h;
    *n_out = n;
done:
    rdi_buf_free(&cr);
    rdi_buf_free(&sh);
    rdi_buf_free(&sts);
    return st;
}
