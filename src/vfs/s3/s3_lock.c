/*
 * The writer lock on S3 (docs/dataset.md §8.5): a lease object created with a
 * conditional PUT (If-None-Match: *), so exactly one writer's PUT succeeds; its body
 * names the owner and when the lease expires. A lease whose expiry has passed (its
 * writer died or lost the network) is taken over with a PUT conditional on the ETag just
 * read (If-Match), so two writers taking over at once cannot both win. While held, a
 * thread renews the lease every third of its length (a PUT conditional on our ETag), so
 * a write may take any time while a crashed writer blocks others for at most one lease
 * (vfs.s3.lock_lease_ms, default 30 s). Release stops the renewal, then DELETEs
 * conditional on our own ETag, so a writer whose lease was taken over never deletes its
 * successor's.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "vfs/s3/s3_int.h"

typedef struct s3_lease {
    rdi_s3 *s;
    char *bucket, *key, *etag;
    uint32_t lease_ms;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t renewer;
    int running, stop;
} s3_lease;

static void lease_free(s3_lease *l)
{
    if (!l) return;
    free(l->bucket);
    free(l->key);
    free(l->etag);
    free(l);
}

/* PUT of the lease body with one condition header; *won = the PUT succeeded, else 412. */
static radi_status put_lease(rdi_s3 *s, const char *bucket, const char *key, const char *cond_name,
                             const char *cond_value, uint32_t lease_ms, int *won, char **etag)
{
    char label[33], body[160];
    RDI_TRY(rdi_random_label(label));
    int n = snprintf(body, sizeof body, "radi-lease 1\nowner %s\nexpires_ms %llu\n", label,
                     (unsigned long long)(rdi_now_ms() + lease_ms));
    rdi_http_header h = {cond_name, cond_value};
    rdi_http_req r = {.op = "PUT (lock)", .method = "PUT", .bucket = bucket, .key = key,
                      .headers = &h, .n_headers = 1, .body = body, .body_len = (size_t)n};
    radi_status st = rdi_http_run(s->http, &r);
    *won = st == RADI_OK;
    if (st != RADI_OK && r.http_status == 412) {
        rdi_error_clear();
        st = RADI_OK;
    }
    if (*won) {
        *etag = r.etag;
        r.etag = NULL;
        if (!*etag) st = rdi_error(RADI_E_IO, "s3://%s/%s: lock: the answer carried no ETag", bucket, key);
    }
    rdi_http_req_clear(&r);
    return st;
}

/* The current lease's expiry and ETag; *exists 0 when it is gone. */
static radi_status read_lease(rdi_s3 *s, const char *bucket, const char *key, int *exists, uint64_t *expires,
                              char **etag)
{
    rdi_http_req r = {.op = "GET (lock)", .method = "GET", .bucket = bucket, .key = key, .missing_ok = 1};
    radi_status st = rdi_http_run(s->http, &r);
    *exists = st == RADI_OK && r.http_status != 404;
    *expires = 0;
    if (*exists) {
        /* Anything unparsable counts as expired: a lease radi cannot read protects nothing. */
        rdi_buf_put_u8(&r.resp, 0);
        const char *p = r.resp.data ? strstr((const char *)r.resp.data, "expires_ms ") : NULL;
        if (p) *expires = strtoull(p + 11, NULL, 10);
        *etag = r.etag;
        r.etag = NULL;
    }
    rdi_http_req_clear(&r);
    return st;
}

/* The renewal thread: every lease_ms/3, a PUT conditional on the lease's current ETag.
 * A 412 means the lease was taken over (this writer stalled past its expiry): renewal
 * stops, and the release will leave the successor's lease alone. Other failures (the
 * network) are retried at the next tick. */
static void *renew_main(void *arg)
{
    s3_lease *l = arg;
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        uint64_t ns = (uint64_t)t.tv_nsec + (uint64_t)(l->lease_ms / 3) * 1000000u;
        t.tv_sec += (time_t)(ns / 1000000000u);
        t.tv_nsec = (long)(ns % 1000000000u);
        int rc = 0;
        while (!l->stop && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&l->cv, &l->mu, &t);
        if (l->stop) break;
        char *cur = rdi_strdup(l->etag);
        pthread_mutex_unlock(&l->mu);
        int won = 0;
        char *etag = NULL;
        radi_status st = cur ? put_lease(l->s, l->bucket, l->key, "If-Match", cur, l->lease_ms, &won, &etag)
                             : RADI_E_NOMEM;
        free(cur);
        rdi_error_clear(); /* this thread's own message: nobody reads it */
        pthread_mutex_lock(&l->mu);
        if (st == RADI_OK && won) {
            free(l->etag);
            l->etag = etag;
        } else if (st == RADI_OK) {
            break; /* taken over */
        }
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

radi_status rdi_s3_lock(void *self, const char *uri, uint32_t lease_ms, void **token)
{
    rdi_s3 *s = self;
    /* The backend's lease length (vfs.s3.lock_lease_ms) unless the caller gives one. */
    if (!lease_ms) lease_ms = s->cfg.lock_lease_ms ? s->cfg.lock_lease_ms : 30000;
    char *bucket = NULL, *key = NULL, *etag = NULL;
    RDI_TRY(rdi_s3_ready(s));
    RDI_TRY(rdi_s3_split(uri, &bucket, &key));
    radi_status st = *key ? RADI_OK : rdi_error(RADI_E_INVALID, "%s: a lock needs a key, not a bucket", uri);
    int won = 0;
    /* A lease deleted between our PUT and our GET: try again (bounded). */
    for (int attempt = 0; st == RADI_OK && !won && attempt < 3; attempt++) {
        st = put_lease(s, bucket, key, "If-None-Match", "*", lease_ms, &won, &etag);
        if (st != RADI_OK || won) break;
        int exists = 0;
        uint64_t expires = 0;
        char *cur = NULL;
        st = read_lease(s, bucket, key, &exists, &expires, &cur);
        if (st == RADI_OK && exists && expires <= rdi_now_ms())
            st = put_lease(s, bucket, key, "If-Match", cur, lease_ms, &won, &etag);
        else if (st == RADI_OK && exists)
            st = RADI_E_BUSY;
        free(cur);
    }
    if (st == RADI_OK && !won) st = RADI_E_BUSY;
    s3_lease *l = NULL;
    if (st == RADI_OK && !(l = rdi_calloc(1, sizeof *l))) st = RADI_E_NOMEM;
    if (st != RADI_OK) {
        free(bucket);
        free(key);
        free(etag);
        return st;
    }
    l->s = s;
    l->bucket = bucket;
    l->key = key;
    l->etag = etag;
    l->lease_ms = lease_ms;
    pthread_mutex_init(&l->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    l->running = pthread_create(&l->renewer, NULL, renew_main, l) == 0;
    *token = l;
    return RADI_OK;
}

radi_status rdi_s3_unlock(void *self, void *token)
{
    rdi_s3 *s = self;
    s3_lease *l = token;
    if (!l) return RADI_OK;
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    if (l->running) pthread_join(l->renewer, NULL);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    rdi_http_header h = {"If-Match", l->etag};
    rdi_http_req r = {.op = "DELETE (unlock)", .method = "DELETE", .bucket = l->bucket, .key = l->key,
                      .headers = &h, .n_headers = 1, .missing_ok = 1};
    radi_status st = rdi_http_run(s->http, &r);
    /* 412: the lease expired and another writer took it over; it is theirs now. */
    if (st != RADI_OK && r.http_status == 412) {
        rdi_error_clear();
        st = RADI_OK;
    }
    rdi_http_req_clear(&r);
    lease_free(l);
    return st;
}
