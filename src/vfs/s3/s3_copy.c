/*
 * Server-side copies, the first half of every S3 move (s3.c deletes the sources after).
 * CopyObject copies at most 5 GiB on AWS, and less on some S3-compatible stores, so an
 * object above vfs.s3.multipart_copy_threshold is copied as a multipart upload whose
 * parts are UploadPartCopy requests, each naming a byte range of the source: no byte
 * passes through this machine either way. One batch through the request engine carries
 * every small CopyObject and every part of every big copy, so a tree move that mixes
 * sizes keeps max_parallel_ops requests in flight throughout; the uploads are created
 * before the batch and completed after it. A failure anywhere aborts the uploads still
 * open and deletes the targets already made, so a failed move leaves the target side as
 * it found it (apart from replaced objects, which S3 cannot restore).
 */
#include <stdio.h>
#include <stdlib.h>

#include "vfs/s3/s3_int.h"
#include "vfs/s3/xml.h"

/* One object copied by parts. */
typedef struct big {
    size_t obj;           /* index into the caller's arrays */
    uint64_t ps;          /* its part size */
    size_t part0, nparts; /* its requests in the batch */
    char *eid;            /* URL-encoded upload id; NULL before Create */
    int done;             /* completed: the target exists, nothing to abort */
} big;

/* What one batch request owns: its operation name for messages, its query and range. */
typedef struct req_strs {
    char *op, *query, *range;
} req_strs;

typedef struct copy_job {
    rdi_s3 *s;
    const char *fb, *tb;
    char *const *src, *const *dst;
    const uint64_t *sizes;
    size_t n, nbig, nreq;
    big *bigs;
    size_t *req_of;       /* the CopyObject request of a small object, SIZE_MAX for a big one */
    char **copy_src;      /* x-amz-copy-source value per object */
    rdi_http_req *rq;
    rdi_http_header *hs;  /* two per request: copy source, range */
    req_strs *strs;
} copy_job;

static int is_big(const copy_job *j, size_t i) { return j->sizes[i] > j->s->copy_threshold; }

static radi_status plan(copy_job *j)
{
    for (size_t i = 0; i < j->n; i++) j->nreq += !is_big(j, i); /* the CopyObjects come first */
    for (size_t i = 0; i < j->n; i++) {
        if (!is_big(j, i)) continue;
        uint64_t ps = rdi_s3_part_size_for(j->s, j->sizes[i]);
        size_t np = (size_t)((j->sizes[i] + ps - 1) / ps);
        j->bigs[j->nbig++] = (big){.obj = i, .ps = ps, .part0 = j->nreq, .nparts = np};
        j->nreq += np;
    }
    j->rq = rdi_calloc(j->nreq ? j->nreq : 1, sizeof *j->rq);
    j->hs = rdi_calloc(j->nreq ? 2 * j->nreq : 1, sizeof *j->hs);
    j->strs = rdi_calloc(j->nreq ? j->nreq : 1, sizeof *j->strs);
    if (!j->rq || !j->hs || !j->strs) return rdi_nomem();
    for (size_t i = 0; i < j->n; i++) {
        char *enc = rdi_s3_encode(j->src[i], 1);
        j->copy_src[i] = enc ? rdi_asprintf("/%s/%s", j->fb, enc) : NULL;
        free(enc);
        if (!j->copy_src[i]) return rdi_nomem();
    }
    return RADI_OK;
}

/* The batch: small objects' CopyObjects, then the parts of each big one. Big objects'
 * uploads must exist (their eid is in the query). The request's URI is the target, so
 * the operation names the source. */
static radi_status fill_requests(copy_job *j)
{
    size_t q = 0;
    for (size_t i = 0; i < j->n; i++) {
        j->req_of[i] = SIZE_MAX;
        if (is_big(j, i)) continue;
        j->strs[q].op = rdi_asprintf("CopyObject from s3://%s/%s", j->fb, j->src[i]);
        if (!j->strs[q].op) return rdi_nomem();
        j->hs[2 * q] = (rdi_http_header){"x-amz-copy-source", j->copy_src[i]};
        j->rq[q] = (rdi_http_req){.op = j->strs[q].op, .method = "PUT", .bucket = j->tb, .key = j->dst[i],
                                  .headers = &j->hs[2 * q], .n_headers = 1, .error_in_200 = 1};
        j->req_of[i] = q++;
    }
    for (size_t b = 0; b < j->nbig; b++) {
        const big *g = &j->bigs[b];
        uint64_t size = j->sizes[g->obj];
        for (size_t p = 0; p < g->nparts; p++, q++) {
            uint64_t lo = (uint64_t)p * g->ps, hi = RDI_MIN(lo + g->ps, size) - 1;
            req_strs *x = &j->strs[q];
            x->op = rdi_asprintf("UploadPartCopy %zu of %zu from s3://%s/%s", p + 1, g->nparts, j->fb,
                                 j->src[g->obj]);
            x->query = rdi_asprintf("partNumber=%zu&uploadId=%s", p + 1, g->eid);
            x->range = rdi_asprintf("bytes=%llu-%llu", (unsigned long long)lo, (unsigned long long)hi);
            if (!x->op || !x->query || !x->range) return rdi_nomem();
            j->hs[2 * q] = (rdi_http_header){"x-amz-copy-source", j->copy_src[g->obj]};
            j->hs[2 * q + 1] = (rdi_http_header){"x-amz-copy-source-range", x->range};
            /* Like CompleteMultipartUpload, a part copy can fail after its 200 went out:
             * the engine reads an <Error> body as a failure (and retries a transient one). */
            j->rq[q] = (rdi_http_req){.op = x->op, .method = "PUT", .bucket = j->tb, .key = j->dst[g->obj],
                                      .query = x->query, .headers = &j->hs[2 * q], .n_headers = 2,
                                      .error_in_200 = 1};
        }
    }
    return RADI_OK;
}

/* Completes one big copy from its parts' CopyPartResult answers. */
static radi_status complete(copy_job *j, big *g)
{
    const char *bucket = j->tb, *key = j->dst[g->obj];
    char **etags = rdi_calloc(g->nparts, sizeof *etags);
    radi_status st = etags ? RADI_OK : rdi_nomem();
    for (size_t p = 0; p < g->nparts && st == RADI_OK; p++) {
        const rdi_http_req *r = &j->rq[g->part0 + p];
        st = rdi_s3_parse_copy_part(r->resp.data, r->resp.len, &etags[p]);
        if (st != RADI_OK) rdi_error_wrap(st, "s3://%s/%s: %s", bucket, key, r->op);
    }
    if (st == RADI_OK)
        st = rdi_s3_complete_upload(j->s, bucket, key, g->eid, (const char *const *)etags, g->nparts,
                                    j->sizes[g->obj]);
    if (st == RADI_OK) g->done = 1;
    for (size_t p = 0; etags && p < g->nparts; p++) free(etags[p]);
    free(etags);
    return st;
}

/* After a failure st: aborts the open uploads and deletes the targets made; the
 * failure's message stays the thread's message. */
static void undo(copy_job *j, radi_status st)
{
    char *saved = rdi_strdup(radi_errmsg());
    rdi_strlist made = RDI_STRLIST_INIT;
    for (size_t b = 0; b < j->nbig; b++) {
        big *g = &j->bigs[b];
        if (g->done) rdi_strlist_push(&made, j->dst[g->obj]);
        else if (g->eid) (void)rdi_s3_abort_upload(j->s, j->tb, j->dst[g->obj], g->eid);
    }
    for (size_t i = 0; j->req_of && i < j->n; i++) {
        size_t q = j->req_of[i];
        /* http_status 0: the request never got an answer (or never ran). */
        if (q != SIZE_MAX && j->rq && j->rq[q].result == RADI_OK && j->rq[q].http_status)
            rdi_strlist_push(&made, j->dst[i]);
    }
    (void)rdi_s3_delete_keys(j->s, j->tb, made.items, made.n, "(undo of a failed copy)");
    rdi_strlist_free(&made);
    if (saved) rdi_error(st, "%s", saved);
    free(saved);
}

radi_status rdi_s3_copy_objects(rdi_s3 *s, const char *fb, char *const *src, const uint64_t *sizes, const char *tb,
                                char *const *dst, size_t n)
{
    if (n == 0) return RADI_OK;
    copy_job j = {.s = s, .fb = fb, .tb = tb, .src = src, .dst = dst, .sizes = sizes, .n = n};
    j.bigs = rdi_calloc(n, sizeof *j.bigs);
    j.req_of = rdi_calloc(n, sizeof *j.req_of);
    j.copy_src = rdi_calloc(n, sizeof *j.copy_src);
    radi_status st = j.bigs && j.req_of && j.copy_src ? RADI_OK : rdi_nomem();
    if (st == RADI_OK) st = plan(&j);
    /* Sequential Creates: one small request per big object, rarely more than a few. */
    for (size_t b = 0; b < j.nbig && st == RADI_OK; b++)
        st = rdi_s3_create_upload(s, tb, dst[j.bigs[b].obj], &j.bigs[b].eid);
    if (st == RADI_OK) st = fill_requests(&j);
    if (st == RADI_OK) st = rdi_http_run_many(s->http, j.rq, j.nreq);
    for (size_t b = 0; b < j.nbig && st == RADI_OK; b++) st = complete(&j, &j.bigs[b]);
    if (st != RADI_OK) undo(&j, st);
    for (size_t q = 0; j.rq && q < j.nreq; q++) rdi_http_req_clear(&j.rq[q]);
    for (size_t q = 0; j.strs && q < j.nreq; q++) {
        free(j.strs[q].op);
        free(j.strs[q].query);
        free(j.strs[q].range);
    }
    for (size_t b = 0; j.bigs && b < j.nbig; b++) free(j.bigs[b].eid);
    for (size_t i = 0; j.copy_src && i < n; i++) free(j.copy_src[i]);
    free(j.bigs);
    free(j.req_of);
    free(j.copy_src);
    free(j.rq);
    free(j.hs);
    free(j.strs);
    return st;
}
