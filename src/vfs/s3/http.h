/*
 * The S3 request executor: builds the URL (path-style or virtual-hosted), signs with
 * SigV4 (sign.h), runs requests over libcurl and retries what S3 documents as transient
 * (5xx, 429, SlowDown, timeouts, resets, short bodies) with capped, fully jittered
 * exponential backoff. Every request, one or many, runs through a curl multi handle so
 * that a batch (read_many, multipart parts, copies, deletes) keeps up to
 * max_parallel_ops requests in flight from the calling thread, without extra threads.
 * Multi and easy handles are pooled per backend so connections are reused across calls;
 * the pools are the only shared state and are mutex-protected, so one rdi_http serves
 * many threads at once.
 */
#ifndef RDI_VFS_S3_HTTP_H
#define RDI_VFS_S3_HTTP_H

#include "vfs/s3/s3.h"
#include "vfs/s3/sign.h"

typedef struct rdi_http rdi_http;

/* The config is copied (only what the transport needs). */
radi_status rdi_http_create(const rdi_s3_config *c, rdi_http **out);
void rdi_http_free(rdi_http *h);
void rdi_http_stats(rdi_http *h, rdi_s3_stats *out);
uint32_t rdi_http_max_parallel(const rdi_http *h);

/* One request. The caller fills the inputs; the executor fills the outputs. */
typedef struct rdi_http_req {
    /* ---- inputs ---- */
    const char *op;          /* named in messages ("GET", "ListObjectsV2"); NULL = method */
    const char *msg_uri;     /* named in messages; NULL = s3://bucket/key (bucket-level calls
                              * name the prefix or directory they work on here) */
    const char *method;      /* GET, HEAD, PUT, POST, DELETE */
    const char *bucket;
    const char *key;         /* raw (not encoded); "" or NULL for bucket-level calls */
    const char *query;       /* already S3-encoded, without '?'; NULL = none */
    const rdi_http_header *headers; /* extra headers, all signed */
    size_t n_headers;
    const void *body;        /* request body (PUT/POST); borrowed */
    size_t body_len;
    /* Ranged GET straight into dst: the answer must be exactly dst_len bytes. With
     * dst NULL the body (2xx or error) goes to `resp`, capped at 64 MiB. */
    void *dst;
    uint64_t dst_len;
    int ranged;              /* send "Range: bytes=range_off-(range_off+dst_len-1)" */
    uint64_t range_off;
    int error_in_200;        /* a 200 answer may carry an <Error> document (Complete, Copy) */
    int missing_ok;          /* 404 is success (result RADI_OK, http_status 404) */
    /* ---- outputs ---- */
    radi_status result;
    long http_status;        /* 0 when no answer came */
    rdi_buf resp;            /* the body when dst is NULL; freed by rdi_http_req_clear */
    uint64_t received;       /* bytes written to dst by the final attempt */
    int64_t content_length;  /* Content-Length of the final answer, -1 if none */
    char *etag;              /* ETag header of the final answer (malloc'd, quotes kept) */
    char *msg;               /* one-line error message when result != RADI_OK (malloc'd) */
    uint32_t attempts;       /* requests sent for it (1 + retries) */
} rdi_http_req;

/* Frees the outputs so the struct can be reused or dropped. */
void rdi_http_req_clear(rdi_http_req *r);

/* Runs one request with retries. On failure the thread's error message is set. */
radi_status rdi_http_run(rdi_http *h, rdi_http_req *r);
/* Runs n requests with up to max_parallel_ops in flight, each retried on its own. Every
 * request's result/msg is set; returns the first failure in array order (its message
 * set for the calling thread) or RADI_OK. */
radi_status rdi_http_run_many(rdi_http *h, rdi_http_req *r, size_t n);

/* "s3://bucket/key" for messages (malloc'd). */
char *rdi_s3_uri_of(const char *bucket, const char *key);

#endif
