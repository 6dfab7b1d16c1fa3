/*
 * S3 data transfer: ranged reads, vectored reads and whole-object writes (one PUT, or a
 * multipart upload with its parts in parallel). Reads go through one planner: ranges of
 * one object closer than COALESCE_GAP become one GET whose answer is scattered (a
 * request costs tens of milliseconds; a few hundred KiB of wasted bytes cost less) as
 * long as the merged span stays under COALESCE_MAX_SPAN, and a span over 2 x SPLIT_PART
 * is cut into parallel GETs of at least SPLIT_PART bytes (one connection rarely fills
 * the link). A plain read is a one-range vectored read.
 */
#include <stdio.h>
#include <stdlib.h>

#include "vfs/s3/s3_int.h"
#include "vfs/s3/xml.h"

#define COALESCE_GAP ((uint64_t)256 << 10)
#define SPLIT_PART ((uint64_t)8 << 20)
/* Coalescing saves requests for small ranges; for big ones it would only add a copy
 * and a second buffer of their size. */
#define COALESCE_MAX_SPAN ((uint64_t)32 << 20)
#define MAX_PARTS 10000   /* S3's limit on parts of one upload */

/* ---- reads ---- */

typedef struct rent {
    size_t idx;           /* index into the caller's ranges */
    char *bucket, *key;
} rent;

typedef struct group {
    size_t first, count;  /* run in the sorted rent array */
    uint64_t start, end;  /* object byte span */
    uint8_t *buf;         /* span bytes: the caller's buffer (one range) or our own */
    int owned;
    size_t part0, nparts; /* its requests */
} group;

static int cmp_rent_ctx(const rent *a, const rent *b, const rdi_vfs_range *r)
{
    int c = strcmp(a->bucket, b->bucket);
    if (!c) c = strcmp(a->key, b->key);
    if (c) return c;
    uint64_t oa = r[a->idx].off, ob = r[b->idx].off;
    return oa < ob ? -1 : oa > ob ? 1 : (a->idx < b->idx ? -1 : a->idx > b->idx);
}

/* Merge sort with the ranges as context (qsort takes none, and a global would be
 * shared between threads). */
static void sort_rents(rent *a, rent *tmp, size_t n, const rdi_vfs_range *r)
{
    if (n < 2) return;
    size_t h = n / 2;
    sort_rents(a, tmp, h, r);
    sort_rents(a + h, tmp, n - h, r);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = cmp_rent_ctx(&a[j], &a[i], r) < 0 ? a[j++] : a[i++];
    while (i < h) tmp[k++] = a[i++];
    while (j < n) tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

static radi_status plan_groups(rent *e, size_t ne, const rdi_vfs_range *r, group **out, size_t *ng)
{
    group *g = rdi_calloc(ne ? ne : 1, sizeof *g);
    if (!g) return RADI_E_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < ne; i++) {
        const rdi_vfs_range *x = &r[e[i].idx];
        if (n) {
            group *last = &g[n - 1];
            const rent *le = &e[last->first];
            if (strcmp(le->bucket, e[i].bucket) == 0 && strcmp(le->key, e[i].key) == 0 &&
                x->off <= last->end + COALESCE_GAP &&
                RDI_MAX(last->end, x->off + x->len) - last->start <= COALESCE_MAX_SPAN) {
                last->count++;
                last->end = RDI_MAX(last->end, x->off + x->len);
                continue;
            }
        }
        g[n++] = (group){.first = i, .count = 1, .start = x->off, .end = x->off + x->len};
    }
    *out = g;
    *ng = n;
    return RADI_OK;
}

radi_status rdi_s3_read_many(void *self, rdi_vfs_range *r, size_t n)
{
    rdi_s3 *s = self;
    radi_status ready = rdi_s3_ready(s);
    char **msgs = rdi_calloc(n ? n : 1, sizeof *msgs);
    rent *e = rdi_calloc(n ? n : 1, sizeof *e), *tmp = rdi_calloc(n ? n : 1, sizeof *tmp);
    group *g = NULL;
    rdi_http_req *rq = NULL;
    size_t ne = 0, ng = 0, nreq = 0;
    radi_status st = msgs && e && tmp ? RADI_OK : RADI_E_NOMEM;
    if (st != RADI_OK) goto out;
    for (size_t i = 0; i < n; i++) {
        r[i].status = ready;
        if (ready != RADI_OK) {
            msgs[i] = rdi_strdup(radi_errmsg());
            continue;
        }
        char *b = NULL, *k = NULL;
        r[i].status = rdi_s3_split(r[i].uri, &b, &k);
        if (r[i].status == RADI_OK && !*k)
            r[i].status = rdi_error(RADI_E_INVALID, "%s: is a bucket, not an object", r[i].uri);
        if (r[i].status != RADI_OK) {
            msgs[i] = rdi_strdup(radi_errmsg());
            free(b);
            free(k);
            continue;
        }
        if (r[i].len == 0) { /* nothing to fetch; no request */
            free(b);
            free(k);
            continue;
        }
        e[ne++] = (rent){i, b, k};
    }
    sort_rents(e, tmp, ne, r);
    st = plan_groups(e, ne, r, &g, &ng);
    if (st != RADI_OK) goto out;
    for (size_t i = 0; i < ng; i++) {
        uint64_t span = g[i].end - g[i].start;
        g[i].nparts = span >= 2 * SPLIT_PART ? (size_t)(span / SPLIT_PART) : 1;
        g[i].part0 = nreq;
        nreq += g[i].nparts;
    }
    rq = rdi_calloc(nreq ? nreq : 1, sizeof *rq);
    if (!rq) { st = RADI_E_NOMEM; goto out; }
    for (size_t i = 0; i < ng; i++) {
        group *gr = &g[i];
        uint64_t span = gr->end - gr->start;
        const rent *fe = &e[gr->first];
        if (gr->count == 1) {
            gr->buf = r[fe->idx].buf;
        } else {
            if (span > SIZE_MAX || !(gr->buf = malloc((size_t)span))) { st = rdi_nomem(); goto out; }
            gr->owned = 1;
        }
        uint64_t plen = span / gr->nparts;
        for (size_t p = 0; p < gr->nparts; p++) {
            uint64_t po = p * plen, pl = p + 1 == gr->nparts ? span - po : plen;
            rq[gr->part0 + p] = (rdi_http_req){.method = "GET", .bucket = fe->bucket, .key = fe->key,
                                               .dst = gr->buf + po, .dst_len = pl, .ranged = 1,
                                               .range_off = gr->start + po};
        }
    }
    (void)rdi_http_run_many(s->http, rq, nreq); /* per-request results are judged below */
    for (size_t i = 0; i < ng; i++) {
        group *gr = &g[i];
        for (size_t j = gr->first; j < gr->first + gr->count; j++) {
            rdi_vfs_range *x = &r[e[j].idx];
            uint64_t a = x->off, b = x->off + x->len;
            for (size_t p = 0; p < gr->nparts; p++) {
                const rdi_http_req *q = &rq[gr->part0 + p];
                uint64_t ps = q->range_off, pe = ps + q->dst_len;
                if (pe <= a || ps >= b || q->result == RADI_OK) continue;
                /* A short object still serves the ranges that end before it does. */
                if (q->result == RADI_E_CORRUPT && b <= ps + q->received) continue;
                x->status = q->result;
                if (gr->count == 1 || q->result != RADI_E_CORRUPT)
                    msgs[e[j].idx] = rdi_strdup(q->msg ? q->msg : "S3 read failed");
                else
                    msgs[e[j].idx] = rdi_asprintf("%s: truncated: wanted %llu bytes at offset %llu, the object "
                                                  "is shorter", x->uri, (unsigned long long)x->len,
                                                  (unsigned long long)x->off);
                break;
            }
            if (x->status == RADI_OK && gr->owned) memcpy(x->buf, gr->buf + (a - gr->start), (size_t)x->len);
        }
    }
out:
    if (st != RADI_OK) {
        for (size_t i = 0; i < n; i++)
            if (r[i].status == RADI_OK) r[i].status = st;
    } else {
        for (size_t i = 0; i < n; i++) {
            if (r[i].status == RADI_OK) continue;
            st = rdi_error(r[i].status, "%s", msgs && msgs[i] ? msgs[i] : "S3 read failed");
            break;
        }
    }
    for (size_t i = 0; rq && i < nreq; i++) rdi_http_req_clear(&rq[i]);
    for (size_t i = 0; g && i < ng; i++)
        if (g[i].owned) free(g[i].buf);
    for (size_t i = 0; e && i < ne; i++) {
        free(e[i].bucket);
        free(e[i].key);
    }
    for (size_t i = 0; msgs && i < n; i++) free(msgs[i]);
    free(msgs);
    free(rq);
    free(g);
    free(e);
    free(tmp);
    return st;
}

radi_status rdi_s3_read(void *self, const char *uri, uint64_t off, void *buf, uint64_t len)
{
    rdi_vfs_range one = {.uri = uri, .off = off, .len = len, .buf = buf};
    return rdi_s3_read_many(self, &one, 1);
}

/* ---- writes ---- */

uint64_t rdi_s3_part_size_for(const rdi_s3 *s, uint64_t len)
{
    uint64_t ps = s->part_size;
    while ((len + ps - 1) / ps > MAX_PARTS) ps *= 2;
    return ps;
}

radi_status rdi_s3_abort_upload(rdi_s3 *s, const char *bucket, const char *key, const char *eid)
{
    char *q = rdi_asprintf("uploadId=%s", eid);
    if (!q) return RADI_E_NOMEM;
    rdi_http_req r = {.op = "AbortMultipartUpload", .method = "DELETE", .bucket = bucket, .key = key,
                      .query = q, .missing_ok = 1};
    radi_status st = rdi_http_run(s->http, &r);
    rdi_http_req_clear(&r);
    free(q);
    return st;
}

/* A retried CompleteMultipartUpload can answer NoSuchUpload because the attempt whose
 * answer was lost did complete it. The object is then ours if it has our size and a
 * multipart ETag of our part count ("...-N"). */
static radi_status completed_anyway(rdi_s3 *s, const char *bucket, const char *key, uint64_t len, size_t np,
                                    radi_status st)
{
    char *saved = rdi_strdup(radi_errmsg());
    rdi_http_req h = {.method = "HEAD", .bucket = bucket, .key = key, .missing_ok = 1};
    char tail[32];
    snprintf(tail, sizeof tail, "-%zu\"", np);
    if (rdi_http_run(s->http, &h) == RADI_OK && h.http_status == 200 && h.content_length == (int64_t)len && h.etag &&
        strlen(h.etag) > strlen(tail) && strcmp(h.etag + strlen(h.etag) - strlen(tail), tail) == 0)
        st = RADI_OK;
    else if (saved)
        rdi_error(st, "%s", saved);
    rdi_http_req_clear(&h);
    free(saved);
    return st;
}

radi_status rdi_s3_create_upload(rdi_s3 *s, const char *bucket, const char *key, char **eid)
{
    rdi_http_header ct = {"Content-Type", "application/octet-stream"};
    rdi_http_req r = {.op = "CreateMultipartUpload", .method = "POST", .bucket = bucket, .key = key,
                      .query = "uploads=", .headers = &ct, .n_headers = 1, .body = "", .body_len = 0};
    char *id = NULL;
    *eid = NULL;
    radi_status st = rdi_http_run(s->http, &r);
    if (st == RADI_OK) {
        st = rdi_s3_parse_upload_id(r.resp.data, r.resp.len, &id);
        if (st != RADI_OK) rdi_error_wrap(st, "s3://%s/%s: CreateMultipartUpload", bucket, key);
    }
    rdi_http_req_clear(&r);
    if (st == RADI_OK && !(*eid = rdi_s3_encode(id, 0))) st = rdi_nomem();
    free(id);
    return st;
}

radi_status rdi_s3_complete_upload(rdi_s3 *s, const char *bucket, const char *key, const char *eid,
                                   const char *const *etags, size_t np, uint64_t len)
{
    rdi_buf body = RDI_BUF_INIT;
    radi_status st = rdi_s3_xml_complete_multipart(etags, np, &body);
    if (st == RADI_OK) {
        char *q = rdi_asprintf("uploadId=%s", eid);
        rdi_http_header xh = {"Content-Type", "application/xml"};
        rdi_http_req c = {.op = "CompleteMultipartUpload", .method = "POST", .bucket = bucket, .key = key,
                          .query = q, .headers = &xh, .n_headers = 1, .body = body.data, .body_len = body.len,
                          .error_in_200 = 1};
        st = q ? rdi_http_run(s->http, &c) : rdi_nomem();
        if (st == RADI_E_NOT_FOUND && c.attempts > 1) st = completed_anyway(s, bucket, key, len, np, st);
        rdi_http_req_clear(&c);
        free(q);
    }
    rdi_buf_free(&body);
    return st;
}

/* Aborts after a failure st; the failure's message stays the thread's message. */
static void abort_keeping_error(rdi_s3 *s, const char *bucket, const char *key, const char *eid, radi_status st)
{
    char *saved = rdi_strdup(radi_errmsg());
    (void)rdi_s3_abort_upload(s, bucket, key, eid);
    if (saved) rdi_error(st, "%s", saved);
    free(saved);
}

static radi_status multipart(rdi_s3 *s, const char *bucket, const char *key, const uint8_t *data, uint64_t len)
{
    uint64_t ps = rdi_s3_part_size_for(s, len);
    size_t np = (size_t)((len + ps - 1) / ps);
    char *eid = NULL;
    RDI_TRY(rdi_s3_create_upload(s, bucket, key, &eid));
    rdi_http_req *rq = rdi_calloc(np, sizeof *rq);
    char **qs = rdi_calloc(np, sizeof *qs);
    const char **etags = rdi_calloc(np, sizeof *etags);
    radi_status st = rq && qs && etags ? RADI_OK : rdi_nomem();
    for (size_t i = 0; i < np && st == RADI_OK; i++) {
        qs[i] = rdi_asprintf("partNumber=%zu&uploadId=%s", i + 1, eid);
        if (!qs[i]) { st = rdi_nomem(); break; }
        uint64_t off = (uint64_t)i * ps;
        rq[i] = (rdi_http_req){.op = "UploadPart", .method = "PUT", .bucket = bucket, .key = key, .query = qs[i],
                               .body = data + off, .body_len = (size_t)RDI_MIN(ps, len - off)};
    }
    if (st == RADI_OK) st = rdi_http_run_many(s->http, rq, np);
    for (size_t i = 0; i < np && st == RADI_OK; i++) {
        etags[i] = rq[i].etag;
        if (!etags[i])
            st = rdi_error(RADI_E_IO, "s3://%s/%s: UploadPart %zu failed: the answer has no ETag", bucket, key, i + 1);
    }
    if (st == RADI_OK) st = rdi_s3_complete_upload(s, bucket, key, eid, etags, np, len);
    /* Leave no billed, invisible parts behind; the first failure stays the message. */
    if (st != RADI_OK) abort_keeping_error(s, bucket, key, eid, st);
    for (size_t i = 0; rq && i < np; i++) rdi_http_req_clear(&rq[i]);
    for (size_t i = 0; qs && i < np; i++) free(qs[i]);
    free(rq);
    free(qs);
    free(etags);
    free(eid);
    return st;
}

radi_status rdi_s3_write(void *self, const char *uri, const void *data, uint64_t len)
{
    rdi_s3 *s = self;
    RDI_TRY(rdi_s3_ready(s));
    char *bucket = NULL, *key = NULL;
    RDI_TRY(rdi_s3_split(uri, &bucket, &key));
    radi_status st = RADI_OK;
    if (!*key) st = rdi_error(RADI_E_INVALID, "%s: is a bucket, not an object", uri);
    else if (len > s->part_size) st = multipart(s, bucket, key, data, len);
    else {
        rdi_http_header ct = {"Content-Type", "application/octet-stream"};
        rdi_http_req r = {.method = "PUT", .bucket = bucket, .key = key, .headers = &ct, .n_headers = 1,
                          .body = data ? data : "", .body_len = (size_t)len};
        st = rdi_http_run(s->http, &r);
        rdi_http_req_clear(&r);
    }
    free(bucket);
    free(key);
    return st;
}

/* Small objects as parallel PUTs (one batch through the multi handle); objects above the
 * part size go one by one as multipart uploads, whose parts are parallel already. */
radi_status rdi_s3_write_many(void *self, rdi_vfs_wobj *w, size_t n)
{
    rdi_s3 *s = self;
    RDI_TRY(rdi_s3_ready(s));
    char **bk = rdi_calloc(n ? 2 * n : 1, sizeof *bk);
    rdi_http_req *rq = rdi_calloc(n ? n : 1, sizeof *rq);
    size_t *which = rdi_calloc(n ? n : 1, sizeof *which);
    radi_status first = bk && rq && which ? RADI_OK : rdi_nomem();
    rdi_http_header ct = {"Content-Type", "application/octet-stream"};
    size_t nq = 0;
    for (size_t i = 0; i < n && first == RADI_OK; i++) {
        w[i].status = RADI_OK;
        if (w[i].len > s->part_size) continue;
        radi_status st = rdi_s3_split(w[i].uri, &bk[2 * i], &bk[2 * i + 1]);
        if (st == RADI_OK && !*bk[2 * i + 1]) st = rdi_error(RADI_E_INVALID, "%s: is a bucket, not an object", w[i].uri);
        if (st != RADI_OK) {
            w[i].status = first = st;
            break;
        }
        rq[nq] = (rdi_http_req){.method = "PUT", .bucket = bk[2 * i], .key = bk[2 * i + 1], .headers = &ct,
                                .n_headers = 1, .body = w[i].data ? w[i].data : "", .body_len = (size_t)w[i].len};
        which[nq++] = i;
    }
    if (first == RADI_OK && nq) {
        rdi_http_run_many(s->http, rq, nq);
        for (size_t q = 0; q < nq; q++) w[which[q]].status = rq[q].result;
    }
    for (size_t i = 0; i < n && first == RADI_OK; i++)
        if (w[i].len > s->part_size) w[i].status = rdi_s3_write(self, w[i].uri, w[i].data, w[i].len);
    /* The first failure in order is the one reported, with its own message. */
    for (size_t i = 0; first == RADI_OK && i < n; i++) {
        if (w[i].status == RADI_OK) continue;
        first = w[i].status;
        for (size_t q = 0; q < nq; q++)
            if (which[q] == i && rq[q].msg) rdi_error(first, "%s", rq[q].msg);
    }
    for (size_t q = 0; q < nq; q++) rdi_http_req_clear(&rq[q]);
    for (size_t i = 0; bk && i < 2 * n; i++) free(bk[i]);
    free(bk);
    free(rq);
    free(which);
    return first;
}
