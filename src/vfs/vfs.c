/* Dispatch of VFS calls to the backend for the URI's scheme. */
#include <stdlib.h>

#include "vfs/vfs.h"

struct rdi_vfs {
    const rdi_vfs_ops *local_ops;
    void *local_self;
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
    *out = v;
    return RADI_OK;
}

void rdi_vfs_free(rdi_vfs *v)
{
    if (!v) return;
    if (v->local_ops && v->local_ops->destroy) v->local_ops->destroy(v->local_self);
    free(v);
}

radi_status rdi_vfs_set_local(rdi_vfs *v, const rdi_vfs_ops *ops, void *self)
{
    if (v->local_ops && v->local_ops->destroy) v->local_ops->destroy(v->local_self);
    v->local_ops = ops;
    v->local_self = self;
    return RADI_OK;
}

/* Picks the backend; unknown schemes are refused with the URI named. */
static radi_status pick(rdi_vfs *v, const char *uri, const rdi_vfs_ops **ops, void **self)
{
    if (!uri || !*uri) return rdi_error(RADI_E_INVALID, "empty URI");
    const char *colon = strstr(uri, "://");
    if (colon && strncmp(uri, "file://", 7) != 0) {
        if (strncmp(uri, "s3://", 5) == 0)
            return rdi_error(RADI_E_UNSUPPORTED, "%s: the S3 backend is not built yet", uri);
        return rdi_error(RADI_E_INVALID, "%s: unsupported URI scheme", uri);
    }
    *ops = v->local_ops;
    *self = v->local_self;
    return RADI_OK;
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
    if (kind == 1) {
        rdi_buf b = RDI_BUF_INIT;
        RDI_TRY(rdi_vfs_read_all(v, src, &b));
        radi_status s = rdi_vfs_write(v, dst, b.data, b.len);
        rdi_buf_free(&b);
        return s;
    }
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

radi_status rdi_vfs_read_all(rdi_vfs *v, const char *uri, rdi_buf *out)
{
    uint64_t size;
    RDI_TRY(rdi_vfs_size(v, uri, &size));
    rdi_buf b = RDI_BUF_INIT;
    RDI_TRY(rdi_buf_resize(&b, (size_t)size));
    radi_status s = rdi_vfs_read(v, uri, 0, b.data, size);
    if (s != RADI_OK) {
        rdi_buf_free(&b);
        return s;
    }
    *out = b;
    return RADI_OK;
}
