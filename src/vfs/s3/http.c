/*
 * The S3 request executor over libcurl (see http.h). Single requests and batches share
 * one code path, a curl multi loop on the calling thread, so retries, timeouts and
 * message building exist once. We sign ourselves, so curl must not add anything that
 * changes what was signed; headers curl adds on its own (Content-Length, Expect,
 * Content-Type) are either unsigned or suppressed.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#include "vfs/s3/http.h"
#include "vfs/s3/xml.h"

#define BODY_CAP ((size_t)64 << 20)   /* error/XML answers are small; refuse a flood */
#define BACKOFF_BASE_MS 50
#define BACKOFF_CAP_MS 2000
/* A server's Retry-After is honoured up to this long: a longer (or hostile) value must not
 * park a request for minutes when the retry budget is meant to bound the wait. */
#define RETRY_AFTER_CAP_MS 20000
#define POOL_KEEP 64                  /* idle easy handles kept for reuse */
#define MAX_HEADERS 16

struct rdi_http {
    char *scheme, *base_host, *region, *ak, *sk, *token, *ca_file;
    int virtual_hosting;
    int verify;
    uint32_t max_parallel, max_retries, connect_ms, request_ms;
    pthread_mutex_t lock;
    CURL *easy[POOL_KEEP];
    size_t n_easy;
    CURLM **multi;        /* idle multi handles: each keeps its connection cache */
    size_t n_multi, cap_multi;
    _Atomic uint64_t requests, retries, bytes_in, bytes_out;
    /* Requests in flight from every thread together: max_parallel_ops bounds the whole
     * backend, as TileDB's setting does, not each call (pool workers each running a
     * batch would otherwise multiply it, which a server answers with slowdowns). */
    _Atomic uint32_t inflight;
};

/* Takes one of the backend's max_parallel request slots; 0 when all are taken. */
static int take_slot(rdi_http *h)
{
    uint32_t v = atomic_load(&h->inflight);
    while (v < h->max_parallel)
        if (atomic_compare_exchange_weak(&h->inflight, &v, v + 1)) return 1;
    return 0;
}

static void give_slot(rdi_http *h) { atomic_fetch_sub(&h->inflight, 1); }

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
/* curl_global_init is not thread-safe and must run once; a failure shows later as a
 * handle that cannot be created. */
static void curl_init_once(void) { (void)curl_global_init(CURL_GLOBAL_DEFAULT); }

/* ---- setup ---- */

static int is_ip_or_localhost(const char *ep)
{
    if (ep[0] == '[') return 1; /* IPv6 literal */
    char host[256];
    size_t n = strcspn(ep, ":/");
    if (n >= sizeof host) return 0;
    memcpy(host, ep, n);
    host[n] = '\0';
    if (strcasecmp(host, "localhost") == 0) return 1;
    struct in_addr a;
    return inet_pton(AF_INET, host, &a) == 1;
}

static char *dup_or_null(const char *s) { return s && *s ? rdi_strdup(s) : NULL; }

void rdi_http_free(rdi_http *h)
{
    if (!h) return;
    for (size_t i = 0; i < h->n_easy; i++) curl_easy_cleanup(h->easy[i]);
    for (size_t i = 0; i < h->n_multi; i++) curl_multi_cleanup(h->multi[i]);
    free(h->multi);
    pthread_mutex_destroy(&h->lock);
    free(h->scheme);
    free(h->base_host);
    free(h->region);
    free(h->ak);
    if (h->sk) memset(h->sk, 0, strlen(h->sk));
    free(h->sk);
    free(h->token);
    free(h->ca_file);
    free(h);
}

radi_status rdi_http_create(const rdi_s3_config *c, rdi_http **out)
{
    pthread_once(&curl_once, curl_init_once);
    rdi_http *h = rdi_calloc(1, sizeof *h);
    if (!h) return RADI_E_NOMEM;
    if (pthread_mutex_init(&h->lock, NULL) != 0) {
        free(h);
        return rdi_error(RADI_E_INTERNAL, "cannot create a mutex");
    }
    const char *region = c->region && *c->region ? c->region : "us-east-1";
    h->region = rdi_strdup(region);
    h->scheme = rdi_strdup(c->scheme && *c->scheme ? c->scheme : "https");
    if (c->endpoint && *c->endpoint) {
        h->base_host = rdi_strdup(c->endpoint);
        h->virtual_hosting = c->use_virtual_addressing == 1 && !is_ip_or_localhost(c->endpoint);
    } else {
        h->base_host = rdi_asprintf("s3.%s.amazonaws.com", region);
        h->virtual_hosting = c->use_virtual_addressing != 0;
    }
    /* Credentials only as a pair: a lone key id would sign with an empty secret. */
    if (c->access_key_id && *c->access_key_id && c->secret_access_key) {
        h->ak = rdi_strdup(c->access_key_id);
        h->sk = rdi_strdup(c->secret_access_key);
        h->token = dup_or_null(c->session_token);
    }
    h->ca_file = dup_or_null(c->ca_file);
    h->verify = c->verify_ssl != 0;
    h->max_parallel = c->max_parallel_ops ? c->max_parallel_ops : 8;
    h->max_retries = c->max_retries;
    h->connect_ms = c->connect_timeout_ms ? c->connect_timeout_ms : 3000;
    h->request_ms = c->request_timeout_ms ? c->request_timeout_ms : 30000;
    if (!h->region || !h->scheme || !h->base_host || (c->access_key_id && *c->access_key_id &&
                                                      c->secret_access_key && (!h->ak || !h->sk))) {
        rdi_http_free(h);
        return rdi_nomem();
    }
    *out = h;
    return RADI_OK;
}

void rdi_http_stats(rdi_http *h, rdi_s3_stats *out)
{
    out->requests = atomic_load(&h->requests);
    out->retries = atomic_load(&h->retries);
    out->bytes_in = atomic_load(&h->bytes_in);
    out->bytes_out = atomic_load(&h->bytes_out);
}

uint32_t rdi_http_max_parallel(const rdi_http *h) { return h->max_parallel; }

char *rdi_s3_uri_of(const char *bucket, const char *key)
{
    return key && *key ? rdi_asprintf("s3://%s/%s", bucket, key) : rdi_asprintf("s3://%s", bucket);
}

void rdi_http_req_clear(rdi_http_req *r)
{
    rdi_buf_free(&r->resp);
    free(r->etag);
    free(r->msg);
    r->etag = NULL;
    r->msg = NULL;
    r->received = 0;
    r->content_length = -1;
    r->http_status = 0;
    r->attempts = 0;
    r->result = RADI_OK;
}

/* ---- handle pools ---- */

static CURL *get_easy(rdi_http *h)
{
    CURL *e = NULL;
    pthread_mutex_lock(&h->lock);
    if (h->n_easy) e = h->easy[--h->n_easy];
    pthread_mutex_unlock(&h->lock);
    return e ? e : curl_easy_init();
}

static void put_easy(rdi_http *h, CURL *e)
{
    pthread_mutex_lock(&h->lock);
    if (h->n_easy < POOL_KEEP) {
        h->easy[h->n_easy++] = e;
        e = NULL;
    }
    pthread_mutex_unlock(&h->lock);
    if (e) curl_easy_cleanup(e);
}

static CURLM *get_multi(rdi_http *h)
{
    CURLM *m = NULL;
    pthread_mutex_lock(&h->lock);
    if (h->n_multi) m = h->multi[--h->n_multi];
    pthread_mutex_unlock(&h->lock);
    return m ? m : curl_multi_init();
}

static void put_multi(rdi_http *h, CURLM *m)
{
    pthread_mutex_lock(&h->lock);
    if (h->n_multi == h->cap_multi) {
        size_t nc = h->cap_multi ? h->cap_multi * 2 : 8;
        CURLM **nm = realloc(h->multi, nc * sizeof *nm);
        if (nm) {
            h->multi = nm;
            h->cap_multi = nc;
        }
    }
    if (h->n_multi < h->cap_multi) {
        h->multi[h->n_multi++] = m;
        m = NULL;
    }
    pthread_mutex_unlock(&h->lock);
    if (m) curl_multi_cleanup(m);
}

/* ---- one transfer ---- */

enum { X_WAIT, X_RUN, X_DONE };

typedef struct xfer {
    rdi_http *h;
    rdi_http_req *r;
    CURL *e;
    struct curl_slist *hdrs;
    char *url;
    char *uri;              /* s3://bucket/key for messages */
    int state;
    uint32_t attempt;
    uint64_t due_ms;
    uint64_t rng;
    int overflow;           /* 1: body longer than asked; 2: error body over the cap */
    int64_t total;          /* object size from Content-Range, -1 if none */
    uint64_t retry_after_ms; /* the last answer's Retry-After (0: none), capped */
    char payload[65];
    char errbuf[CURL_ERROR_SIZE];
} xfer;

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t next_rand(uint64_t *s)
{
    /* splitmix64: a per-request generator, so no shared state and no lock. */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    xfer *x = ud;
    rdi_http_req *r = x->r;
    size_t n = sz * nm;
    long code = 0;
    curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &code);
    atomic_fetch_add(&x->h->bytes_in, (uint64_t)n);
    if (r->dst && code >= 200 && code < 300) {
        if (r->received + n > r->dst_len) {
            x->overflow = 1;
            return 0;
        }
        memcpy((uint8_t *)r->dst + r->received, p, n);
        r->received += n;
        return n;
    }
    if (r->resp.len + n > BODY_CAP) {
        x->overflow = 2;
        return 0;
    }
    return rdi_buf_append(&r->resp, p, n) == RADI_OK ? n : 0;
}

/* Retry-After is delay-seconds or an HTTP-date (RFC 9110 10.2.3); anything else is
 * ignored (0), and the wait is capped at RETRY_AFTER_CAP_MS. */
static uint64_t retry_after_ms(const char *v, size_t n)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf) return 0;
    memcpy(buf, v, n);
    buf[n] = 0;
    uint64_t ms = 0;
    if (buf[0] >= '0' && buf[0] <= '9') {
        uint64_t secs = 0;
        for (size_t i = 0; i < n; i++) {
            if (buf[i] < '0' || buf[i] > '9') return 0;
            if (secs < RETRY_AFTER_CAP_MS) secs = secs * 10 + (uint64_t)(buf[i] - '0');
        }
        ms = secs * 1000u;
    } else {
        time_t when = curl_getdate(buf, NULL), now = time(NULL);
        if (when == (time_t)-1 || when <= now) return 0;
        ms = (uint64_t)(when - now) * 1000u;
    }
    return ms > RETRY_AFTER_CAP_MS ? RETRY_AFTER_CAP_MS : ms;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
    xfer *x = ud;
    size_t n = sz * nm;
    if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) { /* a new answer: forget the last one's */
        free(x->r->etag);
        x->r->etag = NULL;
        x->total = -1;
        x->retry_after_ms = 0;
        return n;
    }
    const char *colon = memchr(p, ':', n);
    if (!colon) return n;
    size_t name_len = (size_t)(colon - p);
    const char *v = colon + 1;
    const char *end = p + n;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
    if (name_len == 4 && strncasecmp(p, "ETag", 4) == 0) {
        free(x->r->etag);
        x->r->etag = rdi_strndup(v, (size_t)(end - v));
    } else if (name_len == 13 && strncasecmp(p, "Content-Range", 13) == 0) {
        const char *slash = memchr(v, '/', (size_t)(end - v));
        if (slash && slash + 1 < end && slash[1] != '*') x->total = strtoll(slash + 1, NULL, 10);
    } else if (name_len == 11 && strncasecmp(p, "Retry-After", 11) == 0) {
        x->retry_after_ms = retry_after_ms(v, (size_t)(end - v));
    }
    return n;
}

static radi_status build_url(xfer *x)
{
    rdi_http *h = x->h;
    rdi_http_req *r = x->r;
    const char *key = r->key ? r->key : "";
    char *enc = rdi_s3_encode(key, 1);
    if (!enc) return rdi_nomem();
    const char *q = r->query && *r->query ? r->query : NULL;
    if (h->virtual_hosting)
        x->url = rdi_asprintf("%s://%s.%s/%s%s%s", h->scheme, r->bucket, h->base_host, enc, q ? "?" : "",
                              q ? q : "");
    else
        x->url = rdi_asprintf("%s://%s/%s%s%s%s%s", h->scheme, h->base_host, r->bucket, *key ? "/" : "", enc,
                              q ? "?" : "", q ? q : "");
    free(enc);
    return x->url ? RADI_OK : rdi_nomem();
}

/* The host and path as they appear in the URL (what curl sends, so what we sign). */
static void split_url(const char *url, char *host, size_t host_cap, const char **path)
{
    const char *p = strstr(url, "://") + 3;
    size_t n = strcspn(p, "/");
    snprintf(host, host_cap, "%.*s", (int)n, p);
    *path = p + n;
}

/* PUT and POST always carry a body (maybe empty: S3 wants a Content-Length). */
static int sends_body(const rdi_http_req *r)
{
    return r->body || strcmp(r->method, "PUT") == 0 || strcmp(r->method, "POST") == 0;
}

/* Sets every option for one attempt; the easy handle is reset between attempts. */
static radi_status prepare(xfer *x)
{
    rdi_http *h = x->h;
    rdi_http_req *r = x->r;
    CURL *e = x->e;
    curl_easy_reset(e);
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
    x->overflow = 0;
    x->total = -1;
    x->retry_after_ms = 0;
    x->errbuf[0] = '\0';
    rdi_buf_free(&r->resp);
    free(r->etag);
    r->etag = NULL;
    r->received = 0;

    rdi_http_header hs[MAX_HEADERS + 1];
    size_t nh = 0;
    int has_ctype = 0;
    for (size_t i = 0; i < r->n_headers && nh < MAX_HEADERS; i++) {
        hs[nh++] = r->headers[i];
        if (strcasecmp(r->headers[i].name, "Content-Type") == 0) has_ctype = 1;
    }
    char range[64];
    if (r->ranged) {
        snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)r->range_off,
                 (unsigned long long)(r->range_off + r->dst_len - 1));
        hs[nh].name = "Range";
        hs[nh++].value = range;
    }
    radi_status s = RADI_OK;
    for (size_t i = 0; i < nh && s == RADI_OK; i++) {
        char *line = rdi_asprintf("%s: %s", hs[i].name, hs[i].value);
        struct curl_slist *n2 = line ? curl_slist_append(x->hdrs, line) : NULL;
        free(line);
        if (!n2) s = rdi_nomem();
        else x->hdrs = n2;
    }
    if (s == RADI_OK && h->ak) {
        char host[512], date[17];
        const char *path;
        split_url(x->url, host, sizeof host, &path);
        size_t plen = strcspn(path, "?");
        char *p = rdi_strndup(path, plen);
        if (!p) return rdi_nomem();
        rdi_amz_date((int64_t)time(NULL), date);
        rdi_sigv4_request sr = {
            .method = r->method, .host = host, .path = plen ? p : "/",
            .query = path[plen] == '?' ? path + plen + 1 : NULL,
            .headers = hs, .n_headers = nh, .payload_sha256 = x->payload, .amz_date = date,
            .region = h->region, .service = "s3", .access_key_id = h->ak,
            .secret_access_key = h->sk, .session_token = h->token,
        };
        char **lines = NULL;
        size_t nl = 0;
        s = rdi_sigv4_sign(&sr, &lines, &nl);
        free(p);
        for (size_t i = 0; s == RADI_OK && i < nl; i++) {
            struct curl_slist *n2 = curl_slist_append(x->hdrs, lines[i]);
            if (!n2) s = rdi_nomem();
            else x->hdrs = n2;
        }
        if (lines) rdi_sigv4_free_headers(lines, nl);
        if (s != RADI_OK) return s;
    }
    /* Unsigned, and only telling curl what not to add: no 100-continue round trip and no
     * form content type on bodies. */
    struct curl_slist *n2 = s == RADI_OK ? curl_slist_append(x->hdrs, "Expect:") : NULL;
    if (n2) x->hdrs = n2;
    else if (s == RADI_OK) s = rdi_nomem();
    if (s == RADI_OK && !has_ctype && sends_body(r)) {
        n2 = curl_slist_append(x->hdrs, "Content-Type:");
        if (n2) x->hdrs = n2;
        else s = rdi_nomem();
    }
    if (s != RADI_OK) return s;

    curl_easy_setopt(e, CURLOPT_URL, x->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)h->connect_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)h->request_ms);
    /* s3.h: a transfer without progress for request_timeout_ms fails too. The whole-
     * request limit implies it today; the low-speed rule keeps it true should that limit
     * ever be lifted for large bodies. */
    long stall_s = (long)(h->request_ms + 999) / 1000;
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, stall_s < 1 ? 1L : stall_s);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)x);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, h->verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, h->verify ? 2L : 0L);
    if (h->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    /* Keys are opaque: "a/../b" is a key, not a path for curl to squash. */
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
    if (strcmp(r->method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
        if (sends_body(r)) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : (const void *)"");
        }
    }
    return RADI_OK;
}

static radi_status start(xfer *x, CURLM *m)
{
    rdi_http *h = x->h;
    if (!x->url) {
        RDI_TRY(build_url(x));
        x->uri = x->r->msg_uri ? rdi_strdup(x->r->msg_uri) : rdi_s3_uri_of(x->r->bucket, x->r->key);
        if (!x->uri) return rdi_nomem();
        const void *b = x->r->body ? x->r->body : "";
        rdi_sha256_hex(b, x->r->body ? x->r->body_len : 0, x->payload);
    }
    if (!x->e && !(x->e = get_easy(h))) return rdi_error(RADI_E_NOMEM, "cannot create a curl handle");
    radi_status s = prepare(x);
    if (s != RADI_OK) return rdi_error_wrap(s, "%s: %s", x->uri, x->r->op ? x->r->op : x->r->method);
    if (curl_multi_add_handle(m, x->e) != CURLM_OK)
        return rdi_error(RADI_E_INTERNAL, "%s: cannot queue the request", x->uri);
    atomic_fetch_add(&h->requests, 1);
    if (x->r->body) atomic_fetch_add(&h->bytes_out, (uint64_t)x->r->body_len);
    x->state = X_RUN;
    return RADI_OK;
}

static int retryable_code(const char *code)
{
    return code && (strcmp(code, "SlowDown") == 0 || strcmp(code, "InternalError") == 0 ||
                    strcmp(code, "RequestTimeout") == 0 || strcmp(code, "ServiceUnavailable") == 0);
}

static int retryable_curl(CURLcode c)
{
    switch (c) {
    case CURLE_COULDNT_CONNECT: case CURLE_OPERATION_TIMEDOUT: case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR: case CURLE_SEND_ERROR: case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR: case CURLE_HTTP2: case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

static void set_msg(xfer *x, radi_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_msg(xfer *x, radi_status st, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    free(x->r->msg);
    x->r->msg = rdi_strdup(buf);
    x->r->result = st;
}

/* Judges a finished attempt: 1 = retry, 0 = final (r->result set). */
static int judge(xfer *x, CURLcode cc)
{
    rdi_http_req *r = x->r;
    const char *op = r->op ? r->op : r->method;
    long code = 0;
    curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &code);
    curl_off_t cl = -1;
    curl_easy_getinfo(x->e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    r->http_status = code;
    r->content_length = cl;
    free(r->msg);
    r->msg = NULL;
    r->result = RADI_OK;

    if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && x->overflow)) {
        const char *why = x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc);
        set_msg(x, RADI_E_IO, "%s: %s failed: %s (endpoint %s://%s)", x->uri, op, why, x->h->scheme,
                x->h->base_host);
        return retryable_curl(cc);
    }
    if (x->overflow == 1) {
        set_msg(x, RADI_E_IO, "%s: %s failed: the answer is longer than the %llu bytes asked for", x->uri, op,
                (unsigned long long)r->dst_len);
        return 0;
    }
    if (x->overflow == 2) {
        set_msg(x, RADI_E_IO, "%s: %s failed: HTTP %ld with an answer over %zu bytes", x->uri, op, code,
                BODY_CAP);
        return code >= 500;
    }
    if (code >= 200 && code < 300) {
        if (r->dst && r->ranged && r->range_off > 0 && code != 206) {
            set_msg(x, RADI_E_IO, "%s: %s failed: HTTP %ld: the server ignored the Range header", x->uri, op, code);
            return 0;
        }
        if (r->dst && r->received < r->dst_len) {
            if (cl >= 0 && r->received == (uint64_t)cl && (code == 206 || !r->ranged || r->range_off == 0)) {
                uint64_t end = x->total >= 0 ? (uint64_t)x->total : r->range_off + r->received;
                set_msg(x, RADI_E_CORRUPT, "%s: truncated: wanted %llu bytes at offset %llu, object ends at %llu",
                        x->uri, (unsigned long long)r->dst_len, (unsigned long long)r->range_off,
                        (unsigned long long)end);
                return 0;
            }
            set_msg(x, RADI_E_IO, "%s: %s failed: short answer (%llu of %llu bytes) (endpoint %s://%s)", x->uri,
                    op, (unsigned long long)r->received, (unsigned long long)r->dst_len, x->h->scheme,
                    x->h->base_host);
            return 1;
        }
        if (r->error_in_200 && r->resp.len) {
            rdi_s3_error err = {NULL, NULL};
            if (rdi_s3_parse_error(r->resp.data, r->resp.len, &err)) {
                int again = retryable_code(err.code);
                set_msg(x, RADI_E_IO, "%s: %s failed: HTTP %ld %s: %s", x->uri, op, code,
                        err.code ? err.code : "Error", err.message ? err.message : "(no message)");
                rdi_s3_error_free(&err);
                return again;
            }
        }
        return 0;
    }
    if (code == 404 && r->missing_ok) return 0;
    rdi_s3_error err = {NULL, NULL};
    int has = r->resp.len && rdi_s3_parse_error(r->resp.data, r->resp.len, &err);
    int again = code >= 500 || code == 429 || (has && retryable_code(err.code));
    radi_status st = RADI_E_IO;
    if (code == 404 || (has && err.code &&
                        (strcmp(err.code, "NoSuchKey") == 0 || strcmp(err.code, "NoSuchBucket") == 0 ||
                         strcmp(err.code, "NoSuchUpload") == 0)))
        st = RADI_E_NOT_FOUND;
    if (code == 416) {
        set_msg(x, RADI_E_CORRUPT, "%s: truncated: wanted %llu bytes at offset %llu, object ends at %lld", x->uri,
                (unsigned long long)r->dst_len, (unsigned long long)r->range_off,
                (long long)(x->total >= 0 ? x->total : 0));
    } else if (has && err.code) {
        set_msg(x, st, "%s: %s failed: HTTP %ld %s: %s%s", x->uri, op, code, err.code,
                err.message ? err.message : "(no message)", code == 403 ? " (access denied)" : "");
    } else {
        const char *what = code == 403 ? " (access denied)" : code == 404 ? " (not found)" : "";
        set_msg(x, st, "%s: %s failed: HTTP %ld%s", x->uri, op, code, what);
    }
    rdi_s3_error_free(&err);
    return again;
}

static void finish(xfer *x, CURLM *m)
{
    x->r->attempts = x->attempt + 1;
    if (x->e) {
        if (x->state == X_RUN) curl_multi_remove_handle(m, x->e);
        put_easy(x->h, x->e);
        x->e = NULL;
    }
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
    free(x->url);
    free(x->uri);
    x->url = x->uri = NULL;
    x->state = X_DONE;
}

radi_status rdi_http_run_many(rdi_http *h, rdi_http_req *r, size_t n)
{
    if (n == 0) return RADI_OK;
    xfer *xs = rdi_calloc(n, sizeof *xs);
    if (!xs) return RADI_E_NOMEM;
    CURLM *m = get_multi(h);
    if (!m) {
        free(xs);
        return rdi_error(RADI_E_NOMEM, "cannot create a curl multi handle");
    }
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)(uintptr_t)xs << 16) ^ mono_ms();
    for (size_t i = 0; i < n; i++) {
        rdi_http_req_clear(&r[i]);
        xs[i].h = h;
        xs[i].r = &r[i];
        xs[i].rng = seed ^ ((uint64_t)(uintptr_t)&xs[i] * 0x9E3779B97F4A7C15ull);
        xs[i].state = X_WAIT;
    }
    size_t done = 0, inflight = 0, scan = 0;
    while (done < n) {
        uint64_t now = mono_ms(), next_due = UINT64_MAX;
        int starved = 0;
        for (size_t i = scan; i < n && inflight < h->max_parallel; i++) {
            xfer *x = &xs[i];
            if (x->state != X_WAIT) continue;
            if (x->due_ms > now) {
                if (x->due_ms < next_due) next_due = x->due_ms;
                continue;
            }
            if (!take_slot(h)) {
                starved = 1;
                break;
            }
            radi_status s = start(x, m);
            if (s != RADI_OK) {
                give_slot(h);
                set_msg(x, s, "%s", radi_errmsg());
                finish(x, m);
                done++;
            } else {
                inflight++;
            }
        }
        while (scan < n && xs[scan].state == X_DONE) scan++;
        int running = 0;
        curl_multi_perform(m, &running);
        int changed = 0;
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            xfer *x = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            CURLcode cc = msg->data.result;
            curl_multi_remove_handle(m, x->e);
            x->state = X_WAIT;
            inflight--;
            give_slot(h);
            changed = 1;
            if (judge(x, cc) && x->attempt < h->max_retries) {
                uint64_t window = (uint64_t)BACKOFF_BASE_MS << (x->attempt < 16 ? x->attempt : 16);
                if (window > BACKOFF_CAP_MS) window = BACKOFF_CAP_MS;
                x->attempt++;
                uint64_t wait = next_rand(&x->rng) % (window + 1);
                /* The server said how long to back off (throttling, maintenance): never
                 * sooner than that. */
                if (x->retry_after_ms > wait) wait = x->retry_after_ms;
                x->due_ms = mono_ms() + wait;
                atomic_fetch_add(&h->retries, 1);
            } else {
                if (x->r->result != RADI_OK && x->attempt > 0 && x->r->msg) {
                    char *m2 = rdi_asprintf("%s (after %u attempts)", x->r->msg, x->attempt + 1);
                    if (m2) {
                        free(x->r->msg);
                        x->r->msg = m2;
                    }
                }
                finish(x, m);
                done++;
            }
        }
        if (done == n) break;
        if (changed) continue;
        long wait = 1000;
        if (next_due != UINT64_MAX) {
            uint64_t now2 = mono_ms();
            wait = next_due > now2 ? (long)RDI_MIN(next_due - now2, (uint64_t)1000) : 0;
        }
        /* Waiting for another thread to free a slot: look again soon. */
        if (starved) wait = RDI_MIN(wait, inflight ? 50L : 2L);
        if (wait > 0) curl_multi_poll(m, NULL, 0, (int)wait, NULL);
    }
    put_multi(h, m);
    radi_status first = RADI_OK;
    for (size_t i = 0; i < n; i++) {
        if (r[i].result != RADI_OK) {
            first = rdi_error(r[i].result, "%s", r[i].msg ? r[i].msg : "S3 request failed");
            break;
        }
    }
    free(xs);
    return first;
}

radi_status rdi_http_run(rdi_http *h, rdi_http_req *r) { return rdi_http_run_many(h, r, 1); }
