/*
 * Array and group metadata (docs/format.md §11): generic tiles in
 * <uri>/__meta holding `u32 keylen | key | u8 del | [u8 type | u32 n | values]` records.
 * Files fully inside the open range are applied in t1 order; a consolidated file's .vac
 * hides its inputs.
 */
#include <stdlib.h>

#include "tdb/tdb.h"
#include "tdb/prefetch.h"


/* Types radi_datatype does not name are kept as raw bytes of their TileDB size. */
size_t rdi_meta_type_size(uint8_t t)
{
    size_t sz = radi_datatype_size((radi_datatype)t);
    if (sz) return sz;
    if (t == 13 || t == 15) return 2;       /* UTF-16, UCS2 */
    if (t == 14 || t == 16) return 4;       /* UTF-32, UCS4 */
    if (t >= 18 && t <= 39) return 8;       /* DATETIME_*, TIME_* */
    return 0;
}

void rdi_meta_clear(radi_meta *m)
{
    if (!m) return;
    for (uint64_t i = 0; i < m->n; i++) {
        free(m->entries[i].key);
        free(m->entries[i].value);
    }
    free(m->entries);
    free(m->uri);
    memset(m, 0, sizeof *m);
}

/* Binary search: index of key, or where it would go (*found = 0). */
static uint64_t find(const radi_meta *m, const char *key, int *found)
{
    uint64_t lo = 0, hi = m->n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->entries[mid].key, key);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = 0;
    return lo;
}

static void remove_key(radi_meta *m, const char *key)
{
    int found;
    uint64_t i = find(m, key, &found);
    if (!found) return;
    free(m->entries[i].key);
    free(m->entries[i].value);
    memmove(&m->entries[i], &m->entries[i + 1], (size_t)(m->n - i - 1) * sizeof *m->entries);
    m->n--;
}

/* Sets key to a copy of the value; replaces an existing entry. */
static radi_status set_key(radi_meta *m, const char *key, uint8_t type, uint32_t count,
                           const void *value, size_t nbytes)
{
    uint8_t *v = NULL;
    if (nbytes) {
        if (!(v = rdi_malloc(nbytes))) return RADI_E_NOMEM;
        memcpy(v, value, nbytes);
    }
    int found;
    uint64_t i = find(m, key, &found);
    if (found) {
        free(m->entries[i].value);
    } else {
        char *k = rdi_strdup(key);
        rdi_meta_entry *e = k ? realloc(m->entries, (size_t)(m->n + 1) * sizeof *e) : NULL;
        if (!e) {
            free(k);
            free(v);
            return rdi_nomem();
        }
        m->entries = e;
        memmove(&e[i + 1], &e[i], (size_t)(m->n - i) * sizeof *e);
        e[i].key = k;
        m->n++;
    }
    m->entries[i].type = (radi_datatype)type;
    m->entries[i].count = count;
    m->entries[i].value = v;
    return RADI_OK;
}

/* Applies the records of one decoded metadata file. */
static radi_status apply_file(radi_meta *m, const uint8_t *p, size_t len, const char *what)
{
    rdi_rd r;
    rdi_rd_init(&r, p, len, what);
    while (rdi_rd_left(&r) > 0) {
        uint32_t klen, count = 0;
        uint8_t del, type = 0;
        const uint8_t *kp, *vp = NULL;
        RDI_TRY(rdi_rd_u32(&r, &klen, "metadata key length"));
        RDI_TRY(rdi_rd_view(&r, &kp, klen, "metadata key"));
        if (klen == 0 || memchr(kp, 0, klen))
            return rdi_error(RADI_E_CORRUPT, "%s: metadata key at byte %zu is empty or contains NUL",
                             what, r.pos - klen);
        RDI_TRY(rdi_rd_u8(&r, &del, "metadata deletion flag"));
        size_t nbytes = 0;
        if (!del) {
            RDI_TRY(rdi_rd_u8(&r, &type, "metadata value type"));
            RDI_TRY(rdi_rd_u32(&r, &count, "metadata value count"));
            size_t vs = rdi_meta_type_size(type);
            if (!vs)
                return rdi_error(RADI_E_UNSUPPORTED, "%s: metadata key '%.*s' has unknown type code %u",
                                 what, (int)klen, (const char *)kp, type);
            if ((uint64_t)count * vs > rdi_rd_left(&r))
                return rdi_error(RADI_E_CORRUPT, "%s: metadata key '%.*s': %u values run past the end",
                                 what, (int)klen, (const char *)kp, count);
            nbytes = (size_t)count * vs;
            RDI_TRY(rdi_rd_view(&r, &vp, nbytes, "metadata value"));
        }
        char *key = rdi_strndup((const char *)kp, klen);
        if (!key) return RADI_E_NOMEM;
        radi_status s = RADI_OK;
        if (del) remove_key(m, key);
        else s = set_key(m, key, type, count, vp, nbytes);
        free(key);
        RDI_TRY(s);
    }
    return RADI_OK;
}

typedef struct meta_file {
    const char *name;
    rdi_tsname ts;
} meta_file;

static int cmp_meta_file(const void *x, const void *y)
{
    const meta_file *a = x, *b = y;
    if (a->ts.t1 != b->ts.t1) return a->ts.t1 < b->ts.t1 ? -1 : 1;
    return strcmp(a->name, b->name);
}

static int inside(uint64_t t1, uint64_t t2, uint64_t lo, uint64_t hi) { return t1 >= lo && t2 <= hi; }

/* Names listed by the visible .vac files (files consolidated into a newer one). */
static radi_status vacuumed(radi_ctx *ctx, const rdi_snap *snap, const char *dir, const rdi_dirlist *ls,
                            uint64_t t_start,
                            uint64_t t_end, rdi_strlist *out)
{
    radi_status s = RADI_OK;
    rdi_buf text = RDI_BUF_INIT;
    for (size_t i = 0; i < ls->n && s == RADI_OK; i++) {
        const char *n = ls->items[i].name;
        size_t nl = strlen(n);
        if (ls->items[i].is_dir || nl < 4 || strcmp(n + nl - 4, ".vac") != 0) continue;
        char *stem = rdi_strndup(n, nl - 4), *file = rdi_path_join(dir, n);
        rdi_tsname tn;
        if (!stem || !file) s = RADI_E_NOMEM;
        else if ((s = rdi_tsname_parse(stem, &tn))) rdi_error_wrap(s, "%s", file);
        else if (inside(tn.t1, tn.t2, t_start, t_end) &&
                 (s = rdi_snap_read_all(snap, ctx->vfs, file, &text)) == RADI_OK) {
            /* An empty file reads as no buffer at all. */
            const char *p = text.data ? (const char *)text.data : "", *end = p + text.len;
            while (p < end && s == RADI_OK) {
                const char *nlp = memchr(p, '\n', (size_t)(end - p));
                const char *stop = nlp ? nlp : end;
                /* Lines are "/__meta/<name>" or an absolute URI: keep what follows __meta/. */
                const char *hit = NULL;
                for (const char *q = p; q + 7 <= stop; q++)
                    if (memcmp(q, META_DIR "/", 7) == 0) hit = q + 7;
                if (hit && hit < stop) {
                    char *t = rdi_strndup(hit, (size_t)(stop - hit));
                    if (!t || rdi_strlist_push_owned(out, t)) s = RADI_E_NOMEM;
                }
                p = nlp ? nlp + 1 : end;
            }
            rdi_buf_free(&text);
        }
        free(stem);
        free(file);
    }
    return s;
}

static int listed(const rdi_strlist *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i], name) == 0) return 1;
    return 0;
}

radi_status rdi_meta_load(radi_ctx *ctx, const char *uri, uint64_t t_start, uint64_t t_end,
                          uint32_t version, radi_meta *m)
{
    return rdi_meta_load_snap(ctx, NULL, uri, t_start, t_end, version, m);
}

radi_status rdi_meta_load_snap(radi_ctx *ctx, const rdi_snap *snap, const char *uri, uint64_t t_start,
                               uint64_t t_end, uint32_t version, radi_meta *m)
{
    memset(m, 0, sizeof *m);
    m->ctx = ctx;
    m->version = version;
    if (!(m->uri = rdi_uri_normalize(uri))) return RADI_E_NOMEM;
    char *dir = rdi_path_join(m->uri, META_DIR);
    if (!dir) return RADI_E_NOMEM;
    rdi_dirlist ls = {NULL, 0};
    rdi_strlist gone = RDI_STRLIST_INIT;
    rdi_buf payload = RDI_BUF_INIT;
    rdi_scratch *scratch = NULL;
    meta_file *files = NULL;
    size_t nfiles = 0;
    radi_status s = rdi_snap_ls(snap, ctx->vfs, dir, &ls);
    if (s == RADI_OK) s = vacuumed(ctx, snap, dir, &ls, t_start, t_end, &gone);
    if (s == RADI_OK && ls.n && !(files = rdi_calloc(ls.n, sizeof *files))) s = RADI_E_NOMEM;
    for (size_t i = 0; i < ls.n && s == RADI_OK; i++) {
        const char *n = ls.items[i].name;
        if (ls.items[i].is_dir || strncmp(n, "__", 2) != 0 || strchr(n, '.')) continue;
        rdi_tsname tn;
        if ((s = rdi_tsname_parse(n, &tn))) {
            rdi_error_wrap(s, "%s", dir);
            break;
        }
        m->last_t = RDI_MAX(m->last_t, tn.t2);
        if (!inside(tn.t1, tn.t2, t_start, t_end) || listed(&gone, n)) continue;
        files[nfiles].name = n;
        files[nfiles].ts = tn;
        nfiles++;
    }
    if (nfiles > 1) qsort(files, nfiles, sizeof *files, cmp_meta_file);
    if (s == RADI_OK && nfiles) s = rdi_scratch_create(&scratch);
    for (size_t i = 0; i < nfiles && s == RADI_OK; i++) {
        char *file = rdi_path_join(dir, files[i].name);
        if (!file) { s = RADI_E_NOMEM; break; }
        s = rdi_generic_tile_read_snap(ctx->vfs, snap, file, 0, scratch, &payload);
        if (s == RADI_OK) s = apply_file(m, payload.data, payload.len, file);
        free(file);
    }
    rdi_scratch_free(scratch);
    rdi_buf_free(&payload);
    free(files);
    rdi_strlist_free(&gone);
    rdi_dirlist_free(&ls);
    free(dir);
    if (s != RADI_OK) {
        rdi_meta_clear(m);
        return s;
    }
    return RADI_OK;
}

radi_status rdi_meta_record(rdi_buf *out, const char *key, int del, uint8_t type, uint32_t count,
                            const void *value, size_t nbytes)
{
    RDI_TRY(rdi_buf_put_str32(out, key));
    RDI_TRY(rdi_buf_put_u8(out, (uint8_t)(del ? 1 : 0)));
    if (del) return RADI_OK;
    RDI_TRY(rdi_buf_put_u8(out, type));
    RDI_TRY(rdi_buf_put_u32(out, count));
    return rdi_buf_append(out, value, nbytes);
}

radi_status rdi_meta_serialize(const radi_meta *m, rdi_buf *out)
{
    for (uint64_t i = 0; i < m->n; i++) {
        const rdi_meta_entry *e = &m->entries[i];
        RDI_TRY(rdi_meta_record(out, e->key, 0, (uint8_t)e->type, e->count, e->value,
                                (size_t)e->count * rdi_meta_type_size((uint8_t)e->type)));
    }
    return RADI_OK;
}

/* Writes one new metadata file whose payload is the records in rec. */
static radi_status write_records(radi_meta *m, const rdi_buf *rec)
{
    rdi_buf tile = RDI_BUF_INIT;
    rdi_scratch *scratch = NULL;
    char *name = NULL, *file = NULL;
    /* Distinct, increasing timestamps so this file applies after every existing one. */
    uint64_t t = RDI_MAX(rdi_now_ms(), m->last_t + 1);
    radi_status s = rdi_scratch_create(&scratch);
    if (s == RADI_OK) s = rdi_generic_tile_encode(rec->data, rec->len, m->version, scratch, &tile);
    if (s == RADI_OK) s = rdi_tsname_make(t, t, 0, &name);
    if (s == RADI_OK && !(file = rdi_asprintf("%s/" META_DIR "/%s", m->uri, name))) s = RADI_E_NOMEM;
    if (s == RADI_OK) rdi_wait_for_clock(t);
    if (s == RADI_OK) s = rdi_vfs_write(m->ctx->vfs, file, tile.data, tile.len);
    if (s == RADI_OK) m->last_t = t;
    rdi_scratch_free(scratch);
    rdi_buf_free(&tile);
    free(name);
    free(file);
    return s;
}

/* Writes one new metadata file holding one record (a value, or a deletion when del). */
static radi_status write_record(radi_meta *m, const char *key, int del, uint8_t type,
                                uint32_t count, const void *value, size_t nbytes)
{
    rdi_buf rec = RDI_BUF_INIT;
    radi_status s = rdi_meta_record(&rec, key, del, type, count, value, nbytes);
    if (s == RADI_OK) s = write_records(m, &rec);
    rdi_buf_free(&rec);
    return s;
}

static radi_status check_key(const radi_meta *m, const char *key, const char *fn)
{
    if (!m || !key) return rdi_error(RADI_E_INVALID, "%s: NULL argument", fn);
    if (!m->ctx || !m->uri) return rdi_error(RADI_E_INVALID, "%s: metadata handle is not open", fn);
    if (!*key) return rdi_error(RADI_E_INVALID, "%s: empty key", fn);
    if (strlen(key) > UINT32_MAX) return rdi_error(RADI_E_INVALID, "%s: key too long", fn);
    return RADI_OK;
}

/* Validates one value and gives its size in bytes. */
static radi_status check_value(const radi_meta *m, const char *key, radi_datatype type, uint32_t count,
                               const void *value, const char *fn, size_t *nbytes)
{
    RDI_TRY(check_key(m, key, fn));
    size_t vs = ((unsigned)type <= 255) ? rdi_meta_type_size((uint8_t)type) : 0;
    if (!vs || type == RADI_ANY)
        return rdi_error(RADI_E_INVALID, "%s: metadata '%s': unsupported type %d", m->uri, key, (int)type);
    if (count && !value)
        return rdi_error(RADI_E_INVALID, "%s: metadata '%s': value is NULL", m->uri, key);
    if ((uint64_t)count * vs > (uint64_t)1 << 31)
        return rdi_error(RADI_E_INVALID, "%s: metadata '%s': value of %u x %zu bytes is too large",
                         m->uri, key, count, vs);
    *nbytes = (size_t)count * vs;
    return RADI_OK;
}

radi_status radi_meta_put(radi_meta *m, const char *key, radi_datatype type, uint32_t count,
                          const void *value)
{
    radi_meta_item item = {key, type, count, value};
    return radi_meta_put_many(m, 1, &item);
}

static int cmp_item_key(const void *a, const void *b)
{
    return strcmp((*(const radi_meta_item *const *)a)->key, (*(const radi_meta_item *const *)b)->key);
}

radi_status radi_meta_put_many(radi_meta *m, uint32_t n, const radi_meta_item *items)
{
    if (n == 0) return RADI_OK;
    if (!items) return rdi_error(RADI_E_INVALID, "radi_meta_put_many: items is NULL");
    /* TileDB writes the keys of one file in sorted order. */
    const radi_meta_item **sorted = rdi_calloc(n, sizeof *sorted);
    if (!sorted) return RADI_E_NOMEM;
    for (uint32_t i = 0; i < n; i++) sorted[i] = &items[i];
    qsort(sorted, n, sizeof *sorted, cmp_item_key);
    rdi_buf rec = RDI_BUF_INIT;
    radi_status s = RADI_OK;
    for (uint32_t i = 0; i < n && s == RADI_OK; i++) {
        const radi_meta_item *it = sorted[i];
        size_t nbytes = 0;
        s = check_value(m, it->key, it->type, it->count, it->value, "radi_meta_put", &nbytes);
        if (s == RADI_OK && i > 0 && strcmp(sorted[i - 1]->key, it->key) == 0)
            s = rdi_error(RADI_E_INVALID, "%s: metadata '%s' given twice in one batch", m->uri, it->key);
        if (s == RADI_OK) s = rdi_meta_record(&rec, it->key, 0, (uint8_t)it->type, it->count, it->value, nbytes);
    }
    if (s == RADI_OK) s = write_records(m, &rec);
    for (uint32_t i = 0; i < n && s == RADI_OK; i++) {
        const radi_meta_item *it = sorted[i];
        s = set_key(m, it->key, (uint8_t)it->type, it->count, it->value,
                    (size_t)it->count * rdi_meta_type_size((uint8_t)it->type));
    }
    rdi_buf_free(&rec);
    free(sorted);
    return s;
}

radi_status radi_meta_delete(radi_meta *m, const char *key)
{
    RDI_TRY(check_key(m, key, "radi_meta_delete"));
    /* Written even when the key looks absent: another writer may have added it. */
    RDI_TRY(write_record(m, key, 1, 0, 0, NULL, 0));
    remove_key(m, key);
    return RADI_OK;
}

radi_status radi_meta_get(const radi_meta *m, const char *key, radi_datatype *type, uint32_t *count,
                          const void **value)
{
    if (!m || !key) return rdi_error(RADI_E_INVALID, "radi_meta_get: NULL argument");
    int found;
    uint64_t i = find(m, key, &found);
    if (!found)
        return rdi_error(RADI_E_NOT_FOUND, "%s: no metadata key '%s'", m->uri ? m->uri : "metadata", key);
    if (type) *type = m->entries[i].type;
    if (count) *count = m->entries[i].count;
    if (value) *value = m->entries[i].value;
    return RADI_OK;
}

uint64_t radi_meta_count(const radi_meta *m) { return m ? m->n : 0; }

radi_status radi_meta_at(const radi_meta *m, uint64_t i, const char **key, radi_datatype *type,
                         uint32_t *count, const void **value)
{
    if (!m) return rdi_error(RADI_E_INVALID, "radi_meta_at: NULL argument");
    if (i >= m->n)
        return rdi_error(RADI_E_NOT_FOUND, "%s: metadata index %llu out of %llu", m->uri ? m->uri : "metadata",
                         (unsigned long long)i, (unsigned long long)m->n);
    if (key) *key = m->entries[i].key;
    if (type) *type = m->entries[i].type;
    if (count) *count = m->entries[i].count;
    if (value) *value = m->entries[i].value;
    return RADI_OK;
}
