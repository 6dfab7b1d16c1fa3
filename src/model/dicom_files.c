/*
 * The DICOM files of one directory (dicom_files.h): listed, read and parsed through the
 * context's storage, then grouped into series and one picked, with messages that list
 * what a directory holds when the pick is ambiguous.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/dicom_files.h"

/* A batch of reads: at most this many files or bytes at once (whole files of a series
 * are kept until decoded, but files of other series are dropped batch by batch). */
enum { BATCH_FILES = 256 };
#define BATCH_BYTES ((uint64_t)256 << 20)
/* Files are read into slabs of about this size: one allocation backed by huge pages
 * instead of one per file, whose 4 KiB first-touch faults were a quarter of the page
 * faults of an ingest (perf, 300 CT slices). Small enough that slabs are freed as
 * decoding proceeds (a slab goes with the last of its files), so the files and the
 * volume are never held whole together when the files are named in slice order. */
#define SLAB_BYTES ((uint64_t)16 << 20)

struct rdi_dcm_slab {
    rdi_buf buf; /* large, so backed by huge pages (rdi_buf_reserve) */
    size_t refs; /* files whose bytes are in it */
};

/* Drops one file's hold on its slab (the slab goes with the last); clears the view. */
static void slab_unref(rdi_dcm_slab **sp, rdi_buf *view)
{
    rdi_dcm_slab *sl = *sp;
    memset(view, 0, sizeof *view);
    *sp = NULL;
    if (sl && --sl->refs == 0) {
        rdi_buf_free(&sl->buf);
        free(sl);
    }
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

static int is_dicomdir(const char *name)
{
    const char *k = "dicomdir";
    for (; *name && *k; name++, k++)
        if (lower((unsigned char)*name) != *k) return 0;
    return !*name && !*k;
}

void rdi_dicom_files_release(rdi_dicom_files *f, size_t i)
{
    if (i >= f->n) return;
    rdi_dcm_info_free(f->infos[i]);
    f->infos[i] = NULL;
    slab_unref(&f->slab[i], &f->bytes[i]);
}

void rdi_dicom_files_drop_bytes(rdi_dicom_files *f, size_t i)
{
    if (i >= f->n) return;
    rdi_dcm_info_drop_body(f->infos[i]);
    slab_unref(&f->slab[i], &f->bytes[i]);
}

void rdi_dicom_files_free(rdi_dicom_files *f)
{
    for (size_t i = 0; i < f->n; i++) {
        rdi_dicom_files_release(f, i);
        free(f->uris[i]);
    }
    free(f->uris);
    free(f->bytes);
    free(f->slab);
    free(f->infos);
    memset(f, 0, sizeof *f);
}

/* One candidate file: its URI and listed size. */
typedef struct cand {
    char *uri;
    uint64_t size;
} cand;

/* The files to read: the one file `path` names, or the entries of the directory. */
static radi_status list_candidates(rdi_vfs *vfs, const char *path, cand **out, size_t *nout, size_t *skipped)
{
    *out = NULL;
    *nout = 0;
    int kind = 0;
    size_t pl = strlen(path);
    RDI_TRY(rdi_vfs_kind(vfs, path, &kind));
    if (kind == 0 && pl && path[pl - 1] == '/') kind = 2; /* an S3 prefix given as a directory */
    if (kind == 0) return rdi_error(RADI_E_NOT_FOUND, "%s: no such file or directory", path);
    if (kind == 1) {
        cand *c = rdi_calloc(1, sizeof *c);
        if (!c) return RADI_E_NOMEM;
        radi_status s = rdi_vfs_size(vfs, path, &c->size);
        if (s == RADI_OK && !(c->uri = rdi_strdup(path))) s = RADI_E_NOMEM;
        if (s != RADI_OK) {
            free(c);
            return s;
        }
        *out = c;
        *nout = 1;
        return RADI_OK;
    }
    rdi_dirlist ls = {NULL, 0};
    RDI_TRY(rdi_vfs_ls(vfs, path, &ls));
    cand *c = rdi_calloc(ls.n ? ls.n : 1, sizeof *c);
    radi_status s = c ? RADI_OK : RADI_E_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < ls.n && s == RADI_OK; i++) {
        const rdi_dirent *e = &ls.items[i];
        if (e->is_dir) continue;
        if (e->name[0] == '.' || is_dicomdir(e->name) || e->size == 0) {
            ++*skipped;
            continue;
        }
        c[n].uri = rdi_path_join(path, e->name);
        c[n].size = e->size;
        if (!c[n++].uri) s = RADI_E_NOMEM;
    }
    rdi_dirlist_free(&ls);
    if (s != RADI_OK) {
        for (size_t i = 0; i < n; i++) free(c[i].uri);
        free(c);
        return s;
    }
    *out = c;
    *nout = n;
    return RADI_OK;
}

/* A batch's files are probed and parsed in parallel on the context's pool (parsing a
 * deflated file inflates it), then taken in name order. A backend that reads many ranges
 * at once (S3: parallel GETs) gets the batch in one call before; otherwise (local files)
 * each task reads its own file, so that reading too runs on every worker. */
typedef struct parse_job {
    rdi_vfs *vfs;        /* non-NULL: each task reads its file first */
    const cand *c;
    const rdi_buf *b;
    rdi_dcm_info **info; /* NULL: not DICOM by its first bytes */
} parse_job;

static radi_status parse_task(void *arg, size_t i, unsigned worker)
{
    (void)worker;
    parse_job *j = arg;
    if (j->vfs) RDI_TRY(rdi_vfs_read(j->vfs, j->c[i].uri, 0, j->b[i].data, j->c[i].size));
    if (!rdi_dcm_probe(j->b[i].data, j->b[i].len)) return RADI_OK;
    return rdi_dcm_parse(j->b[i].data, j->b[i].len, j->c[i].uri, &j->info[i]); /* names the file */
}

/* Whether the backend serving uri reads a batch of ranges better in one call. */
static int reads_many(rdi_vfs *vfs, const char *uri)
{
    const rdi_vfs_ops *ops = NULL;
    void *self = NULL;
    return rdi_vfs_backend(vfs, uri, &ops, &self) == RADI_OK && ops->read_many;
}

/* Takes the read file c (its bytes the view *b into slab *sl, its parsed header *info or
 * NULL if it is not DICOM) into f, or skips it. Takes c->uri, *b, *sl and *info. */
static void take_file(rdi_dicom_files *f, cand *c, rdi_buf *b, rdi_dcm_slab **sl, rdi_dcm_info **info,
                      const char *series_uid, int keep_bytes)
{
    if (!*info || (series_uid && strcmp((*info)->series_uid, series_uid) != 0)) {
        if (*info) f->other_series++;
        else f->not_dicom++;
        rdi_dcm_info_free(*info);
        *info = NULL;
        slab_unref(sl, b);
        free(c->uri);
        c->uri = NULL;
        return;
    }
    size_t i = f->n++;
    f->uris[i] = c->uri;
    c->uri = NULL;
    f->infos[i] = *info;
    *info = NULL;
    f->bytes[i] = *b;
    f->slab[i] = *sl;
    memset(b, 0, sizeof *b);
    *sl = NULL;
    if (!keep_bytes) slab_unref(&f->slab[i], &f->bytes[i]);
}

/* Cuts the batch's files [0, n) into slabs of about SLAB_BYTES (a larger file has one of
 * its own) and points each b[i] at its place; sl[i] gets its slab. */
static radi_status make_slabs(const cand *c, size_t n, rdi_buf *b, rdi_dcm_slab **sl)
{
    for (size_t i = 0; i < n;) {
        size_t j = i;
        uint64_t total = 0;
        while (j < n && (j == i || total + c[j].size <= SLAB_BYTES)) total += c[j++].size;
        rdi_dcm_slab *slab = rdi_calloc(1, sizeof *slab);
        if (!slab) return RADI_E_NOMEM;
        radi_status s = rdi_buf_resize_uninit(&slab->buf, total ? (size_t)total : 1);
        if (s != RADI_OK) {
            free(slab);
            return s;
        }
        uint64_t off = 0;
        for (; i < j; i++) {
            b[i] = (rdi_buf){slab->buf.data + off, (size_t)c[i].size, 0};
            sl[i] = slab;
            slab->refs++;
            off += c[i].size;
        }
    }
    return RADI_OK;
}

radi_status rdi_dicom_files_load(radi_ctx *ctx, const char *path, const char *series_uid, int keep_bytes,
                                 rdi_dicom_files *out)
{
    memset(out, 0, sizeof *out);
    cand *c = NULL;
    size_t nc = 0;
    RDI_TRY(list_candidates(ctx->vfs, path, &c, &nc, &out->not_dicom));
    radi_status s = RADI_OK;
    size_t cap = nc ? nc : 1, bcap = RDI_MIN(cap, (size_t)BATCH_FILES);
    out->uris = rdi_calloc(cap, sizeof *out->uris);
    out->bytes = rdi_calloc(cap, sizeof *out->bytes);
    out->slab = rdi_calloc(cap, sizeof *out->slab);
    out->infos = rdi_calloc(cap, sizeof *out->infos);
    rdi_vfs_range *r = rdi_calloc(bcap, sizeof *r);
    rdi_buf *b = rdi_calloc(bcap, sizeof *b);
    rdi_dcm_slab **sl = rdi_calloc(bcap, sizeof *sl);
    rdi_dcm_info **info = rdi_calloc(bcap, sizeof *info);
    if (!out->uris || !out->bytes || !out->slab || !out->infos || !r || !b || !sl || !info) s = RADI_E_NOMEM;
    for (size_t lo = 0; lo < nc && s == RADI_OK;) {
        /* One batch: one vectored read (parallel GETs on S3). */
        size_t hi = lo;
        uint64_t bytes = 0;
        while (hi < nc && hi - lo < BATCH_FILES && (hi == lo || bytes + c[hi].size <= BATCH_BYTES))
            bytes += c[hi++].size;
        for (size_t i = lo; i < hi && s == RADI_OK; i++)
            if (c[i].size > SIZE_MAX / 2)
                s = rdi_error(RADI_E_UNSUPPORTED, "%s: %llu bytes is too large for a DICOM file", c[i].uri,
                              (unsigned long long)c[i].size);
        if (s == RADI_OK) s = make_slabs(&c[lo], hi - lo, b, sl); /* read whole */
        for (size_t i = lo; i < hi && s == RADI_OK; i++)
            r[i - lo] = (rdi_vfs_range){c[i].uri, 0, c[i].size, b[i - lo].data, RADI_OK};
        int batched = reads_many(ctx->vfs, c[lo].uri);
        if (s == RADI_OK && batched) s = rdi_vfs_read_many(ctx->vfs, r, hi - lo);
        parse_job pj = {batched ? NULL : ctx->vfs, &c[lo], b, info};
        if (s == RADI_OK) s = rdi_pool_for(ctx->pool, hi - lo, parse_task, &pj);
        for (size_t i = lo; i < hi && s == RADI_OK; i++)
            take_file(out, &c[i], &b[i - lo], &sl[i - lo], &info[i - lo], series_uid, keep_bytes);
        for (size_t i = lo; i < hi; i++) {
            rdi_dcm_info_free(info[i - lo]); /* parsed before another file failed */
            info[i - lo] = NULL;
            slab_unref(&sl[i - lo], &b[i - lo]);
        }
        lo = hi;
    }
    for (size_t i = 0; i < nc; i++) free(c[i].uri);
    free(c);
    free(r);
    free(b);
    free(sl);
    free(info);
    return s;
}

/* ------------------------------------------------------------------ pick -- */


/* "'desc' #5 CT, 120 files (part 2 of 3), uid 1.2.3" for each series in [lo, hi). */
static void list_series(rdi_buf *m, const rdi_dcm_series *s, size_t n, const char *only_uid)
{
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        if (only_uid && strcmp(s[i].series_uid, only_uid) != 0) continue;
        if (shown++ == 12) {
            rdi_msg_add(m, "; ...");
            break;
        }
        char num[24] = "";
        if (s[i].series_number >= 0) snprintf(num, sizeof num, " #%d", s[i].series_number);
        rdi_msg_add(m, "%s'%s'%s %s, %zu file%s", shown > 1 ? "; " : "", s[i].description, num,
                s[i].modality[0] ? s[i].modality : "(no modality)", s[i].nfiles, s[i].nfiles == 1 ? "" : "s");
        if (s[i].nparts > 1) rdi_msg_add(m, " (part %u of %u)", s[i].part + 1, s[i].nparts);
        rdi_msg_add(m, ", uid %s", s[i].series_uid);
    }
}

/* What was skipped, for a "no series" message. */
static void list_skipped(rdi_buf *m, const rdi_dicom_files *f, const rdi_dcm_skipped *sk)
{
    rdi_msg_add(m, "%zu DICOM file%s", f->n, f->n == 1 ? "" : "s");
    if (sk->no_pixels) rdi_msg_add(m, ", %zu without an image (e.g. %s)", sk->no_pixels, sk->first_no_pixels);
    if (sk->not_image) rdi_msg_add(m, ", %zu of a non-image class (e.g. %s)", sk->not_image, sk->first_not_image);
    if (f->not_dicom) rdi_msg_add(m, ", %zu other file%s skipped", f->not_dicom, f->not_dicom == 1 ? "" : "s");
    if (f->other_series) rdi_msg_add(m, ", %zu of other series", f->other_series);
}

radi_status rdi_dicom_files_pick(const rdi_dicom_files *f, const char *path, const char *series_uid,
                                 rdi_dcm_series **series, size_t *nseries, size_t *pick)
{
    *series = NULL;
    *nseries = 0;
    const char **names = rdi_calloc(f->n ? f->n : 1, sizeof *names);
    if (!names) return RADI_E_NOMEM;
    for (size_t i = 0; i < f->n; i++) names[i] = f->uris[i];
    rdi_dcm_series *s = NULL;
    size_t ns = 0;
    rdi_dcm_skipped sk;
    radi_status st = rdi_dcm_group((const rdi_dcm_info *const *)f->infos, f->n, names, &s, &ns, &sk);
    free(names);
    RDI_TRY(st);
    size_t hit = ns, nhit = 0;
    for (size_t i = 0; i < ns; i++)
        if (!series_uid || strcmp(s[i].series_uid, series_uid) == 0) {
            if (!nhit++) hit = i;
        }
    rdi_buf m = RDI_BUF_INIT;
    if (nhit == 0) {
        list_skipped(&m, f, &sk);
        if (series_uid && ns) {
            rdi_msg_add(&m, "; series found: ");
            list_series(&m, s, ns, NULL);
        }
        st = series_uid ? rdi_error(RADI_E_NOT_FOUND, "%s: no DICOM image series with SeriesInstanceUID %s (%s)", path,
                                    series_uid, rdi_msg_text(&m))
                        : rdi_error(RADI_E_NOT_FOUND, "%s: no DICOM image series (%s)", path, rdi_msg_text(&m));
    } else if (nhit > 1 && series_uid) {
        list_series(&m, s, ns, series_uid);
        st = rdi_error(RADI_E_INVALID, "%s: series %s changes orientation, size or pixel spacing between its files, "
                       "so it is not one volume (%zu parts: %s)", path, series_uid, nhit, rdi_msg_text(&m));
    } else if (nhit > 1) {
        list_series(&m, s, ns, NULL);
        int one_uid = 1;
        for (size_t i = 1; i < ns; i++) one_uid &= strcmp(s[i].series_uid, s[0].series_uid) == 0;
        st = one_uid ? rdi_error(RADI_E_INVALID, "%s: its series changes orientation, size or pixel spacing between "
                                 "files, so it is not one volume (%zu parts: %s)", path, ns, rdi_msg_text(&m))
                     : rdi_error(RADI_E_INVALID, "%s: %zu DICOM image series; choose one by its series UID "
                                 "(series_uid, radi ingest --series-uid): %s", path, ns, rdi_msg_text(&m));
    }
    rdi_buf_free(&m);
    if (st != RADI_OK) {
        rdi_dcm_series_free(s, ns);
        return st;
    }
    *series = s;
    *nseries = ns;
    *pick = hit;
    return RADI_OK;
}
