/*
 * The S3 backend's table and its namespace operations: URI parsing, listings (with and
 * without delimiter, paged), kind, size, removal (DeleteObjects in batches) and moves
 * (server-side copies, s3_copy.c, then deletes). Reads and writes live in s3_rw.c. Object stores
 * have no directories: a "directory" is a key prefix ending in '/', so every call here
 * maps a path to a key prefix and never trusts a name to be inside a prefix without the
 * '/' ("ab" is not inside "a").
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

#include "vfs/s3/s3_int.h"
#include "vfs/s3/xml.h"

#define DELETE_BATCH 1000   /* the DeleteObjects limit */

/* ---- URIs ---- */

static int valid_bucket(const char *b, size_t n)
{
    /* S3's rules, plus '_' which older buckets and other stores allow. */
    if (n < 3 || n > 63) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '-' && c != '.' && c != '_') return 0;
        if ((i == 0 || i == n - 1) && !alnum) return 0;
    }
    return 1;
}

radi_status rdi_s3_split(const char *uri, char **bucket, char **key)
{
    if (!uri || strncmp(uri, "s3://", 5) != 0) return rdi_error(RADI_E_INVALID, "%s: not an s3:// URI", uri ? uri : "");
    const char *b = uri + 5;
    size_t bn = strcspn(b, "/");
    if (bn == 0) return rdi_error(RADI_E_INVALID, "%s: the URI names no bucket", uri);
    if (!valid_bucket(b, bn))
        return rdi_error(RADI_E_INVALID, "%s: invalid bucket name '%.*s'", uri, (int)RDI_MIN(bn, (size_t)100), b);
    char *k = rdi_malloc(strlen(b + bn) + 1);
    if (!k) return RADI_E_NOMEM;
    /* Collapse runs of '/', drop leading and trailing ones: keys are paths. */
    size_t o = 0;
    for (const char *p = b + bn; *p; p++) {
        if (*p == '/' && (o == 0 || k[o - 1] == '/')) continue;
        k[o++] = *p;
    }
    while (o > 0 && k[o - 1] == '/') o--;
    k[o] = '\0';
    *bucket = rdi_strndup(b, bn);
    if (!*bucket) {
        free(k);
        return RADI_E_NOMEM;
    }
    *key = k;
    return RADI_OK;
}

radi_status rdi_s3_ready(rdi_s3 *s)
{
    if (s->cfg.deferred_error) return rdi_error(RADI_E_INVALID, "S3 settings: %s", s->cfg.deferred_error);
    return RADI_OK;
}

/* Parses the URI after the deferred-error check; the common opening of every op. */
#define OPEN(uri)                                         \
    rdi_s3 *s = self;                                     \
    char *bucket = NULL, *key = NULL;                     \
    RDI_TRY(rdi_s3_ready(s));                             \
    RDI_TRY(rdi_s3_split(uri, &bucket, &key))

#define CLOSE()    \
    free(bucket);  \
    free(key)

/* ---- listing ---- */

typedef struct listing {
    rdi_strlist keys;
    uint64_t *sizes;
    rdi_strlist prefixes;
} listing;

static void listing_free(listing *l)
{
    rdi_strlist_free(&l->keys);
    rdi_strlist_free(&l->prefixes);
    free(l->sizes);
    memset(l, 0, sizeof *l);
}

/* ListObjectsV2 of every page (or just one key with one_key). A missing bucket is
 * RADI_E_NOT_FOUND unless missing_ok, where it lists nothing. */
static radi_status list_all(rdi_s3 *s, const char *bucket, const char *prefix, int delim, int one_key,
                            int missing_ok, listing *out)
{
    memset(out, 0, sizeof *out);
    char *token = NULL;
    char *eprefix = rdi_s3_encode(prefix, 0);
    char *where = rdi_s3_uri_of(bucket, prefix);
    if (!eprefix || !where) {
        free(eprefix);
        free(where);
        return rdi_nomem();
    }
    radi_status st = RADI_OK;
    for (;;) {
        char *etok = token ? rdi_s3_encode(token, 0) : NULL;
        /* encoding-type=url: keys may hold characters XML 1.0 cannot carry; the parser
         * decodes them (AWS writes a space as '+'). */
        char *q = rdi_asprintf("%s%s%s%sencoding-type=url&list-type=2%s&prefix=%s",
                               token ? "continuation-token=" : "", etok ? etok : "", token ? "&" : "",
                               delim ? "delimiter=%2F&" : "", one_key ? "&max-keys=1" : "", eprefix);
        free(etok);
        if (!q) { st = rdi_nomem(); break; }
        rdi_http_req r = {.op = "ListObjectsV2", .method = "GET", .bucket = bucket, .key = "", .query = q,
                          .missing_ok = missing_ok, .msg_uri = where};
        st = rdi_http_run(s->http, &r);
        free(q);
        if (st == RADI_OK && r.http_status == 404) { /* missing_ok: no bucket, nothing in it */
            rdi_http_req_clear(&r);
            break;
        }
        rdi_s3_list_page pg;
        memset(&pg, 0, sizeof pg);
        if (st == RADI_OK) {
            st = rdi_s3_parse_list(r.resp.data, r.resp.len, &pg);
            if (st != RADI_OK) rdi_error_wrap(st, "s3://%s/%s: ListObjectsV2", bucket, prefix);
        }
        rdi_http_req_clear(&r);
        if (st != RADI_OK) break;
        size_t base = out->keys.n;
        if (pg.keys.n) {
            uint64_t *ns = realloc(out->sizes, (base + pg.keys.n) * sizeof *ns);
            if (!ns) st = rdi_nomem();
            else out->sizes = ns;
        }
        for (size_t i = 0; i < pg.keys.n && st == RADI_OK; i++) {
            st = rdi_strlist_push_owned(&out->keys, pg.keys.items[i]);
            if (st == RADI_OK) {
                pg.keys.items[i] = NULL;
                out->sizes[out->keys.n - 1] = pg.sizes ? pg.sizes[i] : 0;
            }
        }
        for (size_t i = 0; i < pg.prefixes.n && st == RADI_OK; i++) {
            st = rdi_strlist_push_owned(&out->prefixes, pg.prefixes.items[i]);
            if (st == RADI_OK) pg.prefixes.items[i] = NULL;
        }
        int more = pg.truncated && pg.next_token && *pg.next_token && !one_key;
        if (more && token && strcmp(token, pg.next_token) == 0) /* a server that never advances */
            st = rdi_error(RADI_E_IO, "s3://%s/%s: ListObjectsV2 failed: the continuation token does not advance",
                           bucket, prefix);
        free(token);
        token = more ? pg.next_token : NULL;
        if (more) pg.next_token = NULL;
        rdi_s3_list_page_free(&pg);
        if (st != RADI_OK || !more) break;
    }
    free(token);
    free(eprefix);
    free(where);
    if (st != RADI_OK) listing_free(out);
    return st;
}

static char *dir_prefix(const char *key) { return *key ? rdi_asprintf("%s/", key) : rdi_strdup(""); }

static int cmp_dirent(const void *a, const void *b)
{
    return strcmp(((const rdi_dirent *)a)->name, ((const rdi_dirent *)b)->name);
}

static radi_status push_ent(rdi_dirlist *out, size_t *cap, const char *name, size_t n, int is_dir, uint64_t size)
{
    if (out->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 32;
        rdi_dirent *ni = realloc(out->items, nc * sizeof *ni);
        if (!ni) return rdi_nomem();
        out->items = ni;
        *cap = nc;
    }
    char *nm = rdi_strndup(name, n);
    if (!nm) return RADI_E_NOMEM;
    out->items[out->n++] = (rdi_dirent){nm, is_dir, size};
    return RADI_OK;
}

static radi_status s3_list(void *self, const char *uri, rdi_dirlist *out, int recursive)
{
    OPEN(uri);
    out->items = NULL;
    out->n = 0;
    char *prefix = dir_prefix(key);
    listing l;
    radi_status st = prefix ? list_all(s, bucket, prefix, !recursive, 0, 0, &l) : rdi_nomem();
    size_t plen = prefix ? strlen(prefix) : 0, cap = 0;
    if (st == RADI_OK) {
        for (size_t i = 0; i < l.prefixes.n && st == RADI_OK; i++) {
            const char *p = l.prefixes.items[i];
            size_t n = strlen(p);
            if (n <= plen || strncmp(p, prefix, plen) != 0) continue;
            n -= plen;
            while (n > 0 && p[plen + n - 1] == '/') n--;
            if (n) st = push_ent(out, &cap, p + plen, n, 1, 0);
        }
        for (size_t i = 0; i < l.keys.n && st == RADI_OK; i++) {
            const char *k = l.keys.items[i];
            size_t n = strlen(k);
            /* The prefix itself and other "folder" markers are not files. */
            if (n <= plen || strncmp(k, prefix, plen) != 0 || k[n - 1] == '/') continue;
            st = push_ent(out, &cap, k + plen, n - plen, 0, l.sizes[i]);
        }
        listing_free(&l);
    }
    free(prefix);
    CLOSE();
    if (st != RADI_OK) {
        rdi_dirlist_free(out);
        return st;
    }
    if (out->n > 1) qsort(out->items, out->n, sizeof *out->items, cmp_dirent);
    return RADI_OK;
}

static radi_status s3_ls(void *self, const char *uri, rdi_dirlist *out) { return s3_list(self, uri, out, 0); }
static radi_status s3_ls_recursive(void *self, const char *uri, rdi_dirlist *out)
{
    return s3_list(self, uri, out, 1);
}

/* ---- kind, size ---- */

/* HEAD of the key and a one-key listing of "key/" go out together (one round trip, not
 * two in a row): an object is a file, else anything below the prefix makes a directory.
 * For a file, *size (if size is not NULL) is its size, from the HEAD. */
static radi_status kind_of(rdi_s3 *s, const char *bucket, const char *key, int *out, uint64_t *size)
{
    if (!*key) { /* the bucket root is a directory when the bucket exists */
        rdi_http_req r = {.method = "HEAD", .bucket = bucket, .key = key, .missing_ok = 1};
        radi_status st = rdi_http_run(s->http, &r);
        long code = r.http_status;
        rdi_http_req_clear(&r);
        RDI_TRY(st);
        *out = code == 404 ? 0 : 2;
        return RADI_OK;
    }
    char *prefix = dir_prefix(key);
    char *eprefix = prefix ? rdi_s3_encode(prefix, 0) : NULL;
    char *where = prefix ? rdi_s3_uri_of(bucket, prefix) : NULL;
    char *q = eprefix ? rdi_asprintf("encoding-type=url&list-type=2&max-keys=1&prefix=%s", eprefix) : NULL;
    radi_status st = q && where ? RADI_OK : rdi_nomem();
    rdi_http_req r[2] = {
        {.method = "HEAD", .bucket = bucket, .key = key, .missing_ok = 1},
        {.op = "ListObjectsV2", .method = "GET", .bucket = bucket, .key = "", .query = q, .missing_ok = 1,
         .msg_uri = where},
    };
    if (st == RADI_OK) st = rdi_http_run_many(s->http, r, 2);
    if (st == RADI_OK) {
        if (r[0].http_status != 404) {
            *out = 1;
            if (size && r[0].content_length < 0)
                st = rdi_error(RADI_E_IO, "s3://%s/%s: HEAD answer has no Content-Length", bucket, key);
            else if (size)
                *size = (uint64_t)r[0].content_length;
        } else if (r[1].http_status == 404) { /* no bucket: nothing there */
            *out = 0;
        } else {
            rdi_s3_list_page pg;
            st = rdi_s3_parse_list(r[1].resp.data, r[1].resp.len, &pg);
            if (st == RADI_OK) {
                *out = pg.keys.n || pg.prefixes.n ? 2 : 0;
                rdi_s3_list_page_free(&pg);
            } else {
                st = rdi_error_wrap(st, "%s", where);
            }
        }
    }
    rdi_http_req_clear(&r[0]);
    rdi_http_req_clear(&r[1]);
    free(q);
    free(where);
    free(eprefix);
    free(prefix);
    return st;
}

static radi_status s3_kind(void *self, const char *uri, int *out)
{
    OPEN(uri);
    radi_status st = kind_of(s, bucket, key, out, NULL);
    CLOSE();
    return st;
}

static radi_status s3_size(void *self, const char *uri, uint64_t *size)
{
    OPEN(uri);
    radi_status st = RADI_OK;
    if (!*key) st = rdi_error(RADI_E_INVALID, "%s: is a bucket, not an object", uri);
    rdi_http_req r = {.method = "HEAD", .bucket = bucket, .key = key};
    if (st == RADI_OK) st = rdi_http_run(s->http, &r);
    if (st == RADI_OK) {
        if (r.content_length < 0) st = rdi_error(RADI_E_IO, "%s: HEAD answer has no Content-Length", uri);
        else *size = (uint64_t)r.content_length;
    }
    rdi_http_req_clear(&r);
    CLOSE();
    return st;
}

static radi_status s3_mkdir(void *self, const char *uri)
{
    /* No request: prefixes exist through their objects. The URI is still checked. */
    OPEN(uri);
    CLOSE();
    return RADI_OK;
}

/* ---- removal ---- */

static radi_status s3_remove_file(void *self, const char *uri)
{
    OPEN(uri);
    radi_status st = RADI_OK;
    if (!*key) st = rdi_error(RADI_E_INVALID, "%s: is a bucket, not an object", uri);
    rdi_http_req r = {.method = "DELETE", .bucket = bucket, .key = key, .missing_ok = 1};
    if (st == RADI_OK) st = rdi_http_run(s->http, &r);
    rdi_http_req_clear(&r);
    CLOSE();
    return st;
}

/* Base64 of the body's MD5, which S3 requires on DeleteObjects. */
static void content_md5(const void *data, size_t len, char out[32])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dn = 0;
    EVP_Digest(data, len, d, &dn, EVP_md5(), NULL);
    EVP_EncodeBlock((unsigned char *)out, d, (int)dn);
}

/* Deletes keys in DeleteObjects batches, the batches in parallel. A batch whose keys
 * XML 1.0 cannot carry (control characters, invalid UTF-8) is deleted key by key with
 * plain DELETEs instead. `what` names the directory in messages. */
radi_status rdi_s3_delete_keys(rdi_s3 *s, const char *bucket, char *const *keys, size_t n, const char *what)
{
    if (n == 0) return RADI_OK;
    char *where = rdi_s3_uri_of(bucket, what);
    if (!where) return rdi_nomem();
    size_t nb = (n + DELETE_BATCH - 1) / DELETE_BATCH, nq = 0, ns = 0;
    rdi_http_req *rq = rdi_calloc(nb, sizeof *rq), *single = NULL;
    rdi_buf *bodies = rdi_calloc(nb, sizeof *bodies);
    char (*md5)[32] = rdi_calloc(nb, sizeof *md5);
    rdi_http_header *hs = rdi_calloc(nb * 2, sizeof *hs);
    size_t *lone = rdi_calloc(nb, sizeof *lone); /* batches sent key by key */
    size_t nlone = 0;
    radi_status st = rq && bodies && md5 && hs && lone ? RADI_OK : RADI_E_NOMEM;
    for (size_t b = 0; b < nb && st == RADI_OK; b++) {
        size_t lo = b * DELETE_BATCH, cnt = RDI_MIN(n - lo, (size_t)DELETE_BATCH);
        st = rdi_s3_xml_delete_objects((const char *const *)keys + lo, cnt, &bodies[nq]);
        if (st == RADI_E_INVALID) {
            lone[nlone++] = b;
            st = RADI_OK;
            continue;
        }
        if (st != RADI_OK) break;
        content_md5(bodies[nq].data, bodies[nq].len, md5[nq]);
        hs[2 * nq] = (rdi_http_header){"Content-MD5", md5[nq]};
        hs[2 * nq + 1] = (rdi_http_header){"Content-Type", "application/xml"};
        rq[nq] = (rdi_http_req){.op = "DeleteObjects", .method = "POST", .bucket = bucket, .key = "",
                                .query = "delete=", .headers = &hs[2 * nq], .n_headers = 2, .msg_uri = where,
                                .body = bodies[nq].data, .body_len = bodies[nq].len};
        nq++;
    }
    if (st == RADI_OK) st = rdi_http_run_many(s->http, rq, nq);
    for (size_t b = 0; b < nq && st == RADI_OK; b++) {
        rdi_strlist failed = RDI_STRLIST_INIT;
        st = rdi_s3_parse_delete_result(rq[b].resp.data, rq[b].resp.len, &failed);
        if (st == RADI_OK && failed.n)
            st = rdi_error(RADI_E_IO, "s3://%s/%s: DeleteObjects failed for %zu key(s), first: %s", bucket, what,
                           failed.n, failed.items[0]);
        else if (st != RADI_OK)
            rdi_error_wrap(st, "s3://%s/%s: DeleteObjects", bucket, what);
        rdi_strlist_free(&failed);
    }
    if (st == RADI_OK && nlone) {
        single = rdi_calloc(nlone * DELETE_BATCH, sizeof *single);
        if (!single) st = RADI_E_NOMEM;
        for (size_t i = 0; i < nlone && st == RADI_OK; i++) {
            size_t lo = lone[i] * DELETE_BATCH, cnt = RDI_MIN(n - lo, (size_t)DELETE_BATCH);
            for (size_t k = 0; k < cnt; k++)
                single[ns++] = (rdi_http_req){.method = "DELETE", .bucket = bucket, .key = keys[lo + k],
                                              .missing_ok = 1};
        }
        if (st == RADI_OK) st = rdi_http_run_many(s->http, single, ns);
    }
    for (size_t b = 0; rq && b < nq; b++) rdi_http_req_clear(&rq[b]);
    for (size_t b = 0; single && b < ns; b++) rdi_http_req_clear(&single[b]);
    for (size_t b = 0; bodies && b < nb; b++) rdi_buf_free(&bodies[b]);
    free(rq);
    free(single);
    free(bodies);
    free(md5);
    free(hs);
    free(lone);
    free(where);
    return st;
}

static radi_status s3_remove_dir(void *self, const char *uri)
{
    OPEN(uri);
    char *prefix = dir_prefix(key);
    listing l;
    radi_status st = prefix ? list_all(s, bucket, prefix, 0, 0, 1, &l) : rdi_nomem();
    /* As on POSIX, removing a path that is a file removes the file. */
    if (st == RADI_OK && *key) st = rdi_strlist_push(&l.keys, key);
    if (st == RADI_OK) st = rdi_s3_delete_keys(s, bucket, l.keys.items, l.keys.n, key);
    if (prefix) listing_free(&l);
    free(prefix);
    CLOSE();
    return st;
}

/* ---- move ---- */

static radi_status s3_move(void *self, const char *from, const char *to)
{
    OPEN(from);
    char *tb = NULL, *tk = NULL;
    int kto = 0, kfrom = 0;
    uint64_t fsize = 0;
    radi_status st = rdi_s3_split(to, &tb, &tk);
    if (st == RADI_OK && (!*key || !*tk)) st = rdi_error(RADI_E_INVALID, "%s: cannot move %s: a bucket root cannot move", to, from);
    if (st == RADI_OK) st = kind_of(s, tb, tk, &kto, NULL);
    if (st == RADI_OK && kto) st = rdi_error(RADI_E_EXISTS, "%s: cannot move %s there: it already exists", to, from);
    if (st == RADI_OK) st = kind_of(s, bucket, key, &kfrom, &fsize);
    if (st == RADI_OK && !kfrom) st = rdi_error(RADI_E_NOT_FOUND, "%s: move to %s failed: not found", from, to);
    if (st == RADI_OK && kfrom == 1) {
        char *sk[1] = {key}, *dk[1] = {tk};
        st = rdi_s3_copy_objects(s, bucket, sk, &fsize, tb, dk, 1);
        rdi_http_req r = {.method = "DELETE", .bucket = bucket, .key = key, .missing_ok = 1};
        if (st == RADI_OK) st = rdi_http_run(s->http, &r);
        rdi_http_req_clear(&r);
    } else if (st == RADI_OK) {
        char *prefix = dir_prefix(key);
        listing l;
        rdi_strlist dst = RDI_STRLIST_INIT;
        st = prefix ? list_all(s, bucket, prefix, 0, 0, 0, &l) : rdi_nomem();
        size_t plen = prefix ? strlen(prefix) : 0;
        for (size_t i = 0; st == RADI_OK && i < l.keys.n; i++) {
            char *d = rdi_asprintf("%s/%s", tk, l.keys.items[i] + plen);
            st = d ? rdi_strlist_push_owned(&dst, d) : rdi_nomem();
        }
        if (st == RADI_OK) st = rdi_s3_copy_objects(s, bucket, l.keys.items, l.sizes, tb, dst.items, l.keys.n);
        if (st == RADI_OK) st = rdi_s3_delete_keys(s, bucket, l.keys.items, l.keys.n, key);
        rdi_strlist_free(&dst);
        if (prefix) listing_free(&l);
        free(prefix);
    }
    free(tb);
    free(tk);
    CLOSE();
    return st;
}

/* One object, server-side; the target is replaced if it exists. The size chooses between
 * CopyObject and a multipart copy; a HEAD asks for it when the caller does not know it. */
static radi_status s3_copy(void *self, const char *from, const char *to, uint64_t size)
{
    OPEN(from);
    char *tb = NULL, *tk = NULL;
    radi_status st = rdi_s3_split(to, &tb, &tk);
    if (st == RADI_OK && (!*key || !*tk)) st = rdi_error(RADI_E_INVALID, "%s: cannot copy %s: not an object", to, from);
    rdi_http_req h = {.method = "HEAD", .bucket = bucket, .key = key, .missing_ok = 1};
    if (st == RADI_OK && size == RDI_VFS_SIZE_UNKNOWN) {
        st = rdi_http_run(s->http, &h);
        if (st == RADI_OK && h.http_status == 404) st = rdi_error(RADI_E_NOT_FOUND, "%s: copy to %s failed: not found", from, to);
        else if (st == RADI_OK && h.content_length < 0)
            st = rdi_error(RADI_E_IO, "%s: HEAD answer has no Content-Length", from);
        size = (uint64_t)h.content_length;
    }
    if (st == RADI_OK) {
        char *sk[1] = {key}, *dk[1] = {tk};
        st = rdi_s3_copy_objects(s, bucket, sk, &size, tb, dk, 1);
    }
    rdi_http_req_clear(&h);
    free(tb);
    free(tk);
    CLOSE();
    return st;
}

/* ---- lifecycle ---- */

radi_status rdi_s3_create(const rdi_s3_config *c, void **self)
{
    rdi_s3 *s = rdi_calloc(1, sizeof *s);
    if (!s) return RADI_E_NOMEM;
    radi_status st = rdi_s3_config_copy(c, &s->cfg);
    if (st != RADI_OK) {
        free(s);
        return st;
    }
    uint64_t ps = c->multipart_part_size ? c->multipart_part_size : (uint64_t)50 << 20;
    s->part_size = RDI_MAX(ps, (uint64_t)5 << 20);
    /* 0 (a config not from rdi_s3_config_init) means the default: AWS's CopyObject limit. */
    s->copy_threshold = c->multipart_copy_threshold ? c->multipart_copy_threshold : (uint64_t)5 << 30;
    st = rdi_http_create(&s->cfg, &s->http);
    if (st != RADI_OK) {
        rdi_s3_config_free(&s->cfg);
        free(s);
        return st;
    }
    *self = s;
    return RADI_OK;
}

static void s3_destroy(void *self)
{
    rdi_s3 *s = self;
    if (!s) return;
    rdi_http_free(s->http);
    rdi_s3_config_free(&s->cfg);
    free(s);
}

void rdi_s3_get_stats(void *self, rdi_s3_stats *out)
{
    rdi_s3 *s = self;
    rdi_http_stats(s->http, out);
}

const rdi_vfs_ops rdi_vfs_s3_ops = {
    .name = "s3",
    .read = rdi_s3_read,
    .size = s3_size,
    .write = rdi_s3_write,
    .ls = s3_ls,
    .kind = s3_kind,
    .mkdir = s3_mkdir,
    .remove_file = s3_remove_file,
    .remove_dir = s3_remove_dir,
    .move = s3_move,
    .destroy = s3_destroy,
    .flags = RDI_VFS_REMOTE | RDI_VFS_NO_RENAME,
    .read_many = rdi_s3_read_many,
    .ls_recursive = s3_ls_recursive,
    .copy = s3_copy,
    .write_many = rdi_s3_write_many,
    .lock = rdi_s3_lock,
    .unlock = rdi_s3_unlock,
};
