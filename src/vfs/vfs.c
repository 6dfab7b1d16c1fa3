/* Dispatch of VFS calls to the backend for the URI's scheme. */
#include <stdlib.h>

#include "vfs/vfs.h"

struct rdi_vfs {
    const rdi_vfs_ops *local_ops;
    void *local_self;
    const rdi_vfs_ops *s3_ops;   /* NULL until the context installs one */
    void *s3_self;
    pid_t pid;                   /* the creating process (backends' connections live there) */
};

void rdi_dirlist_free(rdi_dirlist *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->items[i].name);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

radi_status rdi_vfs_create(rdi_vfs **out)
{
    rdi_vfs *v = rdi_calloc(1, sizeof *v);
    if (!v) return RADI_E_NOMEM;
    v->local_ops = &rdi_vfs_posix_ops;
    v->pid = getpid();
    *out = v;
    return RADI_OK;
}

void rdi_vfs_free(rdi_vfs *v)
{
    if (!v) return;
    if (getpid() != v->pid) return; /* a fork()ed child: the connections are the parent's */
    if (v->local_ops && v->local_ops->destroy) v->local_ops->destroy(v->local_self);
    if (v->s3_ops && v->s3_ops->destroy) v->s3_ops->destroy(v->s3_self);
    free(v);
}

radi_status rdi_vfs_set_local(rdi_vfs *v, const rdi_vfs_ops *ops, void *self)
{
    if (v->local_ops && v->local_ops->destroy) v->local_ops->destroy(v->local_self);
    v->local_ops = ops;
    v->local_self = self;
    return RADI_OK;
}

radi_status rdi_vfs_set_s3(rdi_vfs *v, const rdi_vfs_ops *ops, void *self)
{
    if (v->s3_ops && v->s3_ops->destroy) v->s3_ops->destroy(v->s3_self);
    v->s3_ops = ops;
    v->s3_self = self;
    return RADI_OK;
}

/* Picks the backend; unknown schemes are refused with the URI named. */
static radi_status pick(rdi_vfs *v, const char *uri, const rdi_vfs_ops **ops, void **self)
{
    if (getpid() != v->pid) return rdi_forked_error((long)v->pid);
    if (!uri || !*uri) return rdi_error(RADI_E_INVALID, "empty URI");
    const char *colon = strstr(uri, "://");
    if (colon && strncmp(uri, "file://", 7) != 0) {
        if (strncmp(uri, "s3://", 5) == 0) {
            if (!v->s3_ops)
                return rdi_error(RADI_E_UNSUPPORTED, "%s: this context has no S3 backend", uri);
            *ops = v->s3_ops;
            *self = v->s3_self;
            return RADI_OK;
        }
        return rdi_error(RADI_E_INVALID, "%s: unsupported URI scheme", uri);
    }
    *ops = v->local_ops;
    *self = v->local_self;
    return RADI_OK;
}

radi_status rdi_vfs_backend(rdi_vfs *v, const char *uri, const rdi_vfs_ops **ops, void **self)
{
    return pick(v, uri, ops, self);
}

/* pick()'s choice without its error message: an unusable URI has no flags. */
unsigned rdi_vfs_flags(rdi_vfs *v, const char *uri)
{
    if (!uri || !*uri) return 0;
    if (strncmp(uri, "s3://", 5) == 0) return v->s3_ops ? v->s3_ops->flags : 0;
    if (strstr(uri, "://") && strncmp(uri, "file://", 7) != 0) return 0;
    return v->local_ops ? v->local_ops->flags : 0;
}

#define DISPATCH(call)                            \
    const rdi_vfs_ops *ops = NULL;                \
    void *self = NULL;                            \
    RDI_TRY(pick(v, uri, &ops, &self));           \
    return ops->call

radi_status rdi_vfs_read(rdi_vfs *v, const char *uri, uint64_t off, void *buf, uint64_t len)
{
    DISPATCH(read(self, uri, off, buf, len));
}
radi_status rdi_vfs_size(rdi_vfs *v, const char *uri, uint64_t *size) { DISPATCH(size(self, uri, size)); }
radi_status rdi_vfs_write(rdi_vfs *v, const char *uri, const void *data, uint64_t len)
{
    DISPATCH(write(self, uri, data, len));
}
radi_status rdi_vfs_ls(rdi_vfs *v, const char *uri, rdi_dirlist *out) { DISPATCH(ls(self, uri, out)); }
radi_status rdi_vfs_kind(rdi_vfs *v, const char *uri, int *out) { DISPATCH(kind(self, uri, out)); }
radi_status rdi_vfs_mkdir(rdi_vfs *v, const char *uri) { DISPATCH(mkdir(self, uri)); }
radi_status rdi_vfs_remove_file(rdi_vfs *v, const char *uri) { DISPATCH(remove_file(self, uri)); }
radi_status rdi_vfs_remove_dir(rdi_vfs *v, const char *uri) { DISPATCH(remove_dir(self, uri)); }

radi_status rdi_vfs_remove_temps(rdi_vfs *v, const char *uri)
{
    const rdi_vfs_ops *ops = NULL;
    void *self = NULL;
    RDI_TRY(pick(v, uri, &ops, &self));
    return ops->remove_temps ? ops->remove_temps(self, uri) : RADI_OK;
}

radi_status rdi_vfs_move(rdi_vfs *v, const char *from, const char *to)
{
    const rdi_vfs_ops *ops = NULL, *to_ops = NULL;
    void *self = NULL, *to_self = NULL;
    RDI_TRY(pick(v, from, &ops, &self));
    RDI_TRY(pick(v, to, &to_ops, &to_self));
    if (ops != to_ops || self != to_self)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: cannot move to %s (another storage backend)", from, to);
    return ops->move(self, from, to);
}

radi_status rdi_vfs_copy_tree(rdi_vfs *v, const char *src, const char *dst)
{
    int kind = 0;
    RDI_TRY(rdi_vfs_kind(v, dst, &kind));
    if (kind) return rdi_error(RADI_E_EXISTS, "%s: cannot copy %s there: something already exists", dst, src);
    RDI_TRY(rdi_vfs_kind(v, src, &kind));
    if (kind == 0) return rdi_error(RADI_E_NOT_FOUND, "%s: nothing to copy", src);
    if (kind == 1) return rdi_vfs_copy(v, src, dst); /* server-side where the backend can */
    rdi_dirlist ls = {NULL, 0};
    radi_status s = rdi_vfs_mkdir(v, dst);
    if (s == RADI_OK) s = rdi_vfs_ls(v, src, &ls);
    for (size_t i = 0; i < ls.n && s == RADI_OK; i++) {
        char *from = rdi_path_join(src, ls.items[i].name), *to = rdi_path_join(dst, ls.items[i].name);
        s = from && to ? rdi_vfs_copy_tree(v, from, to) : RADI_E_NOMEM;
        free(from);
        free(to);
    }
    rdi_dirlist_free(&ls);
    return s;
}

/* A vectored call over items that may belong to several backends: run_fn is called for
 * each run of consecutive items one backend serves; an item whose URI no backend serves
 * gets that status. Returns the first failure in item order. */
typedef struct batch_ops {
    const char *(*uri)(void *items, size_t i);
    void (*set_status)(void *items, size_t i, radi_status s);
    radi_status (*run)(const rdi_vfs_ops *ops, void *self, void *items, size_t first, size_t n);
} batch_ops;

static radi_status by_backend(rdi_vfs *v, void *items, size_t n, const batch_ops *b)
{
    radi_status first = RADI_OK;
    size_t i = 0;
    while (i < n) {
        const rdi_vfs_ops *ops = NULL;
        void *self = NULL;
        radi_status s = pick(v, b->uri(items, i), &ops, &self);
        if (s != RADI_OK) {
            b->set_status(items, i, s);
            if (first == RADI_OK) first = s;
            i++;
            continue;
        }
        size_t j = i + 1;
        for (; j < n; j++) {
            const rdi_vfs_ops *o2 = NULL;
            void *s2 = NULL;
            if (pick(v, b->uri(items, j), &o2, &s2) != RADI_OK || o2 != ops || s2 != self) break;
        }
        s = b->run(ops, self, items, i, j - i);
        if (s != RADI_OK && first == RADI_OK) first = s;
        i = j;
    }
    return first;
}

static const char *range_uri(void *items, size_t i) { return ((rdi_vfs_range *)items)[i].uri; }
static void range_status(void *items, size_t i, radi_status s) { ((rdi_vfs_range *)items)[i].status = s; }

/* A backend without read_many reads the ranges one by one. */
static radi_status read_run(const rdi_vfs_ops *ops, void *self, void *items, size_t first, size_t n)
{
    rdi_vfs_range *r = (rdi_vfs_range *)items + first;
    if (ops->read_many) return ops->read_many(self, r, n);
    radi_status st = RADI_OK;
    for (size_t k = 0; k < n; k++) {
        r[k].status = ops->read(self, r[k].uri, r[k].off, r[k].buf, r[k].len);
        if (r[k].status != RADI_OK && st == RADI_OK) st = r[k].status;
    }
    return st;
}

radi_status rdi_vfs_read_many(rdi_vfs *v, rdi_vfs_range *r, size_t n)
{
    static const batch_ops b = {range_uri, range_status, read_run};
    /* The status of the first failing range in order (its backend set the message). */
    return by_backend(v, r, n, &b);
}

radi_status rdi_vfs_lock(rdi_vfs *v, const char *uri, uint32_t lease_ms, uint32_t wait_ms, rdi_lock_hold *out)
{
    memset(out, 0, sizeof *out);
    const rdi_vfs_ops *ops = NULL;
    void *self = NULL;
    RDI_TRY(pick(v, uri, &ops, &self));
    if (!ops->lock) return RADI_OK;
    double start = rdi_monotonic_s();
    uint64_t pause = 20;
    for (;;) {
        void *tok = NULL;
        radi_status s = ops->lock(self, uri, lease_ms, &tok);
        if (s == RADI_OK) {
            *out = (rdi_lock_hold){ops, self, tok};
            return RADI_OK;
        }
        if (s != RADI_E_BUSY) return s;
        uint64_t waited = (uint64_t)((rdi_monotonic_s() - start) * 1000.0);
        if (waited >= wait_ms)
            return rdi_error(RADI_E_BUSY, "%s: another writer holds this lock (waited %llu ms)", uri,
                             (unsigned long long)waited);
        rdi_sleep_ms((uint32_t)RDI_MIN(pause, wait_ms - waited));
        pause = RDI_MIN(pause * 2, 500);
    }
}

radi_status rdi_vfs_unlock(rdi_lock_hold *l)
{
    if (!l || !l->ops || !l->ops->unlock) return RADI_OK;
    radi_status s = l->ops->unlock(l->self, l->token);
    memset(l, 0, sizeof *l);
    return s;
}

radi_status rdi_vfs_copy(rdi_vfs *v, const char *from, const char *to)
{
    return rdi_vfs_copy_sized(v, from, to, RDI_VFS_SIZE_UNKNOWN);
}

radi_status rdi_vfs_copy_sized(rdi_vfs *v, const char *from, const char *to, uint64_t size)
{
    const rdi_vfs_ops *ops = NULL, *to_ops = NULL;
    void *self = NULL, *to_self = NULL;
    RDI_TRY(pick(v, from, &ops, &self));
    RDI_TRY(pick(v, to, &to_ops, &to_self));
    if (ops == to_ops && self == to_self && ops->copy) return ops->copy(self, from, to, size);
    rdi_buf b = RDI_BUF_INIT;
    RDI_TRY(rdi_vfs_read_all(v, from, &b));
    radi_status s = rdi_vfs_write(v, to, b.data, b.len);
    rdi_buf_free(&b);
    return s;
}

static const char *wobj_uri(void *items, size_t i) { return ((rdi_vfs_wobj *)items)[i].uri; }
static void wobj_status(void *items, size_t i, radi_status s) { ((rdi_vfs_wobj *)items)[i].status = s; }

/* A backend without write_many writes the objects one by one, stopping at the first
 * failure as single writes would. */
static radi_status write_run(const rdi_vfs_ops *ops, void *self, void *items, size_t first, size_t n)
{
    rdi_vfs_wobj *w = (rdi_vfs_wobj *)items + first;
    if (ops->write_many) return ops->write_many(self, w, n);
    for (size_t k = 0; k < n; k++) {
        w[k].status = ops->write(self, w[k].uri, w[k].data ? w[k].data : "", w[k].len);
        if (w[k].status != RADI_OK) {
            for (size_t r = k + 1; r < n; r++) w[r].status = w[k].status;
            return w[k].status;
        }
    }
    return RADI_OK;
}

radi_status rdi_vfs_write_many(rdi_vfs *v, rdi_vfs_wobj *w, size_t n)
{
    static const batch_ops b = {wobj_uri, wobj_status, write_run};
    return by_backend(v, w, n, &b);
}

/* Emulated by walking directories where the backend has no recursive listing. */
static radi_status ls_walk(rdi_vfs *v, const char *root, const char *rel, rdi_dirlist *acc, size_t *cap)
{
    char *dir = *rel ? rdi_path_join(root, rel) : rdi_strdup(root);
    if (!dir) return RADI_E_NOMEM;
    rdi_dirlist ls = {NULL, 0};
    radi_status s = rdi_vfs_ls(v, dir, &ls);
    free(dir);
    for (size_t i = 0; i < ls.n && s == RADI_OK; i++) {
        char *name = *rel ? rdi_asprintf("%s/%s", rel, ls.items[i].name) : rdi_strdup(ls.items[i].name);
        if (!name) { s = RADI_E_NOMEM; break; }
        if (ls.items[i].is_dir) {
            s = ls_walk(v, root, name, acc, cap);
            free(name);
            continue;
        }
        if (acc->n == *cap) {
            size_t nc = *cap ? *cap * 2 : 16;
            rdi_dirent *ni = realloc(acc->items, nc * sizeof *ni);
            if (!ni) { free(name); s = rdi_nomem(); break; }
            acc->items = ni;
            *cap = nc;
        }
        acc->items[acc->n].name = name;
        acc->items[acc->n].is_dir = 0;
        acc->items[acc->n].size = ls.items[i].size;
        acc->n++;
    }
    rdi_dirlist_free(&ls);
    return s;
}

static int cmp_dirent(const void *a, const void *b)
{
    return strcmp(((const rdi_dirent *)a)->name, ((const rdi_dirent *)b)->name);
}

radi_status rdi_vfs_ls_recursive(rdi_vfs *v, const char *uri, rdi_dirlist *out)
{
    const rdi_vfs_ops *ops = NULL;
    void *self = NULL;
    RDI_TRY(pick(v, uri, &ops, &self));
    if (ops->ls_recursive) return ops->ls_recursive(self, uri, out);
    rdi_dirlist acc = {NULL, 0};
    size_t cap = 0;
    radi_status s = ls_walk(v, uri, "", &acc, &cap);
    if (s != RADI_OK) {
        rdi_dirlist_free(&acc);
        return s;
    }
    if (acc.n > 1) qsort(acc.items, acc.n, sizeof *acc.items, cmp_dirent);
    *out = acc;
    return RADI_OK;
}

radi_status rdi_vfs_read_all(rdi_vfs *v, const char *uri, rdi_buf *out)
{
    uint64_t size;
    RDI_TRY(rdi_vfs_size(v, uri, &size));
    rdi_buf b = RDI_BUF_INIT;
    /* Allocated even for an empty object: the text-file parsers walk [data, data + len),
     * and NULL + 0 is undefined behaviour (an empty .vac/.ign/.con file). */
    RDI_TRY(rdi_buf_reserve(&b, 1));
    radi_status s = rdi_buf_resize(&b, (size_t)size);
    if (s != RADI_OK) {
        rdi_buf_free(&b);
        return s;
    }
    s = rdi_vfs_read(v, uri, 0, b.data, size);
    if (s != RADI_OK) {
        rdi_buf_free(&b);
        return s;
    }
    *out = b;
    return RADI_OK;
}

char *rdi_vfs_canonical(rdi_vfs *v, const char *uri)
{
    RDI_UNUSED(v);
    if (strstr(uri, "://") && strncmp(uri, "file://", 7) != 0) return rdi_uri_normalize(uri);
    return rdi_local_canonical(uri);
}
