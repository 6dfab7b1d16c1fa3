/* Fault injection: count the calls in ops_mask and fail the chosen ones. */
#include "vfs/fault.h"

static radi_status maybe_fail(rdi_fault *f, unsigned op, const char *what, const char *uri)
{
    if (!(f->ops_mask & op)) return RADI_OK;
    f->calls++;
    if (f->fail_at == 0) return RADI_OK;
    if (f->calls == f->fail_at || (f->persistent && f->calls > f->fail_at)) {
        f->failures++;
        if (op == RDI_FAULT_READ && f->short_read)
            return rdi_error(RADI_E_CORRUPT, "%s: truncated (injected fault on %s #%llu)", uri, what,
                             (unsigned long long)f->calls);
        return rdi_error(RADI_E_IO, "%s: injected fault on %s #%llu", uri, what,
                         (unsigned long long)f->calls);
    }
    return RADI_OK;
}

static radi_status f_read(void *self, const char *uri, uint64_t off, void *buf, uint64_t len)
{
    rdi_fault *f = self;
    RDI_TRY(maybe_fail(f, RDI_FAULT_READ, "read", uri));
    return f->inner->read(f->inner_self, uri, off, buf, len);
}

static radi_status f_size(void *self, const char *uri, uint64_t *size)
{
    rdi_fault *f = self;
    RDI_TRY(maybe_fail(f, RDI_FAULT_SIZE, "size", uri));
    return f->inner->size(f->inner_self, uri, size);
}

static radi_status f_write(void *self, const char *uri, const void *data, uint64_t len)
{
    rdi_fault *f = self;
    RDI_TRY(maybe_fail(f, RDI_FAULT_WRITE, "write", uri));
    return f->inner->write(f->inner_self, uri, data, len);
}

static radi_status f_ls(void *self, const char *uri, rdi_dirlist *out)
{
    rdi_fault *f = self;
    RDI_TRY(maybe_fail(f, RDI_FAULT_LS, "list", uri));
    return f->inner->ls(f->inner_self, uri, out);
}

static radi_status f_kind(void *self, const char *uri, int *out)
{
    rdi_fault *f = self;
    return f->inner->kind(f->inner_self, uri, out);
}

static radi_status f_mkdir(void *self, const char *uri)
{
    rdi_fault *f = self;
    RDI_TRY(maybe_fail(f, RDI_FAULT_WRITE, "mkdir", uri));
    return f->inner->mkdir(f->inner_self, uri);
}

static radi_status f_remove_file(void *self, const char *uri)
{
    rdi_fault *f = self;
    RDI_TRY(maybe_fail(f, RDI_FAULT_REMOVE, "remove", uri));
    return f->inner->remove_file(f->inner_self, uri);
}

static radi_status f_remove_dir(void *self, const char *uri)
{
    rdi_fault *f = self;
    RDI_TRY(maybe_fail(f, RDI_FAULT_REMOVE, "remove", uri));
    return f->inner->remove_dir(f->inner_self, uri);
}

static radi_status f_move(void *self, const char *from, const char *to)
{
    rdi_fault *f = self;
    RDI_TRY(maybe_fail(f, RDI_FAULT_WRITE, "move", from));
    return f->inner->move(f->inner_self, from, to);
}

const rdi_vfs_ops rdi_vfs_fault_ops = {
    .name = "fault",
    .read = f_read,
    .size = f_size,
    .write = f_write,
    .ls = f_ls,
    .kind = f_kind,
    .mkdir = f_mkdir,
    .remove_file = f_remove_file,
    .remove_dir = f_remove_dir,
    .move = f_move,
    .destroy = NULL,
};
