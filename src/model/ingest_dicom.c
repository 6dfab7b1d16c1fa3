/*
 * The public DICOM calls (include/radi/dicom.h): ingest (DICOM sets, or NIfTI and DICOM
 * sets in one call) over rdi_dataset_ingest_sets with the DICOM kind of source; the
 * series scan; and DICOM source discovery (subjects from a directory or a glob).
 */
#include <stdio.h>
#include <stdlib.h>

#include "model/dataset.h"
#include "model/dicom_files.h"
#include "model/source.h"

void radi_dicom_options_init(radi_dicom_options *opt)
{
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    opt->keep_patient_id = 0;
    opt->gap_tolerance_mm = 0.01;
    opt->gap_tolerance_rel = 0.01;
}

/* ------------------------------------------------------------------ ingest -- */

radi_status radi_dataset_ingest_images(radi_dataset *ds, size_t nnifti, const radi_ingest_collection *nifti,
                                       size_t ndicom, const radi_dicom_collection *dicom,
                                       const radi_ingest_options *opt, const radi_dicom_options *dopt)
{
    if (!ds || (nnifti && !nifti) || (ndicom && !dicom))
        return rdi_error(RADI_E_INVALID, "radi_dataset_ingest: NULL argument");
    radi_dicom_options dflt;
    if (!dopt) {
        radi_dicom_options_init(&dflt);
        dopt = &dflt;
    }
    size_t nsets = nnifti + ndicom, total = 0;
    for (size_t k = 0; k < nnifti; k++)
        if (nifti[k].sources) total += nifti[k].n;
    for (size_t k = 0; k < ndicom; k++)
        if (dicom[k].sources) total += dicom[k].n;
    rdi_ingest_set *sets = rdi_calloc(nsets ? nsets : 1, sizeof *sets);
    rdi_ingest_source *srcs = rdi_calloc(total ? total : 1, sizeof *srcs);
    rdi_dicom_desc *descs = rdi_calloc(total ? total : 1, sizeof *descs);
    if (!sets || !srcs || !descs) {
        free(sets);
        free(srcs);
        free(descs);
        return RADI_E_NOMEM;
    }
    size_t at = 0;
    for (size_t k = 0; k < nnifti; k++) {
        const radi_ingest_collection *c = &nifti[k];
        sets[k] = (rdi_ingest_set){c->name, &rdi_nifti_image_source, c->n, c->sources ? &srcs[at] : NULL};
        for (size_t i = 0; c->sources && i < c->n; i++, at++)
            srcs[at] = (rdi_ingest_source){c->sources[i].path, c->sources[i].subject_id, c->sources[i].obs_id,
                                           &c->sources[i]};
    }
    for (size_t k = 0; k < ndicom; k++) {
        const radi_dicom_collection *c = &dicom[k];
        sets[nnifti + k] = (rdi_ingest_set){c->name, &rdi_dicom_image_source, c->n, c->sources ? &srcs[at] : NULL};
        for (size_t i = 0; c->sources && i < c->n; i++, at++) {
            descs[at] = (rdi_dicom_desc){&c->sources[i], dopt};
            srcs[at] = (rdi_ingest_source){c->sources[i].path, c->sources[i].subject_id, c->sources[i].obs_id,
                                           &descs[at]};
        }
    }
    radi_status s = rdi_dataset_ingest_sets(ds, nsets, sets, opt);
    free(sets);
    free(srcs);
    free(descs);
    return s;
}

radi_status radi_dataset_ingest_dicoms(radi_dataset *ds, size_t ncollections, const radi_dicom_collection *collections,
                                       const radi_ingest_options *opt, const radi_dicom_options *dopt)
{
    return radi_dataset_ingest_images(ds, 0, NULL, ncollections, collections, opt, dopt);
}

/* -------------------------------------------------------------------- scan -- */

struct radi_dicom_series_list {
    radi_dicom_series_info *items;
    rdi_strlist strs; /* owns the strings items point to */
    size_t n;
};

static const char *keep(rdi_strlist *l, const char *s)
{
    return rdi_strlist_push(l, s) == RADI_OK ? l->items[l->n - 1] : NULL;
}

radi_status radi_dicom_scan(radi_ctx *ctx, const char *path, radi_dicom_series_list **out)
{
    if (!ctx || !path || !out) return rdi_error(RADI_E_INVALID, "radi_dicom_scan: NULL argument");
    *out = NULL;
    rdi_dicom_files f;
    radi_status s = rdi_dicom_files_load(ctx, path, NULL, 0, &f);
    rdi_dcm_series *ser = NULL;
    size_t ns = 0;
    const char **names = s == RADI_OK ? rdi_calloc(f.n ? f.n : 1, sizeof *names) : NULL;
    if (s == RADI_OK && !names) s = RADI_E_NOMEM;
    for (size_t i = 0; s == RADI_OK && i < f.n; i++) names[i] = f.uris[i];
    if (s == RADI_OK) s = rdi_dcm_group((const rdi_dcm_info *const *)f.infos, f.n, names, &ser, &ns, NULL);
    free(names);
    radi_dicom_series_list *l = s == RADI_OK ? rdi_calloc(1, sizeof *l) : NULL;
    if (s == RADI_OK && !l) s = RADI_E_NOMEM;
    if (s == RADI_OK && !(l->items = rdi_calloc(ns ? ns : 1, sizeof *l->items))) s = RADI_E_NOMEM;
    for (size_t i = 0; i < ns && s == RADI_OK; i++) {
        radi_dicom_series_info *it = &l->items[i];
        it->series_uid = keep(&l->strs, ser[i].series_uid);
        it->modality = keep(&l->strs, ser[i].modality);
        it->series_description = keep(&l->strs, ser[i].description);
        if (!it->series_uid || !it->modality || !it->series_description) s = RADI_E_NOMEM;
        it->series_number = ser[i].series_number;
        it->nfiles = ser[i].nfiles;
        it->nframes = ser[i].nframes;
        it->rows = ser[i].rows;
        it->cols = ser[i].cols;
        l->n = i + 1;
    }
    rdi_dcm_series_free(ser, ns);
    rdi_dicom_files_free(&f);
    if (s != RADI_OK) {
        radi_dicom_series_list_free(l);
        return s;
    }
    *out = l;
    return RADI_OK;
}

size_t radi_dicom_series_count(const radi_dicom_series_list *l) { return l ? l->n : 0; }

const radi_dicom_series_info *radi_dicom_series_at(const radi_dicom_series_list *l, size_t i)
{
    return l && i < l->n ? &l->items[i] : NULL;
}

void radi_dicom_series_list_free(radi_dicom_series_list *l)
{
    if (!l) return;
    free(l->items);
    rdi_strlist_free(&l->strs);
    free(l);
}

/* --------------------------------------------------------------- discovery -- */

struct radi_dicom_source_list {
    radi_dicom_source *items;
    rdi_strlist paths, sids; /* own the strings items point to */
    size_t n;
};

size_t radi_dicom_source_list_count(const radi_dicom_source_list *l) { return l ? l->n : 0; }

const radi_dicom_source *radi_dicom_source_list_items(const radi_dicom_source_list *l) { return l ? l->items : NULL; }

void radi_dicom_source_list_free(radi_dicom_source_list *l)
{
    if (!l) return;
    free(l->items);
    rdi_strlist_free(&l->paths);
    rdi_strlist_free(&l->sids);
    free(l);
}

/* The last segment of a path ("a/b/" gives "b"), malloc'd. */
static char *last_segment(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    size_t b = n;
    while (b > 0 && path[b - 1] != '/') b--;
    return rdi_strndup(path + b, n - b);
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

/* Whether dir directly holds a file that probes as DICOM (its first 132 bytes read;
 * hidden names and DICOMDIR skipped). Also lists its subdirectories into subdirs. */
static radi_status probe_dir(rdi_vfs *vfs, const char *dir, int *has_dicom, rdi_strlist *subdirs)
{
    *has_dicom = 0;
    rdi_dirlist ls = {NULL, 0};
    RDI_TRY(rdi_vfs_ls(vfs, dir, &ls));
    radi_status s = RADI_OK;
    size_t nf = 0;
    rdi_vfs_range *r = rdi_calloc(ls.n ? ls.n : 1, sizeof *r);
    uint8_t(*head)[132] = rdi_calloc(ls.n ? ls.n : 1, 132);
    char **uris = rdi_calloc(ls.n ? ls.n : 1, sizeof *uris);
    if (!r || !head || !uris) s = RADI_E_NOMEM;
    for (size_t i = 0; i < ls.n && s == RADI_OK; i++) {
        const rdi_dirent *e = &ls.items[i];
        if (e->name[0] == '.') continue;
        char *p = rdi_path_join(dir, e->name);
        if (!p) {
            s = RADI_E_NOMEM;
            break;
        }
        if (e->is_dir) {
            s = rdi_strlist_push_owned(subdirs, p);
            continue;
        }
        char lc[9] = "";
        size_t k = 0;
        for (; e->name[k] && k < 8; k++) lc[k] = (char)lower((unsigned char)e->name[k]);
        lc[k] = '\0';
        if (e->size < 8 || (!e->name[k] && strcmp(lc, "dicomdir") == 0)) {
            free(p);
            continue;
        }
        uris[nf] = p;
        r[nf] = (rdi_vfs_range){p, 0, RDI_MIN(e->size, (uint64_t)132), head[nf], RADI_OK};
        nf++;
    }
    /* Most directories answer with their first file; read a few at a time. */
    for (size_t lo = 0; lo < nf && s == RADI_OK && !*has_dicom; lo += 16) {
        size_t hi = RDI_MIN(nf, lo + 16);
        s = rdi_vfs_read_many(vfs, r + lo, hi - lo);
        for (size_t i = lo; i < hi && s == RADI_OK; i++)
            if (rdi_dcm_probe(head[i], (size_t)r[i].len)) *has_dicom = 1;
    }
    for (size_t i = 0; i < nf; i++) free(uris[i]);
    free(uris);
    free(r);
    free(head);
    rdi_dirlist_free(&ls);
    return s;
}

/* Without a ".dcm" extension (any case). */
static char *file_subject(const char *path)
{
    char *b = last_segment(path);
    size_t n = b ? strlen(b) : 0;
    if (n > 4 && b[n - 4] == '.' && lower((unsigned char)b[n - 3]) == 'd' && lower((unsigned char)b[n - 2]) == 'c' &&
        lower((unsigned char)b[n - 1]) == 'm')
        b[n - 4] = '\0';
    return b;
}

/* How many literal segments follow the last segment of pattern that has a wildcard. */
static size_t trailing_literals(const char *pattern)
{
    const char *path = strstr(pattern, "://");
    path = path ? path + 3 : pattern;
    size_t count = 0;
    const char *p = path + strlen(path);
    /* Walk the segments from the end. */
    while (p > path) {
        const char *e = p;
        while (p > path && p[-1] != '/') p--;
        size_t len = (size_t)(e - p);
        if (len) {
            int wild = 0;
            for (size_t i = 0; i < len; i++) wild |= p[i] == '*' || p[i] == '?' || p[i] == '[';
            if (wild) return count;
            count++;
        }
        if (p > path) p--;
    }
    return count;
}

/* The segment of a match that the last wildcard segment matched. */
static char *glob_subject(const char *match, size_t skip)
{
    size_t n = strlen(match);
    while (n > 1 && match[n - 1] == '/') n--;
    for (size_t k = 0; k < skip && n > 0; k++) {
        while (n > 0 && match[n - 1] != '/') n--;
        while (n > 0 && match[n - 1] == '/') n--;
    }
    size_t b = n;
    while (b > 0 && match[b - 1] != '/') b--;
    return rdi_strndup(match + b, n - b);
}

/* The (path, subject) pairs of pattern. */
static radi_status find_subjects(rdi_vfs *vfs, const char *pattern, const char *collection, rdi_strlist *paths,
                                 rdi_strlist *sids)
{
    size_t n = strlen(pattern);
    if (rdi_pattern_is_glob(pattern)) {
        rdi_strlist m = RDI_STRLIST_INIT;
        radi_status s = rdi_pattern_expand(vfs, pattern, 1, &m);
        size_t skip = trailing_literals(pattern);
        rdi_strlist_sort(&m);
        for (size_t i = 0; i < m.n && s == RADI_OK; i++) {
            char *sid = glob_subject(m.items[i], skip);
            s = sid ? rdi_strlist_push_owned(sids, sid) : RADI_E_NOMEM;
            if (s == RADI_OK) s = rdi_strlist_push(paths, m.items[i]);
        }
        size_t found = m.n;
        rdi_strlist_free(&m);
        RDI_TRY(s);
        if (!found)
            return rdi_error(RADI_E_NOT_FOUND, "%s: no directories match (collection %s: DICOM subjects are "
                             "directories)", pattern, collection);
        return RADI_OK;
    }
    int kind = 0;
    RDI_TRY(rdi_vfs_kind(vfs, pattern, &kind));
    if (kind == 0 && n && pattern[n - 1] == '/') kind = 2;
    if (kind == 0) return rdi_error(RADI_E_NOT_FOUND, "%s: no files match (collection %s)", pattern, collection);
    if (kind == 1) {
        char *sid = file_subject(pattern);
        RDI_TRY(sid ? rdi_strlist_push_owned(sids, sid) : RADI_E_NOMEM);
        return rdi_strlist_push(paths, pattern);
    }
    int has_dicom = 0;
    rdi_strlist subdirs = RDI_STRLIST_INIT;
    radi_status s = probe_dir(vfs, pattern, &has_dicom, &subdirs);
    if (s == RADI_OK && has_dicom) {
        /* The directory is one subject's series. */
        char *sid = last_segment(pattern);
        s = sid ? rdi_strlist_push_owned(sids, sid) : RADI_E_NOMEM;
        if (s == RADI_OK) s = rdi_strlist_push(paths, pattern);
    } else if (s == RADI_OK) {
        for (size_t i = 0; i < subdirs.n && s == RADI_OK; i++) {
            char *sid = last_segment(subdirs.items[i]);
            s = sid ? rdi_strlist_push_owned(sids, sid) : RADI_E_NOMEM;
            if (s == RADI_OK) s = rdi_strlist_push(paths, subdirs.items[i]);
        }
        if (s == RADI_OK && subdirs.n == 0)
            s = rdi_error(RADI_E_NOT_FOUND, "%s: no DICOM files and no subject subdirectories in this directory "
                          "(collection %s)", pattern, collection);
    }
    rdi_strlist_free(&subdirs);
    return s;
}

radi_status radi_dicom_sources_from_pattern(radi_ctx *ctx, const char *pattern, const char *collection,
                                            radi_dicom_source_list **out)
{
    if (!ctx || !pattern || !collection || !out)
        return rdi_error(RADI_E_INVALID, "radi_dicom_sources_from_pattern: NULL argument");
    *out = NULL;
    if (!*pattern) return rdi_error(RADI_E_INVALID, "collection %s: empty pattern", collection);
    radi_dicom_source_list *l = rdi_calloc(1, sizeof *l);
    if (!l) return RADI_E_NOMEM;
    radi_status s = find_subjects(ctx->vfs, pattern, collection, &l->paths, &l->sids);
    if (s == RADI_OK && !(l->items = rdi_calloc(l->paths.n ? l->paths.n : 1, sizeof *l->items))) s = RADI_E_NOMEM;
    for (size_t i = 0; i < l->paths.n && s == RADI_OK; i++)
        l->items[i] = (radi_dicom_source){l->paths.items[i], l->sids.items[i], NULL, NULL};
    if (s == RADI_OK) l->n = l->paths.n;
    if (s == RADI_OK) s = rdi_sources_sort_unique(l->items, l->n, sizeof *l->items, collection);
    if (s != RADI_OK) {
        radi_dicom_source_list_free(l);
        return s;
    }
    *out = l;
    return RADI_OK;
}
